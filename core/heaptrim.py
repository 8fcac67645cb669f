"""Give the C heap's free pages back to the kernel (glibc's `malloc_trim`).

Why: the pengine daemon builds a model of the whole cluster for each transition (about 120 MB
at 32 nodes / 10,000 resources) and drops it once the reply is sent. Python returns its
small-object arenas only when they are entirely empty, and glibc keeps the freed blocks of its
heap (every dict or list bigger than 512 bytes is malloc's) mapped: after a transition the
daemon stayed ~50 MB above what it holds, and the next CIB it received (a 175 MB text, with
its bytes while they are decoded) came on top of that. `malloc_trim(0)` releases the free
pages inside the heap too (madvise), not only its top; it takes a few milliseconds, spent after
the reply. Where the C library has none (musl), nothing is done.
"""

from __future__ import annotations

_trim: object = None  # the C function once looked up; False where the C library has none


def trim_heap() -> bool:
    """Release the C heap's free pages; False where this C library cannot."""
    global _trim
    if _trim is None:
        # imported here: only a daemon that trims loads ctypes (as core/realtime.py does)
        import ctypes

        try:
            _trim = ctypes.CDLL(None).malloc_trim  # the process's own symbols: libc's
        except (OSError, AttributeError):
            _trim = False
    if _trim is False:
        return False
    _trim(0)  # type: ignore[operator]
    return True
