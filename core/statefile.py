"""Small files in the state directory that must survive a crash exactly: written to a temporary
file, fsync'ed, renamed over the old one, and the directory fsync'ed, so a reader finds either
the old value or the new one, never a torn write (generation numbers, ccm instances, uuids)."""

from __future__ import annotations

import os


def write_durably(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    directory = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_number(path: str) -> int:
    """The non-negative number stored in path; 0 when it is missing or unreadable."""
    try:
        with open(path, encoding="ascii") as handle:
            return max(0, int(handle.read().strip() or 0))
    except (OSError, ValueError):
        return 0


def read_text(path: str) -> str:
    """The text stored in path; "" when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, ValueError):
        return ""


def write_number(path: str, value: int) -> None:
    write_durably(path, f"{value}\n".encode("ascii"))
