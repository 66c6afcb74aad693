"""The memory-mapped file behind ``SuperpixelDataset(cache_dir=...)``.

One row per item: the label map as little-endian uint16 followed by a digest
of the image *and* of the label map. The file is created with its space
reserved (a full disk raises instead of killing the process), published
atomically, validated before it is mapped (a damaged file is rebuilt or
named), mapped read-only where it cannot be written, and temporary files of
dead processes are removed.
"""

import errno
import hashlib
import io
import os
import secrets
import warnings

import numpy as np

__all__ = [
    "CACHE_DTYPE", "CACHE_FORMAT", "DIGEST_WORDS", "MAX_CACHED_LABEL", "ensure_cache_file",
    "image_hash", "open_valid_cache", "row_digest",
]

# Each cache row holds a label map as little-endian uint16 followed by a
# digest of the image it was computed from *and* of the label map itself; an
# all-zero digest means "not computed yet". A row is used only when its digest
# matches, so a row torn by concurrent writers or damaged on disk is computed
# again, never returned.
DIGEST_BYTES = 16
DIGEST_WORDS = DIGEST_BYTES // 2
CACHE_DTYPE = np.dtype("<u2")
MAX_CACHED_LABEL = np.iinfo(np.uint16).max
# Part of the cache key: files of an older row layout get another name.
CACHE_FORMAT = 2


def image_hash(images):
    """A blake2b hasher fed with the shape and bytes of ``images``."""
    data = np.ascontiguousarray(images)
    hasher = hashlib.blake2b(digest_size=DIGEST_BYTES)
    hasher.update(str(data.shape).encode())
    hasher.update(data.tobytes())
    return hasher


def row_digest(hashed_image, values):
    """Digest of a cache row: of its image (``image_hash``) and its label map ``values``."""
    hasher = hashed_image.copy()
    hasher.update(np.ascontiguousarray(values, dtype=CACHE_DTYPE).tobytes())
    digest = np.frombuffer(hasher.digest(), dtype=CACHE_DTYPE).copy()
    digest[digest == 0] = 1  # all-zero means "empty row"
    return digest


def _format_bytes(n_bytes):
    """``n_bytes`` in a human-readable unit, e.g. ``'12.3 MB'``."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if n_bytes < 1000:
            return f"{n_bytes} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.1f} TB"


def _named(cache_dir):
    """``cache_dir=...`` for error messages."""
    return f"cache_dir={os.fspath(cache_dir)!r}"


def _read_header(path):
    """``(shape, dtype, fortran_order, data offset)`` of a .npy file's header."""
    with open(path, "rb") as file:
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(file)
        else:
            raise ValueError(f".npy format version {version} is not supported here")
        return shape, dtype, fortran_order, file.tell()


def _damage(path, shape):
    """Why the cache file at ``path`` cannot be used, or None; and its data offset.

    Reads only the header, so that a damaged file is never mapped (a file
    shorter than its header says would crash the process on access).
    """
    if not path.exists():
        return "it does not exist", None
    size = path.stat().st_size
    if size == 0:
        return "it is empty", None
    try:
        found_shape, dtype, fortran_order, offset = _read_header(path)
    except (ValueError, TypeError, EOFError, SyntaxError) as error:
        return f"it is not a valid .npy file: {error}", None
    if found_shape != tuple(shape) or dtype != CACHE_DTYPE or fortran_order:
        return (
            f"it holds an array of shape {found_shape} and dtype {dtype} instead of "
            f"{tuple(shape)} and uint16", None
        )
    expected = offset + int(np.prod(shape)) * CACHE_DTYPE.itemsize
    if size != expected:
        return f"it has {size} bytes instead of {expected}", None
    return None, offset


def _can_write(path):
    """Whether this process may write the file (or create files in the folder) ``path``."""
    if path.is_dir():
        return os.access(path, os.W_OK | os.X_OK)
    return os.access(path, os.W_OK)


def _process_alive(pid):
    """Whether process ``pid`` may still be running (True when unsure)."""
    if pid <= 0 or pid == os.getpid() or os.name == "nt":
        return True  # on Windows, os.kill(pid, 0) would terminate the process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # e.g. another user's process
    return True


def _remove_orphans(path):
    """Remove temporary files of ``path`` left by processes that have died."""
    prefix = f".{path.name}."
    for tmp in path.parent.glob(f"{prefix}*.tmp"):
        pid = tmp.name[len(prefix):-len(".tmp")].split(".")[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            try:
                tmp.unlink()
            except OSError:
                pass  # removed by another process, or not ours to remove


def _reserve(file, n_bytes):
    """Allocate ``n_bytes`` of zeros after the current end of ``file``.

    Allocated blocks make later writes through a memory map safe: without
    them a full disk kills the process (SIGBUS) instead of raising.
    """
    file.flush()
    start = file.tell()
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is not None:
        try:
            fallocate(file.fileno(), start, n_bytes)
            return
        except OSError as error:
            unsupported = {errno.EINVAL, errno.ENOSYS, getattr(errno, "EOPNOTSUPP", None)}
            if error.errno not in unsupported:
                raise
    zeros = memoryview(bytes(min(n_bytes, 1 << 20)))
    remaining = n_bytes
    while remaining:
        remaining -= file.write(zeros[:remaining])
    file.flush()


def _publish(tmp, path, *, replace):
    """Give the complete file ``tmp`` the name ``path``; False if another won.

    Without ``replace``, an existing ``path`` (created by another process
    meanwhile) is kept, with the rows it holds already.
    """
    if replace:
        os.replace(tmp, path)
        return True
    try:
        os.link(tmp, path)  # atomic, and fails if path exists
    except FileExistsError:
        return False
    except (OSError, NotImplementedError):  # no hard links on this file system
        if path.exists():
            return False
        os.replace(tmp, path)
    return True


def _new_cache_file(path, shape, cache_dir, description, *, replace):
    """Create an all-empty cache file at ``path``, its space reserved on disk.

    It is written under a temporary name and renamed when complete, so that
    no process maps a half-written file.
    """
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(
            errno.ENOTDIR,
            f"{_named(cache_dir)} is a file, not a folder. Pass a folder for the "
            "superpixel cache, or cache_dir=None to cache nothing.",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except PermissionError as error:
        raise _not_writable(cache_dir, path) from error
    _remove_orphans(path)
    if not _can_write(folder):
        raise _not_writable(cache_dir, path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {
        "descr": np.lib.format.dtype_to_descr(CACHE_DTYPE),
        "fortran_order": False,
        "shape": tuple(shape),
    })
    n_data = int(np.prod(shape)) * CACHE_DTYPE.itemsize
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, 0o666)
    except PermissionError as error:
        raise _not_writable(cache_dir, path) from error
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(header.getvalue())
            _reserve(file, n_data)
        created = _publish(tmp, path, replace=replace)
    except PermissionError as error:
        raise _not_writable(cache_dir, path) from error
    except OSError as error:
        size = _format_bytes(len(header.getvalue()) + n_data)
        raise OSError(
            error.errno,
            f"Cannot create the superpixel cache in {_named(cache_dir)}: its file "
            f"{path.name} needs {size} of disk space, and reserving it failed "
            f"({error.strerror or error}). Free disk space there, pass another "
            "cache_dir, or pass cache_dir=None to cache nothing.",
        ) from error
    finally:
        tmp.unlink(missing_ok=True)
    if created and not path.with_suffix(".json").exists():
        try:  # a description of the key, for people; never read back
            path.with_suffix(".json").write_text(description)
        except OSError:
            pass


def _not_writable(cache_dir, path):
    """The error for a cache folder where the cache file cannot be created."""
    return PermissionError(
        errno.EACCES,
        f"Cannot create the superpixel cache file {path.name} in {_named(cache_dir)}: "
        "the folder is not writable. A cache precomputed there with these "
        "settings is read without writing; otherwise pass a writable folder as "
        "cache_dir, or cache_dir=None to cache nothing.",
    )


def ensure_cache_file(path, shape, cache_dir, description):
    """Make sure a valid cache file is at ``path``; return its data offset.

    A valid file is left untouched (not even opened for writing). A missing
    one is created; a damaged one is rebuilt with a warning when it can be
    rewritten, else an OSError says to delete it.
    """
    reason, offset = _damage(path, shape)
    if reason is None:
        return offset
    if path.exists():
        if not (_can_write(path.parent) and _can_write(path)):
            raise OSError(
                errno.EACCES,
                f"The superpixel cache file {str(path)!r} is damaged ({reason}) and "
                f"cannot be rebuilt, as it is read-only. Delete it (or have its owner "
                f"delete it), or pass another cache_dir or cache_dir=None.",
            )
        warnings.warn(
            f"The superpixel cache file {str(path)!r} is damaged ({reason}); it is "
            "replaced by an empty one and its label maps are computed again.",
            UserWarning,
            stacklevel=4,
        )
    _new_cache_file(path, shape, cache_dir, description, replace=path.exists())
    reason, offset = _damage(path, shape)
    if reason is not None:  # replaced meanwhile by something else than a cache
        raise OSError(
            f"The superpixel cache file {str(path)!r} is damaged ({reason}) right "
            "after it was created; is another program writing to "
            f"{_named(cache_dir)}? Pass another cache_dir or cache_dir=None."
        )
    return offset


def open_valid_cache(path, shape, cache_dir, description):
    """Map the cache file, checked (and rebuilt if damaged) first.

    Returns the memory map and whether it is writable: a file that cannot be
    written is mapped read-only.
    """
    offset = ensure_cache_file(path, shape, cache_dir, description)
    if _can_write(path):
        try:
            cache = np.memmap(path, dtype=CACHE_DTYPE, mode="r+", offset=offset, shape=shape)
            return cache, True
        except PermissionError:
            pass
    return np.memmap(path, dtype=CACHE_DTYPE, mode="r", offset=offset, shape=shape), False
