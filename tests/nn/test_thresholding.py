import numpy as np
import pytest
import torch

from sklearn_p2p.nn import search_tau, tau_grid
from sklearn_p2p.nn._reference_search import full_batch_explain


def test_tau_grid_is_the_papers_grid():
    grid = tau_grid(0.05)
    assert len(grid) == 20
    np.testing.assert_allclose(grid, np.arange(1, 21) * 0.05)
    assert grid[-1] == 1.0
    assert tau_grid(0.3).tolist() == pytest.approx([0.3, 0.6, 0.9, 1.0])


def _stub(certainty):
    """Evaluator whose top-class probability is certainty[sample, tau index]."""
    certainty = torch.as_tensor(certainty, dtype=torch.float32)
    calls = []

    def evaluate(index, tau):
        step = torch.round(tau / 0.05).long() - 1
        calls.append((index.clone(), step))
        top = certainty[index, step]
        # Winning class depends on the tau step, to show it is never looked at.
        proba = torch.stack([top, 1 - top], dim=1)
        proba = torch.where((step % 2 == 1)[:, None], proba.flip(1), proba)
        return {"proba": proba, "marker": index.float() * 100 + step}

    return evaluate, calls


def _certainty_table(seed=0, n=30):
    rng = np.random.RandomState(seed)
    # increasing-ish but noisy certainty per image along the 20 taus
    return np.clip(rng.uniform(0.4, 0.7, (n, 1)) + rng.uniform(-0.1, 0.3, (n, 20)).cumsum(1) / 6, 0.5, 1.0)


@pytest.mark.parametrize("min_batch_size", [1, 7, 30, 1000])
@pytest.mark.parametrize("delta", [0.6, 0.8, 0.95])
def test_search_picks_smallest_grid_tau_reaching_delta(delta, min_batch_size):
    table = _certainty_table()
    table[3] = 0.5  # never certain
    evaluate, _ = _stub(table)
    out = search_tau(evaluate, len(table), tau_grid(0.05), delta, min_batch_size=min_batch_size)
    for i, row in enumerate(table):
        reached = np.flatnonzero(row.astype(np.float32) >= np.float32(delta))
        expected_step = reached[0] if len(reached) else 19
        assert out["tau"][i].item() == pytest.approx((expected_step + 1) * 0.05)
        # outputs are those of the chosen tau
        assert out["marker"][i].item() == pytest.approx(i * 100 + expected_step)
    assert out["tau"][3].item() == pytest.approx(1.0)


def test_lowering_delta_never_raises_any_tau():
    table = _certainty_table(seed=1)
    taus = {}
    for delta in [0.99, 0.9, 0.8, 0.7, 0.6]:
        evaluate, _ = _stub(table)
        taus[delta] = search_tau(evaluate, len(table), tau_grid(0.05), delta)["tau"]
    deltas = sorted(taus)
    for low, high in zip(deltas, deltas[1:]):
        assert torch.all(taus[low] <= taus[high])


def test_decided_samples_are_not_evaluated_again():
    table = np.full((3, 20), 0.5)
    table[0, 0] = 1.0
    table[1, 4] = 1.0
    evaluate, calls = _stub(table)
    search_tau(evaluate, 3, tau_grid(0.05), 0.9)
    assert all(len(set(step.tolist())) == 1 for _, step in calls)  # one tau per call
    evaluated = {int(step[0]): idx.tolist() for idx, step in calls}
    assert evaluated[0] == [0, 1, 2]
    assert evaluated[1] == [1, 2]
    assert evaluated[5] == [2]
    assert max(evaluated) == 19


@pytest.mark.parametrize("search_batch_size", [None, 1, 5])
def test_incremental_search_matches_the_full_batch_search(fitted_p2p, tiny_data,
                                                          search_batch_size):
    """The fast search gives the reference-style search's result exactly."""
    Xp = torch.as_tensor(fitted_p2p._inference_input(tiny_data.images))
    net = fitted_p2p.module_.eval()
    with torch.no_grad():
        fast = net.explain(Xp, delta=0.9, search_batch_size=search_batch_size)
        full = full_batch_explain(net, Xp, delta=0.9)
    assert len(torch.unique(fast["tau"])) > 2  # the searches really differ in work
    assert torch.equal(fast["tau"], full["tau"])
    assert torch.equal(fast["masks"], full["masks"])
    assert torch.equal(fast["proba"].argmax(1), full["proba"].argmax(1))
    torch.testing.assert_close(fast["proba"], full["proba"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fast["region_probs"], full["region_probs"], rtol=1e-5, atol=1e-6)
    steps = torch.round(fast["tau"] / 0.05).long()
    assert torch.equal(full["n_classifier_passes"], torch.full_like(steps, int(steps.max())))
    # Without look-ahead the classifier runs once per distinct mask on each
    # image's way up the grid: never again for an unchanged mask. Looking
    # ahead adds passes past the chosen tau, never fewer.
    with torch.no_grad():
        grid_masks = torch.stack([net.explain(Xp, tau=tau)["masks"] for tau in tau_grid(0.05)],
                                 dim=1)
    changed = (grid_masks[:, 1:] != grid_masks[:, :-1]).flatten(2).any(dim=2)
    distinct = torch.tensor([1 + int(changed[i, :step - 1].sum())
                             for i, step in enumerate(steps.tolist())])
    passes = fast["n_classifier_passes"]
    if search_batch_size == 1:
        assert torch.equal(passes, distinct)
        assert (passes < steps).any()
    else:
        assert (passes >= distinct).all()
        assert (passes <= 1 + changed.sum(dim=1)).all()


def test_incremental_search_runs_the_selector_backbone_once(fitted_p2p, tiny_data):
    Xp = torch.as_tensor(fitted_p2p._inference_input(tiny_data.images))
    net = fitted_p2p.module_.eval()
    calls = []
    handle = net.selector.backbone.register_forward_hook(
        lambda module, inputs, output: calls.append(len(inputs[0])))
    try:
        with torch.no_grad():
            fast = net.explain(Xp, delta=0.9)
            n_fast = len(calls)
            full_batch_explain(net, Xp, delta=0.9)
    finally:
        handle.remove()
    assert calls[:n_fast] == [len(Xp)]
    # The reference-style search re-runs it on the whole batch at every tau.
    steps = int(torch.round(fast["tau"].max() / 0.05))
    assert calls[n_fast:] == [len(Xp)] * steps


@pytest.mark.parametrize("n_images", [1, 2, 3])
def test_look_ahead_on_tiny_batches_matches_the_full_batch_search(fitted_p2p, tiny_data,
                                                                   n_images):
    # One to three images: every pass looks many taus ahead at once.
    Xp = torch.as_tensor(fitted_p2p._inference_input(tiny_data.images[:n_images]))
    net = fitted_p2p.module_.eval()
    with torch.no_grad():
        fast = net.explain(Xp, delta=0.95, search_batch_size=40)
        full = full_batch_explain(net, Xp, delta=0.95)
    for key in ("tau", "masks", "logits"):
        torch.testing.assert_close(fast[key], full[key], rtol=1e-5, atol=1e-6)
