import numpy as np
import pytest

from sklearn_p2p.metrics import (
    sparseness_score,
    pointing_game_score,
    relevance_mass_score,
    top_k_iou_score,
    top_k_precision_score,
)


@pytest.fixture
def square():
    truth = np.zeros((2, 8, 8), dtype=bool)
    truth[:, 2:4, 2:4] = True
    return truth


def test_a_map_that_is_the_object_scores_perfectly(square):
    perfect = square.astype(float) + 0.01 * np.random.RandomState(0).rand(*square.shape)
    assert top_k_precision_score(perfect, square) == 1.0
    assert top_k_iou_score(perfect, square) == 1.0
    assert pointing_game_score(perfect, square) == 1.0
    assert relevance_mass_score(square.astype(float), square) == 1.0


def test_an_inverted_map_scores_zero(square):
    inverted = (~square).astype(float)
    assert top_k_precision_score(inverted, square) == 0.0
    assert relevance_mass_score(inverted, square) == 0.0
    assert pointing_game_score(inverted, square) == 0.0


def test_random_maps_score_the_object_share_on_average():
    rng = np.random.RandomState(0)
    truth = np.zeros((400, 10, 10), dtype=bool)
    truth[:, :5] = True  # half of every image
    maps = rng.rand(400, 10, 10)
    assert top_k_precision_score(maps, truth) == pytest.approx(0.5, abs=0.03)
    assert relevance_mass_score(maps, truth) == pytest.approx(0.5, abs=0.02)
    per_image = top_k_precision_score(maps, truth, average=False)
    assert per_image.shape == (400,)
    np.testing.assert_allclose(top_k_iou_score(maps, truth, average=False),
                               per_image / (2 - per_image))


def test_negative_attribution_does_not_count_as_relevance(square):
    maps = np.where(square, 1.0, -10.0)
    assert relevance_mass_score(maps, square) == 1.0
    assert relevance_mass_score(-np.ones((2, 8, 8)), square) == 0.0


def test_gini_orders_maps_by_sparseness():
    rng = np.random.RandomState(0)
    dense = rng.rand(1, 16, 16) + 1.0
    sparse = dense.copy()
    sparse[0, 4:] = 0.0
    assert sparseness_score(sparse) > sparseness_score(dense)
    assert sparseness_score(np.zeros((1, 4, 4))) == 0.0
    # Scale and sign do not matter.
    assert sparseness_score(-3 * sparse) == pytest.approx(sparseness_score(sparse))


def test_bad_input_is_named(square):
    with pytest.raises(ValueError, match=r"attributions must have shape \(n_images, H, W\)"):
        top_k_precision_score(np.zeros((8, 8)), square[0])
    with pytest.raises(ValueError, match="masks_true must have the shape of attributions"):
        relevance_mass_score(np.zeros((2, 4, 4)), square)
    with pytest.raises(ValueError, match="NaN"):
        sparseness_score(np.full((1, 2, 2), np.nan))


def test_pointing_game_breaks_ties_at_random_in_expectation():
    truth = np.zeros((3, 4, 4), dtype=bool)
    truth[:, :2, :2] = True  # a quarter of every image
    maps = np.zeros((3, 4, 4))
    maps[1, 0, :] = 1.0  # the top row ties: 2 of its 4 pixels on the object
    maps[2, 3, 3] = 1.0  # a single maximum, off the object
    scores = pointing_game_score(maps, truth, average=False)
    # A uniform map is a guess: it scores the object's share.
    np.testing.assert_allclose(scores, [0.25, 0.5, 0.0])
    assert pointing_game_score(maps, truth) == pytest.approx(0.25)
