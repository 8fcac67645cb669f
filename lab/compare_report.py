"""What bench/compare.py reads out of a client-side observer's log (lab/vipwatch.py events) and the
table it prints: pure functions, so the rules (what an outage is, what counts as two owners, how
runs become median / p99 / ratio) are the same for every stack and are unit-tested.

Times are the observer's `mono_ms` (time.monotonic_ns() / 1e6, the same clock the benchmark reads
around a fault), so no wall-clock step can bend a figure.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence


# -- the observer's log ----------------------------------------------------------------------------

def node_of_answer(answer: Optional[str], addresses: dict[str, str]) -> Optional[str]:
    """Which node an answer of bench/svc/tcpsvc ("NAME ADDR") comes from: the address decides (it
    is the node's own, whatever name a stack gave it); the name when the address is unknown."""
    if not answer:
        return None
    words = answer.split()
    if len(words) >= 2 and words[1] in addresses:
        return addresses[words[1]]
    return words[0] if words and words[0] in addresses.values() else None


def down_intervals(events: Sequence[dict]) -> list[tuple[float, Optional[float]]]:
    """[(start, end)] of every time the service did not answer: from the last answer before a
    failed probe (the observer's `last_ok`; the failure itself when nothing answered before) to
    the next answer; end None while still down at the end of the log."""
    out: list[tuple[float, Optional[float]]] = []
    since: Optional[float] = None
    for ev in events:
        kind = ev.get("ev")
        if kind == "tcp_down":
            last_ok = ev.get("last_ok")
            since = float(last_ok["mono_ms"]) if last_ok else float(ev["mono_ms"])
        elif kind == "tcp_up" and since is not None:
            out.append((since, float(ev["mono_ms"])))
            since = None
    if since is not None:
        out.append((since, None))
    return out


def longest_gap(events: Sequence[dict], start_ms: float, end_ms: float) -> float:
    """The longest time without an answer within [start_ms, end_ms] (0 when the service always
    answered, or a handover between two answers left no gap)."""
    best = 0.0
    for since, until in down_intervals(events):
        lo = max(since, start_ms)
        hi = min(until if until is not None else end_ms, end_ms)
        best = max(best, hi - lo)
    return best


def first_answer(events: Sequence[dict], after_ms: float, want: Callable[[str], bool]) -> Optional[dict]:
    """The first `tcp_up` at or after after_ms whose answer satisfies want (a change of answer
    without a gap is a `tcp_up` too)."""
    for ev in events:
        if ev.get("ev") == "tcp_up" and float(ev["mono_ms"]) >= after_ms and want(ev.get("answer") or ""):
            return ev
    return None


def conflicts_between(events: Sequence[dict], start_ms: float, end_ms: float) -> list[dict]:
    """Every double-owner episode (rounds in which two MACs answered ARP for the VIP; consecutive
    rounds are one episode) that overlaps [start_ms, end_ms]: {start_ms, end_ms (None: still on),
    macs}."""
    episodes: list[dict] = []
    for ev in events:
        if ev.get("ev") == "conflict":
            episodes.append({"start_ms": float(ev["round"]["mono_ms"]), "end_ms": None, "macs": list(ev["macs"])})
        elif ev.get("ev") == "conflict_end" and episodes and episodes[-1]["end_ms"] is None:
            episodes[-1]["end_ms"] = float(ev["last_round"]["mono_ms"])
            episodes[-1]["macs"] = list(ev["macs"])
    return [e for e in episodes if e["start_ms"] <= end_ms and (e["end_ms"] is None or e["end_ms"] >= start_ms)]


def tcp_state(events: Sequence[dict]) -> tuple[str, Optional[str], Optional[float]]:
    """(state, answer, since_ms) of the service at the end of the log: state "up", "down" or
    "unknown"; since_ms when the last TCP transition (an outage or a new answer) was seen."""
    for ev in reversed(events):
        if ev.get("ev") == "tcp_up":
            return "up", ev.get("answer"), float(ev["mono_ms"])
        if ev.get("ev") == "tcp_down":
            return "down", None, float(ev["mono_ms"])
    return "unknown", None, None


def arp_owner_seen(events: Sequence[dict], after_ms: float, mac: str) -> bool:
    """Whether `mac` answered ARP for the VIP in a round decided at or after after_ms."""
    return any(ev.get("ev") == "arp" and float(ev["mono_ms"]) >= after_ms and mac in ev.get("macs", ())
               for ev in events)


# -- figures ---------------------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (with few runs, p99 is the maximum)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Cell:
    """One fault x profile x stack: the runs that gave a figure, and what happened to the rest."""

    outages: list[float] = field(default_factory=list)
    conflicts: int = 0  # double-owner episodes over all runs
    failed: int = 0
    unsupported: Optional[str] = None
    not_run: Optional[str] = None

    @property
    def n(self) -> int:
        return len(self.outages)

    @property
    def median(self) -> Optional[float]:
        return statistics.median(self.outages) if self.outages else None

    @property
    def p99(self) -> Optional[float]:
        return percentile(self.outages, 99) if self.outages else None

    def to_dict(self) -> dict:
        return {"n": self.n, "median_ms": self.median, "p99_ms": self.p99, "double_owner": self.conflicts,
                "failed": self.failed, "unsupported": self.unsupported, "not_run": self.not_run,
                "outages_ms": self.outages}


def cells(rows: Iterable[dict]) -> dict[tuple[str, str, str], Cell]:
    """Group result rows ({fault, profile, stack, outage_ms or error or unsupported, conflicts})
    into cells keyed (fault, profile, stack)."""
    out: dict[tuple[str, str, str], Cell] = {}
    for row in rows:
        cell = out.setdefault((row["fault"], row["profile"], row["stack"]), Cell())
        if row.get("unsupported"):
            cell.unsupported = row["unsupported"]
        elif row.get("not_run"):
            cell.not_run = row["not_run"]
        elif row.get("outage_ms") is not None:
            cell.outages.append(float(row["outage_ms"]))
            cell.conflicts += int(row.get("conflicts") or 0)
        else:
            cell.failed += 1
            cell.conflicts += int(row.get("conflicts") or 0)
    return out


def ratio(ours: Optional[Cell], theirs: Optional[Cell]) -> Optional[float]:
    """ours / theirs of the medians (None when either has no figure or theirs is 0)."""
    if ours is None or theirs is None or ours.median is None or theirs.median is None or theirs.median <= 0:
        return None
    return ours.median / theirs.median


def _num(value: Optional[float], width: int) -> str:
    return f"{value:{width}.0f}" if value is not None else f"{'-':>{width}}"


def render_table(rows: Iterable[dict], stacks: Sequence[str], faults: Sequence[str], profiles: Sequence[str],
                 baseline: str = "ours") -> str:
    """One table: a line per fault and profile; per stack n, median and p99 outage (ms) and the
    double-owner episodes, and for the other stacks the ratio baseline/them of the medians.
    n is `ok/runs` when runs failed; an unsupported fault reads `not supported`."""
    table = cells(rows)
    group_w = {s: (27 if s == baseline else 34) for s in stacks}
    head1 = f"{'fault':<10}{'profile':<9}" + "".join(f"| {s:<{group_w[s] - 2}}" for s in stacks)
    head2 = f"{'':<19}" + "".join(
        "| " + f"{'n':>5}{'median':>7}{'p99':>7}{'dbl':>5}" + ("" if s == baseline else f"{'ratio':>7}") + " "
        for s in stacks)
    lines = [head1, head2, "-" * len(head2)]
    for fault in faults:
        for profile in profiles:
            line = f"{fault:<10}{profile:<9}"
            ours = table.get((fault, profile, baseline))
            for stack in stacks:
                cell = table.get((fault, profile, stack))
                width = group_w[stack] - 2
                if cell is None:
                    line += "| " + f"{'-':^{width}}"
                    continue
                if cell.unsupported:
                    line += "| " + f"{'not supported':^{width}}"
                    continue
                if cell.not_run and not cell.outages and not cell.failed:
                    line += "| " + f"{'not run':^{width}}"
                    continue
                runs = cell.n + cell.failed
                n = f"{cell.n}" if not cell.failed else f"{cell.n}/{runs}"
                text = f"{n:>5}{_num(cell.median, 7)}{_num(cell.p99, 7)}{cell.conflicts:>5}"
                if stack != baseline:
                    r = ratio(ours, cell)
                    text += f"{r:7.2f}" if r is not None else f"{'-':>7}"
                line += "| " + f"{text:<{width}}"
            lines.append(line.rstrip())
    return "\n".join(lines)
