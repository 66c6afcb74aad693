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
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._dataset_input import ItemImages
from ._superpixel_cache import (
    CACHE_DTYPE,
    CACHE_FORMAT,
    DIGEST_WORDS,
    MAX_CACHED_LABEL,
    ensure_cache_file,
    image_hash,
    open_valid_cache,
    row_digest,
)
from ._superpixels import SuperpixelTransformer, _library_versions
from .utils._packed import unpack

__all__ = ["SuperpixelDataset"]


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

        The file's full size is reserved on disk when it is created, so a full
        disk raises an ``OSError`` then (naming the space needed) rather than
        killing a process later. A complete cache in a read-only folder (or a
        read-only file) is read without writing anything, so one can be
        precomputed once and shared; label maps missing from it are computed
        each time they are read, with a warning. A read-only folder without
        the cache file raises a ``PermissionError``. A damaged file (emptied,
        truncated, overwritten) is rebuilt with a warning, or, when it cannot
        be rewritten, raises an ``OSError`` saying to delete it. Temporary
        files left by killed processes are removed when a cache is created.

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
        self._cache_writable = False
        self._warned_read_only = False

    def __getitem__(self, index):
        image, label = self._read_item(index)
        return torch.from_numpy(self._packed(image, index)), label

    def __getstate__(self):
        state = super().__getstate__()
        state["_cache"] = None  # each worker maps the file itself
        state["_cache_writable"] = False
        state["_warned_read_only"] = False
        return state

    # -- label maps ----------------------------------------------------
    def _packed(self, image, index):
        """Image in [0, 1] plus its label map, ``(H, W, C + 1)`` float32."""
        transformer = self.superpixels_
        packed = transformer._read_images(image[None], reset=False, n_spare_channels=1).data
        if self.cache_file_ is None:
            return transformer._label_into(packed)[0]
        images, labels = unpack(packed)
        hashed = image_hash(images)
        row = self._open_cache()[index]
        # One copy, checked as a whole: other processes may write the row meanwhile.
        cached = np.array(row)
        stored, digest = cached[:-DIGEST_WORDS], cached[-DIGEST_WORDS:]
        if digest.any() and np.array_equal(digest, row_digest(hashed, stored)):
            labels[0] = stored.reshape(self.image_shape_)
            return packed[0]
        transformer._label_into(packed)
        if labels.max() <= MAX_CACHED_LABEL:
            values = labels[0].ravel().astype(CACHE_DTYPE)
            self._store(row, values, row_digest(hashed, values))
        return packed[0]

    def _store(self, row, values, digest):
        """Write a computed row into the cache, or warn once if it is read-only."""
        if self._cache_writable:
            row[:-DIGEST_WORDS] = values
            row[-DIGEST_WORDS:] = digest  # written last: marks the row as complete
        elif not self._warned_read_only:
            self._warned_read_only = True
            warnings.warn(
                f"The superpixel cache file {str(self.cache_file_)!r} is read-only: "
                "label maps missing from it are computed without being stored, "
                "each time they are read. Precompute the cache with write access "
                "(SuperpixelDataset(..., cache_dir=...).precompute()), or pass a "
                "writable cache_dir.",
                UserWarning,
                stacklevel=2,
            )

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
            "format": CACHE_FORMAT,
        }
        text = json.dumps(key, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20], text

    def _cache_shape(self):
        return (len(self.dataset), self.image_shape_[0] * self.image_shape_[1] + DIGEST_WORDS)

    def _create_cache(self):
        """Path of a valid cache file, created (or rebuilt) only when needed."""
        folder = Path(self.cache_dir)
        digest, description = self._cache_key()
        path = folder / f"superpixels-{digest}.npy"
        ensure_cache_file(path, self._cache_shape(), self.cache_dir, description)
        return path

    def _open_cache(self):
        if self._cache is None:
            self._cache, self._cache_writable = open_valid_cache(
                self.cache_file_, self._cache_shape(), self.cache_dir, self._cache_key()[1]
            )
        return self._cache

    def precompute(self, num_workers=0):
        """Fill the cache for every item now, e.g. before a multi-process run.

        With a read-only cache file the label maps that are missing from it
        are computed but cannot be stored (a warning says so).

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
        cache = self._open_cache()
        if self._cache_writable:
            cache.flush()
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
