"""Argument checks and rendering shared by the data set generators."""

import numbers

import numpy as np

__all__ = [
    "balanced_target",
    "check_counts",
    "check_object_scale",
    "is_int",
    "render_in_chunks",
]

# Rendering works on float32 arrays of shape (chunk, H, W, 3); bounding the
# number of pixels per chunk bounds the memory used for large images.
_PIXELS_PER_CHUNK = 1 << 21


def is_int(value):
    """Whether ``value`` is an integer; ``True`` and ``False`` are not."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_counts(n_samples, image_size, n_classes, max_classes, class_hint):
    """Validate the image and class counts that every generator takes.

    ``class_hint`` says, in the error message, what a class is.
    """
    if not is_int(n_classes) or not 2 <= n_classes <= max_classes:
        raise ValueError(
            f"n_classes must be an integer between 2 and {max_classes} "
            f"({class_hint}); got {n_classes!r}."
        )
    if not is_int(n_samples) or n_samples < n_classes:
        raise ValueError(
            "n_samples must be an integer >= n_classes so that every class "
            f"occurs; got n_samples={n_samples!r} with n_classes={n_classes}."
        )
    if not is_int(image_size) or image_size < 16:
        raise ValueError(f"image_size must be an integer >= 16; got {image_size!r}.")


def check_object_scale(object_scale, image_size, min_pixels, object_name):
    """Validate ``object_scale = (min, max)`` fractions of the image side.

    Returns the pair as floats; the smallest object must still span
    ``min_pixels`` pixels so that a ``object_name`` stays recognisable.
    """
    try:
        lo, hi = (float(s) for s in object_scale)
    except (TypeError, ValueError):
        raise ValueError(
            "object_scale must be a pair (min, max) of fractions of the image "
            f"side; got {object_scale!r}."
        ) from None
    if not (0.0 < lo <= hi <= 1.0):
        raise ValueError(
            "object_scale must satisfy 0 < min <= max <= 1 (fractions of the "
            f"image side); got {object_scale!r}."
        )
    if lo * image_size < min_pixels:
        raise ValueError(
            f"object_scale[0] * image_size = {lo * image_size:.2f} pixels is too "
            f"small to draw a recognisable {object_name}; it must be >= "
            f"{min_pixels:g}. Increase object_scale[0] or image_size."
        )
    return lo, hi


def balanced_target(rng, n_samples, n_classes):
    """Classes in random order whose counts differ by at most one."""
    target = np.arange(n_samples, dtype=np.int64) % n_classes
    rng.shuffle(target)
    return target


def render_in_chunks(render_chunk, n_samples, size):
    """Uint8 RGB images and bool masks of ``n_samples`` square images.

    ``render_chunk(sl)`` returns the images and masks of the images in the
    slice ``sl``; it is called on consecutive slices, in order.
    """
    images = np.empty((n_samples, size, size, 3), dtype=np.uint8)
    masks = np.empty((n_samples, size, size), dtype=bool)
    chunk = max(1, _PIXELS_PER_CHUNK // (size * size))
    for start in range(0, n_samples, chunk):
        sl = slice(start, min(start + chunk, n_samples))
        images[sl], masks[sl] = render_chunk(sl)
    return images, masks
