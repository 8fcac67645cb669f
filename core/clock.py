"""The two clocks the shells read; cores never read a clock, they get `now_ms` as an argument.

`monotonic_ms` is for every duration and deadline (integer milliseconds, immune to wall-clock
steps). `wall_s` is only for what a human or a peer reads: log timestamps, the `ts` field of
Heartbeat packets, CIB timestamps.
"""

from __future__ import annotations

import time


def monotonic_ms() -> int:
    """Milliseconds from an arbitrary origin, never going backwards."""
    return time.monotonic_ns() // 1_000_000


def wall_s() -> float:
    """Seconds since the epoch, as the wall clock says (may jump)."""
    return time.time()


class ManualClock:
    """A clock that moves only when told to: the simulator's and the unit tests' clock."""

    def __init__(self, start_ms: int = 0, wall_origin_s: float = 1_700_000_000.0) -> None:
        self.now_ms = start_ms
        self._wall_origin_s = wall_origin_s

    def monotonic_ms(self) -> int:
        return self.now_ms

    def wall_s(self) -> float:
        return self._wall_origin_s + self.now_ms / 1000.0

    def advance(self, delta_ms: int) -> int:
        assert delta_ms >= 0, "time does not go backwards"
        self.now_ms += delta_ms
        return self.now_ms
