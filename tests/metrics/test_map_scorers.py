"""The scorers of attribution maps and of stability, on an explainer stub."""

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import KFold, cross_validate
from sklearn.utils import Bunch
from sklearn.utils.metadata_routing import get_routing_for_object

from sklearn_p2p.metrics import (
    pointing_game_score,
    pointing_game_scorer,
    relative_input_stability,
    relative_input_stability_scorer,
    relative_output_stability,
    relative_output_stability_scorer,
    relevance_mass_score,
    relevance_mass_scorer,
    sparseness_score,
    sparseness_scorer,
    top_k_iou_score,
    top_k_iou_scorer,
    top_k_precision_score,
    top_k_precision_scorer,
)

MAP_SCORERS = {
    "top_k_precision": (top_k_precision_scorer, top_k_precision_score),
    "top_k_iou": (top_k_iou_scorer, top_k_iou_score),
    "relevance_mass": (relevance_mass_scorer, relevance_mass_score),
    "pointing_game": (pointing_game_scorer, pointing_game_score),
}


class MapExplainer(ClassifierMixin, BaseEstimator):
    """Explains every image by the image itself (a map of its pixel values).

    Its probabilities follow the mean brightness; it has no
    ``predict_proba_masked``, which the map scorers must not need.
    """

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_explain_ = 0
        return self

    def predict_proba(self, X):
        brightness = np.asarray(X, dtype=float).mean(axis=(1, 2))
        return np.stack([brightness, 1.0 - brightness], axis=1)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def explain(self, X, delta=None, return_details=False):
        self.n_explain_ += 1
        X = np.asarray(X, dtype=float)
        return Bunch(masks=X > 0.5, attributions=X.copy(), proba=self.predict_proba(X))


def _data(n=12, size=6, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(0.1, 0.4, size=(n, size, size))
    masks = np.zeros((n, size, size), dtype=bool)
    masks[:, 1:3, 1:3] = True
    X[:, 1:3, 1:3] += rng.uniform(0.0, 0.5, size=(n, 2, 2))  # the object is brighter
    X[::3, 4, 4] = 0.99  # a third of the maps peak outside the object
    y = np.arange(n) % 2
    return X, y, masks


@pytest.mark.parametrize("name", MAP_SCORERS)
def test_map_scorers_score_the_attributions_against_the_masks(name):
    scorer, metric = MAP_SCORERS[name]
    X, y, masks = _data()
    model = MapExplainer().fit(X, y)
    assert scorer(model, X, y, masks=masks) == pytest.approx(metric(X, masks))
    assert model.n_explain_ == 1
    assert get_routing_for_object(scorer).consumes("score", ["masks"]) == {"masks"}
    with pytest.raises(ValueError, match="needs the ground-truth object masks"):
        scorer(model, X, y)


def test_the_stub_is_not_trivially_perfect():
    X, y, masks = _data()
    assert 0.0 < pointing_game_score(X, masks) < 1.0
    assert 0.0 < relevance_mass_score(X, masks) < 1.0


def test_sparseness_scorer_needs_no_masks():
    X, y, _ = _data()
    model = MapExplainer().fit(X, y)
    assert sparseness_scorer(model, X, y) == pytest.approx(sparseness_score(X))
    assert get_routing_for_object(sparseness_scorer).consumes("score", ["masks"]) == set()


@pytest.mark.parametrize("scorer, metric", [
    (relative_input_stability_scorer, relative_input_stability),
    (relative_output_stability_scorer, relative_output_stability),
])
def test_stability_scorers_are_negated_seeded_and_explain_the_clean_images_once(scorer, metric):
    X, y, _ = _data()
    model = MapExplainer().fit(X, y)
    score = scorer(model, X, y)
    # The clean images once, the noisy copies once.
    assert model.n_explain_ == 2
    assert score == pytest.approx(-metric(model, X, random_state=0))
    assert scorer(model, X, y) == score


def test_stability_reuses_given_details():
    X, y, _ = _data()
    model = MapExplainer().fit(X, y)
    details = model.explain(X, return_details=True)
    model.n_explain_ = 0
    with_details = relative_input_stability(model, X, details=details, random_state=0)
    assert model.n_explain_ == 1
    assert with_details == pytest.approx(relative_input_stability(model, X, random_state=0))
    with pytest.raises(ValueError, match="attributions"):
        relative_input_stability(model, X, details=Bunch(masks=details.masks))


def test_map_scorers_in_cross_validate_get_each_folds_masks():
    X, y, masks = _data(n=18)
    masks[::2, 4:, 4:] = True  # masks differ between images
    cv = KFold(3, shuffle=True, random_state=0)
    with config_context(enable_metadata_routing=True):
        result = cross_validate(
            MapExplainer(), X, y, cv=cv, return_indices=True,
            scoring={"relevance": relevance_mass_scorer, "top_k": top_k_precision_scorer},
            params={"masks": masks},
        )
    for fold, test in enumerate(result["indices"]["test"]):
        assert result["test_relevance"][fold] == pytest.approx(
            relevance_mass_score(X[test], masks[test]))
        assert result["test_top_k"][fold] == pytest.approx(
            top_k_precision_score(X[test], masks[test]))


def test_map_scorers_say_when_the_explanation_has_no_attributions():
    class MasksOnly(MapExplainer):
        def explain(self, X, delta=None, return_details=False):
            return Bunch(masks=np.asarray(X) > 0.5)

    X, y, masks = _data()
    model = MasksOnly().fit(X, y)
    with pytest.raises(ValueError, match="needs \\['attributions'\\]"):
        relevance_mass_scorer(model, X, y, masks=masks)
    with pytest.raises(ValueError, match="needs \\['attributions'\\]"):
        sparseness_scorer(model, X, y)
