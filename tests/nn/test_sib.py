"""The S-IB terms: input gradients, gradient mask, HSIC and the penalty."""

import pytest
import torch
import torch.nn.functional as F

from sklearn_p2p.nn import (
    ImageNetwork,
    default_mask_window,
    gradient_mask,
    hsic,
    input_gradients,
    spatial_bottleneck_penalty,
)


def _small_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveMaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(16, 3),
    )


# -- input gradients ----------------------------------------------------------
def test_input_gradients_match_the_closed_form_of_a_linear_model():
    # For logits z = W x: d/dz (1/2)||softmax(z)||^2 = p * (p - ||p||^2), so R = W^T that.
    torch.manual_seed(0)
    linear = torch.nn.Linear(5, 4, bias=False)
    x = torch.randn(3, 5)
    R, logits = input_gradients(linear, x, create_graph=False)
    p = torch.softmax(x @ linear.weight.T, dim=1)
    expected = (p * (p - p.square().sum(dim=1, keepdim=True))) @ linear.weight
    torch.testing.assert_close(R, expected)
    torch.testing.assert_close(logits, x @ linear.weight.T)
    assert not R.requires_grad


def test_input_gradients_keep_the_graph_and_leave_x_untouched():
    x = torch.rand(2, 3, 8, 8)
    R, _ = input_gradients(_small_net(), x)
    assert R.shape == x.shape and R.requires_grad
    assert not x.requires_grad and x.grad is None


def test_input_gradients_reject_a_model_without_batch_logits():
    with pytest.raises(ValueError, match=r"logits of shape \(B, n_classes\)"):
        input_gradients(lambda x: x.sum(), torch.rand(2, 3))


# -- mask ----------------------------------------------------------------------
def test_default_mask_window():
    assert [default_mask_window(s, s) for s in (16, 24, 35, 64, 224)] == [3, 3, 5, 9, 31]
    assert default_mask_window(224, 16) == 3


def test_gradient_mask_marks_the_strong_dense_region():
    torch.manual_seed(0)
    R = 0.01 * torch.randn(2, 3, 24, 24)
    R[0, :, 2:10, 3:11] += 1.0
    R[1, :, 12:20, 14:22] -= 1.0  # sign does not matter: the magnitude does
    mask = gradient_mask(R)
    assert mask.shape == (2, 24, 24)
    assert float(mask.min()) > 0 and float(mask.max()) < 1
    # The square covers 11% of the pixels, so both 0.8-quantile thresholds
    # fall in the flat background, which the soft sigmoids (slope 10 on the
    # normalised [0, 1] scale) leave at about 0.5: the authors' mask is soft.
    assert float(mask[0, 3:9, 4:10].mean()) > 0.95 and float(mask[0, 16:, 16:].mean()) < 0.55
    assert float(mask[1, 13:19, 15:21].mean()) > 0.95 and float(mask[1, :8, :8].mean()) < 0.55
    steep = gradient_mask(R, slope=1000.0)
    assert float(steep[0, 3:9, 4:10].min()) > 0.99 and float(steep[0, 16:, 16:].mean()) < 0.3


def test_gradient_mask_keeps_about_one_minus_quantile_of_random_maps():
    torch.manual_seed(0)
    R = torch.randn(4, 3, 32, 32)
    for quantile in (0.5, 0.8):
        kept = float((gradient_mask(R, quantile=quantile, window_size=1) > 0.5).float().mean())
        assert abs(kept - (1 - quantile)) < 0.05


def test_gradient_mask_is_differentiable_in_the_gradients():
    R = torch.randn(2, 3, 16, 16, requires_grad=True)
    (gradient_mask(R) * torch.randn(2, 16, 16)).sum().backward()
    assert torch.isfinite(R.grad).all() and R.grad.abs().sum() > 0


@pytest.mark.parametrize("kwargs, match", [
    ({"quantile": 1.0}, "quantile must be in the open interval"),
    ({"slope": 0.0}, "slope must be positive"),
    ({"window_size": 4}, "window_size must be an odd positive integer"),
])
def test_gradient_mask_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gradient_mask(torch.rand(1, 3, 8, 8), **kwargs)


def test_gradient_mask_rejects_a_non_image_batch():
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        gradient_mask(torch.rand(3, 8, 8))


# -- HSIC ----------------------------------------------------------------------
def test_hsic_of_identical_features_exceeds_that_of_independent_ones():
    torch.manual_seed(0)
    # Few dimensions: with many, the diagonal of the Gram matrices (the
    # estimator's O(1/B) bias) dominates both values.
    a = F.normalize(torch.randn(32, 5), dim=1)
    b = F.normalize(torch.randn(32, 5), dim=1)
    assert float(hsic(a, a)) > 3 * float(hsic(a, b)) > 0
    # A dependent but different description scores in between.
    c = F.normalize(a + 0.5 * torch.randn(32, 5), dim=1)
    assert float(hsic(a, a)) > float(hsic(a, c)) > float(hsic(a, b))


def test_hsic_matches_the_centring_matrix_formula():
    torch.manual_seed(0)
    a, b = torch.randn(6, 4, 2), torch.randn(6, 7)
    H = torch.eye(6) - 1.0 / 6
    K, L = a.reshape(6, -1) @ a.reshape(6, -1).T, b @ b.T
    expected = torch.trace(K @ H @ L @ H) / 25
    torch.testing.assert_close(hsic(a, b), expected)
    torch.testing.assert_close(hsic(b, a), expected)


def test_hsic_is_zero_for_features_constant_over_the_batch():
    assert abs(float(hsic(torch.ones(5, 3), torch.randn(5, 3)))) < 1e-5


def test_hsic_rejects_one_sample_and_mismatched_batches():
    with pytest.raises(ValueError, match="at least 2 samples"):
        hsic(torch.rand(1, 3), torch.rand(1, 3))
    with pytest.raises(ValueError, match="same samples"):
        hsic(torch.rand(3, 3), torch.rand(4, 3))


# -- penalty -------------------------------------------------------------------
def test_penalty_terms_shapes_and_formula():
    net = _small_net()
    x = torch.rand(5, 3, 12, 12)
    R, _ = input_gradients(net, x)
    terms = spatial_bottleneck_penalty(R, x, foreground_weight=0.5, background_weight=2.0)
    assert set(terms) == {"penalty", "foreground", "background", "mask"}
    assert terms["mask"].shape == (5, 12, 12)
    for name in ("penalty", "foreground", "background"):
        assert terms[name].shape == () and torch.isfinite(terms[name])
    assert float(terms["foreground"].detach()) > 0 and float(terms["background"].detach()) > 0
    expected = 2.0 * torch.exp(terms["background"]) + 0.5 * torch.exp(-terms["foreground"])
    torch.testing.assert_close(terms["penalty"], expected)
    # The background term is the variance of R outside the mask.
    outside = (R * (1 - terms["mask"].unsqueeze(1))).reshape(5, -1)
    torch.testing.assert_close(terms["background"], outside.var(dim=1).mean())


def test_penalty_with_a_given_mask():
    x = torch.rand(3, 3, 8, 8)
    R, _ = input_gradients(_small_net(), x)
    terms = spatial_bottleneck_penalty(R, x, mask=torch.ones(3, 8, 8))
    assert terms["background"].item() == 0.0  # nothing outside an all-ones mask
    with pytest.raises(ValueError, match="mask must have shape"):
        spatial_bottleneck_penalty(R, x, mask=torch.ones(3, 4, 4))


def test_penalty_of_a_single_image_has_no_foreground_term():
    x = torch.rand(1, 3, 8, 8)
    R, _ = input_gradients(_small_net(), x)
    terms = spatial_bottleneck_penalty(R, x)
    assert float(terms["foreground"]) == 0.0 and torch.isfinite(terms["penalty"])
    terms["penalty"].backward()  # the background term still trains


def test_penalty_rejects_bad_input():
    with pytest.raises(ValueError, match="same"):
        spatial_bottleneck_penalty(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 4))
    with pytest.raises(ValueError, match="background_weight must be non-negative"):
        spatial_bottleneck_penalty(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8),
                                   background_weight=-1.0)


def _weight_grads(net, loss):
    net.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in net.parameters()]


@pytest.mark.parametrize("channels_last", [False, True])
def test_double_backward_reaches_the_weights(channels_last):
    torch.manual_seed(0)
    if channels_last:  # the package's network: batch norm, in-place ReLU, max pooling
        net, x = ImageNetwork(n_classes=3, in_chans=3).train(), torch.rand(6, 12, 12, 3)
    else:
        net, x = _small_net(), torch.rand(6, 3, 12, 12)
    y = torch.tensor([0, 1, 2, 0, 1, 2])

    def forward():
        R, logits = input_gradients(net, x)
        images = x
        if channels_last:
            R, images = R.permute(0, 3, 1, 2), x.permute(0, 3, 1, 2)
        return F.cross_entropy(logits, y), spatial_bottleneck_penalty(R, images)["penalty"]

    cross_entropy, penalty = forward()
    with_penalty = _weight_grads(net, cross_entropy + penalty)
    ce_alone = _weight_grads(net, forward()[0])
    penalty_alone = _weight_grads(net, forward()[1])
    assert all(torch.isfinite(g).all() for g in with_penalty)
    # The penalty's only path to the weights is the graph of R (double backward).
    assert all(float(g.abs().sum()) > 0 for g in penalty_alone[:1] + penalty_alone[-1:])
    for total, ce, pen in zip(with_penalty, ce_alone, penalty_alone):
        torch.testing.assert_close(total, ce + pen, rtol=1e-4, atol=1e-6)
    assert sum(float((a - b).abs().sum()) for a, b in zip(with_penalty, ce_alone)) > 1e-6


def test_penalty_without_graph_cannot_train_the_weights():
    x = torch.rand(4, 3, 8, 8)
    R, _ = input_gradients(_small_net(), x, create_graph=False)
    assert not spatial_bottleneck_penalty(R, x)["penalty"].requires_grad


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_penalty_on_cuda():
    net = _small_net().cuda()
    x = torch.rand(4, 3, 12, 12, device="cuda")
    R, logits = input_gradients(net, x)
    terms = spatial_bottleneck_penalty(R, x)
    assert terms["mask"].device.type == "cuda"
    (F.cross_entropy(logits, torch.tensor([0, 1, 2, 0], device="cuda"))
     + terms["penalty"]).backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())
