"""Loaders for image data the user already has on disk; they never download."""

import numbers
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..utils._docstrings import fill_doc

__all__ = ["load_cifar10", "load_image_folder"]


_CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
_CIFAR10_FOLDER = "cifar-10-batches-py"
_CIFAR10_FILES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
# The class names of CIFAR-10 are fixed; they are used when batches.meta is
# absent so that a folder holding only the batches still loads.
_CIFAR10_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def _check_extensions(extensions):
    if isinstance(extensions, str):
        extensions = (extensions,)
    try:
        extensions = tuple(extensions)
    except TypeError:
        extensions = None
    if not extensions or not all(isinstance(e, str) and e.strip(".") for e in extensions):
        raise ValueError(
            "extensions must be a non-empty sequence of file name endings such "
            f"as ('.png', '.jpg'); got {extensions!r}."
        )
    # Compare case-insensitively and accept "png" as well as ".png".
    return tuple("." + e.lower().lstrip(".") for e in extensions)


def _check_image_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        shape = (image_size, image_size)
    else:
        try:
            shape = tuple(image_size)
        except TypeError:
            shape = ()
    if len(shape) != 2 or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1
        for s in shape
    ):
        raise ValueError(
            "image_size must be None, a positive int or a pair (height, width) "
            f"of positive ints; got {image_size!r}."
        )
    return int(shape[0]), int(shape[1])


def _check_folder(path, name):
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"{name} must be a path to a folder (str or os.PathLike); got {path!r}.")
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"{name}={str(path)!r} is not an existing folder.")
    return folder


_ON_ERROR = ("raise", "skip")


def _check_on_error(on_error):
    if not isinstance(on_error, str) or on_error not in _ON_ERROR:
        raise ValueError(f'on_error must be "raise" or "skip"; got {on_error!r}.')
    return on_error


def _read_failure_reason(file, exc):
    """A one-line reason why ``file`` could not be read, from ``exc``."""
    try:
        if os.path.getsize(file) == 0:
            return "the file is empty"
    except OSError:
        pass
    # imageio's "no backend" error continues with advice to install plugins,
    # which does not help with a broken file: keep its first line only.
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if len(text) > 200:
        text = text[:197] + "..."
    name = type(exc).__qualname__
    if type(exc).__module__ not in ("builtins", None):
        name = f"{type(exc).__module__}.{name}"  # struct.error, not "error"
    return f"{name}: {text}" if text else name


def _imread(file, what="image"):
    """``skimage.io.imread`` with an OSError naming the file on any failure.

    Truncated, corrupt or empty files, files that are not images and files
    this user may not read make PIL and imageio raise many exception types
    (OSError, SyntaxError, ValueError, struct.error, ...); all become an
    OSError that names the file and says what to do, chained to the original.
    """
    from skimage.io import imread

    try:
        return imread(file)
    except MemoryError:
        raise
    except Exception as exc:
        raise OSError(
            f"Cannot read {what} file {Path(file).as_posix()!r}: "
            f"{_read_failure_reason(file, exc)}. The file may be truncated, "
            "corrupt, empty, not an image, or not readable by this user. Fix or "
            'delete it, or pass on_error="skip" to leave out unreadable files.'
        ) from exc


def _describe_files(entries, limit=5):
    """``'a.png' (reason), 'b.png' (reason) and 3 more`` for a message."""
    shown = ", ".join(f"{Path(f).as_posix()!r} ({reason})" for f, reason in entries[:limit])
    if len(entries) > limit:
        shown += f" and {len(entries) - limit} more"
    return shown


def _to_rgb_uint8(image, filename):
    """Channel-last RGB uint8 from whatever ``imread`` returned."""
    from skimage.util import img_as_ubyte

    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(
            f"{filename} is not a 2-D grayscale, RGB or RGBA image: it was read "
            f"as an array of shape {image.shape}."
        )
    # Drop alpha (grayscale+alpha has 2 channels, RGBA 4): the loaders return
    # the pixels as stored, not composited onto some background.
    if image.shape[-1] in (2, 4):
        image = image[..., :-1]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        # 16-bit and float images are rescaled to [0, 255].
        image = img_as_ubyte(image)
    return np.ascontiguousarray(image)


def _to_mask(mask, filename):
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[-1] in (2, 4):
        # An opaque alpha channel would make every pixel "nonzero".
        mask = mask[..., :-1]
    if mask.ndim == 3:
        mask = mask.any(axis=-1)
    if mask.ndim != 2:
        raise ValueError(
            f"Mask {filename} is not a 2-D image: it was read as an array of "
            f"shape {mask.shape}."
        )
    return mask != 0


def _resize(image, shape, order):
    from skimage.transform import resize

    if image.shape[:2] == shape:
        return image
    # Anti-aliasing only for images; masks use nearest neighbours so they
    # stay binary.
    out = resize(
        image,
        shape,
        order=order,
        anti_aliasing=order > 0,
        preserve_range=True,
        mode="edge",
    )
    if order == 0:
        return out.astype(image.dtype)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _find_mask(mask_folder, relative, extensions):
    """The mask file for the image at ``relative``: same stem, any extension."""
    base = mask_folder / relative
    candidates = [base] + [base.with_suffix(ext) for ext in extensions]
    candidates += [base.with_suffix(ext.upper()) for ext in extensions]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"No mask for image {relative.as_posix()!r}: expected a file "
        f"{(mask_folder / relative.with_suffix('')).as_posix()!r} with one of the "
        f"extensions {', '.join(extensions)} in mask_path. Every image needs a "
        "mask at the same relative path."
    )


def _list_image_folder(folder, path, extensions):
    """Image files of ``folder/<class>/**``, their class indices, class names."""
    class_dirs = sorted(
        p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    if not class_dirs:
        raise ValueError(
            f"path={str(path)!r} holds no class sub-folder. Put the images of "
            "each class in their own sub-folder: path/<class name>/<image>."
        )

    files, target = [], []
    for label, class_dir in enumerate(class_dirs):
        found = sorted(
            p
            for p in class_dir.rglob("*")
            if p.is_file()
            and p.suffix.lower() in extensions
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )
        if not found:
            raise ValueError(
                f"Class folder {class_dir.as_posix()!r} holds no image with one "
                f"of the extensions {', '.join(extensions)}. Remove the folder or "
                "pass the extensions of its images."
            )
        files.extend(found)
        target.extend([label] * len(found))

    return files, target, [d.name for d in class_dirs]


@fill_doc
def load_image_folder(
    path,
    *,
    mask_path=None,
    image_size=None,
    extensions=(".png", ".jpg", ".jpeg", ".bmp"),
    on_error="raise",
):
    """Load a folder of images with one sub-folder per class.

    The layout is the one used by torchvision's ``ImageFolder``:
    ``path/<class name>/**/<image file>``. Classes are the sub-folder names,
    sorted; images are found recursively inside each class folder. Optionally,
    a second folder with the same relative layout holds one object mask per
    image, for localization metrics. Nothing is downloaded.

    Parameters
    ----------
    path : str or os.PathLike
        Folder holding one sub-folder per class. Hidden entries (names
        starting with ``"."``) are ignored.

    mask_path : str or os.PathLike, default=None
        Folder holding the object masks, laid out like ``path``: the mask of
        ``path/cat/001.jpg`` is ``mask_path/cat/001.<ext>`` for any of
        ``extensions``. Nonzero pixels are object pixels (an alpha channel is
        ignored). Each mask must have its image's size.

    image_size : int or tuple of (int, int), default=None
        Resize every image (anti-aliased bilinear) and mask (nearest
        neighbour) to ``(image_size, image_size)`` or ``(height, width)``.
        With None, all images must already have the same size.

    extensions : tuple of str, default=(".png", ".jpg", ".jpeg", ".bmp")
        File name endings of the images to load, compared case-insensitively.
        Other files are ignored.

    on_error : {"raise", "skip"}, default="raise"
        What to do with a file that cannot be read or decoded (truncated,
        corrupt, empty, not an image, or not readable by this user), image or
        mask. ``"raise"`` raises an :class:`OSError` naming the file.
        ``"skip"`` leaves the image (and its mask) out of the returned data,
        so ``images``, ``target``, ``filenames`` and ``masks`` stay aligned,
        and warns once with the number and names of the skipped files;
        ``target_names`` still lists every class folder. Decodable files of
        the wrong shape and missing masks raise either way. Truncated images
        are never loaded partially.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        images : ndarray of shape (n_images, height, width, 3), dtype uint8
            The RGB images: grayscale images are repeated over three
            channels, alpha channels are dropped, 16-bit and float images are
            rescaled to [0, 255].
        target : ndarray of shape (n_images,), dtype int64
            The class of each image, an index into ``target_names``.
        target_names : list of str
            The sorted class folder names.
        filenames : ndarray of shape (n_images,), dtype object
            The path of each image file.
        masks : ndarray of shape (n_images, height, width), dtype bool
            The object masks; only present when ``mask_path`` is given.

    Raises
    ------
    FileNotFoundError
        If ``path`` or ``mask_path`` is not a folder, or an image has no mask.
    OSError
        If an image or mask file cannot be read and ``on_error="raise"``, or
        if no file can be read and ``on_error="skip"``.
    ValueError
        If ``path`` holds no class folder or a class folder no image, if
        images differ in size while ``image_size`` is None, if a mask's
        size differs from its image's, or if ``on_error`` is unknown.

    Warns
    -----
    UserWarning
        With ``on_error="skip"``, once, if files could not be read.

    See Also
    --------
    load_cifar10 : Load a local copy of CIFAR-10.

    Examples
    --------
    %(image_folder_example)s
    >>> from sklearn_p2p.datasets import load_image_folder
    >>> data = load_image_folder(root, image_size=4)
    >>> data.images.shape, data.target.tolist(), data.target_names
    ((2, 4, 4, 3), [0, 1], ['cat', 'dog'])
    >>> tmp.cleanup()
    """
    folder = _check_folder(path, "path")
    mask_folder = None if mask_path is None else _check_folder(mask_path, "mask_path")
    shape = _check_image_size(image_size)
    extensions = _check_extensions(extensions)
    on_error = _check_on_error(on_error)

    files, target, class_names = _list_image_folder(folder, path, extensions)

    images, masks, kept = [], [], []
    skipped = []  # (unreadable file, reason, exception)
    first_shape = {}
    for index, file in enumerate(files):
        mask = mask_file = None
        try:
            raw = _imread(file)
            if mask_folder is not None:
                mask_file = _find_mask(mask_folder, file.relative_to(folder), extensions)
                raw_mask = _imread(mask_file, "mask")
        except FileNotFoundError:
            raise  # a missing mask is a layout error, never skipped
        except OSError as exc:
            if on_error == "raise":
                raise
            bad = file if mask_file is None else mask_file
            skipped.append((bad, _read_failure_reason(bad, exc.__cause__ or exc), exc))
            continue
        image = _to_rgb_uint8(raw, file)
        if mask_folder is not None:
            mask = _to_mask(raw_mask, mask_file)
            if mask.shape != image.shape[:2]:
                raise ValueError(
                    f"Mask {mask_file.as_posix()!r} has size {mask.shape} but its "
                    f"image {file.as_posix()!r} has size {image.shape[:2]}; a mask "
                    "must have its image's height and width."
                )
        if shape is not None:
            image = _resize(image, shape, order=1)
            if mask is not None:
                mask = _resize(mask, shape, order=0)
        else:
            first_shape.setdefault(image.shape[:2], file)
            if len(first_shape) > 1:
                (shape_a, file_a), (shape_b, file_b) = first_shape.items()
                raise ValueError(
                    "Images differ in size: "
                    f"{file_a.as_posix()!r} is {shape_a[0]}x{shape_a[1]} but "
                    f"{file_b.as_posix()!r} is {shape_b[0]}x{shape_b[1]} "
                    "(height x width). Pass image_size to resize them all."
                )
        images.append(image)
        masks.append(mask)
        kept.append(index)

    if skipped:
        entries = [(f, reason) for f, reason, _ in skipped]
        if not kept:
            raise OSError(
                f"None of the {len(files)} image files under path={str(path)!r} "
                f"could be read: {_describe_files(entries)}. Fix or replace them."
            ) from skipped[0][2]
        warnings.warn(
            f"Skipped {len(skipped)} of {len(files)} images whose file could not "
            f'be read (on_error="skip"): {_describe_files(entries)}. Fix or delete '
            "these files to silence this warning.",
            UserWarning,
            stacklevel=2,
        )
    data = Bunch(
        images=np.stack(images),
        target=np.asarray(target, dtype=np.int64)[kept],
        target_names=class_names,
        filenames=np.asarray([str(files[i]) for i in kept], dtype=object),
    )
    if mask_folder is not None:
        data.masks = np.stack(masks)
    return data


def _unpickle(file):
    # The CIFAR-10 batches were pickled by Python 2: bytes keys and values.
    with open(file, "rb") as handle:
        return pickle.load(handle, encoding="bytes")


def _get(batch, key):
    """``batch[key]`` whether the keys are bytes (as shipped) or str."""
    if key.encode() in batch:
        return batch[key.encode()]
    return batch[key]


def load_cifar10(path, *, subset="train"):
    """Load a local copy of CIFAR-10 ("CIFAR-10 python version").

    Reads the pickled batches of the python version of CIFAR-10 from a
    folder on disk. This function never downloads: get
    ``cifar-10-python.tar.gz`` from https://www.cs.toronto.edu/~kriz/cifar.html
    and extract it first.

    Parameters
    ----------
    path : str or os.PathLike
        The ``cifar-10-batches-py`` folder (holding ``data_batch_1`` to
        ``data_batch_5``, ``test_batch`` and ``batches.meta``), or a folder
        that contains it.

    subset : {"train", "test"}, default="train"
        ``"train"`` loads the 50,000 images of the five data batches,
        ``"test"`` the 10,000 images of the test batch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        images : ndarray of shape (n_images, 32, 32, 3), dtype uint8
            The RGB images, channel-last.
        target : ndarray of shape (n_images,), dtype int64
            The class of each image, an index into ``target_names``.
        target_names : list of str
            The class names, from ``batches.meta`` (the standard ten names
            when that file is absent).
        DESCR : str
            Description of the data set.

    Raises
    ------
    FileNotFoundError
        If a batch file of ``subset`` is missing.
    ValueError
        If ``subset`` is unknown or a batch file is malformed.

    See Also
    --------
    load_image_folder : Load a folder of images with one sub-folder per class.

    Notes
    -----
    The batches are Python pickles: only load files from a trusted source,
    since unpickling can run arbitrary code.

    Examples
    --------
    >>> import pickle, tempfile, pathlib
    >>> import numpy as np
    >>> from sklearn_p2p.datasets import load_cifar10
    >>> tmp = tempfile.TemporaryDirectory()
    >>> root = pathlib.Path(tmp.name)
    >>> batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 5]}
    >>> with open(root / "test_batch", "wb") as f:
    ...     pickle.dump(batch, f)
    >>> data = load_cifar10(root, subset="test")
    >>> data.images.shape, data.target.tolist()
    ((2, 32, 32, 3), [3, 5])
    >>> data.target_names[3]
    'cat'
    >>> tmp.cleanup()
    """
    if subset not in _CIFAR10_FILES:
        raise ValueError(f"subset must be 'train' or 'test'; got {subset!r}.")
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(
            f"path must be a path to a folder (str or os.PathLike); got {path!r}."
        )
    folder = Path(path)
    if (folder / _CIFAR10_FOLDER).is_dir():
        folder = folder / _CIFAR10_FOLDER

    names = _CIFAR10_FILES[subset]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 {subset} file(s) {', '.join(missing)} not found in "
            f"{folder.as_posix()!r}. This function never downloads: get the "
            f"'CIFAR-10 python version' from {_CIFAR10_URL}, extract it and "
            f"pass the {_CIFAR10_FOLDER!r} folder (or its parent) as path."
        )

    images, target = [], []
    for name in names:
        file = folder / name
        try:
            batch = _unpickle(file)
            data = np.asarray(_get(batch, "data"))
            labels = np.asarray(_get(batch, "labels"))
        except (pickle.UnpicklingError, EOFError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{file.as_posix()!r} is not a CIFAR-10 python batch (a pickled "
                f"dict with b'data' and b'labels'): {exc!r}."
            ) from None
        if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (len(data),):
            raise ValueError(
                f"{file.as_posix()!r} is not a CIFAR-10 python batch: expected "
                "b'data' of shape (n, 3072) and n b'labels'; got shapes "
                f"{data.shape} and {labels.shape}."
            )
        # Rows are 1024 red, then green, then blue values, each row-major.
        images.append(data.astype(np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        target.append(labels.astype(np.int64))

    meta_file = folder / "batches.meta"
    if meta_file.is_file():
        raw = _get(_unpickle(meta_file), "label_names")
        target_names = [n.decode() if isinstance(n, bytes) else str(n) for n in raw]
    else:
        target_names = list(_CIFAR10_NAMES)

    images = np.ascontiguousarray(np.concatenate(images))
    target = np.concatenate(target)
    descr = (
        f"CIFAR-10 ({subset} subset): {len(images)} RGB images of 32x32 pixels "
        f"in {len(target_names)} classes ({', '.join(target_names)}), read from "
        f"{folder.as_posix()}. Source: {_CIFAR10_URL}"
    )
    return Bunch(images=images, target=target, target_names=target_names, DESCR=descr)
