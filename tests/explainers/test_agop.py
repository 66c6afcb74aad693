import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_p2p import SuperpixelTransformer
from sklearn_p2p.baselines import BlackboxClassifier
from sklearn_p2p.explainers import AGOPExplainer
from sklearn_p2p.models import BackboneClassifier


@pytest.fixture(scope="module")
def backbone(tiny_data):
    return BackboneClassifier(max_epochs=2, batch_size=16, verbose=0, random_state=0).fit(
        tiny_data.images, tiny_data.target
    )


def _brute_force_jacobians(estimator, X):
    """Per-image Jacobian (K, H, W, C) of the logits, one image at a time."""
    network = estimator.module_.eval()
    device = next(network.parameters()).device  # CUDA where the estimator is
    images = torch.as_tensor(estimator._read_images(X, reset=False).images.copy(), device=device)
    jacobians = []
    for image in images:
        def logits(x):
            return network.image_logits(x.permute(2, 0, 1)[None])[0]
        jacobians.append(torch.autograd.functional.jacobian(logits, image).cpu().numpy())
    return np.stack(jacobians)  # (n, K, H, W, C)


def test_diagonal_equals_brute_force_mean_of_squared_jacobians(backbone, tiny_data):
    X = tiny_data.images[:5]
    # batches of 2, 2 and 1 images: the sum over a batch must separate per image
    agop = AGOPExplainer(backbone, batch_size=2).fit(X)
    jacobians = _brute_force_jacobians(backbone, X)
    expected = (jacobians**2).sum(axis=1).mean(axis=0)
    assert agop.agop_diagonal_.shape == (24, 24, 3)
    np.testing.assert_allclose(agop.agop_diagonal_, expected, rtol=1e-4, atol=1e-10)
    assert agop.n_images_seen_ == 5
    np.testing.assert_array_equal(agop.classes_, backbone.classes_)


def test_partial_fit_continues_the_running_mean(backbone, tiny_data):
    X = tiny_data.images[:10]
    whole = AGOPExplainer(backbone).fit(X)
    parts = AGOPExplainer(backbone).partial_fit(X[:3]).partial_fit(X[3:])
    np.testing.assert_allclose(parts.agop_diagonal_, whole.agop_diagonal_, rtol=1e-5)
    assert parts.n_images_seen_ == 10
    # fit starts again from scratch
    refit = AGOPExplainer(backbone).fit(X[:3])
    parts.fit(X[:3])
    assert parts.n_images_seen_ == 3
    np.testing.assert_allclose(parts.agop_diagonal_, refit.agop_diagonal_)


def test_local_variant_is_the_predicted_class_gradient_and_needs_no_fit(backbone, tiny_data):
    X = tiny_data.images[:4]
    details = AGOPExplainer(backbone, variant="local").explain(X, return_details=True)
    jacobians = _brute_force_jacobians(backbone, X)
    predicted = backbone.predict_proba(X).argmax(axis=1)
    expected = np.abs(jacobians[np.arange(4), predicted]).sum(axis=-1)
    np.testing.assert_allclose(details.attributions, expected, rtol=1e-4, atol=1e-10)
    np.testing.assert_array_equal(details.y_pred, backbone.predict(X))
    # an explicit target explains another class
    other = (predicted + 1) % 3
    maps = AGOPExplainer(backbone, variant="local").attribute(X, target=other)
    np.testing.assert_allclose(
        maps, np.abs(jacobians[np.arange(4), other]).sum(axis=-1), rtol=1e-4, atol=1e-10
    )


def test_weighted_damps_the_gradient_by_the_diagonal(backbone, tiny_data):
    X = tiny_data.images[:4]
    local = AGOPExplainer(backbone, variant="local").attribute(X)
    weighted = AGOPExplainer(backbone, variant="weighted").fit(tiny_data.images)
    # a constant diagonal leaves the local map unchanged
    weighted.agop_diagonal_ = np.full((24, 24, 3), 0.3)
    np.testing.assert_allclose(weighted.attribute(X), local, rtol=1e-6)
    # a diagonal that vanishes on the left half zeroes the map there and
    # scales the rest by sqrt(diag / max)
    diagonal = np.full((24, 24, 3), 4.0)
    diagonal[:, :12] = 0.0
    diagonal[:, 18:] = 1.0
    weighted.agop_diagonal_ = diagonal
    maps = weighted.attribute(X)
    np.testing.assert_array_equal(maps[:, :, :12], 0.0)
    np.testing.assert_allclose(maps[:, :, 12:18], local[:, :, 12:18], rtol=1e-6)
    np.testing.assert_allclose(maps[:, :, 18:], 0.5 * local[:, :, 18:], rtol=1e-6)


def test_global_variant_is_the_diagonal_for_every_image(backbone, tiny_data):
    agop = AGOPExplainer(backbone, variant="global").fit(tiny_data.images)
    details = agop.explain(tiny_data.images[:5], return_details=True)
    expected = agop.agop_diagonal_.sum(axis=-1)
    for attribution in details.attributions:
        np.testing.assert_allclose(attribution, expected)
    assert (details.masks == details.masks[0]).all()
    assert expected.std() > 0  # a trained network is not equally sensitive everywhere


def test_explain_follows_kept_fraction_and_the_protocol(backbone, tiny_data):
    X = tiny_data.images[:3]
    agop = AGOPExplainer(backbone, kept_fraction=[0.1, 0.25, 0.5]).fit(tiny_data.images)
    details = agop.explain(X, return_details=True)
    assert set(details) >= {"masks", "attributions", "proba", "y_pred", "kept_fraction"}
    assert details.masks.shape == details.attributions.shape == (3, 24, 24)
    assert details.masks.dtype == bool
    np.testing.assert_allclose(details.kept_fraction, np.ceil([57.6, 144, 288]) / 576)
    np.testing.assert_allclose(details.proba, backbone.predict_proba(X), rtol=1e-6)
    for mask, attribution in zip(details.masks, details.attributions):
        assert attribution[mask].min() >= attribution[~mask].max()
    np.testing.assert_array_equal(agop.explain(X), details.masks)
    assert (details.attributions >= 0).all()
    masks = details.masks
    np.testing.assert_allclose(
        agop.predict_proba_masked(X, masks), backbone.predict_proba_masked(X, masks)
    )


def test_fit_and_explain_leave_input_and_network_mode_alone(backbone, tiny_data):
    X = tiny_data.images[:4].copy()
    grads = [None if p.grad is None else p.grad.clone() for p in backbone.module_.parameters()]
    backbone.module_.train()
    try:
        agop = AGOPExplainer(backbone).fit(X)
        agop.attribute(X, target=np.zeros(4, dtype=int))
        # (predict_proba, skorch's, leaves the network in eval mode itself)
        assert backbone.module_.training
        agop.explain(X)
    finally:
        backbone.module_.eval()
    np.testing.assert_array_equal(X, tiny_data.images[:4])
    for before, p in zip(grads, backbone.module_.parameters()):  # no gradient accumulated
        assert (p.grad is None) if before is None else torch.equal(p.grad, before)


@pytest.mark.parametrize("kind", ["p2p", "blackbox"])
def test_explains_p2p_and_blackbox_classifiers(kind, tiny_data, make_p2p):
    if kind == "p2p":
        model = make_p2p(max_epochs=1)
    else:
        model = BlackboxClassifier(
            superpixels=SuperpixelTransformer(n_segments=16), max_epochs=1, batch_size=16,
            verbose=0, random_state=0,
        )
    model.fit(tiny_data.images[:24], tiny_data.target[:24])
    agop = AGOPExplainer(model, variant="weighted", kept_fraction=0.2).fit(tiny_data.images[:8])
    assert agop.agop_diagonal_.shape == (24, 24, 3)
    assert np.isfinite(agop.agop_diagonal_).all() and agop.agop_diagonal_.max() > 0
    details = agop.explain(tiny_data.images[:3], return_details=True)
    assert details.masks.shape == (3, 24, 24)
    np.testing.assert_array_equal(details.y_pred, model.predict(tiny_data.images[:3]))


def test_grayscale_images_give_a_single_channel_diagonal():
    from sklearn_p2p.datasets import make_tetrominoes

    data = make_tetrominoes(n_samples=16, random_state=0)
    clf = BackboneClassifier(max_epochs=1, batch_size=16, verbose=0, random_state=0)
    clf.fit(data.images, data.target)
    agop = AGOPExplainer(clf, variant="global", kept_fraction=4 / 64).fit(data.images)
    assert agop.agop_diagonal_.shape == (8, 8, 1)
    assert agop.explain(data.images[:2]).sum(axis=(1, 2)).tolist() == [4, 4]


def test_errors(backbone, tiny_data):
    X = tiny_data.images[:2]
    with pytest.raises(InvalidParameterError, match="variant") as error:
        AGOPExplainer(backbone, variant="diagonal").fit(X)
    assert all(f"'{name}'" in str(error.value) for name in ("local", "weighted", "global"))
    with pytest.raises(NotFittedError):
        AGOPExplainer(BackboneClassifier()).fit(X)
    with pytest.raises(TypeError, match="classifier of this package"):
        AGOPExplainer(object()).fit(X)
    for variant in ("weighted", "global"):
        with pytest.raises(NotFittedError, match="fit\\(X_train\\)"):
            AGOPExplainer(backbone, variant=variant).explain(X)
    with pytest.raises(ValueError, match="shape"):
        AGOPExplainer(backbone).fit(tiny_data.images[:2, :16, :16])
    agop = AGOPExplainer(backbone, variant="global").fit(X)
    agop.agop_diagonal_ = np.ones((16, 16, 3))
    with pytest.raises(ValueError, match="diagonal .* computed on images of shape"):
        agop.explain(X)
    with pytest.raises(ValueError, match="diagonal .* computed on images of shape"):
        agop.partial_fit(X)
    with pytest.raises(ValueError, match="target"):
        AGOPExplainer(backbone, variant="local").attribute(X, target=[0, 3])
    with pytest.raises(ValueError, match="0 images"):
        AGOPExplainer(backbone).fit(tiny_data.images[:0])


def test_kept_fraction_is_checked_before_any_network_work(backbone, tiny_data, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the network ran")

    agop = AGOPExplainer(backbone, variant="local", kept_fraction=[0.1, 0.2, 0.3])
    monkeypatch.setattr(backbone, "predict_proba", fail)
    monkeypatch.setattr(backbone.module_, "image_logits", fail)
    with pytest.raises(ValueError, match="kept_fraction .* 2 images"):
        agop.explain(tiny_data.images[:2])
    with pytest.raises(ValueError, match="kept_fraction"):
        AGOPExplainer(backbone, variant="local", kept_fraction=1.5).explain(tiny_data.images[:2])


def test_get_params_set_params_and_clone(backbone):
    agop = AGOPExplainer(backbone, "global", kept_fraction=0.1, batch_size=4)
    params = agop.get_params(deep=False)
    assert params == {"estimator": backbone, "variant": "global", "kept_fraction": 0.1,
                      "batch_size": 4}
    assert agop.set_params(variant="local").variant == "local"
    copy = clone(agop)
    assert copy.get_params(deep=False)["variant"] == "local"
    assert copy.batch_size == 4 and not hasattr(copy, "agop_diagonal_")
