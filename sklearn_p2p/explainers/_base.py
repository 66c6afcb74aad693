"""The base of the explainers of a fitted classifier: the protocol around a map.

An explainer wraps a fitted classifier (its ``estimator`` parameter) and
never changes it. :class:`AttributionExplainer` holds, once for every
explainer whose explanation is a per-pixel map (gradients, AGOP), the part
of the explanation protocol that does not depend on the map: reading the
images as the estimator reads them, the class explained, the top-pixel
masks at ``kept_fraction`` and ``predict_proba_masked``. A subclass writes
``_maps``.
"""

import numpy as np
from sklearn.base import BaseEstimator

from .._explanation import attribution_explanation, check_kept_fraction
from ._network import check_explained_estimator, read_images
from ..utils._docstrings import fill_doc

__all__ = ["AttributionExplainer", "MaskedPredictionMixin"]


class MaskedPredictionMixin:
    """``predict_proba_masked`` of an explainer: its estimator's own."""

    def predict_proba_masked(self, X, masks):
        """Class probabilities of the estimator on ``X`` under given masks.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images, as the estimator takes them.
        masks : array-like of bool, shape (n_samples, H, W)
            True for the pixels to keep; the others are set to black.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``estimator.predict_proba_masked(X, masks)``.
        """
        return self.estimator.predict_proba_masked(X, masks)


class AttributionExplainer(MaskedPredictionMixin, BaseEstimator):
    """Base of the explainers whose explanation is a map of each image.

    Subclasses store their parameters (among them ``estimator`` and
    ``kept_fraction``) and implement ``_maps(network, images, target)``,
    returning non-negative ``(n, H, W)`` maps of the images as the estimator
    reads them (float32 ``(n, H, W, C)`` in [0, 1]) for the class indices
    ``target``; ``_check_ready`` raises when the explainer needs a fit it
    has not had; ``_uses_target`` is False for a map that does not depend
    on the class (no prediction is made for :meth:`attribute` then).
    """

    _uses_target = True

    def _check_ready(self):
        """Raise when the explainer cannot explain yet (e.g. not fitted)."""

    def _maps(self, network, images, target):
        raise NotImplementedError

    def _check_target(self, target, n_images):
        target = np.asarray(target)
        if target.shape != (n_images,) or not np.issubdtype(target.dtype, np.integer):
            raise ValueError(
                f"target must hold one integer class index per image, shape "
                f"({n_images},); got {target.dtype} of shape {target.shape}."
            )
        n_classes = len(self.estimator.classes_)
        if target.size and (target.min() < 0 or target.max() >= n_classes):
            raise ValueError(
                f"target holds column indices of classes_, in 0 .. {n_classes - 1}; "
                f"got values from {target.min()} to {target.max()}."
            )
        return target

    def attribute(self, X, target=None):
        """Attribution maps of ``X``, one per image.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images, as the estimator takes them.
        target : array-like of int, shape (n_samples,), default=None
            Column of ``classes_`` to explain per image; None explains the
            estimator's prediction.

        Returns
        -------
        attributions : ndarray of shape (n_samples, H, W)
            Non-negative maps, higher meaning more important.
        """
        self._validate_params()
        network = check_explained_estimator(self.estimator, type(self).__name__)
        self._check_ready()
        images = read_images(self.estimator, X)
        if self._uses_target:
            if target is None:
                target = self.estimator.predict_proba(X).argmax(axis=1)
            target = self._check_target(target, len(images))
        return self._maps(network, images, target)

    @fill_doc
    def explain(self, X, delta=None, return_details=False):
        """Masks of the top pixels of the map of each predicted class.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images, as the estimator takes them.
        %(explain_no_delta)s

        Returns
        -------
        masks : ndarray of bool, shape (n_samples, H, W)
            The top ``kept_fraction`` of the pixels of each map.
        details : Bunch
            With ``return_details=True``: ``masks``, ``attributions``
            (n_samples, H, W), ``proba`` and ``y_pred`` (the estimator's
            prediction on the full images, the class explained) and
            ``kept_fraction`` (the share each mask keeps).
        """
        self._validate_params()
        network = check_explained_estimator(self.estimator, type(self).__name__)
        fractions = check_kept_fraction(self.kept_fraction, len(X), type(self).__name__)
        self._check_ready()
        images = read_images(self.estimator, X)
        proba = self.estimator.predict_proba(X)
        attributions = self._maps(network, images, proba.argmax(axis=1))
        return attribution_explanation(
            attributions, proba, self.estimator.classes_, fractions, type(self).__name__,
            return_details,
        )
