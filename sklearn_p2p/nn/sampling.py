"""Logit-normal region selection (paper Section 3, "Relationships of Parts")."""

import torch
from torch.distributions import LowRankMultivariateNormal, RelaxedBernoulli

from ._precision import autocast_disabled, full_precision

__all__ = [
    "sample_region_logits",
    "relaxed_region_mask",
    "hard_region_mask",
    "covariance_l1",
]


def sample_region_logits(mu, embeddings, jitter=1e-4):
    """Draw region logits from ``N(mu, E E^T + jitter * I)`` (reparameterised).

    The covariance ``Sigma_jk = E_j . E_k`` has rank at most K, so the
    low-rank parameterisation gives the same distribution as building the
    ``D x D`` matrix, at ``O(D K^2)`` instead of a Cholesky per image. The
    jitter keeps the distribution proper when ``E`` is rank deficient.

    Parameters
    ----------
    mu : Tensor of shape (B, D)
        Mean region logits ``mu_j``.
    embeddings : Tensor of shape (B, D, K)
        Region embeddings ``E_j``, the factor of the covariance.
    jitter : float, default=1e-4
        Variance added to every region's logit.

    Returns
    -------
    logits : Tensor of shape (B, D)
        One draw of the region logits, differentiable with respect to
        ``mu`` and ``embeddings``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import sample_region_logits
    >>> _ = torch.manual_seed(0)
    >>> mu, embeddings = torch.zeros(2, 5), torch.randn(2, 5, 3)
    >>> sample_region_logits(mu, embeddings).shape
    torch.Size([2, 5])
    """
    # In float32 even under mixed precision: the capacitance matrix and its
    # Cholesky factor lose the distribution's shape in bfloat16.
    with autocast_disabled(mu):
        mu, embeddings = full_precision(mu), full_precision(embeddings)
        cov_diag = torch.full_like(mu, jitter)
        return LowRankMultivariateNormal(mu, embeddings, cov_diag).rsample()


def relaxed_region_mask(logits, temperature):
    """Differentiable mask in (0, 1): a relaxed Bernoulli (binary Gumbel) draw.

    With uniform noise ``u``, the draw is
    ``sigmoid((logits + log(u) - log(1 - u)) / temperature)``: close to 0
    or 1 at low temperatures, softer at high ones.

    Parameters
    ----------
    logits : Tensor of shape (B, D)
        Region logits, e.g. from :func:`sample_region_logits`.
    temperature : float or Tensor
        Relaxation temperature, positive.

    Returns
    -------
    mask : Tensor of shape (B, D)
        Soft region mask with values in (0, 1).

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import relaxed_region_mask
    >>> _ = torch.manual_seed(0)
    >>> mask = relaxed_region_mask(torch.tensor([[-20.0, 20.0]]), temperature=0.5)
    >>> mask.round()
    tensor([[0., 1.]])
    """
    logits = full_precision(logits)
    temperature = torch.as_tensor(temperature, dtype=logits.dtype, device=logits.device)
    with autocast_disabled(logits):
        return RelaxedBernoulli(temperature, logits=logits).rsample()


def hard_region_mask(mu):
    """Inference mask: region kept iff ``sigmoid(mu) > 0.5``, i.e. ``mu > 0``.

    Parameters
    ----------
    mu : Tensor of shape (B, D)
        Mean region logits.

    Returns
    -------
    mask : Tensor of shape (B, D)
        1 for kept regions, 0 otherwise, in the dtype of ``mu``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import hard_region_mask
    >>> hard_region_mask(torch.tensor([[-1.0, 0.0, 2.0]]))
    tensor([[0., 0., 1.]])
    """
    return (mu > 0).to(mu.dtype)


def covariance_l1(embeddings, n_regions):
    """Mean absolute entry of ``Sigma = E E^T`` over the real regions of each image.

    The ``lambda2`` term of the loss; the mean rather than the sum keeps its
    scale independent of the number of regions.

    Parameters
    ----------
    embeddings : Tensor of shape (B, D_max, K)
        Region embeddings ``E_j``; zero rows for padded regions.
    n_regions : LongTensor of shape (B,)
        Region count of each image.

    Returns
    -------
    norm : Tensor of shape (B,)
        ``sum_jk |E_j . E_k| / D**2`` per image.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import covariance_l1
    >>> embeddings = torch.tensor([[[1.0], [-1.0]]])  # Sigma = [[1, -1], [-1, 1]]
    >>> covariance_l1(embeddings, torch.tensor([2]))
    tensor([1.])
    """
    with autocast_disabled(embeddings):  # a matrix product: float32 under autocast too
        embeddings = full_precision(embeddings)
        sigma = embeddings @ embeddings.transpose(1, 2)
    # Padded rows of E are zero, so the sum only covers real region pairs.
    total = sigma.abs().sum(dim=(1, 2))
    return total / n_regions.to(total.dtype).square()
