"""Validation of image batches and of the parameters that say how to read them.

Every public entry point of the package funnels user images through these
helpers (estimators through :class:`~sklearn_p2p._image_input.ImageInputMixin`),
so that bad input fails early with a message that names the argument and says
how to fix it, instead of surfacing later as a torch shape error.
"""

import numpy as np
import torch

__all__ = ["as_image_array", "check_image_shape_param", "check_images", "check_masks",
           "check_value_range_param", "validated_images"]

_SHAPE_HINT = (
    "(n_images, height, width, channels) with channels in {1, 3}, or "
    "(n_images, height, width) for grayscale"
)

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
    if torch.is_tensor(X) or (
        isinstance(X, (list, tuple)) and all(torch.is_tensor(x) for x in X)
    ):
        X = _tensor_as_channel_last(X)
    if hasattr(X, "toarray") and hasattr(X, "nnz"):  # scipy.sparse
        raise TypeError(
            f"{input_name} is a sparse matrix, but images must be dense arrays "
            f"(sparse input is not supported). Convert it with {input_name}.toarray()."
        )
    X = _as_array(X, input_name, f"a numeric array of images with shape {_SHAPE_HINT}")
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


def _as_array(X, input_name, expected):
    """``np.asarray(X)``, or a ValueError saying what ``X`` should have been."""
    try:
        if isinstance(X, (list, tuple)):
            # Image by image: NumPy < 1.25 makes an object array of a list of
            # array-likes that are not sequences, such as PIL images.
            X = [np.asarray(x) for x in X]
        return np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{input_name} could not be converted to {expected}: {exc}") from exc


def _tensor_as_channel_last(X):
    """A torch batch as a channel-last array (a view of its memory on the CPU).

    A 4-d tensor is read in torchvision's layout ``(n, C, H, W)`` when its
    second axis has 1 or 3 entries, and as ``(n, H, W, C)`` otherwise; a list
    of tensors is stacked first.
    """
    if isinstance(X, (list, tuple)):
        X = torch.stack([x.detach() for x in X])
    X = X.detach().cpu().numpy()
    if X.ndim == 4 and X.shape[1] in (1, 3):
        X = np.moveaxis(X, 1, -1)
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
        if height in (1, 3, 4) and channels > 4:
            # (n, C, H, W), as torchvision lays out tensors, read channel-last.
            fix = (
                f" It looks channel-first, (n_images, channels, height, width) = "
                f"{shape}; move the channels last with "
                f"np.moveaxis({input_name}, 1, -1) (or pass a torch tensor, "
                "which is read channel-first)."
            )
            if height == 4:
                fix += " Drop the alpha channel too ([..., :3] after moving)."
        elif channels == 4:
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
    return validated_images(X, value_range=value_range, input_name=input_name)


def validated_images(X, *, value_range=None, input_name="X", n_spare_channels=0):
    """:func:`check_images`, written into a buffer with room for more channels.

    The images fill channels ``0 .. C - 1`` of a new float32 array of shape
    ``(n, H, W, C + n_spare_channels)``; the spare channels are left
    uninitialised for the caller (the superpixel label map). Validating,
    scaling and making room for the label map then cost one copy of the
    images, not three.
    """
    X = _check_shape(as_image_array(X, input_name), input_name)
    _check_values(X, value_range, input_name)
    n, height, width, channels = X.shape
    buffer = np.empty((n, height, width, channels + n_spare_channels), dtype=np.float32)
    images = buffer[..., :channels]
    if value_range is not None:
        low, high = value_range
        # In float64, so that the scaling is exact to float32 rounding.
        scaled = np.subtract(X, np.float64(low), dtype=np.float64)
        scaled /= np.float64(high) - np.float64(low)
        images[...] = scaled
    elif np.issubdtype(X.dtype, np.integer):
        # Dividing in float32 gives the same values as uint8 -> float64 / 255
        # -> float32, so uint8 and float inputs segment identically.
        np.divide(X, np.float32(255), out=images, dtype=np.float32, casting="unsafe")
    else:
        images[...] = X
    return buffer


def _check_values(X, value_range, input_name):
    """Raise for NaN, infinity and values outside the accepted range."""
    if value_range is not None:
        _check_in_value_range(X, value_range, input_name)
        return
    if X.dtype == bool:
        return
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
    elif x_max > 1:
        raise ValueError(
            f"{input_name} is a float array with values up to {x_max:g}, which "
            "looks like 0-255 data; float images must be in [0, 1]. Pass uint8, "
            f"divide by 255 ({input_name} / 255), or set value_range=(0, 255) "
            "(any (low, high) the data come in)."
        )


def check_masks(masks, name):
    """Validate a stack of binary masks and return it as a bool ndarray.

    Accepts bool arrays and numeric arrays holding only 0 and 1, so masks
    loaded from image files (uint8) or produced as floats work unchanged.
    """
    masks = _as_array(masks, name, "an array of masks of shape (n_images, height, width)")
    if masks.ndim != 3:
        hint = (
            " For a single image, pass mask[np.newaxis]."
            if masks.ndim == 2 else ""
        )
        raise ValueError(
            f"{name} must have shape (n_images, height, width); got an array "
            f"with {masks.ndim} dimension(s) and shape {masks.shape}.{hint}"
        )
    if masks.shape[0] == 0:
        raise ValueError(f"{name} contains 0 masks; pass at least one mask.")
    if masks.dtype == bool:
        return masks
    if not (
        np.issubdtype(masks.dtype, np.integer)
        or np.issubdtype(masks.dtype, np.floating)
    ):
        raise ValueError(
            f"{name} must hold booleans (or 0/1 numbers); got dtype {masks.dtype}."
        )
    # Anything but exact 0/1 (e.g. a probability map, 255 for "on", NaN) is
    # ambiguous as a mask: refuse it instead of thresholding silently.
    if not np.isin(masks, (0, 1)).all():
        raise ValueError(
            f"{name} must be binary (bool, or numbers that are exactly 0 or 1); "
            f"got values such as {np.setdiff1d(masks, (0, 1))[:5].tolist()}. "
            "Threshold soft masks first, e.g. masks > 0.5."
        )
    return masks.astype(bool)


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


def _check_in_value_range(X, value_range, input_name):
    """Raise unless every value of ``X`` is finite and inside ``value_range``."""
    if not _is_valid_value_range(value_range):
        raise ValueError(
            f"value_range must be (low, high) with finite numbers low < high; "
            f"got {value_range!r}."
        )
    low, high = value_range
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
