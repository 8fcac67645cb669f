"""Timeouts as values (after TigerBeetle's `Timeout`): a core lists its timeouts in one table,
asks each whether it has fired at `now_ms`, and reports the earliest deadline to its shell.

A timeout that has fired must be reset, restarted or stopped before it can fire again; firing
twice without that is a bug in the core and fails loudly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol


class RandomSource(Protocol):
    def randint(self, a: int, b: int) -> int: ...


@dataclass
class Timeout:
    name: str
    after_ms: int
    deadline_ms: Optional[int] = None
    _fired: bool = field(default=False, repr=False)

    @property
    def running(self) -> bool:
        return self.deadline_ms is not None

    def start(self, now_ms: int, after_ms: Optional[int] = None) -> None:
        if after_ms is not None:
            self.after_ms = after_ms
        self.deadline_ms = now_ms + self.after_ms
        self._fired = False

    def reset(self, now_ms: int) -> None:
        """Push the deadline out by a full period from now (e.g. traffic was heard)."""
        self.start(now_ms)

    def stop(self) -> None:
        self.deadline_ms = None
        self._fired = False

    def fired(self, now_ms: int) -> bool:
        """True once the deadline has passed; the caller must then reset, restart or stop it."""
        if self.deadline_ms is None or now_ms < self.deadline_ms:
            return False
        assert not self._fired, f"timeout {self.name} fired twice without a reset"
        self._fired = True
        return True

    def backoff(self, now_ms: int, rng: RandomSource, max_ms: int) -> None:
        """Double the period (up to max_ms), with jitter from the injected rng, and restart."""
        doubled = min(max_ms, max(1, self.after_ms * 2))
        jitter = rng.randint(0, max(0, doubled // 4))
        self.after_ms = doubled
        self.deadline_ms = now_ms + min(max_ms, doubled + jitter)
        self._fired = False


def earliest(*deadlines: Optional[int]) -> Optional[int]:
    """The smallest of the given deadlines, ignoring None; None when there is none."""
    present = [d for d in deadlines if d is not None]
    return min(present) if present else None
