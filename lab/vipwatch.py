"""vipwatch: from a client namespace on the cluster's L2 segment, who answers ARP for a floating
address (VIP) and whether the TCP service behind it answers, recorded as a JSON-lines event log.

    ip netns exec NS python -m lab.vipwatch --iface eth0 --vip 198.18.0.100 --port 8080 --out F

    with VipWatch.start("phb-client", "eth0", VIP, 8080, "/tmp/w.jsonl") as watch:
        watch.wait_for(lambda e: e["ev"] == "tcp_up", 5, "the service to answer")
        ...
        summary = watch.stop()          # conflicts, outages, failovers, answers, ARP MACs

Why a separate process inside the client namespace: ARP only exists on the segment, and the
observer must see exactly what a client sees (its neighbour cache, its route to the VIP).

What it does, in one thread (an epoll loop; it runs beside benchmarks on 2 cores):
- every --arp-interval-ms it sends "who-has VIP" on a raw AF_PACKET socket and collects every ARP
  packet whose sender address is the VIP. The time between two requests is a *round*: two
  different MACs replying within one round (or, with --conflict-window-ms, within that long after
  the request) is a *conflict*, the address held by two nodes at once. Consecutive conflicting
  rounds are one conflict. Gratuitous ARP for the VIP is recorded as it arrives. A round decides
  "who answers" only once the next request is out, so an old holder's last reply and a new
  holder's first one never share a round unless both really answered the same request.
- every --tcp-interval-ms it starts a non-blocking connect to VIP:port (several may be in
  flight, each given --tcp-timeout-ms), reads the one line the service sends and records the
  transitions: tcp_up (answer text, also on a change of text: a failover) and tcp_down. A result
  older than one already recorded is ignored, so a slow probe cannot undo a newer one.

Events (one JSON object a line) carry `t` (time.time()) and `mono_ms` (time.monotonic_ns() in ms)
of the moment the observer saw what they report: start, arp, garp, conflict, conflict_end,
tcp_up, tcp_down, stats (every --stats-interval-ms), end and summary. The summary is computed from
the event list alone (`summarize`), so a log cut short by SIGKILL can still be summarized.

The observer's replies also reach the client kernel: an existing neighbour entry for the VIP
follows them (after the kernel's 1 s locktime), as it would for any client that ARPs actively.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import ipaddress
import json
import math
import os
import select
import signal
import socket
import struct
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, NamedTuple, Optional, Sequence, TextIO

from lab import host
from lab.plan import LabError

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARPHRD_ETHER = 1
ARP_REQUEST = 1
ARP_REPLY = 2
BROADCAST_MAC = b"\xff" * 6
MIN_FRAME = 60  # Ethernet minimum without FCS; a raw socket sends what it is given
SOL_PACKET = 263  # not exported by Python's socket module
PACKET_IGNORE_OUTGOING = 23  # Linux >= 4.20; without it our own requests are dropped in user space
SIOCGIFADDR = 0x8915
ANSWER_MAX = 200  # characters of the service's answer line kept
READ_MAX = 512

_ETH = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")

COUNTERS = ("arp_probes", "arp_send_errors", "arp_replies", "garps", "rounds", "silent_rounds",
            "conflict_rounds", "tcp_probes", "tcp_ok", "tcp_failed", "tcp_stale", "tcp_skipped")


class VipWatchError(LabError):
    """Something the user can fix: a missing privilege or interface, or an observer that died."""


# -- ARP frames (pure) -------------------------------------------------------------------------

@dataclass(frozen=True)
class ArpPacket:
    op: int  # ARP_REQUEST or ARP_REPLY
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str
    eth_dst: str


def mac_text(raw: bytes) -> str:
    return raw.hex(":")


def build_arp_request(src_mac: bytes, src_ip: str, target_ip: str) -> bytes:
    """Broadcast who-has target_ip, as arping sends it, padded to the Ethernet minimum."""
    if len(src_mac) != 6:
        raise ValueError(f"a MAC address has 6 bytes, not {len(src_mac)}")
    arp = _ARP.pack(ARPHRD_ETHER, ETH_P_IP, 6, 4, ARP_REQUEST, src_mac,
                    ipaddress.IPv4Address(src_ip).packed, b"\0" * 6, ipaddress.IPv4Address(target_ip).packed)
    return (_ETH.pack(BROADCAST_MAC, src_mac, ETH_P_ARP) + arp).ljust(MIN_FRAME, b"\0")


def parse_arp(frame: bytes) -> Optional[ArpPacket]:
    """The ARP packet in an Ethernet frame; None for anything but Ethernet/IPv4 ARP."""
    if len(frame) < _ETH.size + _ARP.size:
        return None
    dst, _src, ethertype = _ETH.unpack_from(frame)
    if ethertype != ETH_P_ARP:
        return None
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(frame, _ETH.size)
    if (htype, ptype, hlen, plen) != (ARPHRD_ETHER, ETH_P_IP, 6, 4) or op not in (ARP_REQUEST, ARP_REPLY):
        return None
    return ArpPacket(op, mac_text(sha), str(ipaddress.IPv4Address(spa)), mac_text(tha),
                     str(ipaddress.IPv4Address(tpa)), mac_text(dst))


def classify(pkt: ArpPacket, vip: str) -> Optional[str]:
    """What an ARP packet says about the VIP:
    'reply'       an answer for the VIP (to our request or anyone's): the sender holds it now
    'gratuitous'  sender and target address are the VIP (arping -U / -A): a holder announcing it
    'claim'       a request sent from the VIP for another address: its holder talking
    'probe'       who-has VIP from 0.0.0.0 (duplicate address detection, arping -D)
    None          nothing about the VIP."""
    if pkt.sender_ip == vip:
        if pkt.target_ip == vip:
            return "gratuitous"
        return "reply" if pkt.op == ARP_REPLY else "claim"
    if pkt.op == ARP_REQUEST and pkt.sender_ip == "0.0.0.0" and pkt.target_ip == vip:
        return "probe"
    return None


# -- recording (pure: every call says when it happened) ----------------------------------------

class Stamp(NamedTuple):
    mono_ns: int
    t: float

    def json(self) -> dict[str, float]:
        return {"t": round(self.t, 6), "mono_ms": round(self.mono_ns / 1e6, 3)}


@dataclass
class _Round:
    sent: Stamp
    span_end_ns: Optional[int] = None  # when the next request went out
    macs: dict[str, list[Stamp]] = field(default_factory=dict)  # mac -> [first, last] reply
    window: set[str] = field(default_factory=set)  # macs that replied within the conflict window


@dataclass
class _Episode:
    first: Stamp
    last: Stamp
    macs: set[str]
    rounds: int = 1


class Recorder:
    """Turns probe results into events. It reads no clock and touches no socket, so the rules
    for rounds, conflicts and outages are the same in the observer and in unit tests."""

    def __init__(self, sink: Callable[[dict], None], arp_interval_ns: int, window_ns: int) -> None:
        self.events: list[dict] = []
        self.counts = dict.fromkeys(COUNTERS, 0)
        self._sink = sink
        self._interval_ns = arp_interval_ns
        self._window_ns = window_ns
        self._rounds: deque[_Round] = deque()
        self._owners: set[str] = set()  # macs that answered the last closed round
        self._last_answer: dict[str, Stamp] = {}
        self._replies: dict[str, int] = {}
        self._episode: Optional[_Episode] = None
        self._tcp_state = "unknown"  # unknown | up | down
        self._answer: Optional[str] = None
        self._last_ok: Optional[Stamp] = None
        self._fails = 0
        self._tcp_applied_ns = -1

    def emit(self, ev: str, at: Stamp, **fields: Any) -> dict:
        event = {"ev": ev, **at.json(), **fields}
        self.events.append(event)
        self._sink(event)
        return event

    # ARP
    def arp_sent(self, now: Stamp) -> None:
        self.counts["arp_probes"] += 1
        if self._rounds:
            self._rounds[-1].span_end_ns = now.mono_ns
        self.close_rounds(now)
        self._rounds.append(_Round(now))

    def arp_packet(self, now: Stamp, pkt: ArpPacket, kind: str) -> None:
        if kind != "reply":
            self.counts["garps"] += 1
            self.emit("garp", now, kind=kind, op="reply" if pkt.op == ARP_REPLY else "request",
                      mac=pkt.sender_mac, target_ip=pkt.target_ip)
            return
        mac = pkt.sender_mac
        self.counts["arp_replies"] += 1
        self._replies[mac] = self._replies.get(mac, 0) + 1
        if not self._rounds:
            return  # before our first request: counted, but in no round
        seen = self._rounds[-1].macs.setdefault(mac, [now, now])
        seen[1] = now
        wide = self._window_ns > self._interval_ns
        for rnd in self._rounds:
            if now.mono_ns < rnd.sent.mono_ns + self._window_ns and (wide or rnd.span_end_ns is None):
                rnd.window.add(mac)

    def close_rounds(self, now: Stamp) -> None:
        """Decide every round whose span and conflict window are over."""
        wide = self._window_ns > self._interval_ns
        while self._rounds and self._rounds[0].span_end_ns is not None and (
                not wide or now.mono_ns >= self._rounds[0].sent.mono_ns + self._window_ns):
            self._close(self._rounds.popleft(), now)

    def next_close_ns(self) -> Optional[int]:
        """When the oldest round can be decided (only waits when the window exceeds the interval)."""
        if self._rounds and self._rounds[0].span_end_ns is not None:
            return self._rounds[0].sent.mono_ns + self._window_ns
        return None

    def _close(self, rnd: _Round, now: Stamp) -> None:
        self.counts["rounds"] += 1
        if len(rnd.window) >= 2:
            self.counts["conflict_rounds"] += 1
            if self._episode is None:
                self._episode = _Episode(rnd.sent, rnd.sent, set(rnd.window))
                self.emit("conflict", now, round=rnd.sent.json(), macs=sorted(rnd.window))
            else:
                self._episode.rounds += 1
                self._episode.last = rnd.sent
                self._episode.macs |= rnd.window
        elif self._episode is not None:
            self._end_episode(now)
        for mac, (_first, last) in rnd.macs.items():
            self._last_answer[mac] = last
        current = set(rnd.macs)
        if not current:
            self.counts["silent_rounds"] += 1
        if current != self._owners:
            self.emit("arp", now, macs=sorted(current), round=rnd.sent.json(),
                      new={m: rnd.macs[m][0].json() for m in sorted(current - self._owners)},
                      gone={m: self._last_answer[m].json() for m in sorted(self._owners - current)})
            self._owners = current

    def _end_episode(self, now: Stamp) -> None:
        assert self._episode is not None
        ep, self._episode = self._episode, None
        self.emit("conflict_end", now, round=ep.first.json(), last_round=ep.last.json(),
                  rounds=ep.rounds, macs=sorted(ep.macs))

    # TCP
    def tcp_result(self, start: Stamp, now: Stamp, answer: Optional[str], error: Optional[str] = None) -> None:
        """One probe started at `start` ended at `now` with an answer line or an error."""
        self.counts["tcp_probes"] += 1
        self.counts["tcp_ok" if answer is not None else "tcp_failed"] += 1
        if start.mono_ns <= self._tcp_applied_ns:
            self.counts["tcp_stale"] += 1  # a newer probe has spoken already
            return
        self._tcp_applied_ns = start.mono_ns
        if answer is not None:
            if self._tcp_state != "up":
                self.emit("tcp_up", now, answer=answer, prev=self._answer, probe=start.json(), failed=self._fails)
            elif answer != self._answer:
                assert self._last_ok is not None
                self.emit("tcp_up", now, answer=answer, prev=self._answer, prev_last=self._last_ok.json(),
                          probe=start.json(), failed=0)
            self._tcp_state, self._answer, self._last_ok, self._fails = "up", answer, now, 0
            return
        self._fails += 1
        if self._tcp_state != "down":
            self.emit("tcp_down", now, error=error, answer=self._answer,
                      last_ok=self._last_ok.json() if self._last_ok else None, probe=start.json())
            self._tcp_state = "down"

    def stats(self, now: Stamp, **extra: Any) -> None:
        self.emit("stats", now, **self.counts, **extra)

    def finish(self, now: Stamp) -> "Summary":
        """Decide the finished rounds (the one just begun is dropped: its replies may still be on
        the way), close a running conflict, write `end` and `summary`."""
        if self._rounds:
            self._rounds.pop()
        while self._rounds:
            self._close(self._rounds.popleft(), now)
        if self._episode is not None:
            self._end_episode(now)
        self.emit("end", now, counts=dict(self.counts), replies=dict(self._replies),
                  arp_last={m: self._last_answer[m].json() for m in sorted(self._owners)},
                  tcp={"state": self._tcp_state, "answer": self._answer,
                       "last_ok": self._last_ok.json() if self._last_ok else None})
        summary = summarize(self.events)
        self.emit("summary", now, **summary.to_dict())
        return summary


# -- the summary (pure) -------------------------------------------------------------------------

@dataclass
class Summary:
    """What a run saw. Times are wall-clock seconds (the events' `t`), durations from mono_ms.
    Outages run from the last answer before a failed probe to the first answer after it."""
    started_t: Optional[float] = None
    ended_t: Optional[float] = None
    complete: bool = False  # the log has its `end` event (the observer was stopped, not killed)
    conflicts: list[dict] = field(default_factory=list)  # {t, end_t, rounds, macs}
    outages: list[list] = field(default_factory=list)  # [start_t, end_t, duration_ms]
    ongoing_outage: Optional[list] = None  # [start_t, None, ms so far] when down at the end
    failovers: list[dict] = field(default_factory=list)  # {t, mono_ms, from, to, gap_ms}
    answers: dict[str, dict] = field(default_factory=dict)  # text -> {first, last}
    arp_macs: dict[str, dict] = field(default_factory=dict)  # mac -> {first, last, replies, gratuitous}
    arp_gaps: list[list] = field(default_factory=list)  # rounds nobody answered: [start_t, end_t, ms]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def conflict_count(self) -> int:
        return len(self.conflicts)

    def to_dict(self) -> dict:
        return {"conflict_count": self.conflict_count, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> "Summary":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


def _seen(table: dict[str, dict], key: str, t: float, **zero: Any) -> dict:
    entry = table.setdefault(key, {"first": t, "last": t, **zero})
    entry["first"], entry["last"] = min(entry["first"], t), max(entry["last"], t)
    return entry


def summarize(events: Sequence[dict]) -> Summary:
    """The summary of an event list (complete or cut short)."""
    s = Summary()
    down_since: Optional[dict] = None  # last answer before the service went down
    silent_since: Optional[dict] = None  # last ARP answer before a round nobody answered
    for ev in events:
        kind = ev.get("ev")
        if kind == "start":
            s.started_t = ev["t"]
        elif kind == "tcp_up":
            _seen(s.answers, ev["answer"], ev["t"])
            before = down_since or ev.get("prev_last")
            if ev.get("prev_last"):
                _seen(s.answers, ev["prev"], ev["prev_last"]["t"])
            if down_since is not None:
                s.outages.append([down_since["t"], ev["t"], round(ev["mono_ms"] - down_since["mono_ms"], 3)])
                down_since = None
            if ev.get("prev") is not None and ev["prev"] != ev["answer"]:
                s.failovers.append({"t": ev["t"], "mono_ms": ev["mono_ms"], "from": ev["prev"], "to": ev["answer"],
                                    "gap_ms": round(ev["mono_ms"] - before["mono_ms"], 3) if before else None})
        elif kind == "tcp_down":
            if ev.get("last_ok"):
                _seen(s.answers, ev["answer"], ev["last_ok"]["t"])
                down_since = ev["last_ok"]
        elif kind == "arp":
            for mac, stamp in list(ev["new"].items()) + list(ev["gone"].items()):
                _seen(s.arp_macs, mac, stamp["t"], replies=None, gratuitous=0)
            if not ev["macs"] and ev["gone"]:
                silent_since = max(ev["gone"].values(), key=lambda st: st["mono_ms"])
            elif ev["macs"] and silent_since is not None and ev["new"]:
                first = min(ev["new"].values(), key=lambda st: st["mono_ms"])
                s.arp_gaps.append([silent_since["t"], first["t"], round(first["mono_ms"] - silent_since["mono_ms"], 3)])
                silent_since = None
        elif kind == "garp":
            _seen(s.arp_macs, ev["mac"], ev["t"], replies=None, gratuitous=0)["gratuitous"] += 1
        elif kind == "conflict":
            s.conflicts.append({"t": ev["round"]["t"], "end_t": None, "rounds": None, "macs": ev["macs"]})
        elif kind == "conflict_end" and s.conflicts:
            s.conflicts[-1].update(end_t=ev["last_round"]["t"], rounds=ev["rounds"], macs=ev["macs"])
        elif kind == "end":
            s.complete, s.ended_t, s.counts = True, ev["t"], dict(ev["counts"])
            for mac, stamp in ev["arp_last"].items():
                _seen(s.arp_macs, mac, stamp["t"], replies=None, gratuitous=0)
            for entry in s.arp_macs.values():
                entry["replies"] = 0  # the end event knows every MAC that replied
            for mac, n in ev["replies"].items():
                # a MAC that replied only outside a decided round has no time of its own
                s.arp_macs.setdefault(mac, {"first": None, "last": None, "replies": 0, "gratuitous": 0})["replies"] = n
            if ev["tcp"]["last_ok"] and ev["tcp"]["state"] == "up":
                _seen(s.answers, ev["tcp"]["answer"], ev["tcp"]["last_ok"]["t"])
    if down_since is not None and events:
        last = events[-1]
        s.ongoing_outage = [down_since["t"], None, round(last["mono_ms"] - down_since["mono_ms"], 3)]
    if s.ended_t is None and events:
        s.ended_t = events[-1]["t"]
    return s


# -- the observer (one thread, one epoll loop) ---------------------------------------------------

@dataclass
class Config:
    iface: str
    vip: str
    port: int
    arp_interval_ms: float = 10.0
    tcp_interval_ms: float = 10.0
    tcp_timeout_ms: float = 50.0
    conflict_window_ms: Optional[float] = None  # None: the ARP interval (one round)
    stats_interval_ms: float = 1000.0
    duration_s: Optional[float] = None

    def check(self) -> "Config":
        try:
            ipaddress.IPv4Address(self.vip)
        except ValueError:
            raise ValueError(f"--vip {self.vip}: not an IPv4 address") from None
        if not 0 < self.port < 65536:
            raise ValueError(f"--port {self.port}: must be 1-65535")
        if not self.iface or len(self.iface) > 15:
            raise ValueError(f"--iface {self.iface!r}: an interface name has 1-15 characters")
        for name in ("arp_interval_ms", "tcp_interval_ms", "tcp_timeout_ms", "stats_interval_ms"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1 ms")
        if self.conflict_window_ms is not None and not self.conflict_window_ms >= 0.1:
            raise ValueError("--conflict-window-ms must be at least 0.1 ms")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ValueError("--duration-s must be positive")
        return self

    @property
    def window_ms(self) -> float:
        return self.conflict_window_ms if self.conflict_window_ms is not None else self.arp_interval_ms


def _now() -> Stamp:
    return Stamp(time.monotonic_ns(), time.time())


def _ns(ms: float) -> int:
    return int(ms * 1_000_000)


def _next_due(due_ns: int, interval_ns: int, now_ns: int) -> int:
    """Keep the average rate, but after a stall skip ahead instead of sending a burst (a round
    shorter than the interval would cut its replies short)."""
    due_ns += interval_ns
    return due_ns if due_ns > now_ns else now_ns + interval_ns


def open_arp_socket(iface: str) -> socket.socket:
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    except PermissionError:
        raise VipWatchError("a raw ARP socket needs CAP_NET_RAW: run vipwatch as root "
                            "(ip netns exec NS python -m lab.vipwatch ...)") from None
    try:
        sock.bind((iface, ETH_P_ARP))
    except OSError as exc:
        sock.close()
        raise VipWatchError(f"no interface {iface} in this network namespace ({exc.strerror}); "
                            "run inside the client's namespace with ip netns exec") from None
    if sock.getsockname()[3] != ARPHRD_ETHER:
        sock.close()
        raise VipWatchError(f"{iface} is not an Ethernet interface: there is no ARP on it")
    try:
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    except OSError:
        pass
    sock.setblocking(False)
    return sock


def iface_ipv4(iface: str) -> Optional[str]:
    """The interface's (primary) IPv4 address, the sender address of our requests; None if it has
    none (requests then go out from 0.0.0.0, which Linux answers too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            raw = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", iface.encode()))
        except OSError:
            return None
    return socket.inet_ntoa(raw[20:24])


def _answer_line(buf: bytes) -> Optional[str]:
    """The service's first line, trimmed; None when it is empty."""
    line = bytes(buf).split(b"\n", 1)[0].strip()
    return line.decode(errors="replace")[:ANSWER_MAX] if line else None


@dataclass
class _Probe:
    sock: socket.socket
    start: Stamp
    deadline_ns: int
    buf: bytearray = field(default_factory=bytearray)


class Observer:
    """The probes and their sockets; what they see goes to a Recorder. One thread: a blocked
    connect or a silent VIP never delays the next request or probe."""

    def __init__(self, config: Config, sink: Callable[[dict], None]) -> None:
        self.config = config.check()
        self._arp = open_arp_socket(config.iface)
        self.mac = self._arp.getsockname()[4]
        self.src_ip = iface_ipv4(config.iface) or "0.0.0.0"
        self._request = build_arp_request(self.mac, self.src_ip, config.vip)
        self._addr = (config.vip, config.port)
        self._epoll = select.epoll()
        self._epoll.register(self._arp.fileno(), select.EPOLLIN)
        self._probes: dict[int, _Probe] = {}  # insertion order is start order: oldest deadline first
        self._max_inflight = math.ceil(config.tcp_timeout_ms / config.tcp_interval_ms) + 1
        self._send_error: Optional[str] = None
        self.recorder = Recorder(sink, _ns(config.arp_interval_ms), _ns(config.window_ms))

    def run(self, should_stop: Callable[[], bool]) -> Summary:
        cfg = self.config
        arp_ns, tcp_ns, stats_ns = _ns(cfg.arp_interval_ms), _ns(cfg.tcp_interval_ms), _ns(cfg.stats_interval_ms)
        now = _now()
        end_ns = now.mono_ns + int(cfg.duration_s * 1e9) if cfg.duration_s else None
        self.recorder.emit("start", now, pid=os.getpid(), iface=cfg.iface, vip=cfg.vip, port=cfg.port,
                           mac=mac_text(self.mac), src_ip=self.src_ip, arp_interval_ms=cfg.arp_interval_ms,
                           tcp_interval_ms=cfg.tcp_interval_ms, tcp_timeout_ms=cfg.tcp_timeout_ms,
                           conflict_window_ms=cfg.window_ms)
        next_arp = next_tcp = now.mono_ns
        next_stats = now.mono_ns + stats_ns
        while not should_stop():
            wake = min(next_arp, next_tcp, next_stats)
            if self._probes:
                wake = min(wake, next(iter(self._probes.values())).deadline_ns)
            close_ns = self.recorder.next_close_ns()
            if close_ns is not None:
                wake = min(wake, close_ns)
            if end_ns is not None:
                wake = min(wake, end_ns)
            ready = self._epoll.poll(max(0, wake - time.monotonic_ns()) / 1e9)
            now = _now()
            for fd, _mask in ready:
                if fd == self._arp.fileno():
                    self._read_arp(now)
                else:
                    self._read_tcp(fd, now)
            while self._probes:
                oldest = next(iter(self._probes.values()))
                if oldest.deadline_ns > now.mono_ns:
                    break
                self._finish(oldest, now, None, "timeout")
            if now.mono_ns >= next_arp:  # replies already read belong to the round now ending
                self._send_arp(now)
                next_arp = _next_due(next_arp, arp_ns, now.mono_ns)
            if now.mono_ns >= next_tcp:
                self._start_probe(now)
                next_tcp = _next_due(next_tcp, tcp_ns, now.mono_ns)
            self.recorder.close_rounds(now)
            if now.mono_ns >= next_stats:
                self.recorder.stats(now, inflight=len(self._probes))
                next_stats = _next_due(next_stats, stats_ns, now.mono_ns)
            if end_ns is not None and now.mono_ns >= end_ns:
                break
        return self.recorder.finish(_now())

    def close(self) -> None:
        for probe in list(self._probes.values()):
            self._drop(probe, abort=True)
        self._epoll.close()
        self._arp.close()

    # ARP
    def _send_arp(self, now: Stamp) -> None:
        try:
            self._arp.send(self._request)
        except OSError as exc:
            self.recorder.counts["arp_send_errors"] += 1
            name = errno.errorcode.get(exc.errno or 0, str(exc))
            if name != self._send_error:
                self.recorder.emit("error", now, what="arp_send", error=name)
                self._send_error = name
            return
        self._send_error = None
        self.recorder.arp_sent(now)

    def _read_arp(self, now: Stamp) -> None:
        vip = self.config.vip
        while True:
            try:
                frame, addr = self._arp.recvfrom(256)
            except BlockingIOError:
                return
            except OSError as exc:  # the interface went down or away: the next round shows it
                self.recorder.emit("error", now, what="arp_recv", error=errno.errorcode.get(exc.errno or 0, str(exc)))
                return
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            pkt = parse_arp(frame)
            kind = classify(pkt, vip) if pkt is not None else None
            if pkt is not None and kind is not None:
                self.recorder.arp_packet(now, pkt, kind)

    # TCP
    def _start_probe(self, now: Stamp) -> None:
        if len(self._probes) >= self._max_inflight:
            self.recorder.counts["tcp_skipped"] += 1
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex(self._addr)
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            self.recorder.tcp_result(now, now, None, errno.errorcode.get(err, str(err)))
            return
        # only EPOLLIN: a refused or failed connect wakes us with EPOLLERR, a good one with the answer
        self._epoll.register(sock.fileno(), select.EPOLLIN)
        self._probes[sock.fileno()] = _Probe(sock, now, now.mono_ns + _ns(self.config.tcp_timeout_ms))

    def _read_tcp(self, fd: int, now: Stamp) -> None:
        probe = self._probes.get(fd)
        if probe is None:
            return
        while True:
            try:
                data = probe.sock.recv(READ_MAX)
            except BlockingIOError:
                return
            except OSError as exc:
                self._finish(probe, now, None, errno.errorcode.get(exc.errno or 0, str(exc)))
                return
            if not data:
                self._finish(probe, now, _answer_line(probe.buf), "closed without an answer")
                return
            probe.buf += data
            if b"\n" in probe.buf:
                self._finish(probe, now, _answer_line(probe.buf), "empty answer")
                return
            if len(probe.buf) > READ_MAX * 4:
                self._finish(probe, now, None, "answer line too long")
                return

    def _finish(self, probe: _Probe, now: Stamp, answer: Optional[str], error: Optional[str]) -> None:
        """Record the probe's result: its answer, or (when there is none) the error."""
        self._drop(probe, abort=answer is None)
        self.recorder.tcp_result(probe.start, now, answer, None if answer is not None else error)

    def _drop(self, probe: _Probe, abort: bool) -> None:
        fd = probe.sock.fileno()
        self._probes.pop(fd, None)
        self._epoll.unregister(fd)
        if abort:  # reset instead of FIN: no TIME_WAIT and no half-open connection left behind
            probe.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        probe.sock.close()


# -- command line --------------------------------------------------------------------------------

def parse_args(argv: Optional[Sequence[str]]) -> tuple[Config, str]:
    parser = argparse.ArgumentParser(prog="python -m lab.vipwatch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--iface", required=True, help="the client's interface on the VIP's segment")
    parser.add_argument("--vip", required=True, help="the floating IPv4 address")
    parser.add_argument("--port", required=True, type=int, help="TCP port of the service on the VIP")
    parser.add_argument("--out", default="-", help="JSON-lines event log (default: stdout)")
    parser.add_argument("--arp-interval-ms", type=float, default=10.0)
    parser.add_argument("--tcp-interval-ms", type=float, default=10.0)
    parser.add_argument("--tcp-timeout-ms", type=float, default=50.0, help="per probe, connect and answer")
    parser.add_argument("--conflict-window-ms", type=float, default=None,
                        help="replies from two MACs this long after one request are a conflict "
                             "(default: the ARP interval, i.e. one round)")
    parser.add_argument("--stats-interval-ms", type=float, default=1000.0, help="how often a stats event is written")
    parser.add_argument("--duration-s", type=float, default=None, help="stop by itself after this long")
    args = parser.parse_args(argv)
    config = Config(args.iface, args.vip, args.port, args.arp_interval_ms, args.tcp_interval_ms,
                    args.tcp_timeout_ms, args.conflict_window_ms, args.stats_interval_ms, args.duration_s)
    try:
        config.check()
    except ValueError as exc:
        parser.error(str(exc))
    return config, args.out


def main(argv: Optional[Sequence[str]] = None) -> int:
    config, out_path = parse_args(argv)
    stop = [False]

    def on_signal(_signum: int, _frame: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        out: TextIO = sys.stdout if out_path == "-" else open(out_path, "w", encoding="utf-8")
    except OSError as exc:
        print(f"vipwatch: cannot write {out_path}: {exc.strerror}", file=sys.stderr)
        return 1

    def sink(event: dict) -> None:
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
        out.flush()  # events are rare (transitions, stats): readers see them at once

    try:
        observer = Observer(config, sink)
    except VipWatchError as exc:
        print(f"vipwatch: {exc}", file=sys.stderr)
        return 1
    try:
        summary = observer.run(lambda: stop[0])
    finally:
        observer.close()
        if out is not sys.stdout:
            out.close()
    if out_path != "-":
        print(json.dumps(summary.to_dict()))
    return 0


# -- from Python: the observer as a process ---------------------------------------------------------

def _project_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class VipWatch:
    """The observer running in a namespace, tracked by PID (and start time, so a reused PID is
    never signalled). Use as a context manager, so it is stopped even when a test fails."""

    def __init__(self, pid: int, start_ticks: int, out_path: str, log_path: str) -> None:
        self.pid = pid
        self.start_ticks = start_ticks
        self.out_path = out_path
        self.log_path = log_path
        self.summary: Optional[Summary] = None
        self._events: list[dict] = []
        self._offset = 0
        self.bad_lines = 0  # lines of the event file that were not JSON
        self._stopped = False

    @classmethod
    def start(cls, netns: Optional[str], iface: str, vip: str, port: int, out_path: str, *,
              arp_interval_ms: float = 10.0, tcp_interval_ms: float = 10.0, tcp_timeout_ms: float = 50.0,
              conflict_window_ms: Optional[float] = None, stats_interval_ms: float = 1000.0,
              duration_s: Optional[float] = None, log_path: Optional[str] = None,
              ready_timeout_s: float = 10.0) -> "VipWatch":
        """Spawn `ip netns exec NETNS <this python> -m lab.vipwatch ...` (netns None: here) and
        return once it has written its start event; raises VipWatchError with its output if not."""
        config = Config(iface, vip, port, arp_interval_ms, tcp_interval_ms, tcp_timeout_ms,
                        conflict_window_ms, stats_interval_ms, duration_s)
        try:
            config.check()
        except ValueError as exc:
            raise VipWatchError(str(exc)) from None
        argv = [sys.executable, "-m", "lab.vipwatch", "--iface", iface, "--vip", vip, "--port", str(port),
                "--out", out_path, "--arp-interval-ms", str(arp_interval_ms),
                "--tcp-interval-ms", str(tcp_interval_ms), "--tcp-timeout-ms", str(tcp_timeout_ms),
                "--stats-interval-ms", str(stats_interval_ms)]
        if conflict_window_ms is not None:
            argv += ["--conflict-window-ms", str(conflict_window_ms)]
        if duration_s is not None:
            argv += ["--duration-s", str(duration_s)]
        env = dict(os.environ)  # the child runs this very checkout, installed or not
        env["PYTHONPATH"] = os.pathsep.join([_project_root()] + [p for p in [env.get("PYTHONPATH")] if p])
        log_path = log_path or out_path + ".log"
        open(out_path, "w").close()  # no start event of an earlier run may pass for this one's
        pid, ticks = host.spawn(host.ns_argv(netns, argv), env, log_path)
        watch = cls(pid, ticks, out_path, log_path)
        deadline = time.monotonic() + ready_timeout_s
        while not any(e["ev"] == "start" for e in watch.events()):
            if not watch.running():
                raise VipWatchError(f"vipwatch exited before it started: {watch.log_tail()}")
            if time.monotonic() >= deadline:
                watch.close()
                raise VipWatchError(f"vipwatch wrote no start event within {ready_timeout_s:g} s: {watch.log_tail()}")
            time.sleep(0.01)
        return watch

    def running(self) -> bool:
        return host.alive(self.pid, self.start_ticks)

    def events(self) -> list[dict]:
        """Every complete event written so far (read incrementally)."""
        try:
            with open(self.out_path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return list(self._events)
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            if line.strip():
                try:
                    self._events.append(json.loads(line.decode("utf-8")))
                except (UnicodeDecodeError, ValueError):
                    self.bad_lines += 1  # (counted, shown by the campaign; a reader must not die of it)
        self._offset += end
        return list(self._events)

    def wait_for(self, predicate: Callable[[dict], bool], timeout_s: float, what: str, after: int = 0) -> dict:
        """The first event from index `after` on that satisfies predicate; VipWatchError at the
        deadline or when the observer is gone."""
        deadline = time.monotonic() + timeout_s
        while True:
            for event in self.events()[after:]:
                if predicate(event):
                    return event
            if not self.running():
                raise VipWatchError(f"vipwatch ended while waiting for {what}: {self.log_tail()}")
            if time.monotonic() >= deadline:
                raise VipWatchError(f"timed out after {timeout_s:g} s waiting for {what}; "
                                    f"last events: {self.events()[-5:]}")
            time.sleep(0.02)

    def stop(self, timeout_s: float = 5.0) -> Summary:
        """SIGTERM, wait (bounded) and return the summary it wrote."""
        if self.summary is not None:
            return self.summary
        proc = [(self.pid, self.start_ticks)]
        if self.running():
            host.signal_all(proc, signal.SIGTERM)
            if not host.wait_gone(proc, timeout_s):
                host.kill_all(proc, term_wait_s=0.0)
                self._stopped = True
                raise VipWatchError(f"vipwatch (pid {self.pid}) did not stop within {timeout_s:g} s; killed")
        self._stopped = True
        host.reap()
        for event in reversed(self.events()):
            if event["ev"] == "summary":
                self.summary = Summary.from_dict(event)
                return self.summary
        raise VipWatchError(f"vipwatch (pid {self.pid}) ended without a summary: {self.log_tail()}")

    def close(self) -> None:
        """Make sure the process is gone, quietly (for failure paths)."""
        if not self._stopped:
            host.kill_all([(self.pid, self.start_ticks)], term_wait_s=2.0)
            self._stopped = True

    def log_tail(self, lines: int = 10) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                tail = handle.read().strip().splitlines()[-lines:]
        except OSError:
            return "(no log)"
        return " | ".join(tail) or "(empty log)"

    def __enter__(self) -> "VipWatch":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None and self.summary is None and not self._stopped:
            self.stop()
        else:
            self.close()


if __name__ == "__main__":
    sys.exit(main())
