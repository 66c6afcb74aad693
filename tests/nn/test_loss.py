import math

import pytest
import torch

from sklearn_p2p.nn import covariance_l1, p2p_penalty, sparsity_penalty


def test_sparsity_penalty_is_zero_at_or_below_tau():
    kept = torch.tensor([0.5, 0.1, 0.3, 0.3])
    tau = torch.tensor([0.05, 0.2, 0.3, 0.9])
    penalty = sparsity_penalty(kept, tau)
    assert penalty[1:].abs().max() < 1e-7
    assert penalty[0] > 0


def test_sparsity_penalty_matches_hand_computed_value():
    # p = 0.6 above tau = 0.2: -log(1 - p + eps) + log(1 - tau + eps)
    eps = 1e-6
    value = sparsity_penalty(torch.tensor([0.6]), torch.tensor([0.2]), eps=eps)
    expected = -math.log(0.4 + eps) + math.log(0.8 + eps)
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_sparsity_penalty_grows_as_kept_fraction_exceeds_tau():
    kept = torch.linspace(0.3, 0.99, 20)
    penalty = sparsity_penalty(kept, torch.full_like(kept, 0.3))
    assert torch.all(penalty[1:] > penalty[:-1])


def test_sparsity_penalty_is_finite_at_full_image_and_zero_for_tau_one():
    assert torch.isfinite(sparsity_penalty(torch.tensor([1.0]), torch.tensor([0.05]))).all()
    assert sparsity_penalty(torch.tensor([1.0]), torch.tensor([1.0])).item() == pytest.approx(0.0)


def test_sparsity_penalty_pushes_kept_fraction_down():
    kept = torch.tensor([0.7], requires_grad=True)
    sparsity_penalty(kept, torch.tensor([0.2])).sum().backward()
    assert kept.grad.item() > 0


def test_covariance_l1_is_mean_absolute_entry_over_real_regions():
    embeddings = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]])  # 2 real + 1 padded
    # Sigma = [[1, 0], [0, 4]] -> mean |entry| over 2x2 = 5 / 4
    value = covariance_l1(embeddings, torch.tensor([2]))
    assert value.item() == pytest.approx(1.25)


def test_p2p_penalty_scales_terms_by_lambdas():
    kept, tau, cov = torch.tensor([0.6]), torch.tensor([0.2]), torch.tensor([2.0])
    sparsity, covariance = p2p_penalty(kept, tau, cov, lambda1=10.0, lambda2=0.01)
    assert sparsity.item() == pytest.approx(10 * sparsity_penalty(kept, tau).item())
    assert covariance.item() == pytest.approx(0.02)
