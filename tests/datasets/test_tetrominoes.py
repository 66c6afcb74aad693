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
@pytest.mark.parametrize("background", ["white", "natural"])
def test_pattern_and_background_have_unit_norm_and_combine_as_documented(
    scenario, background
):
    a = 0.4
    kwargs = dict(n_samples=12, image_size=16, scenario=scenario, background=background,
                  random_state=3)
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
        # natural backgrounds need detail inside a cell and are never magnified
        (dict(background="natural"), "between 16 and 424.*got image_size=8.*image_size=64"),
        (dict(background="natural", image_size=432), "between 16 and 424.*got image_size=432"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_tetrominoes(**kwargs)


# ---------------------------------------------------------------------------
# Natural backgrounds: crops of the photos shipped with scikit-learn


def _fake_photos(monkeypatch):
    """Replace scikit-learn's sample photos by two known linear ramps.

    Photo 0: red = column ramp, blue = row ramp; photo 1 the other way round;
    green is 0. A box average of a plane is the plane at the box centres, so
    every background is a plane whose column / row slope ratio tells the photo
    and the luminance weights (0.299 red, 0.114 blue).
    """
    import sklearn.datasets
    from sklearn.utils import Bunch

    rows, cols = np.mgrid[:427, :640].astype(float)
    row_ramp, col_ramp, zero = rows / 426 * 255, cols / 639 * 255, np.zeros_like(rows)
    photos = [np.stack([col_ramp, zero, row_ramp], axis=-1),
              np.stack([row_ramp, zero, col_ramp], axis=-1)]
    monkeypatch.setattr(sklearn.datasets, "load_sample_images",
                        lambda: Bunch(images=photos, filenames=["a.jpg", "b.jpg"]))
    return (0.299 / 639) / (0.114 / 426), (0.114 / 639) / (0.299 / 426)


@pytest.mark.parametrize(
    "scenario, default",
    [("linear", 0.05), ("multiplicative", 1.0), ("translations_rotations", 0.3), ("xor", 0.1)],
)
def test_natural_background_shapes_range_and_defaults(scenario, default):
    data = make_tetrominoes(n_samples=11, image_size=64, scenario=scenario,
                            background="natural", random_state=0)
    assert data.images.shape == data.masks.shape == (11, 64, 64)
    assert data.images.dtype == np.float32 and data.masks.dtype == bool
    assert data.images.min() >= 0 and data.images.max() <= 1
    assert sorted(np.bincount(data.target).tolist()) == [5, 6]
    assert data.signal_strength == default
    assert "natural background" in data.DESCR and "china.jpg" in data.DESCR
    n_cells = 8 if scenario == "xor" else 4
    assert (data.masks.sum(axis=(1, 2)) == n_cells * 64).all()  # cells of 8 x 8 px


def test_natural_background_is_a_centred_unit_norm_smooth_crop():
    kwargs = dict(n_samples=40, image_size=64, background="natural", random_state=0)
    background = _signal(make_tetrominoes(signal_strength=0.0, **kwargs))
    np.testing.assert_allclose(background.mean(axis=(1, 2)), 0.0, atol=1e-6)
    np.testing.assert_allclose((background**2).sum(axis=(1, 2)), 1.0, rtol=1e-5)
    # a photo, not noise: neighbouring pixels are strongly correlated
    neighbours = np.mean(background[:, :, 1:] * background[:, :, :-1]) / np.mean(background**2)
    assert neighbours > 0.8
    # every image has its own crop: no two backgrounds alike
    flat = background.reshape(40, -1)
    distances = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
    assert distances[np.triu_indices(40, k=1)].min() > 0.05


def test_natural_background_is_reproducible_with_random_state():
    kwargs = dict(n_samples=8, image_size=32, background="natural", scenario="xor")
    first = make_tetrominoes(random_state=4, **kwargs)
    second = make_tetrominoes(random_state=4, **kwargs)
    other = make_tetrominoes(random_state=5, **kwargs)
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.target, second.target)
    assert not np.array_equal(first.images, other.images)


def test_natural_background_crops_both_photos_in_grayscale_with_flips(monkeypatch):
    ratio_0, ratio_1 = _fake_photos(monkeypatch)
    background = _signal(make_tetrominoes(n_samples=60, image_size=16, background="natural",
                                          signal_strength=0.0, random_state=0))
    down = background[:, -1, :] - background[:, 0, :]  # bottom row minus top row
    across = background[:, :, -1] - background[:, :, 0]  # right column minus left
    # a plane: the same step between the first and last row in every column
    np.testing.assert_allclose(down - down[:, :1], 0.0, atol=1e-5)
    assert (down[:, 0] > 0).all()  # never turned upside down
    flipped = across[:, 0] < 0
    assert 0 < flipped.sum() < 60  # left-right flips, not always
    ratio = np.abs(across[:, 0]) / down[:, 0]
    from_0 = np.isclose(ratio, ratio_0, rtol=1e-3)
    from_1 = np.isclose(ratio, ratio_1, rtol=1e-3)
    assert (from_0 | from_1).all()  # luminance 0.299 R + 0.587 G + 0.114 B
    assert from_0.any() and from_1.any()  # both photos are used


def test_natural_background_needs_no_network(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("make_tetrominoes tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    data = make_tetrominoes(n_samples=4, image_size=64, background="natural", random_state=0)
    assert data.images.shape == (4, 64, 64)


def test_a_linear_classifier_finds_the_signal_on_natural_backgrounds():
    from sklearn.linear_model import LogisticRegression

    kwargs = dict(image_size=32, background="natural", signal_strength=0.2)
    train = make_tetrominoes(n_samples=300, random_state=0, **kwargs)
    test = make_tetrominoes(n_samples=200, random_state=1, **kwargs)
    model = LogisticRegression(max_iter=1000).fit(train.images.reshape(300, -1), train.target)
    assert model.score(test.images.reshape(200, -1), test.target) > 0.8


def test_natural_background_crop_sizes_range_from_64_px_to_the_short_side(monkeypatch):
    import sklearn.datasets
    from sklearn.utils import Bunch

    # vertical stripes 32 px wide: a crop of side s holds about s / 32 stripe
    # boundaries, which stay sign changes of the centred, reduced background
    stripes = (np.arange(640) // 32 % 2 * 255.0)[None, :, None] * np.ones((427, 1, 3))
    monkeypatch.setattr(sklearn.datasets, "load_sample_images",
                        lambda: Bunch(images=[stripes, stripes], filenames=["a", "b"]))
    background = _signal(make_tetrominoes(n_samples=200, image_size=64, background="natural",
                                          signal_strength=0.0, random_state=0))
    changes = np.diff(background[:, 0, :] > 0, axis=1).sum(axis=1)
    assert 1 <= changes.min() <= 3  # crops from 64 px: 1 or 2 boundaries
    assert 11 <= changes.max() <= 14  # up to the photos' 427 px: 13 or 14
