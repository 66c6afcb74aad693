"""Validation of image batches and precomputed superpixel inputs.

Every public entry point of the package funnels user images through these
helpers, so that bad input fails early with a message that names the argument
and says how to fix it, instead of surfacing later as a torch shape error.
"""

import contextlib

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


def as_image_array(X, input_name="X"):
    """X as a numeric ndarray (no copy when it is one), before shape checks.

    Lists of images of different sizes, sparse matrices, complex numbers and
    non-numeric entries are rejected with a message naming ``input_name``.
    """
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
    if hasattr(X, "toarray") and hasattr(X, "nnz"):  # scipy.sparse
        raise TypeError(
            f"{input_name} is a sparse matrix, but images must be dense arrays "
            f"(sparse input is not supported). Convert it with {input_name}.toarray()."
        )
    try:
        X = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{input_name} could not be converted to a numeric array of images "
            f"with shape {_SHAPE_HINT}: {exc}"
        ) from exc
    if X.dtype == object:
        # E.g. a pandas frame with mixed columns: numbers in object cells are
        # fine, anything else is not an image.
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{input_name} has dtype object with entries that are not "
                f"numbers ({exc}); images must hold real numbers."
            ) from exc
    if X.dtype == bool:
        return X
    if np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(
            f"Complex data not supported: {input_name} has dtype {X.dtype}; "
            "images must hold real numbers."
        )
    if not np.issubdtype(X.dtype, np.number):
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
        if X.ndim == 1:
            hint = (
                f" Reshape your data: {input_name}.reshape(1, -1) if it is one "
                "flattened image (with the image_shape parameter set)."
            )
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


def check_images(X, *, value_range=None, input_name="X"):
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
    value_range : tuple (low, high), default=None
        Instead of the rules above, map values in ``[low, high]`` linearly
        onto [0, 1], whatever the dtype: ``(0, 255)`` for 8-bit intensities
        stored as floats, ``(0, 16)`` for :func:`sklearn.datasets.load_digits`,
        ``(0, 4095)`` for 12-bit images. Values outside are an error.
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
    >>> float(check_images(np.full((1, 4, 4), 8.0), value_range=(0, 16)).max())
    0.5
    """
    X = as_image_array(X, input_name)
    X = _check_shape(X, input_name)
    if value_range is not None:
        return _rescale_from(X, value_range, input_name)

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
            f"Negative values in data passed to {input_name} (min {x_min:g}); "
            "images must be uint8 in [0, 255] or float in [0, 1]. If they were "
            "normalized (e.g. mean/std), pass the unnormalized images: "
            "normalization happens internally. For another range, set "
            "value_range=(low, high)."
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
            "looks like 0-255 data; float images must be in [0, 1]. Pass uint8, "
            f"divide by 255 ({input_name} / 255), or set value_range=(0, 255) "
            "(any (low, high) the data come in)."
        )
    return np.array(X, dtype=np.float32, order="C", copy=True)


def _is_valid_value_range(value_range):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        return False
    low, high = value_range
    if not all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
               for v in (low, high)):
        return False
    return bool(np.isfinite(low) and np.isfinite(high) and low < high)


def check_value_range_param(value_range, caller_name):
    """Validate a ``value_range`` parameter; raise scikit-learn-style errors."""
    if value_range is not None and not _is_valid_value_range(value_range):
        raise ValueError(
            f"The 'value_range' parameter of {caller_name} must be None or "
            f"(low, high) with finite numbers low < high. Got {value_range!r} "
            "instead."
        )


def _rescale_from(X, value_range, input_name):
    """Map ``X`` from ``value_range`` onto [0, 1] as float32, after checks."""
    if not _is_valid_value_range(value_range):
        raise ValueError(
            f"value_range must be (low, high) with finite numbers low < high; "
            f"got {value_range!r}."
        )
    low, high = value_range
    if X.dtype == bool:
        X = X.astype(np.float32)
    x_min, x_max = X.min(), X.max()
    if not (np.isfinite(x_min) and np.isfinite(x_max)):
        raise ValueError(
            f"{input_name} contains NaN or infinite values; images must be "
            "finite. Replace or drop the affected images."
        )
    if x_min < low or x_max > high:
        negative = "Negative values in data: " if x_min < 0 <= low else ""
        raise ValueError(
            f"{negative}{input_name} has values in [{x_min:g}, {x_max:g}], outside "
            f"value_range={tuple(value_range)}. Set value_range to the range "
            "the data can take (e.g. (0, 255) for 8-bit intensities)."
        )
    scale = np.float64(high) - np.float64(low)
    return ((X.astype(np.float64) - low) / scale).astype(np.float32)


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
    segments : ndarray of int, shape (n_images, height, width)
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
    n_images = len(segments)
    if n_images == 0 or segments.size == 0:
        return segments
    flat = segments.reshape(n_images, -1)
    n_ids = int(flat.max()) + 1
    # One bincount for the whole batch, each image's ids shifted into its own
    # range: linear in the number of pixels, without a loop over images
    # (np.unique(return_inverse=True) would sort every image instead).
    shifted = flat + np.arange(n_images, dtype=flat.dtype)[:, None] * n_ids
    present = np.bincount(shifted.ravel(), minlength=n_images * n_ids)
    present = present.reshape(n_images, n_ids) > 0
    # Ids are contiguous iff the largest present id is the count minus one.
    largest = n_ids - 1 - np.argmax(present[:, ::-1], axis=1)
    gappy = present.sum(axis=1) != largest + 1
    if not gappy.any():
        return segments
    new_ids = np.cumsum(present[gappy], axis=1) - 1
    out = segments.copy()
    out[gappy] = np.take_along_axis(new_ids, flat[gappy], axis=1).reshape(
        out[gappy].shape
    ).astype(segments.dtype, copy=False)
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
    X = as_image_array(X, input_name)
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
    segments = as_image_array(segments, "segments")
    if segments.shape != images.shape[:3]:
        raise ValueError(
            f"segments must have shape (n_images, height, width) = "
            f"{images.shape[:3]} to match images, got {segments.shape}."
        )
    segments = _check_label_maps(segments, "segments")
    return np.concatenate(
        [images, segments[..., np.newaxis].astype(np.float32)], axis=-1
    )


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
    return _unflatten(X, image_shape, n_extra_channels, input_name)[0]


def _unflatten(X, image_shape, n_extra_channels, input_name):
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


def unflatten_checked(estimator, X, *, n_extra_channels=0, reset):
    """Unflatten X with ``estimator.image_shape`` and record/check its width.

    Returns X as an array (images reshaped when X was flattened) and the
    column count of flattened X, None for image batches.
    """
    X, flat_input = _unflatten(X, estimator.image_shape, n_extra_channels, "X")
    n_features = int(np.prod(X.shape[1:])) if flat_input else None
    check_flat_n_features(estimator, n_features, reset=reset)
    return X, n_features


def check_flat_n_features(estimator, n_features, *, reset):
    """Record or check ``n_features_in_``, the width of flattened input.

    ``n_features`` is the number of columns of flattened input, or None for
    image batches, whose size is checked elsewhere.
    """
    if reset:
        if n_features is None:
            estimator.__dict__.pop("n_features_in_", None)
        else:
            estimator.n_features_in_ = n_features
        return
    expected = getattr(estimator, "n_features_in_", None)
    if n_features is not None and expected is not None and n_features != expected:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is "
            f"expecting {expected} features as input: flattened images must "
            "have the size seen in fit."
        )


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


def check_image_shape_param(image_shape, caller_name):
    """Validate an ``image_shape`` parameter; raise scikit-learn-style errors."""
    if image_shape is None:
        return
    message = (
        f"The 'image_shape' parameter of {caller_name} must be None, (height, "
        "width) or (height, width, channels) with positive integers (one of "
        f"height and width may be -1) and channels in {{1, 3}}. Got "
        f"{image_shape!r} instead."
    )
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) not in (2, 3):
        raise ValueError(message)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
               for v in image_shape):
        raise ValueError(message)
    height, width, *rest = image_shape
    if any(v == 0 or v < -1 for v in (height, width)) or (height == width == -1):
        raise ValueError(message)
    if rest and rest[0] not in (1, 3):
        raise ValueError(message)
