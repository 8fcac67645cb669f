"""Clones (anonymous and promotable): not implemented yet, reported as unsupported."""

from __future__ import annotations

from pengine.model import Resource, WorkingSet


def unpack_clone(ws: WorkingSet, rsc: Resource) -> bool:
    ws.unsupported_feature(f"clone {rsc.id}")
    return False
