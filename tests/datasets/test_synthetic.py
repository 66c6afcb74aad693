import numpy as np
import pytest

from sklearn_p2p.datasets import make_cluttered_objects


def test_shapes_dtypes_and_names():
    data = make_cluttered_objects(12, image_size=24, n_classes=3, random_state=0)
    assert data.images.shape == (12, 24, 24, 3)
    assert data.images.dtype == np.uint8
    assert data.target.shape == (12,)
    assert data.target.dtype == np.int64
    assert data.masks.shape == (12, 24, 24)
    assert data.masks.dtype == bool
    assert data.target_names == ["circle", "square", "triangle"]
    assert set(data.target.tolist()) == {0, 1, 2}
    assert isinstance(data.DESCR, str) and "circle, square, triangle" in data.DESCR


@pytest.mark.parametrize("n_classes", [2, 6, 8])
def test_target_names_are_distinct_shapes(n_classes):
    data = make_cluttered_objects(n_classes, n_classes=n_classes, random_state=0)
    assert len(data.target_names) == n_classes
    assert len(set(data.target_names)) == n_classes
    assert all(isinstance(name, str) for name in data.target_names)


def test_reproducible_with_same_seed_and_different_with_another():
    a = make_cluttered_objects(20, random_state=42)
    b = make_cluttered_objects(20, random_state=42)
    c = make_cluttered_objects(20, random_state=43)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.masks, b.masks)
    np.testing.assert_array_equal(a.target, b.target)
    assert not np.array_equal(a.images, c.images)
    assert not np.array_equal(a.masks, c.masks)


def test_random_state_instance_is_consumed():
    rng = np.random.RandomState(0)
    first = make_cluttered_objects(8, random_state=rng)
    second = make_cluttered_objects(8, random_state=rng)
    assert not np.array_equal(first.images, second.images)


@pytest.mark.parametrize("n_samples, n_classes", [(100, 4), (103, 4), (30, 7)])
def test_classes_are_balanced(n_samples, n_classes):
    data = make_cluttered_objects(n_samples, n_classes=n_classes, random_state=0)
    counts = np.bincount(data.target, minlength=n_classes)
    assert counts.sum() == n_samples
    assert counts.max() - counts.min() <= 1


def test_classes_are_shuffled():
    data = make_cluttered_objects(40, n_classes=4, random_state=0)
    assert not np.array_equal(data.target, np.arange(40) % 4)


@pytest.mark.parametrize("object_scale", [(0.3, 0.5), (0.6, 0.6), (0.9, 1.0)])
def test_masks_non_empty_inside_image_and_sized(object_scale):
    size = 40
    data = make_cluttered_objects(
        64, image_size=size, n_classes=8, object_scale=object_scale, random_state=0
    )
    areas = data.masks.sum(axis=(1, 2))
    assert np.all(areas > 0)
    lo, hi = object_scale
    fraction = areas / size**2
    # Every shape fills between ~35% (x, frame, ring) and 100% (square) of its
    # bounding box, whose side is object_scale * image_size.
    assert np.all(fraction >= 0.3 * lo**2)
    assert np.all(fraction <= hi**2 + 2.5 / size)
    # The bounding box of the mask never exceeds the drawn scale.
    for mask in data.masks:
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        assert rows[-1] - rows[0] + 1 <= np.ceil(hi * size) + 1
        assert cols[-1] - cols[0] + 1 <= np.ceil(hi * size) + 1


def test_whole_object_fits_inside_image():
    # Full-size objects must still be drawn entirely: the square then covers
    # the whole image and the circle touches all four borders.
    data = make_cluttered_objects(
        10, image_size=20, n_classes=2, object_scale=(1.0, 1.0), random_state=0
    )
    for mask, label in zip(data.masks, data.target):
        if data.target_names[label] == "square":
            assert mask.all()
        else:
            assert mask[0].any() and mask[-1].any()
            assert mask[:, 0].any() and mask[:, -1].any()
            assert not mask[0, 0]


def test_object_has_a_single_colour_inside_its_mask():
    data = make_cluttered_objects(50, n_classes=8, random_state=0)
    for image, mask in zip(data.images, data.masks):
        pixels = image[mask]
        assert np.all(pixels == pixels[0])
        # The mask is exact: the object colour does not extend along the
        # whole one-pixel border of the mask (the background is textured).
        ring = _dilate(mask) & ~mask
        outside = image[ring]
        assert not np.all(outside == pixels[0])


def _dilate(mask):
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def test_clutter_is_present_and_controlled():
    clean = make_cluttered_objects(20, n_clutter=0, random_state=0)
    busy = make_cluttered_objects(20, n_clutter=12, random_state=0)
    # Distractors are flat-coloured, so they create runs of identical
    # neighbouring pixels outside the object; the noisy background rarely does.
    assert _flat_outside_fraction(busy) > _flat_outside_fraction(clean) + 0.02


def _flat_outside_fraction(data):
    same = np.all(data.images[:, :, 1:] == data.images[:, :, :-1], axis=-1)
    outside = ~(data.masks[:, :, 1:] | data.masks[:, :, :-1])
    return same[outside].mean()


def test_object_colour_is_not_class_specific():
    data = make_cluttered_objects(200, n_classes=2, random_state=0)
    colours = np.array([img[m][0] for img, m in zip(data.images, data.masks)])
    means = [colours[data.target == k].mean(axis=0) for k in range(2)]
    # Both classes span the colour cube with about the same mean colour.
    assert np.abs(means[0] - means[1]).max() < 40
    assert colours.std(axis=0).min() > 50


def test_is_fast():
    import time

    start = time.perf_counter()
    make_cluttered_objects(500, random_state=0)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_classes": 1}, "n_classes"),
        ({"n_classes": 9}, "n_classes"),
        ({"n_classes": 2.5}, "n_classes"),
        ({"image_size": 15}, "image_size"),
        ({"image_size": 32.0}, "image_size"),
        ({"object_scale": (0.0, 0.5)}, "object_scale"),
        ({"object_scale": (0.5, 0.3)}, "object_scale"),
        ({"object_scale": (0.3, 1.2)}, "object_scale"),
        ({"object_scale": 0.3}, "object_scale"),
        ({"object_scale": (0.1, 0.2), "image_size": 16}, "object_scale"),
        ({"n_samples": 3, "n_classes": 4}, "n_samples"),
        ({"n_samples": 10.0}, "n_samples"),
        ({"n_clutter": -1}, "n_clutter"),
    ],
)
def test_invalid_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_cluttered_objects(**kwargs)
