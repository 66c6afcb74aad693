"""Argument checks shared by the data set generators."""

__all__ = ["check_object_scale"]


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
