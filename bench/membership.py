"""How fast the membership reacts, with real processes in a 5-node lab (keepalive 100 ms,
deadtime 500 ms), and how long the simulator's soak takes.

    .venv/bin/python bench/membership.py                  # 20 runs of cut/heal and of kill/restart
    .venv/bin/python bench/membership.py --runs 50
    .venv/bin/python bench/membership.py --soak 100000    # the simulator soak (no lab; ~1 h on 2 cores)

1. cut: node5's link goes down; measured from the cut until every survivor (node1..node4) has
   announced the agreed view {node1..node4} with quorum (MembershipEvents pushed by each node's
   ccm, timestamped on arrival). Printed minus deadtime: what the membership adds to detection.
2. heal: node5's link comes back; until all five announced the one merged view with quorum.
3. kill: node5's whole stack is SIGKILLed; until the four others announced their view (minus
   deadtime), checked against the stated bound (deadtime + bound, bound = 2 x deadtime); node5 is
   restarted between runs.
4. lossy (`--only lossy`, not by default): node1 and node2 drop `--loss` % of packets both ways
   for `--lossy-seconds`; the time the healthy node3..node5 spend without a quorate view (as
   their own ccm announces it), summed over the three, per run. A healthy majority should keep
   quorum throughout; the lossy nodes may be split off.

Run as root (namespaces). Median and p99 over the runs.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import statistics
import sys
import time
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.clock import monotonic_ms  # noqa: E402
from core.ipc import Client, next_request_id  # noqa: E402
from core.messages.ccm import CcmSubscribe, MembershipEvent  # noqa: E402
from lab.lab import Lab, sweep  # noqa: E402
from lab.plan import LabSpec  # noqa: E402

ALL = ["node1", "node2", "node3", "node4", "node5"]
SURVIVORS = ALL[:4]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Watcher:
    """A subscriber on one node's ccm.sock: every view/quorum event with its arrival time."""

    def __init__(self, lab: Lab, node: str) -> None:
        self.node = node
        self.client = Client(lab.paths(node), "ccm")
        self.client.request(CcmSubscribe(next_request_id(), "bench", os.getpid()), 2000)
        self.current: Optional[MembershipEvent] = None
        self.since_ms = 0

    def drain(self, timeout_ms: int) -> None:
        event = self.client.recv(timeout_ms)
        while event is not None:
            if isinstance(event, MembershipEvent):
                self.current, self.since_ms = event, monotonic_ms()
            event = self.client.recv(0)

    def close(self) -> None:
        self.client.close()


def wait_all(watchers: list[Watcher], members: list[str], timeout_ms: int) -> int:
    """When (monotonic ms) the last watcher's announced view became `members` with quorum."""
    deadline = monotonic_ms() + timeout_ms
    while True:
        for watcher in watchers:
            watcher.drain(0)
        done = [w for w in watchers if w.current is not None and w.current.members == members and w.current.quorum]
        if len(done) == len(watchers) and len({w.current.instance for w in done}) == 1:  # type: ignore[union-attr]
            return max(w.since_ms for w in watchers)
        if monotonic_ms() > deadline:
            raise RuntimeError(f"no agreed view {members} within {timeout_ms} ms: "
                               f"{ {w.node: w.current for w in watchers} }")
        watchers[0].drain(5)


def measure(lab: Lab, runs: int, how: str) -> tuple[list[int], list[int]]:
    """(cut -> survivors' view, heal -> merged view) in ms, per run."""
    deadtime = lab.spec.deadtime_ms
    downs: list[int] = []
    ups: list[int] = []
    for run in range(runs):
        watchers = [Watcher(lab, n) for n in ALL]
        try:
            wait_all(watchers, ALL, 30_000)
            time.sleep(0.3 + (run % 10) / 10 * lab.spec.keepalive_ms / 1000)  # cut at varying heartbeat phases
            cut = monotonic_ms()
            lab.fail("node5", how)
            downs.append(wait_all(watchers[:4], SURVIVORS, 20 * deadtime) - cut)
            if how == "kill":
                watchers[4].close()
            healed = monotonic_ms()
            lab.heal("node5")
            if how == "kill":
                watchers[4] = Watcher(lab, "node5")
            ups.append(wait_all(watchers, ALL, 30_000) - healed)
        finally:
            for watcher in watchers:
                watcher.close()
        print(f"  {how} run {run + 1:>3}/{runs}: down {downs[-1]} ms, back {ups[-1]} ms", flush=True)
    return downs, ups


def measure_lossy(lab: Lab, runs: int, percent: float, seconds: float) -> list[int]:
    """Per run, the healthy nodes' summed time (ms) without a quorate view while node1 and node2
    are lossy."""
    healthy = ALL[2:]
    lost: list[int] = []
    for run in range(runs):
        watchers = [Watcher(lab, n) for n in ALL]
        try:
            wait_all(watchers, ALL, 30_000)
            for lossy in ALL[:2]:
                lab.set_loss(lossy, percent)
            started = last = monotonic_ms()
            out_ms = 0
            while last - started < seconds * 1000:
                for watcher in watchers:
                    watcher.drain(0)
                now = monotonic_ms()
                out_ms += (now - last) * sum(1 for w in watchers if w.node in healthy
                                             and not (w.current is not None and w.current.quorum))
                last = now
                time.sleep(0.005)
            for lossy in ALL[:2]:
                lab.set_loss(lossy, 0.0)
            wait_all(watchers, ALL, 30_000)
        finally:
            for watcher in watchers:
                watcher.close()
        lost.append(out_ms)
        print(f"  lossy run {run + 1:>3}/{runs}: healthy nodes without quorum {out_ms} ms", flush=True)
    return lost


def report(label: str, values: list[int], minus: int = 0) -> None:
    shifted = [v - minus for v in values]
    tail = f" minus deadtime ({minus} ms)" if minus else ""
    print(f"  {label}{tail}: median {statistics.median(shifted):.0f} ms, p99 {percentile(shifted, 99):.0f} ms, "
          f"min {min(shifted)} ms, max {max(shifted)} ms  ({len(values)} runs)")


def soak(seeds: int, jobs: int) -> int:
    from sim.cli import run_many

    started = time.monotonic()
    bad = 0
    converge: list[int] = []
    for result in run_many(range(seeds), (2, 7), jobs=jobs):
        if not result.ok:
            bad += 1
            print(f"VIOLATION {result.line()}\n{result.violation}\n{result.trace}", flush=True)
        elif result.converged_ms is not None:
            converge.append(result.converged_ms)
    elapsed = time.monotonic() - started
    converge.sort()
    print(f"soak: {seeds} seeds (2-7 nodes) on {jobs} processes: {bad} violations in {elapsed:.0f} s; "
          f"convergence after heal: median {converge[len(converge) // 2]} ms, p99 {percentile(converge, 99):.0f} ms, "
          f"max {converge[-1]} ms")
    return 1 if bad else 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", default="cut,kill", help="cut,kill,lossy")
    parser.add_argument("--loss", type=float, default=35.0, help="lossy: percent lost on node1 and node2")
    parser.add_argument("--lossy-seconds", type=float, default=20.0)
    parser.add_argument("--soak", type=int, help="run this many simulator seeds instead of the lab")
    parser.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    args = parser.parse_args(argv)
    if args.soak:
        return soak(args.soak, args.jobs)
    if os.geteuid() != 0:
        print("bench/membership.py: the lab needs root (network namespaces)", file=sys.stderr)
        return 2
    spec = LabSpec(name="ccmb", nodes=5, subnet="198.18.31.0/24", keepalive_ms=100, deadtime_ms=500)
    sweep(spec.name)
    lab = Lab.up(spec)
    deadtime = spec.deadtime_ms
    bound = 2 * deadtime  # the stated bound (sim.membership.bound_ms): agreement within deadtime + bound
    try:
        print(f"bench/membership.py: 5 nodes, keepalive {spec.keepalive_ms} ms, deadtime {deadtime} ms, "
              f"{os.cpu_count()} CPUs", flush=True)
        results = {}
        for how in ("link", "kill"):
            if ("cut" if how == "link" else "kill") in args.only.split(","):
                results[how] = measure(lab, args.runs, how)
        if "link" in results:
            print("link cut of node5:")
            report("cut -> agreed view of the 4 survivors", results["link"][0], deadtime)
            report("heal -> agreed view of all 5", results["link"][1])
        if "kill" in results:
            downs = results["kill"][0]
            print("kill of node5's stack:")
            report("kill -> agreed view of the 4 others", downs, deadtime)
            report("restart -> agreed view of all 5 (includes starting the stack)", results["kill"][1])
            late = [d for d in downs if d > deadtime + bound]
            print(f"  within deadtime + bound ({deadtime + bound} ms): {len(downs) - len(late)}/{len(downs)} runs")
        if "lossy" in args.only.split(","):
            lost = measure_lossy(lab, args.runs, args.loss, args.lossy_seconds)
            print(f"node1 and node2 at {args.loss:g} % loss for {args.lossy_seconds:g} s:")
            print(f"  healthy nodes without quorum: {sum(1 for v in lost if v)}/{len(lost)} runs, "
                  f"{sum(lost)} ms in all, max {max(lost)} ms")
    finally:
        problems = lab.down()
        if problems:
            print("lab down problems: " + "; ".join(problems), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
