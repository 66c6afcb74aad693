"""Reading the items of a torch Dataset, the lazy side of image input.

For data that does not fit in memory the estimators take a map-style torch
Dataset of ``(image, label)`` items (or bare images) and read it batch by
batch, in DataLoader workers. This module turns one item into a validated
channel-last image (:class:`ItemImages`, shared by
:class:`~sklearn_p2p.SuperpixelDataset` and :class:`ImageItems`), finds a
dataset's ``targets`` and ``classes`` through its wrappers, and encodes
labels for training (:class:`EncodedItems`).
"""

import numpy as np
import torch

from .utils._validation import validated_images

__all__ = [
    "EncodedItems",
    "ImageItems",
    "ItemImages",
    "base_dataset",
    "dataset_attribute",
    "item_image",
    "item_label",
]


def item_image(item):
    """The image of a dataset item: ``(image, label)`` pairs or bare images."""
    return item[0] if isinstance(item, (tuple, list)) else item


def item_label(item):
    """The label of a dataset item; -1 for a bare image."""
    return item[1] if isinstance(item, (tuple, list)) and len(item) > 1 else -1


def as_channel_last(image, index):
    """A numpy array ``(H, W)`` or ``(H, W, C)`` from one dataset image.

    PIL images and numpy arrays are channel-last already; torch tensors
    follow torchvision's channel-first ``(C, H, W)`` convention.
    """
    if torch.is_tensor(image):
        array = image.detach().cpu().numpy()
        if array.ndim == 3:
            array = np.moveaxis(array, 0, -1)
    else:
        array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (1, 3)):
        shape = tuple(image.shape) if hasattr(image, "shape") else array.shape
        raise ValueError(
            f"Item {index} of the dataset is not an image: got {type(image).__name__} "
            f"of shape {shape}. Items must be (image, label) pairs or images: a "
            "PIL image, a numpy array (H, W) or (H, W, C), or a torch tensor "
            "(C, H, W) as torchvision's ToTensor returns, with C in {1, 3}."
        )
    return array


def base_dataset(dataset):
    """The dataset under any ``torch.utils.data.Subset`` wrappers."""
    while isinstance(dataset, torch.utils.data.Subset):
        dataset = dataset.dataset
    return dataset


def dataset_attribute(dataset, name):
    """A per-dataset attribute (``targets``, ``classes``) through its wrappers.

    Subsets select their part of ``targets``; the wrappers of this package
    (which keep the wrapped dataset as ``dataset``) pass it through.
    """
    if isinstance(dataset, torch.utils.data.Subset):
        value = dataset_attribute(dataset.dataset, name)
        if value is None or name != "targets":
            return value
        return value[np.asarray(dataset.indices)]
    if isinstance(dataset, ItemImages):
        return dataset_attribute(dataset.dataset, name)
    value = getattr(dataset, name, None)
    return None if value is None else np.asarray(value)


class ItemImages(torch.utils.data.Dataset):
    """Base of the datasets that read another dataset's items as images.

    Reads item 0 once to learn the image format (``image_shape_``,
    ``n_channels_``), which every item must share.
    """

    def __init__(self, dataset):
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(
                "dataset must be a map-style torch Dataset (with __len__ and "
                f"__getitem__); got {type(dataset).__name__}. Wrap an iterable "
                "in a list or write a Dataset class."
            )
        if len(dataset) == 0:
            raise ValueError("dataset is empty; pass a dataset with at least one image.")
        self.dataset = dataset
        first = as_channel_last(item_image(dataset[0]), 0)
        self.image_shape_ = tuple(first.shape[:2])
        self.n_channels_ = 1 if first.ndim == 2 else first.shape[-1]
        self._first_image = first

    def __len__(self):
        return len(self.dataset)

    def _read_item(self, index):
        """Item ``index`` as ``(image, label)``, the image channel-last."""
        item = self.dataset[index]
        image = as_channel_last(item_image(item), index)
        if image.shape[:2] != self.image_shape_:
            raise ValueError(
                f"Item {index} of the dataset has size {image.shape[:2]}, but the "
                f"first item has size {self.image_shape_}: a batch needs images of "
                "one size. Resize them in the dataset's transform (e.g. "
                "torchvision.transforms.Resize or RandomResizedCrop, or "
                "ImageFolderDataset(image_size=...))."
            )
        return image, item_label(item)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_first_image"] = None  # only needed while initialising
        return state


class ImageItems(ItemImages):
    """Items of a dataset as validated float32 images ``(H, W, C)`` in [0, 1].

    For classifiers that read images without superpixels.
    """

    def __init__(self, dataset, value_range=None):
        super().__init__(dataset)
        self.value_range = value_range

    def __getitem__(self, index):
        image, label = self._read_item(index)
        images = validated_images(
            image[None], value_range=self.value_range, input_name=f"Item {index} of X"
        )
        return torch.from_numpy(images[0]), label


class EncodedItems(torch.utils.data.Dataset):
    """Items with their labels encoded as ``0 .. n_classes - 1``.

    Parameters
    ----------
    dataset : Dataset
        Items ``(input, label)``.
    codes : dict or None
        Label -> code. None (inference): every label becomes 0, so that any
        label type of the user's dataset (strings, say) still collates.
    classes : list, default=None
        The classes, named in the error for a label without a code.
    """

    def __init__(self, dataset, codes, classes=None):
        self.dataset = dataset
        self.codes = codes
        self.classes = classes

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        item = self.dataset[index]
        data = item_image(item)
        if not torch.is_tensor(data):
            data = torch.as_tensor(np.asarray(data, dtype=np.float32))
        if self.codes is None:
            return data, 0
        label = item_label(item)
        if isinstance(label, (torch.Tensor, np.generic)):
            label = label.item()  # a plain number, also in the message below
        code = self.codes.get(label)
        if code is None:
            raise ValueError(
                f"Item {index} of the dataset has label {label!r}, which is not "
                f"among the classes {self.classes}. Pass classes=[...] "
                "listing every label, or y with the label of every item."
            )
        return data, code
