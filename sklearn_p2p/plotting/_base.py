"""Helpers, docstring fragments and the base shared by the Display classes.

Nothing here imports matplotlib or scikit-image at module level: both are
imported inside the functions that draw, so that ``import sklearn_p2p``
works without them.
"""

import numbers

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support

from .._explanation import explain_details, images_as_read, resolve_explainer
from ..utils import check_images
from ..utils._docstrings import add_fragments

# Minimum side, in pixels, of the image on which superpixel boundaries are
# drawn: smaller images are upsampled to about this size first.
_BOUNDARY_PANEL_PIXELS = 128

# Width and height, in inches, of one image panel of a new figure.
_PANEL_WIDTH = 2.0
_PANEL_HEIGHT = 2.2

# Docstring fragments of the plotting module, added to the shared ones so
# that ``fill_doc`` finds them (see sklearn_p2p.utils._docstrings).
_FRAGMENTS = {}

_FRAGMENTS["n_images_shown"] = """\
n_images : int, default=None
    Explain and plot the first ``n_images`` images of ``X`` only, with one
    call to ``explain``; None means all of them."""

_FRAGMENTS["images_shown"] = """\
images : array-like of shape (n_images, H, W, 3), (n_images, H, W, 1) \
        or (n_images, H, W)
    The images, uint8 in [0, 255] or float in [0, 1]."""

_FRAGMENTS["ax_curves"] = """\
ax : matplotlib Axes, default=None
    Axes to draw into, e.g. the ``ax_`` of the display of another model to
    compare models on one axes. When None, a new figure and axes are
    created."""

_FRAGMENTS["name_display"] = """\
name : str, default=None
    Name of the model, shown in the legend."""

_FRAGMENTS["name_plot"] = """\
name : str, default=None
    Name of the model in the legend; None uses ``self.name``."""

_FRAGMENTS["curve_kwargs"] = """\
curve_kwargs : dict, default=None
    Keyword arguments passed to matplotlib's ``plot`` for every curve,
    e.g. ``{"color": "black"}``."""

_FRAGMENTS["line_kwargs"] = """\
line_kwargs : dict, default=None
    Keyword arguments passed to matplotlib's ``plot`` for both curves,
    e.g. ``{"color": "black"}``."""

_FRAGMENTS["name_from_estimator"] = """\
name : str, default=None
    Name of the model in the legend. None uses the class name of the
    estimator (of the last step of a Pipeline)."""

# The attributes set by _ExplanationDisplayMixin._validate_plot_params.
_FRAGMENTS["figure_attribute"] = """\
figure_ : matplotlib Figure
    Figure holding ``axes_``."""

_FRAGMENTS["ax_figure_attributes"] = """\
ax_ : matplotlib Axes
    Axes holding the curves.

figure_ : matplotlib Figure
    Figure holding ``ax_``."""

# Lead the Examples that draw toy explanations and those that explain with
# a fitted model.
_FRAGMENTS["example_toy_explanations"] = """\
>>> import numpy as np
>>> images = np.full((2, 16, 16, 3), 200, dtype=np.uint8)
>>> masks = np.zeros((2, 16, 16), dtype=bool)
>>> masks[:, 4:12, 4:12] = True"""

_FRAGMENTS["example_fitted_p2p"] = """\
>>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
>>> from sklearn_p2p.datasets import make_cluttered_objects
>>> data = make_cluttered_objects(n_samples=24, image_size=24,
...                               random_state=0)
>>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=16),
...                     max_epochs=1, verbose=0, random_state=0)
>>> clf = clf.fit(data.images, data.target)"""

add_fragments(_FRAGMENTS)


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


def _check_segment_maps(segments):
    """Label maps ``(n_images, H, W)`` of at least one image, whose labels index regions."""
    segments = np.asarray(segments)
    if segments.ndim != 3 or len(segments) == 0:
        raise ValueError(
            "segments must have shape (n_images, H, W) with at least one "
            f"image; got shape {segments.shape}."
        )
    return _check_segments(segments, segments.shape, index=True)


def _check_region_values(values, segments, name, *, ndim=2):
    """``values[i, j]``, of region ``j`` of image ``i``, for every label of ``segments``.

    With ``ndim=3`` each region has a vector of ``K`` values.
    """
    values = np.asarray(values, dtype=float)
    n = len(segments)
    if values.ndim != ndim or len(values) != n:
        shape = "(n_images, n_regions)" if ndim == 2 else "(n_images, n_regions, K)"
        raise ValueError(
            f"{name} must have shape {shape} with n_images={n} to match "
            f"segments; got shape {values.shape}."
        )
    if segments.size and segments.max() >= values.shape[1]:
        raise ValueError(
            f"segments has region label {segments.max()} but {name} has "
            f"{values.shape[1]} regions; region label j must index "
            f"{name}[:, j]."
        )
    return values


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


def _labels_shown(y_true, X, n_images):
    """The labels of the images a display shows: the first ``n_images`` of ``X``.

    ``y_true`` may hold a label for every image of ``X`` or only for those
    shown; checked before anything is explained.
    """
    if y_true is None:
        return None
    n_samples = _n_samples(X)
    n_shown = _check_n_images(n_images, n_samples)
    y_true = np.asarray(y_true)
    if y_true.ndim != 1 or len(y_true) not in (n_samples, n_shown):
        raise ValueError(
            f"y_true must hold one label per image of X ({n_samples}) or per image "
            f"shown ({n_shown}); got shape {y_true.shape}."
        )
    return y_true[:n_shown]


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


def _check_ax(ax, caller_name, n_images=None, n_panels=None):
    """``ax`` checked against the layout of a display (see :func:`_new_axes`)."""
    if n_panels is None:
        return _check_single_axes(ax, caller_name)
    if n_panels == 1:
        return _check_axes(ax, (n_images,), caller_name, flexible=True)
    return _check_axes(ax, (n_images, n_panels), caller_name)


def _new_axes(n_images=None, n_panels=None):
    """A new figure laid out for a display, and its axes.

    ``n_panels`` panels per image: a single panel goes into a grid (see
    :func:`_image_grid`), several into one row per image. None is one Axes
    for the whole display, as for curves.
    """
    import matplotlib.pyplot as plt

    if n_panels is None:
        return plt.subplots()
    if n_panels == 1:
        return _image_grid(n_images)
    return _image_rows(n_images, n_panels)


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


def _check_curve_values(values, name, n, x_name):
    """The ``n`` finite values of a curve, one per ``x_name`` of its x-axis."""
    values = np.asarray(values, dtype=float)
    if values.shape != (n,):
        raise ValueError(
            f"{name} must have one value per {x_name}, shape ({n},); got shape "
            f"{values.shape}."
        )
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return values


def _explanation_title(y_pred=None, certainty=None, tau=None, kept=None, y_true=None):
    """``"pred=<class> p=<certainty> tau=<tau> kept <share>"``, leaving out what is None.

    With ``y_true`` (and ``y_pred``), a wrong prediction reads
    ``"pred=<class> (true <class>)"``; an empty mask reads ``"kept 0% (empty)"``.
    """
    parts = []
    if y_pred is not None:
        parts.append(f"pred={y_pred}")
        if y_true is not None and y_true != y_pred:
            parts.append(f"(true {y_true})")
    elif y_true is not None:
        parts.append(f"true={y_true}")
    if certainty is not None:
        parts.append(f"p={certainty:.2f}")
    if tau is not None:
        parts.append(f"tau={tau:.2f}")
    if kept is not None:
        parts.append(_kept_label(kept))
    return " ".join(parts)


def _kept_label(kept):
    """``"kept 12%"``; a share that rounds to 0% says whether it is empty."""
    if kept <= 0:
        return "kept 0% (empty)"
    if kept < 0.005:
        return "kept <1%"
    return f"kept {kept:.0%}"


def _wrong_predictions(y_pred, y_true, n):
    """Bool ``(n,)``: the prediction differs from the label (False without both)."""
    if y_pred is None or y_true is None:
        return np.zeros(n, dtype=bool)
    return np.array([pred != true for pred, true in zip(y_pred, y_true)], dtype=bool)


# Colour of the titles of wrongly predicted images.
WRONG_COLOR = "tab:red"


def _line_kwargs(defaults, user_kwargs):
    """Default Line2D properties updated by the user's (aliases resolved)."""
    from matplotlib.cbook import normalize_kwargs
    from matplotlib.lines import Line2D

    merged = dict(normalize_kwargs(defaults, Line2D))
    merged.update(normalize_kwargs(user_kwargs or {}, Line2D))
    return merged


class _ExplanationDisplayMixin:
    """What the Display classes of explanations do alike.

    In the manner of scikit-learn's ``_BinaryClassifierCurveDisplayMixin``:
    ``from_estimator`` makes every check it can before the (expensive)
    explanation is computed, and reaches the estimator through
    :mod:`sklearn_p2p._explanation`; ``plot`` validates its data, then opens
    with :meth:`_validate_plot_params`.

    A display's layout is given by ``n_panels``, the panels per image (see
    :func:`_new_axes`); None for the displays drawn on one Axes, which set
    ``ax_`` where the others set ``axes_``.
    """

    @classmethod
    def _caller(cls, method="from_estimator"):
        """The public name of ``method``, for error messages."""
        return f"{cls.__name__}.{method}"

    @classmethod
    def _check_explainer(cls, explainer):
        """Raise when ``explainer`` cannot be plotted, known before explaining.

        Nothing is known by default; subclasses check the estimator's
        parameters here.
        """

    @classmethod
    def _validate_from_estimator_params(
        cls, estimator, X, *, ax, n_images=None, n_panels=None, masked=False
    ):
        """The explainer and ``X`` for it, once what can be checked is checked.

        Image displays (``n_panels`` not None) keep the first ``n_images``
        images of ``X``; ``masked`` also requires ``predict_proba_masked``.
        """
        caller = cls._caller()
        _check_matplotlib(caller)
        if n_panels is not None:
            n_images = _check_n_images(n_images, _n_samples(X))
            X = _take_first(X, n_images)
        if ax is not None:
            _check_ax(ax, caller, n_images, n_panels)
        explainer, X = resolve_explainer(estimator, X, caller, masked=masked)
        cls._check_explainer(explainer)
        return explainer, X

    @classmethod
    def _explain(cls, explainer, X, delta=None, required=()):
        """The details of ``explainer.explain``, with the ``required`` keys."""
        return explain_details(explainer, X, delta, cls._caller(), required=required)

    @classmethod
    def _explain_images(
        cls, estimator, X, *, n_images, n_panels, ax, delta=None, required=(),
        with_images=False,
    ):
        """Explain the first ``n_images`` images of ``X`` once, for an image display.

        Returns the details and, ``with_images``, the images as the explainer
        reads them (float RGB), or None.
        """
        explainer, X = cls._validate_from_estimator_params(
            estimator, X, ax=ax, n_images=n_images, n_panels=n_panels
        )
        details = cls._explain(explainer, X, delta, required)
        images = _as_rgb_float(images_as_read(explainer, X)) if with_images else None
        return details, images

    def _validate_plot_params(self, ax, *, n_images=None, n_panels=None):
        """Check matplotlib, take ``ax`` (checked) or new axes, and set them.

        Sets ``figure_`` and ``axes_`` (``ax_`` when ``n_panels`` is None)
        and returns the axes.
        """
        caller = self._caller("plot")
        _check_matplotlib(caller)
        if ax is None:
            figure, axes = _new_axes(n_images, n_panels)
        else:
            axes = _check_ax(ax, caller, n_images, n_panels)
            figure = (axes if n_panels is None else axes.flat[0]).figure
        if n_panels is None:
            self.ax_ = axes
        else:
            self.axes_ = axes
        self.figure_ = figure
        return axes
