"""The LR-ASPP selector (sklearn_p2p.nn.lraspp) and the paper's configuration.

* :class:`LRASPPHead` evaluated in two parts equals LR-ASPP's own order of
  operations (upsample, then classify), with tau entering as offsets;
* :func:`create_lraspp_selector` takes the stride-8 and the last map of a
  timm backbone (40 and 960 channels at strides 8 and 16 for MobileNetV3-Large,
  as torchvision's ``lraspp_mobilenet_v3_large``), loads a local weights file
  and converts the classifier's normalisation into the backbone's;
* :class:`LRASPPNetwork` trains and searches tau as :class:`P2PNetwork` does,
  and works as ``P2PClassifier(module=LRASPPNetwork)``, including the
  paper's pairing with ViT-Tiny at 224 pixels (one training step on CPU).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

timm = pytest.importorskip("timm")

from sklearn_p2p import P2PClassifier, SuperpixelTransformer  # noqa: E402
from sklearn_p2p.nn import (  # noqa: E402
    LRASPPHead,
    LRASPPNetwork,
    LRASPPSelector,
    P2PNetwork,
    create_lraspp_selector,
)
from sklearn_p2p.nn.backbones import normalization_constants  # noqa: E402

BACKBONE = "mobilenetv3_large_100"


def _packed(n_images, size, stripe, seed=0):
    """Random images with a grid of ``stripe``-pixel square regions, packed."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(n_images, size, size, 3, generator=generator)
    cells = torch.arange(size) // stripe
    segments = (cells[:, None] * int(cells.max() + 1) + cells[None, :]).float()
    return torch.cat([image, segments.expand(n_images, size, size)[..., None]], dim=-1)


def _torchvision_order(head, low, high, tau):
    """LR-ASPP as torchvision computes it (upsample, then classify), plus the tau offsets."""
    tau = tau.view(-1, 1)
    conv, batch_norm, relu = head.cbr
    x = relu(batch_norm(conv(high) + head.tau_high(tau)[:, :, None, None]))
    gate = torch.sigmoid(head.scale[1](head.scale[0](high)) + head.tau_scale(tau)[:, :, None, None])
    x = F.interpolate(x * gate, size=low.shape[-2:], mode="bilinear", align_corners=False)
    return head.low_classifier(low) + head.high_classifier(x) + head.tau_out(tau)[:, :, None, None]


def test_head_in_two_parts_equals_lraspp_order():
    torch.manual_seed(0)
    head = LRASPPHead(low_channels=40, high_channels=96, n_outputs=4, inter_channels=16).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics
        head.cbr[1].running_mean.normal_()
        head.cbr[1].running_var.uniform_(0.5, 2.0)
    low, high = torch.randn(3, 40, 28, 28), torch.randn(3, 96, 14, 14)
    tau = torch.tensor([0.05, 0.5, 1.0])
    out = head(head.prepare(low, high), tau, (28, 28))
    torch.testing.assert_close(out, _torchvision_order(head, low, high, tau), atol=1e-5, rtol=1e-5)
    assert head(head.prepare(low, high), tau, (224, 224)).shape == (3, 4, 224, 224)


def test_head_depends_on_tau_and_starts_at_the_keep_logit():
    torch.manual_seed(0)
    head = LRASPPHead(8, 16, n_outputs=3, inter_channels=8, initial_keep_logit=2.0)
    assert head.low_classifier.bias[0] == 2.0
    assert head.high_classifier.bias[0] == 0.0 and head.tau_out.bias[0] == 0.0
    prepared = head.prepare(torch.rand(2, 8, 8, 8), torch.rand(2, 16, 4, 4))
    a = head(prepared, torch.tensor([0.1, 0.1]), (8, 8))
    b = head(prepared, torch.tensor([0.9, 0.9]), (8, 8))
    assert not torch.allclose(a, b)


def test_prepared_features_index_by_image():
    """The search evaluates subsets of images: every prepared tensor is batch-first."""
    torch.manual_seed(0)
    selector = create_lraspp_selector(BACKBONE, n_embedding_dims=3).eval()
    images = torch.rand(4, 3, 64, 64)
    with torch.no_grad():
        features = selector.features(images)
        tau = torch.tensor([0.2, 0.4, 0.6, 0.8])
        full = selector(features, tau, (64, 64))
        index = torch.tensor([3, 1])
        part = selector(tuple(f[index] for f in features), tau[index], (64, 64))
    assert all(f.shape[0] == 4 for f in features)
    torch.testing.assert_close(part, full[index])


@pytest.mark.parametrize("output_stride, strides", [(16, (8, 16)), (None, (8, 32))])
def test_selector_reads_stride_8_and_the_last_map(output_stride, strides):
    selector = create_lraspp_selector(BACKBONE, n_embedding_dims=2, output_stride=output_stride)
    assert isinstance(selector, LRASPPSelector)
    assert selector.head.low_classifier.in_channels == 40
    assert selector.head.cbr[0].in_channels == 960
    assert selector.head.cbr[0].out_channels == 128
    maps = selector.backbone(torch.rand(1, 3, 64, 64))
    low, high = (maps[i] for i in selector.indices)
    assert (64 // low.shape[-1], 64 // high.shape[-1]) == strides
    assert not selector.has_input_affine


def test_local_weights_and_normalisation_conversion(tmp_path):
    """A local file initialises the backbone; the classifier's normalisation is converted."""
    torch.manual_seed(1)
    reference = timm.create_model(BACKBONE)
    path = tmp_path / "mobilenetv3.pth"
    torch.save(reference.state_dict(), path)
    half = ((0.5,) * 3, (0.5,) * 3)  # how a from-scratch or ViT classifier normalises
    selector = create_lraspp_selector(BACKBONE, pretrained=path, input_normalization=half).eval()
    torch.testing.assert_close(selector.backbone.conv_stem.weight, reference.conv_stem.weight)
    assert selector.has_input_affine
    mean, std = normalization_constants(BACKBONE, path, 3)
    assert not torch.allclose(mean, torch.full((3,), 0.5))  # ImageNet statistics
    image = torch.rand(2, 3, 32, 32)
    as_classifier = (image - 0.5) / 0.5
    as_backbone = (image - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    with torch.no_grad():
        converted = selector.features(as_classifier)
        maps = selector.backbone(as_backbone)
        direct = selector.head.prepare(*(maps[i] for i in selector.indices))
    for a, b in zip(converted, direct):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    # no conversion when the input already has the backbone's normalisation
    same = create_lraspp_selector(BACKBONE, pretrained=path, input_normalization=(mean, std))
    assert not same.has_input_affine


def test_weights_of_another_architecture_are_refused(tmp_path):
    path = tmp_path / "small.pth"
    torch.save(timm.create_model("mobilenetv3_small_100").state_dict(), path)
    with pytest.raises(ValueError):
        create_lraspp_selector(BACKBONE, pretrained=path)


def test_network_trains_and_searches_like_p2pnetwork():
    torch.manual_seed(0)
    net = LRASPPNetwork(n_classes=3, selector=BACKBONE, classifier="tiny_cnn")
    assert isinstance(net, P2PNetwork) and isinstance(net.selector, LRASPPSelector)
    X = _packed(2, 32, stripe=8)
    logits, kept_fraction, tau, covariance_norm = net(X)
    (logits.sum() + kept_fraction.sum() + covariance_norm.sum()).backward()
    head_grads = [p.grad for p in net.selector.head.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in head_grads)
    assert net.selector.backbone.conv_stem.weight.grad is not None
    out = net.eval().explain(X, delta=0.9)
    assert out["masks"].shape == (2, 32, 32) and out["region_probs"].shape == (2, 16)
    # the incremental search gives what a fixed tau gives at the chosen taus
    for i in range(2):
        fixed = net.explain(X[i:i + 1], tau=float(out["tau"][i]))
        torch.testing.assert_close(fixed["masks"][0], out["masks"][i])


def test_network_pretrained_dict_reaches_the_selector(tmp_path):
    torch.manual_seed(2)
    reference = timm.create_model(BACKBONE)
    path = tmp_path / "mobilenetv3.pth"
    torch.save(reference.state_dict(), path)
    net = LRASPPNetwork(n_classes=2, selector=BACKBONE, classifier="tiny_cnn",
                        pretrained={"selector": path, "classifier": False})
    torch.testing.assert_close(net.selector.backbone.conv_stem.weight, reference.conv_stem.weight)
    # the classifier trains from scratch (0.5 / 0.5); the selector converts to ImageNet's
    torch.testing.assert_close(net.mean.flatten(), torch.full((3,), 0.5))
    assert net.selector.has_input_affine


def test_p2pclassifier_with_lraspp_module():
    rng = np.random.default_rng(0)
    images = rng.random((6, 32, 32, 3)).astype(np.float32)
    clf = P2PClassifier(module=LRASPPNetwork, selector=BACKBONE, classifier="tiny_cnn",
                        superpixels=SuperpixelTransformer(n_segments=16),
                        module__inter_channels=32, max_epochs=1, batch_size=3,
                        verbose=0, random_state=0, device="cpu")
    clf.fit(images, np.array([0, 1, 0, 1, 0, 1]))
    assert isinstance(clf.module_.selector, LRASPPSelector)
    assert clf.module_.selector.head.cbr[0].out_channels == 32
    assert clf.explain(images[:2], delta=0.9).shape == (2, 32, 32)


def test_paper_configuration_trains_one_step_at_224():
    """The recipe of the user guide ("Paper configuration"), without weights, on 2 images."""
    if not timm.list_models("vit_tiny_patch16_224"):
        pytest.skip("this timm has no vit_tiny_patch16_224")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:224, :224] / 224.0
    base = np.stack([yy, xx, 1 - yy], axis=-1)  # smooth images: SLIC finds ~100 regions
    images = np.clip(base[None] + 0.05 * rng.random((2, 224, 224, 3)), 0, 1).astype(np.float32)
    clf = P2PClassifier(
        module=LRASPPNetwork, selector=BACKBONE, classifier="vit_tiny_patch16_224",
        pretrained=False, superpixels=SuperpixelTransformer(n_segments=100, compactness=20),
        lambda1=10.0, lambda2=0.01, lr=1e-4, batch_size=2, max_epochs=1,
        verbose=0, random_state=0, device="cpu",
    )
    clf.fit(images, np.array([0, 1]))
    assert np.isfinite(clf.history[-1, "train_loss"])
    details = clf.explain(images, return_details=True)
    assert details.masks.shape == (2, 224, 224)
    assert (details.n_regions > 50).all()
