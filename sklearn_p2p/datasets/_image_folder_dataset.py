"""A folder of images read lazily, one file per item, as a torch Dataset."""

import numpy as np
import torch

from ..utils._docstrings import fill_doc
from ._loaders import (
    _check_extensions,
    _check_folder,
    _check_image_size,
    _list_image_folder,
    _resize,
    _to_rgb_uint8,
)

__all__ = ["ImageFolderDataset"]


@fill_doc
class ImageFolderDataset(torch.utils.data.Dataset):
    """Images of a class-per-folder tree, read from disk only when indexed.

    The lazy counterpart of :func:`load_image_folder` for data sets larger
    than memory: it keeps the file names and labels, and reads, converts and
    (optionally) resizes and augments one image per ``dataset[i]``, in
    whichever process asks, e.g. a DataLoader worker. Pass it to
    :meth:`P2PClassifier.fit <sklearn_p2p.P2PClassifier.fit>`, ``predict``
    and ``explain`` as it is, or wrapped in a
    :class:`~sklearn_p2p.SuperpixelDataset` to cache its superpixels.

    torchvision's ``ImageFolder`` does the same and works with
    :class:`~sklearn_p2p.P2PClassifier` too; this one needs no torchvision
    and reads images exactly as :func:`load_image_folder` does (RGB uint8,
    alpha dropped, grayscale repeated over three channels), so both give the
    same pixels.

    Parameters
    ----------
    path : str or os.PathLike
        Folder with one sub-folder per class: ``path/<class name>/**/<image>``.
    image_size : int or tuple of (int, int), default=None
        Resize every image (anti-aliased bilinear) to ``(image_size,
        image_size)`` or ``(height, width)`` before ``transform``.
    transform : callable, default=None
        Applied to each image after reading (and resizing), e.g. a
        torchvision augmentation such as ``RandomResizedCrop``,
        ``RandomHorizontalFlip`` and ``ColorJitter``; it receives a PIL image
        and may return a PIL image, a channel-last array or a ``(C, H, W)``
        tensor. Superpixels are computed on what it returns, so augmentation
        comes before segmentation, as in the paper.
    extensions : tuple of str, default=(".png", ".jpg", ".jpeg", ".bmp")
        File name endings of the images, compared case-insensitively.

    Attributes
    ----------
    files : list of str
        Path of each image.
    targets : ndarray of shape (n_images,), dtype int64
        Class index of each image (the labels :class:`P2PClassifier` learns).
    classes : list of str
        Sorted class folder names; ``classes[targets[i]]`` names image i's class.

    See Also
    --------
    load_image_folder : The same folder loaded into memory at once.

    Examples
    --------
    %(image_folder_example)s
    >>> from sklearn_p2p.datasets import ImageFolderDataset
    >>> data = ImageFolderDataset(root, image_size=4)
    >>> len(data), data.classes
    (2, ['cat', 'dog'])
    >>> image, label = data[1]
    >>> image.shape, image.dtype, label
    ((4, 4, 3), dtype('uint8'), 1)
    >>> tmp.cleanup()
    """

    def __init__(
        self,
        path,
        *,
        image_size=None,
        transform=None,
        extensions=(".png", ".jpg", ".jpeg", ".bmp"),
    ):
        folder = _check_folder(path, "path")
        self.image_size = _check_image_size(image_size)
        if transform is not None and not callable(transform):
            raise TypeError(
                f"transform must be callable (e.g. a torchvision transform) or None; got {transform!r}."
            )
        self.transform = transform
        files, targets, classes = _list_image_folder(folder, path, _check_extensions(extensions))
        self.files = [str(file) for file in files]
        self.targets = np.asarray(targets, dtype=np.int64)
        self.classes = classes

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        from skimage.io import imread

        file = self.files[index]
        image = _to_rgb_uint8(imread(file), file)
        if self.image_size is not None:
            image = _resize(image, self.image_size, order=1)
        if self.transform is not None:
            from PIL import Image

            image = self.transform(Image.fromarray(image))
            if not torch.is_tensor(image):
                image = np.asarray(image)
        return image, int(self.targets[index])
