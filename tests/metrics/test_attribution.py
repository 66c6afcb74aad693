import numpy as np
import pytest

from sklearn_p2p.metrics import (
    gini_sparseness,
    pointing_game,
    relevance_mass,
    top_k_iou,
    top_k_precision,
)


@pytest.fixture
def square():
    truth = np.zeros((2, 8, 8), dtype=bool)
    truth[:, 2:4, 2:4] = True
    return truth


def test_a_map_that_is_the_object_scores_perfectly(square):
    perfect = square.astype(float) + 0.01 * np.random.RandomState(0).rand(*square.shape)
    assert top_k_precision(perfect, square) == 1.0
    assert top_k_iou(perfect, square) == 1.0
    assert pointing_game(perfect, square) == 1.0
    assert relevance_mass(square.astype(float), square) == 1.0


def test_an_inverted_map_scores_zero(square):
    inverted = (~square).astype(float)
    assert top_k_precision(inverted, square) == 0.0
    assert relevance_mass(inverted, square) == 0.0
    assert pointing_game(inverted, square) == 0.0


def test_random_maps_score_the_object_share_on_average():
    rng = np.random.RandomState(0)
    truth = np.zeros((400, 10, 10), dtype=bool)
    truth[:, :5] = True  # half of every image
    maps = rng.rand(400, 10, 10)
    assert top_k_precision(maps, truth) == pytest.approx(0.5, abs=0.03)
    assert relevance_mass(maps, truth) == pytest.approx(0.5, abs=0.02)
    per_image = top_k_precision(maps, truth, average=False)
    assert per_image.shape == (400,)
    np.testing.assert_allclose(top_k_iou(maps, truth, average=False),
                               per_image / (2 - per_image))


def test_negative_attribution_does_not_count_as_relevance(square):
    maps = np.where(square, 1.0, -10.0)
    assert relevance_mass(maps, square) == 1.0
    assert relevance_mass(-np.ones((2, 8, 8)), square) == 0.0


def test_gini_orders_maps_by_sparseness():
    rng = np.random.RandomState(0)
    dense = rng.rand(1, 16, 16) + 1.0
    sparse = dense.copy()
    sparse[0, 4:] = 0.0
    assert gini_sparseness(sparse) > gini_sparseness(dense)
    assert gini_sparseness(np.zeros((1, 4, 4))) == 0.0
    # Scale and sign do not matter.
    assert gini_sparseness(-3 * sparse) == pytest.approx(gini_sparseness(sparse))


def test_bad_input_is_named(square):
    with pytest.raises(ValueError, match=r"attributions must have shape \(n_images, H, W\)"):
        top_k_precision(np.zeros((8, 8)), square[0])
    with pytest.raises(ValueError, match="ground_truth must have the shape of attributions"):
        relevance_mass(np.zeros((2, 4, 4)), square)
    with pytest.raises(ValueError, match="NaN"):
        gini_sparseness(np.full((1, 2, 2), np.nan))
