import pytest
import torch
import torch.nn.functional as F

from sklearn_p2p.nn import SelectorHead


def lr_aspp_reference(head, high, low, tau, output_size):
    """The head written out as LR-ASPP: offsets, both projections, concat, 1x1 conv."""
    tau = tau.view(-1, 1)
    high = high + head.tau_high(tau)[:, :, None, None]
    low = head.low_proj(low + head.tau_low(tau)[:, :, None, None])
    low = F.interpolate(low, size=high.shape[-2:], mode="bilinear", align_corners=False)
    out = head.out(torch.cat([low, head.high_proj(high)], dim=1))
    return F.interpolate(out, size=output_size, mode="bilinear", align_corners=False)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("high_size, output_size", [(16, 32), (16, 16), (8, 13)])
def test_two_part_head_computes_the_lr_aspp_head(training, high_size, output_size,
                                                  memory_format):
    # prepare() + forward() reorder linear layers (1x1 convolutions commute
    # with upsampling, offsets pass through them as constants, two 1x1 convs
    # compose): the function must stay the one written above, in training
    # (batch statistics) and in evaluation (running statistics), for
    # channels-last maps (what the backbones return for packed input, where
    # the 1x1 convolutions are matrix products) as for channel-first ones.
    torch.manual_seed(0)
    head = SelectorHead(high_channels=8, low_channels=16, n_outputs=4, hidden=12)
    with torch.no_grad():
        head.low_proj[1].running_mean.normal_()
        head.low_proj[1].running_var.uniform_(0.5, 2.0)
    head.train(training)
    high, low = torch.randn(5, 8, high_size, high_size), torch.randn(5, 16, 4, 4)
    high = high.contiguous(memory_format=memory_format)
    low = low.contiguous(memory_format=memory_format)
    tau = torch.rand(5)
    size = (output_size, output_size)
    expected = lr_aspp_reference(head, high, low, tau, size)
    actual = head(head.prepare(high, low), tau, size)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_prepared_features_serve_every_tau_and_any_subset():
    torch.manual_seed(0)
    head = SelectorHead(high_channels=8, low_channels=16, n_outputs=4).eval()
    high, low = torch.randn(6, 8, 16, 16), torch.randn(6, 16, 4, 4)
    prepared = head.prepare(high, low)
    index = torch.tensor([4, 1])
    for tau in (0.05, 0.5, 1.0):
        taus = torch.full((6,), tau)
        whole = head(prepared, taus, (16, 16))
        subset = head(tuple(p[index] for p in prepared), taus[index], (16, 16))
        torch.testing.assert_close(subset, whole[index])
        torch.testing.assert_close(whole, lr_aspp_reference(head, high, low, taus, (16, 16)),
                                   rtol=1e-5, atol=1e-5)


def test_gradients_reach_every_parameter_of_the_head():
    head = SelectorHead(high_channels=8, low_channels=16, n_outputs=4)
    high, low = torch.randn(3, 8, 16, 16), torch.randn(3, 16, 4, 4)
    head(head.prepare(high, low), torch.rand(3), (16, 16)).square().sum().backward()
    for name, parameter in head.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_1x1_convolution_as_a_matrix_product_matches_conv2d():
    # On channels-last maps the head's 1x1 convolutions are matrix products
    # over the pixels; values and gradients must be conv2d's, and the output
    # stays channels-last.
    from sklearn_p2p.nn.selector import _conv1x1

    torch.manual_seed(0)
    x = torch.randn(3, 8, 6, 5).contiguous(memory_format=torch.channels_last)
    weight, bias = torch.randn(4, 8), torch.randn(4)
    grads = []
    for conv in (_conv1x1, lambda x, w, b: F.conv2d(x, w[:, :, None, None], b)):
        leaves = [t.detach().clone().requires_grad_() for t in (x, weight, bias)]
        out = conv(*leaves)
        out.backward(torch.linspace(-1, 1, out.numel()).view(out.shape))
        grads.append([out.detach()] + [leaf.grad for leaf in leaves])
    for actual, expected in zip(*grads):
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    assert _conv1x1(x, weight, bias).is_contiguous(memory_format=torch.channels_last)
