"""Insertion and deletion fidelity curves of explanations."""

import numpy as np

from ..metrics._fidelity import _check_fractions, _trapezoid
from ..utils._docstrings import fill_doc
from ._base import _ExplanationDisplayMixin, _check_curve_values, _line_kwargs

__all__ = ["FidelityCurveDisplay"]

_KINDS = ("insertion", "deletion")
_LINESTYLES = {"insertion": "-", "deletion": "--"}


def _check_kind(kind):
    if not (isinstance(kind, str) and kind in _KINDS + ("both",)):
        raise ValueError(
            f"kind must be 'insertion', 'deletion' or 'both'; got {kind!r}."
        )
    return list(_KINDS) if kind == "both" else [kind]


@fill_doc
class FidelityCurveDisplay(_ExplanationDisplayMixin):
    """Insertion and deletion fidelity curves of a model's explanations.

    The regions of each explanation are ranked by selection probability and
    added to a black image (insertion) or blacked out of the explanation
    (deletion); the curve shows, against the fraction of image pixels moved,
    the share of images whose prediction stays the model's own prediction on
    the explanation (see :func:`~sklearn_p2p.metrics.fidelity_curve`). A
    steep rise of the insertion curve and a steep fall of the deletion curve
    mean that the highlighted regions are what the prediction rests on.

    Several models can share one axes: call :meth:`from_estimator` (or
    :meth:`plot`) again with ``ax=display.ax_`` and another ``name``; the
    legend lists every curve with its area under the curve (AUC). The two
    curves of one model share a colour; insertion is solid, deletion dashed.

    It is recommended to use :meth:`from_estimator` or :meth:`from_curve`
    to create a :class:`FidelityCurveDisplay`; all parameters are stored as
    attributes.

    Parameters
    ----------
    fractions : array-like of shape (n_fractions,)
        The x-axis: strictly increasing fractions of image pixels in [0, 1].

    insertion : array-like of shape (n_fractions,), default=None
        Insertion fidelity at each fraction; None draws no insertion curve.

    deletion : array-like of shape (n_fractions,), default=None
        Deletion fidelity at each fraction; None draws no deletion curve.
        At least one of ``insertion`` and ``deletion`` is needed.

    insertion_auc : float, default=None
        Area under the insertion curve, shown in the legend. None computes
        it from ``insertion`` by the trapezoidal rule.

    deletion_auc : float, default=None
        Area under the deletion curve; None computes it from ``deletion``.

    %(name_display)s

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        The curves drawn, keyed by ``"insertion"`` and/or ``"deletion"``.

    %(ax_figure_attributes)s

    See Also
    --------
    sklearn_p2p.metrics.fidelity_curve : Compute one curve.
    sklearn_p2p.metrics.insertion_auc : The area under the insertion curve.
    sklearn_p2p.metrics.deletion_auc : The area under the deletion curve.

    Examples
    --------
    >>> from sklearn_p2p.plotting import FidelityCurveDisplay
    >>> display = FidelityCurveDisplay(
    ...     [0, 0.5, 1], insertion=[0.2, 0.9, 1.0], deletion=[1.0, 0.4, 0.2],
    ...     name="P2P").plot()
    >>> [text.get_text() for text in display.ax_.get_legend().get_texts()]
    ['P2P insertion (AUC = 0.75)', 'P2P deletion (AUC = 0.50)']
    """

    def __init__(
        self, fractions, *, insertion=None, deletion=None, insertion_auc=None,
        deletion_auc=None, name=None,
    ):
        self.fractions = fractions
        self.insertion = insertion
        self.deletion = deletion
        self.insertion_auc = insertion_auc
        self.deletion_auc = deletion_auc
        self.name = name

    def _curves(self):
        """Validated ``[(kind, values, auc)]`` for the curves to draw."""
        fractions = _check_fractions(self.fractions)
        curves = []
        for kind in _KINDS:
            values = getattr(self, kind)
            if values is None:
                continue
            values = _check_curve_values(values, kind, len(fractions), "fraction")
            auc = getattr(self, f"{kind}_auc")
            auc = _trapezoid(values, fractions) if auc is None else float(auc)
            curves.append((kind, values, auc))
        if not curves:
            raise ValueError(
                "FidelityCurveDisplay needs at least one curve: pass "
                "insertion=, deletion= or both."
            )
        return fractions, curves

    @fill_doc
    def plot(self, ax=None, *, name=None, curve_kwargs=None):
        """Plot the fidelity curves.

        Adds one line per curve to ``ax`` and updates its legend, so that
        displays of several models can share one axes.

        Parameters
        ----------
        %(ax_curves)s

        %(name_plot)s

        %(curve_kwargs)s

        Returns
        -------
        :class:`~sklearn_p2p.plotting.FidelityCurveDisplay`
            The display, with ``lines_``, ``ax_`` and ``figure_`` set.

        See Also
        --------
        FidelityCurveDisplay.from_estimator : Compute and plot the curves.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklearn_p2p.plotting import FidelityCurveDisplay
        >>> fig, ax = plt.subplots()
        >>> a = FidelityCurveDisplay([0, 1], insertion=[0, 1]).plot(ax=ax, name="a")
        >>> b = FidelityCurveDisplay([0, 1], insertion=[1, 1]).plot(ax=ax, name="b")
        >>> len(ax.get_lines())
        2
        """
        fractions, curves = self._curves()
        ax = self._validate_plot_params(ax)
        name = self.name if name is None else name

        lines = {}
        color = None
        for kind, values, auc in curves:
            label = f"{kind} (AUC = {auc:.2f})"
            if name is not None:
                label = f"{name} {label}"
            defaults = {"label": label, "linestyle": _LINESTYLES[kind]}
            if color is not None:
                # The curves of one model share its colour.
                defaults["color"] = color
            (lines[kind],) = ax.plot(
                fractions, values, **_line_kwargs(defaults, curve_kwargs)
            )
            color = lines[kind].get_color()

        kinds = {kind for kind, _, _ in curves}
        moved = "inserted" if kinds == {"insertion"} else (
            "deleted" if kinds == {"deletion"} else "inserted / deleted"
        )
        ax.set(
            xlabel=f"Fraction of image pixels {moved}",
            ylabel="Agreement with prediction on $x_m$",
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
        )
        ax.legend(loc="best", fontsize="small")
        self.lines_ = lines
        return self

    @classmethod
    @fill_doc
    def from_estimator(
        cls, estimator, X, *, kind="both", fractions=None, delta=None,
        name=None, ax=None, curve_kwargs=None,
    ):
        """Compute and plot the fidelity curves of a model's explanations.

        The explanation is computed once and shared by both curves; the
        estimator needs ``predict_proba_masked`` too.

        Parameters
        ----------
        %(explainer)s

        %(X_as_predict)s

        kind : {"insertion", "deletion", "both"}, default="both"
            Which curves to compute and plot.

        %(fractions)s

        %(delta_explain)s

        %(name_from_estimator)s

        %(ax_curves)s

        %(curve_kwargs)s

        Returns
        -------
        :class:`~sklearn_p2p.plotting.FidelityCurveDisplay`
            The display, with the ``kind`` curves computed and drawn.

        See Also
        --------
        sklearn_p2p.metrics.fidelity_curve : Compute one curve.
        FidelityCurveDisplay.from_curve : Plot curves computed before.

        Examples
        --------
        %(example_fitted_p2p)s
        >>> from sklearn_p2p.plotting import FidelityCurveDisplay
        >>> X = data.images[:4]
        >>> display = FidelityCurveDisplay.from_estimator(
        ...     clf, X, fractions=[0, 0.25, 0.5, 1], name="delta=0.99")
        >>> display = FidelityCurveDisplay.from_estimator(
        ...     clf, X, kind="insertion", fractions=[0, 0.25, 0.5, 1],
        ...     delta=0.8, name="delta=0.8", ax=display.ax_)
        >>> len(display.ax_.get_lines())
        3
        """
        kinds = _check_kind(kind)
        fractions = _check_fractions(fractions)
        explainer, Xt = cls._validate_from_estimator_params(
            estimator, X, ax=ax, masked=True
        )
        from ..metrics import fidelity_curve

        details = cls._explain(explainer, Xt, delta)
        curves = [
            fidelity_curve(explainer, Xt, kind=k, fractions=fractions, details=details)
            for k in kinds
        ]
        name = type(explainer).__name__ if name is None else name
        return cls.from_curve(curves, name=name, ax=ax, curve_kwargs=curve_kwargs)

    @classmethod
    @fill_doc
    def from_curve(cls, curve, *, name=None, ax=None, curve_kwargs=None):
        """Plot precomputed fidelity curves.

        Use it to plot curves computed once (e.g. with other ``fractions``
        or details) without computing them again.

        Parameters
        ----------
        curve : Bunch or list of Bunch
            The result of :func:`~sklearn_p2p.metrics.fidelity_curve` (or
            any mapping with ``fractions``, ``fidelity``, ``kind`` and
            optionally ``auc``), or a list of them: at most one per kind,
            all with the same ``fractions``.

        name : str, default=None
            Name of the model in the legend.

        %(ax_curves)s

        %(curve_kwargs)s

        Returns
        -------
        :class:`~sklearn_p2p.plotting.FidelityCurveDisplay`
            The display, with the given curves drawn.

        See Also
        --------
        sklearn_p2p.metrics.fidelity_curve : Compute one curve.
        FidelityCurveDisplay.from_estimator : Compute and plot the curves.

        Examples
        --------
        %(example_fitted_p2p)s
        >>> from sklearn_p2p.metrics import fidelity_curve
        >>> from sklearn_p2p.plotting import FidelityCurveDisplay
        >>> curve = fidelity_curve(clf, data.images[:4], kind="deletion",
        ...                        fractions=[0, 0.5, 1])
        >>> display = FidelityCurveDisplay.from_curve(curve, name="P2P")
        >>> list(display.lines_)
        ['deletion']
        """
        curves = [curve] if hasattr(curve, "keys") else list(curve)
        if not curves:
            raise ValueError("curve must hold at least one fidelity curve.")
        data = {}
        fractions = None
        for c in curves:
            if not hasattr(c, "keys"):
                raise TypeError(
                    "curve must be the Bunch returned by fidelity_curve or a "
                    f"list of them; got an element of type {type(c).__name__}."
                )
            missing = [k for k in ("fractions", "fidelity", "kind") if k not in c]
            if missing:
                raise ValueError(
                    f"curve lacks {missing}; pass the Bunch returned by "
                    "sklearn_p2p.metrics.fidelity_curve."
                )
            kind = c["kind"]
            if kind not in _KINDS:
                raise ValueError(
                    f"curve kind must be 'insertion' or 'deletion'; got {kind!r}."
                )
            if kind in data:
                raise ValueError(
                    f"curve holds two {kind} curves; plot each model with its "
                    "own call and ax= to compare models."
                )
            c_fractions = np.asarray(c["fractions"], dtype=float)
            if fractions is None:
                fractions = c_fractions
            elif c_fractions.shape != fractions.shape or not np.allclose(
                c_fractions, fractions
            ):
                raise ValueError(
                    "The insertion and deletion curves must share the same "
                    "fractions."
                )
            data[kind] = (c["fidelity"], c.get("auc"))
        display = cls(
            fractions,
            insertion=data.get("insertion", (None, None))[0],
            deletion=data.get("deletion", (None, None))[0],
            insertion_auc=data.get("insertion", (None, None))[1],
            deletion_auc=data.get("deletion", (None, None))[1],
            name=name,
        )
        return display.plot(ax=ax, curve_kwargs=curve_kwargs)
