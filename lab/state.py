"""The lab's state file (`<root>/state.json`): the spec, every namespace and link `up` created,
each node's stack (launcher PID and start time) and the faults in force. Every `hb lab` command
reads it, so `fail`, `heal`, `exec`, `status` and `down` work from a fresh process. Writes are
atomic (write + rename) and commands that change it hold `<root>/lock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass, field
from typing import Iterator, Optional

from lab.plan import LabError, LabSpec, default_root

VERSION = 1


@dataclass
class NodeState:
    pid: Optional[int] = None
    start: Optional[int] = None
    faults: list[str] = field(default_factory=list)  # link | hang | kill | partition | loss | off
    wd_pid: Optional[int] = None  # the lab watchdog of the node (lab.wdog), when the spec has one
    wd_start: Optional[int] = None


@dataclass
class LabState:
    spec: LabSpec
    netns: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    nodes: dict[str, NodeState] = field(default_factory=dict)
    cuts: list[tuple[str, str]] = field(default_factory=list)
    loss: dict[str, float] = field(default_factory=dict)
    ready: bool = False
    # a process left in the machine's mount namespace, which every node's stack starts from
    # (lab.Lab._start_anchor; lab.stack.launcher_argv says why): (pid, start time)
    anchor: Optional[tuple[int, int]] = None

    @property
    def path(self) -> str:
        return state_path(self.spec.root)

    def to_json(self) -> str:
        return json.dumps({
            "version": VERSION, "spec": self.spec.to_dict(), "netns": self.netns, "links": self.links,
            "nodes": {n: {"pid": s.pid, "start": s.start, "faults": s.faults, "wd_pid": s.wd_pid,
                          "wd_start": s.wd_start} for n, s in self.nodes.items()},
            "cuts": [list(c) for c in self.cuts], "loss": self.loss, "ready": self.ready,
            "anchor": list(self.anchor) if self.anchor else None,
        }, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "LabState":
        data = json.loads(text)
        if data.get("version") != VERSION:
            raise LabError(f"state file version {data.get('version')} is not {VERSION}")
        return cls(spec=LabSpec.from_dict(data["spec"]), netns=list(data["netns"]), links=list(data["links"]),
                   nodes={n: NodeState(s["pid"], s["start"], list(s["faults"]), s.get("wd_pid"), s.get("wd_start"))
                          for n, s in data["nodes"].items()},
                   cuts=[(a, b) for a, b in data["cuts"]], loss={k: float(v) for k, v in data["loss"].items()},
                   ready=bool(data.get("ready")),
                   anchor=(int(data["anchor"][0]), int(data["anchor"][1])) if data.get("anchor") else None)

    def save(self) -> None:
        os.makedirs(self.spec.root, exist_ok=True)
        tmp = f"{self.path}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())
        os.replace(tmp, self.path)


def state_path(root: str) -> str:
    return os.path.join(root, "state.json")


def find_root(name: Optional[str], root: Optional[str]) -> str:
    return root or default_root(name or os.environ.get("PYHB_LAB") or "phb")


def load(root: str) -> LabState:
    try:
        with open(state_path(root), encoding="utf-8") as handle:
            return LabState.from_json(handle.read())
    except FileNotFoundError:
        raise LabError(f"no lab at {root} (hb lab up first, or give --name/--root)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise LabError(f"{state_path(root)}: unreadable state ({exc})") from None


@contextlib.contextmanager
def locked(root: str) -> Iterator[None]:
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
