"""Localization of explanation masks against ground-truth object masks."""

from numbers import Real

import numpy as np

from ..utils._validation import check_masks

__all__ = [
    "kept_fraction_score",
    "localization_score",
    "mask_iou_score",
    "object_fraction",
]


def _check_mask_pair(masks_pred, masks_true):
    masks_pred = check_masks(masks_pred, "masks_pred")
    masks_true = check_masks(masks_true, "masks_true")
    if masks_pred.shape != masks_true.shape:
        raise ValueError(
            "masks_pred and masks_true must have the same shape (n_images, "
            f"height, width); got {masks_pred.shape} and {masks_true.shape}. "
            "Pass one ground-truth mask per explained image, at the image's size."
        )
    return masks_pred, masks_true


def _check_empty_score(empty_score):
    if (
        not isinstance(empty_score, Real)
        or isinstance(empty_score, bool)
        or not 0.0 <= empty_score <= 1.0
    ):
        raise ValueError(
            f"empty_score must be a number in [0, 1]; got {empty_score!r}."
        )
    return float(empty_score)


def _mean_overlap(masks_pred, masks_true, empty_score, *, union):
    """Mean over images of ``|m & m_true| / |m|`` (``/ |m | m_true|`` with ``union``).

    An image whose ratio is 0/0 scores ``empty_score``.
    """
    masks_pred, masks_true = _check_mask_pair(masks_pred, masks_true)
    empty_score = _check_empty_score(empty_score)
    covered = (masks_pred | masks_true) if union else masks_pred
    total = covered.sum(axis=(1, 2))
    hits = (masks_pred & masks_true).sum(axis=(1, 2))
    per_image = np.divide(
        hits, total, out=np.full(len(total), empty_score), where=total > 0
    )
    return float(per_image.mean())


def _mean_fraction(masks, name):
    """Mean over images of the fraction of pixels a mask keeps."""
    masks = check_masks(masks, name)
    return float(masks.mean(axis=(1, 2)).mean())


def localization_score(masks_pred, masks_true, *, empty_score=0.0):
    """Fraction of the explanation that lies on the object, averaged over images.

    For every image the score is ``|m & m_true| / |m|``, the share of the
    selected pixels ``m`` that belong to the ground-truth object ``m_true``
    (the localization metric of Vandenhirtz & Vogt, ICML 2025). It is 1 when
    everything shown is part of the object, however little of the object is
    shown: P2P looks for a *minimal* sufficient mask, so covering the whole
    object is not asked for (use :func:`mask_iou_score` for that).

    Parameters
    ----------
    masks_pred : array-like of shape (n_images, height, width)
        Explanation masks, bool (or exactly 0/1): True where a pixel is kept.
    masks_true : array-like of shape (n_images, height, width)
        Ground-truth object masks of the same shape.
    empty_score : float in [0, 1], default=0.0
        Score of an image whose explanation keeps no pixel, where the ratio
        is 0/0. The default 0 treats an explanation that shows nothing as
        localizing nothing; otherwise a selector could reach a perfect score
        by keeping nothing at all.

    Returns
    -------
    score : float
        Mean over images of ``|m & m_true| / |m|``, in [0, 1].

    See Also
    --------
    mask_iou_score : Intersection over union, which also rewards coverage.
    object_fraction : The score expected from masks placed at random.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.metrics import localization_score
    >>> masks_true = np.zeros((1, 4, 4), dtype=bool)
    >>> masks_true[0, :2] = True                # object: top half
    >>> masks_pred = np.zeros((1, 4, 4), dtype=bool)
    >>> masks_pred[0, 1:3] = True               # rows 1-2: half on the object
    >>> localization_score(masks_pred, masks_true)
    0.5
    """
    return _mean_overlap(masks_pred, masks_true, empty_score, union=False)


def mask_iou_score(masks_pred, masks_true, *, empty_score=1.0):
    """Intersection over union of explanation and object masks, averaged.

    For every image the score is ``|m & m_true| / |m | m_true|``. Unlike
    :func:`localization_score` it also penalises the part of the object the
    explanation leaves out.

    Parameters
    ----------
    masks_pred : array-like of shape (n_images, height, width)
        Explanation masks, bool (or exactly 0/1).
    masks_true : array-like of shape (n_images, height, width)
        Ground-truth object masks of the same shape.
    empty_score : float in [0, 1], default=1.0
        Score of an image where *both* masks are empty, where the ratio is
        0/0. The default 1 counts it as perfect agreement: the explanation
        selects exactly the (empty) object. When only one mask is empty the
        union is not, and the score is 0 without special-casing.

    Returns
    -------
    score : float
        Mean over images of ``|m & m_true| / |m | m_true|``, in [0, 1].

    See Also
    --------
    localization_score : The paper's metric, which does not ask for coverage.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.metrics import mask_iou_score
    >>> masks_true = np.zeros((1, 4, 4), dtype=bool)
    >>> masks_true[0, :2] = True                # 8 pixels
    >>> masks_pred = np.zeros((1, 4, 4), dtype=bool)
    >>> masks_pred[0, 1:3] = True               # 8 pixels, 4 shared
    >>> mask_iou_score(masks_pred, masks_true)  # 4 / 12
    0.333...
    """
    return _mean_overlap(masks_pred, masks_true, empty_score, union=True)


def object_fraction(masks_true):
    """Mean fraction of the image covered by the object: chance localization.

    A mask that does not look at the image (every pixel equally likely to be
    selected, whatever its size) has an expected :func:`localization_score`
    equal to the object's share of the image. Compare localization scores
    with this value, not with 0.

    Parameters
    ----------
    masks_true : array-like of shape (n_images, height, width)
        Ground-truth object masks, bool (or exactly 0/1).

    Returns
    -------
    fraction : float
        Mean over images of ``|m_true| / (height * width)``, in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.metrics import localization_score, object_fraction
    >>> masks_true = np.zeros((2, 4, 4), dtype=bool)
    >>> masks_true[0, :2] = True     # half of image 0
    >>> object_fraction(masks_true)  # image 1 has no object
    0.25

    Explanations that keep every pixel localize at chance level:

    >>> localization_score(np.ones_like(masks_true), masks_true)
    0.25
    """
    return _mean_fraction(masks_true, "masks_true")


def kept_fraction_score(masks):
    """Mean fraction of pixels an explanation keeps (its sparsity level).

    This is a descriptive number, not a quality: lower means sparser
    explanations. The scorer :data:`~sklearn_p2p.metrics.kept_fraction_scorer`
    returns its negative, so that "greater is better" means "sparser".

    Parameters
    ----------
    masks : array-like of shape (n_images, height, width)
        Explanation masks, bool (or exactly 0/1).

    Returns
    -------
    score : float
        Mean over images of ``|m| / (height * width)``, in [0, 1]; lower is
        sparser.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.metrics import kept_fraction_score
    >>> masks = np.zeros((2, 4, 4), dtype=bool)
    >>> masks[0, :1] = True          # 4 of 16 pixels
    >>> masks[1] = True              # all pixels
    >>> kept_fraction_score(masks)
    0.625
    """
    return _mean_fraction(masks, "masks")
