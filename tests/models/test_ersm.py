"""ERSMClassifier: the energy-regularised loss, the estimator API, explanations, errors."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklearn_p2p.models import ERSMClassifier
from sklearn_p2p.nn import ERSMNetwork

TERMS = ("cross_entropy", "keep_probability", "disagreement")


def make_ersm(**params):
    defaults = dict(max_epochs=3, batch_size=16, lr=3e-3, random_state=0, verbose=0,
                    device="cpu")
    return ERSMClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def fitted_ersm(tiny_data):
    return make_ersm(unary_weight=0.1, pairwise_weight=0.1).fit(tiny_data.images,
                                                                 tiny_data.target)


def test_fit_predict_explain(fitted_ersm, tiny_data):
    X = tiny_data.images[:5]
    assert set(fitted_ersm.predict(X)) <= set(tiny_data.target)
    proba = fitted_ersm.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    details = fitted_ersm.explain(X, return_details=True)
    assert set(details) == {"masks", "attributions", "proba", "y_pred", "kept_fraction", "empty",
                            "keep_probability", "feature_energy"}
    assert details.masks.shape == details.attributions.shape == (5, 24, 24)
    assert details.masks.dtype == bool
    np.testing.assert_allclose(details.masks.mean(axis=(1, 2)), 0.25, atol=0.01)
    # 24 px through the tiny CNN's two poolings: a 6x6 feature map.
    assert details.keep_probability.shape == details.feature_energy.shape == (5, 6, 6)
    np.testing.assert_allclose(details.proba, proba, rtol=1e-5)
    np.testing.assert_array_equal(fitted_ersm.explain(X), details.masks)


def test_attributions_are_the_keep_probability_upsampled_bilinearly(fitted_ersm, tiny_data):
    details = fitted_ersm.explain(tiny_data.images[:4], return_details=True)
    keep = torch.as_tensor(details.keep_probability).unsqueeze(1)
    expected = torch.nn.functional.interpolate(keep, size=(24, 24), mode="bilinear",
                                               align_corners=False)[:, 0]
    np.testing.assert_allclose(details.attributions, expected.numpy(), rtol=1e-6)
    # The top pixels of the map lie where the mask keeps most.
    best = details.keep_probability.reshape(4, -1).argmax(axis=1)
    rows, cols = np.unravel_index(best, (6, 6))
    assert all(details.masks[i, 4 * r + 1:4 * r + 3, 4 * c + 1:4 * c + 3].all()
               for i, (r, c) in enumerate(zip(rows, cols)))


def test_feature_energy_ranks_like_the_keep_probability(fitted_ersm, tiny_data):
    details = fitted_ersm.explain(tiny_data.images[:4], return_details=True)
    for keep, energy in zip(details.keep_probability, details.feature_energy):
        # q is one mean-field step behind sigmoid(-energy): nearly the same order.
        assert np.corrcoef(keep.ravel(), -energy.ravel())[0, 1] > 0.9


def test_module_gets_the_mask_parameters(tiny_data):
    clf = make_ersm(coherence=0.1, n_steps=2, temperature=0.5, max_epochs=1)
    mask = clf.fit(tiny_data.images[:16], tiny_data.target[:16]).module_.classifier.mask
    assert (mask.coherence, mask.n_steps, mask.temperature) == (0.1, 2, 0.5)


def test_loss_is_cross_entropy_plus_the_weighted_terms(fitted_ersm):
    clf = fitted_ersm  # unary_weight = pairwise_weight = 0.1
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    y = torch.tensor([0, 2])
    keep, disagreement = torch.tensor([0.2, 0.6]), torch.tensor([0.01, 0.03])
    cross_entropy = torch.nn.functional.cross_entropy(logits, y)
    loss = clf.get_loss((logits, keep, disagreement), y, training=False)
    assert loss.item() == pytest.approx(cross_entropy.item() + 0.1 * 0.4 + 0.1 * 0.02)
    # Evaluation mode gives logits alone: the validation loss is the cross-entropy.
    assert clf.get_loss(logits, y).item() == pytest.approx(cross_entropy.item())


def test_a_sparsity_cost_lowers_the_keep_probability(tiny_data):
    X, y = tiny_data.images, tiny_data.target
    mean_keep = {}
    for weight in (0.0, 1.0):
        clf = make_ersm(unary_weight=weight, pairwise_weight=0.0).fit(X, y)
        mean_keep[weight] = clf.explain(X, return_details=True).keep_probability.mean()
    assert mean_keep[1.0] < mean_keep[0.0] - 0.05


def test_history_records_the_terms_per_batch_and_per_epoch(fitted_ersm, capsys):
    batches = fitted_ersm.history[-1, "batches"]
    assert len(batches) == 3  # 48 images in batches of 16
    for batch in batches:
        values = np.array([batch[name] for name in TERMS])
        assert np.isfinite(values).all() and (values >= 0).all()
        expected = (batch["cross_entropy"] + 0.1 * batch["keep_probability"]
                    + 0.1 * batch["disagreement"])
        assert batch["train_loss"] == pytest.approx(expected, rel=1e-5)
    for name in TERMS:
        assert fitted_ersm.history[-1, name] == pytest.approx(
            np.mean([b[name] for b in batches]))


def test_validation_loss_is_the_cross_entropy(tiny_data):
    from skorch.dataset import ValidSplit

    clf = make_ersm(max_epochs=1, train_split=ValidSplit(4, stratified=True))
    clf.fit(tiny_data.images, tiny_data.target)
    assert np.isfinite(clf.history[-1, "valid_loss"])
    assert 0 <= clf.history[-1, "valid_acc"] <= 1


def test_get_params_clone_and_set_params(fitted_ersm):
    params = fitted_ersm.get_params()
    expected = {"unary_weight": 0.1, "pairwise_weight": 0.1, "coherence": 0.2,
                "n_steps": 5, "temperature": 1.0, "classifier": "tiny_cnn",
                "module": ERSMNetwork}
    assert expected.items() <= params.items()
    copy = clone(fitted_ersm)
    assert not hasattr(copy, "module_")
    assert expected.items() <= copy.get_params().items()
    assert copy.set_params(coherence=0.0, n_steps=1).get_params()["n_steps"] == 1


def test_pickle_round_trip_keeps_predictions(fitted_ersm, tiny_data):
    X = tiny_data.images[:8]
    restored = pickle.loads(pickle.dumps(fitted_ersm))
    np.testing.assert_allclose(restored.predict_proba(X), fitted_ersm.predict_proba(X),
                               rtol=1e-6)
    np.testing.assert_array_equal(restored.explain(X), fitted_ersm.explain(X))


def test_grid_search_over_the_coherence(tiny_data):
    search = GridSearchCV(make_ersm(max_epochs=1), {"coherence": [0.0, 0.2]}, cv=2)
    search.fit(tiny_data.images, tiny_data.target)
    assert search.best_params_["coherence"] in (0.0, 0.2)
    assert len(search.cv_results_["mean_test_score"]) == 2


def test_predict_proba_masked_goes_through_the_mask(fitted_ersm, tiny_data):
    X = tiny_data.images[:4]
    everything = np.ones((4, 24, 24), dtype=bool)
    np.testing.assert_allclose(fitted_ersm.predict_proba_masked(X, everything),
                               fitted_ersm.predict_proba(X), rtol=1e-5)
    # All black: every image looks the same to the classifier.
    black = fitted_ersm.predict_proba_masked(X, ~everything)
    np.testing.assert_allclose(black, np.broadcast_to(black[0], black.shape), rtol=1e-5)


def test_gradient_explainers_differentiate_the_masked_network(fitted_ersm, tiny_data):
    pytest.importorskip("captum")
    from sklearn_p2p.explainers import GradientExplainer

    for method in ("saliency", "grad_cam"):
        details = GradientExplainer(fitted_ersm, method=method).explain(
            tiny_data.images[:3], return_details=True)
        assert details.attributions.shape == (3, 24, 24)
        assert np.isfinite(details.attributions).all() and details.attributions.max() > 0


@pytest.mark.parametrize("param, value", [
    ("unary_weight", -1.0),
    ("pairwise_weight", -0.1),
    ("coherence", -0.5),
    ("n_steps", -1),
    ("n_steps", 2.5),
    ("temperature", 0.0),
    ("classifier", "resnet_18"),
])
def test_bad_parameters_fail_before_any_training(tiny_data, param, value):
    clf = make_ersm(**{param: value})
    with pytest.raises((ValueError, TypeError), match=param):
        clf.fit(tiny_data.images, tiny_data.target)
    assert not getattr(clf, "initialized_", False)


def test_timm_backbone_fits(tiny_data):
    clf = make_ersm(classifier="resnet18", max_epochs=1)
    clf.fit(tiny_data.images[:16], tiny_data.target[:16])
    details = clf.explain(tiny_data.images[:2], return_details=True)
    # resnet18 reduces 24 px to a single feature position.
    assert details.keep_probability.shape == (2, 1, 1)
    assert clf.module_.classifier.pooling == "avg"
    assert details.masks.shape == (2, 24, 24)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fits_and_explains_on_cuda(tiny_data):
    X, y = tiny_data.images, tiny_data.target
    clf = make_ersm(device="cuda", max_epochs=2).fit(X, y)
    assert next(clf.module_.parameters()).is_cuda
    details = clf.explain(X[:4], return_details=True)
    assert details.keep_probability.shape == (4, 6, 6)
    np.testing.assert_allclose(details.proba, clf.predict_proba(X[:4]), rtol=1e-4)
    masked = clf.predict_proba_masked(X[:4], details.masks)
    assert masked.shape == (4, 3) and np.isfinite(masked).all()
