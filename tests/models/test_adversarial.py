import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_p2p.models import BackboneClassifier, SmoothedAdversarialClassifier
from sklearn_p2p.models._adversarial import is_adversarial_batch
from sklearn_p2p.nn import GaussianSmoothing

FAST = dict(n_steps=2, max_epochs=1, batch_size=16, random_state=0, verbose=0)


def _blocks(clf):
    return [m for m in clf.module_.modules() if isinstance(m, GaussianSmoothing)]


def _adversarial_flags(clf):
    return [batch["adversarial"] for epoch in clf.history for batch in epoch["batches"]]


@pytest.fixture(scope="module")
def fitted(tiny_data):
    return SmoothedAdversarialClassifier(**FAST).fit(tiny_data.images, tiny_data.target)


def test_fit_predict_explain(fitted, tiny_data):
    X = tiny_data.images[:5]
    assert fitted.predict(X).shape == (5,)
    assert set(fitted.classes_) == set(tiny_data.target)
    details = fitted.explain(X, return_details=True)
    assert details.attributions.shape == details.masks.shape == (5, 24, 24)
    assert (details.attributions >= 0).all() and details.attributions.max() > 0
    np.testing.assert_allclose(details.masks.mean(axis=(1, 2)), 0.25, atol=1 / 576)
    np.testing.assert_allclose(details.proba, fitted.predict_proba(X), atol=1e-5)
    assert len(_blocks(fitted)) == 1
    assert _adversarial_flags(fitted) == [True] * 3  # 48 images in batches of 16


@pytest.fixture(scope="module")
def standard(tiny_data):
    clf = SmoothedAdversarialClassifier(eps=0, smoothing=False, **FAST)
    return clf.fit(tiny_data.images, tiny_data.target)


def test_standard_setting_trains_exactly_like_the_backbone_classifier(standard, tiny_data):
    X, y = tiny_data.images, tiny_data.target
    fast = {k: v for k, v in FAST.items() if k != "n_steps"}
    backbone = BackboneClassifier(**fast).fit(X, y)
    assert _blocks(standard) == [] and not any(_adversarial_flags(standard))
    np.testing.assert_allclose(standard.predict_proba(X), backbone.predict_proba(X), atol=1e-6)


def test_adversarial_training_without_smoothing_differs_from_standard(standard, tiny_data):
    X, y = tiny_data.images, tiny_data.target
    adversarial = SmoothedAdversarialClassifier(smoothing=False, **FAST).fit(X, y)
    assert _blocks(adversarial) == [] and all(_adversarial_flags(adversarial))
    assert not np.allclose(adversarial.predict_proba(X), standard.predict_proba(X))


def test_adversarial_examples_respect_eps_and_the_pixel_range(fitted, tiny_data):
    X = torch.as_tensor(tiny_data.images[:8], dtype=torch.float32) / 255
    y = torch.as_tensor(np.searchsorted(fitted.classes_, tiny_data.target[:8]))
    X_adv = fitted.adversarial_examples(X, y)
    assert (X_adv - X).abs().max() <= fitted.eps + 1e-6
    assert X_adv.min() >= 0 and X_adv.max() <= 1
    assert not torch.equal(X_adv, X)


@pytest.mark.parametrize("share, expected", [
    (0.5, [False, True, False, True, False, True]),
    (1 / 3, [False, False, True, False, False, True]),
    (0.0, [False] * 6),
    (1.0, [True] * 6),
])
def test_adversarial_share_picks_evenly_spread_batches(share, expected):
    assert [is_adversarial_batch(k, share) for k in range(6)] == expected


def test_adversarial_share_is_applied_over_the_whole_fit(tiny_data):
    clf = SmoothedAdversarialClassifier(adversarial_share=0.5, smoothing=False,
                                        **{**FAST, "max_epochs": 2})
    clf.fit(tiny_data.images, tiny_data.target)  # 3 batches an epoch, 2 epochs
    assert _adversarial_flags(clf) == [False, True, False, True, False, True]


def test_clone_get_params_set_params(fitted):
    params = fitted.get_params()
    for name, value in [("eps", 8 / 255), ("step_size", 2 / 255), ("n_steps", 2),
                        ("adversarial_share", 1.0), ("smoothing", True),
                        ("smoothing_stage", 0), ("smoothing_sigma", 1.0)]:
        assert params[name] == value
    copy = clone(fitted)
    assert copy.get_params()["n_steps"] == 2 and not hasattr(copy, "module_")
    copy.set_params(eps=0.0, smoothing_stage=2)
    assert copy.eps == 0.0 and copy.smoothing_stage == 2


def test_smoothing_stage_and_sigma_reach_the_network(tiny_data):
    clf = SmoothedAdversarialClassifier(
        eps=0, smoothing_stage=2, smoothing_sigma=0.5, max_epochs=1, batch_size=48,
        random_state=0, verbose=0,
    ).fit(tiny_data.images, tiny_data.target)
    (block,) = _blocks(clf)
    assert clf.module_.classifier.features.stages[2][1] is block
    assert block.sigma == 0.5 and block.channels == 64


def test_pickle_round_trip(fitted, tiny_data):
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(
        restored.predict_proba(tiny_data.images[:6]), fitted.predict_proba(tiny_data.images[:6])
    )


def test_grid_search_over_eps(tiny_data):
    search = GridSearchCV(
        SmoothedAdversarialClassifier(n_steps=1, max_epochs=1, batch_size=16,
                                      random_state=0, verbose=0),
        {"eps": [0.0, 4 / 255]}, cv=2,
    ).fit(tiny_data.images, tiny_data.target)
    assert search.best_params_["eps"] in (0.0, 4 / 255)
    assert len(search.cv_results_["mean_test_score"]) == 2


def test_smoothing_stage_out_of_range_fails_before_any_torch_work(tiny_data):
    clf = SmoothedAdversarialClassifier(smoothing_stage=3, **FAST)
    with pytest.raises(ValueError, match="'tiny_cnn', which has 3 stages"):
        clf.fit(tiny_data.images, tiny_data.target)
    assert not hasattr(clf, "module_")
    with pytest.raises(ValueError, match="'resnet18', which has 5 stages"):
        SmoothedAdversarialClassifier(classifier="resnet18", smoothing_stage=5, **FAST).fit(
            tiny_data.images, tiny_data.target)
    # Without smoothing the stage is not used.
    SmoothedAdversarialClassifier(smoothing=False, smoothing_stage=9, eps=0, max_epochs=1,
                                  batch_size=48, verbose=0).fit(tiny_data.images,
                                                                tiny_data.target)


@pytest.mark.parametrize("params", [
    {"eps": -0.1}, {"step_size": 0.0}, {"n_steps": 0}, {"adversarial_share": 1.5},
    {"smoothing": "yes"}, {"smoothing_stage": -1}, {"smoothing_sigma": 0.0},
])
def test_invalid_parameters_are_rejected(params, tiny_data):
    clf = SmoothedAdversarialClassifier(**{**FAST, **params})
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        clf.fit(tiny_data.images, tiny_data.target)
