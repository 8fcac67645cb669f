"""Reliable cluster messages over lossy media: Heartbeat's sequence/retransmit protocol, plus
in-order, exactly-once delivery to local clients.

Sender side (`SendHistory`): every sequenced packet gets the next `seq`; the last `history_size`
packets are kept so peers can ask for them again (`NS_rexmit firstseq..lastseq`). A request for a
seq below what is kept is answered `NS_nak_rexmit` ("seqno too low"); one not kept at all "seqno
not found". A slot is not resent more than once per `min_resend_interval_ms`. Peers acknowledge
every 10th in-order seq (`NS_ackmsg`); with flow control on, client messages wait while
`highest_sent - min(acked) >= window` so un-acked packets always stay in the history. A peer that
is first heard, comes back from the dead or restarts is owed nothing sent before (its receive
state starts at our next packet); a peer that did not acknowledge a packet sent a deadtime ago (two acknowledgement
intervals past its last acknowledgement) does not hear us (one-way link) and is not waited for.

Receiver side (`PeerReceive`, one per sending node and generation): a packet is
- the first of this generation: accepted, delivery starts there;
- a duplicate (already released, or held): dropped (it still proves the link is alive);
- newer with a gap: the missing seqs are recorded and retransmission is requested after a
  random delay in [50, max_rexmit_delay] ms, then every max_rexmit_delay ms;
- one of the missing: accepted (recovered).
Accepted packets are held until every earlier seq has arrived or been given up (NAK, too many
requests, gap too large, sender dead or restarted), then released in sequence order. Released
slots are never released again: each message reaches local clients once, in the sender's order.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

HISTORY_SIZE = 500  # heartbeat's MAXMSGHIST
MAX_GAP = 250  # heartbeat gives up and resyncs beyond MAXMSGHIST/2
FLOW_WINDOW = 250
MAX_REXMIT_PER_REQUEST = 50
MAX_REQUESTS_PER_SEQ = 60
MIN_REXMIT_DELAY_MS = 50
ACK_EVERY = 10

LOST = object()  # placeholder in the hold buffer for a seq that will never arrive


class Rng(Protocol):
    def randint(self, a: int, b: int) -> int: ...


# -- sender --------------------------------------------------------------------------------------

@dataclass
class HistoryEntry:
    packet: Any  # what the sender keeps to send again (messaging.machine keeps the Fields and re-frames them)
    last_sent_ms: int
    first_sent_ms: int = 0


@dataclass
class SendHistory:
    history_size: int = HISTORY_SIZE
    next_seq: int = 1
    entries: "OrderedDict[int, HistoryEntry]" = field(default_factory=OrderedDict)
    acked: dict[str, int] = field(default_factory=dict)  # peer -> highest in-order seq acked

    def allocate(self) -> int:
        seq = self.next_seq
        self.next_seq += 1
        return seq

    @property
    def highest_sent(self) -> int:
        return self.next_seq - 1

    def record(self, seq: int, packet: Any, now_ms: int) -> None:
        self.entries[seq] = HistoryEntry(packet, now_ms, now_ms)
        while len(self.entries) > self.history_size:
            self.entries.popitem(last=False)

    @property
    def lowest_kept(self) -> Optional[int]:
        return next(iter(self.entries), None)

    def lookup(self, seq: int) -> Optional[HistoryEntry]:
        return self.entries.get(seq)

    def ack(self, peer: str, seq: int) -> None:
        if seq > self.acked.get(peer, 0) and seq <= self.highest_sent:
            self.acked[peer] = seq

    def restart_peer(self, peer: str) -> None:
        """The peer (first heard, back from the dead, or restarted) receives from our next packet
        on: nothing we sent before waits for its acknowledgement."""
        self.acked[peer] = self.highest_sent

    def forget_peer(self, peer: str) -> None:
        self.acked.pop(peer, None)

    def stalled(self, peer: str, now_ms: int, after_ms: int) -> bool:
        """The peer should have acknowledged a packet we sent more than after_ms ago (two
        acknowledgement intervals past what it acknowledged) and did not: it does not hear us (a
        one-way link), so flow control must not wait for it."""
        overdue = self.acked.get(peer, 0) + 2 * ACK_EVERY + 1
        if overdue > self.highest_sent:
            return False
        entry = self.entries.get(overdue)
        return entry is None or now_ms - entry.first_sent_ms > after_ms

    def window_open(self, peers: list[str], window: int = FLOW_WINDOW) -> bool:
        """May another client message be sent? peers: live nodes that take part in acks."""
        if not peers:
            return True
        low = min(self.acked.get(peer, 0) for peer in peers)
        return self.highest_sent - low < window


def plan_retransmit(history: SendHistory, first: int, last: int, now_ms: int,
                    min_resend_interval_ms: int) -> tuple[list[Any], Optional[tuple[int, str]]]:
    """Which stored packets to resend for a request [first, last], and at most one NAK
    (seq, reason). Resent entries get their last_sent_ms updated."""
    resend: list[Any] = []
    nak: Optional[tuple[int, str]] = None
    if last < first:
        return resend, nak
    last = min(last, first + MAX_REXMIT_PER_REQUEST - 1, history.highest_sent)
    lowest = history.lowest_kept
    for seq in range(first, last + 1):
        entry = history.lookup(seq)
        if entry is None:
            if nak is None:
                nak = (seq, "seqno too low" if lowest is None or seq < lowest else "seqno not found")
            continue
        if now_ms - entry.last_sent_ms < min_resend_interval_ms:
            continue
        entry.last_sent_ms = now_ms
        resend.append(entry.packet)
    return resend, nak


# -- receiver ------------------------------------------------------------------------------------

@dataclass
class Missing:
    next_request_ms: int
    requests: int = 0


@dataclass
class Verdict:
    accepted: bool
    reason: str  # "first" | "in_order" | "recovered" | "out_of_order" | "duplicate" | "old"
    released: list[Any] = field(default_factory=list)
    lost_count: int = 0


@dataclass
class PeerReceive:
    """Sequence state for one sender. `expected` is the next seq to release."""

    generation: int
    max_rexmit_delay_ms: int
    expected: Optional[int] = None
    highest: int = 0
    held: dict[int, Any] = field(default_factory=dict)
    missing: dict[int, Missing] = field(default_factory=dict)
    resync: bool = False  # the next packet starts a new run (after the sender was dead)
    last_acked: int = 0
    ack_trigger: int = 0
    lost_total: int = 0

    @property
    def delivered_through(self) -> int:
        return (self.expected or 1) - 1

    def accept(self, seq: int, item: Any, now_ms: int, rng: Rng) -> Verdict:
        if self.expected is None or (self.resync and seq > self.highest):
            lost = self._restart_at(seq)
            verdict = Verdict(True, "first", lost_count=lost)
        elif seq < self.expected or seq in self.held:
            return Verdict(False, "duplicate")
        elif seq > self.highest:
            gap = seq - self.highest - 1
            if gap > MAX_GAP:
                lost = self._give_up_all()
                before = self._release()
                self._restart_at(seq)
                self.held[seq] = item
                self.lost_total += gap
                return Verdict(True, "first", released=before + self._release(), lost_count=lost + gap)
            else:
                for missing_seq in range(self.highest + 1, seq):
                    self.missing[missing_seq] = Missing(now_ms + rng.randint(MIN_REXMIT_DELAY_MS, max(
                        MIN_REXMIT_DELAY_MS, self.max_rexmit_delay_ms)))
                self.highest = seq
                verdict = Verdict(True, "in_order" if gap == 0 else "out_of_order")
        elif seq in self.missing:
            del self.missing[seq]
            verdict = Verdict(True, "recovered")
        else:
            return Verdict(False, "duplicate")
        self.held[seq] = item
        verdict.released = self._release()
        return verdict

    def _restart_at(self, seq: int) -> int:
        """Start delivering at seq; everything before it that was not released is lost."""
        lost = len(self.missing)
        self.missing.clear()
        self.held.clear()
        self.expected = seq
        self.highest = seq
        self.resync = False
        self.last_acked = seq - 1
        self.lost_total += lost
        return lost

    def _give_up_all(self) -> int:
        count = 0
        for seq in list(self.missing):
            self.held[seq] = LOST
            count += 1
        self.missing.clear()
        self.lost_total += count
        return count

    def _release(self) -> list[Any]:
        out: list[Any] = []
        assert self.expected is not None
        while self.expected in self.held:
            item = self.held.pop(self.expected)
            if item is not LOST:
                out.append(item)
            self.expected += 1
        return out

    def give_up(self, seq: int) -> list[Any]:
        """Seq will never arrive (NAK or too many requests): release what waited behind it."""
        if seq not in self.missing:
            return []
        del self.missing[seq]
        self.held[seq] = LOST
        self.lost_total += 1
        return self._release()

    def flush(self) -> tuple[list[Any], int]:
        """The sender died or restarted: release everything held, skipping what is missing."""
        lost = self._give_up_all()
        released = self._release() if self.expected is not None else []
        if self.expected is not None:
            self.expected = max(self.expected, self.highest + 1)
        self.resync = True
        return released, lost

    def due_requests(self, now_ms: int) -> tuple[list[tuple[int, int]], list[int]]:
        """Ranges (first, last) to request now, and seqs to give up on (asked too often)."""
        due = sorted(seq for seq, info in self.missing.items() if info.next_request_ms <= now_ms)
        give_up: list[int] = []
        ask: list[int] = []
        for seq in due:
            info = self.missing[seq]
            if info.requests >= MAX_REQUESTS_PER_SEQ:
                give_up.append(seq)
                continue
            info.requests += 1
            info.next_request_ms = now_ms + self.max_rexmit_delay_ms
            ask.append(seq)
        return _ranges(ask), give_up

    def next_deadline_ms(self) -> Optional[int]:
        if not self.missing:
            return None
        return min(info.next_request_ms for info in self.missing.values())

    def ack_due(self) -> Optional[int]:
        """The seq to acknowledge now, if one is due (every ACK_EVERY-th in-order seq)."""
        through = self.delivered_through
        if through <= self.last_acked:
            return None
        if through - self.last_acked >= ACK_EVERY or through % ACK_EVERY == self.ack_trigger:
            self.last_acked = through
            return through
        return None


def _ranges(seqs: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for seq in seqs:
        if ranges and ranges[-1][1] == seq - 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges
