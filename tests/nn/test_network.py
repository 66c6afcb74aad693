import pytest
import torch

from sklearn_p2p.nn import P2PNetwork, TinyCNN, create_classifier, create_feature_extractor


def _batch(n=4, size=32, n_regions=12, channels=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.rand(n, size, size, channels + 1, generator=generator)
    # vertical stripes as regions, different counts per image
    columns = torch.arange(size).expand(size, size)
    for i in range(n):
        X[i, ..., -1] = (columns * (n_regions - i) // size).float()
    return X


def test_training_forward_shapes_and_gradients_reach_the_selector():
    net = P2PNetwork(n_classes=3)
    logits, kept, tau, cov = net(_batch(), temperature=0.5)
    assert logits.shape == (4, 3)
    assert kept.shape == tau.shape == cov.shape == (4,)
    assert torch.all((tau >= 0.05) & (tau <= 1.0))
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0])).backward()
    selector_grads = [p.grad for p in net.selector.parameters() if p.grad is not None]
    assert selector_grads and any(g.abs().sum() > 0 for g in selector_grads)


def test_fixed_training_tau_is_used_for_every_image():
    net = P2PNetwork(n_classes=2)
    _, _, tau, _ = net(_batch(), tau=0.3)
    assert torch.allclose(tau, torch.full((4,), 0.3))


def test_evaluation_is_deterministic_and_masks_follow_region_probs():
    net = P2PNetwork(n_classes=2).eval()
    X = _batch()
    first, second = net.explain(X, tau=0.5), net.explain(X, tau=0.5)
    assert torch.equal(first["logits"], second["logits"])
    segments = X[..., -1].long()
    kept_regions = first["region_probs"] > 0.5
    expected = torch.gather(kept_regions, 1, segments.flatten(1)).view_as(first["masks"])
    assert torch.equal(first["masks"], expected)
    assert first["n_regions"].tolist() == [12, 11, 10, 9]


def test_masked_pixels_become_normalised_black():
    net = P2PNetwork(n_classes=2).eval()

    def keep_left_half(module, inputs, output):
        output = output.clone()
        output[:, 0] = torch.where(torch.arange(output.shape[-1]) < output.shape[-1] // 2, 1.0, -1.0)
        return output

    net.selector.head.register_forward_hook(keep_left_half)
    seen = {}
    net.classifier.register_forward_hook(lambda m, inputs, out: seen.update(x=inputs[0]))
    out = net.explain(_batch(), tau=0.5)
    black = (0 - net.mean) / net.std
    dropped = ~out["masks"]
    assert dropped.any() and out["masks"].any()
    x = seen["x"].permute(0, 2, 3, 1)
    assert torch.allclose(x[dropped], black.view(-1).expand(int(dropped.sum()), -1))


@pytest.mark.parametrize("height, width", [(1, 1), (1, 7), (3, 3), (5, 2)])
def test_tiny_and_odd_sized_images_work(height, width):
    # The built-in CNN pools with ceil_mode, so images smaller than its total
    # stride (4) keep at least one feature pixel instead of failing.
    X = torch.rand(2, height, width, 2)
    X[..., -1] = (torch.arange(width) >= width // 2).float() if width > 1 else 0.0
    net = P2PNetwork(n_classes=3, in_chans=1)
    logits, kept, *_ = net(X)
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
    out = net.eval().explain(X, delta=0.9)
    assert out["masks"].shape == (2, height, width)


def test_grayscale_input_works():
    net = P2PNetwork(n_classes=2, in_chans=1)
    logits, *_ = net(_batch(channels=1))
    assert logits.shape == (4, 2)


def test_timm_backbones_by_name():
    net = P2PNetwork(n_classes=5, selector="resnet18", classifier="resnet18").eval()
    out = net.explain(_batch(n=2), tau=0.4)
    assert out["logits"].shape == (2, 5)


def test_builtin_weights_load_from_a_local_file(tmp_path):
    source = TinyCNN(num_classes=3)
    path = tmp_path / "tiny.pt"
    torch.save(source.features.state_dict(), path)
    extractor, channels = create_feature_extractor("tiny_cnn", pretrained=path)
    for a, b in zip(extractor.state_dict().values(), source.features.state_dict().values()):
        assert torch.equal(a, b)
    assert channels == (32, 64)
    with pytest.raises(ValueError, match="No published pretrained weights"):
        create_feature_extractor("tiny_cnn", pretrained=True)


def test_timm_weights_load_from_a_local_file_with_a_new_head(tmp_path):
    source = create_classifier("resnet18", num_classes=1000)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    loaded = create_classifier("resnet18", num_classes=4, pretrained=path)
    assert torch.equal(loaded.conv1.weight, source.conv1.weight)
    assert loaded.fc.out_features == 4
