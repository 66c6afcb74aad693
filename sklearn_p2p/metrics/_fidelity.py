"""Insertion and deletion fidelity of explanation masks (faithfulness).

Both curves follow Section 4 ("Faithfulness") and Appendix B of Vandenhirtz &
Vogt (ICML 2025): the regions of the explanation ``x_m`` are ranked by their
selection probability, and the model's prediction is watched while they are
added to a black image (insertion) or blacked out of ``x_m`` (deletion). The
estimator is used through the explanation protocol shown in
:mod:`sklearn_p2p.metrics`, so baselines implementing it are evaluated
alongside :class:`~sklearn_p2p.P2PClassifier`.
"""

import numpy as np
from sklearn.utils import Bunch

from .._explanation import explain_details, region_scores, require_keys, resolve_explainer
from ..utils._docstrings import fill_doc
from ..utils._validation import check_masks

__all__ = ["deletion_auc", "fidelity_curve", "insertion_auc"]

_KINDS = ("insertion", "deletion")

# Areas are integer pixel counts but ``f * H * W`` is a float: 0.15 * 400 is
# 60.00000000000001 in binary, which would wrongly ask for a 61st pixel.
# Pixel counts are integers, so lowering the target by far less than one
# pixel only absorbs that rounding error.
_AREA_TOLERANCE = 1e-6


def _trapezoid(y, x):
    """Area under ``y(x)`` by the trapezoidal rule, as a float.

    ``np.trapezoid`` is new in NumPy 2.0, which removes ``np.trapz``; both
    major versions are supported.
    """
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    return float(trapezoid(y, x))


def _check_fractions(fractions):
    if fractions is None:
        return np.linspace(0.0, 1.0, 21)
    try:
        fractions = np.asarray(fractions, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"fractions must be a 1-d array of numbers in [0, 1]: {exc}"
        ) from exc
    if fractions.ndim != 1 or len(fractions) < 2:
        raise ValueError(
            "fractions must be a 1-d array of at least 2 values (the curve's "
            f"x-axis); got shape {fractions.shape}."
        )
    if (
        not np.isfinite(fractions).all()
        or fractions.min() < 0
        or fractions.max() > 1
    ):
        raise ValueError(
            f"fractions must lie in [0, 1]; got {fractions.tolist()}."
        )
    if np.any(np.diff(fractions) <= 0):
        raise ValueError(
            "fractions must be strictly increasing, e.g. np.linspace(0, 1, 21); "
            f"got {fractions.tolist()}."
        )
    return fractions


def _check_details(details, n_samples, caller):
    """Validate the explanation and return masks, segments, region_probs."""
    require_keys(details, ("masks",), caller)
    masks = check_masks(details["masks"], "details.masks")
    segments, region_probs = region_scores(details, caller)
    if len(masks) != n_samples:
        raise ValueError(
            f"details describes {len(masks)} images but X has {n_samples}; "
            "pass the details of exactly these images."
        )
    if segments.shape != masks.shape:
        raise ValueError(
            f"details.segments must have the masks' shape {masks.shape}; got "
            f"{segments.shape}."
        )
    if not np.issubdtype(segments.dtype, np.integer):
        raise ValueError(
            f"details.segments must hold integer region ids; got dtype "
            f"{segments.dtype}."
        )
    if region_probs.ndim != 2 or len(region_probs) != n_samples:
        raise ValueError(
            "details.region_probs must have shape (n_images, n_regions); got "
            f"{region_probs.shape} for {n_samples} images."
        )
    if not np.isfinite(region_probs).all():
        raise ValueError("details.region_probs contains NaN or infinity.")
    # Only the explanation's own pixels are ranked, so only their ids must
    # index region_probs.
    kept_ids = segments[masks]
    if kept_ids.size and (kept_ids.min() < 0 or kept_ids.max() >= region_probs.shape[1]):
        raise ValueError(
            "details.segments has region ids outside [0, "
            f"{region_probs.shape[1]}) inside the masks; region id j must "
            "index column j of details.region_probs."
        )
    return masks, segments, region_probs


def _reference_prediction(estimator, X, details, masks):
    """Class index the model predicts from the explanation ``x_m``.

    The paper measures fidelity against the model's own prediction on
    ``x_m``, not the label. ``details["proba"]`` is that prediction; a model
    that does not return it is asked with its own masks.
    """
    proba = details.get("proba") if hasattr(details, "get") else None
    if proba is None:
        proba = estimator.predict_proba_masked(X, masks)
    proba = np.asarray(proba)
    if proba.ndim != 2 or len(proba) != len(masks):
        raise ValueError(
            f"The prediction on the explanation must have shape (n_images, "
            f"n_classes); got {proba.shape} for {len(masks)} images."
        )
    return proba.argmax(axis=1)


def _region_ranks(masks, segments, region_probs):
    """Rank of each pixel's region, cumulative kept area, kept region count.

    Regions are ordered by decreasing selection probability; ties go to the
    smaller region id so that curves are reproducible. Only the part of a
    region inside the explanation mask counts as its area: pixels outside
    ``m`` are black in ``x_m`` already, so neither curve can add or remove
    them. Regions without such pixels go last (their area is 0).
    """
    n, n_regions = region_probs.shape
    # Ids outside the mask are never looked up through the ranking, but
    # must still index arrays of width n_regions.
    segments = np.where(masks, segments, 0)
    flat_ids = segments.reshape(n, -1) + n_regions * np.arange(n)[:, None]
    areas = np.bincount(
        flat_ids[masks.reshape(n, -1)], minlength=n * n_regions
    ).reshape(n, n_regions)
    region_ids = np.broadcast_to(np.arange(n_regions), (n, n_regions))
    # lexsort: the last key is the primary one.
    order = np.lexsort((region_ids, -region_probs, areas == 0), axis=-1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, region_ids, axis=-1)
    cum_area = np.cumsum(np.take_along_axis(areas, order, axis=-1), axis=-1)
    pixel_ranks = np.take_along_axis(
        ranks, segments.reshape(n, -1), axis=-1
    ).reshape(segments.shape)
    return pixel_ranks, cum_area, (areas > 0).sum(axis=-1)


def _n_regions_at(cum_area, n_kept_regions, fractions, n_pixels):
    """Number of top-ranked regions moved at each fraction, shape (n, F).

    At fraction ``f`` it is the smallest ``k`` whose ``k`` top regions cover
    at least ``f * n_pixels`` pixels: regions move whole, so the moved area
    reaches ``f`` (overshooting by less than one region) but never falls
    short of it, and ``f = 0`` moves nothing. When the explanation has fewer
    pixels than ``f * n_pixels`` all its regions move.
    """
    n = len(cum_area)
    prefix = np.concatenate([np.zeros((n, 1), cum_area.dtype), cum_area], axis=1)
    targets = fractions * n_pixels - _AREA_TOLERANCE
    # prefix is non-decreasing: the first index reaching the target is the
    # number of entries still below it.
    k = (prefix[:, None, :] < targets[None, :, None]).sum(axis=-1)
    # Past the explanation's last region the input no longer changes; one
    # k for all those fractions lets them share a single classifier call.
    return np.minimum(k, n_kept_regions[:, None])


def _agreement(estimator, X, kind, masks, pixel_ranks, k, reference):
    """Whether the prediction at each (image, fraction) equals the reference.

    Fractions that move the same regions of an image give the same input,
    so each distinct (image, k) pair is classified once; the pairs are sent
    to ``predict_proba_masked`` in stacks of at most ``n`` images.
    """
    n, n_fractions = k.shape
    n_keys = k.max() + 1
    keys, inverse = np.unique(
        np.arange(n)[:, None] * n_keys + k, return_inverse=True
    )
    images, moved = np.divmod(keys, n_keys)
    agree = np.empty(len(keys), dtype=bool)
    X_array = X if hasattr(X, "shape") else np.asarray(X)
    for start in range(0, len(keys), n):
        idx = images[start:start + n]
        top = pixel_ranks[idx] < moved[start:start + n, None, None]
        if kind == "insertion":
            batch_masks = masks[idx] & top
        else:
            batch_masks = masks[idx] & ~top
        proba = np.asarray(estimator.predict_proba_masked(X_array[idx], batch_masks))
        agree[start:start + n] = proba.argmax(axis=1) == reference[idx]
    return agree[inverse.reshape(n, n_fractions)]


@fill_doc
def fidelity_curve(
    estimator, X, *, kind="insertion", fractions=None, delta=None, details=None
):
    """Insertion or deletion fidelity curve of the explanations of ``X``.

    The regions of each explanation are ranked by selection probability
    (``details.region_probs``, descending; ties by region id) and moved whole;
    an explanation without regions (a gradient or AGOP map, which gives
    ``attributions`` only) moves its pixels one by one, ranked by
    ``details.attributions``:

    - ``"insertion"`` starts from an all-black image and adds the pixels of
      ``x_m`` region by region. Regions outside the explanation mask stay
      black, so once ``f`` reaches the image's kept fraction the input is
      ``x_m`` itself.
    - ``"deletion"`` starts from ``x_m`` and sets its top-ranked regions to
      black; once ``f`` reaches the kept fraction the input is all black.

    The x-axis ``f`` counts pixels of the whole image: at ``f`` the moved set
    is the shortest run of top-ranked regions whose area reaches
    ``f * H * W`` pixels (so it can exceed ``f`` by less than one region, and
    ``f = 0`` moves nothing). Fidelity at ``f`` is the fraction of images
    whose prediction (argmax of ``predict_proba_masked``) equals the
    prediction the explanation belongs to (``details.proba``) -- not the
    label, since faithfulness is about the model's reasons, not its
    accuracy. For a model that predicts from its mask (P2P, Blackbox Pixel)
    that is its prediction on ``x_m``; for a post-hoc or gradient
    explanation it is the model's prediction on the full image, so the
    insertion curve's last value is also the share of images whose kept
    pixels alone still give that prediction. A steep rise of the insertion
    curve and a steep fall of the deletion curve mean that the highlighted
    regions are what the prediction rests on.

    Parameters
    ----------
    %(explainer)s
    %(X_as_predict)s
    kind : {"insertion", "deletion"}, default="insertion"
        Which curve to compute.
    %(fractions)s
    %(delta_explain)s
    %(fidelity_details)s

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``fractions`` (n_fractions,); ``fidelity`` (n_fractions,), the share
        of images that keep the prediction, in [0, 1]; ``auc``, the area under
        the curve by the trapezoidal rule over ``fractions`` (in [0, 1] for
        the default fractions; higher is better for insertion, lower for
        deletion); ``kind``.

    See Also
    --------
    insertion_auc, deletion_auc : The area alone.

    Notes
    -----
    Each distinct input is classified once: fractions that move the same
    regions of an image share one call, and the inputs go to
    ``predict_proba_masked`` in stacks of at most ``n_images``.

    Examples
    --------
    >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.metrics import fidelity_curve
    >>> data = make_cluttered_objects(n_samples=12, image_size=16, random_state=0)
    >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=8),
    ...                     max_epochs=1, verbose=0, random_state=0)
    >>> clf = clf.fit(data.images, data.target)
    >>> curve = fidelity_curve(clf, data.images, kind="insertion",
    ...                        fractions=[0, 0.5, 1])
    >>> curve.fidelity.shape, float(curve.fidelity[-1])
    ((3,), 1.0)
    """
    if not (isinstance(kind, str) and kind in _KINDS):
        raise ValueError(f"kind must be 'insertion' or 'deletion'; got {kind!r}.")
    return _fidelity_curve(
        estimator, X, kind, fractions, delta, details, caller="fidelity_curve"
    )


def _fidelity_curve(estimator, X, kind, fractions, delta, details, caller):
    """:func:`fidelity_curve` for a checked ``kind``, naming ``caller`` in errors."""
    fractions = _check_fractions(fractions)
    estimator, X = resolve_explainer(estimator, X, caller, masked=True)
    if details is None:
        details = explain_details(estimator, X, delta, caller)
    elif delta is not None:
        raise ValueError(
            "delta is only used to compute the explanation; it cannot be "
            "combined with precomputed details. Pass one or the other."
        )
    n_samples = len(X)
    masks, segments, region_probs = _check_details(details, n_samples, caller)
    reference = _reference_prediction(estimator, X, details, masks)

    pixel_ranks, cum_area, n_kept_regions = _region_ranks(masks, segments, region_probs)
    n_pixels = masks.shape[1] * masks.shape[2]
    k = _n_regions_at(cum_area, n_kept_regions, fractions, n_pixels)
    agree = _agreement(estimator, X, kind, masks, pixel_ranks, k, reference)
    fidelity = agree.mean(axis=0)
    return Bunch(
        fractions=fractions,
        fidelity=fidelity,
        auc=_trapezoid(fidelity, fractions),
        kind=kind,
    )


_AUC_DOC = """Area under the {kind} fidelity curve ({better} is better).

    The ``auc`` of ``fidelity_curve(..., kind="{kind}")``; see
    :func:`fidelity_curve` for the definition.

    Parameters
    ----------
    %(explainer)s
    %(X_as_predict)s
    %(fractions)s
    %(delta_explain)s
    %(fidelity_details)s

    Returns
    -------
    auc : float
        In [0, 1] with the default fractions.

    See Also
    --------
    fidelity_curve : The whole curve.
    {other} : The area under the {other_kind} curve.

    Examples
    --------
    >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.metrics import {name}
    >>> data = make_cluttered_objects(n_samples=12, image_size=16, random_state=0)
    >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=8),
    ...                     max_epochs=1, verbose=0, random_state=0)
    >>> clf = clf.fit(data.images, data.target)
    >>> 0.0 <= {name}(clf, data.images) <= 1.0
    True
    """


def _auc_doc(kind, better):
    """Decorator giving an AUC function the shared docstring, for ``kind``."""
    other_kind = "deletion" if kind == "insertion" else "insertion"

    def decorate(function):
        function.__doc__ = _AUC_DOC.format(
            kind=kind, name=function.__name__, better=better,
            other=f"{other_kind}_auc", other_kind=other_kind,
        )
        return fill_doc(function)

    return decorate


@_auc_doc("insertion", better="higher")
def insertion_auc(estimator, X, *, fractions=None, delta=None, details=None):
    return _fidelity_curve(
        estimator, X, "insertion", fractions, delta, details, caller="insertion_auc"
    ).auc


@_auc_doc("deletion", better="lower")
def deletion_auc(estimator, X, *, fractions=None, delta=None, details=None):
    return _fidelity_curve(
        estimator, X, "deletion", fractions, delta, details, caller="deletion_auc"
    ).auc
