import pytest
import torch

from sklearn_p2p.nn import EnergyMask, EnergyMaskedClassifier, ERSMNetwork
from sklearn_p2p.nn.ersm import _OFFSETS


def _two_region_features(batch=4, channels=16, size=8, noise=0.3, seed=0):
    """Left half near one direction, right half near an orthogonal one, plus noise."""
    generator = torch.Generator().manual_seed(seed)
    left = (torch.arange(size) < size // 2).float().expand(size, size)
    base = torch.zeros(1, channels, size, size)
    base[:, 0], base[:, 1] = left, 1 - left
    return base + noise * torch.rand(batch, channels, size, size, generator=generator)


def _mask(coherence=0.2, n_steps=5, temperature=1.0, channels=16):
    """An EnergyMask with the same noisy unary scores whatever the coherence."""
    layer = EnergyMask(channels, coherence=coherence, n_steps=n_steps, temperature=temperature)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        layer.unary.weight.copy_(2 * torch.randn(1, channels, generator=generator))
        layer.unary.weight[0, :2] = torch.tensor([-1.0, 1.0])
        layer.unary.bias.zero_()
    return layer


def test_outputs_have_their_shapes_and_ranges():
    out = _mask()(_two_region_features())
    assert out.keep_probability.shape == out.unary.shape == out.local_energy.shape == (4, 8, 8)
    assert out.pairwise_weights.shape == (4, 8, 8, 8)
    assert out.disagreement.shape == (4,)
    q = out.keep_probability
    assert torch.all((q >= 0) & (q <= 1))
    assert torch.all((out.pairwise_weights >= 0) & (out.pairwise_weights <= 1 + 1e-6))
    assert torch.all((out.disagreement >= 0) & (out.disagreement <= 1))


def test_pairwise_weights_are_symmetric_cosines_and_zero_across_the_border():
    features = torch.rand(1, 5, 4, 4)
    weights = _mask(channels=5)(features).pairwise_weights[0]
    unit = torch.nn.functional.normalize(features[0], dim=0)
    for k, (dy, dx) in enumerate(_OFFSETS):
        back = _OFFSETS.index((-dy, -dx))
        expected = (unit[:, 1, 1] * unit[:, 1 + dy, 1 + dx]).sum()
        assert torch.isclose(weights[k, 1, 1], expected)
        assert torch.isclose(weights[k, 1, 1], weights[back, 1 + dy, 1 + dx])
    up_left = _OFFSETS.index((-1, -1))
    assert torch.all(weights[up_left, 0, :] == 0) and torch.all(weights[up_left, :, 0] == 0)


def test_keep_probability_is_the_mean_field_fixed_point_update():
    layer = _mask(n_steps=3)
    out = layer(_two_region_features())
    # One more step from the returned q gives sigmoid(-local_energy / T).
    next_q = torch.sigmoid(-out.local_energy / layer.temperature)
    four_steps = _mask(n_steps=4)(_two_region_features()).keep_probability
    assert torch.allclose(next_q, four_steps, atol=1e-6)


def test_without_steps_the_mask_is_the_unary_sigmoid_whatever_the_coherence():
    features = _two_region_features()
    independent = _mask(coherence=0.0, n_steps=0)(features)
    coupled = _mask(coherence=0.2, n_steps=0)(features)
    assert torch.allclose(independent.keep_probability, torch.sigmoid(-independent.unary))
    assert torch.equal(independent.keep_probability, coupled.keep_probability)
    # The local energy still sees the neighbours.
    assert not torch.allclose(independent.local_energy, coupled.local_energy)


def test_the_pairwise_term_makes_neighbours_agree():
    features = _two_region_features()
    independent = _mask(coherence=0.0)(features)
    coupled = _mask(coherence=0.2)(features)
    assert torch.equal(independent.unary, coupled.unary)
    assert coupled.disagreement.mean() < 0.85 * independent.disagreement.mean()
    # Within the left region, the keep probabilities spread less.
    left = (slice(None), slice(None), slice(0, 4))
    assert coupled.keep_probability[left].std() < independent.keep_probability[left].std()


def test_mean_field_steps_converge_below_the_contraction_bound():
    features = _two_region_features()
    q20 = _mask(coherence=0.2, n_steps=20)(features).keep_probability
    q21 = _mask(coherence=0.2, n_steps=21)(features).keep_probability
    q1 = _mask(coherence=0.2, n_steps=1)(features).keep_probability
    q2 = _mask(coherence=0.2, n_steps=2)(features).keep_probability
    assert (q20 - q21).abs().max() < 1e-3 * (q1 - q2).abs().max()


def test_lower_temperature_gives_harder_masks():
    features = _two_region_features()
    soft = _mask(temperature=1.0)(features).keep_probability
    hard = _mask(temperature=0.25)(features).keep_probability
    assert (hard - 0.5).abs().mean() > (soft - 0.5).abs().mean()


def test_gradients_reach_the_unary_scores_and_the_features():
    features = _two_region_features().requires_grad_()
    layer = _mask()
    out = layer(features)
    (out.keep_probability.sum() + out.disagreement.sum()).backward()
    assert layer.unary.weight.grad.abs().sum() > 0
    assert features.grad.abs().sum() > 0


@pytest.mark.parametrize("n_steps, reaches", [(0, False), (1, False), (2, True)])
def test_gradients_flow_through_the_unrolled_steps(n_steps, reaches):
    # Each step widens the reach of a keep probability by one position: the
    # features two columns away matter only through two steps.
    features = _two_region_features().requires_grad_()
    _mask(n_steps=n_steps)(features).keep_probability[:, 3, 3].sum().backward()
    assert features.grad[..., 3, 3].abs().sum() > 0
    assert bool(features.grad[..., 3, 5].abs().sum() > 0) is reaches
    assert torch.all(features.grad[..., 3, 6] == 0)


def test_a_single_position_has_no_pairs():
    out = _mask(channels=4)(torch.rand(2, 4, 1, 1))
    assert torch.all(out.pairwise_weights == 0)
    assert torch.all(out.disagreement == 0)
    assert torch.allclose(out.keep_probability, torch.sigmoid(-out.unary))


def _images(n=3, size=32, channels=3):
    return torch.rand(n, size, size, channels, generator=torch.Generator().manual_seed(0))


def test_network_returns_loss_terms_in_training_and_logits_in_evaluation():
    net = ERSMNetwork(n_classes=3)
    logits, keep_cost, disagreement = net(_images())
    assert logits.shape == (3, 3) and keep_cost.shape == disagreement.shape == (3,)
    assert torch.all((keep_cost >= 0) & (keep_cost <= 1))
    logits = net.eval()(_images())
    assert torch.is_tensor(logits) and logits.shape == (3, 3)


def test_network_details_match_the_forward_pass():
    net = ERSMNetwork(n_classes=3, in_chans=1).eval()
    X = _images(channels=1)
    out = net.explain(X)
    assert torch.allclose(out["logits"], net(X))
    for key in ("keep_probability", "local_energy", "unary", "feature_norm"):
        assert out[key].shape == (3, 8, 8)


def test_dropping_positions_removes_them_from_the_pooling():
    net = ERSMNetwork(n_classes=3).eval()
    X = _images()
    none = torch.zeros(3, 8, 8, dtype=torch.bool)
    assert torch.allclose(net.logits_without(X, none), net(X))
    # With every position dropped the pooled features are 0: the head's bias.
    every = torch.ones(3, 8, 8, dtype=torch.bool)
    assert torch.allclose(net.logits_without(X, every), net.classifier.head.bias.expand(3, 3))
    some = none.clone()
    some[:, :4] = True
    assert not torch.allclose(net.logits_without(X, some), net(X))


def test_network_provides_the_masked_classifier_interface():
    net = ERSMNetwork(n_classes=3).eval()
    X = _images()
    full = torch.ones(3, 32, 32)
    assert torch.allclose(net.classify_images(X, full), net(X), atol=1e-6)
    image = X.permute(0, 3, 1, 2).requires_grad_()
    net.image_logits(image)[:, 0].sum().backward()
    assert image.grad.abs().sum() > 0
    seen = {}
    net.attribution_layer().register_forward_hook(lambda m, i, out: seen.update(map=out))
    net(X)
    assert seen["map"].shape == (3, 64, 8, 8)


def test_pooling_follows_the_backbone_and_is_checked():
    assert EnergyMaskedClassifier(n_classes=2).pooling == "max"
    assert EnergyMaskedClassifier(n_classes=2, pooling="avg").pooling == "avg"
    with pytest.raises(ValueError, match="pooling"):
        EnergyMaskedClassifier(n_classes=2, pooling="sum")


def test_timm_backbone_forward():
    net = ERSMNetwork(n_classes=2, classifier="resnet18").eval()
    assert net.classifier.pooling == "avg"
    out = net.explain(_images(n=2, size=64))
    assert out["logits"].shape == (2, 2)
    assert out["keep_probability"].shape == (2, 2, 2)
