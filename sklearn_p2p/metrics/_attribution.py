"""Scores of continuous attribution maps against ground-truth object masks.

Where :func:`~sklearn_p2p.metrics.localization_score` judges a binary mask,
these judge the continuous map behind it (``attributions`` of the
explanation protocol), as the papers of the related methods do: top-k
precision and IoU (XAI-TRIS, AGOP), relevance mass and the pointing game
(Arras et al., 2022; Zhang et al., 2018), and the Gini sparseness of a map
(Chalasani et al., 2020). Each takes ``(attributions, masks_true)``, in the
order of :func:`~sklearn_p2p.metrics.localization_score`, as
``(n_images, H, W)`` arrays, and returns the mean over images, or one value
per image with ``average=False``. Their scorers (``top_k_precision_scorer``
and the others) score the ``attributions`` of an estimator's explanations.
"""

import numpy as np

from .._explanation import top_count_masks
from ..utils._validation import check_masks

__all__ = [
    "pointing_game_score",
    "relevance_mass_score",
    "sparseness_score",
    "top_k_iou_score",
    "top_k_precision_score",
]


def _check_attributions(attributions, name="attributions"):
    try:
        attributions = np.asarray(attributions, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers: {exc}") from exc
    if attributions.ndim != 3 or len(attributions) == 0:
        raise ValueError(
            f"{name} must have shape (n_images, H, W) with at least one image; "
            f"got shape {attributions.shape}. Pass explain(X, "
            "return_details=True).attributions."
        )
    if not np.isfinite(attributions).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return attributions


def _check_pair(attributions, masks_true):
    attributions = _check_attributions(attributions)
    masks_true = check_masks(masks_true, "masks_true")
    if masks_true.shape != attributions.shape:
        raise ValueError(
            f"masks_true must have the shape of attributions {attributions.shape} "
            f"(one (H, W) mask per image); got {masks_true.shape}."
        )
    return attributions, masks_true


def _reduce(per_image, average):
    return float(per_image.mean()) if average else per_image


def top_k_precision_score(attributions, masks_true, *, average=True):
    """Share of the ``k`` highest-attributed pixels that lie in the object.

    ``k`` is the size of each image's ground-truth mask, so a perfect map
    scores 1 and a random one the object's share of the image. This is the
    metric of XAI-TRIS (Clark et al., 2024) and of the AGOP paper's image
    benchmarks. Ties are broken by pixel position.

    Parameters
    ----------
    attributions : array-like of shape (n_images, H, W)
        Continuous maps, higher meaning more important.
    masks_true : array-like of bool, shape (n_images, H, W)
        The object's pixels; images with an empty mask score 0.
    average : bool, default=True
        Return the mean over images; False returns one value per image.

    Returns
    -------
    score : float or ndarray of shape (n_images,)
        In [0, 1], higher is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.metrics import top_k_precision_score
    >>> truth = np.zeros((1, 4, 4), bool); truth[0, :2, :2] = True
    >>> attributions = np.zeros((1, 4, 4)); attributions[0, 0, :4] = [4, 3, 2, 1]
    >>> top_k_precision_score(attributions, truth)  # top 4: two in the object
    0.5
    """
    attributions, masks_true = _check_pair(attributions, masks_true)
    sizes = masks_true.sum(axis=(1, 2))
    top = top_count_masks(attributions, sizes)
    hits = (top & masks_true).sum(axis=(1, 2))
    per_image = np.divide(hits, sizes, out=np.zeros(len(sizes)), where=sizes > 0)
    return _reduce(per_image, average)


def top_k_iou_score(attributions, masks_true, *, average=True):
    """IoU of the ``k`` highest-attributed pixels with the object (``k`` its size).

    With ``k`` equal to the object's size the IoU is ``p / (2 - p)`` for the
    top-k precision ``p``: the same ranking, on the scale of a mask IoU
    (the AGOP paper reports mIoU).

    Parameters
    ----------
    attributions : array-like of shape (n_images, H, W)
        Continuous maps, higher meaning more important.
    masks_true : array-like of bool, shape (n_images, H, W)
        The object's pixels; images with an empty mask score 0.
    average : bool, default=True
        Return the mean over images; False returns one value per image.

    Returns
    -------
    score : float or ndarray of shape (n_images,)
        In [0, 1], higher is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.metrics import top_k_iou_score
    >>> truth = np.zeros((1, 4, 4), bool); truth[0, :2, :2] = True
    >>> attributions = np.zeros((1, 4, 4)); attributions[0, 0, :4] = [4, 3, 2, 1]
    >>> round(top_k_iou_score(attributions, truth), 4)  # 2 shared of 6 covered
    0.3333
    """
    precision = top_k_precision_score(attributions, masks_true, average=False)
    per_image = precision / (2.0 - precision)
    return _reduce(per_image, average)


def relevance_mass_score(attributions, masks_true, *, average=True):
    """Share of the positive attribution that falls inside the object.

    ``sum(a+ * m) / sum(a+)`` with ``a+ = max(a, 0)`` (relevance mass
    accuracy, Arras et al., 2022). A map without positive values scores 0.

    Parameters
    ----------
    attributions : array-like of shape (n_images, H, W)
        Continuous maps, higher meaning more important.
    masks_true : array-like of bool, shape (n_images, H, W)
        The object's pixels.
    average : bool, default=True
        Return the mean over images; False returns one value per image.

    Returns
    -------
    score : float or ndarray of shape (n_images,)
        In [0, 1], higher is better; a uniform map scores the object's
        share of the image.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.metrics import relevance_mass_score
    >>> truth = np.zeros((1, 2, 2), bool); truth[0, 0, 0] = True
    >>> relevance_mass_score(np.array([[[3.0, 1.0], [0.0, -5.0]]]), truth)
    0.75
    """
    attributions, masks_true = _check_pair(attributions, masks_true)
    positive = np.clip(attributions, 0, None)
    total = positive.sum(axis=(1, 2))
    inside = (positive * masks_true).sum(axis=(1, 2))
    per_image = np.divide(inside, total, out=np.zeros(len(total)), where=total > 0)
    return _reduce(per_image, average)


def pointing_game_score(attributions, masks_true, *, average=True):
    """Whether each map's maximum lies inside the object (Zhang et al., 2018).

    Where several pixels share the maximum -- every pixel of the top region
    of a region map such as P2P's -- the image scores the share of them that
    lie in the object: the expected hit when the tie is broken at random.
    So a uniform map scores the object's share of the image, as a random
    guess would. (Quantus' ``PointingGame`` counts a hit when *any* tied
    pixel is in the object, which gives a uniform map 1; without ties both
    agree.)

    Parameters
    ----------
    attributions : array-like of shape (n_images, H, W)
        Continuous maps, higher meaning more important.
    masks_true : array-like of bool, shape (n_images, H, W)
        The object's pixels.
    average : bool, default=True
        Return the mean over images; False returns one value per image.

    Returns
    -------
    score : float or ndarray of shape (n_images,)
        The hit rate in [0, 1], higher is better: 1 or 0 per image without
        ties at the maximum.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.metrics import pointing_game_score
    >>> truth = np.zeros((2, 2, 2), bool); truth[:, 0, 0] = True
    >>> pointing_game_score(np.array([[[3, 1], [0, 0]], [[0, 1], [0, 0]]]), truth)
    0.5

    A tie at the maximum counts the share of the tied pixels on the object:

    >>> pointing_game_score(np.array([[[2, 2], [0, 0]]]), truth[:1])
    0.5
    """
    attributions, masks_true = _check_pair(attributions, masks_true)
    n = len(attributions)
    flat = attributions.reshape(n, -1)
    at_max = flat == flat.max(axis=1, keepdims=True)
    hits = (at_max & masks_true.reshape(n, -1)).sum(axis=1)
    per_image = hits / at_max.sum(axis=1)
    return _reduce(per_image, average)


def sparseness_score(attributions, *, average=True):
    """Gini index of each flattened ``|map|``: 0 uniform, near 1 one pixel.

    The sparseness measure of Chalasani et al. (2020), used by the
    feature-map smoothing paper: with the ``N`` absolute values sorted
    ascending, ``G = 1 - 2 * sum_k (v_k / ||v||_1) * (N - k + 0.5) / N``
    (``k`` from 1). An all-zero map scores 0.

    Parameters
    ----------
    attributions : array-like of shape (n_images, H, W)
        Continuous maps.
    average : bool, default=True
        Return the mean over images; False returns one value per image.

    Returns
    -------
    score : float or ndarray of shape (n_images,)
        In [0, 1); higher means sparser.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.metrics import sparseness_score
    >>> sparseness_score(np.ones((1, 4, 4)))
    0.0
    >>> one_pixel = np.zeros((1, 4, 4)); one_pixel[0, 1, 2] = 5.0
    >>> sparseness_score(one_pixel)  # 1 - 1/N for N = 16
    0.9375
    """
    attributions = _check_attributions(attributions)
    n = len(attributions)
    values = np.sort(np.abs(attributions).reshape(n, -1), axis=1)
    n_values = values.shape[1]
    total = values.sum(axis=1)
    weights = (n_values - np.arange(1, n_values + 1) + 0.5) / n_values
    shares = np.divide(values, total[:, None], out=np.zeros_like(values),
                       where=total[:, None] > 0)
    per_image = np.where(total > 0, 1.0 - 2.0 * (shares * weights).sum(axis=1), 0.0)
    return _reduce(per_image, average)
