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
    eps : float

    Returns
    -------
    Tensor of shape (B,)
    """
    tau = torch.as_tensor(tau, dtype=kept_fraction.dtype, device=kept_fraction.device)
    excess = (kept_fraction - tau).clamp(min=0)
    slack = 1 - tau + eps
    return -torch.log(slack - excess) + torch.log(slack)


def p2p_penalty(kept_fraction, tau, covariance_norm, lambda1, lambda2):
    """Regularisers of Eq. (5), averaged over the batch.

    Returns ``(lambda1 * sparsity, lambda2 * covariance)`` as scalar tensors;
    the cross-entropy term is the criterion's business.
    """
    sparsity = sparsity_penalty(kept_fraction, tau).mean()
    return lambda1 * sparsity, lambda2 * covariance_norm.mean()
