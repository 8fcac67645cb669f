"""Pure parsing of /proc/mounts lines (octal escapes such as \\040 for a space)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class MountEntry:
    device: str
    mountpoint: str
    fstype: str
    options: str


def unescape(field: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def escape(text: str) -> str:
    """The inverse of unescape, as the kernel writes space, tab, newline and backslash."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in text)


def parse_mounts(text: str) -> list[MountEntry]:
    entries = []
    for line in text.split("\n"):  # the kernel separates with exactly "\n" and " "
        parts = line.split(" ")
        if len(parts) < 4:
            continue
        entries.append(MountEntry(unescape(parts[0]), unescape(parts[1]), parts[2], parts[3]))
    return entries


def normalize(path: str) -> str:
    """`/a//b/` -> `/a/b` (no symlink resolution: that is I/O)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/" + "/".join(parts)


def find_mount(entries: Iterable[MountEntry], directory: str) -> Optional[MountEntry]:
    """The last (topmost) mount on directory, or None."""
    want = normalize(directory)
    found = None
    for entry in entries:
        if normalize(entry.mountpoint) == want:
            found = entry
    return found


def under(path: str, directory: str) -> bool:
    """True when path is directory or inside it."""
    path, directory = normalize(path), normalize(directory)
    return path == directory or path.startswith(directory.rstrip("/") + "/")
