"""The package's metrics agree with Quantus where both implement the same one.

Quantus takes ``(N, 1, H, W)`` maps and masks (``a_batch``, ``s_batch``) and
returns one value per image; the package takes ``(N, H, W)``.
"""

import warnings

import numpy as np
import pytest

from sklearn_p2p.metrics import (
    pointing_game_score,
    relative_input_stability,
    relevance_mass_score,
    sparseness_score,
    top_k_precision_score,
)

quantus = pytest.importorskip("quantus")
torch = pytest.importorskip("torch")


@pytest.fixture
def maps_and_masks():
    rng = np.random.RandomState(0)
    maps = rng.rand(10, 8, 8).astype(np.float32)
    masks = np.zeros((10, 8, 8), dtype=bool)
    for i, (top, left) in enumerate(rng.randint(0, 6, size=(10, 2))):
        masks[i, top:top + 2, left:left + 2] = True  # 4 pixels, as a tetromino
    # Some maps peak on the object, so that the pointing game is not all misses.
    for i in range(0, 10, 2):
        r, c = np.argwhere(masks[i])[0]
        maps[i, r, c] = 2.0
    return maps, masks


def _quantus(metric, maps, masks, **kwargs):
    n = len(maps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = metric(disable_warnings=True, **kwargs)(
            model=None, x_batch=np.zeros((n, 1, *maps.shape[1:]), np.float32),
            y_batch=np.zeros(n, int), a_batch=maps[:, None], s_batch=masks[:, None].astype(float),
        )
    return np.asarray(scores, dtype=float)


def test_pointing_game_agrees(maps_and_masks):
    maps, masks = maps_and_masks
    ours = pointing_game_score(maps, masks, average=False)
    np.testing.assert_array_equal(ours, _quantus(quantus.PointingGame, maps, masks))
    assert 0 < ours.mean() < 1


def test_relevance_mass_agrees(maps_and_masks):
    maps, masks = maps_and_masks
    np.testing.assert_allclose(
        relevance_mass_score(maps, masks, average=False),
        _quantus(quantus.RelevanceMassAccuracy, maps, masks), rtol=1e-5)


def test_top_k_precision_agrees_with_top_k_intersection_at_the_mask_size(maps_and_masks):
    maps, masks = maps_and_masks
    np.testing.assert_allclose(
        top_k_precision_score(maps, masks, average=False),
        _quantus(quantus.TopKIntersection, maps, masks, k=4), rtol=1e-6)


def test_sparseness_agrees_with_quantus_gini(maps_and_masks):
    maps, masks = maps_and_masks
    np.testing.assert_allclose(
        sparseness_score(maps, average=False),
        _quantus(quantus.Sparseness, maps, masks), rtol=1e-4)


def test_relative_input_stability_agrees_on_a_map_that_moves_with_its_input():
    """A map equal to its input changes exactly as the input: RIS is 1 whatever the noise."""
    from sklearn.utils import Bunch

    rng = np.random.RandomState(0)
    images = rng.uniform(0.2, 0.8, size=(6, 8, 8)).astype(np.float32)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2)).eval()

    def proba(X):
        with torch.no_grad():
            logits = model(torch.as_tensor(np.asarray(X, np.float32)[:, None]))
        return torch.softmax(logits, 1).numpy()

    class ImageAsMap:
        def explain(self, X, delta=None, return_details=False):
            X = np.asarray(X, dtype=float)
            return Bunch(masks=X > 0.5, attributions=X, proba=proba(X))

    ours = relative_input_stability(ImageAsMap(), images, normalize=False, random_state=0,
                                    average=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = quantus.RelativeInputStability(
            nr_samples=5, normalise=False, abs=False, disable_warnings=True)(
            model=model, x_batch=images[:, None], y_batch=proba(images).argmax(1),
            a_batch=images[:, None].copy(), device="cpu",
            explain_func=lambda model, inputs, targets, **kwargs: np.asarray(inputs).copy(),
        )
    # Quantus reports RIS, the package log10 RIS.
    np.testing.assert_allclose(ours, np.log10(np.asarray(theirs, dtype=float)), atol=1e-6)


def test_pointing_game_differs_from_quantus_only_on_ties():
    """Quantus counts a tie at the maximum as a hit if any tied pixel is on the object."""
    masks = np.zeros((1, 4, 4), dtype=bool)
    masks[0, 0, 0] = True
    top_row = np.zeros((1, 4, 4), dtype=np.float32)
    top_row[0, 0] = 1.0  # four pixels tie at the maximum, one on the object
    assert _quantus(quantus.PointingGame, top_row, masks)[0] == 1.0
    assert pointing_game_score(top_row, masks) == pytest.approx(1 / 4)
