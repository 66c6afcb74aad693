import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_p2p.baselines import BlackboxClassifier
from sklearn_p2p.explainers import GradientExplainer
from sklearn_p2p.explainers._gradient import METHODS
from sklearn_p2p.metrics import deletion_auc, insertion_auc
from sklearn_p2p.models import BackboneClassifier
from sklearn_p2p.plotting import ExplanationDisplay, RegionProbabilityDisplay


@pytest.fixture(scope="module")
def plain(tiny_data):
    clf = BackboneClassifier(max_epochs=3, batch_size=16, random_state=0, verbose=0)
    return clf.fit(tiny_data.images, tiny_data.target)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_non_negative_maps_and_top_fraction_masks(plain, tiny_data, method):
    X = tiny_data.images[:6]
    details = GradientExplainer(plain, method, kept_fraction=0.2, n_steps=4,
                                n_samples=4).explain(X, return_details=True)
    assert details.attributions.shape == (6, 24, 24)
    assert details.attributions.min() >= 0 and details.attributions.max() > 0
    assert details.masks.dtype == bool
    # ceil(0.2 * 576) = 116 pixels, the highest of each map.
    assert (details.masks.sum(axis=(1, 2)) == 116).all()
    for mask, attribution in zip(details.masks, details.attributions):
        assert attribution[mask].min() >= attribution[~mask].max()
    np.testing.assert_allclose(details.proba, plain.predict_proba(X), atol=1e-6)
    assert (details.y_pred == plain.predict(X)).all()


def test_saliency_is_the_absolute_input_gradient_of_the_predicted_class(plain, tiny_data):
    X = tiny_data.images[:3]
    maps = GradientExplainer(plain, "saliency").attribute(X)
    images = torch.as_tensor(X / 255.0, dtype=torch.float32).permute(0, 3, 1, 2)
    images.requires_grad_()
    network = plain.module_.eval()
    logits = network.image_logits(images)
    predicted = logits.argmax(dim=1)
    logits.gather(1, predicted[:, None]).sum().backward()
    expected = images.grad.abs().sum(dim=1).numpy()
    np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-7)


def test_integrated_gradients_are_complete(plain, tiny_data):
    # Completeness: the signed attributions sum to f(x) - f(black).
    X = tiny_data.images[:2]
    explainer = GradientExplainer(plain, "integrated_gradients", n_steps=64)
    from captum.attr import IntegratedGradients

    from sklearn_p2p.explainers._network import ImageLogits

    images = torch.as_tensor(X / 255.0, dtype=torch.float32).permute(0, 3, 1, 2)
    model = ImageLogits(plain.module_.eval())
    target = plain.predict_proba(X).argmax(axis=1)
    signed = IntegratedGradients(model).attribute(
        images, baselines=torch.zeros_like(images), target=torch.as_tensor(target), n_steps=64)
    gap = (model(images) - model(torch.zeros_like(images)))[np.arange(2), target]
    np.testing.assert_allclose(signed.sum(dim=(1, 2, 3)).detach(), gap.detach(), rtol=0.05,
                               atol=1e-3)
    # The explainer's map is the magnitude of the same attributions.
    np.testing.assert_allclose(explainer.attribute(X), signed.abs().sum(dim=1).detach(),
                               rtol=1e-3, atol=1e-6)


def test_explicit_targets_and_their_errors(plain, tiny_data):
    X = tiny_data.images[:3]
    explainer = GradientExplainer(plain, "saliency")
    other = (plain.predict_proba(X).argmax(axis=1) + 1) % 3
    assert not np.allclose(explainer.attribute(X, target=other), explainer.attribute(X))
    with pytest.raises(ValueError, match="one integer class index per image"):
        explainer.attribute(X, target=[0, 1])


def test_per_image_kept_fractions_and_their_errors(plain, tiny_data):
    X = tiny_data.images[:3]
    masks = GradientExplainer(plain, "saliency", kept_fraction=[0.1, 0.5, 1.0]).explain(X)
    np.testing.assert_allclose(masks.mean(axis=(1, 2)), [58 / 576, 0.5, 1.0])
    with pytest.raises(ValueError, match="3 images are explained"):
        GradientExplainer(plain, "saliency", kept_fraction=[0.1, 0.5]).explain(X)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        GradientExplainer(plain, "saliency", kept_fraction=[0.1, 0.5, 2.0]).explain(X)


def test_parameter_and_estimator_errors(plain, tiny_data):
    with pytest.raises(ValueError, match="'method' parameter of GradientExplainer"):
        GradientExplainer(plain, "lrp").explain(tiny_data.images[:2])
    with pytest.raises(Exception, match="not fitted"):
        GradientExplainer(clone(plain)).explain(tiny_data.images[:2])
    with pytest.raises(TypeError, match="explains a classifier of this package"):
        GradientExplainer(object()).explain(tiny_data.images[:2])
    with pytest.raises(ValueError, match="fitted on images of shape"):
        GradientExplainer(plain).explain(tiny_data.images[:2, :12, :12])


def test_gradient_explanations_work_with_metrics_and_plots(plain, tiny_data):
    import matplotlib

    matplotlib.use("Agg")
    explainer = GradientExplainer(plain, "saliency", kept_fraction=0.3)
    X = tiny_data.images[:8]
    details = explainer.explain(X, return_details=True)
    # Pixel by pixel in order of the map; insertion ends on the explanation's pixels.
    assert 0.0 <= insertion_auc(explainer, X, details=details) <= 1.0
    assert 0.0 <= deletion_auc(explainer, X, details=details) <= 1.0
    display = RegionProbabilityDisplay.from_estimator(explainer, X, n_images=2)
    expected = details.attributions[:2] / details.attributions[:2].max(axis=(1, 2),
                                                                         keepdims=True)
    np.testing.assert_allclose(display.heatmap_values_, expected, rtol=1e-6)
    assert ExplanationDisplay.from_estimator(explainer, X, n_images=2).axes_.shape[0] == 2


def test_p2p_and_blackbox_are_explained_by_their_classifier(fitted_p2p, tiny_data):
    X = tiny_data.images[:4]
    maps = GradientExplainer(fitted_p2p, "grad_cam").attribute(X)
    assert maps.shape == (4, 24, 24) and np.isfinite(maps).all()
    blackbox = BlackboxClassifier(superpixels=fitted_p2p.superpixels, max_epochs=1,
                                  verbose=0, random_state=0)
    blackbox.fit(tiny_data.images, tiny_data.target)
    details = GradientExplainer(blackbox, "input_x_gradient").explain(X, return_details=True)
    assert details.masks.shape == (4, 24, 24)


def test_integrated_gradients_start_from_the_baseline_image(plain, tiny_data):
    X = tiny_data.images[:2]
    black = GradientExplainer(plain, "integrated_gradients", n_steps=8).attribute(X)
    grey = GradientExplainer(plain, "integrated_gradients", n_steps=8,
                             baseline=0.5).attribute(X)
    assert not np.allclose(black, grey)
    # From the image itself there is no path: every attribution is 0.
    flat = np.full((1, 24, 24, 3), 0.5, dtype=np.float32)
    start_here = GradientExplainer(plain, "integrated_gradients", baseline=0.5)
    assert np.abs(start_here.attribute(flat)).max() < 1e-6


def test_skorch_batch_size_minus_one_means_one_batch(plain, tiny_data):
    X = tiny_data.images[:5]
    expected = GradientExplainer(plain, "saliency").attribute(X)
    whole = pickle.loads(pickle.dumps(plain))
    whole.batch_size = -1  # set directly: set_params would re-initialise the net
    np.testing.assert_allclose(GradientExplainer(whole, "saliency").attribute(X), expected,
                               rtol=1e-4, atol=1e-7)
