"""Progress bars over inference with verbose >= 2, messages on the sklearn_p2p logger."""

import copy
import logging

import pytest


@pytest.fixture
def verbose_model(fitted_p2p):
    model = copy.deepcopy(fitted_p2p)
    model.set_params(verbose=2)
    return model


@pytest.mark.parametrize("method", ["predict", "predict_proba", "explain"])
def test_inference_shows_a_progress_bar_with_verbose_2(verbose_model, tiny_data, capsys,
                                                       method):
    getattr(verbose_model, method)(tiny_data.images[:20])
    err = capsys.readouterr().err
    name = "explain" if method == "explain" else "predict"
    # 20 images in batches of 8 (the fixture's batch_size): three batches.
    assert f"{name}:   0%|" in err and "| 0/3 [" in err and "batch/s" in err


@pytest.mark.parametrize("method", ["predict", "explain"])
def test_no_progress_bar_below_verbose_2(fitted_p2p, tiny_data, capsys, method):
    getattr(fitted_p2p, method)(tiny_data.images[:20])
    assert "batch/s" not in capsys.readouterr().err


def test_fit_and_explain_log_to_the_package_logger(tiny_data, make_p2p, caplog):
    model = make_p2p(max_epochs=2)
    with caplog.at_level(logging.INFO, logger="sklearn_p2p"):
        model.fit(tiny_data.images, tiny_data.target)
        model.explain(tiny_data.images[:10])
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("sklearn_p2p")]
    assert any(m.startswith("P2PClassifier: training on 48 images of 24x24 (3 channel(s)), "
                            "3 classes, device cpu") for m in messages), messages
    assert any(m.startswith("P2PClassifier: trained 2 epoch(s) in") for m in messages)
    assert any(m.startswith("P2PClassifier.explain: 10 images at delta=0.99; kept")
               for m in messages)


def test_the_package_logger_prints_nothing_unless_configured():
    handlers = logging.getLogger("sklearn_p2p").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)
