import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from skorch.exceptions import DeviceWarning

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.nn import tau_grid



def test_fit_predict_shapes_and_string_classes(fitted_p2p, tiny_data, string_labels):
    X = tiny_data.images[:7]
    proba = fitted_p2p.predict_proba(X)
    assert proba.shape == (7, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(fitted_p2p.classes_) == set(string_labels)
    pred = fitted_p2p.predict(X)
    assert pred.dtype == fitted_p2p.classes_.dtype
    np.testing.assert_array_equal(pred, fitted_p2p.classes_[proba.argmax(axis=1)])


def test_explain_returns_bool_masks_of_image_size(fitted_p2p, tiny_data):
    masks = fitted_p2p.explain(tiny_data.images[:5])
    assert masks.shape == (5, 24, 24)
    assert masks.dtype == bool


def test_masks_are_unions_of_whole_superpixels(fitted_p2p, tiny_data):
    details = fitted_p2p.explain(tiny_data.images, return_details=True)
    for mask, segments, probs, n in zip(
        details.masks, details.segments, details.region_probs, details.n_regions
    ):
        assert segments.max() + 1 == n
        for region in range(n):
            inside = mask[segments == region]
            assert inside.all() or not inside.any()
            # kept exactly when sigmoid(mu) > 0.5
            assert inside[0] == (probs[region] > 0.5)
        assert np.all(probs[n:] == 0)


def test_details_match_predictions(fitted_p2p, tiny_data):
    X = tiny_data.images[:10]
    details = fitted_p2p.explain(X, return_details=True)
    np.testing.assert_allclose(details.proba, fitted_p2p.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(details.y_pred, fitted_p2p.predict(X))
    np.testing.assert_allclose(details.kept_fraction, details.masks.mean(axis=(1, 2)), rtol=1e-6)
    assert details.embeddings.shape == details.region_probs.shape + (3,)


def test_dynamic_tau_is_smallest_grid_value_reaching_delta(fitted_p2p, tiny_data):
    X = tiny_data.images[:12]
    delta = 0.6
    details = fitted_p2p.explain(X, delta=delta, return_details=True)
    grid = tau_grid(fitted_p2p.tau_step)
    certainty_at = {}
    for tau in grid:
        fixed = clone_fitted_with_threshold(fitted_p2p, tau)
        certainty_at[round(tau, 6)] = fixed.predict_proba(X).max(axis=1)
    for i, tau in enumerate(details.tau):
        assert np.isclose(grid, tau).any()
        reached = [t for t in grid if certainty_at[round(t, 6)][i] >= delta]
        expected = reached[0] if reached else 1.0
        assert tau == pytest.approx(expected, abs=1e-6)


def clone_fitted_with_threshold(model, tau):
    fixed = pickle.loads(pickle.dumps(model))
    fixed.set_params(threshold=float(tau))
    return fixed


def test_prediction_is_made_from_the_mask_at_the_chosen_tau(fitted_p2p, tiny_data):
    """Faithfulness: the dynamic prediction equals a fixed-tau prediction at that tau."""
    X = tiny_data.images[:12]
    details = fitted_p2p.explain(X, delta=0.7, return_details=True)
    for tau in np.unique(details.tau):
        rows = details.tau == tau
        fixed = clone_fitted_with_threshold(fitted_p2p, tau)
        np.testing.assert_allclose(fixed.predict_proba(X[rows]), details.proba[rows], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(fixed.explain(X[rows]), details.masks[rows])


def test_explain_delta_overrides_without_refitting(fitted_p2p, tiny_data):
    X = tiny_data.images
    before = fitted_p2p.module_.state_dict()["classifier.head.weight"].clone()
    tau_high = fitted_p2p.explain(X, delta=0.99, return_details=True).tau
    tau_low = fitted_p2p.explain(X, delta=0.5, return_details=True).tau
    assert np.all(tau_low <= tau_high)
    assert fitted_p2p.delta == 0.99
    assert torch.equal(before, fitted_p2p.module_.state_dict()["classifier.head.weight"])


def test_delta_of_half_needs_no_more_than_the_first_tau_for_binary_certainty(tiny_data, make_p2p):
    # With two classes the top probability is always >= 0.5.
    keep = tiny_data.target < 2
    model = make_p2p(max_epochs=1).fit(tiny_data.images[keep], tiny_data.target[keep])
    taus = model.explain(tiny_data.images[keep], delta=0.5, return_details=True).tau
    assert np.allclose(taus, model.tau_step)


def test_kept_fraction_rises_with_fixed_tau(tiny_data, make_p2p):
    # Small batches and a mild lambda1 let the tau conditioning emerge within
    # a few seconds of training on 48 images.
    model = make_p2p(max_epochs=20, batch_size=8, lambda1=1.0, lr=3e-3)
    model.fit(tiny_data.images, tiny_data.target)
    kept = []
    for tau in [0.1, 0.5, 1.0]:
        details = clone_fitted_with_threshold(model, tau).explain(tiny_data.images, return_details=True)
        kept.append(details.kept_fraction.mean())
    assert kept[0] < kept[1] < kept[2]


def test_same_random_state_gives_identical_models(tiny_data, make_p2p):
    X, y = tiny_data.images, tiny_data.target
    first = make_p2p(max_epochs=2).fit(X, y)
    second = make_p2p(max_epochs=2).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    np.testing.assert_array_equal(first.explain(X), second.explain(X))


def test_fit_does_not_touch_global_torch_rng(tiny_data, make_p2p):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_p2p(max_epochs=1).fit(tiny_data.images, tiny_data.target)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("dump, load", [
    (pickle.dumps, pickle.loads),
    (lambda m: _joblib_bytes(m), lambda b: _joblib_load(b)),
])
def test_pickle_and_joblib_round_trips_are_identical(fitted_p2p, tiny_data, dump, load):
    restored = load(dump(fitted_p2p))
    X = tiny_data.images[:10]
    np.testing.assert_array_equal(restored.predict_proba(X), fitted_p2p.predict_proba(X))
    np.testing.assert_array_equal(restored.explain(X), fitted_p2p.explain(X))
    assert restored.get_params()["device"] == "auto"


def _joblib_bytes(model):
    import io

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def _joblib_load(data):
    import io

    return joblib.load(io.BytesIO(data))


def test_clone_and_params_keep_user_values():
    model = P2PClassifier(lambda1=3.0, delta=0.9, threshold=0.3, device="auto")
    params = clone(model).get_params()
    assert params["lambda1"] == 3.0
    assert params["delta"] == 0.9
    assert params["threshold"] == 0.3
    assert params["device"] == "auto"
    assert model.device in ("cpu", "cuda")
    model.set_params(lambda2=0.5, device="cpu")
    assert model.get_params()["lambda2"] == 0.5
    assert model.get_params()["device"] == "cpu"


def test_default_callbacks_anneal_temperature_and_lambda1(tiny_data, make_p2p):
    model = make_p2p(max_epochs=4, lambda1=8.0, final_temperature=0.25)
    model.fit(tiny_data.images, tiny_data.target)
    assert model.temperature_ == pytest.approx(0.25)
    assert model.lambda1_ == pytest.approx(8.0)
    assert "kept_fraction" in model.history[-1]["batches"][0]


def test_predict_before_fit_raises_not_fitted(tiny_data):
    with pytest.raises(NotFittedError):
        P2PClassifier().predict(tiny_data.images)
    with pytest.raises(NotFittedError):
        P2PClassifier().explain(tiny_data.images)


def test_precomputed_superpixels_match_internal_ones(tiny_data, make_p2p):
    X, y = tiny_data.images, tiny_data.target
    internal = make_p2p(max_epochs=1).fit(X, y)
    Xp = SuperpixelTransformer(n_segments=16).fit_transform(X)
    precomputed = make_p2p(max_epochs=1, superpixels="precomputed").fit(Xp, y)
    np.testing.assert_allclose(precomputed.predict_proba(Xp), internal.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_pipeline_grid_search_runs_end_to_end(tiny_data, make_p2p):
    pipe = make_pipeline(
        SuperpixelTransformer(n_segments=16),
        make_p2p(superpixels="precomputed", max_epochs=1),
    )
    grid = GridSearchCV(
        pipe,
        {
            "superpixeltransformer__n_segments": [8, 16],
            "p2pclassifier__lambda1": [1.0, 10.0],
            "p2pclassifier__delta": [0.9, 0.99],
        },
        cv=2,
    )
    grid.fit(tiny_data.images, tiny_data.target)
    assert len(grid.cv_results_["params"]) == 8
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.predict(tiny_data.images[:3]).shape == (3,)
    assert grid.best_estimator_[-1].classes_.tolist() == [0, 1, 2]


def test_fixed_threshold_uses_that_tau(tiny_data, make_p2p):
    model = make_p2p(threshold=0.3, max_epochs=1).fit(tiny_data.images, tiny_data.target)
    details = model.explain(tiny_data.images[:5], return_details=True)
    np.testing.assert_allclose(details.tau, 0.3)


def test_warm_start_continues_training(tiny_data, make_p2p):
    model = make_p2p(max_epochs=1, warm_start=True)
    model.fit(tiny_data.images, tiny_data.target)
    model.fit(tiny_data.images, tiny_data.target)
    assert len(model.history) == 2


def test_partial_fit_takes_skorchs_epochs_keyword(tiny_data, make_p2p):
    model = make_p2p(max_epochs=3)
    model.partial_fit(tiny_data.images, tiny_data.target, epochs=1)
    model.partial_fit(tiny_data.images, tiny_data.target, epochs=1)
    assert len(model.history) == 2
    model.fit(tiny_data.images, tiny_data.target, epochs=2)
    assert len(model.history) == 2  # fit starts over


def test_model_saved_with_cuda_device_loads_on_cpu(fitted_p2p, tiny_data):
    """A pickle that asks for CUDA falls back to the CPU where there is none."""
    if torch.cuda.is_available():
        pytest.skip("the fallback only happens on a machine without CUDA")
    model = pickle.loads(pickle.dumps(fitted_p2p))
    model.__dict__["device"] = "cuda"
    with pytest.warns(DeviceWarning, match="cuda|CUDA"):
        restored = pickle.loads(pickle.dumps(model))
    assert str(restored.device) == "cpu"
    X = tiny_data.images[:4]
    np.testing.assert_array_equal(restored.predict_proba(X), fitted_p2p.predict_proba(X))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_on_cuda_and_predict_on_cpu(tiny_data, make_p2p):
    model = make_p2p(max_epochs=1, device="auto").fit(tiny_data.images, tiny_data.target)
    assert next(model.module_.parameters()).is_cuda
    proba_cuda = model.predict_proba(tiny_data.images)
    model.set_params(device="cpu")
    model.module_.to("cpu")
    np.testing.assert_allclose(model.predict_proba(tiny_data.images), proba_cuda, atol=1e-4)


def test_predict_proba_masked_with_explain_masks_reproduces_predict_proba(fitted_p2p, tiny_data):
    X = tiny_data.images[:10]
    masks = fitted_p2p.explain(X, delta=0.8)
    proba = fitted_p2p.explain(X, delta=0.8, return_details=True).proba
    np.testing.assert_allclose(fitted_p2p.predict_proba_masked(X, masks), proba, rtol=1e-5, atol=1e-6)
    empty = fitted_p2p.predict_proba_masked(X, np.zeros_like(masks))
    # every black image looks the same to the classifier
    np.testing.assert_allclose(empty, np.repeat(empty[:1], len(X), axis=0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="masks must have shape"):
        fitted_p2p.predict_proba_masked(X, masks[:3])
    with pytest.raises(ValueError, match="masks must be binary"):
        fitted_p2p.predict_proba_masked(X, np.full(masks.shape, 0.5))


def test_validation_split_reports_accuracy_on_string_labels(tiny_data, string_labels, make_p2p):
    from skorch.dataset import ValidSplit

    model = make_p2p(max_epochs=2, train_split=ValidSplit(4, stratified=True))
    model.fit(tiny_data.images, string_labels)
    # skorch's ValidSplit(4, stratified=True) holds out the first fold.
    from sklearn.model_selection import StratifiedKFold

    _, valid = next(StratifiedKFold(4).split(tiny_data.images, string_labels))
    expected = np.mean(model.predict(tiny_data.images[valid]) == string_labels[valid])
    assert len(model.history[:, "valid_acc"]) == 2
    assert expected > 0  # the raw labels never equal the encoded ones: 0 if mixed up
    assert model.history[-1, "valid_acc"] == pytest.approx(expected)
    assert np.isfinite(model.history[-1, "valid_loss"])
