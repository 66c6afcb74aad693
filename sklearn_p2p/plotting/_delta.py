"""Kept fraction (and accuracy) of a P2P model against the certainty delta."""

import numpy as np

from .._explanation import require_keys
from ..utils._docstrings import fill_doc
from ._base import (
    _ExplanationDisplayMixin,
    _check_curve_values,
    _line_kwargs,
    _n_samples,
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
    values = _check_curve_values(values, name, n, "delta")
    if values.min() < 0 or values.max() > 1:
        raise ValueError(f"{name} must lie in [0, 1]; got {values.tolist()}.")
    return values


@fill_doc
class DeltaCurveDisplay(_ExplanationDisplayMixin):
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

    %(name_display)s

    Attributes
    ----------
    line_ : matplotlib Line2D
        The kept-fraction curve.

    accuracy_line_ : matplotlib Line2D or None
        The accuracy curve, when ``accuracy`` is given.

    %(ax_figure_attributes)s

    See Also
    --------
    sklearn_p2p.P2PClassifier.explain : The masks at a given delta.
    FidelityCurveDisplay : How faithful the kept regions are.

    Examples
    --------
    >>> from sklearn_p2p.plotting import DeltaCurveDisplay
    >>> display = DeltaCurveDisplay([0.5, 0.9, 0.99], [0.1, 0.3, 0.6],
    ...                             accuracy=[0.6, 0.8, 0.9], name="P2P").plot()
    >>> [text.get_text() for text in display.ax_.get_legend().get_texts()]
    ['P2P kept fraction', 'P2P accuracy']
    """

    def __init__(self, deltas, kept_fraction, *, accuracy=None, name=None):
        self.deltas = deltas
        self.kept_fraction = kept_fraction
        self.accuracy = accuracy
        self.name = name

    @fill_doc
    def plot(self, ax=None, *, name=None, line_kwargs=None):
        """Plot the kept fraction (and accuracy) against delta.

        Adds the curves to ``ax`` and updates its legend, so that displays
        of several models can share one axes.

        Parameters
        ----------
        %(ax_curves)s

        %(name_plot)s

        %(line_kwargs)s

        Returns
        -------
        :class:`~sklearn_p2p.plotting.DeltaCurveDisplay`
            The display, with ``line_``, ``accuracy_line_``, ``ax_`` and
            ``figure_`` set.

        See Also
        --------
        DeltaCurveDisplay.from_estimator : Explain at every delta and plot
            the curves.

        Examples
        --------
        >>> from sklearn_p2p.plotting import DeltaCurveDisplay
        >>> first = DeltaCurveDisplay([0.5, 0.99], [0.2, 0.5], name="A").plot()
        >>> second = DeltaCurveDisplay([0.5, 0.99], [0.3, 0.4], name="B")
        >>> second = second.plot(ax=first.ax_)
        >>> second.ax_ is first.ax_, len(first.ax_.get_lines())
        (True, 2)
        >>> second.line_.get_ydata().tolist(), second.accuracy_line_
        ([0.3, 0.4], None)
        """
        deltas = _check_deltas(self.deltas)
        kept = _check_rates(self.kept_fraction, "kept_fraction", len(deltas))
        accuracy = None
        if self.accuracy is not None:
            accuracy = _check_rates(self.accuracy, "accuracy", len(deltas))
        ax = self._validate_plot_params(ax)
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
        return self

    @classmethod
    @fill_doc
    def from_estimator(
        cls, estimator, X, y=None, *, deltas=_DEFAULT_DELTAS, name=None, ax=None,
        line_kwargs=None,
    ):
        """Explain ``X`` at every delta and plot the mean kept fraction.

        For each ``d`` in ``deltas``,
        ``estimator.explain(X, delta=d, return_details=True)`` gives the
        kept fraction of every image (its ``kept_fraction``, or the mean of
        its ``masks``) and the predictions ``y_pred``, scored against ``y``
        when given. A model with a fixed ``threshold`` ignores delta,
        so its curves are flat.

        Parameters
        ----------
        %(explainer)s

        %(X_as_predict)s

        y : array-like of shape (n_samples,), default=None
            True labels. When given, the accuracy at each delta is plotted
            too.

        deltas : array-like of shape (n_deltas,), \
                default=(0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
            Strictly increasing certainties in (0, 1].

        %(name_from_estimator)s

        %(ax_curves)s

        %(line_kwargs)s

        Returns
        -------
        :class:`~sklearn_p2p.plotting.DeltaCurveDisplay`
            The display, with the kept fraction (and accuracy) at each
            delta drawn.

        See Also
        --------
        ExplanationDisplay.from_estimator : The kept regions at one delta.

        Examples
        --------
        %(example_fitted_p2p)s
        >>> from sklearn_p2p.plotting import DeltaCurveDisplay
        >>> display = DeltaCurveDisplay.from_estimator(
        ...     clf, data.images[:4], data.target[:4], deltas=[0.5, 0.99])
        >>> display.kept_fraction.shape, display.accuracy.shape
        ((2,), (2,))
        """
        deltas = _check_deltas(deltas)
        n_samples = _n_samples(X)
        if y is not None:
            y = np.asarray(y)
            if y.ndim != 1 or len(y) != n_samples:
                raise ValueError(
                    f"y must have one label per image, shape ({n_samples},); "
                    f"got shape {y.shape}."
                )
        explainer, Xt = cls._validate_from_estimator_params(estimator, X, ax=ax)
        kept = np.empty(len(deltas))
        accuracy = None if y is None else np.empty(len(deltas))
        for i, delta in enumerate(deltas):
            details = cls._explain(
                explainer, Xt, float(delta), required=() if y is None else ("y_pred",)
            )
            if "kept_fraction" in details:
                kept[i] = np.mean(details["kept_fraction"])
            else:
                require_keys(details, ("masks",), cls._caller())
                kept[i] = np.mean(details["masks"])
            if y is not None:
                accuracy[i] = np.mean(np.asarray(details["y_pred"]) == y)
        name = type(explainer).__name__ if name is None else name
        display = cls(deltas, kept, accuracy=accuracy, name=name)
        return display.plot(ax=ax, line_kwargs=line_kwargs)
