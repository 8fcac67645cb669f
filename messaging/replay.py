"""Replay protection: what a captured packet sent again must not be able to do.

Three checks, each with its own drop counter (`dropped_<reason>` in the messaging counters):

- `old_generation` (machine): a packet of an earlier generation of its sender (Heartbeat's own rule).
- `clock_skew` (`timestamp_ok`): its `ts` (sender wall clock, seconds) is further than
  `max_clock_skew` from ours. This bounds how long any capture stays usable, also for the classic
  methods and for unsequenced packets (`NS_rexmit`, `NS_ackmsg`), and also against a receiver that
  has just (re)started and knows nothing of the sender yet.
- `replayed` / `outside_window` (`ReplayWindow`): per sender generation and per link, the numbers
  already seen in a sliding window of `WINDOW` (a bitmap, as IPsec and WireGuard keep). Sealed
  packets are numbered by their nonce counter (every packet, sequenced or not; a retransmission is
  sealed again with a new counter); signed packets by their `seq`. Per link because the sender
  sends the same datagram on every medium: the copy on the second link is not a replay.

For signed (Heartbeat-compatible) packets a `seq` seen again on the same link is either a replay or
a retransmission the sender made for another node: both are dropped as `duplicate` (nothing
changes, not even link liveness), the counter cannot tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

WINDOW = 1024
TS_RESOLUTION_MS = 1000  # `ts` is whole seconds


def timestamp_ok(ts_s: int, wall_ms: int, max_skew_ms: int) -> bool:
    """Is a packet stamped ts_s (sender wall clock, seconds) within the skew of our wall clock?
    max_skew_ms 0 turns the check off."""
    if max_skew_ms <= 0:
        return True
    return abs(ts_s * 1000 - wall_ms) <= max_skew_ms + TS_RESOLUTION_MS


@dataclass
class ReplayWindow:
    """Numbers seen from one sender generation on one link: `highest` and a bitmap of the WINDOW
    numbers below it (bit i set = highest - i seen). Memory is constant whatever arrives."""

    size: int = WINDOW
    highest: int = 0
    bits: int = 0

    def verdict(self, number: int) -> Optional[str]:
        """None if number is new; else the drop reason. Does not record it (see `mark`)."""
        if number > self.highest:
            return None
        offset = self.highest - number
        if offset >= self.size:
            return "outside_window"
        return "replayed" if self.bits >> offset & 1 else None

    def mark(self, number: int) -> None:
        if number > self.highest:
            shift = number - self.highest
            if shift >= self.size:
                self.bits = 1
            else:
                self.bits = (self.bits << shift) | 1
                if self.bits >> self.size:
                    self.bits &= (1 << self.size) - 1
            self.highest = number
        else:
            self.bits |= 1 << (self.highest - number)

    def check_and_mark(self, number: int) -> Optional[str]:
        reason = self.verdict(number)
        if reason is None:
            self.mark(number)
        return reason
