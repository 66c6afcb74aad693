"""SIBClassifier: training with the S-IB penalty, the estimator API, errors."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.models import BackboneClassifier, SIBClassifier

TERMS = ("cross_entropy", "sib_foreground", "sib_background")


def make_sib(**params):
    defaults = dict(max_epochs=2, batch_size=16, lr=3e-3, random_state=0, verbose=0,
                    device="cpu")
    return SIBClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def small_data():
    """24 images of 16x16, 2 classes: for the tests that fit several models."""
    return make_cluttered_objects(n_samples=24, image_size=16, n_classes=2, random_state=0)


@pytest.fixture(scope="module")
def fitted_sib(tiny_data):
    return make_sib().fit(tiny_data.images, tiny_data.target)


def test_fit_predict_explain(fitted_sib, tiny_data):
    X = tiny_data.images[:5]
    assert fitted_sib.predict(X).shape == (5,)
    assert set(fitted_sib.predict(X)) <= set(tiny_data.target)
    proba = fitted_sib.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    details = fitted_sib.explain(X, return_details=True)
    assert {"masks", "attributions", "proba", "y_pred", "kept_fraction"} <= set(details)
    assert details.masks.shape == details.attributions.shape == (5, 24, 24)
    assert details.masks.dtype == bool
    np.testing.assert_allclose(details.masks.mean(axis=(1, 2)), 0.25, atol=0.01)
    np.testing.assert_array_equal(details.y_pred, fitted_sib.predict(X))
    np.testing.assert_array_equal(fitted_sib.explain(X), details.masks)


def test_explanation_is_the_gradient_of_the_trained_network(fitted_sib, tiny_data):
    # The default explanation is the saliency of the predicted class: the
    # absolute input gradient of its logit, summed over channels.
    X = tiny_data.images[:3]
    details = fitted_sib.explain(X, return_details=True)
    images = torch.tensor(X / 255.0, dtype=torch.float32).permute(0, 3, 1, 2).requires_grad_()
    net = fitted_sib.module_.eval()
    logits = net.image_logits(images)
    logits[torch.arange(3), torch.as_tensor(details.proba.argmax(axis=1))].sum().backward()
    np.testing.assert_allclose(details.attributions, images.grad.abs().sum(dim=1).numpy(),
                               rtol=1e-4, atol=1e-8)


def test_history_records_the_terms_per_batch_and_per_epoch(fitted_sib):
    history = fitted_sib.history
    batches = history[-1, "batches"]
    assert len(batches) == 3  # 48 images in batches of 16
    for batch in batches:
        values = np.array([batch[name] for name in TERMS])
        assert np.isfinite(values).all() and (values >= 0).all()
        # train_loss = cross-entropy + 1000 exp(background) + 0.01 exp(-foreground)
        expected = (batch["cross_entropy"] + 1000 * np.exp(batch["sib_background"])
                    + 0.01 * np.exp(-batch["sib_foreground"]))
        assert batch["train_loss"] == pytest.approx(expected, rel=1e-5)
    for name in TERMS:  # epoch means, printed in the training log
        assert history[-1, name] == pytest.approx(np.mean([b[name] for b in batches]))
    assert history[-1, "sib_foreground"] > 0


def test_training_log_shows_the_terms(tiny_data, capsys):
    make_sib(max_epochs=1, verbose=1).fit(tiny_data.images[:16], tiny_data.target[:16])
    header = capsys.readouterr().out.splitlines()[0]
    for name in TERMS:
        assert name in header


def test_zero_weights_train_exactly_like_the_plain_backbone(small_data):
    # With both weights 0 the S-IB step (double backward included) must give
    # the cross-entropy's gradients: the same weights as BackboneClassifier.
    params = dict(max_epochs=1, batch_size=8, lr=3e-3, random_state=0, verbose=0, device="cpu")
    plain = BackboneClassifier(**params).fit(small_data.images, small_data.target)
    zero = SIBClassifier(foreground_weight=0.0, background_weight=0.0, **params)
    zero.fit(small_data.images, small_data.target)
    sib = SIBClassifier(**params).fit(small_data.images, small_data.target)
    plain, zero, sib = (dict(model.module_.named_parameters()) for model in (plain, zero, sib))
    for name, weight in plain.items():
        torch.testing.assert_close(zero[name], weight, rtol=1e-4, atol=1e-6)
    difference = sum(float((sib[name] - weight).detach().abs().sum())
                     for name, weight in plain.items())
    assert difference > 1e-4  # the penalty does change the training


def test_a_last_batch_of_one_image_trains(small_data):
    model = make_sib(max_epochs=1, batch_size=16)
    model.fit(small_data.images[:17], small_data.target[:17])
    last = model.history[-1, "batches"][-1]
    assert last["train_batch_size"] == 1 and last["sib_foreground"] == 0.0
    assert all(np.isfinite(p.detach().numpy()).all() for p in model.module_.parameters())


def test_clone_get_params_set_params():
    model = make_sib(foreground_weight=0.1, mask_window=5, classifier="tiny_cnn")
    params = model.get_params()
    for name, value in [("foreground_weight", 0.1), ("background_weight", 1000.0),
                        ("mask_quantile", 0.8), ("mask_slope", 10.0), ("mask_window", 5),
                        ("classifier", "tiny_cnn"), ("batch_size", 16), ("device", "cpu")]:
        assert params[name] == value
    copy = clone(model)
    assert copy.get_params()["mask_window"] == 5 and copy is not model
    copy.set_params(background_weight=10.0, mask_quantile=0.9)
    assert (copy.background_weight, copy.mask_quantile) == (10.0, 0.9)
    assert model.background_weight == 1000.0


def test_pickle_round_trip(fitted_sib, tiny_data):
    restored = pickle.loads(pickle.dumps(fitted_sib))
    np.testing.assert_allclose(restored.predict_proba(tiny_data.images[:4]),
                               fitted_sib.predict_proba(tiny_data.images[:4]), rtol=1e-5)
    assert restored.foreground_weight == fitted_sib.foreground_weight


def test_grid_search(small_data):
    search = GridSearchCV(make_sib(max_epochs=1, batch_size=8),
                          {"foreground_weight": [0.01, 1.0]}, cv=2)
    search.fit(small_data.images, small_data.target)
    assert search.best_params_["foreground_weight"] in (0.01, 1.0)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.predict(small_data.images[:2]).shape == (2,)


def test_runs_on_cpu(fitted_sib):
    assert all(p.device.type == "cpu" for p in fitted_sib.module_.parameters())


@pytest.mark.parametrize("params, error, match", [
    ({"foreground_weight": -1.0}, InvalidParameterError, "foreground_weight"),
    ({"background_weight": "big"}, InvalidParameterError, "background_weight"),
    ({"mask_quantile": 1.0}, InvalidParameterError, "mask_quantile"),
    ({"mask_slope": 0.0}, InvalidParameterError, "mask_slope"),
    ({"mask_window": 0}, InvalidParameterError, "mask_window"),
    ({"mask_window": 4}, ValueError, "'mask_window' parameter .* must be odd"),
    ({"batch_size": 1}, ValueError, "batch_size >= 2"),
    ({"classifier": "tiny_cn"}, ValueError, "tiny_cnn"),
])
def test_bad_parameters_fail_before_any_torch_work(small_data, params, error, match):
    model = make_sib(**params)
    with pytest.raises(error, match=match):
        model.fit(small_data.images, small_data.target)
    assert not hasattr(model, "module_")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fits_and_explains_on_cuda(small_data):
    model = make_sib(device="cuda").fit(small_data.images, small_data.target)
    assert all(p.device.type == "cuda" for p in model.module_.parameters())
    assert np.isfinite([b["sib_background"] for b in model.history[-1, "batches"]]).all()
    details = model.explain(small_data.images[:3], return_details=True)
    assert details.attributions.shape == (3, 16, 16) and np.isfinite(details.attributions).all()
