"""Keep the server's resident memory near what its requests need (glibc malloc only).

glibc gives threads that allocate at the same time their own heap arenas (up to 8 per core) and
keeps freed buffers in them for reuse, so decoded images that are long gone stay resident: under
8 clients with hostile uploads the server grew to 2.1 GB (README, load test). Two arenas, and
handing freed pages back after each decoding request, keep it within the stated bound. Without
glibc (macOS, musl) both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # mallopt parameter (glibc malloc.h)


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def limit_arenas(arenas: int = 2) -> None:
    """Before the worker threads start: at most `arenas` heaps besides the main one."""
    if _LIBC is not None:
        _LIBC.mallopt(M_ARENA_MAX, arenas)


def release_freed() -> None:
    """Return the free pages of every heap to the system (a few ms; after each decode)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
