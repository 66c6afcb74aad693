"""The explanation protocol: what an estimator provides to be scored or plotted.

The protocol is written down once, in ``PROTOCOL_DOC`` below, which
:mod:`sklearn_p2p.metrics` shows in its documentation. This module is the
one place where an estimator is checked against it
(:func:`resolve_explainer`) and asked for its explanation
(:func:`explain_details`).
"""

from sklearn.pipeline import Pipeline

from .utils import check_images

__all__ = ["PROTOCOL_DOC", "explain_details", "images_as_read", "resolve_explainer"]

PROTOCOL_DOC = """
The explanation protocol
~~~~~~~~~~~~~~~~~~~~~~~~
Metrics, scorers and Display objects read explanations through two methods
only, so that any model implementing them -- not only
:class:`~sklearn_p2p.P2PClassifier` -- is judged and shown on the same
footing:

``explain(X, delta=None, return_details=False)``
    Returns bool masks ``(n, H, W)``, the pixels each prediction is made
    from; with ``return_details=True`` a Bunch (or mapping) holding

    - ``masks`` (n, H, W) bool, as above;
    - ``segments`` (n, H, W) non-negative int region ids;
    - ``region_probs`` (n, D), the selection probability (or any score) of
      region ``j`` in column ``j``: it ranks the regions for insertion and
      deletion and colours :class:`~sklearn_p2p.plotting.RegionProbabilityDisplay`;
    - ``proba`` (n, n_classes) and ``y_pred`` (n,), the prediction made
      from ``masks`` (optional: ``predict_proba_masked(X, masks)`` stands in
      for ``proba``);
    - optionally ``tau`` (n,), ``kept_fraction`` (n,), ``embeddings``
      (n, D, K), used by the plots that show them.

    ``delta`` is the certainty of dynamic thresholding; methods without one
    accept and ignore it.
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
