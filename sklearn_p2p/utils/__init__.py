"""Input validation and other helpers shared by the package."""

from ._validation import (
    check_images,
    check_precomputed,
    make_labels_contiguous,
    pack_superpixels,
    unflatten_images,
)

__all__ = [
    "check_images",
    "check_precomputed",
    "make_labels_contiguous",
    "pack_superpixels",
    "unflatten_images",
]
