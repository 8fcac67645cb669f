"""The ccm's one message between nodes: a node's whole membership state, broadcast as the payload
of a `ccm` cluster message when it changes and every beat (keepalive).

It is a msgpack array (compact: it travels every keepalive), version 1:

    [1, incarnation, ts_ms, generation,
     view_instance, view_members,        installed view (0, [] before the first)
     proposal_instance, proposal_members, this node's proposal as a leader (0, [] when none)
     ack_instance,                       the proposal this node accepts (0 when none)
     max_instance,                       highest instance this node has seen or used
     rows,                               [[origin, incarnation, version, [name, inc, ...]], ...]
                                         (the sender's own row always; others when they changed
                                         since its last state, and all of them every few beats)
     promises,                           [[granter, target, tag_instance, target_ts_ms], ...]
     troubles]                           [[origin, [name, ...]], ...]: for each row sent whose
                                         origin lately got late states from those nodes (none
                                         when no row has any); a 13th item, so a ccm from
                                         before troubles decodes the rest and ignores it
                                         during a rolling upgrade

members are flat [name, incarnation, name, incarnation, ...] lists. `decode` checks every type
and raises `ProtocolError` for anything else; the core counts and drops such payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

VERSION = 1
MAX_NODES = 256

Member = tuple[str, int]
# (incarnation, version, {heard node: its incarnation}, nodes whose states lately came late to it)
Row = tuple[int, int, dict[str, int], tuple[str, ...]]
Promise = tuple[str, str, int, int]  # (granter, target, tag instance, target's ts)


class ProtocolError(Exception):
    pass


@dataclass(frozen=True)
class State:
    incarnation: int
    ts_ms: int
    generation: int
    view_instance: int
    view_members: tuple[Member, ...]
    proposal_instance: int
    proposal_members: tuple[Member, ...]
    ack_instance: int
    max_instance: int
    rows: dict[str, Row]
    promises: tuple[Promise, ...]


def _flat(members: tuple[Member, ...]) -> list:
    out: list = []
    for name, inc in members:
        out.append(name)
        out.append(inc)
    return out


def encode(state: State) -> bytes:
    rows = [[origin, inc, ver, _flat(tuple(hears.items()))] for origin, (inc, ver, hears, _) in state.rows.items()]
    items = [VERSION, state.incarnation, state.ts_ms, state.generation,
             state.view_instance, _flat(state.view_members),
             state.proposal_instance, _flat(state.proposal_members),
             state.ack_instance, state.max_instance, rows,
             [list(p) for p in state.promises]]
    troubles = [[origin, list(row[3])] for origin, row in state.rows.items() if row[3]]
    if troubles:
        items.append(troubles)
    return msgpack.packb(items, use_bin_type=True)


def _int(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ProtocolError(f"expected a non-negative integer, got {value!r}")
    return value


def _name(value: Any) -> str:
    if type(value) is not str or not value or len(value) > 255:
        raise ProtocolError(f"expected a node name, got {value!r}")
    return value


def _members(value: Any) -> tuple[Member, ...]:
    if type(value) is not list or len(value) % 2 or len(value) > 2 * MAX_NODES:
        raise ProtocolError("bad member list")
    out = []
    for i in range(0, len(value), 2):
        name, inc = value[i], value[i + 1]
        if type(name) is not str or not name or len(name) > 255 or type(inc) is not int or inc < 0:
            raise ProtocolError(f"bad member {name!r} {inc!r}")
        out.append((name, inc))
    return tuple(out)


def decode(data: bytes) -> State:
    try:
        items = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
    except Exception as exc:  # msgpack raises several types for garbage
        raise ProtocolError(f"not msgpack: {exc.__class__.__name__}") from None
    if type(items) is not list or len(items) < 12 or items[0] != VERSION:
        raise ProtocolError("not a ccm state (version 1)")
    raw_rows, raw_promises = items[10], items[11]
    if type(raw_rows) is not list or len(raw_rows) > MAX_NODES:
        raise ProtocolError("bad rows")
    rows: dict[str, Row] = {}
    for row in raw_rows:
        if type(row) is not list or len(row) != 4:
            raise ProtocolError("bad row")
        rows[_name(row[0])] = (_int(row[1]), _int(row[2]), dict(_members(row[3])), ())
    if len(items) > 12:
        raw_troubles = items[12]
        if type(raw_troubles) is not list or len(raw_troubles) > MAX_NODES:
            raise ProtocolError("bad troubles")
        for entry in raw_troubles:
            if type(entry) is not list or len(entry) != 2 or type(entry[1]) is not list or len(entry[1]) > MAX_NODES:
                raise ProtocolError("bad troubles entry")
            origin = _name(entry[0])
            row = rows.get(origin)
            if row is None:
                raise ProtocolError(f"troubles for {origin!r}, whose row was not sent")
            rows[origin] = (row[0], row[1], row[2], tuple(_name(name) for name in entry[1]))
    if type(raw_promises) is not list or len(raw_promises) > MAX_NODES * MAX_NODES:
        raise ProtocolError("bad promises")
    promises = []
    for promise in raw_promises:
        if type(promise) is not list or len(promise) != 4:
            raise ProtocolError("bad promise")
        granter, target, tag, ts = promise
        if (type(granter) is not str or type(target) is not str or not granter or not target
                or type(tag) is not int or type(ts) is not int or tag < 0 or ts < 0):
            raise ProtocolError(f"bad promise {promise!r}")
        promises.append((granter, target, tag, ts))
    return State(incarnation=_int(items[1]), ts_ms=_int(items[2]), generation=_int(items[3]),
                 view_instance=_int(items[4]), view_members=_members(items[5]),
                 proposal_instance=_int(items[6]), proposal_members=_members(items[7]),
                 ack_instance=_int(items[8]), max_instance=_int(items[9]), rows=rows,
                 promises=tuple(promises))
