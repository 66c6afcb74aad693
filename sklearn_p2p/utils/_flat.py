"""Flattened images: rows of ``H * W * C`` values read as ``(H, W, C)`` images.

scikit-learn's tabular world stores an image as one row (``load_digits``,
``fetch_openml("mnist_784")``); the ``image_shape`` parameter of every
estimator says how to read such rows. This module does the reading and
makes errors about the images say how the rows were read.
"""

import contextlib

from ._validation import as_image_array

__all__ = ["reading_flat_input", "unflatten_images", "unflatten_rows"]


def _resolve_image_shape(image_shape, n_values, n_extra_channels, input_name):
    """``(H, W, C)`` of flattened rows of ``n_values`` numbers each.

    ``image_shape`` is ``(H, W)`` (grayscale) or ``(H, W, C)``; one of H and W
    may be -1, inferred from ``n_values`` as in :func:`numpy.reshape`.
    """
    height, width, *rest = image_shape
    channels = rest[0] if rest else 1
    per_pixel = channels + n_extra_channels
    known = per_pixel * (height if height != -1 else 1) * (width if width != -1 else 1)
    if -1 in (height, width):
        if n_values % known or n_values == 0:
            raise ValueError(
                f"{input_name} has {n_values} values per row, which cannot be "
                f"reshaped to image_shape={tuple(image_shape)}"
                f"{f' plus {n_extra_channels} label channel' if n_extra_channels else ''}; "
                f"the number of values must be a multiple of {known}."
            )
        if height == -1:
            height = n_values // known
        else:
            width = n_values // known
    elif n_values != known:
        extra = (
            f" ({channels} image channel(s) and {n_extra_channels} superpixel "
            "label channel per pixel)" if n_extra_channels else ""
        )
        raise ValueError(
            f"{input_name} has {n_values} values per row, but image_shape="
            f"{tuple(image_shape)} needs {height}x{width}x{per_pixel} = {known}"
            f"{extra}. Set image_shape to the size of the flattened images."
        )
    return height, width, per_pixel


def unflatten_images(X, image_shape, *, n_extra_channels=0, input_name="X"):
    """Reshape flattened images ``(n, H*W*C)`` into ``(n, H, W, C)``.

    Rows are read in C order, channel last, which is how ``(n, H, W, C)``
    arrays (and scikit-learn's digits) are flattened. Anything that is not a
    2-d array is returned as it is, for :func:`check_images` to validate.

    Parameters
    ----------
    X : array-like
        Flattened images of shape ``(n_images, H * W * (C + n_extra_channels))``,
        or image batches (returned unchanged).
    image_shape : tuple of int or None
        ``(H, W)`` for grayscale or ``(H, W, C)`` with C in {1, 3}; one of H
        and W may be -1 to infer it from the number of columns. None: X is
        returned unchanged.
    n_extra_channels : int, default=0
        Channels per pixel beyond the image's, e.g. 1 for the superpixel
        label channel of precomputed input.
    input_name : str, default="X"
        Name of the argument, used in error messages.

    Returns
    -------
    X : ndarray or the input
        X as an array, reshaped (a view) when it was 2-d and ``image_shape``
        is set; the input itself when ``image_shape`` is None.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.utils import unflatten_images
    >>> unflatten_images(np.zeros((5, 64)), (8, 8)).shape
    (5, 8, 8, 1)
    >>> unflatten_images(np.zeros((5, 48)), (4, -1, 3)).shape
    (5, 4, 4, 3)
    """
    return unflatten_rows(X, image_shape, n_extra_channels, input_name)[0]


def unflatten_rows(X, image_shape, n_extra_channels, input_name):
    """:func:`unflatten_images`, also telling whether X was flattened."""
    if image_shape is None:
        return X, False
    X = as_image_array(X, input_name)
    if X.ndim != 2:
        return X, False
    if X.shape[1] == 0:
        raise ValueError(
            f"{input_name} has 0 feature(s) (shape={X.shape}) while a minimum of "
            "1 is required: flattened images need at least one value per row."
        )
    height, width, per_pixel = _resolve_image_shape(
        image_shape, X.shape[1], n_extra_channels, input_name
    )
    return X.reshape(X.shape[0], height, width, per_pixel), True


@contextlib.contextmanager
def reading_flat_input(n_features, images_shape, image_shape):
    """Say how flattened rows were read in ValueErrors raised in the block.

    An error about the images (e.g. too few pixels for ``n_segments``) would
    otherwise speak of images the user never passed. ``n_features`` is None
    for image batches, which leaves errors as they are.
    """
    if n_features is None:
        yield
        return
    try:
        yield
    except ValueError as exc:
        raise ValueError(
            f"{exc} (X has {n_features} feature(s) per row, read as images of "
            f"shape {tuple(images_shape)} because image_shape={tuple(image_shape)}.)"
        ) from exc
