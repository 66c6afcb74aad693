"""Validation of image batches and precomputed superpixel inputs.

Every public entry point of the package funnels user images through these
helpers, so that bad input fails early with a message that names the argument
and says how to fix it, instead of surfacing later as a torch shape error.
"""

import numpy as np

__all__ = [
    "check_images",
    "check_precomputed",
    "make_labels_contiguous",
    "pack_superpixels",
]

_SHAPE_HINT = (
    "(n_images, height, width, channels) with channels in {1, 3}, or "
    "(n_images, height, width) for grayscale"
)

# Label ids travel inside a float32 channel; integers above 2**24 would no
# longer be exact there.
_MAX_EXACT_FLOAT32_INT = 2**24


def _as_numeric_array(X, input_name):
    """Turn array-likes into an ndarray, with clear errors for ragged lists."""
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            raise ValueError(
                f"{input_name} contains 0 images; pass at least one image."
            )
        shapes = [np.shape(img) for img in X]
        first = shapes[0]
        for i, shape in enumerate(shapes):
            if shape != first:
                raise ValueError(
                    f"{input_name} contains images of different sizes: image 0 "
                    f"has shape {first} but image {i} has shape {shape}. Resize "
                    "them to a common size first (e.g. with "
                    "skimage.transform.resize)."
                )
    try:
        X = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{input_name} could not be converted to a numeric array of images "
            f"with shape {_SHAPE_HINT}: {exc}"
        ) from exc
    if X.dtype == bool:
        return X
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(
        X.dtype, np.complexfloating
    ):
        raise ValueError(
            f"{input_name} must hold real numbers (uint8 in [0, 255] or float in "
            f"[0, 1]), got dtype {X.dtype}."
        )
    return X


def _check_shape(X, input_name):
    """Validate the layout of an image batch and return it as (n, H, W, C)."""
    shape = X.shape
    if X.ndim == 3 and shape[-1] in (3, 4) and shape[-2] > 4:
        # A lone (H, W, 3) image would otherwise be read as H grayscale images
        # of width 3, which silently produces nonsense superpixels. Grayscale
        # images only 3 or 4 pixels wide but taller than that are not worth
        # the risk; tiny square ones such as (n, 4, 4) stay allowed.
        raise ValueError(
            f"{input_name} has shape {shape}, which looks like a single "
            f"{'RGB' if shape[-1] == 3 else 'RGBA'} image. {input_name} must be "
            f"a batch of images with shape {_SHAPE_HINT}; for one image pass "
            f"{input_name}[np.newaxis]."
        )
    if X.ndim == 3:
        X = X[..., np.newaxis]
    elif X.ndim != 4:
        hint = ""
        if X.ndim == 2:
            hint = (
                f" If {input_name} is one grayscale image, pass "
                f"{input_name}[np.newaxis]; if it holds flattened images, reshape "
                f"it, e.g. {input_name}.reshape(-1, 28, 28)."
            )
        raise ValueError(
            f"{input_name} must be a batch of images with shape {_SHAPE_HINT}, "
            f"got an array with {X.ndim} dimension(s) and shape {shape}.{hint}"
        )
    n, height, width, channels = X.shape
    if n == 0:
        raise ValueError(f"{input_name} contains 0 images; pass at least one image.")
    if height == 0 or width == 0:
        raise ValueError(
            f"{input_name} has images of size {height}x{width}; images must have "
            "at least one pixel."
        )
    if channels not in (1, 3):
        if channels == 4:
            fix = (
                f" It looks like RGBA; drop the alpha channel with "
                f"{input_name}[..., :3]."
            )
        else:
            fix = " Convert the images to RGB or grayscale."
        raise ValueError(
            f"{input_name} has {channels} channels in its last dimension, but "
            f"images must have shape {_SHAPE_HINT}.{fix}"
        )
    return X


def check_images(X, *, input_name="X"):
    """Validate a batch of images and scale it to float32 in [0, 1].

    Parameters
    ----------
    X : array-like of shape (n_images, height, width, channels) or \
            (n_images, height, width)
        Channel-last images with 1 or 3 channels, or grayscale images without
        a channel axis. A list of equally sized images also works. Accepted
        value ranges: ``uint8`` (and any other integer dtype) in [0, 255],
        which is divided by 255; ``bool``, mapped to 0 and 1; floats in
        [0, 1], kept as they are.
    input_name : str, default="X"
        Name of the argument, used in error messages.

    Returns
    -------
    images : ndarray of shape (n_images, height, width, channels), dtype float32
        A new C-contiguous array; grayscale input gets ``channels=1``. The
        input is never modified.

    Raises
    ------
    ValueError
        If the shape, channel count, dtype or value range is not one of the
        above, if there are NaN or infinite values, if the images in a list
        have different sizes or if there are no images. The message names
        ``input_name`` and says how to fix the input.

    Notes
    -----
    A 3-d array whose last axis has length 3 or 4 and whose second axis is
    longer than 4, such as ``(480, 640, 3)``, is rejected as a probable single
    colour image rather than read as grayscale images 3 or 4 pixels wide.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.utils import check_images
    >>> X = np.full((2, 4, 4, 3), 255, dtype=np.uint8)
    >>> images = check_images(X)
    >>> images.shape, images.dtype, float(images.max())
    ((2, 4, 4, 3), dtype('float32'), 1.0)
    >>> check_images(np.zeros((2, 4, 4))).shape
    (2, 4, 4, 1)
    """
    X = _as_numeric_array(X, input_name)
    X = _check_shape(X, input_name)

    if X.dtype == bool:
        return X.astype(np.float32)

    # min/max propagate NaN and expose inf, which saves a full isfinite mask.
    x_min = X.min()
    x_max = X.max()
    if np.issubdtype(X.dtype, np.floating):
        if not (np.isfinite(x_min) and np.isfinite(x_max)):
            raise ValueError(
                f"{input_name} contains NaN or infinite values; images must be "
                "finite. Replace or drop the affected images."
            )
    if x_min < 0:
        raise ValueError(
            f"{input_name} contains negative values (min {x_min:g}); images must "
            "be uint8 in [0, 255] or float in [0, 1]. If they were normalized "
            "(e.g. mean/std), pass the unnormalized images: normalization "
            "happens internally."
        )

    if np.issubdtype(X.dtype, np.integer):
        if x_max > 255:
            raise ValueError(
                f"{input_name} is an integer array with values up to {x_max}; "
                "integer images must be in [0, 255]. Rescale them, e.g. 16-bit "
                f"images with {input_name} / 65535 to float in [0, 1]."
            )
        # Dividing in float32 gives the same values as uint8 -> float64 / 255
        # -> float32, so uint8 and float inputs segment identically.
        images = X.astype(np.float32)
        images /= np.float32(255)
        return images

    if x_max > 1:
        raise ValueError(
            f"{input_name} is a float array with values up to {x_max:g}, which "
            "looks like 0-255 data; float images must be in [0, 1]. Pass uint8 "
            f"or divide by 255 ({input_name} / 255)."
        )
    return np.array(X, dtype=np.float32, order="C", copy=True)


def _check_label_maps(segments, input_name):
    """Validate label maps and return them as int64 with contiguous ids."""
    if segments.dtype == bool or not np.issubdtype(segments.dtype, np.number):
        raise ValueError(
            f"{input_name} must hold integer superpixel labels, got dtype "
            f"{segments.dtype}."
        )
    if np.issubdtype(segments.dtype, np.floating):
        if np.isnan(segments).any():
            raise ValueError(
                f"{input_name} contains NaN superpixel labels; labels must be "
                "non-negative integers."
            )
        if not np.all(np.isfinite(segments)) or not np.all(
            segments == np.round(segments)
        ):
            raise ValueError(
                f"{input_name} contains non-integral superpixel labels; labels "
                "must be non-negative integers (is this really the output of "
                "SuperpixelTransformer?)."
            )
    if segments.min() < 0:
        raise ValueError(
            f"{input_name} contains negative superpixel labels (min "
            f"{segments.min():g}); labels must be non-negative integers."
        )
    if segments.max() >= _MAX_EXACT_FLOAT32_INT:
        raise ValueError(
            f"{input_name} contains superpixel labels up to {segments.max():g}; "
            f"labels must be below 2**24 to be exact in float32."
        )
    return make_labels_contiguous(segments.astype(np.int64))


def make_labels_contiguous(segments):
    """Relabel each label map so that its ids are exactly 0..D-1.

    The order of the ids is kept. Label maps that are already contiguous are
    returned unchanged (the same object).

    Parameters
    ----------
    segments : ndarray of shape (n_images, height, width), integer dtype
        Non-negative label maps.

    Returns
    -------
    segments : ndarray of shape (n_images, height, width)
        Label maps whose ids are contiguous per image.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.utils import make_labels_contiguous
    >>> make_labels_contiguous(np.array([[[0, 5], [5, 9]]])).tolist()
    [[[0, 1], [1, 2]]]
    """
    out = segments
    for i, seg in enumerate(segments):
        # bincount is linear in the number of pixels, much cheaper than the
        # sort inside np.unique(return_inverse=True) on large images.
        present = np.bincount(seg.ravel()) > 0
        if present.all():
            continue
        if out is segments:
            out = segments.copy()
        new_ids = np.cumsum(present) - 1
        out[i] = new_ids[seg]
    return out


def check_precomputed(X, *, input_name="X"):
    """Split the output of ``SuperpixelTransformer`` into images and label maps.

    Parameters
    ----------
    X : array-like of shape (n_images, height, width, channels + 1)
        Images in [0, 1] with 1 or 3 channels, followed by one channel that
        holds an integer superpixel label map, as returned by
        :meth:`SuperpixelTransformer.transform
        <sklearn_p2p.SuperpixelTransformer.transform>` or
        :func:`pack_superpixels`.
    input_name : str, default="X"
        Name of the argument, used in error messages.

    Returns
    -------
    images : ndarray of shape (n_images, height, width, channels), dtype float32
        The image channels, validated with :func:`check_images`.
    segments : ndarray of shape (n_images, height, width), dtype int64
        The label maps, relabelled to contiguous ids 0..D-1 per image where
        they were not (the partition into regions is unchanged).

    Raises
    ------
    ValueError
        If the last dimension is not 2 or 4 (for example raw images passed
        where precomputed superpixels were expected), or if the labels are not
        non-negative integers.

    See Also
    --------
    pack_superpixels : The inverse operation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.utils import check_precomputed, pack_superpixels
    >>> images = np.zeros((2, 4, 4, 3), dtype=np.float32)
    >>> segments = np.zeros((2, 4, 4), dtype=np.int64)
    >>> segments[:, :, 2:] = 1
    >>> X = pack_superpixels(images, segments)
    >>> X.shape
    (2, 4, 4, 4)
    >>> images_back, segments_back = check_precomputed(X)
    >>> bool((segments_back == segments).all())
    True
    """
    X = _as_numeric_array(X, input_name)
    if X.ndim != 4 or X.shape[-1] not in (2, 4):
        raise ValueError(
            f"{input_name} must be the output of SuperpixelTransformer, with shape "
            "(n_images, height, width, channels + 1): the image channels (1 or 3) "
            f"followed by the superpixel label map; got shape {X.shape}. Did you "
            "forget the SuperpixelTransformer step in the pipeline, or mean "
            "superpixels=SuperpixelTransformer() instead of "
            "superpixels='precomputed'?"
        )
    images = check_images(X[..., :-1], input_name=input_name)
    segments = _check_label_maps(X[..., -1], f"the label channel of {input_name}")
    return images, segments


def pack_superpixels(images, segments):
    """Stack images and their label maps into one float32 array.

    This is the format returned by ``SuperpixelTransformer.transform`` and
    accepted by ``superpixels="precomputed"``: a plain ndarray, so that
    pipelines, cross-validation splitting and caching keep working.

    Parameters
    ----------
    images : array-like of shape (n_images, height, width, channels) or \
            (n_images, height, width)
        Images accepted by :func:`check_images`.
    segments : array-like of shape (n_images, height, width)
        Non-negative integer label maps, one per image.

    Returns
    -------
    X : ndarray of shape (n_images, height, width, channels + 1), dtype float32
        The images scaled to [0, 1] with the label map as the last channel.
        Label ids are made contiguous (0..D-1) per image.

    See Also
    --------
    check_precomputed : The inverse operation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.utils import pack_superpixels
    >>> images = np.zeros((1, 2, 2), dtype=np.uint8)
    >>> X = pack_superpixels(images, np.array([[[0, 0], [1, 1]]]))
    >>> X.shape, X.dtype
    ((1, 2, 2, 2), dtype('float32'))
    >>> X[0, :, :, -1].tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """
    images = check_images(images, input_name="images")
    segments = _as_numeric_array(segments, "segments")
    if segments.shape != images.shape[:3]:
        raise ValueError(
            f"segments must have shape (n_images, height, width) = "
            f"{images.shape[:3]} to match images, got {segments.shape}."
        )
    segments = _check_label_maps(segments, "segments")
    return np.concatenate(
        [images, segments[..., np.newaxis].astype(np.float32)], axis=-1
    )

