"""The fault campaign's plan and its figures, computed without touching the lab (sans-I/O).

`hb cts` (lab/cts.py) throws a seeded sequence of faults at a namespace lab and audits the
cluster after each. What the sequence is, which fault kinds exist and when each applies, how a
fault names its victim (the node holding the group, or another one, chosen at run time because
who holds the group depends on what happened before), and how the results are summed up live
here, so the same seed always gives the same sequence and the arithmetic is tested alone.

Fault kinds (Pacemaker's CTS names in brackets, see ../shared/reference/crm-tengine-stonith.md §6):

| kind              | what is done                                                   | healed by                 |
|-------------------|----------------------------------------------------------------|---------------------------|
| kill-<daemon>     | SIGKILL of one daemon of the victim [ComponentFail]            | the launcher respawns it  |
| kill-stack        | SIGKILL of the victim's whole stack; its services stay up      | fenced, powered on        |
| power-off         | the victim's power is cut (lab switch)                         | powered on                |
| link              | the victim's cable is pulled                                   | fenced; cable back        |
| partition         | the victim (and, with 5+ nodes, one more) cut from the rest    | fenced; healed            |
| hang              | SIGSTOP of the victim's stack beyond deadtime                  | fenced, or SIGCONT        |
| loss              | 20-50 % packet loss on the victim for a few seconds            | loss removed              |
| monitor-fail      | the group's TCP service dies [ResourceRecover]                 | recovered in place        |
| stop-fail         | the next stop of `flaky` fails, then it is moved               | its node is fenced        |
| slow-start        | the next start of `flaky` hangs beyond its timeout             | it starts elsewhere       |
| restart           | graceful stop of the victim, then start [RestartTest]          |                           |
| standby           | the victim goes standby, then online [Standby]                 |                           |
| move              | the group is moved to another node (crm_resource --move)       | constraint cleared        |
| cib-change        | a CIB change lands while a transition runs                     |                           |
| fence             | an operator reboots the victim (hb stonith fence) [StonithdTest]|                          |
| rogue-address     | (audit self-test, only when named) another node takes the address for 1 s |            |
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from typing import Iterable, Optional, Sequence

DAEMONS = ("messaging", "ccm", "lrmd", "crmd", "pengine", "tengine", "stonithd", "logd")
NODE_LOSS = ("kill-stack", "power-off", "link", "partition", "hang")
KINDS = tuple(f"kill-{d}" for d in DAEMONS) + NODE_LOSS + (
    "loss", "monitor-fail", "stop-fail", "slow-start", "restart", "standby", "move", "cib-change", "fence")
# what only a CIB-configured cluster has: the `flaky` resource, crm_resource, CIB edits, and
# resource monitoring (haresources resources are not monitored, as under Heartbeat 1)
CIB_ONLY = ("stop-fail", "slow-start", "move", "cib-change", "monitor-fail")
# the audits' own test: a node takes the floating address behind the cluster's back for a
# second; the campaign must report two owners (never chosen unless named in --kinds)
SELF_TEST = ("rogue-address",)
MODES = ("cib", "haresources")
# Where a fault lands: the node that holds the group, or another one.
HOLDER, OTHER = "holder", "other"


class PlanError(ValueError):
    """A campaign that cannot be planned (an unknown kind, too few nodes); the user fixes the options."""


@dataclass(frozen=True)
class Fault:
    """One fault of the plan. `where` picks the victim at run time (HOLDER: the node the group
    runs on; OTHER: the pick-th of the other running nodes, modulo their number); `amount` is
    the kind's own parameter (loss percent, hang length in deadtimes)."""

    index: int
    kind: str
    where: str
    pick: int
    amount: int = 0

    def describe(self) -> str:
        extra = {"loss": f" {self.amount}%", "hang": f" x{self.amount} deadtime"}.get(self.kind, "")
        return f"#{self.index} {self.kind}{extra} on the {self.where}"


def kinds_for(mode: str, nodes: int) -> tuple[str, ...]:
    """The fault kinds a campaign of this mode and size can run."""
    if mode not in MODES:
        raise PlanError(f"--mode {mode!r}: want one of {', '.join(MODES)}")
    if nodes < 2:
        raise PlanError(f"--nodes {nodes}: a campaign needs at least 2 nodes")
    return tuple(k for k in KINDS if mode == "cib" or k not in CIB_ONLY)


def make_plan(seed: int, count: int, mode: str, nodes: int, kinds: Optional[Iterable[str]] = None) -> list[Fault]:
    """`count` faults drawn from `kinds` (default: every kind that applies), seeded: each kind in
    turn in a shuffled order, so a short campaign still covers every kind once before any kind
    comes twice."""
    allowed = kinds_for(mode, nodes)
    chosen = list(kinds) if kinds is not None else list(allowed)
    allowed = allowed + tuple(k for k in SELF_TEST if kinds is not None)
    unknown = [k for k in chosen if k not in KINDS + SELF_TEST]
    if unknown:
        raise PlanError(f"unknown fault kind(s): {', '.join(unknown)}; known: {', '.join(KINDS)}")
    unfit = [k for k in chosen if k not in allowed]
    if unfit:
        raise PlanError(f"fault kind(s) {', '.join(unfit)} do not apply to a {nodes}-node {mode} campaign")
    if not chosen:
        raise PlanError("no fault kinds to run")
    if count < 0:
        raise PlanError(f"--faults {count}: want 0 or more")
    rng = random.Random(seed)
    out: list[Fault] = []
    deck: list[str] = []
    for index in range(count):
        if not deck:
            deck = list(chosen)
            rng.shuffle(deck)
        kind = deck.pop()
        where = HOLDER if kind in ("monitor-fail", "move", "stop-fail", "slow-start") else rng.choice((HOLDER, OTHER))
        amount = rng.randint(20, 50) if kind == "loss" else rng.randint(2, 4) if kind == "hang" else 0
        out.append(Fault(index + 1, kind, where, rng.randrange(1 << 16), amount))
    return out


# -- figures ---------------------------------------------------------------------------------------

@dataclass
class FaultResult:
    """What one fault did: times in ms from the moment it was injected."""

    fault: Fault
    victim: str
    holder_before: str
    holder_after: str = ""
    outage_ms: float = 0.0  # the client's longest time without an answer within the fault's window
    down_ms: float = 0.0  # all of the client's time without an answer within the window
    recovered_ms: Optional[float] = None  # the service answered again for good (None: it never stopped)
    settled_ms: Optional[float] = None  # every audit could run: one DC, idle, answering
    fenced: list[str] = field(default_factory=list)
    # a partition of five nodes or more: the other nodes cut off with the victim (the survivors
    # fence them too, one after the other, before the group starts: see Campaign.bound)
    lost_with: list[str] = field(default_factory=list)
    # for a failover after a node loss: what the outage may take (deadtime + fencing + the
    # group's own starts + 100 ms) and the parts it was computed from
    bound_ms: Optional[float] = None
    parts: dict[str, float] = field(default_factory=dict)
    # where that failover's time went (ms; see Campaign.bound): SEGMENTS, in order
    timeline: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["fault"] = asdict(self.fault)
        return out


# A failover's time after a node loss, in order (ms, the observer's and the daemons' shared wall
# clock): fault -> fencing requested (the fencer's completion minus the device's run and its
# delay) minus deadtime = "detect"; the fencing itself; its completion -> the first start began;
# the time between the group's starts (each began after the previous ended); the last start's end
# -> the observer's first answer.
SEGMENTS = ("detect", "fencing", "to_first_start", "between_starts", "to_answer")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def stats(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return {"n": len(values), "median": round(median, 1), "p99": round(percentile(values, 99), 1),
            "max": round(ordered[-1], 1)}


def summarize(results: Sequence[FaultResult], seed: int, wall_s: float) -> dict:
    """The campaign's one summary: faults by kind, violations, outage and recovery per kind."""
    by_kind: dict[str, list[FaultResult]] = {}
    for r in results:
        by_kind.setdefault(r.fault.kind, []).append(r)
    kinds = {}
    for kind in sorted(by_kind):
        rs = by_kind[kind]
        outages = [r.outage_ms for r in rs if r.outage_ms > 0]
        kinds[kind] = {"faults": len(rs), "violations": sum(len(r.violations) for r in rs),
                       "with_outage": len(outages), "outage_ms": stats(outages),
                       "recovery_ms": stats([r.settled_ms for r in rs if r.settled_ms is not None])}
    bounded = [r for r in results if r.bound_ms is not None]
    overhead = [(r.recovered_ms or 0.0) - (r.bound_ms - 100.0) for r in bounded]
    return {"seed": seed, "faults": len(results), "wall_s": round(wall_s, 1),
            "violations": sum(len(r.violations) for r in results),
            "violation_list": [f"{r.fault.describe()} ({r.victim}): {v}" for r in results for v in r.violations],
            "failovers_bounded": len(bounded),
            "beyond_bound": sum(1 for r in bounded if (r.recovered_ms or 0.0) > (r.bound_ms or 0)),
            "overhead_ms": stats(overhead),
            "timeline_ms": {seg: stats([r.timeline[seg] for r in bounded if seg in r.timeline]) for seg in SEGMENTS},
            "fenced": sum(len(r.fenced) for r in results), "kinds": kinds}


def format_summary(summary: dict) -> str:
    lines = [f"campaign seed {summary['seed']}: {summary['faults']} faults in {summary['wall_s']} s, "
             f"{summary['violations']} violations, {summary['fenced']} fencings"]
    lines.append(f"{'kind':16} {'n':>4} {'viol':>4} {'outages':>7} {'outage ms med':>13} {'p99':>8} {'max':>8}"
                 f" {'recovery ms med':>15} {'p99':>8}")
    for kind, k in summary["kinds"].items():
        o, rc = k["outage_ms"], k["recovery_ms"]
        lines.append(f"{kind:16} {k['faults']:>4} {k['violations']:>4} {k['with_outage']:>7} "
                     f"{o.get('median', '-'):>13} {o.get('p99', '-'):>8} {o.get('max', '-'):>8} "
                     f"{rc.get('median', '-'):>15} {rc.get('p99', '-'):>8}")
    oh = summary["overhead_ms"]
    lines.append(f"failovers after a node loss: {summary['failovers_bounded']}, service back later than deadtime + "
                 f"fencing + starts + 100 ms: {summary['beyond_bound']}; back minus (deadtime + fencing + starts): "
                 f"median {oh.get('median', '-')} ms, p99 {oh.get('p99', '-')} ms, max {oh.get('max', '-')} ms")
    timeline = summary.get("timeline_ms") or {}
    if any(t.get("n") for t in timeline.values()):
        lines.append("  where it went (median / p99 / max ms): " + "; ".join(
            f"{seg} {t.get('median', '-')}/{t.get('p99', '-')}/{t.get('max', '-')}" for seg, t in timeline.items()
            if t.get("n")))
    for v in summary["violation_list"]:
        lines.append(f"VIOLATION {v}")
    return "\n".join(lines)
