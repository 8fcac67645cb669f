"""The one surface every daemon core has, and the inputs and effects all of them share.

A core is a state machine with two methods:

    step(now_ms, input) -> list[effect]      # now_ms: the monotonic clock, integer ms
    next_deadline_ms() -> int | None         # when the shell must step it again (with Tick)

Inputs and effects are frozen dataclasses. Those every core understands live here, once:

- `Tick`: time passed (the shell steps the core at its deadline; more often is harmless).
- `WallClock(offset_ms)`: the wall clock is `now_ms + offset_ms`. A shell sends it before any
  other input and again whenever the wall clock stepped; a core that needs wall time (timestamps
  on packets, in the CIB, in log records) keeps the offset, one that does not ignores it. This is
  the only way wall time reaches a core.
- `Recv(src, msg)` / `Send(dest, msg)`: local IPC between the daemons of one node. A `str` names a
  daemon we are a client of (its socket); `bytes` is the identity of one of our own clients (as a
  ZeroMQ ROUTER sees it). Requests are correlated messages (`request_id` -> one `Reply`); a core
  never waits for an answer, it goes on and handles the reply when it arrives.
- `WatchPid(peer, pid)` / `PeerGone(peer)`: a core asks its shell to tell it when the process
  behind `peer` ends: one of its clients (bytes), or a daemon it uses (str, e.g. crmd watching
  ccm). The shell watches a pidfd, so it is told at once; the simulator tells it when a
  simulated process crashes.
- `Persist(name, value)`: store a small value durably (fsync) before carrying out any later
  effect of the same step; the shell reads it back at the next start.
- `Stop` / `Stopped`: the shell was asked to stop / the core is done stopping.
- `Log(level, text)`.

Randomness comes in as a `RandomSource`; cores never import `random`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Protocol, Union

Peer = Union[str, bytes]  # str: a daemon's socket we are a client of; bytes: one of our clients


@dataclass(frozen=True)
class Tick:
    """Time passed; the shell steps the core at next_deadline_ms() (more often is harmless)."""


@dataclass(frozen=True)
class WallClock:
    """wall clock in ms = now_ms + offset_ms (sent at start and whenever the wall clock steps)."""

    offset_ms: int


@dataclass(frozen=True)
class Stop:
    """The daemon was asked to stop (SIGTERM): say goodbye to the daemons it uses. A core that
    needs time to stop (crmd hands its resources over first) reports `Stopped` when done; the
    others are stopped by their shell right after this step."""


@dataclass(frozen=True)
class Stopped:
    """Effect: the core has finished stopping; the shell may exit."""


@dataclass(frozen=True)
class Recv:
    """A local IPC message: from daemon `src` (str) or from our client `src` (bytes identity)."""

    src: Peer
    msg: Any


@dataclass(frozen=True)
class PeerGone:
    """The process behind a watched client identity (or a daemon we use) is gone."""

    peer: Peer


@dataclass(frozen=True)
class Send:
    """Send msg to daemon `dest` (str) or to our client `dest` (bytes identity)."""

    dest: Peer
    msg: Any


@dataclass(frozen=True)
class WatchPid:
    """Tell us (PeerGone) when the process `pid` behind `peer` (a client, or a daemon) ends."""

    peer: Peer
    pid: int


@dataclass(frozen=True)
class Persist:
    """Store `value` durably under `name` (a small state file) before any later effect."""

    name: str
    value: Union[int, str]


# what logd accepts (core/messages/log.py takes them from here)
LOG_LEVELS = ("debug", "info", "notice", "warn", "error", "crit")


@dataclass(frozen=True)
class Log:
    level: str  # debug | info | notice | warn | error | crit
    text: str

    def __post_init__(self) -> None:
        # logd drops a record of any other level as garbage: the line would be lost in the field
        if self.level not in LOG_LEVELS:
            raise ValueError(f"log level {self.level!r} is not one of logd's {LOG_LEVELS}")


class RandomSource(Protocol):
    def random(self) -> float: ...

    def randint(self, a: int, b: int) -> int: ...


class Core(Protocol):
    def step(self, now_ms: int, event: object) -> list[object]: ...

    def next_deadline_ms(self) -> Optional[int]: ...


def wall_s(now_ms: int, offset_ms: int) -> float:
    """Wall-clock seconds for a core that keeps a WallClock offset."""
    return (now_ms + offset_ms) / 1000.0
