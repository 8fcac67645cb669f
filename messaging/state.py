"""What the messaging daemon keeps across restarts, in the node's state directory.

- `hb_generation`: the heartbeat generation, increased and fsync'ed before the first packet of
  every start, so peers can tell a restarted node from a replayed old packet (`hbgenmethod file`;
  with `hbgenmethod time` it is the start time in seconds, still strictly increasing).
- `hb_uuid`: this node's 16-byte uuid (random once; with `uuidfrom nodename`, derived from the name).
"""

from __future__ import annotations

import os
import time
import uuid as uuidmod


def _write_durably(path: str, data: bytes) -> None:
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


def next_generation(path: str, method: str = "file") -> int:
    previous = 0
    try:
        with open(path, encoding="ascii") as handle:
            previous = int(handle.read().strip() or 0)
    except (OSError, ValueError):
        previous = 0
    generation = previous + 1
    if method == "time":
        generation = max(generation, int(time.time()))
    _write_durably(path, f"{generation}\n".encode())
    return generation


def node_uuid(path: str, node_name: str, method: str = "file") -> bytes:
    if method == "nodename":
        return uuidmod.uuid3(uuidmod.NAMESPACE_DNS, node_name).bytes
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        if len(data) == 16:
            return data
    except OSError:
        pass
    value = uuidmod.uuid4().bytes
    _write_durably(path, value)
    return value
