"""Square patches (or single pixels) as regions: the "regions matter" ablation."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from .._region_transformer import RegionTransformer
from ..utils._docstrings import fill_doc

__all__ = ["PatchGridTransformer"]


@fill_doc
class PatchGridTransformer(RegionTransformer):
    """Split every image into the same grid of square patches.

    A drop-in replacement for :class:`~sklearn_p2p.SuperpixelTransformer`
    with the same output format, for P2P that selects content-independent
    patches (``patch_size > 1``) or single pixels (``patch_size=1``) instead
    of superpixels, as in the paper's critique of pixel-level selection.

    Parameters
    ----------
    patch_size : int, default=4
        Side of the square patches in pixels; edge patches may be smaller.
    %(image_shape)s
        The output is flattened again, like the input.
    %(value_range)s

    Attributes
    ----------
    n_channels_ : int
        Number of image channels seen in :meth:`fit`.
    image_shape_ : tuple of int
        ``(height, width)`` of the images seen in :meth:`fit`.
    n_features_in_ : int
        Number of columns of flattened input seen in :meth:`fit`; only set
        when :meth:`fit` received flattened images (see ``image_shape``).

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

    _parameter_constraints = {
        "patch_size": [Interval(Integral, 1, None, closed="left")],
        "image_shape": [None, tuple, list],
        "value_range": [None, tuple, list],
    }

    def __init__(self, patch_size=4, *, image_shape=None, value_range=None):
        self.patch_size = patch_size
        self.image_shape = image_shape
        self.value_range = value_range

    def _label_maps(self, images):
        n, height, width = images.shape[:3]
        rows = np.arange(height)[:, None] // self.patch_size
        cols = np.arange(width)[None, :] // self.patch_size
        labels = rows * (-(-width // self.patch_size)) + cols
        return np.broadcast_to(labels, (n, height, width))
