"""The base of the transformers that append a region label map to images.

:class:`~sklearn_p2p.SuperpixelTransformer` (SLIC superpixels) and
:class:`~sklearn_p2p.baselines.PatchGridTransformer` (square patches) differ
only in how they draw the regions; reading the images, fitting, the packed
output (see :mod:`sklearn_p2p.utils._packed`) and flattened input are here.
A classifier that segments its own input calls :meth:`_fit_images` and
:meth:`_label_maps` on images it has validated already, so they are not
validated twice.
"""

from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from ._image_input import ImageInputMixin
from .utils._docstrings import fill_doc
from .utils._packed import unpack

__all__ = ["RegionTransformer"]


class RegionTransformer(ImageInputMixin, TransformerMixin, BaseEstimator):
    """Append a region label map to each image, as a last channel.

    Subclasses implement :meth:`_label_maps` and, when fitting needs more
    than the image format, :meth:`_fit_images`.
    """

    _accepts_other_image_sizes = True

    def _fit_images(self, images):
        """Fit on validated float32 images ``(n, H, W, C)``.

        Records the image format; classifiers call it on images they have
        read themselves.
        """
        self._check_image_format(tuple(images.shape[1:3]), images.shape[-1], reset=True)
        return self

    def _label_maps(self, images):
        """Label maps ``(n, H, W)``, ids ``0 .. D - 1``, of validated images."""
        raise NotImplementedError

    def _label_into(self, packed):
        """Fill the last channel of a validated packed array with label maps."""
        images, labels = unpack(packed)
        labels[...] = self._label_maps(images)
        return packed

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and record the input format.

        Parameters
        ----------
        %(X_region_fit)s

        Returns
        -------
        self : object
            The fitted transformer.
        """
        batch = self._read_images(X, reset=True)
        with batch.reading():
            return self._fit_images(batch.images)

    def transform(self, X):
        """Append the region label map of each image as a last channel.

        Parameters
        ----------
        X : array-like of shape (n_images, height, width, channels) or \
                (n_images, height, width)
            Images with as many channels as in :meth:`fit`, uint8 in
            [0, 255] or float in [0, 1]; with ``image_shape``, also
            flattened images of shape (n_images, n_features), as many
            columns as in :meth:`fit`. Not modified.

        Returns
        -------
        Xt : ndarray of shape (n_images, height, width, channels + 1), \
                dtype float32
            The images scaled to [0, 1] (grayscale gets ``channels=1``),
            followed by the label map with ids 0..D-1 per image. Flattened
            input gives flattened output, of shape
            (n_images, height * width * (channels + 1)).
        """
        check_is_fitted(self)
        batch = self._read_images(X, reset=False, n_spare_channels=1)
        with batch.reading():
            self._label_into(batch.data)
        return batch.output()

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit to X and return its transformed version.

        Equivalent to ``fit(X).transform(X)`` but validates X only once.

        Parameters
        ----------
        %(X_region_fit)s

        Returns
        -------
        Xt : ndarray of shape (n_images, height, width, channels + 1), \
                dtype float32
            See :meth:`transform`.
        """
        batch = self._read_images(X, reset=True, n_spare_channels=1)
        with batch.reading():
            self._fit_images(batch.images)
            self._label_into(batch.data)
        return batch.output()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        # Inputs are image batches; (n_samples, n_features) tables only when
        # image_shape says how to read each row as an image.
        tags.input_tags.two_d_array = self.image_shape is not None
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
