"""sklearn_p2p.interop: the formats of Quantus, Captum and pytorch-grad-cam."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.baselines import BlackboxClassifier
from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.explainers import GradientExplainer
from sklearn_p2p.interop import (
    EstimatorModule,
    as_torch_module,
    explain_func,
    images_to_channels_first,
    to_channels_first,
)
from sklearn_p2p.metrics import pointing_game_score, relevance_mass_score, sparseness_score
from sklearn_p2p.models import ERSMClassifier, SIBClassifier


@pytest.fixture(scope="module")
def data():
    return make_cluttered_objects(n_samples=24, image_size=16, random_state=0)


def _p2p(**params):
    return P2PClassifier(superpixels=SuperpixelTransformer(n_segments=8), max_epochs=1,
                         verbose=0, random_state=0, **params)


FACTORIES = {
    "p2p": _p2p,
    "blackbox": lambda: BlackboxClassifier(
        superpixels=SuperpixelTransformer(n_segments=8), max_epochs=1, verbose=0,
        random_state=0),
    "blackbox_pixel": lambda: BlackboxClassifier(kept_fraction=0.25, max_epochs=1, verbose=0,
                                                 random_state=0),
    "ersm": lambda: ERSMClassifier(max_epochs=1, verbose=0, random_state=0),
    "sib": lambda: SIBClassifier(max_epochs=1, verbose=0, random_state=0),
}


@pytest.fixture(scope="module")
def fitted(data):
    """Every kind of classifier, fitted once on the RGB images."""
    return {name: make().fit(data.images, data.target) for name, make in FACTORIES.items()}


@pytest.fixture(scope="module")
def p2p(fitted):
    return fitted["p2p"]


def _proba(model, x):
    with torch.no_grad():
        return torch.softmax(model(x), dim=1).cpu().numpy()


def _x(estimator, images):
    return torch.as_tensor(images_to_channels_first(estimator, images))


# -- to_channels_first ---------------------------------------------------


def test_to_channels_first_adds_a_channel_axis_as_float32(data):
    masks = data.masks[:3]
    before = masks.copy()
    s_batch = to_channels_first(masks)
    assert s_batch.shape == (3, 1, 16, 16) and s_batch.dtype == np.float32
    np.testing.assert_array_equal(s_batch[:, 0], masks.astype(np.float32))
    np.testing.assert_array_equal(masks, before)
    attributions = np.random.default_rng(0).random((2, 5, 4))
    a_batch = to_channels_first(attributions)
    np.testing.assert_allclose(a_batch[:, 0], attributions, rtol=1e-6)
    a_batch[:] = -1  # a new array: writing to it leaves the input alone
    assert attributions.min() >= 0


def test_to_channels_first_accepts_tensors():
    maps = torch.rand(2, 4, 4, requires_grad=True)
    out = to_channels_first(maps)
    assert isinstance(out, np.ndarray) and out.shape == (2, 1, 4, 4)


@pytest.mark.parametrize("shape, match", [
    ((4, 4), r"maps\[np.newaxis\]"),
    ((2, 3, 4, 4), "images_to_channels_first"),
    ((2,), r"\(N, H, W\)"),
])
def test_to_channels_first_rejects_other_shapes_with_the_fix(shape, match):
    with pytest.raises(ValueError, match=match):
        to_channels_first(np.zeros(shape))


def test_to_channels_first_rejects_non_numbers():
    with pytest.raises(ValueError, match="numbers or bools"):
        to_channels_first(np.full((1, 2, 2), "a"))


# -- images_to_channels_first ---------------------------------------------


def test_images_to_channels_first_reads_uint8_as_the_estimator(p2p, data):
    X = data.images[:4]
    before = X.copy()
    x_batch = images_to_channels_first(p2p, X)
    assert x_batch.shape == (4, 3, 16, 16) and x_batch.dtype == np.float32
    assert x_batch.flags.c_contiguous
    np.testing.assert_allclose(x_batch, X.transpose(0, 3, 1, 2) / 255.0, atol=1e-7)
    np.testing.assert_array_equal(X, before)


def test_images_to_channels_first_checks_the_fitted_size(p2p, data):
    with pytest.raises(ValueError, match="fitted on images of shape"):
        images_to_channels_first(p2p, data.images[:2, :8, :8])


# -- the module: agreement with predict_proba ------------------------------


@pytest.mark.parametrize("name", list(FACTORIES))
def test_softmax_of_the_module_is_predict_proba(fitted, data, name):
    estimator = fitted[name]
    model = as_torch_module(estimator)
    assert isinstance(model, EstimatorModule)
    assert model.estimator is estimator and model.network is estimator.module_
    np.testing.assert_array_equal(model.classes_, estimator.classes_)
    np.testing.assert_allclose(_proba(model, _x(estimator, data.images)),
                               estimator.predict_proba(data.images), atol=1e-5)


def test_trained_p2p_with_searched_thresholds_agrees(fitted_p2p, tiny_data):
    # Trained: the masks are partial and each image has its own tau.
    X = tiny_data.images
    details = fitted_p2p.explain(X, return_details=True)
    assert len(np.unique(details.tau)) > 1
    assert 0 < details.kept_fraction.mean() < 1
    model = as_torch_module(fitted_p2p)
    np.testing.assert_allclose(_proba(model, _x(fitted_p2p, X)),
                               fitted_p2p.predict_proba(X), atol=1e-5)
    assert model.classes_[0] == fitted_p2p.classes_[0]  # string labels


@pytest.mark.parametrize("name", ["p2p", "ersm"])
def test_grayscale_images(data, name):
    gray = data.images.mean(axis=-1).astype(np.uint8)  # (N, H, W)
    estimator = FACTORIES[name]().fit(gray, data.target)
    x = _x(estimator, gray)
    assert x.shape == (24, 1, 16, 16)
    model = as_torch_module(estimator)
    np.testing.assert_allclose(_proba(model, x), estimator.predict_proba(gray), atol=1e-5)
    with pytest.raises(ValueError, match=r"add the channel axis: x\[:, None\]"):
        model(x[:, 0])


def test_pipeline_of_superpixels_and_precomputed_p2p(data):
    pipe = make_pipeline(SuperpixelTransformer(n_segments=8),
                         P2PClassifier(superpixels="precomputed", max_epochs=1, verbose=0,
                                       random_state=0)).fit(data.images, data.target)
    model = as_torch_module(pipe)
    assert model.network is pipe[-1].module_
    np.testing.assert_allclose(_proba(model, _x(pipe, data.images)),
                               pipe.predict_proba(data.images), atol=1e-5)


def test_float64_input_on_any_device_is_cast(p2p, data):
    model = as_torch_module(p2p)
    x = _x(p2p, data.images[:4])
    np.testing.assert_allclose(_proba(model, x.double()), _proba(model, x), atol=1e-6)


def test_values_beyond_the_unit_range_are_read_and_left_unmodified(p2p, data):
    # Noise added by SmoothGrad or Quantus leaves [0, 1]: the superpixels are
    # computed on a clipped copy, the classifier sees the values as they are.
    model = as_torch_module(p2p)
    noise = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    x = _x(p2p, data.images[:4]) + 0.3 * noise
    before = x.clone()
    logits = model(x)
    assert torch.isfinite(logits).all()
    assert torch.equal(x, before)


# -- gradients -------------------------------------------------------------


@pytest.mark.parametrize("name", list(FACTORIES))
def test_gradients_reach_the_input(fitted, data, name):
    estimator = fitted[name]
    x = _x(estimator, data.images[:6]).requires_grad_()
    logits = as_torch_module(estimator)(x)
    logits.gather(1, logits.argmax(dim=1, keepdim=True)).sum().backward()
    assert x.grad.shape == x.shape
    assert torch.isfinite(x.grad).all() and (x.grad != 0).any()


@pytest.mark.parametrize("which", ["trained_p2p", "blackbox_pixel"])
def test_gradient_is_zero_exactly_on_the_masked_pixels(fitted, fitted_p2p, tiny_data, data,
                                                       which):
    estimator, X = ((fitted_p2p, tiny_data.images[:12]) if which == "trained_p2p"
                    else (fitted["blackbox_pixel"], data.images[:6]))
    masks = estimator.explain(X)
    assert 0 < masks.mean() < 1
    x = _x(estimator, X).requires_grad_()
    as_torch_module(estimator)(x).sum().backward()
    seen = (x.grad != 0).any(dim=1).numpy()
    assert not seen[~masks].any()
    assert seen[masks].mean() > 0.5


# -- forward hooks (Grad-CAM) ----------------------------------------------


def test_hooks_see_only_the_pass_that_made_the_logits(fitted_p2p, tiny_data):
    model = as_torch_module(fitted_p2p)
    layer = model.attribution_layer()
    assert any(layer is m for m in model.network.classifier.modules())
    calls = []
    handle = layer.register_forward_hook(lambda module, inputs, output: calls.append(output))
    try:
        model(_x(fitted_p2p, tiny_data.images[:8]))
        assert len(calls) == 1 and calls[0].shape[0] == 8
        model(_x(fitted_p2p, tiny_data.images[:2]))  # restored for the next pass
        assert len(calls) == 2
    finally:
        handle.remove()
    model(_x(fitted_p2p, tiny_data.images[:2]))
    assert len(calls) == 2  # the handle still removes it


def test_captum_integrated_gradients_and_layer_grad_cam(p2p, data):
    from captum.attr import IntegratedGradients, LayerGradCam

    model = as_torch_module(p2p)
    x = _x(p2p, data.images[:4])
    target = torch.as_tensor(data.target[:4])
    attributions = IntegratedGradients(model).attribute(x, target=target, n_steps=8)
    assert attributions.shape == (4, 3, 16, 16)
    assert torch.isfinite(attributions).all() and (attributions != 0).any()
    cam = LayerGradCam(model, model.attribution_layer()).attribute(x, target=target)
    assert cam.shape[:2] == (4, 1) and torch.isfinite(cam).all()


def test_integrated_gradients_of_a_blackbox_are_complete(fitted, data):
    # The whole model is differentiable: IG sums to f(x) - f(black).
    from captum.attr import IntegratedGradients

    blackbox = fitted["blackbox"]
    model = as_torch_module(blackbox)
    x = _x(blackbox, data.images[:3])
    _, delta = IntegratedGradients(model).attribute(
        x, target=0, n_steps=128, return_convergence_delta=True)
    with torch.no_grad():
        gap = (model(x)[:, 0] - model(torch.zeros_like(x))[:, 0]).abs()
    assert (delta.abs() < 0.05 * gap.clamp(min=1e-3) + 1e-3).all()


# -- Quantus ---------------------------------------------------------------


@pytest.fixture(scope="module")
def quantus():
    return pytest.importorskip("quantus")


def test_quantus_localisation_agrees_with_the_package_metrics(quantus, fitted_p2p, tiny_data):
    X, masks = tiny_data.images[:8], tiny_data.masks[:8]
    details = fitted_p2p.explain(X, return_details=True)
    y_batch = np.searchsorted(fitted_p2p.classes_, details.y_pred)
    batch = dict(model=as_torch_module(fitted_p2p),
                 x_batch=images_to_channels_first(fitted_p2p, X), y_batch=y_batch,
                 a_batch=to_channels_first(details.attributions),
                 s_batch=to_channels_first(masks))
    mass = quantus.RelevanceMassAccuracy(disable_warnings=True)(**batch)
    np.testing.assert_allclose(mass, relevance_mass_score(details.attributions, masks,
                                                          average=False), atol=1e-5)
    gini = quantus.Sparseness(disable_warnings=True)(**batch)
    np.testing.assert_allclose(gini, sparseness_score(details.attributions, average=False),
                               atol=1e-5)
    hits = np.asarray(quantus.PointingGame(disable_warnings=True)(**batch), dtype=float)
    ours = pointing_game_score(details.attributions, masks, average=False)
    # Quantus counts a hit when any pixel of the maximum is on the object, the
    # package when the first one is: P2P's maps are constant on regions.
    assert (hits >= ours).all()


def test_quantus_metrics_that_call_the_model(quantus, p2p, data):
    X, y = data.images[:4], data.target[:4]
    model = as_torch_module(p2p)
    details = p2p.explain(X, return_details=True)
    batch = dict(model=model, x_batch=images_to_channels_first(p2p, X), y_batch=y)
    faithfulness = quantus.FaithfulnessCorrelation(
        nr_runs=5, subset_size=16, return_aggregate=False, disable_warnings=True,
    )(**batch, a_batch=to_channels_first(details.attributions))
    assert len(faithfulness) == 4
    stability = quantus.RelativeInputStability(nr_samples=3, disable_warnings=True)(
        **batch, explain_func=explain_func)
    assert len(stability) == 4 and np.isfinite(stability).all()


# -- explain_func ----------------------------------------------------------


def test_explain_func_returns_the_estimators_maps(p2p, data):
    X = data.images[:3]
    model = as_torch_module(p2p)
    inputs = images_to_channels_first(p2p, X)
    maps = explain_func(model=model, inputs=inputs, targets=np.zeros(3, dtype=int))
    np.testing.assert_allclose(maps[:, 0], p2p.explain(X, return_details=True).attributions)
    # Noise beyond [0, 1] (Quantus' perturbations) is clipped, not rejected.
    assert explain_func(model, inputs + 0.3, None).shape == (3, 1, 16, 16)


def test_explain_func_with_an_explainer_uses_the_targets(fitted, data):
    blackbox = fitted["blackbox"]
    X = data.images[:3]
    model = as_torch_module(blackbox)
    inputs = torch.as_tensor(images_to_channels_first(blackbox, X))
    targets = np.array([0, 1, 2])
    maps = explain_func(model, inputs, targets, explainer=GradientExplainer,
                        method="saliency")
    expected = GradientExplainer(blackbox, "saliency").attribute(X, target=targets)
    np.testing.assert_allclose(maps[:, 0], expected, rtol=1e-5, atol=1e-7)


def test_explain_func_errors(fitted, p2p):
    inputs = np.zeros((1, 3, 16, 16), np.float32)
    with pytest.raises(TypeError, match="as_torch_module"):
        explain_func(torch.nn.Identity(), inputs, None)
    with pytest.raises(TypeError, match="without an explainer"):
        explain_func(as_torch_module(p2p), inputs, None, method="saliency")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        explain_func(as_torch_module(p2p), inputs[0], None)


# -- training mode, re-fitting ---------------------------------------------


def test_the_module_cannot_be_trained(data):
    estimator = _p2p().fit(data.images, data.target)
    model = as_torch_module(estimator)
    assert not model.training and not model.network.training
    with pytest.raises(RuntimeError, match="cannot be put in training mode"):
        model.train()
    assert model.eval() is model and not model.training
    proba = estimator.predict_proba(data.images[:4])
    np.testing.assert_allclose(_proba(model, _x(estimator, data.images[:4])), proba,
                               atol=1e-5)
    estimator.fit(data.images, data.target)  # a new network
    with pytest.raises(RuntimeError, match="re-fitted"):
        model(_x(estimator, data.images[:4]))


def test_a_deep_copy_is_a_consistent_view(p2p, data):
    # Quantus' randomisation tests deep-copy the model and reset its layers.
    model = copy.deepcopy(as_torch_module(p2p))
    assert model.network is model.estimator.module_ and model.estimator is not p2p
    for module in model.network.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    x = _x(p2p, data.images[:4])
    np.testing.assert_allclose(_proba(model, x), model.estimator.predict_proba(data.images[:4]),
                               atol=1e-5)
    assert not np.allclose(_proba(model, x), p2p.predict_proba(data.images[:4]), atol=1e-3)


def test_a_pickled_module_predicts_like_the_original(p2p, data):
    model = pickle.loads(pickle.dumps(as_torch_module(p2p)))
    assert model.network is model.estimator.module_
    np.testing.assert_allclose(_proba(model, _x(p2p, data.images[:4])),
                               p2p.predict_proba(data.images[:4]), atol=1e-5)


# -- validation ------------------------------------------------------------


def test_unfitted_and_foreign_estimators_are_rejected(data):
    with pytest.raises(NotFittedError):
        as_torch_module(_p2p())
    with pytest.raises(TypeError, match="classifier of this package"):
        as_torch_module(LogisticRegression())
    precomputed = P2PClassifier(superpixels="precomputed", max_epochs=1, verbose=0,
                                random_state=0)
    precomputed.fit(SuperpixelTransformer(n_segments=8).fit_transform(data.images),
                    data.target)
    with pytest.raises(ValueError, match="Pipeline of the SuperpixelTransformer"):
        as_torch_module(precomputed)


def test_other_pipelines_are_rejected_with_the_fix(p2p, data):
    pipe = make_pipeline(FunctionTransformer(), _p2p()).fit(data.images, data.target)
    with pytest.raises(TypeError, match=r"pipeline\[-1\]"):
        as_torch_module(pipe)
    with pytest.raises(TypeError, match=r"pipeline\[-1\]"):
        images_to_channels_first(pipe, data.images)


@pytest.mark.parametrize("make_x, error, match", [
    (lambda x: x.numpy(), TypeError, "torch.as_tensor"),
    (lambda x: (x * 255).to(torch.uint8), ValueError, r"x.float\(\) / 255"),
    (lambda x: x.permute(0, 2, 3, 1), ValueError, r"channel-last; permute it: x.permute"),
    (lambda x: x[0], ValueError, r"add the batch axis: x\[None\]"),
    (lambda x: x[:, :1], ValueError, r"got 1 channel\(s\), but P2PClassifier was fitted on 3"),
    (lambda x: x[:, :, :8, :8], ValueError, r"resize them"),
    (lambda x: x[:0], ValueError, "empty batch"),
    (lambda x: x[0, 0], ValueError, r"\(N, 3, 16, 16\); got \(16, 16\)"),
])
def test_wrong_input_is_rejected_with_the_fix(p2p, data, make_x, error, match):
    model = as_torch_module(p2p)
    with pytest.raises(error, match=match):
        model(make_x(_x(p2p, data.images[:2])))
