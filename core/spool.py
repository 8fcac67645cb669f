"""A large bytes field handed from one daemon to another of the same node by file (core.wire's
by-file marker), and read by the receiver through a mapping it gives back as it goes.

Why: a request travels whole through ZeroMQ (libzmq delivers a multipart message only once all
its frames are in the receiver's pipe), so the CIB the DC's crmd sends its policy engine (175
MB at 32 nodes / 10,000 resources) was in the pengine's memory whole, as zmq's frames and then
as the field, through the whole transition: next to what the engine keeps between transitions
and the run's model, it was 40% of the daemon's peak. By file, the sender writes the field into
the node's spool directory (`<statedir>/spool`, the daemons' own, 0750) and sends its name;
the receiver maps the file (`Mapped`, read-only), unlinks it at once (the mapping keeps the
data; nothing is left behind once it is dropped) and hands the mapping to its core in the
field's place. A reader that goes through the field once, front to back, gives each part back
as it is done with it (`Mapped.release_below`: the pages leave the process's resident set and
stay in the page cache), so the field is never resident whole (pengine/inputcache.py does so;
the pengine shell writes the saved input from it in windows likewise).

`Mapped` is an `mmap.mmap` (a buffer: memoryview, slicing, find, rfind) with the two methods
of bytes the readers use besides (`startswith`, `count`), so the cores read it as they read
bytes, without importing anything of this module (they are sans-I/O).

A sender's files are named `<daemon>-<pid>-<n>`: a daemon removes its previous lives' files
when it starts (a message it sent that was never read). The receiver opens only plain names,
files owned by its own user (who alone may write in the directory), from senders its
core.access policy calls privileged (checked by the caller, core/driver.py).
"""

from __future__ import annotations

import itertools
import mmap
import os
import re
import stat
from typing import Union

from core.errors import WireError

SPOOL_DIR = "spool"  # under the state directory
_NAME = re.compile(r"^[a-z0-9_]+-\d+-\d+$")
_PAGE = mmap.PAGESIZE


class Mapped(mmap.mmap):
    """A spooled field as its receiver reads it (see the module docstring)."""

    released: int  # the offset below which the pages were given back

    def startswith(self, prefix: bytes, start: int = 0) -> bool:
        return self[start:start + len(prefix)] == prefix

    def count(self, sub: bytes, start: int = 0, end: int | None = None) -> int:  # type: ignore[override]
        """bytes.count over [start, end) (a copy of that range: the readers count in small
        ranges, or in a section they copy anyway)."""
        return self[start:len(self) if end is None else end].count(sub)

    def release_below(self, offset: int) -> None:
        """Give back the pages entirely below `offset` not given back yet by this method (read
        again, they come back from the page cache): what a front-to-back reader calls once it
        is done with a part."""
        upto = min(offset, len(self)) // _PAGE * _PAGE
        done = getattr(self, "released", 0)
        if upto > done:
            self.madvise(mmap.MADV_DONTNEED, done, upto - done)
            self.released = upto

    def release(self, start: int, end: int) -> None:
        """Give back the pages of [start, end) (the one holding `start` too, read by whoever
        read up to it), for a second reader going front to back (the saved input's writer)."""
        first = start // _PAGE * _PAGE
        last = len(self) if end >= len(self) else end // _PAGE * _PAGE
        if last > first:
            self.madvise(mmap.MADV_DONTNEED, first, last - first)


def open_mapped(directory: str, name: str, length: int) -> Union[Mapped, bytes]:
    """The field spooled as `name` in `directory`, mapped, its file unlinked. WireError for a
    name that is not a spool file's, a file that is missing, not ours or not `length` long."""
    if not _NAME.match(name):
        raise WireError(f"spool file {name!r}: not a spool file's name")
    path = os.path.join(directory, name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise WireError(f"spool file {name}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid not in (os.geteuid(), 0):
            raise WireError(f"spool file {name}: not a file of this node's daemons")
        if info.st_size != length:
            raise WireError(f"spool file {name}: {info.st_size} bytes, {length} sent")
        os.unlink(path)
        if length == 0:
            return b""
        mapped = Mapped(fd, length, access=mmap.ACCESS_READ)
        mapped.released = 0
        return mapped
    except OSError as exc:  # (a request that cannot be read is garbage, never a crash)
        raise WireError(f"spool file {name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


class Spool:
    """A sending daemon's side: writes fields into the spool directory."""

    def __init__(self, directory: str, daemon: str) -> None:
        self.directory = directory
        self.prefix = re.sub(r"[^a-z0-9_]", "_", daemon.lower()) + "-"
        self.sequence = itertools.count(1)
        own = f"{self.prefix}{os.getpid()}-"
        try:
            names = os.listdir(directory)
        except OSError:
            names = []  # (made on the first write)
        for name in names:
            if name.startswith(self.prefix) and not name.startswith(own) and _NAME.match(name):
                try:
                    os.unlink(os.path.join(directory, name))  # a previous life's, never read
                except OSError:
                    pass

    def write(self, data: Union[bytes, memoryview]) -> str:
        """Spool `data`; its file's name (what the message carries)."""
        name = f"{self.prefix}{os.getpid()}-{next(self.sequence)}"
        path = os.path.join(self.directory, name)
        os.makedirs(self.directory, mode=0o750, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640)
        try:
            with memoryview(data) as view:
                written = 0
                while written < len(view):
                    written += os.write(fd, view[written:written + (1 << 24)])
        except BaseException:
            os.close(fd)
            self.discard([name])
            raise
        os.close(fd)
        return name

    def discard(self, names: list[str]) -> None:
        """Remove files whose message was not sent after all."""
        for name in names:
            try:
                os.unlink(os.path.join(self.directory, name))
            except OSError:
                pass
