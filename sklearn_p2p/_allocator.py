"""Keep freed CPU memory for reuse while a model trains (glibc's malloc only).

PyTorch's CPU tensors come from ``malloc``. With glibc's default settings
every block above 32 MiB is a fresh ``mmap`` returned to the system when
freed, and the heap is trimmed whenever its top is free, so each training
step faults its large activations in again, page by page: at 96x96 pixels
and batch 64, 40% of a step was system time, and P2P (which allocates a
selector's activations besides the classifier's) faulted 2.2 to 2.9 times
the memory of a Blackbox (``docs/performance.rst``). While ``fit`` runs on
the CPU, :func:`reused_cpu_memory` sets glibc's ``M_MMAP_MAX`` to 0 and
``M_TRIM_THRESHOLD`` to 2 GiB (what the environment variables
``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...`` do for a whole process),
and sets glibc's defaults back afterwards.
"""

import contextlib
import ctypes
import sys

__all__ = ["reused_cpu_memory"]

# mallopt parameters and glibc's defaults for them (malloc/malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_DEFAULT_TRIM_THRESHOLD = 128 * 1024
_DEFAULT_MMAP_MAX = 65536
_KEPT_BYTES = 2**31 - 1  # the largest int mallopt takes


def _glibc_mallopt():
    """glibc's ``mallopt`` of this process, or None (another platform or libc)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None  # e.g. musl, whose malloc has no such settings
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt


@contextlib.contextmanager
def reused_cpu_memory(enabled=True):
    """Within the block, freed memory stays in the process for reuse.

    Parameters
    ----------
    enabled : bool, default=True
        False makes the block a no-op (e.g. when training on a GPU).

    Yields
    ------
    active : bool
        Whether the settings were changed (glibc on Linux, ``enabled``).
    """
    mallopt = _glibc_mallopt() if enabled else None
    if mallopt is None:
        yield False
        return
    mallopt(_M_MMAP_MAX, 0)
    mallopt(_M_TRIM_THRESHOLD, _KEPT_BYTES)
    try:
        yield True
    finally:
        mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
        mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
