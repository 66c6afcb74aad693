"""The P2P training objective, Eq. (5) of the paper."""

import torch

__all__ = ["sparsity_penalty", "p2p_penalty"]


def sparsity_penalty(kept_fraction, tau, eps=1e-6):
    """Penalty on the expected kept fraction ``p`` above the threshold ``tau``.

    Uses the shifted form of the paper's ``-1[p > tau] log(1 - p)``:
    ``-log((1 - tau + eps) - max(p - tau, 0)) + log(1 - tau + eps)``, which
    is zero for ``p <= tau``, continuous at ``p = tau`` and grows without
    bound as ``p`` approaches 1 (finite at ``p = 1`` thanks to ``eps``).
    The unshifted form jumps from 0 to ``-log(1 - tau)`` at ``p = tau``.

    Parameters
    ----------
    kept_fraction : Tensor of shape (B,)
        Expected fraction of kept pixels, ``sum_j sigmoid(mu_j) |R_j| / (H W)``.
    tau : Tensor of shape (B,) or float
        Threshold: kept fractions up to ``tau`` are not penalised.
    eps : float, default=1e-6
        Keeps the penalty finite at ``kept_fraction = 1``.

    Returns
    -------
    penalty : Tensor of shape (B,)
        Zero where ``kept_fraction <= tau``, positive and increasing above.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import sparsity_penalty
    >>> penalty = sparsity_penalty(torch.tensor([0.2, 0.5, 0.9]), tau=0.5)
    >>> penalty[:2]
    tensor([0., 0.])
    >>> bool(penalty[2] > 0)
    True
    """
    tau = torch.as_tensor(tau, dtype=kept_fraction.dtype, device=kept_fraction.device)
    excess = (kept_fraction - tau).clamp(min=0)
    slack = 1 - tau + eps
    return -torch.log(slack - excess) + torch.log(slack)


def p2p_penalty(kept_fraction, tau, covariance_norm, lambda1, lambda2):
    """Regularisers of Eq. (5), averaged over the batch.

    The cross-entropy term is the criterion's business; P2P's loss is
    ``cross_entropy + sparsity + covariance``.

    Parameters
    ----------
    kept_fraction : Tensor of shape (B,)
        Expected fraction of kept pixels per image.
    tau : Tensor of shape (B,) or float
        Threshold of each image (see :func:`sparsity_penalty`).
    covariance_norm : Tensor of shape (B,)
        ``||Sigma||`` per image, from :func:`covariance_l1`.
    lambda1 : float
        Weight of the sparsity penalty.
    lambda2 : float
        Weight of the covariance penalty.

    Returns
    -------
    sparsity : Tensor
        ``lambda1`` times the batch mean of :func:`sparsity_penalty`, a
        scalar.
    covariance : Tensor
        ``lambda2`` times the batch mean of ``covariance_norm``, a scalar.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import p2p_penalty
    >>> sparsity, covariance = p2p_penalty(
    ...     torch.tensor([0.1, 0.3]), 0.5, torch.tensor([1.0, 3.0]),
    ...     lambda1=10.0, lambda2=0.01)
    >>> sparsity, covariance
    (tensor(0.), tensor(0.0200))
    """
    sparsity = sparsity_penalty(kept_fraction, tau).mean()
    return lambda1 * sparsity, lambda2 * covariance_norm.mean()
