import pickle

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch
from sklearn.utils.metadata_routing import get_routing_for_object

from sklearn_p2p import SuperpixelTransformer
from sklearn_p2p.metrics import (
    deletion_auc,
    deletion_auc_scorer,
    insertion_auc,
    insertion_auc_scorer,
    kept_fraction_score,
    kept_fraction_scorer,
    localization_score,
    localization_scorer,
    make_explanation_scorer,
)


class StubExplainer(ClassifierMixin, BaseEstimator):
    """Estimator with the explanation protocol whose image ``i`` is filled with ``i``.

    Its explanation keeps the left half of every image; its classifier
    always predicts the first class. It counts the explanations it makes.
    """

    def __init__(self, param=1):
        self.param = param

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_explain_ = 0
        self.deltas_ = []
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def explain(self, X, delta=None, return_details=True):
        self.n_explain_ += 1
        self.deltas_.append(delta)
        X = np.asarray(X)
        n, h, w = X.shape
        masks = np.zeros((n, h, w), dtype=bool)
        masks[:, :, : w // 2] = True
        segments = np.broadcast_to(np.arange(w) // 2, (n, h, w)).copy()
        return Bunch(masks=masks, segments=segments,
                     region_probs=np.ones((n, w // 2)),
                     tau=np.full(n, 0.5))

    def predict_proba_masked(self, X, masks):
        proba = np.zeros((len(X), len(self.classes_)))
        proba[:, 0] = 1.0
        return proba


def _stub_data(n=12, size=4, seed=0):
    rng = np.random.default_rng(seed)
    X = np.broadcast_to(np.arange(n, dtype=float)[:, None, None], (n, size, size)).copy()
    y = np.arange(n) % 2
    masks = rng.uniform(size=(n, size, size)) < 0.5
    return X, y, masks


def _spy_scorer():
    """Scorer recording the image ids and masks it is given."""
    received = []

    def spy(estimator, X, *, details, masks):
        received.append((np.asarray(X)[:, 0, 0].astype(int), np.asarray(masks)))
        return 0.0

    return make_explanation_scorer(spy, requires_masks=True), received


def test_masks_arrive_sliced_to_the_test_fold():
    X, y, masks = _stub_data()
    scorer, received = _spy_scorer()
    cv = KFold(3, shuffle=True, random_state=0)
    with config_context(enable_metadata_routing=True):
        result = cross_validate(
            StubExplainer(), X, y, cv=cv, return_indices=True,
            scoring={"accuracy": "accuracy", "spy": scorer},
            params={"masks": masks},
        )
    test_folds = result["indices"]["test"]
    assert len(received) == len(test_folds) == 3
    for (ids, got), test in zip(received, test_folds):
        np.testing.assert_array_equal(ids, test)
        np.testing.assert_array_equal(got, masks[test])


def test_masks_arrive_sliced_in_grid_search():
    X, y, masks = _stub_data()
    scorer, received = _spy_scorer()
    cv = KFold(3, shuffle=True, random_state=0)
    with config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            StubExplainer(), {"param": [1, 2]}, cv=cv, refit="accuracy",
            scoring={"accuracy": "accuracy", "spy": scorer},
        ).fit(X, y, masks=masks)
    assert len(received) == 2 * 3
    test_folds = [sorted(test) for _, test in cv.split(X)]
    for ids, got in received:
        assert sorted(ids) in test_folds
        np.testing.assert_array_equal(got, masks[ids])
    assert search.best_params_ == {"param": 1}


def test_localization_scorer_requests_masks():
    routing = get_routing_for_object(localization_scorer)
    assert routing.consumes("score", ["masks", "sample_weight"]) == {"masks"}
    for scorer in (insertion_auc_scorer, deletion_auc_scorer, kept_fraction_scorer):
        assert get_routing_for_object(scorer).consumes("score", ["masks"]) == set()


def test_scorers_explain_once_and_follow_the_sign_convention():
    X, y, masks = _stub_data()
    stub = StubExplainer().fit(X, y)
    expected = {
        "localization": localization_score(stub.explain(X).masks, masks),
        # The constant classifier keeps its prediction: both curves are 1.
        "insertion": insertion_auc(stub, X),
        "deletion": -deletion_auc(stub, X),
        "kept": -kept_fraction_score(stub.explain(X).masks),
    }
    assert expected["deletion"] == -1.0 and expected["kept"] == -0.5
    scorers = {
        "localization": localization_scorer,
        "insertion": insertion_auc_scorer,
        "deletion": deletion_auc_scorer,
        "kept": kept_fraction_scorer,
    }
    for name, scorer in scorers.items():
        before = stub.n_explain_
        # Non-localization scorers ignore masks (as passed without routing).
        assert scorer(stub, X, y, masks=masks) == pytest.approx(expected[name])
        assert stub.n_explain_ == before + 1
    assert "greater_is_better=False" in repr(deletion_auc_scorer)
    assert "greater_is_better=False" in repr(kept_fraction_scorer)
    assert "greater_is_better" not in repr(insertion_auc_scorer)


def test_localization_scorer_needs_masks():
    X, y, _ = _stub_data()
    stub = StubExplainer().fit(X, y)
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        localization_scorer(stub, X, y)
    with pytest.raises(ValueError, match=r"masks of shape \(3, 4, 4\) for 12 images"):
        localization_scorer(stub, X, y, masks=np.ones((3, 4, 4), bool))
    with pytest.raises(TypeError, match="sample_weight"):
        insertion_auc_scorer(stub, X, y, sample_weight=np.ones(len(X)))


def test_make_explanation_scorer_forwards_delta_and_kwargs():
    X, y, _ = _stub_data()
    stub = StubExplainer().fit(X, y)

    def mean_tau_plus(estimator, X, *, details, offset):
        assert estimator is stub
        return details.tau.mean() + offset

    scorer = make_explanation_scorer(mean_tau_plus, greater_is_better=False,
                                     delta=0.7, offset=1.0)
    assert scorer(stub, X, y) == pytest.approx(-1.5)
    assert stub.deltas_ == [0.7]
    assert "delta=0.7" in repr(scorer) and "offset=1.0" in repr(scorer)


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (("not callable",), {}, TypeError, "callable"),
        ((insertion_auc,), {"greater_is_better": 1}, ValueError, "greater_is_better"),
        ((insertion_auc,), {"requires_masks": "yes"}, ValueError, "requires_masks"),
        ((insertion_auc,), {"requires_masks": True, "masks": 0}, ValueError, "metadata"),
    ],
)
def test_make_explanation_scorer_validates(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        make_explanation_scorer(*args, **kwargs)


def test_scorers_pickle():
    # n_jobs > 1 ships scorers to worker processes.
    for scorer in (localization_scorer, insertion_auc_scorer,
                   deletion_auc_scorer, kept_fraction_scorer):
        clone = pickle.loads(pickle.dumps(scorer))
        assert repr(clone) == repr(scorer)
        assert clone.get_metadata_routing().consumes("score", ["masks"]) == (
            scorer.get_metadata_routing().consumes("score", ["masks"])
        )


# -- the real model -----------------------------------------------------------


@pytest.fixture(scope="module")
def small_data(tiny_data):
    n = 24
    return Bunch(images=tiny_data.images[:n], target=tiny_data.target[:n],
                 masks=tiny_data.masks[:n])


@pytest.fixture(scope="module")
def fitted_pipe(small_data, make_p2p):
    pipe = make_pipeline(SuperpixelTransformer(n_segments=16),
                         make_p2p(superpixels="precomputed", max_epochs=1))
    return pipe.fit(small_data.images, small_data.target)


def test_scorers_in_cross_validate_on_the_bare_estimator(small_data, make_p2p):
    X, masks = small_data.images, small_data.masks
    scoring = {
        "accuracy": "accuracy",
        "localization": localization_scorer,
        "insertion": insertion_auc_scorer,
        "deletion": deletion_auc_scorer,
        "kept": kept_fraction_scorer,
    }
    with config_context(enable_metadata_routing=True):
        result = cross_validate(
            make_p2p(max_epochs=1), X, small_data.target, cv=2,
            scoring=scoring, params={"masks": masks},
            return_estimator=True, return_indices=True,
        )
    assert ((result["test_localization"] >= 0) & (result["test_localization"] <= 1)).all()
    assert ((result["test_insertion"] >= 0) & (result["test_insertion"] <= 1)).all()
    assert ((result["test_deletion"] >= -1) & (result["test_deletion"] <= 0)).all()
    assert ((result["test_kept"] >= -1) & (result["test_kept"] < 0)).all()
    # The score is the metric on this fold's explanations and masks.
    for est, test, score in zip(result["estimator"], result["indices"]["test"],
                                result["test_localization"]):
        assert score == pytest.approx(localization_score(est.explain(X[test]), masks[test]))


def test_scorers_in_grid_search_on_the_pipeline(small_data, make_p2p):
    pipe = make_pipeline(SuperpixelTransformer(n_segments=16),
                         make_p2p(superpixels="precomputed", max_epochs=1))
    scoring = {"accuracy": "accuracy", "localization": localization_scorer,
               "deletion": deletion_auc_scorer}
    with config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            pipe, {"p2pclassifier__delta": [0.5, 0.99]}, cv=2, refit=False,
            scoring=scoring,
        ).fit(small_data.images, small_data.target, masks=small_data.masks)
    results = search.cv_results_
    assert ((results["mean_test_localization"] >= 0)
            & (results["mean_test_localization"] <= 1)).all()
    assert ((results["mean_test_deletion"] >= -1)
            & (results["mean_test_deletion"] <= 0)).all()


def test_scorers_on_the_pipeline_use_its_last_step(fitted_pipe, small_data):
    X, masks = small_data.images[:12], small_data.masks[:12]
    clf, Xt = fitted_pipe[-1], fitted_pipe[:-1].transform(X)
    assert localization_scorer(fitted_pipe, X, masks=masks) == pytest.approx(
        localization_score(clf.explain(Xt), masks)
    )
    assert insertion_auc_scorer(fitted_pipe, X) == pytest.approx(insertion_auc(clf, Xt))
    assert insertion_auc(fitted_pipe, X) == pytest.approx(insertion_auc(clf, Xt))
    assert kept_fraction_scorer(fitted_pipe, X) == pytest.approx(
        -clf.explain(Xt).mean()
    )
