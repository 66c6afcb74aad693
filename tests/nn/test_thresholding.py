import numpy as np
import pytest
import torch

from sklearn_p2p.nn import search_tau, tau_grid


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
        step = int(round(tau / 0.05)) - 1
        calls.append((index.clone(), step))
        top = certainty[index, step]
        # Winning class depends on the tau step, to show it is never looked at.
        proba = torch.stack([top, 1 - top], dim=1)
        if step % 2:
            proba = proba.flip(1)
        return {"proba": proba, "marker": index.float() * 100 + step}

    return evaluate, calls


def _certainty_table(seed=0, n=30):
    rng = np.random.RandomState(seed)
    # increasing-ish but noisy certainty per image along the 20 taus
    return np.clip(rng.uniform(0.4, 0.7, (n, 1)) + rng.uniform(-0.1, 0.3, (n, 20)).cumsum(1) / 6, 0.5, 1.0)


@pytest.mark.parametrize("delta", [0.6, 0.8, 0.95])
def test_search_picks_smallest_grid_tau_reaching_delta(delta):
    table = _certainty_table()
    table[3] = 0.5  # never certain
    evaluate, _ = _stub(table)
    out = search_tau(evaluate, len(table), tau_grid(0.05), delta)
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
    evaluated = {step: idx.tolist() for idx, step in calls}
    assert evaluated[0] == [0, 1, 2]
    assert evaluated[1] == [1, 2]
    assert evaluated[5] == [2]
    assert max(evaluated) == 19


def test_incremental_search_matches_the_full_batch_search(fitted_p2p, tiny_data):
    """The fast search gives the reference-style search's result exactly."""
    Xp = torch.as_tensor(fitted_p2p._prepare_images(tiny_data.images, reset=False))
    net = fitted_p2p.module_.eval()
    with torch.no_grad():
        fast = net.explain(Xp, delta=0.9, search="incremental")
        full = net.explain(Xp, delta=0.9, search="full_batch")
    assert len(torch.unique(fast["tau"])) > 2  # the searches really differ in work
    assert torch.equal(fast["tau"], full["tau"])
    assert torch.equal(fast["masks"], full["masks"])
    assert torch.equal(fast["proba"].argmax(1), full["proba"].argmax(1))
    torch.testing.assert_close(fast["proba"], full["proba"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fast["region_probs"], full["region_probs"], rtol=1e-5, atol=1e-6)
    steps = torch.round(fast["tau"] / 0.05).long()
    assert torch.equal(fast["n_classifier_passes"], steps)
    assert torch.equal(full["n_classifier_passes"], torch.full_like(steps, int(steps.max())))


def test_unknown_search_strategy_is_rejected(fitted_p2p, tiny_data):
    Xp = torch.as_tensor(fitted_p2p._prepare_images(tiny_data.images[:2], reset=False))
    with pytest.raises(ValueError, match="search must be 'incremental' or 'full_batch'"):
        fitted_p2p.module_.explain(Xp, search="exhaustive")
