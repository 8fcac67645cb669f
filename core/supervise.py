"""Restart policy for supervised children (the stack's daemons and ha.cf `respawn` entries), as a
sans-I/O core: the launcher reports starts and exits with `now_ms`, asks what is due, and does the
forking itself.

Rules (heartbeat 2's respawn, plus back-off so a crashing child cannot spin):
- a child that exits is restarted after its current back-off delay (first 1 s);
- each restart within `stable_ms` of the previous start doubles the delay, up to `max_delay_ms`;
- a child that ran for `stable_ms` or longer starts again from the first delay;
- a respawn entry that exits with status 100 is not restarted (heartbeat's convention);
- a child the launcher is stopping (`stop`) is not restarted; the others still are, since a
  graceful stop of the stack stops one daemon at a time and the first (crmd, handing its
  resources over) needs the rest (a ccm that died during it and stayed dead left the crmd
  without membership until its shutdown escalation, 2 minutes);
- while the supervisor is stopping (everything) nothing is restarted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

NO_RESTART_STATUS = 100


@dataclass
class ChildState:
    name: str
    respawn_entry: bool = False
    pid: Optional[int] = None
    started_ms: Optional[int] = None
    restart_due_ms: Optional[int] = None
    delay_ms: int = 0
    restarts: int = 0
    last_status: Optional[int] = None
    given_up: bool = False


@dataclass
class Supervisor:
    first_delay_ms: int = 1000
    max_delay_ms: int = 60_000
    stable_ms: int = 60_000
    stopping: bool = False
    children: dict[str, ChildState] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)  # children being stopped or stopped: no restart

    def stop(self, name: str) -> None:
        """The launcher is stopping this child: it is not restarted any more."""
        self.stopped.add(name)
        self.children[name].restart_due_ms = None

    def add(self, name: str, respawn_entry: bool = False) -> None:
        assert name not in self.children, f"child {name} added twice"
        self.children[name] = ChildState(name=name, respawn_entry=respawn_entry, delay_ms=self.first_delay_ms)

    def started(self, name: str, pid: int, now_ms: int) -> None:
        child = self.children[name]
        child.pid = pid
        child.started_ms = now_ms
        child.restart_due_ms = None

    def exited(self, pid: int, status: int, now_ms: int) -> Optional[ChildState]:
        """Record an exit; returns the child (None if the pid is not ours)."""
        child = next((c for c in self.children.values() if c.pid == pid), None)
        if child is None:
            return None
        ran_ms = now_ms - (child.started_ms or now_ms)
        child.pid = None
        child.last_status = status
        if self.stopping or child.name in self.stopped:
            return child
        if child.respawn_entry and status == NO_RESTART_STATUS:
            child.given_up = True
            return child
        if ran_ms >= self.stable_ms:
            child.delay_ms = self.first_delay_ms
        child.restart_due_ms = now_ms + child.delay_ms
        child.delay_ms = min(self.max_delay_ms, child.delay_ms * 2)
        child.restarts += 1
        return child

    def due(self, now_ms: int) -> list[str]:
        """Children whose restart time has come (in the order they were added)."""
        if self.stopping:
            return []
        return [c.name for c in self.children.values()
                if c.pid is None and not c.given_up and c.restart_due_ms is not None and c.restart_due_ms <= now_ms
                and c.name not in self.stopped]

    def next_deadline_ms(self) -> Optional[int]:
        if self.stopping:
            return None
        pending = [c.restart_due_ms for c in self.children.values()
                   if c.pid is None and not c.given_up and c.restart_due_ms is not None and c.name not in self.stopped]
        return min(pending) if pending else None

    def running(self) -> list[ChildState]:
        return [c for c in self.children.values() if c.pid is not None]
