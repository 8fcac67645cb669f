"""File-system facts for the Filesystem agent: mounts, devices and the processes using a mount."""

from __future__ import annotations

import os
from typing import Optional

from agents.mounts import MountEntry, find_mount as _find, parse_mounts, under

__all__ = ["MountEntry", "read_mounts", "find_mount", "resolve_device", "same_device",
           "users_of", "fstype_known"]


def read_mounts(path: str = "/proc/mounts") -> list[MountEntry]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return parse_mounts(handle.read())


def find_mount(entries: list[MountEntry], directory: str) -> Optional[MountEntry]:
    try:
        real = os.path.realpath(directory)
    except OSError:
        real = directory
    return _find(entries, real) or _find(entries, directory)


def resolve_device(device: str) -> str:
    """UUID=/LABEL= and -U/-L forms to /dev paths through /dev/disk when possible."""
    text = device.strip()
    for prefix, folder in (("UUID=", "by-uuid"), ("LABEL=", "by-label"), ("-U ", "by-uuid"),
                           ("-L ", "by-label")):
        if text.startswith(prefix):
            link = os.path.join("/dev/disk", folder, text[len(prefix):].strip())
            return os.path.realpath(link) if os.path.exists(link) else text
    return text


def same_device(mounted: str, configured: str) -> bool:
    want = resolve_device(configured)
    if mounted == want or mounted == configured:
        return True
    try:
        a, b = os.stat(mounted), os.stat(want)
    except OSError:
        return os.path.realpath(mounted) == os.path.realpath(want)
    if a.st_rdev and b.st_rdev:
        return a.st_rdev == b.st_rdev
    return os.path.realpath(mounted) == os.path.realpath(want)


def users_of(directory: str, exclude: set[int]) -> set[int]:
    """Pids whose cwd, root, executable, open files or mapped files are on directory."""
    found: set[int] = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid in exclude:
            continue
        if _uses(pid, directory):
            found.add(pid)
    return found


def _uses(pid: int, directory: str) -> bool:
    base = f"/proc/{pid}"
    links = [f"{base}/cwd", f"{base}/root", f"{base}/exe"]
    try:
        links += [f"{base}/fd/{fd}" for fd in os.listdir(f"{base}/fd")]
    except OSError:
        pass
    for link in links:
        try:
            target = os.readlink(link)
        except OSError:
            continue
        if target.startswith("/") and under(target.removesuffix(" (deleted)"), directory):
            if link.endswith("/root") and target == "/":
                continue
            return True
    try:
        with open(f"{base}/maps", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/") and under(parts[5].strip(), directory):
                    return True
    except OSError:
        pass
    return False


def fstype_known(fstype: str) -> bool:
    """Whether the kernel knows fstype now or has a module for it."""
    try:
        with open("/proc/filesystems", encoding="ascii") as handle:
            if any(line.split()[-1] == fstype for line in handle if line.strip()):
                return True
    except OSError:
        return True
    release = os.uname().release
    for root in (f"/lib/modules/{release}", f"/usr/lib/modules/{release}"):
        if os.path.isdir(root):
            for _dirpath, _dirs, files in os.walk(os.path.join(root, "kernel", "fs")):
                if any(f.split(".")[0] == fstype for f in files):
                    return True
    return fstype in ("nfs", "nfs4", "cifs", "fuse") or fstype.startswith("fuse.")
