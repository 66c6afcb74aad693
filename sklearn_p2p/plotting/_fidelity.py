"""Insertion and deletion fidelity curves of explanations."""

import numpy as np

from ..metrics._fidelity import _check_fractions, _resolve_explainer
from ..utils._explainers import explain_details
from ._base import _check_matplotlib, _check_single_axes, _line_kwargs

__all__ = ["FidelityCurveDisplay"]

_KINDS = ("insertion", "deletion")
_LINESTYLES = {"insertion": "-", "deletion": "--"}


def _trapezoid(y, x):
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    return float(trapezoid(y, x))


def _check_kind(kind):
    if not (isinstance(kind, str) and kind in _KINDS + ("both",)):
        raise ValueError(
            f"kind must be 'insertion', 'deletion' or 'both'; got {kind!r}."
        )
    return list(_KINDS) if kind == "both" else [kind]


def _check_curve_values(values, name, n_fractions):
    values = np.asarray(values, dtype=float)
    if values.shape != (n_fractions,):
        raise ValueError(
            f"{name} must have one value per fraction, shape ({n_fractions},); "
            f"got shape {values.shape}."
        )
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return values


class FidelityCurveDisplay:
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

    name : str, default=None
        Name of the model, shown in the legend.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        The curves drawn, keyed by ``"insertion"`` and/or ``"deletion"``.

    ax_ : matplotlib Axes
        Axes holding the curves.

    figure_ : matplotlib Figure
        Figure holding ``ax_``.

    See Also
    --------
    sklearn_p2p.metrics.fidelity_curve : Compute one curve.
    sklearn_p2p.metrics.insertion_auc : The area under the insertion curve.
    sklearn_p2p.metrics.deletion_auc : The area under the deletion curve.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn_p2p.plotting import FidelityCurveDisplay
    >>> display = FidelityCurveDisplay(
    ...     [0, 0.5, 1], insertion=[0.2, 0.9, 1.0], deletion=[1.0, 0.4, 0.2],
    ...     name="P2P").plot()
    >>> [text.get_text() for text in display.ax_.get_legend().get_texts()]
    ['P2P insertion (AUC = 0.75)', 'P2P deletion (AUC = 0.50)']
    >>> plt.close("all")
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
            values = _check_curve_values(values, kind, len(fractions))
            auc = getattr(self, f"{kind}_auc")
            auc = _trapezoid(values, fractions) if auc is None else float(auc)
            curves.append((kind, values, auc))
        if not curves:
            raise ValueError(
                "FidelityCurveDisplay needs at least one curve: pass "
                "insertion=, deletion= or both."
            )
        return fractions, curves

    def plot(self, ax=None, *, name=None, curve_kwargs=None):
        """Plot the fidelity curves.

        Adds one line per curve to ``ax`` and updates its legend, so that
        displays of several models can share one axes.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw into, e.g. the ``ax_`` of another display to compare
            models. When None, a new figure and axes are created.

        name : str, default=None
            Name of the model in the legend; None uses ``self.name``.

        curve_kwargs : dict, default=None
            Keyword arguments passed to matplotlib's ``plot`` for every
            curve, e.g. ``{"color": "black"}``.

        Returns
        -------
        :class:`~sklearn_p2p.plotting.FidelityCurveDisplay`
            The display, with ``lines_``, ``ax_`` and ``figure_`` set.

        See Also
        --------
        FidelityCurveDisplay.from_estimator : Compute and plot the curves.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from sklearn_p2p.plotting import FidelityCurveDisplay
        >>> fig, ax = plt.subplots()
        >>> a = FidelityCurveDisplay([0, 1], insertion=[0, 1]).plot(ax=ax, name="a")
        >>> b = FidelityCurveDisplay([0, 1], insertion=[1, 1]).plot(ax=ax, name="b")
        >>> len(ax.get_lines())
        2
        >>> plt.close(fig)
        """
        caller = "FidelityCurveDisplay.plot"
        _check_matplotlib(caller)
        fractions, curves = self._curves()
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        else:
            ax = _check_single_axes(ax, caller)
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
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, *, kind="both", fractions=None, delta=None,
        name=None, ax=None, curve_kwargs=None,
    ):
        """Compute and plot the fidelity curves of a model's explanations.

        The explanation is computed once and shared by both curves.

        Parameters
        ----------
        estimator : fitted estimator
            A :class:`~sklearn_p2p.P2PClassifier`, a Pipeline ending in one,
            or any estimator implementing ``explain`` and
            ``predict_proba_masked`` (the protocol of
            :mod:`sklearn_p2p.metrics`).

        X : array-like of shape (n_images, ...)
            Images, as ``estimator.predict`` takes them.

        kind : {"insertion", "deletion", "both"}, default="both"
            Which curves to compute and plot.

        fractions : array-like of shape (n_fractions,), default=None
            Strictly increasing values in [0, 1], at least 2. None means
            ``np.linspace(0, 1, 21)``.

        delta : float in (0, 1], default=None
            Certainty of the dynamic threshold, passed to ``explain``; None
            uses the estimator's own.

        name : str, default=None
            Name of the model in the legend. None uses the class name of the
            estimator (of the last step of a Pipeline).

        ax : matplotlib Axes, default=None
            Axes to draw into, e.g. the ``ax_`` of the display of another
            model; None creates a new figure.

        curve_kwargs : dict, default=None
            Keyword arguments passed to matplotlib's ``plot``.

        Returns
        -------
        :class:`~sklearn_p2p.plotting.FidelityCurveDisplay`
            The display, with its curves drawn.

        See Also
        --------
        sklearn_p2p.metrics.fidelity_curve : Compute one curve.
        FidelityCurveDisplay.from_curve : Plot curves computed before.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
        >>> from sklearn_p2p.datasets import make_cluttered_objects
        >>> from sklearn_p2p.plotting import FidelityCurveDisplay
        >>> data = make_cluttered_objects(n_samples=24, image_size=24,
        ...                               random_state=0)
        >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=16),
        ...                     max_epochs=1, verbose=0, random_state=0)
        >>> clf = clf.fit(data.images, data.target)
        >>> X = data.images[:4]
        >>> display = FidelityCurveDisplay.from_estimator(
        ...     clf, X, fractions=[0, 0.25, 0.5, 1], name="delta=0.99")
        >>> display = FidelityCurveDisplay.from_estimator(
        ...     clf, X, kind="insertion", fractions=[0, 0.25, 0.5, 1],
        ...     delta=0.8, name="delta=0.8", ax=display.ax_)
        >>> len(display.ax_.get_lines())
        3
        >>> plt.close("all")
        """
        caller = f"{cls.__name__}.from_estimator"
        _check_matplotlib(caller)
        kinds = _check_kind(kind)
        fractions = _check_fractions(fractions)
        if ax is not None:
            _check_single_axes(ax, caller)
        from ..metrics import fidelity_curve

        explainer, Xt = _resolve_explainer(estimator, X)
        details = explain_details(explainer, Xt, delta)
        curves = [
            fidelity_curve(explainer, Xt, kind=k, fractions=fractions, details=details)
            for k in kinds
        ]
        name = type(explainer).__name__ if name is None else name
        return cls.from_curve(curves, name=name, ax=ax, curve_kwargs=curve_kwargs)

    @classmethod
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

        ax : matplotlib Axes, default=None
            Axes to draw into; None creates a new figure.

        curve_kwargs : dict, default=None
            Keyword arguments passed to matplotlib's ``plot``.

        Returns
        -------
        :class:`~sklearn_p2p.plotting.FidelityCurveDisplay`
            The display, with its curves drawn.

        See Also
        --------
        sklearn_p2p.metrics.fidelity_curve : Compute one curve.
        FidelityCurveDisplay.from_estimator : Compute and plot the curves.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
        >>> from sklearn_p2p.datasets import make_cluttered_objects
        >>> from sklearn_p2p.metrics import fidelity_curve
        >>> from sklearn_p2p.plotting import FidelityCurveDisplay
        >>> data = make_cluttered_objects(n_samples=24, image_size=24,
        ...                               random_state=0)
        >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=16),
        ...                     max_epochs=1, verbose=0, random_state=0)
        >>> clf = clf.fit(data.images, data.target)
        >>> curve = fidelity_curve(clf, data.images[:4], kind="deletion",
        ...                        fractions=[0, 0.5, 1])
        >>> display = FidelityCurveDisplay.from_curve(curve, name="P2P")
        >>> list(display.lines_)
        ['deletion']
        >>> plt.close("all")
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
