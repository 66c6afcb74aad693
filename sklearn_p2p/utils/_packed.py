"""The packed layout: images and their superpixel label maps in one array.

``SuperpixelTransformer.transform`` returns, ``superpixels="precomputed"``
takes and the networks of :mod:`sklearn_p2p.nn` read float32 arrays of shape
``(n, H, W, C + 1)``: the image channels in [0, 1] followed by the label map,
ids ``0 .. D - 1`` per image (exact in float32). A plain ndarray keeps
Pipelines, cross-validation indexing and ``Pipeline(memory=...)`` working.
This module is the one place that builds, splits and checks that layout.
"""

import numpy as np

from ._validation import as_image_array, validated_images

__all__ = [
    "check_precomputed",
    "make_labels_contiguous",
    "pack_superpixels",
    "unpack",
    "validated_packed",
]

# Label ids travel inside a float32 channel; integers above 2**24 would no
# longer be exact there.
_MAX_EXACT_FLOAT32_INT = 2**24


def unpack(X):
    """The image channels and the label map of packed ``X``, as views.

    Works alike on numpy arrays and torch tensors of shape ``(..., C + 1)``.
    """
    return X[..., :-1], X[..., -1]


def validated_packed(X, *, input_name="X"):
    """Validate packed ``X`` into a new float32 array of the same layout.

    The image channels are checked as by :func:`check_images` and the label
    map as by :func:`check_precomputed` (ids made contiguous), at the cost of
    one copy of ``X``.
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
    images, labels = unpack(X)
    packed = validated_images(images, input_name=input_name, n_spare_channels=1)
    packed[..., -1] = _check_label_maps(labels, f"the label channel of {input_name}")
    return packed


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
        The image channels, validated with
        :func:`~sklearn_p2p.utils.check_images`.
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
    images, segments = unpack(validated_packed(X, input_name=input_name))
    return np.ascontiguousarray(images), segments.astype(np.int64)


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
    packed = validated_images(images, input_name="images", n_spare_channels=1)
    segments = as_image_array(segments, "segments")
    if segments.shape != packed.shape[:3]:
        raise ValueError(
            f"segments must have shape (n_images, height, width) = "
            f"{packed.shape[:3]} to match images, got {segments.shape}."
        )
    packed[..., -1] = _check_label_maps(segments, "segments")
    return packed
