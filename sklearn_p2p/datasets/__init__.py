"""Data set generators with exact ground-truth object masks, and loaders.

The generators (``make_*``) build images in memory from data that ships with
the installed packages; the loaders (``load_*``) read data the user already
has on disk, into memory, and :class:`ImageFolderDataset` reads a folder
lazily as a torch Dataset. Nothing here downloads.
"""

from ._bam import make_pasted_objects
from ._image_folder_dataset import ImageFolderDataset
from ._loaders import load_cifar10, load_image_folder
from ._synthetic import make_cluttered_objects
from ._tetrominoes import make_tetrominoes

__all__ = [
    "ImageFolderDataset",
    "load_cifar10",
    "load_image_folder",
    "make_cluttered_objects",
    "make_pasted_objects",
    "make_tetrominoes",
]
