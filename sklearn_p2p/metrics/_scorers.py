"""Scorers for explanations, for ``cross_validate`` and ``GridSearchCV``."""

import numpy as np
from sklearn.utils.metadata_routing import MetadataRequest

from .._explanation import explain_details, require_keys, resolve_explainer
from ._attribution import (
    pointing_game_score,
    relevance_mass_score,
    sparseness_score,
    top_k_iou_score,
    top_k_precision_score,
)
from ._fidelity import deletion_auc, insertion_auc
from ._localization import kept_fraction_score, localization_score
from ._stability import relative_input_stability, relative_output_stability

__all__ = [
    "deletion_auc_scorer",
    "insertion_auc_scorer",
    "kept_fraction_scorer",
    "localization_scorer",
    "make_explanation_scorer",
    "pointing_game_scorer",
    "relative_input_stability_scorer",
    "relative_output_stability_scorer",
    "relevance_mass_scorer",
    "sparseness_scorer",
    "top_k_iou_scorer",
    "top_k_precision_scorer",
]


class _ExplanationScorer:
    """Scorer ``scorer(estimator, X, y=None, *, masks=None)`` for explanations.

    Built by :func:`make_explanation_scorer`. It explains ``X`` once and hands
    the explanation to its score function. It is a consumer in scikit-learn's
    metadata routing: with ``requires_masks`` it requests ``masks`` for
    ``score``, so meta-estimators slice the ground-truth masks along with ``X``.

    The ready-made scorers are instances: ``localization_scorer``
    (:func:`localization_score`, requests ``masks``), ``insertion_auc_scorer``
    (:func:`insertion_auc`), ``deletion_auc_scorer`` (``-deletion_auc``),
    ``kept_fraction_scorer`` (``-kept_fraction_score``), the scorers of the
    attribution maps (``top_k_precision_scorer``, ``top_k_iou_scorer``,
    ``relevance_mass_scorer``, ``pointing_game_scorer``, which request
    ``masks``, and ``sparseness_scorer``) and of stability
    (``relative_input_stability_scorer``,
    ``relative_output_stability_scorer``, negated). Each returns a float,
    greater is better.

    Examples
    --------
    >>> import sklearn
    >>> from sklearn.model_selection import cross_validate
    >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.metrics import kept_fraction_scorer, localization_scorer
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=8),
    ...                     max_epochs=1, verbose=0, random_state=0)
    >>> clf = clf.fit(data.images, data.target)

    Called directly, a scorer takes the masks as a keyword argument:

    >>> score = localization_scorer(clf, data.images, data.target, masks=data.masks)
    >>> 0.0 <= score <= 1.0
    True
    >>> -1.0 <= kept_fraction_scorer(clf, data.images, data.target) <= 0.0
    True

    In model selection, metadata routing slices the masks along with ``X``:

    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scores = cross_validate(
    ...         clf, data.images, data.target, cv=2,
    ...         scoring={"localization": localization_scorer,
    ...                  "kept_fraction": kept_fraction_scorer},
    ...         params={"masks": data.masks})
    >>> scores["test_localization"].shape
    (2,)
    """

    def __init__(self, score_func, sign, delta, kwargs, requires_masks):
        self._score_func = score_func
        self._sign = sign
        self._delta = delta
        self._kwargs = kwargs
        self._requires_masks = requires_masks

    def __call__(self, estimator, X, y_true=None, **metadata):
        """Score the explanations the fitted ``estimator`` gives for ``X``.

        Parameters
        ----------
        estimator : fitted estimator
            A P2PClassifier, a Pipeline ending in one, or an estimator with
            ``explain`` and ``predict_proba_masked``.
        X : array-like of shape (n_images, ...)
            Images, as ``estimator.predict`` takes them.
        y_true : array-like, default=None
            Ignored: explanations are scored against the model's own
            predictions or the ground-truth masks, not the labels.
        **metadata
            ``masks``: ground-truth masks of shape (n_images, H, W), required
            by scorers made with ``requires_masks=True`` (routed there by
            scikit-learn when metadata routing is enabled) and ignored by the
            others.

        Returns
        -------
        score : float
            Greater is better: ``-score_func(...)`` when the scorer was made
            with ``greater_is_better=False``.
        """
        masks = metadata.pop("masks", None)
        if metadata:
            raise TypeError(
                f"{self!r} got unexpected argument(s) {sorted(metadata)}; "
                "explanation scorers only accept the metadata 'masks'."
            )
        if self._requires_masks and masks is None:
            raise ValueError(
                f"{self!r} needs the ground-truth object masks of the scored "
                "images. Call it as scorer(estimator, X, y, masks=masks), or "
                "enable metadata routing (sklearn.set_config("
                "enable_metadata_routing=True)) and pass masks=... to the "
                "meta-estimator, e.g. GridSearchCV(...).fit(X, y, masks=masks) "
                "or cross_validate(..., params={'masks': masks})."
            )
        if self._requires_masks:
            _check_mask_count(masks, X, repr(self))
        # Scores that need predictions on masked images (fidelity) check
        # for predict_proba_masked themselves.
        explainer, X = resolve_explainer(estimator, X, repr(self))
        # One explanation per call, shared by everything the score needs.
        details = explain_details(explainer, X, self._delta, repr(self))
        kwargs = dict(self._kwargs)
        if self._requires_masks:
            kwargs["masks"] = masks
        score = self._score_func(explainer, X, details=details, **kwargs)
        return self._sign * float(score)

    def get_metadata_routing(self):
        """Metadata this scorer consumes: ``masks`` for ``score`` if required.

        Returns
        -------
        request : :class:`~sklearn.utils.metadata_routing.MetadataRequest`
        """
        request = MetadataRequest(owner=self)
        if self._requires_masks:
            request.score.add_request(param="masks", alias=True)
        return request

    def _accept_sample_weight(self):
        # Asked by scikit-learn's multi-metric scoring when routing is off;
        # per-image weights are not supported by these scores.
        return False

    def __repr__(self):
        name = getattr(self._score_func, "__name__", repr(self._score_func))
        args = [name]
        if self._sign < 0:
            args.append("greater_is_better=False")
        if self._requires_masks:
            args.append("requires_masks=True")
        if self._delta is not None:
            args.append(f"delta={self._delta!r}")
        args += [f"{key}={value!r}" for key, value in self._kwargs.items()]
        return f"make_explanation_scorer({', '.join(args)})"

    def _routing_repr(self):
        # Used by scikit-learn's routing error messages.
        return repr(self)


def make_explanation_scorer(
    score_func, *, greater_is_better=True, requires_masks=False, delta=None, **kwargs
):
    """Make a scorer that evaluates an estimator's explanations.

    The scorer has scikit-learn's calling convention
    ``scorer(estimator, X, y)``, so it can go into ``cross_validate`` or
    ``GridSearchCV(scoring=...)``. Per call it explains ``X`` once, with
    ``explain(X, delta=delta, return_details=True)``, and returns
    ``sign * score_func(estimator, X, details=details, **kwargs)``. For a
    Pipeline, ``estimator`` and ``X`` are its last step and ``X`` transformed
    by the earlier steps.

    Parameters
    ----------
    score_func : callable
        ``score_func(estimator, X, *, details, **kwargs) -> float``, where
        ``details`` is the Bunch returned by ``explain``. With
        ``requires_masks=True`` it is also passed the ground-truth masks as
        the keyword ``masks``. :func:`insertion_auc` and :func:`deletion_auc`
        have this signature.
    greater_is_better : bool, default=True
        False makes the scorer return ``-score_func(...)``: scikit-learn
        maximises scores, so a quantity to minimise is negated.
    requires_masks : bool, default=False
        Request the ground-truth object masks as metadata ``masks`` for
        ``score``. With ``sklearn.set_config(enable_metadata_routing=True)``,
        meta-estimators called with ``masks=...`` hand the scorer the masks of
        the scored fold only.
    delta : float in (0, 1], default=None
        Certainty passed to ``explain``; None uses the estimator's own, so a
        grid search over ``delta`` scores each candidate's explanations.
    **kwargs
        Further keyword arguments of ``score_func``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None, *, masks=None) -> float``, with
        ``get_metadata_routing()`` for scikit-learn's metadata routing.

    See Also
    --------
    localization_scorer, insertion_auc_scorer, deletion_auc_scorer,
    kept_fraction_scorer, top_k_precision_scorer, relevance_mass_scorer,
    pointing_game_scorer, sparseness_scorer : Ready-made scorers.

    Examples
    --------
    Score the mean threshold tau chosen by dynamic thresholding (lower means
    the model was certain from fewer regions):

    >>> import sklearn
    >>> from sklearn.model_selection import cross_validate
    >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.metrics import localization_scorer, make_explanation_scorer
    >>> def mean_tau(estimator, X, *, details):
    ...     return details.tau.mean()
    >>> tau_scorer = make_explanation_scorer(mean_tau, greater_is_better=False)
    >>> data = make_cluttered_objects(n_samples=12, image_size=16, random_state=0)
    >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=8),
    ...                     max_epochs=1, verbose=0, random_state=0)
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scores = cross_validate(
    ...         clf, data.images, data.target, cv=2,
    ...         scoring={"tau": tau_scorer, "localization": localization_scorer},
    ...         params={"masks": data.masks})
    >>> scores["test_localization"].shape
    (2,)
    """
    if not callable(score_func):
        raise TypeError(
            f"score_func must be callable as score_func(estimator, X, *, "
            f"details, **kwargs); got {score_func!r}."
        )
    if not isinstance(greater_is_better, bool):
        raise ValueError(
            f"greater_is_better must be True or False; got {greater_is_better!r}."
        )
    if not isinstance(requires_masks, bool):
        raise ValueError(
            f"requires_masks must be True or False; got {requires_masks!r}."
        )
    if requires_masks and "masks" in kwargs:
        raise ValueError(
            "masks cannot be fixed in kwargs when requires_masks=True: the "
            "ground-truth masks are passed per call as metadata."
        )
    sign = 1 if greater_is_better else -1
    return _ExplanationScorer(score_func, sign, delta, kwargs, requires_masks)


def _check_mask_count(masks, X, scorer):
    """One (H, W) ground-truth mask per scored image, checked before explaining."""
    shape = np.shape(masks)
    n_images = len(X)
    if len(shape) != 3 or shape[0] != n_images:
        raise ValueError(
            f"{scorer} got masks of shape {shape} for {n_images} images; pass one "
            "(height, width) mask per image, shape (n_images, height, width). In a "
            "search, pass the masks of the whole X to fit (masks=...), so that "
            "they are split along with the images."
        )


def _localization_score(estimator, X, *, details, masks, empty_score=0.0):
    return localization_score(details["masks"], masks, empty_score=empty_score)


def _kept_fraction_score(estimator, X, *, details):
    return kept_fraction_score(details["masks"])


#: Scorer of :func:`localization_score` (greater is better). Requests the
#: ground-truth object masks as metadata ``masks`` (metadata routing).
localization_scorer = make_explanation_scorer(_localization_score, requires_masks=True)

#: Scorer of :func:`insertion_auc` (greater is better).
insertion_auc_scorer = make_explanation_scorer(insertion_auc)

#: Scorer of :func:`deletion_auc`, **negated**: it returns ``-deletion_auc``
#: so that, as for every scikit-learn scorer, greater is better.
deletion_auc_scorer = make_explanation_scorer(deletion_auc, greater_is_better=False)

#: Scorer of :func:`kept_fraction_score`, **negated**: it returns minus the
#: mean kept fraction, so that greater is better means sparser explanations.
kept_fraction_scorer = make_explanation_scorer(_kept_fraction_score, greater_is_better=False)


def _map_score(metric):
    """``score_func`` scoring ``details.attributions`` with ``metric`` (against ``masks``)."""
    name = metric.__name__
    if metric is sparseness_score:
        def score(estimator, X, *, details):
            require_keys(details, ("attributions",), name)
            return metric(details["attributions"])
    else:
        def score(estimator, X, *, details, masks):
            require_keys(details, ("attributions",), name)
            return metric(details["attributions"], masks)
    score.__name__ = name
    return score


#: Scorer of :func:`top_k_precision_score` of the explanation's
#: ``attributions`` (greater is better). Requests ``masks``.
top_k_precision_scorer = make_explanation_scorer(
    _map_score(top_k_precision_score), requires_masks=True)

#: Scorer of :func:`top_k_iou_score` (greater is better). Requests ``masks``.
top_k_iou_scorer = make_explanation_scorer(_map_score(top_k_iou_score), requires_masks=True)

#: Scorer of :func:`relevance_mass_score` (greater is better). Requests ``masks``.
relevance_mass_scorer = make_explanation_scorer(
    _map_score(relevance_mass_score), requires_masks=True)

#: Scorer of :func:`pointing_game_score` (greater is better). Requests ``masks``.
pointing_game_scorer = make_explanation_scorer(
    _map_score(pointing_game_score), requires_masks=True)

#: Scorer of :func:`sparseness_score`, the Gini index of the maps (greater
#: is sparser).
sparseness_scorer = make_explanation_scorer(_map_score(sparseness_score))

#: Scorer of :func:`relative_input_stability`, **negated** (lower log10 RIS
#: is more stable), with the noise seeded (``random_state=0``) so that every
#: candidate of a search is judged on the same noisy copies.
relative_input_stability_scorer = make_explanation_scorer(
    relative_input_stability, greater_is_better=False, random_state=0)

#: Scorer of :func:`relative_output_stability`, **negated**, seeded as
#: ``relative_input_stability_scorer``.
relative_output_stability_scorer = make_explanation_scorer(
    relative_output_stability, greater_is_better=False, random_state=0)
