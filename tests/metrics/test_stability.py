import numpy as np
import pytest
from sklearn.utils import Bunch

from sklearn_p2p.metrics import relative_input_stability, relative_output_stability
from sklearn_p2p.models import BackboneClassifier


class MapExplainer:
    """A fake explainer: ``map_fn(X)`` is the map, ``logit_fn(X)`` the logits."""

    def __init__(self, map_fn, logit_fn=None):
        self.map_fn = map_fn
        self.logit_fn = logit_fn or (lambda X: np.stack([X.mean(axis=(1, 2)), 0 * X[:, 0, 0]], 1))
        self.calls = 0

    def explain(self, X, delta=None, return_details=False):
        X = np.asarray(X, dtype=float)
        self.calls += 1
        logits = self.logit_fn(X)
        proba = np.exp(logits - logits.max(axis=1, keepdims=True))
        proba /= proba.sum(axis=1, keepdims=True)
        maps = self.map_fn(X)
        return Bunch(masks=maps > np.median(maps), attributions=maps, proba=proba,
                     y_pred=proba.argmax(axis=1))


@pytest.fixture
def images():
    return np.random.RandomState(0).uniform(0.2, 0.8, size=(6, 10, 10))


def test_a_map_that_is_the_image_has_ris_one(images):
    explainer = MapExplainer(lambda X: X)
    per_image = relative_input_stability(explainer, images, normalize=False,
                                         random_state=0, average=False)
    assert per_image.shape == (6,)
    np.testing.assert_allclose(per_image, 0.0, atol=1e-5)
    assert explainer.calls == 2  # the given images, then every perturbation at once


def test_a_constant_map_is_perfectly_stable_and_a_noisy_one_is_not(images):
    constant = MapExplainer(lambda X: np.ones_like(X))
    assert relative_input_stability(constant, images, random_state=0) == -np.inf
    assert relative_output_stability(constant, images, random_state=0) == -np.inf
    rng = np.random.RandomState(1)
    noisy = MapExplainer(lambda X: rng.uniform(0.01, 1.0, size=X.shape))
    smooth = MapExplainer(lambda X: X)
    for metric in (relative_input_stability, relative_output_stability):
        noisy_score = metric(noisy, images, random_state=0)
        assert np.isfinite(noisy_score)
        assert noisy_score > metric(smooth, images, random_state=0) + 0.5


def test_ros_divides_by_the_change_of_the_logits(images):
    def logits(scale):
        return lambda X: np.stack([scale * X.mean(axis=(1, 2)), np.zeros(len(X))], axis=1)

    low = relative_output_stability(MapExplainer(lambda X: X, logits(1.0)), images,
                                    random_state=0, average=False)
    high = relative_output_stability(MapExplainer(lambda X: X, logits(10.0)), images,
                                     random_state=0, average=False)
    # Logits moving ten times as much: ROS one decade lower, image by image.
    np.testing.assert_allclose(high, low - 1.0, atol=1e-4)


def test_only_perturbations_that_keep_the_prediction_count(images):
    def flipping_logits(X):
        # Class 0 on the given images, class 1 on any perturbed copy.
        unchanged = np.isin(X.round(12), images.round(12)).all(axis=(1, 2))
        return np.stack([unchanged * 1.0, 1.0 - unchanged], axis=1)

    explainer = MapExplainer(lambda X: X, flipping_logits)
    per_image = relative_input_stability(explainer, images, random_state=0, average=False)
    assert np.isnan(per_image).all()
    with pytest.warns(RuntimeWarning, match="no perturbation kept the prediction"):
        assert np.isnan(relative_input_stability(explainer, images, random_state=0))


def test_results_follow_the_random_state(images):
    rng = np.random.RandomState(0)
    explainer = MapExplainer(lambda X: X ** 2 + 0.01 * rng.rand(*X.shape))
    a = relative_input_stability(explainer, images, random_state=3, average=False)
    explainer_again = MapExplainer(lambda X: X ** 2)
    b = relative_input_stability(explainer_again, images, random_state=3)
    c = relative_input_stability(explainer_again, images, random_state=3)
    assert b == c and a.shape == (6,)


def test_a_package_classifier_with_a_value_range(tiny_data):
    X = tiny_data.images[:6].astype(np.float32) / 255
    clf = BackboneClassifier(max_epochs=1, batch_size=16, random_state=0, verbose=0)
    clf.fit(tiny_data.images, tiny_data.target)
    expected = relative_output_stability(clf, X, random_state=0, average=False)
    clf.value_range = (0, 255)  # the same network, reading [0, 255] floats
    got = relative_output_stability(clf, X * 255, random_state=0, average=False)
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert np.isfinite(expected).any()


@pytest.mark.parametrize("params, match", [
    ({"noise_level": 0}, "noise_level"),
    ({"noise_level": "high"}, "noise_level"),
    ({"n_perturbations": 0}, "n_perturbations"),
    ({"eps_min": -1.0}, "eps_min"),
])
def test_bad_parameters(images, params, match):
    with pytest.raises(ValueError, match=match):
        relative_input_stability(MapExplainer(lambda X: X), images, **params)


def test_estimators_without_the_protocol_or_maps_are_rejected(images):
    with pytest.raises(TypeError, match="lacks explain"):
        relative_input_stability(object(), images)

    class MasksOnly:
        def explain(self, X, delta=None, return_details=False):
            return Bunch(masks=np.ones(np.shape(X), bool))

    with pytest.raises(ValueError, match="attributions"):
        relative_output_stability(MasksOnly(), images)
    flat = MapExplainer(lambda X: X.reshape(len(X), -1))
    with pytest.raises(ValueError, match=r"shape \(n_images, H, W\)"):
        relative_input_stability(flat, images)
