"""Warning categories of sklearn_p2p, to filter (or turn into errors) by category.

Use them with :mod:`warnings` as any other category, e.g.
``warnings.simplefilter("error", EmptyExplanationWarning)`` to make an
empty explanation fail a run, or ``"ignore"`` to silence it.
"""

__all__ = ["DegenerateSelectionWarning", "EmptyExplanationWarning"]


class EmptyExplanationWarning(UserWarning):
    """Some explanations keep no pixel at all.

    The prediction for such an image was made from a black image (for P2P,
    the classifier was already certain before any region was added), so the
    mask says nothing about the image. The ``empty`` entry of
    ``explain(X, return_details=True)`` says which images.

    Examples
    --------
    Make empty explanations an error, e.g. in a benchmark:

    >>> import warnings
    >>> from sklearn_p2p.exceptions import EmptyExplanationWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", EmptyExplanationWarning)
    ...     try:
    ...         warnings.warn("2 of 10 explanations keep no pixel", EmptyExplanationWarning)
    ...     except EmptyExplanationWarning as caught:
    ...         print(f"caught: {caught}")
    caught: 2 of 10 explanations keep no pixel
    """


class DegenerateSelectionWarning(UserWarning):
    """A fitted P2P model keeps (nearly) every pixel or (nearly) none in training.

    Keeping everything means no selection was learned (the sparsity penalty
    is too weak or training too short); keeping nothing means the penalty
    won and the classifier reads black images.

    Examples
    --------
    Silence it where a degenerate fit is expected (e.g. a search over
    ``lambda1`` that includes extreme values):

    >>> import warnings
    >>> from sklearn_p2p.exceptions import DegenerateSelectionWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("ignore", DegenerateSelectionWarning)
    ...     warnings.warn("keeps 100% of the pixels", DegenerateSelectionWarning)
    >>> len(caught)
    0
    """
