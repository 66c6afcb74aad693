"""Helpers shared by the plotting functions and Display classes.

Nothing here imports matplotlib or scikit-image at module level: both are
imported inside the functions that draw, so that ``import sklearn_p2p``
works without them.
"""

import numbers

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support

from ..utils import check_images
from ..utils._explainers import unwrap_pipeline

# Minimum side, in pixels, of the image on which superpixel boundaries are
# drawn: smaller images are upsampled to about this size first.
_BOUNDARY_PANEL_PIXELS = 128

# Width and height, in inches, of one image panel of a new figure.
_PANEL_WIDTH = 2.0
_PANEL_HEIGHT = 2.2


def _check_matplotlib(caller_name):
    """ImportError naming ``caller_name`` when matplotlib is missing."""
    check_matplotlib_support(caller_name)


def _upsample(arr, scale):
    """Nearest-neighbour upsampling of the two leading axes by ``scale``."""
    if scale == 1:
        return arr
    return np.repeat(np.repeat(arr, scale, axis=0), scale, axis=1)


def _boundary_scale(h, w):
    """Upsampling factor used before drawing boundaries of an (h, w) image.

    Boundaries drawn on the image itself would cover most pixels of a small
    image with many superpixels (each boundary is a whole pixel wide), so
    they are drawn on a nearest-neighbour upsampled copy instead.
    """
    return max(1, -(-_BOUNDARY_PANEL_PIXELS // max(h, w)))


def _extent(h, w):
    """imshow extent putting pixel (r, c) at coordinates (c, r) whatever its size."""
    return (-0.5, w - 0.5, h - 0.5, -0.5)


def _as_rgb_float(images):
    """Images validated by :func:`~sklearn_p2p.utils.check_images`, as RGB."""
    images = check_images(images, input_name="images")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


def _check_label_maps(arr, name, shape, against="images"):
    """``arr`` as an array of the given shape, or a ValueError naming it."""
    arr = np.asarray(arr)
    if arr.shape != shape:
        raise ValueError(
            f"{name} must have shape (n_images, H, W) = {shape} to match "
            f"{against}; got shape {arr.shape}."
        )
    return arr


def _check_segments(segments, shape, name="segments", *, index=False):
    """Integer region label maps of the given shape.

    Label maps may arrive as floats (e.g. the last channel of
    SuperpixelTransformer's output); they must hold whole numbers, and with
    ``index`` (labels that index per-region arrays) non-negative ones.
    """
    segments = _check_label_maps(segments, name, shape)
    if not np.issubdtype(segments.dtype, np.integer):
        try:
            integral = np.isfinite(segments) & (segments == np.round(segments))
        except TypeError:
            integral = np.zeros(segments.shape, dtype=bool)
        if not np.all(integral):
            raise ValueError(f"{name} must contain integer region labels.")
        segments = segments.astype(np.intp)
    if index and segments.size and segments.min() < 0:
        raise ValueError(
            f"{name} must contain non-negative region labels; got "
            f"{segments.min()}."
        )
    return segments


def _check_per_image(values, name, n, *, numeric=True):
    """One value per image (or None): a 1-d array of length ``n``."""
    if values is None:
        return None
    values = np.asarray(values) if not numeric else np.asarray(values, dtype=float)
    if values.shape != (n,):
        raise ValueError(
            f"{name} must have one entry per image, shape ({n},); got shape "
            f"{values.shape}."
        )
    return values


def _check_n_images(n_images, n_samples):
    """The number of leading images of X to show (None: all of them)."""
    if n_images is None:
        return n_samples
    if (
        not isinstance(n_images, numbers.Integral)
        or isinstance(n_images, bool)
        or n_images < 1
    ):
        raise ValueError(
            f"n_images must be a positive integer or None; got {n_images!r}."
        )
    if n_images > n_samples:
        raise ValueError(
            f"n_images={n_images} is larger than the number of images in X "
            f"({n_samples}); pass at most {n_samples} or None for all."
        )
    return int(n_images)


def _take_first(X, n):
    """The first ``n`` samples of array-like ``X`` (array or list)."""
    if hasattr(X, "shape") and hasattr(X, "__getitem__"):
        return X[:n]
    return list(X)[:n]


def _n_samples(X):
    try:
        return X.shape[0] if hasattr(X, "shape") else len(X)
    except TypeError as exc:
        raise TypeError(
            f"X must be an array-like of images; got {type(X).__name__}."
        ) from exc


def _resolve_estimator(estimator, X, caller_name):
    """The estimator that explains (Pipelines unwrapped), and ``X`` for it."""
    estimator, X = unwrap_pipeline(estimator, X)
    if not callable(getattr(estimator, "explain", None)):
        raise TypeError(
            f"{caller_name} needs an estimator with an "
            "explain(X, delta=None, return_details=True) method, such as a "
            f"fitted P2PClassifier or a Pipeline ending in one; got "
            f"{type(estimator).__name__}."
        )
    return estimator, X


def _require(details, keys, caller_name):
    missing = [key for key in keys if key not in details]
    if missing:
        raise ValueError(
            f"{caller_name} needs {missing} in the details returned by "
            "explain(X, return_details=True); they are missing."
        )


def _display_images(estimator, X):
    """The images of ``X`` as the estimator reads them, as float RGB in [0, 1].

    A :class:`~sklearn_p2p.P2PClassifier` validates ``X`` itself, which
    honours its ``image_shape`` (flattened input), ``value_range`` and
    ``superpixels="precomputed"`` (the label channel is dropped); other
    estimators get :func:`~sklearn_p2p.utils.check_images`.
    """
    check_X = getattr(estimator, "_check_X", None)
    if callable(check_X):
        images, _ = check_X(X, reset=False)
        uses_precomputed = getattr(estimator, "_uses_precomputed", None)
        if callable(uses_precomputed) and uses_precomputed():
            images = images[..., :-1]
    else:
        images = check_images(X)
    return _as_rgb_float(images)


def _check_axes(ax, shape, caller_name, *, flexible=False):
    """``ax`` as an object array of matplotlib Axes of the given shape.

    With ``flexible``, any array-like holding ``prod(shape)`` axes is
    accepted and reshaped (one panel per image, in any grid). Otherwise the
    shape must match, except that a single row of axes stands for
    ``shape = (1, ...)``.
    """
    from matplotlib.axes import Axes

    if isinstance(ax, Axes):
        arr = np.empty((), dtype=object)
        arr[()] = ax
    else:
        try:
            arr = np.asarray(ax, dtype=object)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(
                f"{caller_name}: ax must be an array of matplotlib Axes of "
                f"shape {shape}; got a ragged sequence."
            ) from exc
    if not all(isinstance(a, Axes) for a in arr.flat):
        raise TypeError(
            f"{caller_name}: ax must be None or matplotlib Axes (an array of "
            f"them of shape {shape}); got {type(ax).__name__} holding "
            f"{sorted({type(a).__name__ for a in arr.flat})}."
        )
    size = int(np.prod(shape))
    if flexible:
        ok = arr.size == size
    else:
        ok = arr.shape == tuple(shape) or (
            shape[0] == 1 and arr.shape == tuple(shape[1:])
        )
    if not ok:
        expected = (
            f"{size} matplotlib Axes (one per image)" if flexible
            else f"an array of matplotlib Axes of shape {tuple(shape)}"
        )
        raise ValueError(
            f"{caller_name}: ax must be None or {expected}; got "
            f"{arr.size} axes of shape {arr.shape}."
        )
    return arr.reshape(shape)


def _check_single_axes(ax, caller_name):
    """``ax`` itself when it is one matplotlib Axes, else an error."""
    from matplotlib.axes import Axes

    if isinstance(ax, Axes):
        return ax
    arr = np.asarray(ax, dtype=object) if isinstance(ax, (list, tuple, np.ndarray)) else None
    if arr is not None and arr.size == 1 and isinstance(arr.flat[0], Axes):
        return arr.flat[0]
    if arr is not None and all(isinstance(a, Axes) for a in arr.flat):
        raise ValueError(
            f"{caller_name}: ax must be None or a single matplotlib Axes; got "
            f"an array of {arr.size} axes of shape {arr.shape}."
        )
    raise TypeError(
        f"{caller_name}: ax must be None or a single matplotlib Axes; got "
        f"{type(ax).__name__}."
    )


def _image_grid(n_images, *, max_cols=4):
    """A new figure with one panel per image, in rows of at most ``max_cols``.

    Unused cells of the last row are removed. Returns the figure and the
    ``n_images`` axes as a 1-d object array.
    """
    import matplotlib.pyplot as plt

    n_cols = min(n_images, max_cols)
    n_rows = -(-n_images // n_cols)
    fig, axes = plt.subplots(
        n_rows, n_cols, squeeze=False,
        figsize=(n_cols * _PANEL_WIDTH * 1.25, n_rows * _PANEL_HEIGHT),
    )
    axes = axes.ravel()
    for extra in axes[n_images:]:
        extra.remove()
    return fig, axes[:n_images]


def _image_rows(n_images, n_panels):
    """A new figure with one row of ``n_panels`` panels per image."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        n_images, n_panels, squeeze=False,
        figsize=(n_panels * _PANEL_WIDTH, n_images * _PANEL_HEIGHT),
    )
    return fig, axes


def _explanation_title(y_pred=None, certainty=None, tau=None):
    """``"pred=<class> p=<certainty> tau=<tau>"``, leaving out what is None."""
    parts = []
    if y_pred is not None:
        parts.append(f"pred={y_pred}")
    if certainty is not None:
        parts.append(f"p={certainty:.2f}")
    if tau is not None:
        parts.append(f"tau={tau:.2f}")
    return " ".join(parts)


def _line_kwargs(defaults, user_kwargs):
    """Default Line2D properties updated by the user's (aliases resolved)."""
    from matplotlib.cbook import normalize_kwargs
    from matplotlib.lines import Line2D

    merged = dict(normalize_kwargs(defaults, Line2D))
    merged.update(normalize_kwargs(user_kwargs or {}, Line2D))
    return merged
