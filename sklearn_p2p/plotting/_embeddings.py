"""The learned part embeddings E_j shown as colours over the superpixels."""

import numpy as np

from ..utils._docstrings import fill_doc
from ._base import (
    _ExplanationDisplayMixin,
    _as_rgb_float,
    _check_region_values,
    _check_segment_maps,
    _extent,
)

__all__ = ["PartEmbeddingDisplay"]


def _k_error(k, source):
    return ValueError(
        "PartEmbeddingDisplay shows the region embeddings as RGB colours, "
        "which needs n_embedding_dims=3 (K=3 dimensions per region); "
        f"{source} has K={k}. Fit the model with n_embedding_dims=3 to plot "
        "its part embeddings."
    )


def _embedding_colors(embeddings, segments):
    """Region embeddings painted over the superpixels as RGB in [0, 1].

    For every image, each of the 3 channels is min-max scaled over the
    regions present in its label map (padding rows of ``embeddings`` beyond
    the image's regions are ignored); a channel that is constant over the
    image's regions maps to 0.5.

    Returns an array of shape (n_images, H, W, 3).
    """
    painted = np.empty(segments.shape + (3,))
    for i, (emb, seg) in enumerate(zip(embeddings, segments)):
        ids = np.unique(seg)
        present = emb[ids]
        low, high = present.min(axis=0), present.max(axis=0)
        span = high - low
        scaled = np.where(
            span > 0, (present - low) / np.where(span > 0, span, 1.0), 0.5
        )
        colors = np.zeros((emb.shape[0], 3))
        colors[ids] = np.clip(scaled, 0.0, 1.0)
        painted[i] = colors[seg]
    return painted


@fill_doc
class PartEmbeddingDisplay(_ExplanationDisplayMixin):
    """The learned part embeddings of a P2P model as colours over the superpixels.

    A P2P selector embeds every region ``j`` of an image in ``K``
    dimensions (``E_j``; the covariance of the region logits is
    ``E E^T``). With ``K = 3`` the embeddings can be read as colours:
    regions with similar embeddings, whose selection is correlated, get
    similar colours, as in Figure 8 of Vandenhirtz & Vogt (ICML 2025). Each
    image's embeddings are min-max scaled per channel to [0, 1] over its
    regions, then every superpixel is painted with its region's colour.

    It is recommended to use :meth:`from_estimator` to create a
    :class:`PartEmbeddingDisplay`; all parameters are stored as attributes.

    Parameters
    ----------
    embeddings : array-like of shape (n_images, n_regions, 3)
        Embedding ``E_j`` of region ``j`` of image ``i`` at ``[i, j]``.

    segments : array-like of shape (n_images, H, W)
        Integer superpixel label maps; label ``j`` indexes
        ``embeddings[:, j]``.

    images : array-like of shape (n_images, H, W, 3), (n_images, H, W, 1) \
            or (n_images, H, W), default=None
        The images, uint8 in [0, 255] or float in [0, 1], shown beside the
        embeddings when given.

    Attributes
    ----------
    colors_ : ndarray of shape (n_images, H, W, 3)
        The painted embeddings, RGB in [0, 1], constant within each
        superpixel.

    axes_ : ndarray of matplotlib Axes of shape (n_images, n_panels)
        One row per image: the image (when shown) then the embeddings.

    im_ : ndarray of matplotlib AxesImage of shape (n_images,)
        The embedding images.

    image_im_ : ndarray of matplotlib AxesImage of shape (n_images,) or None
        The input images, when shown.

    %(figure_attribute)s

    See Also
    --------
    RegionProbabilityDisplay : The selection probability of every region.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.plotting import PartEmbeddingDisplay
    >>> segments = np.array([[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]])
    >>> embeddings = np.array([[[0, 0, 0], [1, 2, 3], [2, 4, 6], [0, 4, 3]]])
    >>> display = PartEmbeddingDisplay(embeddings, segments).plot()
    >>> display.colors_[0, 0, 2].tolist(), display.colors_[0, 2, 2].tolist()
    ([0.5, 0.5, 0.5], [0.0, 1.0, 0.5])
    """

    def __init__(self, embeddings, segments, *, images=None):
        self.embeddings = embeddings
        self.segments = segments
        self.images = images

    def plot(self, ax=None, *, show_image=None):
        """Plot the part embeddings.

        Draws, per image, its region embeddings as colours, beside the image
        itself when it is shown.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            Axes to draw into: with the image shown, an array of shape
            (n_images, 2) (image, embeddings; a sequence of 2 for a single
            image); without, n_images axes in any grid shape. When None, a
            new figure is created.

        show_image : bool, default=None
            Whether to show each image beside its embeddings. None shows them
            when ``images`` was given.

        Returns
        -------
        :class:`~sklearn_p2p.plotting.PartEmbeddingDisplay`
            The display, with ``colors_``, ``axes_``, ``im_``, ``image_im_``
            and ``figure_`` set.

        See Also
        --------
        PartEmbeddingDisplay.from_estimator : Explain images and plot their
            part embeddings.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_p2p.plotting import PartEmbeddingDisplay
        >>> rng = np.random.RandomState(0)
        >>> segments = np.arange(4).reshape(1, 2, 2).repeat(4, 1).repeat(4, 2)
        >>> display = PartEmbeddingDisplay(rng.randn(1, 4, 3), segments,
        ...                                images=rng.rand(1, 8, 8, 3))
        >>> display.plot().axes_.shape
        (1, 2)
        """
        segments = _check_segment_maps(self.segments)
        n, h, w = segments.shape
        embeddings = _check_region_values(self.embeddings, segments, "embeddings", ndim=3)
        if embeddings.shape[-1] != 3:
            raise _k_error(embeddings.shape[-1], "embeddings")
        if not np.isfinite(embeddings).all():
            raise ValueError("embeddings contains NaN or infinity.")
        if show_image is None:
            show_image = self.images is not None
        rgb = None
        if show_image:
            if self.images is None:
                raise ValueError(
                    "show_image=True needs the images; pass images= to "
                    "PartEmbeddingDisplay or use show_image=False."
                )
            rgb = _as_rgb_float(self.images)
            if rgb.shape[:3] != (n, h, w):
                raise ValueError(
                    f"images must have shape (n_images, H, W[, C]) = {(n, h, w)} "
                    f"to match segments; got shape {np.shape(self.images)}."
                )

        n_panels = 2 if show_image else 1
        axes = self._validate_plot_params(ax, n_images=n, n_panels=n_panels)
        # One column per panel, even for the embeddings alone in a grid.
        axes = self.axes_ = axes.reshape(n, n_panels)

        colors = _embedding_colors(embeddings, segments)
        extent = _extent(h, w)
        im = np.empty(n, dtype=object)
        image_im = np.empty(n, dtype=object) if show_image else None
        for i in range(n):
            if show_image:
                image_im[i] = axes[i, 0].imshow(
                    rgb[i], interpolation="nearest", extent=extent
                )
                axes[i, 0].set_axis_off()
                if i == 0:
                    axes[i, 0].set_title("image", fontsize="small")
            im[i] = axes[i, -1].imshow(colors[i], interpolation="nearest", extent=extent)
            axes[i, -1].set_axis_off()
            if i == 0 or not show_image:
                axes[i, -1].set_title("part embeddings", fontsize="small")
        self.colors_ = colors
        self.im_ = im
        self.image_im_ = image_im
        return self

    @classmethod
    def _check_explainer(cls, explainer):
        # Known from the estimator's parameters, before any explanation.
        k = getattr(explainer, "n_embedding_dims", 3)
        if k != 3:
            raise _k_error(k, f"the {type(explainer).__name__}")

    @classmethod
    @fill_doc
    def from_estimator(
        cls, estimator, X, *, n_images=None, show_image=True, ax=None
    ):
        """Plot the part embeddings of the first images of ``X``.

        The details of the explanation give the ``embeddings``, of shape
        (n_images, n_regions, 3) (a :class:`~sklearn_p2p.P2PClassifier`
        fitted with ``n_embedding_dims=3``), and the ``segments``. The
        embeddings do not depend on delta.

        Parameters
        ----------
        %(explainer)s

        %(X_as_predict)s

        %(n_images_shown)s

        show_image : bool, default=True
            Whether to show each image beside its embeddings.

        ax : matplotlib Axes or array-like of Axes, default=None
            Axes to draw into (see :meth:`plot`); None creates a new figure.

        Returns
        -------
        :class:`~sklearn_p2p.plotting.PartEmbeddingDisplay`
            The display, with the embeddings (and images) drawn.

        Raises
        ------
        ValueError
            If the embeddings are not 3-dimensional (``n_embedding_dims !=
            3``).

        See Also
        --------
        RegionProbabilityDisplay.from_estimator : The region probabilities.

        Examples
        --------
        %(example_fitted_p2p)s
        >>> from sklearn_p2p.plotting import PartEmbeddingDisplay
        >>> display = PartEmbeddingDisplay.from_estimator(
        ...     clf, data.images, n_images=4, show_image=False)
        >>> display.axes_.shape, display.colors_.shape
        ((4, 1), (4, 24, 24, 3))
        """
        details, images = cls._explain_images(
            estimator, X, n_images=n_images, n_panels=2 if show_image else 1, ax=ax,
            required=("embeddings", "segments"), with_images=show_image,
        )
        display = cls(
            embeddings=np.asarray(details["embeddings"]),
            segments=np.asarray(details["segments"]),
            images=images,
        )
        return display.plot(ax=ax, show_image=show_image)
