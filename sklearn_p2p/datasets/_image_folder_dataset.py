"""A folder of images read lazily, one file per item, as a torch Dataset."""

import operator
import warnings
from pathlib import Path

import numpy as np
import torch

from ..utils._docstrings import fill_doc
from ._loaders import (
    _check_extensions,
    _check_folder,
    _check_image_size,
    _check_on_error,
    _imread,
    _list_image_folder,
    _read_failure_reason,
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
    on_error : {"raise", "skip"}, default="raise"
        What ``dataset[i]`` does when its file cannot be read or decoded
        (truncated, corrupt, empty, not an image, or not readable by this
        user); files are only opened when indexed, so this happens during
        training, not at construction.

        - ``"raise"``: raise an :class:`OSError` naming the file.
        - ``"skip"``: warn (a :class:`UserWarning` naming the file) and return
          the next readable item instead, ``(image, label)`` of item
          ``i + 1``, ``i + 2``, ... wrapping around to 0, so DataLoader
          batches stay full and training goes on. The length of the dataset
          and ``targets`` do not change: ``targets[i]`` remains the label of
          the unreadable file, while ``dataset[i]`` returns the replacement's
          image with the replacement's label. If no file at all can be read,
          an :class:`OSError` is raised. Warnings raised in DataLoader worker
          processes are printed by those processes. Meant for training: in
          ``predict`` or ``explain``, row i would be the replacement's.

        Truncated images are never loaded partially. Decodable files of the
        wrong shape raise a :class:`ValueError` either way.

    Attributes
    ----------
    files : list of str
        Path of each image.
    targets : ndarray of shape (n_images,), dtype int64
        Class index of each image (the labels :class:`P2PClassifier` learns).
    classes : list of str
        Sorted class folder names; ``classes[targets[i]]`` names image i's class.

    Raises
    ------
    ValueError
        At construction, if ``on_error`` (or another parameter) is invalid.

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
        on_error="raise",
    ):
        folder = _check_folder(path, "path")
        self.image_size = _check_image_size(image_size)
        if transform is not None and not callable(transform):
            raise TypeError(
                f"transform must be callable (e.g. a torchvision transform) or None; got {transform!r}."
            )
        self.transform = transform
        self.on_error = _check_on_error(on_error)
        files, targets, classes = _list_image_folder(folder, path, _check_extensions(extensions))
        self.files = [str(file) for file in files]
        self.targets = np.asarray(targets, dtype=np.int64)
        self.classes = classes

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        file = self.files[index]  # IndexError past the end, as iteration expects
        label = int(self.targets[index])
        try:
            raw = _imread(file)
        except OSError as exc:
            # Pickled before on_error existed: raise, as those versions did.
            if getattr(self, "on_error", "raise") != "skip":
                raise
            file, raw, label = self._next_readable(operator.index(index), exc)
        image = _to_rgb_uint8(raw, file)
        if self.image_size is not None:
            image = _resize(image, self.image_size, order=1)
        if self.transform is not None:
            from PIL import Image

            image = self.transform(Image.fromarray(image))
            if not torch.is_tensor(image):
                image = np.asarray(image)
        return image, label

    def _next_readable(self, index, error):
        """``(file, raw image, label)`` of the first readable item after ``index``.

        Warns for each unreadable file met; raises if none can be read.
        """
        n_files = len(self.files)
        index %= n_files
        self._warn_unreadable(index, error)
        for step in range(1, n_files):
            other = (index + step) % n_files
            try:
                raw = _imread(self.files[other])
            except OSError as exc:
                self._warn_unreadable(other, exc)
                continue
            return self.files[other], raw, int(self.targets[other])
        raise OSError(
            f"None of the {n_files} image files of this ImageFolderDataset can "
            f'be read, so on_error="skip" has no item to return in place of '
            f"{Path(self.files[index]).as_posix()!r}. Fix or replace the files."
        ) from error

    def _warn_unreadable(self, index, error):
        file = self.files[index]
        warnings.warn(
            f"Cannot read image file {Path(file).as_posix()!r} (item {index}): "
            f"{_read_failure_reason(file, error.__cause__ or error)}. "
            'on_error="skip": the next readable item is returned in its place. '
            "Fix or delete the file to silence this warning.",
            UserWarning,
            stacklevel=4,
        )
