"""Feeding the node's watchdog only while the whole stack is healthy (sans-I/O; the launcher is its
shell). ha.cf's `watchdog /dev/watchdog`.

Heartbeat fed its watchdog from the heartbeat process: a hung crmd or lrmd went on being "fed"
and the node was never reset. Here the launcher asks every daemon of the stack for a sign of life
every `feed_ms` (`ping.req`; crmd is asked for its status, which also says whether crmd wants
this node to fence itself); the watchdog is fed only when every daemon answered within
`stale_ms` (a daemon just started or respawned gets `grace_ms` to answer first). So a hung
daemon, a hung launcher (SIGSTOP of the node's processes), or a node that must fence itself
stops the feeding, and the watchdog device resets the node after its own timeout.

Self-fencing (SBD's idea, for clusters with watchdog fencing: `stonith-watchdog-timeout`): crmd
reports `self_fence` when the node had quorum and lost it, stonithd when the cluster is fencing
this very node (a failed stop, an operator's request) with watchdog fencing on; the others treat
the node as fenced once stonith-watchdog-timeout has passed, because by then its watchdog has
reset it.

A clean stop disarms the watchdog with the magic close (`V`, then close), before the daemons are
stopped (stopping may take as long as crmd needs to hand its resources over).

Inputs: `Tick`, `Started(name)` (the launcher (re)spawned a daemon), `Recv(name, Reply)`, `Stop`.
Effects: `Send(name, request)`, `Feed`, `MagicClose`, `Log`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from core.messages.common import PingRequest, Reply
from core.messages.crm import CrmStatus
from core.sansio import Log, Recv, Send, Stop, Tick, WallClock

DEFAULT_FEED_MS = 250  # the device's timeout unknown (a FIFO in the lab): well below any sane one
LOG_EVERY_MS = 10_000


@dataclass(frozen=True)
class Started:
    name: str


@dataclass(frozen=True)
class Feed:
    pass


@dataclass(frozen=True)
class MagicClose:
    pass


def for_stack(daemons: tuple[str, ...], deadtime_ms: int, device_timeout_s: int) -> "StackWatchdog":
    """The launcher's watchdog: four feeds per device timeout (100..1000 ms; DEFAULT_FEED_MS when
    the device does not say, as a FIFO in the lab), a daemon silent for max(3 s, 2 x deadtime)
    makes the stack unhealthy."""
    feed_ms = max(100, min(1000, device_timeout_s * 1000 // 4)) if device_timeout_s > 0 else DEFAULT_FEED_MS
    return StackWatchdog(daemons, feed_ms=feed_ms, stale_ms=max(3000, 2 * deadtime_ms))


class StackWatchdog:
    def __init__(self, daemons: tuple[str, ...], feed_ms: int = DEFAULT_FEED_MS, stale_ms: int = 3000,
                 grace_ms: int = 10_000) -> None:
        self.daemons = daemons
        self.feed_ms = feed_ms
        self.stale_ms = stale_ms
        self.grace_ms = grace_ms
        self.heard: dict[str, int] = {}  # daemon -> when it last answered
        self.started: dict[str, int] = {}  # daemon -> when it was (re)started
        self.pending: dict[int, str] = {}  # request id -> daemon
        self.next_id = 1
        self.next_feed_ms: Optional[int] = None
        self.fence_asked: dict[str, bool] = {}  # daemon -> it asks this node to fence itself
        self.healthy = True
        self.last_log_ms: Optional[int] = None
        self.stopped = False
        self.feeds = 0
        self.created_ms: Optional[int] = None  # daemons not started yet get their grace from here

    def step(self, now_ms: int, event: object) -> list[object]:
        out: list[object] = []
        if self.stopped:
            return out
        if self.created_ms is None:
            self.created_ms = now_ms
        if isinstance(event, Started):
            self.started[event.name] = now_ms
        elif isinstance(event, Recv) and isinstance(event.msg, Reply):
            name = self.pending.pop(event.msg.request_id, None)
            if name is not None and name == event.src:
                self.heard[name] = now_ms
                if isinstance(event.msg.result, dict):
                    self.fence_asked[name] = bool(event.msg.result.get("self_fence"))
        elif isinstance(event, Stop):
            self.stopped = True
            out.append(MagicClose())
            out.append(Log("info", "watchdog disarmed (clean stop)"))
            return out
        else:
            assert isinstance(event, (Tick, Recv, WallClock)), f"watchdog got an unknown input {event!r}"
        if self.next_feed_ms is None or now_ms >= self.next_feed_ms:
            self._round(now_ms, out)
        return out

    def next_deadline_ms(self) -> Optional[int]:
        return None if self.stopped else self.next_feed_ms

    def problem(self, now_ms: int) -> Optional[str]:
        """Why the stack is not healthy now (None: it is)."""
        asking = [name for name, yes in self.fence_asked.items() if yes]
        if asking:
            return f"{', '.join(asking)} asks this node to fence itself (watchdog fencing)"
        for name in self.daemons:
            heard = self.heard.get(name)
            started = self.started.get(name, self.created_ms)
            if heard is not None and now_ms - heard <= self.stale_ms:
                continue
            if started is not None and now_ms - started <= self.grace_ms and (heard is None or heard < started):
                continue  # just (re)started: it gets time to answer
            since = f"for {now_ms - heard} ms" if heard is not None else "since it started"
            return f"{name} has not answered {since}"
        return None

    def _round(self, now_ms: int, out: list[object]) -> None:
        self.next_feed_ms = now_ms + self.feed_ms
        why = self.problem(now_ms)
        if why is None:
            out.append(Feed())
            self.feeds += 1
            if not self.healthy:
                out.append(Log("info", "the stack is healthy again: feeding the watchdog"))
            self.healthy = True
        else:
            if self.healthy or self.last_log_ms is None or now_ms - self.last_log_ms >= LOG_EVERY_MS:
                out.append(Log("crit", f"not feeding the watchdog: {why}; the node will be reset"))
                self.last_log_ms = now_ms
            self.healthy = False
        self.pending = {rid: name for rid, name in self.pending.items() if name in self.daemons}
        for name in self.daemons:
            rid = self.next_id
            self.next_id += 1
            self.pending[rid] = name
            request: Any = CrmStatus(rid) if name == "crmd" else PingRequest(rid)
            out.append(Send(name, request))
        if len(self.pending) > 8 * len(self.daemons):  # answers that never came: forget the oldest
            for rid in sorted(self.pending)[: len(self.pending) - 4 * len(self.daemons)]:
                del self.pending[rid]
