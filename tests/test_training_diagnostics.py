"""Per-epoch training diagnostics of P2PClassifier in skorch's ``history``.

Every epoch records the terms of the loss (``train_cross_entropy``,
``train_sparsity``, ``train_covariance``), the mean expected kept fraction
(``train_kept_fraction``), the sparsity weight (``lambda1``) and the
relaxed-Bernoulli temperature (``temperature``), and with a validation split
the ``valid_`` counterparts of the terms, so that a rising loss during the
sparsity warm-up can be read off the history.
"""

import numpy as np
import pytest
import torch
from skorch.dataset import ValidSplit

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.callbacks import GumbelTemperatureSchedule, SparsityWarmup
from sklearn_p2p.datasets import make_cluttered_objects

TERMS = ("cross_entropy", "sparsity", "covariance", "kept_fraction")
COLUMNS = ("lambda1", "temperature") + tuple(f"train_{term}" for term in TERMS)
LAMBDA1, LAMBDA2 = 4.0, 0.5


@pytest.fixture(scope="module")
def data():
    return make_cluttered_objects(n_samples=24, image_size=16, random_state=0)


def make_p2p(**params):
    # Batches of 10 for 18 or 24 images: the last batch is smaller, so an
    # unweighted mean of the batches would differ from skorch's epoch mean.
    defaults = dict(superpixels=SuperpixelTransformer(n_segments=8), max_epochs=5,
                    batch_size=10, lambda1=LAMBDA1, lambda2=LAMBDA2, verbose=0,
                    random_state=0)
    return P2PClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def fitted(data):
    return make_p2p().fit(data.images, data.target)


@pytest.fixture(scope="module")
def validated(data):
    return make_p2p(max_epochs=3, train_split=ValidSplit(4)).fit(data.images, data.target)


def weighted_epoch_mean(epoch, name, split="train"):
    batches = [b for b in epoch["batches"] if name in b]
    return np.average([b[name] for b in batches],
                      weights=[b[f"{split}_batch_size"] for b in batches])


def test_every_epoch_records_the_diagnostics(fitted):
    assert len(fitted.history) == 5
    for epoch in fitted.history:
        assert set(COLUMNS) <= set(epoch)
        assert all(np.isfinite(epoch[name]) for name in COLUMNS)
        for batch in epoch["batches"]:
            assert {f"train_{term}" for term in TERMS} <= set(batch)
    # Without a validation split there are no valid_ columns.
    assert not [key for key in fitted.history[-1] if key.startswith("valid_")]


def test_epoch_values_are_batch_size_weighted_means_as_train_loss(fitted):
    for epoch in fitted.history:
        sizes = [b["train_batch_size"] for b in epoch["batches"]]
        assert sorted(set(sizes)) == [4, 10]
        for name in [f"train_{term}" for term in TERMS] + ["train_loss"]:
            assert epoch[name] == pytest.approx(weighted_epoch_mean(epoch, name), rel=1e-9)


def test_the_terms_add_up_to_the_training_loss(fitted):
    for epoch in fitted.history:
        for batch in epoch["batches"]:
            total = (batch["train_cross_entropy"] + epoch["lambda1"] * batch["train_sparsity"]
                     + LAMBDA2 * batch["train_covariance"])
            assert batch["train_loss"] == pytest.approx(total, rel=1e-5, abs=1e-6)
        total = (epoch["train_cross_entropy"] + epoch["lambda1"] * epoch["train_sparsity"]
                 + LAMBDA2 * epoch["train_covariance"])
        assert epoch["train_loss"] == pytest.approx(total, rel=1e-5, abs=1e-6)


def test_penalties_are_recorded_unweighted(fitted):
    # lambda1 is 0 in the first epochs (from-scratch warm-up), yet the raw
    # penalty is still measured there.
    history = fitted.history
    assert history[0, "lambda1"] == 0.0
    assert history[0, "train_sparsity"] > 0
    assert all(value > 0 for value in history[:, "train_covariance"])


def test_lambda1_follows_the_warmup_schedule(fitted):
    # pretrained=False: 0 until 30% of the epochs, lambda1 from 70% on.
    warmup = SparsityWarmup(start_factor=0.0, begin=0.3, end=0.7)
    expected = [LAMBDA1 * warmup.factor_at(epoch, 5) for epoch in range(5)]
    assert fitted.history[:, "lambda1"] == pytest.approx(expected)
    assert expected == [0.0, 0.0, 1.0, 3.0, 4.0]  # a visible ramp
    assert fitted.lambda1_ == fitted.history[-1, "lambda1"]


def test_a_custom_warmup_is_recorded(data):
    clf = make_p2p(max_epochs=2, callbacks__sparsity_warmup=SparsityWarmup(start_factor=0.5,
                                                                           begin=0.5, end=1.0))
    clf.fit(data.images[:12], data.target[:12])
    assert clf.history[:, "lambda1"] == pytest.approx([LAMBDA1 / 2, LAMBDA1 / 2])


def test_temperature_follows_its_schedule(fitted):
    schedule = GumbelTemperatureSchedule()
    expected = [schedule.temperature_at(epoch, 5, fitted.final_temperature)
                for epoch in range(5)]
    assert fitted.history[:, "temperature"] == pytest.approx(expected)
    assert expected[0] == 1.0 and expected[-1] == pytest.approx(fitted.final_temperature)
    assert fitted.temperature_ == fitted.history[-1, "temperature"]


def test_kept_fraction_is_a_fraction_and_the_old_batch_entry_remains(fitted):
    for epoch in fitted.history:
        assert 0 <= epoch["train_kept_fraction"] <= 1
        for batch in epoch["batches"]:
            assert 0 <= batch["train_kept_fraction"] <= 1
            # The per-batch entry of earlier versions, read by existing code.
            assert batch["kept_fraction"] == batch["train_kept_fraction"]


def test_partial_fit_continues_the_columns(data):
    clf = make_p2p(max_epochs=2)
    clf.partial_fit(data.images, data.target)
    clf.partial_fit(data.images, data.target)
    history = clf.history
    assert len(history) == 4
    for epoch in history:
        assert set(COLUMNS) <= set(epoch)
        total = (epoch["train_cross_entropy"] + epoch["lambda1"] * epoch["train_sparsity"]
                 + LAMBDA2 * epoch["train_covariance"])
        assert epoch["train_loss"] == pytest.approx(total, rel=1e-5, abs=1e-6)
    # The schedules count epochs of the whole history: past max_epochs the
    # final values hold.
    warmup = SparsityWarmup(start_factor=0.0, begin=0.3, end=0.7)
    assert history[:, "lambda1"] == pytest.approx(
        [LAMBDA1 * warmup.factor_at(epoch, 2) for epoch in range(4)])
    assert history[2:, "temperature"] == pytest.approx([clf.final_temperature] * 2)


def test_validation_split_records_the_valid_terms(validated):
    for epoch in validated.history:
        assert set(COLUMNS) <= set(epoch)
        for term in TERMS:
            name = f"valid_{term}"
            assert epoch[name] == pytest.approx(
                weighted_epoch_mean(epoch, name, split="valid"), rel=1e-9)
        # valid_loss, skorch's own, is the same sum as train_loss.
        total = (epoch["valid_cross_entropy"] + epoch["lambda1"] * epoch["valid_sparsity"]
                 + LAMBDA2 * epoch["valid_covariance"])
        assert epoch["valid_loss"] == pytest.approx(total, rel=1e-5, abs=1e-6)
        assert 0 <= epoch["valid_kept_fraction"] <= 1
        # The training columns average the training batches only.
        assert epoch["train_kept_fraction"] == pytest.approx(
            weighted_epoch_mean(epoch, "train_kept_fraction"), rel=1e-9)
        valid_batches = [b for b in epoch["batches"] if "valid_loss" in b]
        assert valid_batches and all("kept_fraction" not in b for b in valid_batches)


def test_the_epoch_table_shows_a_readable_subset(data, capsys):
    make_p2p(max_epochs=1, verbose=1).fit(data.images[:12], data.target[:12])
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header == ["epoch", "lambda1", "train_cross_entropy", "train_kept_fraction",
                      "train_loss", "dur"]


def test_every_column_can_be_printed(data, capsys):
    make_p2p(max_epochs=1, verbose=1, callbacks__print_log__keys_ignored=[]).fit(
        data.images[:12], data.target[:12])
    header = capsys.readouterr().out.splitlines()[0].split()
    assert set(COLUMNS) <= set(header)


def test_get_loss_outside_a_fit_loop_records_nothing(fitted):
    # As benchmarks call it: on outputs of their own, with no batch running.
    history = type(fitted.history)()
    logits = torch.zeros(2, len(fitted.classes_))
    y_pred = (logits, torch.tensor([0.3, 0.9]), torch.tensor([0.5, 0.5]), torch.ones(2))
    fitted_history, fitted.history_ = fitted.history_, history
    try:
        loss = fitted.get_loss(y_pred, torch.tensor([0, 1]), training=False)
    finally:
        fitted.history_ = fitted_history
    assert np.isfinite(loss.item()) and len(history) == 0
