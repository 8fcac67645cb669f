"""How fast and how reliably the messaging layer detects a dead node, and what a node costs.

    .venv/bin/python bench/detect.py                      # all three, the issue's sizes (~3 min)
    .venv/bin/python bench/detect.py --quick              # 5 runs, 10 s phases (a smoke test)
    .venv/bin/python bench/detect.py --only latency --runs 50

1. latency: a 3-node lab at keepalive 100 ms / deadtime 500 ms; node3's link is cut (its stack is
   frozen on a loopback lab) and node1 and node2 report when their `dead` event arrives. Printed:
   median and p99 of (latency - deadtime) over every observation (runs x 2 observers).
2. load: a lab at keepalive 50 ms / deadtime 250 ms while two busy loops saturate both cores;
   every `dead` event on any node is a false death (the goal is 0).
3. idle: CPU% and RSS/PSS of every daemon of every node over an idle period.

Run as root for namespaces (the figures the issue asks for); without root the lab runs on loopback.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import time
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.messages.hbapi import NodeStatusEvent  # noqa: E402
from lab import host, observe  # noqa: E402
from lab.lab import Lab, auto_mode  # noqa: E402
from lab.plan import LabSpec  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def now_ms() -> int:
    return time.monotonic_ns() // 1_000_000


def is_status(node: str, status: str):
    return lambda e: isinstance(e, NodeStatusEvent) and e.node == node and e.status == status


def make_spec(args: argparse.Namespace, keepalive_ms: int, deadtime_ms: int, suffix: str, third: int) -> LabSpec:
    mode = auto_mode() if args.mode == "auto" else args.mode
    return LabSpec(name=f"bd{suffix}", nodes=3, mode=mode, media="bcast" if mode == "netns" else "ucast",
                   subnet=f"198.18.{third}.0/24", keepalive_ms=keepalive_ms, deadtime_ms=deadtime_ms,
                   realtime=args.realtime)


# -- 1. latency -----------------------------------------------------------------------------------
def measure_latency(lab: Lab, runs: int) -> list[int]:
    how = "link" if lab.spec.mode == "netns" else "hang"
    deadtime = lab.spec.deadtime_ms
    results: list[int] = []
    for run in range(runs):
        lab.wait_all_see("active", timeout_s=30)
        time.sleep(random.uniform(0.5, 1.0))  # settle, and cut at a random phase of the heartbeat
        watchers = [observe.Events(lab.paths(n), f"bench-{n}") for n in ("node1", "node2")]
        try:
            cut = now_ms()
            lab.fail("node3", how)
            for watcher in watchers:
                got = watcher.wait_for(is_status("node3", "dead"), timeout_ms=10 * deadtime)
                if got is None:
                    raise RuntimeError(f"run {run}: no dead event within {10 * deadtime} ms")
                results.append(got[1] - cut)
            lab.heal("node3")
            for watcher in watchers:
                if watcher.wait_for(is_status("node3", "active"), timeout_ms=20_000) is None:
                    raise RuntimeError(f"run {run}: node3 did not come back")
        finally:
            for watcher in watchers:
                watcher.close()
        print(f"  run {run + 1:>3}/{runs}: {results[-2]} ms, {results[-1]} ms", flush=True)
    return results


def report_latency(results: list[int], deadtime: int, how: str) -> None:
    over = [r - deadtime for r in results]
    print(f"latency ({how} cut -> dead event), {len(results)} observations:")
    print(f"  latency - deadtime: median {statistics.median(over):.0f} ms, p99 {percentile(over, 99):.0f} ms, "
          f"min {min(over)} ms, max {max(over)} ms")


# -- 2. false deaths under load -----------------------------------------------------------------
def measure_load(lab: Lab, seconds: float) -> tuple[int, int, list[str]]:
    lab.wait_all_see("active", timeout_s=30)
    watchers = {n: observe.Events(lab.paths(n), f"bench-{n}") for n in lab.nodes}
    late_before = sum(observe.query(lab.paths(n), "counters").get("late_heartbeats", 0) for n in lab.nodes)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    deaths: list[str] = []
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for node, watcher in watchers.items():
                event = watcher.next(20)
                while event is not None:
                    if isinstance(event, NodeStatusEvent) and event.status == "dead":
                        deaths.append(f"{node} saw {event.node} dead at +{seconds - (deadline - time.monotonic()):.1f} s")
                    event = watcher.next(0)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        for watcher in watchers.values():
            watcher.close()
    late_after = sum(observe.query(lab.paths(n), "counters").get("late_heartbeats", 0) for n in lab.nodes)
    return len(hogs), late_after - late_before, deaths


# -- 3. idle footprint -----------------------------------------------------------------------------
def cpu_ticks(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def memory_kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm", encoding="ascii") as handle:
        return handle.read().strip()


def measure_idle(lab: Lab, seconds: float) -> None:
    lab.wait_all_see("active", timeout_s=30)
    procs = {n: lab.processes(n) for n in lab.nodes}
    start = {pid: cpu_ticks(pid) for ps in procs.values() for pid, _ in ps}
    time.sleep(seconds)  # the measured interval itself, not a wait for an event
    rows: dict[str, list[tuple[float, int, int]]] = {}
    per_node: dict[str, int] = {}
    for node, ps in procs.items():
        for pid, started in ps:
            end = cpu_ticks(pid)
            if end is None or start.get(pid) is None or not host.alive(pid, started):
                continue
            cpu = 100.0 * (end - start[pid]) / CLK_TCK / seconds
            rss, pss = memory_kb(pid)
            rows.setdefault(comm(pid), []).append((cpu, rss, pss))
            per_node[node] = per_node.get(node, 0) + pss
    print(f"idle footprint over {seconds:g} s (mean per node):")
    print(f"  {'process':<16}{'CPU %':>8}{'RSS MB':>9}{'PSS MB':>9}")
    for name, values in sorted(rows.items()):
        cpu = statistics.mean(v[0] for v in values)
        rss = statistics.mean(v[1] for v in values) / 1024
        pss = statistics.mean(v[2] for v in values) / 1024
        print(f"  {name:<16}{cpu:>8.2f}{rss:>9.1f}{pss:>9.1f}")
    print("  PSS per node: " + ", ".join(f"{n} {kb / 1024:.1f} MB" for n, kb in per_node.items()))


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--only", default="latency,load,idle")
    parser.add_argument("--quick", action="store_true", help="5 runs, 10 s load and idle phases")
    parser.add_argument("--mode", choices=("auto", "netns", "loopback"), default="auto")
    parser.add_argument("--realtime", choices=("on", "off"), default="on")
    args = parser.parse_args(argv)
    args.realtime = args.realtime == "on"
    if args.quick:
        args.runs, args.load_seconds, args.idle_seconds = 5, 10.0, 10.0
    only = set(args.only.split(","))
    print(f"bench/detect.py: {os.cpu_count()} CPUs, realtime {'on' if args.realtime else 'off'}, "
          f"mode {auto_mode() if args.mode == 'auto' else args.mode}", flush=True)
    if only & {"latency", "idle"}:
        lab = Lab.up(make_spec(args, 100, 500, "lat", 7))
        try:
            if "idle" in only:
                measure_idle(lab, args.idle_seconds)
            if "latency" in only:
                results = measure_latency(lab, args.runs)
                report_latency(results, lab.spec.deadtime_ms, "link" if lab.spec.mode == "netns" else "hang")
        finally:
            lab.down()
    if "load" in only:
        lab = Lab.up(make_spec(args, 50, 250, "load", 8))
        try:
            hogs, late, deaths = measure_load(lab, args.load_seconds)
            print(f"false deaths under {hogs} busy loops for {args.load_seconds:g} s at keepalive 50 ms / "
                  f"deadtime 250 ms: {len(deaths)} (late heartbeats: {late})")
            for death in deaths[:10]:
                print(f"  {death}")
        finally:
            lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
