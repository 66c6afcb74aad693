"""Heat maps of the region selection probabilities sigmoid(mu_j)."""

import numpy as np

from .._explanation import paint_regions, region_scores
from ..utils._docstrings import fill_doc
from ._base import (
    _ExplanationDisplayMixin,
    _boundary_scale,
    _check_label_maps,
    _check_per_image,
    _check_region_values,
    _check_segment_maps,
    _explanation_title,
    _extent,
    _labels_shown,
    _upsample,
    _wrong_predictions,
    WRONG_COLOR,
)

__all__ = ["RegionProbabilityDisplay"]

# Upsampling of the mask before its outline is traced (see _outline).
_OUTLINE_SCALE = 8


def _boundary_overlay(segments, color, alpha):
    """RGBA image, upsampled, that is ``color`` on superpixel boundaries only."""
    from skimage.segmentation import find_boundaries

    scale = _boundary_scale(*segments.shape)
    boundaries = find_boundaries(_upsample(segments, scale), mode="inner")
    overlay = np.zeros(boundaries.shape + (4,))
    overlay[..., :3] = color
    overlay[..., 3] = alpha * boundaries
    return overlay


def _outline(ax, mask, color):
    """Contour along the pixel edges of the True area of ``mask`` (None if empty).

    The mask is upsampled first, so that the contour, which runs halfway
    between sample points, follows the pixel edges and cuts corners by
    ``1 / _OUTLINE_SCALE`` pixel only; it is padded with False so that kept
    regions touching the image border are closed along the border.
    """
    if not mask.any():
        return None
    h, w = mask.shape
    s = _OUTLINE_SCALE
    padded = np.pad(_upsample(mask.astype(float), s), 1)
    # Sample k of the padded, upsampled mask sits at the centre of its
    # sub-pixel: pixel coordinate -0.5 + (k - 0.5) / s.
    contour = ax.contour(
        -0.5 + (np.arange(w * s + 2) - 0.5) / s,
        -0.5 + (np.arange(h * s + 2) - 0.5) / s,
        padded, levels=[0.5], colors=[color], linewidths=1.5,
    )
    # Contouring autoscales to its coordinates; keep the image's extent.
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    return contour


@fill_doc
class RegionProbabilityDisplay(_ExplanationDisplayMixin):
    """Heat map of the region selection probabilities of a P2P model.

    Every superpixel of an image is painted with its selection probability
    ``sigmoid(mu_j)`` (the selector's belief that region ``j`` belongs to
    the explanation), on a common colour scale from 0 to 1. The superpixel
    boundaries are drawn lightly and the kept regions (the mask the
    prediction was made from) are outlined, and the title gives the share
    of the pixels they keep (``"kept 0% (empty)"`` for an empty mask).

    It is recommended to use :meth:`from_estimator` to create a
    :class:`RegionProbabilityDisplay`; all parameters are stored as
    attributes.

    Parameters
    ----------
    region_probs : array-like of shape (n_images, n_regions)
        Selection probability of region ``j`` of image ``i`` at ``[i, j]``.

    segments : array-like of shape (n_images, H, W)
        Integer superpixel label maps; label ``j`` indexes column ``j`` of
        ``region_probs``.

    masks : array-like of shape (n_images, H, W), default=None
        Kept pixels, outlined on each panel. None draws no outline.

    y_pred : array-like of shape (n_images,), default=None
        Predicted class of each image, shown in the panel titles.

    tau : array-like of shape (n_images,), default=None
        Threshold used for each image, shown in the panel titles.

    y_true : array-like of shape (n_images,), default=None
        True class of each image: where it differs from ``y_pred``, the
        title says so and is drawn in red.

    Attributes
    ----------
    heatmap_values_ : ndarray of shape (n_images, H, W)
        The painted probabilities ``region_probs[i][segments[i]]``.

    axes_ : ndarray of matplotlib Axes of shape (n_images,)
        One panel per image.

    heatmaps_ : ndarray of matplotlib AxesImage of shape (n_images,)
        The heat maps.

    boundaries_ : ndarray of matplotlib AxesImage of shape (n_images,)
        The superpixel boundaries, drawn over the heat maps.

    outlines_ : ndarray of shape (n_images,)
        The matplotlib ContourSet outlining each image's kept regions, or
        None where no outline was drawn.

    colorbar_ : matplotlib Colorbar
        The colour scale, from 0 to 1, shared by all panels.

    %(figure_attribute)s

    See Also
    --------
    ExplanationDisplay : The image and its kept regions.
    PartEmbeddingDisplay : The region embeddings as colours.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.plotting import RegionProbabilityDisplay
    >>> segments = np.repeat(np.arange(4), 4)[None, :, None] * np.ones((1, 1, 16), int)
    >>> region_probs = np.array([[0.1, 0.4, 0.8, 0.95]])
    >>> display = RegionProbabilityDisplay(region_probs, segments,
    ...                                    masks=segments >= 2).plot()
    >>> display.heatmap_values_[0, ::4, 0]
    array([0.1 , 0.4 , 0.8 , 0.95])
    >>> float(display.colorbar_.vmin), float(display.colorbar_.vmax)
    (0.0, 1.0)
    """

    def __init__(self, region_probs, segments, *, masks=None, y_pred=None, tau=None,
                 y_true=None):
        self.region_probs = region_probs
        self.segments = segments
        self.masks = masks
        self.y_pred = y_pred
        self.tau = tau
        self.y_true = y_true

    def plot(
        self, ax=None, *, cmap="viridis", boundary_color="white",
        boundary_alpha=0.35, outline_color="red", colorbar=True,
    ):
        """Plot the heat maps.

        Draws one panel per image, with a colour bar from 0 to 1 shared by
        all panels.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of n_images Axes, default=None
            Axes to draw into, one per image (in any grid shape). When None,
            a new figure is created with rows of at most four panels.

        cmap : str or matplotlib Colormap, default="viridis"
            Colour map of the probabilities.

        boundary_color : color, default="white"
            Colour of the superpixel boundaries.

        boundary_alpha : float in [0, 1], default=0.35
            Opacity of the superpixel boundaries; 0 hides them.

        outline_color : color, default="red"
            Colour of the outline of the kept regions.

        colorbar : bool, default=True
            Whether to add a colour bar shared by all panels.

        Returns
        -------
        :class:`~sklearn_p2p.plotting.RegionProbabilityDisplay`
            The display, with ``heatmap_values_``, ``axes_``, ``heatmaps_``,
            ``boundaries_``, ``outlines_``, ``colorbar_`` and ``figure_``
            set.

        See Also
        --------
        RegionProbabilityDisplay.from_estimator : Explain images and plot
            their region probabilities.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> from sklearn_p2p.plotting import RegionProbabilityDisplay
        >>> segments = np.arange(4).reshape(1, 2, 2).repeat(4, 1).repeat(4, 2)
        >>> fig, ax = plt.subplots()
        >>> display = RegionProbabilityDisplay([[0.2, 0.4, 0.6, 0.8]], segments)
        >>> display = display.plot(ax=ax, colorbar=False)
        >>> display.heatmaps_[0].get_array().shape
        (8, 8)
        """
        if not 0.0 <= boundary_alpha <= 1.0:
            raise ValueError(
                f"boundary_alpha must be in [0, 1]; got {boundary_alpha!r}."
            )
        segments = _check_segment_maps(self.segments)
        n = len(segments)
        region_probs = _check_region_values(self.region_probs, segments, "region_probs")
        if region_probs.size and (region_probs.min() < 0 or region_probs.max() > 1):
            raise ValueError(
                "region_probs must be probabilities in [0, 1]; got values in "
                f"[{region_probs.min():g}, {region_probs.max():g}]."
            )
        masks = self.masks
        if masks is not None:
            masks = _check_label_maps(masks, "masks", segments.shape, "segments").astype(bool)
        y_pred = _check_per_image(self.y_pred, "y_pred", n, numeric=False)
        y_true = _check_per_image(self.y_true, "y_true", n, numeric=False)
        tau = _check_per_image(self.tau, "tau", n)
        wrong = _wrong_predictions(y_pred, y_true, n)

        axes = self._validate_plot_params(ax, n_images=n, n_panels=1)

        values = paint_regions(region_probs, segments)
        h, w = segments.shape[1:]
        heatmaps = np.empty(n, dtype=object)
        boundaries = np.empty(n, dtype=object)
        outlines = np.empty(n, dtype=object)
        for i, axis in enumerate(axes):
            heatmaps[i] = axis.imshow(
                values[i], cmap=cmap, vmin=0.0, vmax=1.0,
                interpolation="nearest", extent=_extent(h, w),
            )
            boundaries[i] = axis.imshow(
                _boundary_overlay(segments[i], _to_rgb(boundary_color), boundary_alpha),
                interpolation="nearest", extent=_extent(h, w),
            )
            if masks is not None:
                outlines[i] = _outline(axis, masks[i], outline_color)
            title = _explanation_title(
                None if y_pred is None else y_pred[i], None,
                None if tau is None else tau[i],
                None if masks is None else masks[i].mean(),
                None if y_true is None else y_true[i],
            )
            axis.set_title(title or f"image {i}", fontsize="small")
            if wrong[i]:
                axis.title.set_color(WRONG_COLOR)
            axis.set_axis_off()

        self.colorbar_ = None
        if colorbar:
            self.colorbar_ = self.figure_.colorbar(heatmaps[0], ax=list(axes), shrink=0.8)
            self.colorbar_.set_label(r"selection probability $\sigma(\mu_j)$")
        self.heatmap_values_ = values
        self.heatmaps_ = heatmaps
        self.boundaries_ = boundaries
        self.outlines_ = outlines
        return self

    @classmethod
    @fill_doc
    def from_estimator(cls, estimator, X, *, delta=None, n_images=None, ax=None,
                       y_true=None):
        """Plot the region selection probabilities of the first images of ``X``.

        The ``region_probs`` of the explanation are painted over its
        ``segments``, its ``masks`` are outlined and its ``y_pred`` and
        ``tau`` (where known) are shown in the titles. An explanation
        without regions (a gradient or AGOP map) shows its
        ``attributions`` instead, scaled to each image's maximum and
        without region borders.

        Parameters
        ----------
        %(explainer)s

        %(X_as_predict)s

        %(delta_explain)s
            It changes the outlined kept regions, not the probabilities.

        %(n_images_shown)s

        ax : matplotlib Axes or array-like of n_images Axes, default=None
            Axes to draw into; None creates a new figure.

        y_true : array-like of shape (n_samples,), default=None
            True labels of ``X`` (all of them, or only the images shown):
            wrong predictions are titled in red with their true class.

        Returns
        -------
        :class:`~sklearn_p2p.plotting.RegionProbabilityDisplay`
            The display, with one heat map per image drawn.

        See Also
        --------
        ExplanationDisplay.from_estimator : The images and kept regions.

        Examples
        --------
        %(example_fitted_p2p)s
        >>> from sklearn_p2p.plotting import RegionProbabilityDisplay
        >>> display = RegionProbabilityDisplay.from_estimator(
        ...     clf, data.images, n_images=3)
        >>> len(display.axes_), display.heatmap_values_.shape
        (3, (3, 24, 24))
        """
        y_true = _labels_shown(y_true, X, n_images)
        details, _ = cls._explain_images(
            estimator, X, n_images=n_images, n_panels=1, ax=ax, delta=delta,
        )
        segments, region_probs = region_scores(details, cls._caller())
        pixel_map = "segments" not in details or "region_probs" not in details
        if pixel_map:
            # A gradient-style map: scaled per image to its maximum, drawn
            # without region borders (every pixel is its own region).
            peak = np.abs(region_probs).max(axis=1, keepdims=True)
            region_probs = np.clip(region_probs / np.where(peak > 0, peak, 1.0), 0.0, 1.0)
        display = cls(
            region_probs=region_probs,
            segments=np.asarray(segments),
            masks=details.get("masks"),
            y_pred=details.get("y_pred"),
            tau=details.get("tau"),
            y_true=y_true,
        )
        if not pixel_map:
            return display.plot(ax=ax)
        display.plot(ax=ax, boundary_alpha=0.0)
        if display.colorbar_ is not None:
            display.colorbar_.set_label("attribution (share of the image's maximum)")
        return display


def _to_rgb(color):
    from matplotlib.colors import to_rgb

    return np.asarray(to_rgb(color))
