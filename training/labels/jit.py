"""numba compilation of the exit kernel, with an on-disk cache that follows all its modules.

The kernel lives in three modules whose compiled functions call one another
(:mod:`training.labels.executor_walk`, :mod:`training.labels.hb_parity`,
:mod:`training.labels.batch`). ``numba.njit(cache=True)`` stamps a function's cache entry with
the modification time and size of that function's own file only, so an edit of
``simulate_one`` (executor_walk.py) would leave the cached ``_simulate_batch`` (batch.py), which
compiled ``simulate_one`` into itself, stale (numba's documentation, "Cache invalidation":
changes in called functions are not tracked). :func:`compiled` caches like ``cache=True``, in
the same places (``NUMBA_CACHE_DIR``, else ``__pycache__`` next to the file, else the user's
cache folder), with one stamp over every kernel module: an edit of any of them recompiles all.

This uses numba's cache classes (``numba.core.caching``, numba 0.61.2), which are not a public
API; ``tests/training/labels/test_kernel_cache.py`` checks the stamp and a cache hit in a fresh
process.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, cast

from numba import njit
from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    _InTreeCacheLocator,
    _UserProvidedCacheLocator,
    _UserWideCacheLocator,
)

KERNEL_FILES: Final[tuple[Path, ...]] = tuple(
    Path(__file__).with_name(name)
    for name in ("jit.py", "executor_walk.py", "hb_parity.py", "batch.py"))
"""Source files whose compiled functions share one cache stamp."""


def kernel_stamp() -> tuple[tuple[float, int], ...]:
    """``(mtime_s, size_bytes)`` of every file in :data:`KERNEL_FILES`, in that order.

    Raises:
        OSError: a kernel file cannot be read (not installed as files, e.g. from a zip).
    """
    return tuple((st.st_mtime, st.st_size) for st in (f.stat() for f in KERNEL_FILES))


class _KernelUserProvided(_UserProvidedCacheLocator):
    def get_source_stamp(self) -> tuple[tuple[float, int], ...]:
        return kernel_stamp()


class _KernelInTree(_InTreeCacheLocator):
    def get_source_stamp(self) -> tuple[tuple[float, int], ...]:
        return kernel_stamp()


class _KernelUserWide(_UserWideCacheLocator):
    def get_source_stamp(self) -> tuple[tuple[float, int], ...]:
        return kernel_stamp()


class _KernelCacheImpl(CompileResultCacheImpl):
    # numba's own order (NUMBA_CACHE_DIR, __pycache__, user-wide), each with the kernel stamp
    _locator_classes = [_KernelUserProvided, _KernelInTree, _KernelUserWide]


class _KernelCache(FunctionCache):
    _impl_class = _KernelCacheImpl


def compiled[Fn: Callable[..., Any]](fn: Fn) -> Fn:
    """``numba.njit`` with the kernel-wide on-disk cache; keeps the Python signature for type
    checkers. Compilation happens at the first call, as with ``njit``."""
    dispatcher = njit(fn)
    dispatcher._cache = _KernelCache(fn)  # what ``enable_caching`` (cache=True) installs
    return cast(Fn, dispatcher)
