"""A classifier and the explainer of its predictions, fitted as one estimator.

A post-hoc explainer wraps a classifier that is already fitted, which
``cross_validate`` and ``GridSearchCV`` cannot do: they clone and fit what
they are given, fold by fold. :class:`ExplainedClassifier` is that pairing
as one estimator, so a Blackbox explained by Integrated Gradients is scored
by the same scorers, on the same folds, as a model that explains itself.
"""

from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["ExplainedClassifier"]


class ExplainedClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """A classifier fitted together with the post-hoc explainer of its predictions.

    :meth:`fit` fits a clone of ``estimator``, then gives a clone of
    ``explainer`` the fitted classifier as its ``estimator`` (and fits the
    explainer on the same images when it learns from data, as
    :class:`AGOPExplainer` does). Predictions are the classifier's; the
    explanations, the explainer's. With ``explainer=None`` the classifier
    explains itself (P2P, the models of :mod:`sklearn_p2p.models`), so one
    grid can hold both kinds of candidates.

    Parameters
    ----------
    estimator : estimator
        An unfitted classifier of the package (:class:`~sklearn_p2p.P2PClassifier`,
        :class:`~sklearn_p2p.baselines.BlackboxClassifier` or a model of
        :mod:`sklearn_p2p.models`).
    explainer : explainer or None, default=None
        A post-hoc explainer of :mod:`sklearn_p2p.explainers`; its own
        ``estimator`` parameter is ignored (pass None there) and replaced by
        the fitted classifier. None explains with ``estimator.explain``.

    Attributes
    ----------
    estimator_ : estimator
        The fitted classifier.
    explainer_ : explainer or estimator
        What :meth:`explain` calls: the fitted explainer, or ``estimator_``
        when ``explainer`` is None.
    classes_ : ndarray of shape (n_classes,)
        The classifier's classes.

    See Also
    --------
    sklearn_p2p.metrics.make_explanation_scorer : Scorers of explanations.

    Examples
    --------
    A Blackbox explained by Integrated Gradients, cross-validated with a
    scorer of its attribution maps against the true object masks:

    >>> import sklearn
    >>> from sklearn.model_selection import cross_validate
    >>> from sklearn_p2p.baselines import BlackboxClassifier
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.explainers import ExplainedClassifier, GradientExplainer
    >>> from sklearn_p2p.metrics import top_k_precision_scorer
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> model = ExplainedClassifier(
    ...     BlackboxClassifier(max_epochs=1, verbose=0, random_state=0),
    ...     GradientExplainer(None, method="integrated_gradients"))
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scores = cross_validate(
    ...         model, data.images, data.target, cv=2,
    ...         scoring={"accuracy": "accuracy", "top_k": top_k_precision_scorer},
    ...         params={"masks": data.masks})
    >>> scores["test_top_k"].shape
    (2,)
    """

    def __init__(self, estimator, explainer=None):
        self.estimator = estimator
        self.explainer = explainer

    def _check_params(self):
        for name in ("fit", "predict_proba"):
            if not callable(getattr(self.estimator, name, None)):
                raise TypeError(
                    f"estimator must be a classifier with fit and predict_proba, such "
                    f"as BlackboxClassifier(); got {type(self.estimator).__name__}, "
                    f"which lacks {name}."
                )
        if self.explainer is None:
            if not callable(getattr(self.estimator, "explain", None)):
                raise TypeError(
                    f"With explainer=None the estimator explains itself, but "
                    f"{type(self.estimator).__name__} has no explain method; pass a "
                    "post-hoc explainer, e.g. explainer=GradientExplainer(None)."
                )
            return
        if not callable(getattr(self.explainer, "explain", None)) or "estimator" not in (
            self.explainer.get_params(deep=False) if hasattr(self.explainer, "get_params")
            else {}
        ):
            raise TypeError(
                "explainer must be an explainer of sklearn_p2p.explainers (with an "
                "estimator parameter and explain), such as GradientExplainer(None), "
                f"or None; got {self.explainer!r}."
            )

    def fit(self, X, y, **fit_params):
        """Fit a clone of the classifier, then the explainer around it.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Training images, as the classifier takes them.
        y : array-like of shape (n_samples,)
            Labels.
        **fit_params
            Passed to the classifier's ``fit``.

        Returns
        -------
        self : ExplainedClassifier
            Fitted.
        """
        self._check_params()
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        if self.explainer is None:
            self.explainer_ = self.estimator_
        else:
            self.explainer_ = clone(self.explainer).set_params(estimator=self.estimator_)
            if callable(getattr(self.explainer_, "fit", None)):
                self.explainer_.fit(X, y)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        """Class probabilities of the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            In ``classes_`` order.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        """Class labels predicted by the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels among ``classes_``.
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    def explain(self, X, delta=None, return_details=False):
        """The explanation of ``X`` by the explainer (or the classifier itself).

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images.
        delta : float in (0, 1], default=None
            Passed on; post-hoc explainers ignore it.
        return_details : bool, default=False
            Return the Bunch of the explanation protocol.

        Returns
        -------
        masks : ndarray of bool, shape (n_samples, H, W)
            The explanation masks.
        details : Bunch
            With ``return_details=True``, as the explainer returns it.
        """
        check_is_fitted(self)
        return self.explainer_.explain(X, delta=delta, return_details=return_details)

    def predict_proba_masked(self, X, masks):
        """The classifier's probabilities on ``X`` with only ``masks`` kept.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images.
        masks : array-like of bool, shape (n_samples, H, W)
            True for the pixels to keep; the others are set to black.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            In ``classes_`` order.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba_masked(X, masks)
