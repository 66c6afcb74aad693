import numpy as np
import pytest

from sklearn_p2p.datasets import make_tetrominoes

SCENARIOS = ["linear", "multiplicative", "translations_rotations", "xor"]

T_CELLS = np.array([[1, 1, 1], [0, 1, 0]], dtype=bool)
L_CELLS = np.array([[1, 0], [1, 0], [1, 1]], dtype=bool)


def _signal(data):
    """The signal x in [-1, 1] behind the images."""
    return 2.0 * data.images.astype(float) - 1.0


def _cropped_cells(mask, cell):
    """The mask cropped to its bounding box, one value per cell."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return box[::cell, ::cell]


def _is_rotation_of(cells, shape):
    return any(
        np.rot90(shape, k).shape == cells.shape and (np.rot90(shape, k) == cells).all()
        for k in range(4)
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("background", ["white", "smoothed"])
def test_shapes_range_balance_and_default_strength(scenario, background):
    data = make_tetrominoes(n_samples=21, scenario=scenario, background=background,
                            random_state=0)
    assert data.images.shape == data.masks.shape == (21, 8, 8)
    assert data.images.dtype == np.float32 and data.masks.dtype == bool
    assert data.images.min() >= 0 and data.images.max() <= 1
    assert sorted(np.bincount(data.target).tolist()) == [10, 11]
    expected = {
        ("linear", "white"): 0.18, ("linear", "smoothed"): 0.0125,
        ("multiplicative", "white"): 0.7, ("multiplicative", "smoothed"): 0.1,
        ("translations_rotations", "white"): 0.65,
        ("translations_rotations", "smoothed"): 0.2,
        ("xor", "white"): 0.35, ("xor", "smoothed"): 0.15,
    }[scenario, background]
    assert data.signal_strength == expected
    assert len(data.target_names) == 2 and scenario in data.DESCR
    n_pixels = 8 if scenario == "xor" else 4
    assert (data.masks.sum(axis=(1, 2)) == n_pixels).all()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pattern_and_background_have_unit_norm_and_combine_as_documented(scenario):
    a = 0.4
    kwargs = dict(n_samples=12, image_size=16, scenario=scenario, random_state=3)
    background = _signal(make_tetrominoes(signal_strength=0.0, **kwargs))
    data = make_tetrominoes(signal_strength=a, **kwargs)
    x = _signal(data)
    np.testing.assert_allclose((background**2).sum(axis=(1, 2)), 1.0, rtol=1e-5)
    if scenario == "multiplicative":
        # x = (1 - a * pattern) * background, pattern = the mask at unit norm
        unit_pattern = data.masks / np.sqrt(data.masks.sum(axis=(1, 2), keepdims=True))
        np.testing.assert_allclose(x, (1 - a * unit_pattern) * background, atol=1e-6)
        return
    pattern = (x - (1 - a) * background) / a
    np.testing.assert_allclose((pattern**2).sum(axis=(1, 2)), 1.0, rtol=1e-3)
    np.testing.assert_allclose(pattern[~data.masks], 0.0, atol=1e-5)
    np.testing.assert_allclose(
        np.abs(pattern[data.masks]), 1 / np.sqrt(data.masks[0].sum()), rtol=1e-3
    )
    if scenario == "xor":
        t_part = pattern[:, :8, :8]  # the T lies in the upper left, the L lower right
        l_part = pattern[:, 8:, 8:]
        same = np.sign(t_part.sum(axis=(1, 2))) == np.sign(l_part.sum(axis=(1, 2)))
        np.testing.assert_array_equal(same, data.target == 1)
        assert data.target_names == ["opposite signs", "same sign"]
    else:
        assert (pattern[data.masks] > 0).all()


def test_fixed_scenarios_place_t_and_l_at_fixed_cells_of_the_grid():
    data = make_tetrominoes(n_samples=20, image_size=16, random_state=0)
    t_masks, l_masks = data.masks[data.target == 0], data.masks[data.target == 1]
    assert (t_masks == t_masks[0]).all() and (l_masks == l_masks[0]).all()
    assert not (t_masks[0] & l_masks[0]).any()
    # a cell of a 16-pixel image is 2 x 2 pixels
    blocks = t_masks[0].reshape(8, 2, 8, 2)
    assert (blocks.all(axis=(1, 3)) == blocks.any(axis=(1, 3))).all()
    assert (_cropped_cells(t_masks[0], 2) == T_CELLS).all()
    assert (_cropped_cells(l_masks[0], 2) == L_CELLS).all()
    assert data.target_names == ["T", "L"]
    multiplicative = make_tetrominoes(n_samples=20, image_size=16, scenario="multiplicative",
                                      random_state=0)
    np.testing.assert_array_equal(multiplicative.masks, data.masks)


def test_translations_rotations_move_and_turn_the_pattern():
    data = make_tetrominoes(n_samples=60, image_size=16, scenario="translations_rotations",
                            random_state=0)
    for mask, label in zip(data.masks, data.target):
        assert _is_rotation_of(_cropped_cells(mask, 2), T_CELLS if label == 0 else L_CELLS)
    positions = {tuple(np.argwhere(mask)[0]) for mask in data.masks}
    assert len(positions) > 10
    orientations = {_cropped_cells(mask, 2).shape for mask in data.masks[data.target == 1]}
    assert orientations == {(3, 2), (2, 3)}


def test_smoothed_background_is_spatially_correlated():
    def neighbour_correlation(background):
        x = _signal(make_tetrominoes(n_samples=50, image_size=32, background=background,
                                     signal_strength=0.0, random_state=0))
        x = x - x.mean(axis=(1, 2), keepdims=True)
        return np.mean(x[:, :, 1:] * x[:, :, :-1]) / np.mean(x**2)

    assert abs(neighbour_correlation("white")) < 0.1
    assert neighbour_correlation("smoothed") > 0.9


def test_reproducible_with_random_state():
    first = make_tetrominoes(n_samples=10, scenario="xor", random_state=5)
    second = make_tetrominoes(n_samples=10, scenario="xor", random_state=5)
    other = make_tetrominoes(n_samples=10, scenario="xor", random_state=6)
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.target, second.target)
    assert not np.array_equal(first.images, other.images)


def test_a_linear_classifier_finds_the_linear_signal():
    from sklearn.linear_model import LogisticRegression

    train = make_tetrominoes(n_samples=400, random_state=0)
    test = make_tetrominoes(n_samples=200, random_state=1)
    model = LogisticRegression(max_iter=1000).fit(train.images.reshape(400, -1), train.target)
    assert model.score(test.images.reshape(200, -1), test.target) > 0.8


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_samples=1), "n_samples"),
        (dict(n_samples=2.5), "n_samples"),
        (dict(image_size=12), "multiple of 8"),
        (dict(image_size=0), "multiple of 8"),
        (dict(scenario="rigid"), "scenario must be one of"),
        (dict(background="pink"), "background must be one of"),
        (dict(signal_strength=1.5), "signal_strength"),
        (dict(signal_strength=True), "signal_strength"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_tetrominoes(**kwargs)
