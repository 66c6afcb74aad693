"""ExplainedClassifier: a classifier and its explainer, fitted fold by fold."""

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_p2p import SuperpixelTransformer
from sklearn_p2p.baselines import BlackboxClassifier
from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.explainers import AGOPExplainer, ExplainedClassifier, GradientExplainer
from sklearn_p2p.metrics import localization_scorer, top_k_precision_score, top_k_precision_scorer


@pytest.fixture(scope="module")
def data():
    return make_cluttered_objects(n_samples=24, image_size=16, n_classes=2, random_state=0)


def _blackbox(**params):
    return BlackboxClassifier(
        superpixels=SuperpixelTransformer(n_segments=8), max_epochs=2, verbose=0,
        random_state=0, **params)


def test_fit_pairs_a_fitted_clone_with_the_explainer(data):
    explainer = GradientExplainer(None, method="saliency", kept_fraction=0.2)
    model = ExplainedClassifier(_blackbox(), explainer).fit(data.images, data.target)
    assert model.explainer_.estimator is model.estimator_
    assert explainer.estimator is None  # what the user passed is left alone
    assert not hasattr(model.estimator, "module_")
    np.testing.assert_array_equal(model.classes_, model.estimator_.classes_)
    np.testing.assert_array_equal(model.predict(data.images), model.estimator_.predict(data.images))
    details = model.explain(data.images, return_details=True)
    np.testing.assert_allclose(
        details.attributions, explainer.set_params(estimator=model.estimator_).attribute(data.images))
    assert details.masks.mean() == pytest.approx(0.2, abs=0.01)
    np.testing.assert_allclose(
        model.predict_proba_masked(data.images, details.masks),
        model.estimator_.predict_proba_masked(data.images, details.masks))


def test_an_explainer_that_learns_is_fitted_on_the_training_images(data):
    model = ExplainedClassifier(_blackbox(), AGOPExplainer(None)).fit(data.images, data.target)
    expected = AGOPExplainer(model.estimator_).fit(data.images).agop_diagonal_
    np.testing.assert_allclose(model.explainer_.agop_diagonal_, expected, rtol=1e-5)


def test_without_explainer_the_classifier_explains_itself(data, make_p2p):
    model = ExplainedClassifier(make_p2p(max_epochs=1)).fit(data.images, data.target)
    assert model.explainer_ is model.estimator_
    np.testing.assert_array_equal(model.explain(data.images), model.estimator_.explain(data.images))


def test_bad_pairings_are_named_before_any_training():
    with pytest.raises(TypeError, match="no explain method; pass a post-hoc explainer"):
        ExplainedClassifier(BlackboxLike()).fit(np.zeros((2, 4, 4)), [0, 1])
    with pytest.raises(TypeError, match="explainer must be an explainer"):
        ExplainedClassifier(_blackbox(), explainer="integrated_gradients").fit(
            np.zeros((2, 4, 4)), [0, 1])
    with pytest.raises(TypeError, match="estimator must be a classifier"):
        ExplainedClassifier(object()).fit(np.zeros((2, 4, 4)), [0, 1])


class BlackboxLike:
    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return np.ones((len(X), 2)) / 2


def test_one_grid_search_compares_models_and_explainers(data, make_p2p):
    """The documented recipe: one GridSearchCV over several methods, masks routed."""
    blackbox = _blackbox()
    grid = [
        {"estimator": [make_p2p(max_epochs=1)], "explainer": [None]},
        {"estimator": [blackbox],
         "explainer": [GradientExplainer(None, method="saliency"),
                       GradientExplainer(None, method="integrated_gradients")]},
    ]
    cv = KFold(2, shuffle=True, random_state=0)
    with config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            ExplainedClassifier(blackbox), grid, cv=cv, refit=False,
            scoring={"accuracy": "accuracy", "top_k": top_k_precision_scorer,
                     "localization": localization_scorer},
        ).fit(data.images, data.target, masks=data.masks)
    results = search.cv_results_
    assert len(results["params"]) == 3
    for key in ("mean_test_accuracy", "mean_test_top_k", "mean_test_localization"):
        assert np.all((results[key] >= 0) & (results[key] <= 1))
    # The score of a candidate is what its explanation of the fold gives.
    train, test = next(cv.split(data.images))
    candidate = clone(ExplainedClassifier(blackbox)).set_params(**results["params"][2])
    candidate.fit(data.images[train], data.target[train])
    details = candidate.explain(data.images[test], return_details=True)
    assert results["split0_test_top_k"][2] == pytest.approx(
        top_k_precision_score(details.attributions, data.masks[test]))
