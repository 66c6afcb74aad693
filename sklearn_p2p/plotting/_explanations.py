"""Figures showing P2P explanations: image, superpixels and kept regions."""

import numbers

import numpy as np

__all__ = ["plot_explanations"]

# Minimum side, in pixels, of the image on which superpixel boundaries are
# drawn: smaller images are upsampled to about this size first.
_BOUNDARY_PANEL_PIXELS = 128


def _upsample(arr, scale):
    """Nearest-neighbour upsampling of the two leading axes by ``scale``."""
    if scale == 1:
        return arr
    return np.repeat(np.repeat(arr, scale, axis=0), scale, axis=1)


def _as_rgb_float(images):
    """Validate a batch of images and return it as float RGB in [0, 1]."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "images must have shape (n, H, W), (n, H, W, 1) or (n, H, W, 3); "
            f"got shape {images.shape}."
        )
    if images.dtype == np.uint8:
        images = images.astype(np.float64) / 255.0
    elif np.issubdtype(images.dtype, np.floating) or images.dtype == bool:
        images = images.astype(np.float64)
        if not np.all(np.isfinite(images)):
            raise ValueError("images contain NaN or infinite values.")
        if images.size and (images.min() < 0.0 or images.max() > 1.0):
            raise ValueError(
                "float images must have values in [0, 1]; got values in "
                f"[{images.min():g}, {images.max():g}]. Divide uint8-range "
                "data by 255 or pass it as uint8."
            )
    else:
        raise ValueError(
            f"images must be uint8 or float in [0, 1]; got dtype {images.dtype}."
        )
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


def _check_label_maps(arr, name, shape):
    arr = np.asarray(arr)
    if arr.shape != shape:
        raise ValueError(
            f"{name} must have shape (n_images, H, W) = {shape} to match "
            f"images; got shape {arr.shape}."
        )
    return arr


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
    images : array-like of shape (n_images, H, W, 3), (n_images, H, W, 1) \
            or (n_images, H, W)
        The images, uint8 in [0, 255] or float in [0, 1].

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
    fig : matplotlib Figure
        The figure holding ``3 * n_images`` axes, in image order and, for
        each image, in the order image, boundaries, kept regions.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_p2p.plotting import plot_explanations
    >>> images = np.full((2, 16, 16, 3), 200, dtype=np.uint8)
    >>> masks = np.zeros((2, 16, 16), dtype=bool)
    >>> masks[:, 4:12, 4:12] = True
    >>> fig = plot_explanations(images, masks, titles=["pred=a", "pred=b"])
    >>> len(fig.axes)
    6
    >>> fig.axes[2].get_title()
    'pred=a'
    >>> import matplotlib.pyplot as plt
    >>> plt.close(fig)
    """
    rgb = _as_rgb_float(images)
    n, h, w = rgb.shape[:3]
    if n == 0:
        raise ValueError("images must contain at least one image.")
    masks = _check_label_maps(masks, "masks", (n, h, w)).astype(bool)
    if segments is not None:
        segments = _check_label_maps(segments, "segments", (n, h, w))
        if not np.issubdtype(segments.dtype, np.integer):
            # Label maps may arrive as floats (e.g. the last channel of
            # SuperpixelTransformer's output); they must hold whole numbers.
            integral = np.isfinite(segments) & (segments == np.round(segments))
            if not np.all(integral):
                raise ValueError("segments must contain integer region labels.")
            segments = segments.astype(np.intp)
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

    # Imported here so that importing sklearn_p2p never needs matplotlib or
    # scikit-image's segmentation module.
    from skimage.segmentation import mark_boundaries

    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(3 * n_cols * 2.0, n_rows * 2.2))

    # Boundaries drawn on the image itself would cover most pixels of a small
    # image with many superpixels (each boundary is a whole pixel wide), so
    # they are drawn on a nearest-neighbour upsampled copy instead.
    scale = max(1, -(-_BOUNDARY_PANEL_PIXELS // max(h, w)))
    extent = (-0.5, w - 0.5, h - 0.5, -0.5)

    kept = rgb * masks[..., None]
    for i in range(n):
        row, col = divmod(i, n_cols)
        first = row * 3 * n_cols + 3 * col + 1
        axes = [fig.add_subplot(n_rows, 3 * n_cols, first + k) for k in range(3)]

        labels = segments[i] if segments is not None else masks[i].astype(np.intp)
        bounds = mark_boundaries(
            _upsample(rgb[i], scale), _upsample(labels, scale), color=(1, 1, 0)
        )
        middle_title = "superpixels" if segments is not None else "mask outline"
        title = titles[i] if titles is not None else f"kept {masks[i].mean():.0%}"

        panels = [(rgb[i], "image"), (bounds, middle_title), (kept[i], title)]
        for ax, (panel, panel_title) in zip(axes, panels):
            # Nearest-neighbour so small images show their real pixels and
            # the black outside the mask does not bleed into kept regions; a
            # common extent keeps pixel coordinates equal across panels.
            ax.imshow(panel, interpolation="nearest", extent=extent)
            ax.set_axis_off()
        # Panel names are repeated on the first row only; the per-image
        # title is what distinguishes the rows.
        if row == 0:
            axes[0].set_title("image", fontsize="small")
            axes[1].set_title(middle_title, fontsize="small")
        axes[2].set_title(title, fontsize="small")
    return fig
