"""Failover time of a resource group, Heartbeat 3.0.6 against pyheartbeat, on the same lab.

    .venv/bin/python bench/failover.py --stack heartbeat --runs 10
    .venv/bin/python bench/failover.py --stack both --runs 20 [--json out.json]

Each run brings up a fresh 2-node lab (namespaces, bridge, client; see docs/lab.md) with

    keepalive 100ms, deadtime 500ms, warntime 300ms, initdead 2s, bcast eth0, auto_failback on
    haresources: node1 IPaddr2::VIP/24/eth0 tcpsvc::8080          (VIP = lab subnet + 100)

and runs the chosen stack on both nodes, waits until the client gets a TCP answer from node1
through the VIP (bench/svc/tcpsvc answers "NODE ADDR"), cuts node1's link (`lab.fail('node1',
'link')`: the host end of its veth goes down) and measures, from the client's namespace, the time
from the cut to the first answer from node2 through the VIP. The probe (bench/probe.py) starts a
connection every 10 ms with a 50 ms connect timeout, attempts overlapping, on time.monotonic().
Printed per stack: n, median, p99, min and max of (failover - deadtime), and the ratio
pyheartbeat / Heartbeat 3.0.6 when both ran. With both stacks the runs alternate, so load on a
shared machine falls on both alike.

Stacks:
* heartbeat: Debian's Heartbeat 3.0.6 (/usr/libexec/heartbeat/heartbeat), one per node namespace
  with its own mount and UTS namespaces (lab/heartbeat306.py); the lab runs no stack of ours.
* ours: pyheartbeat, started by the lab (`Lab.start_node`) on node directories that hold the same
  haresources and resource.d/tcpsvc. It measures something once our stack acquires haresources
  groups; until then a run fails with "no answer from node1" (and the stack is dropped).

Needs root, socat, and for `heartbeat` the Debian packages heartbeat and resource-agents.
Labs: `bfohb` on 198.18.12.0/24 and `bfous` on 198.18.13.0/24 (swept before each run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Protocol

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from lab import heartbeat306, plan  # noqa: E402
from lab.lab import Lab, sweep  # noqa: E402
from lab.plan import LabError, LabSpec  # noqa: E402
from probe import Change, parse_line  # noqa: E402

SERVICE = os.path.join(HERE, "svc", "tcpsvc")
PROBE = os.path.join(HERE, "probe.py")
STACKS = ("heartbeat", "ours")
LABS = {"heartbeat": ("bfohb", "198.18.12.0/24"), "ours": ("bfous", "198.18.13.0/24")}
VIP_OFFSET = 100


class RunError(Exception):
    """A run that produced no figure (the stack did not come up, did not fail over, ...)."""


@dataclass(frozen=True)
class Setup:
    """The cluster every run measures; the same for both stacks."""

    keepalive_ms: int = 100
    deadtime_ms: int = 500
    warntime_ms: int = 300
    initdead_ms: int = 2000
    port: int = 8080
    realtime: bool = True
    start_timeout_s: float = 60.0  # stacks up -> node1 answers (Heartbeat 3.0.6 waits ~10 s)
    settle_s: float = 1.0  # node1 answers this long, undisturbed, before the cut
    failover_timeout_s: float = 30.0  # after deadtime
    ours_hacf: tuple[str, ...] = ()


@dataclass
class RunResult:
    stack: str
    run: int
    failover_ms: float  # cut -> first answer from node2 through the VIP
    over_deadtime_ms: float
    cut_ms: float  # how long `lab.fail` took
    vip_moved_ms: Optional[float]  # cut -> first answer of any kind from the VIP's new holder: a
    #                                refused connection (VIP up, service not yet) or the service
    node1_after_s: float  # stacks started -> first answer from node1
    outage_changes: list[str] = field(default_factory=list)  # what the probe saw in between


def lab_spec(stack: str, setup: Setup) -> LabSpec:
    name, subnet = LABS[stack]
    return LabSpec(name=name, nodes=2, subnet=subnet, media="bcast", keepalive_ms=setup.keepalive_ms,
                   deadtime_ms=setup.deadtime_ms, warntime_ms=setup.warntime_ms, initdead_ms=setup.initdead_ms,
                   realtime=setup.realtime, extra_hacf=setup.ours_hacf if stack == "ours" else (),
                   run_stack=False)


def vip(spec: LabSpec) -> str:
    return str(plan.network(spec).network_address + VIP_OFFSET)


def haresources(spec: LabSpec, port: int) -> str:
    return f"node1 IPaddr2::{vip(spec)}/{plan.network(spec).prefixlen}/{plan.IFACE} tcpsvc::{port}\n"


# -- the stacks ------------------------------------------------------------------------------------
class Driver(Protocol):
    """One cluster stack on a lab whose nodes run nothing yet (LabSpec.run_stack=False)."""

    def start(self) -> None: ...
    def wait_active(self, timeout_s: float) -> float: ...
    def cleanup(self) -> list[str]: ...
    def diagnostics(self) -> str: ...


class HeartbeatDriver:
    """Debian's Heartbeat 3.0.6 on every node of the lab."""

    def __init__(self, lab: Lab, setup: Setup) -> None:
        self.cluster = heartbeat306.cluster_for_lab(lab, haresources(lab.spec, setup.port), {"tcpsvc": SERVICE})

    def start(self) -> None:
        self.cluster.start()

    def wait_active(self, timeout_s: float) -> float:
        return self.cluster.wait_active(timeout_s)

    def cleanup(self) -> list[str]:
        # not graceful: the lab is thrown away, and a cut-off node1 gains nothing from a clean stop
        return self.cluster.cleanup(graceful=False)

    def diagnostics(self) -> str:
        return "".join(node.log_tail() for node in self.cluster.nodes)


class OursDriver:
    """pyheartbeat, started by the lab on node directories that also hold haresources and
    resource.d/tcpsvc (our lrmd looks in <confdir>/resource.d first)."""

    def __init__(self, lab: Lab, setup: Setup) -> None:
        self.lab = lab
        text = haresources(lab.spec, setup.port)
        for node in lab.nodes:
            confdir = lab.paths(node).confdir
            with open(os.path.join(confdir, "haresources"), "w", encoding="utf-8") as handle:
                handle.write(text)
            rsc_dir = os.path.join(confdir, "resource.d")
            os.makedirs(rsc_dir, exist_ok=True)
            shutil.copyfile(SERVICE, os.path.join(rsc_dir, "tcpsvc"))
            os.chmod(os.path.join(rsc_dir, "tcpsvc"), 0o755)

    def start(self) -> None:
        for node in self.lab.nodes:
            self.lab.start_node(node)

    def wait_active(self, timeout_s: float) -> float:
        return self.lab.wait_all_see("active", timeout_s)

    def cleanup(self) -> list[str]:
        return [p for node in self.lab.nodes for p in self.lab.stop_node(node)]

    def diagnostics(self) -> str:
        from lab import stack  # the launcher's output of each node
        return "".join(stack.log_tail(self.lab.spec, node) for node in self.lab.nodes)


DRIVERS: dict[str, Callable[[Lab, Setup], Driver]] = {"heartbeat": HeartbeatDriver, "ours": OursDriver}


# -- the probe ---------------------------------------------------------------------------------------
class ProbeProcess:
    """bench/probe.py running in the client's namespace; its changes arrive on a queue."""

    def __init__(self, lab: Lab, address: str, port: int) -> None:
        argv = lab.exec_argv("client", [sys.executable, PROBE, f"{address}:{port}", "--interval-ms", "10",
                                        "--connect-timeout-ms", "50", "--read-timeout-ms", "100",
                                        "--max-s", "600"])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.changes: "queue.Queue[Optional[Change]]" = queue.Queue()
        self.seen: list[Change] = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(10):
            self.close()
            raise RunError(f"the probe did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("ready "):
                self.ready.set()
                continue
            change = parse_line(line)
            if change is not None:
                self.changes.put(change)
        self.changes.put(None)  # EOF

    def next(self, deadline: float) -> Optional[Change]:
        """The next change before the deadline (monotonic), else None."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            change = self.changes.get(timeout=remaining)
        except queue.Empty:
            return None
        if change is None:
            raise RunError("the probe ended early")
        self.seen.append(change)
        return change

    def wait_for(self, predicate: Callable[[Change], bool], timeout_s: float) -> Optional[Change]:
        deadline = time.monotonic() + timeout_s
        while True:
            change = self.next(deadline)
            if change is None or predicate(change):
                return change

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()  # EOF ends the probe
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
        self.reader.join(5)

    def __enter__(self) -> "ProbeProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def answered_by(spec: LabSpec) -> Callable[[Change], Optional[str]]:
    """Which node an answer names: tcpsvc says "NAME ADDR"; the address decides (the name is the
    node's under both stacks, but an address cannot be mistaken)."""
    by_addr = {plan.address(spec, n): n for n in plan.node_names(spec)}

    def node_of(change: Change) -> Optional[str]:
        if not change.ok:
            return None
        words = change.answer.split()
        if len(words) >= 2 and words[1] in by_addr:
            return by_addr[words[1]]
        return words[0] if words and words[0] in by_addr.values() else None
    return node_of


# -- one run -----------------------------------------------------------------------------------------
def one_run(stack: str, run: int, setup: Setup, log: Callable[[str], None]) -> RunResult:
    """One lab, one stack, one cut; the lab and everything in it are gone when this returns."""
    spec = lab_spec(stack, setup)
    for line in sweep(spec.name):  # what a killed earlier run left behind
        log(f"  swept: {line}")
    lab = Lab.up(spec)
    problems: list[str] = []
    try:
        driver = DRIVERS[stack](lab, setup)
        try:
            result = _measure(lab, driver, stack, run, setup)
        except (RunError, LabError) as exc:
            raise RunError(f"{exc}{driver.diagnostics()}") from None
        finally:
            problems += driver.cleanup()
    finally:
        problems += lab.down()
        if problems:
            log(f"  cleanup problems: {'; '.join(problems)}")
    if problems:
        raise RunError(f"cleanup left things behind: {'; '.join(problems)}")
    return result


def _measure(lab: Lab, driver: Driver, stack: str, run: int, setup: Setup) -> RunResult:
    spec = lab.spec
    node_of = answered_by(spec)
    started = time.monotonic()
    driver.start()
    driver.wait_active(30.0)
    with ProbeProcess(lab, vip(spec), setup.port) as probe:
        first = probe.wait_for(lambda c: node_of(c) is not None, setup.start_timeout_s)
        if first is None:
            raise RunError(f"no answer through {vip(spec)}:{setup.port} within {setup.start_timeout_s:g} s "
                           f"of the stacks being active: the group `{haresources(spec, setup.port).strip()}` "
                           f"did not start (probe saw: {[c.answer for c in probe.seen][-5:]})")
        if node_of(first) != "node1":
            raise RunError(f"the group started on {node_of(first)}, not node1")
        node1_after_s = first.done - started
        _settle(probe, node_of, setup)
        cut = time.monotonic()
        lab.fail("node1", "link")
        cut_done = time.monotonic()
        outage: list[str] = []
        timeout_s = setup.deadtime_ms / 1000 + setup.failover_timeout_s

        def from_node2(change: Change) -> bool:
            if change.done >= cut:
                outage.append(f"+{(change.done - cut) * 1000:.0f}ms {change.answer}")
            return change.done >= cut and node_of(change) == "node2"
        got = probe.wait_for(from_node2, timeout_s)
        if got is None:
            raise RunError(f"node2 did not answer within {timeout_s:g} s of the cut (probe saw: {outage[-5:]})")
    failover_ms = (got.done - cut) * 1000
    moved = [c for c in probe.seen if c.done >= cut and (c.ok or c.answer == "-ECONNREFUSED")]
    return RunResult(stack=stack, run=run, failover_ms=round(failover_ms, 1),
                     over_deadtime_ms=round(failover_ms - setup.deadtime_ms, 1),
                     cut_ms=round((cut_done - cut) * 1000, 1),
                     vip_moved_ms=round((moved[0].done - cut) * 1000, 1) if moved else None,
                     node1_after_s=round(node1_after_s, 2),
                     outage_changes=outage)


def _settle(probe: ProbeProcess, node_of: Callable[[Change], Optional[str]], setup: Setup,
            tries: int = 10) -> None:
    """Return once node1 has answered undisturbed for settle_s plus a random part of a keepalive
    (so the cut falls at a random phase of the heartbeat; this wait is the experiment's own, not a
    stand-in for an event). A disturbance (an answer lost on a busy machine) starts it again once
    node1 answers again, up to `tries` times."""
    for _ in range(tries):
        quiet = setup.settle_s + random.uniform(0, setup.keepalive_ms / 1000)
        noise = probe.next(time.monotonic() + quiet)
        if noise is None:
            return
        if node_of(noise) != "node1" and probe.wait_for(lambda c: node_of(c) == "node1", 10.0) is None:
            raise RunError(f"node1 stopped answering before the cut: {noise.answer!r}")
    raise RunError(f"node1's answers were disturbed {tries} times before the cut "
                   f"(probe saw: {[c.answer for c in probe.seen][-5:]})")


# -- figures -----------------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (with few runs, p99 is the maximum)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median": statistics.median(values), "p99": percentile(values, 99),
            "min": min(values), "max": max(values)}


def report(results: dict[str, list[RunResult]], failures: dict[str, str], failed_runs: dict[str, int],
           setup: Setup) -> dict:
    """Print and return (for --json) the figures per stack and the ratio ours / heartbeat."""
    out: dict = {"setup": asdict(setup), "stacks": {}}
    print(f"\nfailover - deadtime ({setup.deadtime_ms} ms), link cut of node1, answer from node2 through the VIP:")
    for stack in results:
        values = [r.over_deadtime_ms for r in results[stack]]
        if values:
            s = summary(values)
            out["stacks"][stack] = {"summary": s, "runs": [asdict(r) for r in results[stack]],
                                    "failed_runs": failed_runs.get(stack, 0)}
            failed = f"  ({failed_runs[stack]} failed runs)" if failed_runs.get(stack) else ""
            print(f"  {stack:<9} n={s['n']:<3} median {s['median']:7.0f} ms  p99 {s['p99']:7.0f} ms  "
                  f"min {s['min']:7.0f} ms  max {s['max']:7.0f} ms{failed}")
            moved = [r.vip_moved_ms - setup.deadtime_ms for r in results[stack] if r.vip_moved_ms is not None]
            if moved:
                m = summary(moved)
                out["stacks"][stack]["vip_moved_summary"] = m
                print(f"  {'':<9} (VIP moved - deadtime: median {m['median']:.0f} ms, p99 {m['p99']:.0f} ms, "
                      f"n={m['n']}; the rest is the service's start)")
        if stack in failures:
            out["stacks"].setdefault(stack, {})["failed"] = failures[stack]
            print(f"  {stack:<9} FAILED: {failures[stack].splitlines()[0]}")
    got = out["stacks"]
    if all("summary" in got.get(s, {}) for s in STACKS):
        hb, ours = got["heartbeat"]["summary"], got["ours"]["summary"]
        ratio = {k: (ours[k] / hb[k] if hb[k] > 0 else float("nan")) for k in ("median", "p99")}
        out["ratio_ours_over_heartbeat"] = ratio
        print(f"  ratio ours/heartbeat: median {ratio['median']:.2f}, p99 {ratio['p99']:.2f}")
    return out


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="failover time, Heartbeat 3.0.6 vs pyheartbeat, on the lab")
    parser.add_argument("--stack", choices=STACKS + ("both",), default="both")
    parser.add_argument("--runs", type=int, default=10, help="runs per stack (default 10)")
    parser.add_argument("--json", metavar="FILE", help="also write every run and the summary as JSON")
    parser.add_argument("--realtime", choices=("on", "off"), default="on", help="ha.cf realtime (both stacks)")
    parser.add_argument("--start-timeout", type=float, default=Setup.start_timeout_s, metavar="S",
                        help="stacks active -> node1 answers through the VIP (default %(default)s)")
    parser.add_argument("--max-failures", type=int, default=3, metavar="N",
                        help="give a stack up after N failed runs (at once if its first run fails)")
    parser.add_argument("--ours-hacf", action="append", default=[], metavar="LINE",
                        help="extra ha.cf line for our stack only (repeatable)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs: want at least 1")
    stacks = list(STACKS) if args.stack == "both" else [args.stack]
    problems = [] if shutil.which("socat") else ["needs socat (apt-get install socat)"]
    if "heartbeat" in stacks:
        problems += heartbeat306.missing(resources=True)
    elif os.geteuid() != 0:
        problems.append("needs root (network namespaces)")
    if problems:
        print("bench/failover.py: " + "; ".join(dict.fromkeys(problems)), file=sys.stderr)
        return 2
    setup = Setup(realtime=args.realtime == "on", start_timeout_s=args.start_timeout, ours_hacf=tuple(args.ours_hacf))
    results: dict[str, list[RunResult]] = {s: [] for s in stacks}
    failures: dict[str, str] = {}  # stacks given up, with why
    failed_runs: dict[str, int] = {s: 0 for s in stacks}
    print(f"{args.runs} runs per stack ({', '.join(stacks)}), keepalive {setup.keepalive_ms} ms, deadtime "
          f"{setup.deadtime_ms} ms, warntime {setup.warntime_ms} ms, initdead {setup.initdead_ms} ms", flush=True)
    for run in range(1, args.runs + 1):
        for stack in [s for s in stacks if s not in failures]:
            try:
                r = one_run(stack, run, setup, lambda text: print(text, flush=True))
            except (RunError, LabError) as exc:
                failed_runs[stack] += 1
                print(f"  {stack} run {run}: FAILED: {exc}", flush=True)
                # a stack that never worked is given up at once, one that did after max_failures
                if not results[stack] or failed_runs[stack] >= args.max_failures:
                    failures[stack] = f"run {run}: {exc}"
                continue
            results[stack].append(r)
            moved = f"{r.vip_moved_ms:.0f} ms" if r.vip_moved_ms is not None else "-"
            print(f"  {stack:<9} run {run:>3}/{args.runs}: failover {r.failover_ms:6.0f} ms "
                  f"(- deadtime {r.over_deadtime_ms:5.0f} ms; VIP moved {moved}), node1 served "
                  f"{r.node1_after_s:.1f} s after start; probe: {' '.join(r.outage_changes)}", flush=True)
        if len(failures) == len(stacks):
            break
    out = report(results, failures, failed_runs, setup)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=1)
    return 1 if failures or any(failed_runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
