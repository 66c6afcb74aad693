import pytest
import torch
import torch.nn.functional as F

from sklearn_p2p.nn import (
    GaussianSmoothing,
    ImageNetwork,
    SmoothedNetwork,
    TinyCNN,
    insert_smoothing,
    pgd_linf,
)
from sklearn_p2p.nn.adversarial import count_stages, gaussian_kernel
from sklearn_p2p.nn.backbones import last_feature_stage

EPS = 8 / 255


@pytest.fixture(scope="module")
def trained_network(tiny_data):
    """An ImageNetwork trained for a few dozen steps on the tiny data (a second)."""
    torch.manual_seed(0)
    X = torch.as_tensor(tiny_data.images, dtype=torch.float32) / 255
    y = torch.as_tensor(tiny_data.target)
    net = ImageNetwork(n_classes=3)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(12):
        optimizer.zero_grad()
        F.cross_entropy(net(X), y).backward()
        optimizer.step()
    return net.eval(), X, y


def _loss(net, X, y):
    with torch.no_grad():
        return F.cross_entropy(net(X), y).item()


def test_pgd_stays_within_eps_and_the_pixel_range():
    net = ImageNetwork(n_classes=3).eval()
    x = torch.rand(6, 16, 16, 3)
    x[:2] = 0.0  # images at the border of the range: the clamp must act
    x[2:4] = 1.0
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    x_adv = pgd_linf(net, x, y, eps=EPS, step_size=2 / 255, n_steps=5)
    assert x_adv.shape == x.shape and not x_adv.requires_grad
    assert (x_adv - x).abs().max() <= EPS + 1e-6
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert (x_adv - x).abs().max() > EPS / 2  # it did move


def test_pgd_increases_the_loss_of_a_trained_model_more_than_noise(trained_network):
    net, X, y = trained_network
    clean = _loss(net, X, y)
    noise = (X + torch.empty_like(X).uniform_(-EPS, EPS)).clamp(0, 1)
    x_adv = pgd_linf(net, X, y, eps=EPS, step_size=2 / 255, n_steps=7)
    adversarial = _loss(net, x_adv, y)
    assert adversarial > clean + 0.1
    assert adversarial > _loss(net, noise, y) + 0.1
    # A stronger attack is stronger.
    stronger = pgd_linf(net, X, y, eps=4 * EPS, step_size=4 / 255, n_steps=7)
    assert _loss(net, stronger, y) > adversarial


def test_pgd_with_eps_zero_returns_the_input_unchanged(trained_network):
    net, X, y = trained_network
    out = pgd_linf(net, X, y, eps=0.0, step_size=2 / 255, n_steps=7)
    assert torch.equal(out, X) and out is not X


def test_pgd_restores_the_mode_and_batchnorm_statistics_and_leaves_grads_alone():
    net = ImageNetwork(n_classes=2).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = torch.rand(4, 12, 12, 3), torch.tensor([0, 1, 0, 1])
    pgd_linf(net, x, y, eps=EPS, step_size=2 / 255, n_steps=3)
    assert net.training
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(p.grad is None for p in net.parameters())
    pgd_linf(net, x, y, eps=EPS, step_size=2 / 255, n_steps=1, mode="eval")
    assert net.training
    net.eval()
    pgd_linf(net, x, y, eps=EPS, step_size=2 / 255, n_steps=1, mode="train")
    assert not net.training


def test_pgd_random_start_follows_the_generator():
    net = ImageNetwork(n_classes=2).eval()
    x, y = torch.rand(2, 8, 8, 3) * 0.5 + 0.25, torch.tensor([0, 1])
    first = pgd_linf(net, x, y, EPS, 2 / 255, 1, generator=torch.Generator().manual_seed(3))
    again = pgd_linf(net, x, y, EPS, 2 / 255, 1, generator=torch.Generator().manual_seed(3))
    other = pgd_linf(net, x, y, EPS, 2 / 255, 1, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other)
    # Without a random start and without steps nothing moves.
    assert torch.equal(pgd_linf(net, x, y, EPS, 2 / 255, 0, random_start=False), x)


def test_pgd_rejects_bad_arguments():
    net = ImageNetwork(n_classes=2)
    x, y = torch.rand(1, 8, 8, 3), torch.tensor([0])
    with pytest.raises(ValueError, match="mode"):
        pgd_linf(net, x, y, EPS, 1 / 255, 1, mode="inference")
    with pytest.raises(ValueError, match="non-negative"):
        pgd_linf(net, x, y, -EPS, 1 / 255, 1)


def test_gaussian_kernel_is_normalised_and_peaked():
    kernel = gaussian_kernel(5, 0.8)
    assert kernel.shape == (5, 5)
    assert torch.isclose(kernel.sum(), torch.tensor(1.0))
    assert kernel[2, 2] == kernel.max() and torch.equal(kernel, kernel.T)
    with pytest.raises(ValueError, match="odd"):
        gaussian_kernel(4)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_kernel(3, 0.0)


def test_smoothing_block_preserves_shape_and_blurs():
    block = GaussianSmoothing(4)
    x = torch.randn(2, 4, 7, 5)
    assert block(x).shape == x.shape
    assert not torch.allclose(block(x), x)  # default init: not the identity
    constant = torch.full((1, 4, 6, 6), 3.0)
    assert torch.allclose(block.blur(constant), constant)  # replicate padding
    impulse = torch.zeros(1, 4, 5, 5)
    impulse[..., 2, 2] = 1.0
    blurred = block.blur(impulse)
    assert blurred[0, 0, 2, 2] < 1.0 and blurred[0, 0, 1, 2] > 0.0
    assert torch.isclose(blurred.sum(), torch.tensor(4.0))
    tiny = torch.randn(1, 4, 1, 1)  # a 1x1 map: blurring changes nothing
    assert torch.allclose(block.blur(tiny), tiny)


def test_zero_initialised_block_is_the_identity_but_learns():
    block = GaussianSmoothing(3, zero_init=True)
    x = torch.randn(2, 3, 6, 6)
    assert torch.equal(block(x), x)
    block(x).square().sum().backward()
    assert block.mix.weight.grad.abs().sum() > 0


def test_smoothing_block_rejects_token_maps():
    with pytest.raises(ValueError, match="convolutional stage"):
        GaussianSmoothing(8)(torch.randn(2, 16, 8))


@pytest.mark.parametrize("stage", [0, 1, 2])
def test_insert_smoothing_into_tiny_cnn(stage):
    model = TinyCNN(num_classes=3)
    block = insert_smoothing(model, stage, zero_init=True)
    wrapped = model.features.stages[stage]
    assert isinstance(wrapped, torch.nn.Sequential) and wrapped[1] is block
    assert block.channels == model.features.channels[stage]
    assert model(torch.rand(2, 3, 16, 16)).shape == (2, 3)


def test_zero_initialised_insertion_keeps_the_function():
    torch.manual_seed(0)
    model = TinyCNN(num_classes=3).eval()
    x = torch.rand(2, 3, 16, 16)
    before = model(x)
    insert_smoothing(model, 1, zero_init=True)
    assert torch.allclose(model(x), before)


def test_insert_smoothing_rejects_a_stage_out_of_range():
    with pytest.raises(ValueError, match="has 3 stages"):
        insert_smoothing(TinyCNN(num_classes=2), 3)
    with pytest.raises(TypeError, match="feature_info"):
        insert_smoothing(torch.nn.Linear(2, 2), 0)


def test_insert_smoothing_into_a_timm_model():
    import timm

    model = timm.create_model("resnet18", num_classes=3).eval()
    assert count_stages(model) == count_stages("resnet18") == 5
    block = insert_smoothing(model, 1)
    assert model.layer1[1] is block and block.channels == 64
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 3)
    with pytest.raises(ValueError, match="5 stages"):
        insert_smoothing(model, 5)


def test_smoothed_network_keeps_the_masked_classifier_interface():
    net = SmoothedNetwork(n_classes=3, smoothing_stage=2).eval()
    assert len(net.smoothing_blocks()) == 1
    X = torch.rand(2, 16, 16, 3)
    logits = net(X)
    assert torch.allclose(net.image_logits(X.permute(0, 3, 1, 2)), logits)
    assert torch.allclose(net.classify_images(X, torch.ones(2, 16, 16)), logits)
    # The last stage ends in the block: Grad-CAM reads the smoothed map.
    layer = net.attribution_layer()
    assert layer is last_feature_stage(net.classifier) and layer[1] is net.smoothing_blocks()[0]


def test_smoothed_network_without_smoothing_is_the_image_network():
    torch.manual_seed(0)
    plain = ImageNetwork(n_classes=3)
    torch.manual_seed(0)
    unsmoothed = SmoothedNetwork(n_classes=3, smoothing=False)
    assert unsmoothed.smoothing_blocks() == []
    for (name, a), (_, b) in zip(plain.state_dict().items(), unsmoothed.state_dict().items()):
        assert torch.equal(a, b), name
