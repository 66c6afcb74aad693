"""Square patches (or single pixels) as regions: the "regions matter" ablation."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..utils import check_images, pack_superpixels

__all__ = ["PatchGridTransformer"]


class PatchGridTransformer(TransformerMixin, BaseEstimator):
    """Split every image into the same grid of square patches.

    A drop-in replacement for :class:`~sklearn_p2p.SuperpixelTransformer`
    with the same output format, for P2P that selects content-independent
    patches (``patch_size > 1``) or single pixels (``patch_size=1``) instead
    of superpixels, as in the paper's critique of pixel-level selection.

    Parameters
    ----------
    patch_size : int, default=4
        Side of the square patches in pixels; edge patches may be smaller.

    Attributes
    ----------
    n_channels_ : int
        Number of image channels seen in :meth:`fit`.
    image_shape_ : tuple of int
        ``(height, width)`` of the images seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.baselines import PatchGridTransformer
    >>> Xt = PatchGridTransformer(patch_size=2).fit_transform(np.zeros((1, 4, 4, 3)))
    >>> Xt[0, ..., -1]
    array([[0., 0., 1., 1.],
           [0., 0., 1., 1.],
           [2., 2., 3., 3.],
           [2., 2., 3., 3.]], dtype=float32)
    """

    _parameter_constraints = {"patch_size": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, patch_size=4):
        self.patch_size = patch_size

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the images and record their format.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images, uint8 in [0, 255] or float in [0, 1].
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : PatchGridTransformer
            The fitted transformer.
        """
        images = check_images(X)
        self.n_channels_ = images.shape[-1]
        self.image_shape_ = images.shape[1:3]
        return self

    def transform(self, X):
        """Images in [0, 1] plus the patch label map as last channel.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images, uint8 in [0, 255] or float in [0, 1].

        Returns
        -------
        Xt : ndarray of float32, shape (n_samples, H, W, C + 1)
            The images scaled to [0, 1], followed by the patch ids, numbered
            row by row; the same for every image.
        """
        check_is_fitted(self)
        images = check_images(X)
        n, height, width = images.shape[:3]
        rows = np.arange(height)[:, None] // self.patch_size
        cols = np.arange(width)[None, :] // self.patch_size
        labels = rows * (-(-width // self.patch_size)) + cols
        return pack_superpixels(images, np.broadcast_to(labels, (n, height, width)))
