"""Bad input to P2PClassifier fails before any torch work, naming the fix."""

import numpy as np
import pytest
import scipy.sparse
from sklearn.exceptions import NotFittedError

from sklearn_p2p import P2PClassifier, SuperpixelTransformer


@pytest.fixture
def images(tiny_data):
    return tiny_data.images[:12]


def _float_images(images):
    return images.astype(np.float64) / 255


def _with(images, index, value):
    out = _float_images(images)
    out[index] = value
    return out


# (name, make X from the 12 uint8 RGB test images, message pattern). One case
# per bad input that the issue lists; each must fail in fit before a network
# exists, naming the input and the fix.
BAD_IMAGES = [
    ("one_image_without_batch_axis", lambda im: im[0], r"single RGB image.*X\[np.newaxis\]"),
    ("five_dimensions", lambda im: im[:, None], r"5 dimension\(s\)"),
    ("flat_rows_without_image_shape", lambda im: im.reshape(12, -1), r"reshape it"),
    ("two_channels", lambda im: im[..., :2], r"2 channels.*RGB or grayscale"),
    ("rgba", lambda im: np.concatenate([im, im[..., :1]], axis=-1), r"RGBA.*X\[\.\.\., :3\]"),
    ("channel_first", lambda im: np.moveaxis(im, -1, 1), r"channel-first.*np.moveaxis\(X, 1, -1\)"),
    ("nan", lambda im: _with(im, (3, 0, 0, 0), np.nan), r"NaN or infinite"),
    ("inf", lambda im: _with(im, (3, 0, 0, 0), np.inf), r"NaN or infinite"),
    ("float_0_255", lambda im: im.astype(np.float32), r"looks like 0-255 data.*X / 255"),
    ("negative", lambda im: _float_images(im) - 0.5, r"Negative values.*unnormalized"),
    ("ragged_list", lambda im: [im[0], im[1, :20], im[2]], r"different sizes.*image 1.*resize"),
    ("too_small_for_n_segments", lambda im: im[:, :3, :3], r"n_segments=16 is larger than.*3x3 = 9"),
    ("sparse", lambda im: scipy.sparse.csr_matrix(im.reshape(12, -1)), r"sparse.*toarray"),
    ("complex", lambda im: im.astype(np.complex64), r"Complex data not supported"),
    ("strings", lambda im: im.astype(str), r"real numbers"),
]


@pytest.mark.parametrize(
    "make_X, match", [case[1:] for case in BAD_IMAGES], ids=[case[0] for case in BAD_IMAGES]
)
def test_bad_images_fail_in_fit_before_any_torch_work(images, make_p2p, make_X, match):
    X = make_X(images)
    X_before = X.copy() if hasattr(X, "copy") else list(X)
    model = make_p2p()
    with pytest.raises((ValueError, TypeError), match=match):
        model.fit(X, np.arange(12) % 2)
    assert not hasattr(model, "module_")
    if isinstance(X, np.ndarray):
        np.testing.assert_array_equal(X, X_before)


@pytest.mark.parametrize(
    "label_channel, match",
    [
        (lambda seg: seg + 0.5, r"non-integral superpixel labels"),
        (lambda seg: -seg - 1, r"negative superpixel labels"),
    ],
    ids=["non_integral", "negative"],
)
def test_bad_precomputed_label_channel(images, make_p2p, label_channel, match):
    Xp = SuperpixelTransformer(n_segments=16).fit_transform(images)
    Xp[..., -1] = label_channel(Xp[..., -1])
    model = make_p2p(superpixels="precomputed")
    with pytest.raises(ValueError, match=match):
        model.fit(Xp, np.arange(12) % 2)
    assert not hasattr(model, "module_")


@pytest.mark.parametrize("method", ["predict", "predict_proba", "explain"])
def test_inference_before_fit_raises_not_fitted(images, method):
    with pytest.raises(NotFittedError, match="not initialized|not fitted"):
        getattr(P2PClassifier(), method)(images)


def test_other_channel_count_at_predict(fitted_p2p, images):
    gray = images.mean(axis=-1).astype(np.uint8)
    with pytest.raises(ValueError, match=r"1 channel\(s\).*fitted on images with 3 channel\(s\).*gray2rgb"):
        fitted_p2p.predict(gray)


def test_x_y_length_mismatch(images, make_p2p):
    with pytest.raises(ValueError, match="12 images but 5 labels"):
        make_p2p().fit(images, np.zeros(5))


def test_single_class(images, make_p2p):
    with pytest.raises(ValueError, match="one class only"):
        make_p2p().fit(images, np.ones(12))


def test_unknown_backbone_lists_close_names(images, make_p2p):
    with pytest.raises(ValueError, match="Unknown backbone 'resnet81'.*resnet18"):
        make_p2p(classifier="resnet81").fit(images, np.arange(12) % 2)


def test_negative_lambda1_uses_sklearn_message(images, make_p2p):
    with pytest.raises(ValueError, match="The 'lambda1' parameter of P2PClassifier must be"):
        make_p2p(lambda1=-1).fit(images, np.arange(12) % 2)


def test_threshold_must_be_dynamic_or_in_unit_interval(images, make_p2p):
    with pytest.raises(ValueError, match="'threshold' parameter"):
        make_p2p(threshold=1.5).fit(images, np.arange(12) % 2)


def test_explain_rejects_bad_delta(fitted_p2p, images):
    with pytest.raises(ValueError, match="'delta' parameter"):
        fitted_p2p.explain(images, delta=1.5)


def test_other_image_size_at_predict(fitted_p2p, images):
    with pytest.raises(ValueError, match=r"shape \(16, 16\).*fitted on images of shape \(24, 24\).*Resize"):
        fitted_p2p.predict(images[:, :16, :16])


def test_unknown_label_in_partial_fit(fitted_p2p, images):
    import pickle

    model = pickle.loads(pickle.dumps(fitted_p2p))
    with pytest.raises(ValueError, match="not among the classes"):
        model.partial_fit(images, np.array(["unseen"] * 12))


def test_inputs_are_not_modified(images, make_p2p):
    X = images.copy()
    y = np.arange(12) % 2
    y_copy = y.copy()
    model = make_p2p(max_epochs=1).fit(X, y)
    model.explain(X)
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, y_copy)


def test_precomputed_input_without_label_channel(images):
    with pytest.raises(ValueError, match="SuperpixelTransformer"):
        P2PClassifier(superpixels="precomputed", verbose=0).fit(images, np.arange(12) % 2)


def test_masks_passed_to_fit_get_a_routing_hint(images, make_p2p):
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['masks'\].*enable_metadata_routing"):
        make_p2p().fit(images, np.arange(12) % 2, masks=np.zeros((12, 24, 24), bool))


def test_sample_weight_gets_an_answer(images, make_p2p):
    model = make_p2p()
    with pytest.raises(TypeError, match=r"does not support sample weights.*criterion__weight"):
        model.fit(images, np.arange(12) % 2, sample_weight=np.ones(12))
    assert not hasattr(model, "module_")


def _no_segmentation(monkeypatch):
    """Make any superpixel computation fail the test: errors must come first."""
    def segment(*args, **kwargs):
        raise AssertionError("images were segmented before the device was checked")

    monkeypatch.setattr(SuperpixelTransformer, "_label_into", segment)


@pytest.mark.parametrize("device, cuda_devices, match", [
    ("cuda", 0, r"device='cuda', but CUDA is not available.*device='auto'"),
    ("cuda:1", 0, r"device='cuda:1', but CUDA is not available"),
    ("cuda:3", 2, r"device='cuda:3', but this machine has 2 cuda device\(s\) \(indices 0 to 1\)"),
    ("gpu", 0, r"device='gpu' is not a torch device"),
])
def test_unavailable_device_fails_before_any_work(images, make_p2p, monkeypatch,
                                                  device, cuda_devices, match):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda_devices > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda_devices)
    _no_segmentation(monkeypatch)
    model = make_p2p(device=device)
    with pytest.raises(ValueError, match=match):
        model.fit(images, np.arange(12) % 2)
    assert not hasattr(model, "module_")


@pytest.mark.parametrize("method", ["predict", "predict_proba", "explain"])
def test_unavailable_device_at_inference_fails_before_any_work(fitted_p2p, images, monkeypatch,
                                                               method):
    import copy

    import torch

    model = copy.deepcopy(fitted_p2p)
    model.set_params(device="cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _no_segmentation(monkeypatch)
    with pytest.raises(ValueError, match=r"device='cuda', but CUDA is not available"):
        getattr(model, method)(images)


def test_scorer_checks_mask_count_before_explaining(fitted_p2p, images, monkeypatch):
    from sklearn_p2p.metrics import localization_scorer

    def explain(*args, **kwargs):
        raise AssertionError("the fold was explained before the masks were checked")

    monkeypatch.setattr(type(fitted_p2p), "explain", explain)
    masks = np.ones((5, 24, 24), dtype=bool)
    with pytest.raises(ValueError, match=r"masks of shape \(5, 24, 24\) for 12 images"):
        localization_scorer(fitted_p2p, images, masks=masks)
    with pytest.raises(ValueError, match=r"masks of shape \(24, 24\) for 12 images"):
        localization_scorer(fitted_p2p, images, masks=masks[0])
