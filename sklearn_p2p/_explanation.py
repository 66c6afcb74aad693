"""The explanation protocol: what an estimator provides to be scored or plotted.

The protocol is written down once, in ``PROTOCOL_DOC`` below, which
:mod:`sklearn_p2p.metrics` shows in its documentation. This module is the
one place where an estimator is checked against it
(:func:`resolve_explainer`) and asked for its explanation
(:func:`explain_details`).
"""

import math
import warnings
from numbers import Real

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch

from .exceptions import EmptyExplanationWarning
from .utils import check_images

__all__ = [
    "PROTOCOL_DOC", "attribution_explanation", "check_kept_fraction", "explain_details",
    "flag_empty_masks",
    "images_as_read", "paint_regions", "region_scores", "resolve_explainer",
    "top_count_masks", "top_fraction_masks",
]

PROTOCOL_DOC = """
The explanation protocol
~~~~~~~~~~~~~~~~~~~~~~~~
Metrics, scorers and Display objects read explanations through two methods
only, so that any model implementing them -- not only
:class:`~sklearn_p2p.P2PClassifier` -- is judged and shown on the same
footing:

``explain(X, delta=None, return_details=False)``
    Returns bool masks ``(n, H, W)``, the pixels the explanation keeps; with
    ``return_details=True`` a Bunch (or mapping) holding

    - ``masks`` (n, H, W) bool, as above;
    - ``attributions`` (n, H, W) float, the continuous map behind the
      masks, higher meaning more important: for P2P the region selection
      probabilities painted onto their pixels, for ERSM the keep
      probability of the feature positions upsampled, for the gradient
      methods their attribution map summed in magnitude over channels;
    - ``proba`` (n, n_classes) and ``y_pred`` (n,), the prediction the
      explanation belongs to: for a model that predicts from its mask (P2P,
      Blackbox Pixel) the prediction made from ``masks``, for a post-hoc or
      gradient explanation the model's prediction on the full image
      (optional: ``predict_proba_masked(X, masks)`` stands in for
      ``proba``);
    - optionally ``segments`` (n, H, W) non-negative int region ids and
      ``region_probs`` (n, D), the selection probability (or any score) of
      region ``j`` in column ``j``: where given, insertion and deletion move
      whole regions in that order, and
      :class:`~sklearn_p2p.plotting.RegionProbabilityDisplay` draws their
      borders; without them, every pixel is its own region, ranked by
      ``attributions``;
    - optionally ``tau`` (n,), ``kept_fraction`` (n,), ``embeddings``
      (n, D, K), used by the plots that show them, and ``empty`` (n,) bool,
      the masks that keep no pixel (``explain`` warns with
      :class:`~sklearn_p2p.exceptions.EmptyExplanationWarning` when there
      are any).

    ``delta`` is the certainty of dynamic thresholding; methods without one
    accept and ignore it. Methods whose map is continuous keep the top
    pixels of ``attributions`` at their ``kept_fraction`` parameter (a float,
    or one value per image such as P2P's own ``kept_fraction`` details), so
    that they are compared with P2P at the same sparsity.
``predict_proba_masked(X, masks)``
    Class probabilities on ``X`` with the pixels where ``masks`` is False
    set to black, the columns in the order of ``proba``. Needed by the
    fidelity metrics, not by the plots of a single explanation.

A :class:`~sklearn.pipeline.Pipeline` whose last step implements the protocol
works too: ``X`` goes through the earlier steps first.
"""

_SIGNATURES = {
    "explain": "explain(X, delta=None, return_details=True)",
    "predict_proba_masked": "predict_proba_masked(X, masks)",
}


def unwrap_pipeline(estimator, X):
    """The last step of (nested) Pipelines, and ``X`` transformed up to it.

    A ``SuperpixelTransformer`` in front of
    ``P2PClassifier(superpixels="precomputed")`` is applied to ``X`` so that
    the last step receives what it would receive in ``predict``.
    """
    while isinstance(estimator, Pipeline):
        if len(estimator) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    return estimator, X


def resolve_explainer(estimator, X, caller, *, masked=False):
    """The estimator that explains (Pipelines unwrapped), and ``X`` for it.

    Parameters
    ----------
    estimator : estimator or Pipeline
        What the user passed.
    X : array-like
        The images, as the user passed them.
    caller : str
        Name of the public function or method, for the error message.
    masked : bool, default=False
        Also require ``predict_proba_masked`` (the fidelity metrics).

    Returns
    -------
    explainer : estimator
        The last step, with the methods of the protocol.
    X : array-like
        ``X`` as the explainer takes it.

    Raises
    ------
    TypeError
        Naming the methods the estimator lacks.
    """
    explainer, X = unwrap_pipeline(estimator, X)
    required = ("explain", "predict_proba_masked") if masked else ("explain",)
    missing = [name for name in required if not callable(getattr(explainer, name, None))]
    if missing:
        raise TypeError(
            f"{caller} needs an estimator implementing "
            f"{' and '.join(_SIGNATURES[name] for name in required)}, such as a "
            f"fitted P2PClassifier or a Pipeline ending in one; "
            f"{type(explainer).__name__} lacks {' and '.join(missing)}."
        )
    return explainer, X


def explain_details(explainer, X, delta, caller, *, required=()):
    """``explainer.explain(X, delta=delta, return_details=True)``, checked.

    Parameters
    ----------
    explainer : estimator
        An estimator returned by :func:`resolve_explainer`.
    X : array-like
        Its input.
    delta : float or None
        Certainty passed to ``explain``.
    caller : str
        Name of the public function or method, for error messages.
    required : tuple of str, default=()
        Keys the caller needs in the details.

    Returns
    -------
    details : Bunch or mapping
        The explanation.
    """
    details = explainer.explain(X, delta=delta, return_details=True)
    if not hasattr(details, "__getitem__") or not hasattr(details, "keys"):
        raise TypeError(
            f"{type(explainer).__name__}.explain(X, return_details=True) must "
            f"return a Bunch or mapping of arrays; got {type(details).__name__}."
        )
    require_keys(details, required, caller)
    return details


def require_keys(details, keys, caller):
    """Raise a ValueError naming the ``keys`` missing from ``details``."""
    missing = [key for key in keys if key not in details]
    if missing:
        raise ValueError(
            f"{caller} needs {missing} in the details returned by "
            "explain(X, return_details=True); the explanation given lacks them."
        )


def images_as_read(explainer, X):
    """The images of ``X`` as the explainer reads them: float ``(n, H, W, C)``.

    An estimator of this package validates ``X`` itself (its ``image_shape``
    and ``value_range`` apply, and the label channel of precomputed
    superpixels is dropped); other estimators get
    :func:`~sklearn_p2p.utils.check_images`.
    """
    read = getattr(explainer, "_images_as_read", None)
    return read(X) if callable(read) else check_images(X)


# Pixels a kept fraction may overshoot an integer count by rounding alone.
_PIXEL_TOLERANCE = 0.01


def paint_regions(region_values, segments):
    """Per-pixel maps ``region_values[i][segments[i]]``, shape (n, H, W).

    Parameters
    ----------
    region_values : ndarray of shape (n, D)
        A value per region of each image.
    segments : ndarray of int, shape (n, H, W)
        Region ids in ``0 .. D - 1``.

    Returns
    -------
    painted : ndarray of shape (n, H, W)
        Each pixel holds the value of its region.
    """
    region_values = np.asarray(region_values)
    segments = np.asarray(segments)
    n = len(segments)
    flat = np.take_along_axis(region_values, segments.reshape(n, -1).astype(np.intp), axis=1)
    return flat.reshape(segments.shape)


def region_scores(details, caller):
    """``segments`` and ``region_probs`` of an explanation, or pixels as regions.

    An explanation with ``segments`` and ``region_probs`` is returned as it
    is; one with ``attributions`` only (a gradient map) gets one region per
    pixel, scored by its attribution, so that the fidelity curves and region
    plots read both alike.

    Returns
    -------
    segments : ndarray of int, shape (n, H, W)
    region_probs : ndarray of float, shape (n, D)
    """
    if "segments" in details and "region_probs" in details:
        return np.asarray(details["segments"]), np.asarray(details["region_probs"], dtype=float)
    if "attributions" not in details:
        require_keys(details, ("segments", "region_probs"), caller)
    attributions = np.asarray(details["attributions"], dtype=float)
    if attributions.ndim != 3:
        raise ValueError(
            f"details.attributions must have shape (n_images, H, W); got "
            f"{attributions.shape}."
        )
    n, height, width = attributions.shape
    segments = np.broadcast_to(
        np.arange(height * width, dtype=np.int64).reshape(height, width), attributions.shape
    )
    return segments, attributions.reshape(n, height * width)


def check_kept_fraction(kept_fraction, n_images, caller):
    """``kept_fraction`` as one float per image, checked.

    Parameters
    ----------
    kept_fraction : float or array-like of shape (n_images,)
        Share of the pixels each mask keeps, in [0, 1].
    n_images : int
        Number of images explained.
    caller : str
        Name of the estimator, for the error message.

    Returns
    -------
    fractions : ndarray of float, shape (n_images,)
    """
    if isinstance(kept_fraction, Real) and not isinstance(kept_fraction, bool):
        fractions = np.full(n_images, float(kept_fraction))
    else:
        try:
            fractions = np.asarray(kept_fraction, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"kept_fraction of {caller} must be a float in [0, 1] or one per "
                f"image; got {kept_fraction!r}."
            ) from exc
        if fractions.shape != (n_images,):
            raise ValueError(
                f"kept_fraction of {caller} holds {fractions.size} values of shape "
                f"{fractions.shape}, but {n_images} images are explained; pass a "
                "float or exactly one value per image."
            )
    if not np.all((fractions >= 0) & (fractions <= 1)):
        raise ValueError(
            f"kept_fraction of {caller} must lie in [0, 1]; got values from "
            f"{np.nanmin(fractions)} to {np.nanmax(fractions)}."
        )
    return fractions


def top_fraction_masks(attributions, kept_fraction):
    """Keep the top pixels of each map, at least ``kept_fraction`` of them.

    Pixels are ranked by decreasing attribution, ties by position (row
    major), so masks are reproducible; each mask keeps
    ``ceil(kept_fraction * H * W)`` pixels.

    Parameters
    ----------
    attributions : ndarray of shape (n, H, W)
        Continuous maps, higher meaning more important.
    kept_fraction : ndarray of shape (n,)
        Share of pixels to keep per image, in [0, 1].

    Returns
    -------
    masks : ndarray of bool, shape (n, H, W)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p._explanation import top_fraction_masks
    >>> maps = np.array([[[0.1, 0.9], [0.5, 0.2]]])
    >>> top_fraction_masks(maps, np.array([0.5])).astype(int)
    array([[[0, 1],
            [1, 0]]])
    """
    n_pixels = int(np.prod(np.shape(attributions)[1:]))
    # The tolerance absorbs rounding: 0.15 * 400 is 60.000000000000001 in
    # float64, and a float32 fraction (P2P's own kept_fraction details) such
    # as 484 / 576 comes back as 484.00001 pixels; far below one pixel, it
    # never removes a pixel that was asked for.
    n_kept = [math.ceil(f * n_pixels - _PIXEL_TOLERANCE) for f in kept_fraction]
    return top_count_masks(attributions, n_kept)


def top_count_masks(attributions, counts):
    """Bool masks of the ``counts[i]`` largest entries of each map.

    Ties are broken by position (row major), so masks are reproducible.

    Parameters
    ----------
    attributions : array-like of shape (n, H, W)
        Continuous maps.
    counts : array-like of int, shape (n,)
        Entries to keep per map.

    Returns
    -------
    masks : ndarray of bool, shape (n, H, W)
    """
    attributions = np.asarray(attributions, dtype=float)
    n = len(attributions)
    flat = attributions.reshape(n, -1)
    order = np.argsort(-flat, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(flat.shape[1]), flat.shape),
                      axis=1)
    return (ranks < np.asarray(counts)[:, None]).reshape(attributions.shape)


def flag_empty_masks(masks, caller, *, stacklevel=3):
    """Which masks keep no pixel; warn when there are any.

    An empty mask is no explanation: the prediction it belongs to was made
    without any pixel of the image (for P2P, from a black image on which the
    classifier was already certain).

    Parameters
    ----------
    masks : ndarray of bool, shape (n, H, W)
        The explanation masks.
    caller : str
        Who explains, for the message (e.g. ``"P2PClassifier.explain"``).
    stacklevel : int, default=3
        Passed to :func:`warnings.warn`; the default points at the caller
        of the method that calls this function.

    Returns
    -------
    empty : ndarray of bool, shape (n,)
        True for the masks that keep no pixel.
    """
    empty = ~np.asarray(masks).reshape(len(masks), -1).any(axis=1)
    n_empty = int(empty.sum())
    if n_empty:
        first = np.flatnonzero(empty)[:10].tolist()
        more = ", ..." if n_empty > len(first) else ""
        warnings.warn(
            f"{caller}: {n_empty} of {len(masks)} explanations keep no pixel (images "
            f"{str(first)[1:-1]}{more}); their predictions were made without any "
            "pixel of the image. explain(X, return_details=True).empty says which. "
            "If this is frequent, the model learned to classify black images: "
            "lower lambda1 or raise delta.",
            EmptyExplanationWarning, stacklevel=stacklevel,
        )
    return empty


def attribution_explanation(attributions, proba, classes, kept_fraction, caller,
                            return_details, **extra):
    """The explanation protocol's answer for a continuous attribution map.

    Parameters
    ----------
    attributions : ndarray of shape (n, H, W)
        The map, higher meaning more important.
    proba : ndarray of shape (n, n_classes)
        The prediction explained.
    classes : ndarray of shape (n_classes,)
        Labels of the columns of ``proba``.
    kept_fraction : float or array-like of shape (n,)
        The parameter of the explainer.
    caller : str
        Its name, for error messages.
    return_details : bool
        Return the Bunch rather than the masks.
    **extra
        More entries of the Bunch (e.g. ``segments``).

    Returns
    -------
    masks : ndarray of bool, shape (n, H, W)
        The top pixels of each map.
    details : Bunch
        With ``return_details``: ``masks``, ``attributions``, ``proba``,
        ``y_pred``, ``kept_fraction`` (the share each mask keeps), ``empty``
        (the masks that keep no pixel: a warning names them) and ``extra``.
    """
    attributions = np.asarray(attributions, dtype=float)
    fractions = check_kept_fraction(kept_fraction, len(attributions), caller)
    masks = top_fraction_masks(attributions, fractions)
    empty = flag_empty_masks(masks, caller, stacklevel=4)
    if not return_details:
        return masks
    proba = np.asarray(proba)
    return Bunch(
        masks=masks, attributions=attributions, proba=proba,
        y_pred=np.asarray(classes)[proba.argmax(axis=1)],
        kept_fraction=masks.mean(axis=(1, 2)), empty=empty, **extra,
    )
