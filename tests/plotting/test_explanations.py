import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from sklearn_p2p.plotting import plot_explanations  # noqa: E402


@pytest.fixture
def batch():
    rng = np.random.RandomState(0)
    # Values start at 1 so that no image pixel is black by itself.
    images = rng.randint(1, 256, size=(3, 12, 12, 3)).astype(np.uint8)
    masks = rng.rand(3, 12, 12) > 0.5
    segments = np.repeat(np.arange(4), 3)[None, :, None] * np.ones((3, 1, 12), int)
    return images, masks, segments


@pytest.fixture(autouse=True)
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def test_three_axes_per_image_and_titles(batch):
    images, masks, segments = batch
    titles = ["pred=a p=0.99 tau=0.15", "pred=b", "pred=c"]
    fig = plot_explanations(images, masks, segments=segments, titles=titles)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 9
    assert [fig.axes[3 * i + 2].get_title() for i in range(3)] == titles


def test_kept_panel_is_black_exactly_outside_mask(batch):
    images, masks, segments = batch
    fig = plot_explanations(images, masks, segments=segments)
    for i in range(len(images)):
        kept = np.asarray(fig.axes[3 * i + 2].images[0].get_array())
        black = np.all(kept == 0, axis=-1)
        np.testing.assert_array_equal(black, ~masks[i])
        np.testing.assert_allclose(kept[masks[i]], images[i][masks[i]] / 255.0)


def test_first_panel_is_image_and_middle_panel_shows_boundaries(batch):
    images, masks, segments = batch
    fig = plot_explanations(images, masks, segments=segments)
    first = np.asarray(fig.axes[0].images[0].get_array())
    np.testing.assert_allclose(first, images[0] / 255.0)
    middle_image = fig.axes[1].images[0]
    # The boundary panel may be upsampled, but shares the pixel coordinates
    # of the other panels.
    assert middle_image.get_extent() == fig.axes[0].images[0].get_extent()
    middle = np.asarray(middle_image.get_array())
    scale = middle.shape[0] // 12
    assert middle.shape == (12 * scale, 12 * scale, 3)
    yellow = np.all(middle == [1.0, 1.0, 0.0], axis=-1)
    # Segments 0 and 1 meet between image rows 2 and 3: a yellow line is
    # drawn there, and nowhere inside a segment's interior rows.
    near = yellow[3 * scale - 2:3 * scale + 2]
    assert near.all(axis=1).any()
    interior = slice(1 * scale, 2 * scale)
    assert not yellow[interior].any()
    np.testing.assert_allclose(
        middle[interior], np.repeat(np.repeat(first[1:2], scale, 0), scale, 1)
    )


def test_boundary_panel_outlines_mask_without_segments():
    images = np.full((1, 16, 16, 3), 0.5)
    masks = np.zeros((1, 16, 16), dtype=bool)
    masks[0, 4:12, 4:12] = True
    fig = plot_explanations(images, masks)
    middle = np.asarray(fig.axes[1].images[0].get_array())
    scale = middle.shape[0] // 16
    yellow = np.all(middle == [1.0, 1.0, 0.0], axis=-1)
    # Yellow exactly around the square's edge (within one upsampled pixel of
    # it), none far from it.
    assert yellow[4 * scale - 1:4 * scale + 1, 6 * scale].any()
    assert not yellow[: 3 * scale].any()
    assert not yellow[6 * scale:10 * scale, 6 * scale:10 * scale].any()


def test_without_segments_or_titles(batch):
    images, masks, _ = batch
    fig = plot_explanations(images, masks)
    assert len(fig.axes) == 9
    assert fig.axes[2].get_title() == f"kept {masks[0].mean():.0%}"


@pytest.mark.parametrize(
    "images",
    [
        np.random.RandomState(0).rand(2, 10, 10),
        np.random.RandomState(0).rand(2, 10, 10, 1),
        (np.random.RandomState(0).rand(2, 10, 10, 3) * 255).astype(np.uint8),
    ],
)
def test_accepts_grayscale_and_float(images):
    masks = np.ones((2, 10, 10), dtype=bool)
    fig = plot_explanations(images, masks)
    kept = np.asarray(fig.axes[2].images[0].get_array())
    assert kept.shape == (10, 10, 3)
    expected = images[0] / 255.0 if images.dtype == np.uint8 else images[0]
    expected = np.broadcast_to(expected.reshape(10, 10, -1), (10, 10, 3))
    np.testing.assert_allclose(kept, expected)


def test_n_cols_and_given_figure(batch):
    from matplotlib.figure import Figure

    images, masks, _ = batch
    fig = Figure()
    out = plot_explanations(images, masks, n_cols=2, fig=fig)
    assert out is fig
    assert len(fig.axes) == 9
    # Two images per row: the third image starts the second row.
    assert fig.axes[6].get_subplotspec().rowspan.start == 1
    assert fig.axes[3].get_subplotspec().colspan.start == 3


def test_does_not_modify_inputs(batch):
    images, masks, segments = batch
    copies = images.copy(), masks.copy(), segments.copy()
    plot_explanations(images, masks, segments=segments)
    for original, copy in zip((images, masks, segments), copies):
        np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"masks": np.ones((2, 12, 12), bool)}, "masks"),
        ({"masks": np.ones((3, 11, 12), bool)}, "masks"),
        ({"segments": np.zeros((2, 12, 12), int)}, "segments"),
        ({"segments": np.full((3, 12, 12), 0.5)}, "segments"),
        ({"titles": ["a", "b"]}, "titles"),
        ({"n_cols": 0}, "n_cols"),
        ({"images": np.ones((3, 12, 12, 2))}, "images"),
        ({"images": np.full((3, 12, 12, 3), 2.0)}, r"\[0, 1\]"),
        ({"images": np.full((3, 12, 12, 3), np.nan)}, "NaN"),
    ],
)
def test_invalid_input_raises(batch, change, match):
    images, masks, segments = batch
    kwargs = {"images": images, "masks": masks, "segments": segments}
    kwargs.update(change)
    images = kwargs.pop("images")
    masks = kwargs.pop("masks")
    with pytest.raises(ValueError, match=match):
        plot_explanations(images, masks, **kwargs)


def test_matplotlib_is_not_imported_at_module_level():
    import types

    from sklearn_p2p.plotting import _explanations

    modules = [
        value.__name__
        for value in vars(_explanations).values()
        if isinstance(value, types.ModuleType)
    ]
    lazy = ("matplotlib", "skimage")
    assert not [name for name in modules if name.split(".")[0] in lazy]
