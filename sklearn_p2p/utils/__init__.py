"""Input validation and other helpers shared by the package.

- ``_validation``: image batches and the parameters that say how to read them;
- ``_flat``: flattened images (``image_shape``);
- ``_packed``: the packed layout, images plus superpixel label map;
- ``_docstrings``: docstring fragments shared by many estimators and functions.
"""

from ._flat import unflatten_images
from ._packed import check_precomputed, make_labels_contiguous, pack_superpixels
from ._validation import check_images

__all__ = [
    "check_images",
    "check_precomputed",
    "make_labels_contiguous",
    "pack_superpixels",
    "unflatten_images",
]
