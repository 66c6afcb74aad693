"""Kept fraction (and accuracy) of a P2P model against the certainty delta."""

import numpy as np

from ..utils._explainers import explain_details
from ._base import (
    _check_matplotlib,
    _check_single_axes,
    _line_kwargs,
    _n_samples,
    _require,
    _resolve_estimator,
)

__all__ = ["DeltaCurveDisplay"]

_DEFAULT_DELTAS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


def _check_deltas(deltas):
    try:
        deltas = np.asarray(deltas, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"deltas must be a 1-d array of numbers in (0, 1]: {exc}") from exc
    if deltas.ndim != 1 or len(deltas) == 0:
        raise ValueError(
            f"deltas must be a 1-d array of at least one value; got shape {deltas.shape}."
        )
    if not np.isfinite(deltas).all() or deltas.min() <= 0 or deltas.max() > 1:
        raise ValueError(f"deltas must lie in (0, 1]; got {deltas.tolist()}.")
    if np.any(np.diff(deltas) <= 0):
        raise ValueError(
            f"deltas must be strictly increasing; got {deltas.tolist()}."
        )
    return deltas


def _check_rates(values, name, n):
    values = np.asarray(values, dtype=float)
    if values.shape != (n,):
        raise ValueError(
            f"{name} must have one value per delta, shape ({n},); got shape "
            f"{values.shape}."
        )
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        raise ValueError(f"{name} must lie in [0, 1]; got {values.tolist()}.")
    return values


class DeltaCurveDisplay:
    """Mean kept fraction, and accuracy, of a P2P model against delta.

    At inference a P2P model with a dynamic threshold keeps, per image, the
    fewest regions for which the classifier reaches the certainty ``delta``.
    A higher ``delta`` asks for more certain predictions, so it keeps more of
    each image; this display shows that trade-off as the mean kept fraction
    of pixels (solid) and, when labels are given, the accuracy of the
    predictions made from the kept regions (dashed, same colour), both
    against ``delta``.

    Several models can share one axes: call :meth:`from_estimator` (or
    :meth:`plot`) again with ``ax=display.ax_`` and another ``name``.

    It is recommended to use :meth:`from_estimator` to create a
    :class:`DeltaCurveDisplay`; all parameters are stored as attributes.

    Parameters
    ----------
    deltas : array-like of shape (n_deltas,)
        Strictly increasing certainties in (0, 1].

    kept_fraction : array-like of shape (n_deltas,)
        Mean fraction of pixels kept at each delta.

    accuracy : array-like of shape (n_deltas,), default=None
        Accuracy at each delta; None draws no accuracy curve.

    name : str, default=None
        Name of the model, shown in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The kept-fraction curve.

    accuracy_line_ : matplotlib Line2D or None
        The accuracy curve, when ``accuracy`` is given.

    ax_ : matplotlib Axes
        Axes holding the curves.

    figure_ : matplotlib Figure
        Figure holding ``ax_``.

    See Also
    --------
    sklearn_p2p.P2PClassifier.explain : The masks at a given delta.
    FidelityCurveDisplay : How faithful the kept regions are.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn_p2p.plotting import DeltaCurveDisplay
    >>> display = DeltaCurveDisplay([0.5, 0.9, 0.99], [0.1, 0.3, 0.6],
    ...                             accuracy=[0.6, 0.8, 0.9], name="P2P").plot()
    >>> [text.get_text() for text in display.ax_.get_legend().get_texts()]
    ['P2P kept fraction', 'P2P accuracy']
    >>> plt.close("all")
    """

    def __init__(self, deltas, kept_fraction, *, accuracy=None, name=None):
        self.deltas = deltas
        self.kept_fraction = kept_fraction
        self.accuracy = accuracy
        self.name = name

    def plot(self, ax=None, *, name=None, line_kwargs=None):
        """Plot the kept fraction (and accuracy) against delta.

        Adds the curves to ``ax`` and updates its legend, so that displays
        of several models can share one axes.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw into, e.g. the ``ax_`` of another display to compare
            models. When None, a new figure and axes are created.

        name : str, default=None
            Name of the model in the legend; None uses ``self.name``.

        line_kwargs : dict, default=None
            Keyword arguments passed to matplotlib's ``plot`` for both
            curves, e.g. ``{"color": "black"}``.

        Returns
        -------
        :class:`~sklearn_p2p.plotting.DeltaCurveDisplay`
            The display, with ``line_``, ``accuracy_line_``, ``ax_`` and
            ``figure_`` set.

        See Also
        --------
        DeltaCurveDisplay.from_estimator : Compute and plot the curves.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from sklearn_p2p.plotting import DeltaCurveDisplay
        >>> fig, ax = plt.subplots()
        >>> display = DeltaCurveDisplay([0.5, 0.99], [0.2, 0.5]).plot(ax=ax)
        >>> display.line_.get_ydata().tolist(), display.accuracy_line_
        ([0.2, 0.5], None)
        >>> plt.close(fig)
        """
        caller = "DeltaCurveDisplay.plot"
        _check_matplotlib(caller)
        deltas = _check_deltas(self.deltas)
        kept = _check_rates(self.kept_fraction, "kept_fraction", len(deltas))
        accuracy = None
        if self.accuracy is not None:
            accuracy = _check_rates(self.accuracy, "accuracy", len(deltas))
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        else:
            ax = _check_single_axes(ax, caller)
        name = self.name if name is None else name
        prefix = "" if name is None else f"{name} "

        (self.line_,) = ax.plot(
            deltas, kept,
            **_line_kwargs(
                {"label": f"{prefix}kept fraction", "marker": "o", "linestyle": "-"},
                line_kwargs,
            ),
        )
        self.accuracy_line_ = None
        if accuracy is not None:
            (self.accuracy_line_,) = ax.plot(
                deltas, accuracy,
                **_line_kwargs(
                    {"label": f"{prefix}accuracy", "marker": "s", "linestyle": "--",
                     "color": self.line_.get_color()},
                    line_kwargs,
                ),
            )
        if accuracy is not None:
            ax.set_ylabel("Mean kept fraction / accuracy")
        elif not ax.get_ylabel():
            ax.set_ylabel("Mean kept fraction")
        ax.set(xlabel=r"Required certainty $\delta$", ylim=(-0.01, 1.01))
        ax.legend(loc="best", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, deltas=_DEFAULT_DELTAS, name=None, ax=None,
        line_kwargs=None,
    ):
        """Explain ``X`` at every delta and plot the mean kept fraction.

        For each ``d`` in ``deltas``,
        ``estimator.explain(X, delta=d, return_details=True)`` gives the
        kept fraction of every image (and the predictions, scored against
        ``y`` when given). A model with a fixed ``threshold`` ignores delta,
        so its curves are flat.

        Parameters
        ----------
        estimator : fitted estimator
            A fitted :class:`~sklearn_p2p.P2PClassifier`, a Pipeline ending
            in one, or any estimator whose
            ``explain(X, delta=d, return_details=True)`` returns ``masks``
            (or ``kept_fraction``) and, to score against ``y``, ``y_pred``.

        X : array-like of shape (n_samples, ...)
            Images, as ``estimator.predict`` takes them.

        y : array-like of shape (n_samples,), default=None
            True labels. When given, the accuracy at each delta is plotted
            too.

        deltas : array-like of shape (n_deltas,), \
                default=(0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
            Strictly increasing certainties in (0, 1].

        name : str, default=None
            Name of the model in the legend. None uses the class name of the
            estimator (of the last step of a Pipeline).

        ax : matplotlib Axes, default=None
            Axes to draw into; None creates a new figure.

        line_kwargs : dict, default=None
            Keyword arguments passed to matplotlib's ``plot``.

        Returns
        -------
        :class:`~sklearn_p2p.plotting.DeltaCurveDisplay`
            The display, with its curves drawn.

        See Also
        --------
        ExplanationDisplay.from_estimator : The kept regions at one delta.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
        >>> from sklearn_p2p.datasets import make_cluttered_objects
        >>> from sklearn_p2p.plotting import DeltaCurveDisplay
        >>> data = make_cluttered_objects(n_samples=24, image_size=24,
        ...                               random_state=0)
        >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=16),
        ...                     max_epochs=1, verbose=0, random_state=0)
        >>> clf = clf.fit(data.images, data.target)
        >>> display = DeltaCurveDisplay.from_estimator(
        ...     clf, data.images[:4], data.target[:4], deltas=[0.5, 0.99])
        >>> display.kept_fraction.shape, display.accuracy.shape
        ((2,), (2,))
        >>> plt.close("all")
        """
        caller = f"{cls.__name__}.from_estimator"
        _check_matplotlib(caller)
        deltas = _check_deltas(deltas)
        if ax is not None:
            _check_single_axes(ax, caller)
        n_samples = _n_samples(X)
        if y is not None:
            y = np.asarray(y)
            if y.ndim != 1 or len(y) != n_samples:
                raise ValueError(
                    f"y must have one label per image, shape ({n_samples},); "
                    f"got shape {y.shape}."
                )
        explainer, Xt = _resolve_estimator(estimator, X, caller)
        kept = np.empty(len(deltas))
        accuracy = None if y is None else np.empty(len(deltas))
        for i, delta in enumerate(deltas):
            details = explain_details(explainer, Xt, float(delta))
            if "kept_fraction" in details:
                kept[i] = np.mean(details["kept_fraction"])
            else:
                _require(details, ("masks",), caller)
                kept[i] = np.mean(details["masks"])
            if y is not None:
                _require(details, ("y_pred",), caller)
                accuracy[i] = np.mean(np.asarray(details["y_pred"]) == y)
        name = type(explainer).__name__ if name is None else name
        display = cls(deltas, kept, accuracy=accuracy, name=name)
        return display.plot(ax=ax, line_kwargs=line_kwargs)
