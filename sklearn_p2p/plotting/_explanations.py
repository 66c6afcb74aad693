"""Figures showing P2P explanations: image, superpixels and kept regions."""

import numbers

import numpy as np

from ..utils._docstrings import fill_doc
from ._base import (
    _PANEL_HEIGHT,
    _PANEL_WIDTH,
    _ExplanationDisplayMixin,
    _as_rgb_float,
    _boundary_scale,
    _check_label_maps,
    _check_matplotlib,
    _check_per_image,
    _check_segments,
    _explanation_title,
    _extent,
    _kept_label,
    _labels_shown,
    _upsample,
    _wrong_predictions,
    WRONG_COLOR,
)

__all__ = ["ExplanationDisplay", "plot_explanations"]


def _check_explanation_inputs(images, masks, segments):
    """Validated float RGB images, boolean masks and integer segments (or None)."""
    rgb = _as_rgb_float(images)
    n, h, w = rgb.shape[:3]
    if n == 0:
        raise ValueError("images must contain at least one image.")
    masks = _check_label_maps(masks, "masks", (n, h, w)).astype(bool)
    if segments is not None:
        segments = _check_segments(segments, (n, h, w))
    return rgb, masks, segments


def _draw_explanation(axes, rgb, mask, segments, title, *, panel_titles):
    """Draw one image's three panels into ``axes``; return their AxesImages.

    The panels are the image, the image with the boundaries of its
    superpixels (or, when ``segments`` is None, the outline of the mask) and
    the kept regions ``x_m`` (the image where ``mask`` is True, black
    elsewhere). ``panel_titles`` names the first two panels.
    """
    # Imported here so that importing sklearn_p2p never needs scikit-image's
    # segmentation module.
    from skimage.segmentation import mark_boundaries

    h, w = mask.shape
    scale = _boundary_scale(h, w)
    extent = _extent(h, w)
    labels = segments if segments is not None else mask.astype(np.intp)
    bounds = mark_boundaries(
        _upsample(rgb, scale), _upsample(labels, scale), color=(1, 1, 0)
    )
    middle_title = "superpixels" if segments is not None else "mask outline"
    kept = rgb * mask[..., None]

    artists = []
    for ax, panel in zip(axes, (rgb, bounds, kept)):
        # Nearest-neighbour so small images show their real pixels and the
        # black outside the mask does not bleed into kept regions; a common
        # extent keeps pixel coordinates equal across panels.
        artists.append(ax.imshow(panel, interpolation="nearest", extent=extent))
        ax.set_axis_off()
    if panel_titles:
        axes[0].set_title("image", fontsize="small")
        axes[1].set_title(middle_title, fontsize="small")
    axes[2].set_title(title, fontsize="small")
    return artists


@fill_doc
def plot_explanations(
    images, masks, *, segments=None, titles=None, n_cols=None, fig=None
):
    """Plot images next to their superpixels and the regions a model kept.

    Each image gets three adjacent panels: the image itself, the image with
    the boundaries of its superpixels (or, without ``segments``, the outline
    of the mask), and the kept regions ``x_m``: the image where the mask is
    True and black elsewhere, which is exactly what a P2P classifier's
    backbone sees.

    Parameters
    ----------
    %(images_shown)s

    masks : array-like of shape (n_images, H, W)
        The kept pixels, e.g. the output of ``P2PClassifier.explain`` or a
        ground-truth object mask. Non-zero values count as kept.

    segments : array-like of shape (n_images, H, W), default=None
        Integer superpixel label maps, drawn with
        :func:`skimage.segmentation.mark_boundaries` on the middle panel.
        When None, the middle panel outlines the mask instead.

    titles : list of str of length n_images, default=None
        One title per image, shown on its kept-regions panel, e.g.
        ``"pred=cat p=0.99 tau=0.15"``. When None, the kept fraction of the
        image is shown.

    n_cols : int, default=None
        Number of images per row of the figure (each image takes three
        panels). None means one image per row.

    fig : matplotlib Figure or SubFigure, default=None
        Figure to draw into; its existing axes are left alone. When None a
        new figure is created with ``matplotlib.pyplot.figure``, sized to the
        grid, so that ``plt.show()`` and gallery scrapers find it.

    Returns
    -------
    matplotlib Figure
        The figure holding ``3 * n_images`` axes, in image order and, for
        each image, in the order image, boundaries, kept regions.

    See Also
    --------
    ExplanationDisplay : The same panels computed from a fitted estimator,
        with the prediction, its certainty and tau in the titles.

    Examples
    --------
    %(example_toy_explanations)s
    >>> from sklearn_p2p.plotting import plot_explanations
    >>> fig = plot_explanations(images, masks, titles=["pred=a", "pred=b"])
    >>> len(fig.axes)
    6
    >>> fig.axes[2].get_title()
    'pred=a'
    """
    rgb, masks, segments = _check_explanation_inputs(images, masks, segments)
    n = len(rgb)
    if titles is not None:
        titles = list(titles)
        if len(titles) != n:
            raise ValueError(
                f"titles must have one entry per image: got {len(titles)} "
                f"titles for {n} images."
            )
    if n_cols is None:
        n_cols = 1
    elif (
        not isinstance(n_cols, numbers.Integral)
        or isinstance(n_cols, bool)
        or n_cols < 1
    ):
        raise ValueError(f"n_cols must be a positive integer or None; got {n_cols!r}.")
    n_cols = min(int(n_cols), n)
    n_rows = -(-n // n_cols)

    if fig is None:
        _check_matplotlib("plot_explanations")
        import matplotlib.pyplot as plt

        fig = plt.figure(
            figsize=(3 * n_cols * _PANEL_WIDTH, n_rows * _PANEL_HEIGHT)
        )

    for i in range(n):
        row, col = divmod(i, n_cols)
        first = row * 3 * n_cols + 3 * col + 1
        axes = [fig.add_subplot(n_rows, 3 * n_cols, first + k) for k in range(3)]
        title = titles[i] if titles is not None else _kept_label(masks[i].mean())
        # Panel names are repeated on the first row only; the per-image
        # title is what distinguishes the rows.
        _draw_explanation(
            axes, rgb[i], masks[i],
            segments[i] if segments is not None else None,
            title, panel_titles=row == 0,
        )
    return fig


@fill_doc
class ExplanationDisplay(_ExplanationDisplayMixin):
    """Explanations of a P2P model: image, superpixels and kept regions.

    Each image gets one row of three panels: the image, its superpixel
    boundaries, and the kept regions ``x_m`` (the image where the mask is
    True, black elsewhere: exactly what the classifier saw). The title of
    the kept-regions panel gives the predicted class, its certainty (the
    largest class probability), the threshold tau and the share of the
    pixels kept, e.g. ``"pred=circle p=0.99 tau=0.15 kept 12%"``; an empty
    mask reads ``"kept 0% (empty)"``. With ``y_true``, a wrong prediction
    is titled in red with its true class, ``"pred=circle (true square) ..."``.

    It is recommended to use :meth:`from_estimator` to create an
    :class:`ExplanationDisplay`; all parameters are stored as attributes.

    Parameters
    ----------
    %(images_shown)s

    masks : array-like of shape (n_images, H, W)
        The kept pixels; non-zero values count as kept.

    segments : array-like of shape (n_images, H, W), default=None
        Integer superpixel label maps. When None, the middle panel outlines
        the mask instead.

    y_pred : array-like of shape (n_images,), default=None
        Predicted class of each image, shown as ``pred=``.

    certainty : array-like of shape (n_images,), default=None
        Probability of the predicted class, shown as ``p=``.

    tau : array-like of shape (n_images,), default=None
        Threshold used for each image, shown as ``tau=``.

    y_true : array-like of shape (n_images,), default=None
        True class of each image: where it differs from ``y_pred``, the
        title says so and is drawn in red.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes of shape (n_images, 3)
        One row per image: image, superpixels, kept regions.

    im_ : ndarray of matplotlib AxesImage of shape (n_images, 3)
        The images drawn on ``axes_``.

    %(figure_attribute)s

    See Also
    --------
    plot_explanations : The same panels as a function of arrays.
    RegionProbabilityDisplay : The selection probability of every region.

    Examples
    --------
    %(example_toy_explanations)s
    >>> from sklearn_p2p.plotting import ExplanationDisplay
    >>> display = ExplanationDisplay(images, masks, y_pred=["a", "b"],
    ...                              certainty=[0.9, 0.8], tau=[0.2, 0.3])
    >>> display = display.plot()
    >>> display.axes_.shape
    (2, 3)
    >>> display.axes_[1, 2].get_title()
    'pred=b p=0.80 tau=0.30 kept 25%'
    """

    def __init__(
        self, images, masks, segments=None, *, y_pred=None, certainty=None,
        tau=None, y_true=None,
    ):
        self.images = images
        self.masks = masks
        self.segments = segments
        self.y_pred = y_pred
        self.certainty = certainty
        self.tau = tau
        self.y_true = y_true

    def _titles(self, masks):
        """The title of each kept-regions panel, and whether its prediction is wrong."""
        n = len(masks)
        y_pred = _check_per_image(self.y_pred, "y_pred", n, numeric=False)
        y_true = _check_per_image(self.y_true, "y_true", n, numeric=False)
        certainty = _check_per_image(self.certainty, "certainty", n)
        tau = _check_per_image(self.tau, "tau", n)
        titles = [
            _explanation_title(
                None if y_pred is None else y_pred[i],
                None if certainty is None else certainty[i],
                None if tau is None else tau[i],
                masks[i].mean(),
                None if y_true is None else y_true[i],
            )
            for i in range(n)
        ]
        return titles, _wrong_predictions(y_pred, y_true, n)

    def plot(self, ax=None):
        """Plot the explanations.

        Draws one row of three panels per image: the image, its superpixel
        boundaries and the kept regions, the last titled with the
        prediction, its certainty and tau where they are known.

        Parameters
        ----------
        ax : ndarray of matplotlib Axes of shape (n_images, 3), default=None
            Axes to draw into, one row per image (for a single image, a
            sequence of 3 axes also works). When None, a new figure is
            created.

        Returns
        -------
        :class:`~sklearn_p2p.plotting.ExplanationDisplay`
            The display, with ``axes_``, ``im_`` and ``figure_`` set.

        See Also
        --------
        ExplanationDisplay.from_estimator : Explain images and plot them.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> from sklearn_p2p.plotting import ExplanationDisplay
        >>> images = np.zeros((1, 8, 8))
        >>> masks = np.eye(8, dtype=bool)[None]
        >>> fig, axes = plt.subplots(1, 3)
        >>> display = ExplanationDisplay(images, masks).plot(ax=axes)
        >>> display.figure_ is fig
        True
        """
        rgb, masks, segments = _check_explanation_inputs(
            self.images, self.masks, self.segments
        )
        n = len(rgb)
        titles, wrong = self._titles(masks)
        axes = self._validate_plot_params(ax, n_images=n, n_panels=3)

        artists = np.empty((n, 3), dtype=object)
        for i in range(n):
            artists[i] = _draw_explanation(
                axes[i], rgb[i], masks[i],
                segments[i] if segments is not None else None,
                titles[i], panel_titles=i == 0,
            )
            if wrong[i]:
                axes[i, 2].title.set_color(WRONG_COLOR)
        self.im_ = artists
        return self

    @classmethod
    @fill_doc
    def from_estimator(cls, estimator, X, *, delta=None, n_images=None, ax=None,
                       y_true=None):
        """Explain the first images of ``X`` with a fitted estimator and plot them.

        The details of the explanation give the ``masks``, and the
        ``segments``, ``y_pred``, ``proba`` and ``tau`` where they are
        known. The images are shown as
        the estimator reads them: a :class:`~sklearn_p2p.P2PClassifier`
        applies its ``image_shape`` and ``value_range``, and drops the label
        channel of precomputed superpixels.

        Parameters
        ----------
        %(explainer)s

        %(X_as_predict)s

        %(delta_explain)s

        %(n_images_shown)s

        ax : ndarray of matplotlib Axes of shape (n_images, 3), default=None
            Axes to draw into; None creates a new figure.

        y_true : array-like of shape (n_samples,), default=None
            True labels of ``X`` (all of them, or only the images shown):
            wrong predictions are titled in red with their true class.

        Returns
        -------
        :class:`~sklearn_p2p.plotting.ExplanationDisplay`
            The display, with one row of panels per image drawn.

        See Also
        --------
        plot_explanations : The same panels from arrays, several per row.
        RegionProbabilityDisplay.from_estimator : The region probabilities.

        Examples
        --------
        %(example_fitted_p2p)s
        >>> from sklearn_p2p.plotting import ExplanationDisplay
        >>> display = ExplanationDisplay.from_estimator(clf, data.images,
        ...                                             n_images=2)
        >>> display.axes_.shape
        (2, 3)
        >>> display.axes_[0, 2].get_title()
        'pred=... p=... tau=... kept ...%'
        """
        y_true = _labels_shown(y_true, X, n_images)
        details, images = cls._explain_images(
            estimator, X, n_images=n_images, n_panels=3, ax=ax, delta=delta,
            required=("masks",), with_images=True,
        )
        proba = details.get("proba")
        display = cls(
            images=images,
            masks=np.asarray(details["masks"]),
            segments=details.get("segments"),
            y_pred=details.get("y_pred"),
            certainty=None if proba is None else np.asarray(proba).max(axis=1),
            tau=details.get("tau"),
            y_true=y_true,
        )
        return display.plot(ax=ax)
