"""Reading user images, once per call, for every estimator of the package.

:class:`ImageInputMixin` owns how ``X`` becomes validated float32 images in
[0, 1]: numpy arrays, lists of arrays or PIL images, torch tensors,
DataFrames of flattened rows (with ``image_shape``), other value ranges
(``value_range``, its one owner), and precomputed superpixels. It records
the image format in ``fit`` and checks it afterwards. Transformers
(:class:`~sklearn_p2p.SuperpixelTransformer`, the patch grid) and the
classifiers (:mod:`sklearn_p2p._image_classifier`) all read through it, so
an input error reads the same wherever it is raised.
"""

from typing import NamedTuple, Optional

import numpy as np

from .utils._flat import reading_flat_input, unflatten_rows
from .utils._packed import validated_packed
from .utils._validation import (
    check_image_shape_param,
    check_value_range_param,
    validated_images,
)

__all__ = ["ImageBatch", "ImageInputMixin"]


class ImageBatch(NamedTuple):
    """Images validated once, with room for what the estimator adds.

    ``data`` is a new float32 array ``(n, H, W, n_channels + k)``: the image
    channels in [0, 1] followed by ``k`` further channels (the label map of
    the packed layout, see :mod:`sklearn_p2p.utils._packed`), which are
    filled in place.
    """

    data: np.ndarray
    n_channels: int
    n_features: Optional[int]  # columns of flattened X; None for image batches
    rows_shape: Optional[tuple]  # how a flattened row was read; None for batches
    image_shape: Optional[tuple]  # the estimator's parameter

    @property
    def images(self):
        """The image channels, a view of ``data``."""
        return self.data[..., :self.n_channels]

    def reading(self):
        """Context that adds how flattened rows were read to ValueErrors."""
        return reading_flat_input(self.n_features, self.rows_shape, self.image_shape)

    def output(self):
        """``data`` in the form of the input: flattened rows for flattened X."""
        if self.n_features is None:
            return self.data
        return self.data.reshape(len(self.data), -1)


class ImageInputMixin:
    """Input handling shared by the image estimators of the package.

    The estimator has the parameters ``image_shape`` and ``value_range``;
    reading with ``reset=True`` (in ``fit``) sets ``image_shape_``,
    ``n_channels_`` and, for flattened input, ``n_features_in_``, which later
    reads are checked against.
    """

    # Classifiers need the training size; transformers work on any size.
    _accepts_other_image_sizes = False

    def _takes_packed_input(self):
        """Whether ``X`` carries a superpixel label map as its last channel."""
        return False

    def _check_input_params(self):
        name = type(self).__name__
        check_image_shape_param(self.image_shape, name)
        check_value_range_param(self.value_range, name)

    def _read_images(self, X, *, reset, n_spare_channels=0):
        """Validate ``X`` into an :class:`ImageBatch`, copying it once.

        Packed input (see :meth:`_takes_packed_input`) comes back packed,
        its label maps checked and relabelled to contiguous ids; other
        input gets ``n_spare_channels`` uninitialised channels after the
        image.
        """
        self._check_input_params()
        packed = self._takes_packed_input()
        rows, flattened = unflatten_rows(X, self.image_shape, int(packed), "X")
        n_features = int(np.prod(rows.shape[1:])) if flattened else None
        self._check_n_features(n_features, reset=reset)
        rows_shape = rows.shape[1:] if flattened else None
        with reading_flat_input(n_features, rows_shape, self.image_shape):
            if packed:
                if self.value_range is not None:
                    raise ValueError(
                        "value_range cannot be used with superpixels='precomputed': "
                        "the precomputed images are already in [0, 1]. Set "
                        "value_range on the SuperpixelTransformer step instead."
                    )
                data = validated_packed(rows)
                n_channels = data.shape[-1] - 1
            else:
                data = validated_images(
                    rows, value_range=self.value_range, n_spare_channels=n_spare_channels
                )
                n_channels = data.shape[-1] - n_spare_channels
            self._check_image_format(tuple(data.shape[1:3]), n_channels, reset=reset)
        return ImageBatch(data, n_channels, n_features, rows_shape, self.image_shape)

    def _images_as_read(self, X):
        """The images of ``X`` as this estimator reads them (for plots)."""
        return self._read_images(X, reset=False).images

    def _check_n_features(self, n_features, *, reset):
        """Record or check ``n_features_in_``, the width of flattened input."""
        if reset:
            if n_features is None:
                self.__dict__.pop("n_features_in_", None)
            else:
                self.n_features_in_ = n_features
            return
        expected = getattr(self, "n_features_in_", None)
        if n_features is not None and expected is not None and n_features != expected:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is "
                f"expecting {expected} features as input: flattened images must "
                "have the size seen in fit."
            )

    def _check_image_format(self, image_shape, n_channels, *, reset):
        """Record (reset) or check the image size and channel count."""
        name = type(self).__name__
        if reset:
            self.n_channels_, self.image_shape_ = n_channels, tuple(image_shape)
        elif image_shape != self.image_shape_ and not self._accepts_other_image_sizes:
            raise ValueError(
                f"X has images of shape {image_shape}, but {name} was fitted on "
                f"images of shape {self.image_shape_}. Resize them to the "
                "training size (e.g. with skimage.transform.resize)."
            )
        elif n_channels != self.n_channels_:
            fix = "skimage.color.gray2rgb" if n_channels == 1 else "skimage.color.rgb2gray"
            raise ValueError(
                f"X has images with {n_channels} channel(s), but {name} was "
                f"fitted on images with {self.n_channels_} channel(s). Convert "
                f"them (e.g. with {fix})."
            )
