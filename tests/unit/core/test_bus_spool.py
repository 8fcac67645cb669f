"""core.driver's Bus between two daemons of a node: the DC's crmd sends its pengine a large CIB
by file (core/spool.py), the pengine's ROUTER maps it for a privileged sender and hands the
core the mapping; the spool is left empty. A small request and a field not named in BY_FILE
travel in frames as before."""

from __future__ import annotations

import os
import pathlib
from types import SimpleNamespace

import zmq

from core import spool, wire
from core.driver import Bus
from core.messages.hbapi import SendCluster
from core.messages.pe import PeSchedule
from core.paths import NodePaths
from core.sansio import Recv

CIB = b"<cib>" + b"x" * (3 * wire.PART_BYTES) + b"</cib>"


class _Loop:
    def add_reader(self, sock: object, callback: object) -> None:
        pass  # (the test reads the ROUTER itself)

    def remove_reader(self, sock: object) -> None:
        pass


class _Log:
    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


def _ctx(paths: NodePaths, name: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, paths=paths, config=None, log=_Log(), loop=_Loop())


def test_a_large_cib_goes_from_crmd_to_pengine_by_file(tmp_path: pathlib.Path) -> None:
    paths = NodePaths(str(tmp_path / "conf"), str(tmp_path / "run"), str(tmp_path / "state"), "n1")
    paths.ensure_dirs()
    got: list[Recv] = []
    pengine = Bus(_ctx(paths, "pengine"), got.append, "pengine")  # type: ignore[arg-type]
    crmd = Bus(_ctx(paths, "crmd"), lambda recv: None, None)  # type: ignore[arg-type]
    try:
        crmd.send("pengine", PeSchedule(1, 7, CIB))
        crmd.send("pengine", PeSchedule(2, 8, b"<cib/>"))
        crmd.send("pengine", SendCluster(3, "crmd", CIB))  # (a large field not by file)
        assert os.listdir(paths.state_file(spool.SPOOL_DIR)) != []  # written by the sender
        assert pengine.router is not None
        for _ in range(50):
            pengine.router.poll(100, zmq.POLLIN)
            pengine._on_router()
            if len(got) == 3:
                break
        kinds = [type(r.msg).__name__ for r in got]
        assert kinds == ["PeSchedule", "PeSchedule", "SendCluster"], kinds
        big, small, other = (r.msg for r in got)
        assert isinstance(big.cib, spool.Mapped) and big.cib[:] == CIB and big.transition_id == 7
        assert small.cib == b"<cib/>" and other.payload == CIB  # (in frames: bytes)
        assert os.listdir(paths.state_file(spool.SPOOL_DIR)) == []  # taken: nothing left behind
    finally:
        crmd.close()
        pengine.close()
