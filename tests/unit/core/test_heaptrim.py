"""core.heaptrim: the C heap's free pages go back to the kernel where the C library can."""

from __future__ import annotations

import platform

from core.heaptrim import trim_heap


def test_the_heap_is_trimmed_where_the_c_library_is_glibc() -> None:
    glibc = platform.libc_ver()[0] == "glibc"
    assert trim_heap() is glibc
    assert trim_heap() is glibc  # the function is looked up once, called each time


def test_memory_freed_by_python_is_returned() -> None:
    """Many blocks above pymalloc's 512 bytes (malloc's) freed below a block still held, so
    that free() cannot shrink the heap from its top: the pages stay resident until trimmed."""
    if platform.libc_ver()[0] != "glibc":
        assert trim_heap() is False
        return

    def rss_kb() -> int:
        with open("/proc/self/status") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))

    held = [bytearray(600) for _ in range(100_000)]  # ~60 MB in malloc's heap
    pin = bytearray(600)  # above them
    with_them = rss_kb()
    del held
    assert rss_kb() > with_them - 10_000  # freed, still resident
    trim_heap()
    assert rss_kb() < with_them - 30_000
    del pin
