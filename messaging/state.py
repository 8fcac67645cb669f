"""What the messaging daemon keeps across restarts, in the node's state directory.

- `hb_generation`: the heartbeat generation, increased and fsync'ed before the first packet of
  every start, so peers can tell a restarted node from a replayed old packet (`hbgenmethod file`;
  with `hbgenmethod time` it is the start time in seconds, still strictly increasing).
- `hb_uuid`: this node's 16-byte uuid (random once; with `uuidfrom nodename`, derived from the name).
"""

from __future__ import annotations

import time
import uuid as uuidmod

from core.statefile import read_number, write_durably, write_number


def next_generation(path: str, method: str = "file") -> int:
    generation = read_number(path) + 1
    if method == "time":
        generation = max(generation, int(time.time()))
    write_number(path, generation)
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
    write_durably(path, value)
    return value
