"""Reaching the model that explains, for metrics and plots alike.

Scorers, fidelity curves and Display objects accept a fitted P2P model, a
Pipeline ending in one, or any estimator with ``explain``; these helpers are
the one place where that is resolved.
"""

from sklearn.pipeline import Pipeline


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


def explain_details(estimator, X, delta):
    """``estimator.explain(X, delta=delta, return_details=True)``, checked."""
    details = estimator.explain(X, delta=delta, return_details=True)
    if not hasattr(details, "__getitem__") or not hasattr(details, "keys"):
        raise TypeError(
            f"{type(estimator).__name__}.explain(X, return_details=True) must "
            f"return a Bunch or mapping of arrays; got {type(details).__name__}."
        )
    return details
