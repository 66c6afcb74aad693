"""Empty or degenerate explanations are flagged, not passed on silently."""

import copy
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from sklearn_p2p.callbacks import SelectionCheck
from sklearn_p2p.exceptions import DegenerateSelectionWarning, EmptyExplanationWarning
from sklearn_p2p.explainers import GradientExplainer


@pytest.fixture(scope="module")
def collapsed(tiny_data, make_p2p):
    """A model whose sparsity penalty won: it keeps no region of any image."""
    model = make_p2p(max_epochs=4, lambda1=5.0, lr=1e-2, callbacks__sparsity_warmup=None)
    with pytest.warns(DegenerateSelectionWarning, match=r"keeps 0\.\d% .*Lower lambda1"):
        model.fit(tiny_data.images, tiny_data.target)
    return model


def test_explain_warns_and_details_say_which_masks_are_empty(collapsed, tiny_data):
    with pytest.warns(EmptyExplanationWarning, match=r"12 of 12 explanations keep no pixel"):
        details = collapsed.explain(tiny_data.images[:12], return_details=True)
    assert details.empty.dtype == bool and details.empty.all()
    np.testing.assert_array_equal(details.empty, ~details.masks.any(axis=(1, 2)))


def test_explain_names_only_the_empty_images(fitted_p2p, tiny_data, monkeypatch):
    """Two empty masks among twelve: the warning names images 3 and 7."""
    model = copy.deepcopy(fitted_p2p)
    explain_batches = model._explain_batches

    def with_two_empty(*args, **kwargs):
        out = explain_batches(*args, **kwargs)
        out["masks"][[3, 7]] = False
        return out

    monkeypatch.setattr(model, "_explain_batches", with_two_empty)
    with pytest.warns(EmptyExplanationWarning, match=r"2 of 12 .*\(images 3, 7\)"):
        details = model.explain(tiny_data.images[:12], return_details=True)
    np.testing.assert_array_equal(np.flatnonzero(details.empty), [3, 7])


def test_no_warning_when_every_mask_keeps_pixels(fitted_p2p, tiny_data):
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmptyExplanationWarning)
        details = fitted_p2p.explain(tiny_data.images[:12], return_details=True)
    assert not details.empty.any()


def test_attribution_explainers_flag_a_zero_kept_fraction(fitted_p2p, tiny_data):
    explainer = GradientExplainer(fitted_p2p, method="saliency",
                                  kept_fraction=[0.0] + [0.2] * 3)
    with pytest.warns(EmptyExplanationWarning, match=r"1 of 4 .*\(images 0\)"):
        details = explainer.explain(tiny_data.images[:4], return_details=True)
    np.testing.assert_array_equal(details.empty, [True, False, False, False])


@pytest.mark.parametrize("kept, match", [
    (0.995, r"keeps 99\.5% .*no selection was learned.*Raise lambda1"),
    (0.004, r"keeps 0\.4% .*black images.*Lower lambda1"),
])
def test_selection_check_warns_at_either_extreme(kept, match):
    net = SimpleNamespace(history=[{"train_kept_fraction": kept}], lambda1=1.0, max_epochs=5)
    with pytest.warns(DegenerateSelectionWarning, match=match):
        SelectionCheck().on_train_end(net)


@pytest.mark.parametrize("history", [[{"train_kept_fraction": 0.3}], [{}], []])
def test_selection_check_is_quiet_otherwise(history):
    net = SimpleNamespace(history=history, lambda1=1.0, max_epochs=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SelectionCheck().on_train_end(net)


def test_fit_runs_the_selection_check_and_it_can_be_removed(tiny_data, make_p2p):
    # high=0 makes any kept fraction count as "everything": the callback runs.
    with pytest.warns(DegenerateSelectionWarning, match="no selection was learned"):
        make_p2p(max_epochs=1, callbacks__selection_check__high=0.0).fit(
            tiny_data.images, tiny_data.target)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateSelectionWarning)
        make_p2p(max_epochs=1, callbacks__selection_check=None).fit(
            tiny_data.images, tiny_data.target)


def test_blackbox_keeps_everything_without_a_warning(tiny_data):
    from sklearn_p2p import SuperpixelTransformer
    from sklearn_p2p.baselines import BlackboxClassifier

    model = BlackboxClassifier(superpixels=SuperpixelTransformer(n_segments=16), max_epochs=1,
                               verbose=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateSelectionWarning)
        model.fit(tiny_data.images, tiny_data.target)
    assert "selection_check" not in dict(model.callbacks_)
