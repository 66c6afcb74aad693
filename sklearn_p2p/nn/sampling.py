"""Logit-normal region selection (paper Section 3, "Relationships of Parts")."""

import torch
from torch.distributions import LowRankMultivariateNormal, RelaxedBernoulli

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
    embeddings : Tensor of shape (B, D, K)
    jitter : float
    """
    cov_diag = torch.full_like(mu, jitter)
    return LowRankMultivariateNormal(mu, embeddings, cov_diag).rsample()


def relaxed_region_mask(logits, temperature):
    """Differentiable mask in (0, 1): a relaxed Bernoulli (binary Gumbel) draw."""
    temperature = torch.as_tensor(temperature, dtype=logits.dtype, device=logits.device)
    return RelaxedBernoulli(temperature, logits=logits).rsample()


def hard_region_mask(mu):
    """Inference mask: region kept iff ``sigmoid(mu) > 0.5``, i.e. ``mu > 0``."""
    return (mu > 0).to(mu.dtype)


def covariance_l1(embeddings, n_regions):
    """Mean absolute entry of ``Sigma = E E^T`` over the real regions of each image.

    Parameters
    ----------
    embeddings : Tensor of shape (B, D_max, K)
        Zero rows for padded regions.
    n_regions : LongTensor of shape (B,)
        Region count of each image.

    Returns
    -------
    Tensor of shape (B,)
    """
    sigma = embeddings @ embeddings.transpose(1, 2)
    # Padded rows of E are zero, so the sum only covers real region pairs.
    total = sigma.abs().sum(dim=(1, 2))
    return total / n_regions.to(total.dtype).square()
