"""SuperpixelDataset: images from a torch Dataset, segmented as they are read.

For data that does not fit in memory. Each item is read, augmented (by the
wrapped dataset's own transform) and segmented when the DataLoader asks for
it, usually in its worker processes; nothing is kept in memory between
items. For a fixed data set the label maps can be stored once in a
memory-mapped file and read back in later epochs and runs.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._dataset_input import ItemImages
from ._superpixels import SuperpixelTransformer, _library_versions
from .utils._packed import unpack

__all__ = ["SuperpixelDataset"]

# Each cache row holds a label map as uint16 followed by the digest of the
# image it was computed from; an all-zero digest means "not computed yet".
_DIGEST_BYTES = 16
_DIGEST_WORDS = _DIGEST_BYTES // 2
_MAX_CACHED_LABEL = np.iinfo(np.uint16).max


class SuperpixelDataset(ItemImages):
    """Images of a torch Dataset with their SLIC label maps, computed lazily.

    Wraps any map-style dataset whose items are ``(image, label)`` pairs (as
    torchvision's datasets and :class:`~sklearn_p2p.datasets.ImageFolderDataset`
    return them) or bare images. Item ``i`` is read from the wrapped dataset
    when it is asked for, so the wrapped dataset's random augmentation (crop,
    flip, colour jitter) runs *before* segmentation, as in the paper, and a
    DataLoader's workers (``iterator_train__num_workers`` of
    :class:`P2PClassifier`) read and segment in parallel with training.
    Items are what :class:`SuperpixelTransformer` returns for one image: use
    it with ``P2PClassifier(superpixels="precomputed")``.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style dataset (``len`` and integer indexing). Images are PIL
        images, numpy arrays ``(H, W)`` or ``(H, W, C)`` (uint8, or float in
        [0, 1]) or torch tensors ``(C, H, W)``, with C in {1, 3}, all of the
        same size.
    superpixels : SuperpixelTransformer, default=None
        How the label maps are computed; None means
        ``SuperpixelTransformer()``. An unfitted transformer is cloned and
        fitted on the first image.
    cache_dir : str or os.PathLike, default=None
        Folder for a memory-mapped file of label maps, one row per item,
        filled as items are read (by every DataLoader worker) and reused in
        later epochs and by later datasets with the same folder and
        parameters. A row is used only when the item's image is byte for byte
        the one it was computed from (a 128-bit digest is stored with it), so
        a randomly augmented image is always segmented anew; the cache pays
        off for fixed images (validation and test sets, or training without
        augmentation). The file name encodes the number of items, the image
        size, the transformer's parameters and the library versions, so other
        settings get their own file. None caches nothing.

    Attributes
    ----------
    superpixels_ : SuperpixelTransformer
        The fitted transformer used for every item.
    image_shape_ : tuple of int
        ``(H, W)`` of the first image; every item must have it.
    n_channels_ : int
        Channels of the first image (1 or 3).
    cache_file_ : pathlib.Path or None
        The memory-mapped cache file, or None without ``cache_dir``.

    See Also
    --------
    SuperpixelTransformer : The same label maps for arrays in memory.
    sklearn_p2p.datasets.ImageFolderDataset : Images read lazily from a folder.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sklearn_p2p import SuperpixelDataset, SuperpixelTransformer
    >>> images = np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32)
    >>> base = torch.utils.data.TensorDataset(torch.from_numpy(images).permute(0, 3, 1, 2),
    ...                                       torch.tensor([0, 1, 0, 1]))
    >>> data = SuperpixelDataset(base, SuperpixelTransformer(n_segments=4))
    >>> packed, label = data[1]
    >>> tuple(packed.shape), int(label)
    ((16, 16, 4), 1)
    """

    def __init__(self, dataset, superpixels=None, *, cache_dir=None):
        if superpixels is None:
            superpixels = SuperpixelTransformer()
        if not isinstance(superpixels, SuperpixelTransformer):
            raise TypeError(
                "superpixels must be a SuperpixelTransformer or None; got "
                f"{type(superpixels).__name__}."
            )
        if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
            raise TypeError(
                f"cache_dir must be a folder path (str or os.PathLike) or None; got {cache_dir!r}."
            )
        super().__init__(dataset)
        self.superpixels = superpixels
        self.cache_dir = cache_dir
        try:
            check_is_fitted(superpixels)
            fitted = superpixels
        except NotFittedError:
            fitted = clone(superpixels).fit(self._first_image[None])
        self.superpixels_ = fitted
        self.cache_file_ = None if cache_dir is None else self._create_cache()
        self._cache = None  # opened lazily in each process (not pickled)

    def __getitem__(self, index):
        image, label = self._read_item(index)
        return torch.from_numpy(self._packed(image, index)), label

    def __getstate__(self):
        state = super().__getstate__()
        state["_cache"] = None  # each worker maps the file itself
        return state

    # -- label maps ----------------------------------------------------
    def _packed(self, image, index):
        """Image in [0, 1] plus its label map, ``(H, W, C + 1)`` float32."""
        transformer = self.superpixels_
        packed = transformer._read_images(image[None], reset=False, n_spare_channels=1).data
        if self.cache_file_ is None:
            return transformer._label_into(packed)[0]
        images, labels = unpack(packed)
        digest = self._digest(images)
        row = self._open_cache()[index]
        if np.array_equal(row[-_DIGEST_WORDS:], digest):
            labels[0] = row[:-_DIGEST_WORDS].reshape(self.image_shape_)
            return packed[0]
        transformer._label_into(packed)
        if labels.max() <= _MAX_CACHED_LABEL:
            row[:-_DIGEST_WORDS] = labels[0].ravel()
            row[-_DIGEST_WORDS:] = digest  # written last: marks the row as complete
        return packed[0]

    # -- memory-mapped cache -------------------------------------------
    def _cache_key(self):
        params = self.superpixels_.get_params()
        params.pop("n_jobs", None)
        params.pop("verbose", None)
        params.pop("memory", None)
        key = {
            "n_items": len(self.dataset),
            "image_shape": list(self.image_shape_),
            "n_channels": self.n_channels_,
            "backend": self.superpixels_.backend_,
            "params": {name: repr(value) for name, value in sorted(params.items())},
            "versions": _library_versions(self.superpixels_.backend_),
        }
        text = json.dumps(key, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20], text

    def _create_cache(self):
        folder = Path(self.cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        digest, description = self._cache_key()
        path = folder / f"superpixels-{digest}.npy"
        if not path.exists():
            n_words = self.image_shape_[0] * self.image_shape_[1] + _DIGEST_WORDS
            # Create under a temporary name and rename, so that a process
            # never maps a half-written file.
            tmp = folder / f".{path.name}.{os.getpid()}.tmp"
            np.lib.format.open_memmap(
                tmp, mode="w+", dtype=np.uint16, shape=(len(self.dataset), n_words)
            ).flush()
            os.replace(tmp, path)
            path.with_suffix(".json").write_text(description)
        return path

    def _open_cache(self):
        if self._cache is None:
            self._cache = np.load(self.cache_file_, mmap_mode="r+")
        return self._cache

    @staticmethod
    def _digest(images):
        data = np.ascontiguousarray(images)
        hasher = hashlib.blake2b(digest_size=_DIGEST_BYTES)
        hasher.update(str(data.shape).encode())
        hasher.update(data.tobytes())
        digest = np.frombuffer(hasher.digest(), dtype=np.uint16).copy()
        digest[digest == 0] = 1  # all-zero means "empty row"
        return digest

    def precompute(self, num_workers=0):
        """Fill the cache for every item now, e.g. before a multi-process run.

        Parameters
        ----------
        num_workers : int, default=0
            DataLoader worker processes segmenting in parallel.

        Returns
        -------
        self : SuperpixelDataset
            This dataset, its cache file now holding every item's label map.
        """
        if self.cache_file_ is None:
            raise ValueError(
                "precompute needs a cache: create the SuperpixelDataset with "
                "cache_dir=<folder>."
            )
        loader = torch.utils.data.DataLoader(
            _Indices(self), batch_size=None, num_workers=num_workers
        )
        for _ in loader:
            pass
        self._open_cache().flush()
        return self


class _Indices(torch.utils.data.Dataset):
    """Reads (and so caches) every item of a SuperpixelDataset, returns its index."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        self.dataset[index]
        return index
