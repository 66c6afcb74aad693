"""LIME on a fitted black box, over the same superpixels P2P uses."""

from unittest import mock

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import Bunch, check_random_state

from .._explanation import check_kept_fraction, flag_empty_masks, paint_regions
from ._base import MaskedPredictionMixin
from ..utils._docstrings import fill_doc

__all__ = ["LimeBaseline", "top_regions_mask"]


def top_regions_mask(segments, scores, kept_fraction):
    """Keep the best-scored regions until they cover ``kept_fraction`` of the pixels.

    Regions enter whole, in descending score order (ties by region id); the
    last region taken is the one whose area first reaches the target, so the
    kept share is at least ``kept_fraction`` (or everything).

    Parameters
    ----------
    segments : ndarray of int, shape (H, W)
        Label map with ids ``0 .. n_regions - 1``.
    scores : ndarray of shape (n_regions,)
        Score of every region; higher is kept first.
    kept_fraction : float in [0, 1]
        Share of the pixels to cover.

    Returns
    -------
    mask : ndarray of bool, shape (H, W)
        True on the pixels of the regions taken.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.baselines import top_regions_mask
    >>> segments = np.array([[0, 0, 1, 1],
    ...                      [0, 0, 1, 1],
    ...                      [2, 2, 3, 3],
    ...                      [2, 2, 3, 3]])
    >>> top_regions_mask(segments, np.array([0.1, 0.9, 0.5, 0.2]), 0.5).astype(int)
    array([[0, 0, 1, 1],
           [0, 0, 1, 1],
           [1, 1, 0, 0],
           [1, 1, 0, 0]])
    """
    if kept_fraction <= 0:
        return np.zeros(segments.shape, dtype=bool)
    sizes = np.bincount(segments.ravel(), minlength=len(scores))
    order = np.lexsort((np.arange(len(scores)), -np.asarray(scores)))
    covered = np.cumsum(sizes[order]) / segments.size
    n_taken = int(np.searchsorted(covered, kept_fraction - 1e-9) + 1)
    return np.isin(segments, order[:n_taken])


class LimeBaseline(MaskedPredictionMixin, BaseEstimator):
    """Post-hoc LIME explanations of a fitted classifier at a given kept fraction.

    LIME (Ribeiro et al., 2016) fits a local linear model of the classifier's
    output on random on/off patterns of the superpixels; the regions with the
    largest weights for the predicted class form the explanation. Here the
    superpixels are the estimator's own (its ``explain`` details), switched-off
    regions are black as in P2P, and the mask keeps the top regions up to the
    requested kept fraction, so it can be compared with P2P at equal sparsity.

    Implements the explanation protocol of :mod:`sklearn_p2p.metrics`:
    ``explain(X, delta=None, return_details=False)`` and
    ``predict_proba_masked(X, masks)``. Requires the ``lime`` package
    (``pip install lime``).

    Parameters
    ----------
    estimator : fitted BlackboxClassifier or P2PClassifier
        Queried through ``predict_proba`` (on full, perturbed images).
    kept_fraction : float or array-like of shape (n_samples,), default=0.25
        Fraction of pixels each mask keeps; an array gives one per image (e.g.
        P2P's per-image kept fractions).
    num_samples : int, default=300
        Perturbations per image.
    random_state : int, RandomState instance or None, default=None
        Seeds LIME's perturbations; an int makes the masks reproducible.

    Examples
    --------
    >>> from sklearn_p2p import SuperpixelTransformer
    >>> from sklearn_p2p.baselines import BlackboxClassifier
    >>> from sklearn_p2p.explainers import LimeBaseline
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> blackbox = BlackboxClassifier(superpixels=SuperpixelTransformer(n_segments=8),
    ...                               max_epochs=1, verbose=0, random_state=0)
    >>> blackbox = blackbox.fit(data.images, data.target)
    >>> lime = LimeBaseline(blackbox, kept_fraction=0.25, num_samples=20, random_state=0)
    >>> masks = lime.explain(data.images[:2])
    >>> masks.shape, bool((masks.mean(axis=(1, 2)) >= 0.25).all())
    ((2, 16, 16), True)
    """

    def __init__(self, estimator, *, kept_fraction=0.25, num_samples=300, random_state=None):
        self.estimator = estimator
        self.kept_fraction = kept_fraction
        self.num_samples = num_samples
        self.random_state = random_state

    @fill_doc
    def explain(self, X, delta=None, return_details=False):
        """LIME masks at ``kept_fraction``; ``delta`` is accepted and ignored.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images, as the estimator takes them.
        %(explain_no_delta)s

        Returns
        -------
        masks : ndarray of bool, shape (n_samples, H, W)
            The top LIME regions of each image, covering at least its
            ``kept_fraction`` of the pixels.
        details : Bunch
            With ``return_details=True``: ``masks``, ``segments``,
            ``region_probs`` (LIME weights rescaled to [0, 1], same order),
            ``attributions`` (those weights painted onto the pixels of their
            regions), ``proba`` and ``y_pred`` of the estimator on the full
            images, ``kept_fraction``.
        """
        from lime import lime_image

        fractions = check_kept_fraction(self.kept_fraction, len(X), type(self).__name__)
        base = self.estimator.explain(X, return_details=True)
        images = np.asarray(X)
        if images.dtype == np.uint8:
            images = images / 255.0
        n_images = len(images)
        full_proba = self.estimator.predict_proba_masked(X, np.ones(base.masks.shape, dtype=bool))
        labels = full_proba.argmax(axis=1)
        rng = check_random_state(self.random_state)
        explainer = lime_image.LimeImageExplainer(random_state=rng)
        masks = np.zeros(base.masks.shape, dtype=bool)
        region_probs = np.zeros(base.region_probs.shape)
        for i in range(n_images):
            segments = base.segments[i]
            image = images[i, ..., 0] if images.ndim == 4 and images.shape[-1] == 1 else images[i]
            # lime draws a progress bar per image with no switch to turn it off.
            with mock.patch.object(lime_image, "tqdm", lambda iterable, **_: iterable):
                explanation = explainer.explain_instance(
                    image, self._classifier_fn(images.shape), labels=(labels[i],),
                    top_labels=None, hide_color=0, num_samples=self.num_samples,
                    batch_size=self.num_samples,
                    segmentation_fn=lambda _, segments=segments: segments,
                    random_seed=rng.randint(np.iinfo(np.int32).max),
                )
            n_regions = int(segments.max()) + 1
            weights = np.zeros(n_regions)
            for region, weight in explanation.local_exp[labels[i]]:
                weights[region] = weight
            masks[i] = top_regions_mask(segments, weights, fractions[i])
            span = np.ptp(weights)
            region_probs[i, :n_regions] = (weights - weights.min()) / span if span > 0 else 0.5
        empty = flag_empty_masks(masks, f"{type(self).__name__}.explain")
        if not return_details:
            return masks
        return Bunch(
            masks=masks, segments=base.segments, region_probs=region_probs,
            attributions=paint_regions(region_probs, base.segments),
            proba=full_proba, y_pred=self.estimator.classes_[labels],
            kept_fraction=masks.mean(axis=(1, 2)), empty=empty,
        )

    def _classifier_fn(self, shape):
        grayscale = len(shape) == 3 or shape[-1] == 1

        def predict(batch):
            batch = np.clip(np.asarray(batch, dtype=np.float32), 0.0, 1.0)
            if grayscale:  # LIME hands back RGB copies of gray images
                batch = batch[..., :1]
            return self.estimator.predict_proba(batch)

        return predict
