"""Fencing before takeover, measured: a link cut, the fencing, and the address answering on the
survivor; then fence races.

    .venv/bin/python bench/fence.py [--runs 20] [--races 10]

One 2-node lab (`crm yes`, keepalive 100 ms, deadtime 500 ms, namespaces: needs root) with the
lab's power switch (`--stonith lab`, stonith-action off) runs a group (IPaddr2 + a TCP service).
Each run cuts the link of the node holding the group, at t0, and measures:
- fence done: when the survivor's stonithd knew the holder was powered off (its fencing
  history's completion time, wall clock, compared with t0 on the same clock);
- answer: the first TCP answer through the address from the survivor (bench/probe.py in the
  client's namespace, a connection every 10 ms);
then powers the fenced node on, restores its link and waits until both are idle (the group stays
on the survivor: stickiness). A fence race cuts the nodes from each other (both links up, a
partition), so each sees the other dead at the same moment and both ask for fencing: exactly one
must be powered off (never both, never neither).
Printed: median and p99 of each step over the runs; the races with both (or neither) fenced; the
moments the client-side observer saw two nodes answer for the address over the whole bench
(must be 0). There is no Heartbeat 3.0.6 baseline: heartbeat 3 runs no STONITH in a v1 cluster
without a device plugin for namespaces, and its takeover does not wait for one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from failover import ProbeProcess, RunError, percentile  # noqa: E402
from lab import plan  # noqa: E402
from lab.cibs import web_group_cib  # noqa: E402
from lab.lab import Lab, wait_until  # noqa: E402
from lab.plan import LabSpec  # noqa: E402
from lab.vipwatch import VipWatch  # noqa: E402
from move import dc_idle  # noqa: E402
from tools import crmclient  # noqa: E402
from tools.stonith_admin import history  # noqa: E402

PORT = 8080
CIB = web_group_cib({"no-quorum-policy": "stop", "stonith-action": "off", "stonith-timeout": "20s"},
                    stickiness=100)


def fencings(lab: Lab, observer: str, target: str) -> list[dict]:
    import io

    out = io.StringIO()
    history(lab.paths(observer), target, True, out)
    return [r for r in json.loads(out.getvalue()) if r.get("state") == "done"]


def holder_of(lab: Lab) -> Optional[str]:
    for node in lab.nodes:
        try:
            if "vip" in (crmclient.status(lab.paths(node), timeout_ms=1000).get("active") or []):
                return node
        except (crmclient.CrmUnavailable, crmclient.CrmError):
            continue
    return None


def restore(lab: Lab) -> None:
    lab.refresh()
    lab.heal_all()
    wait_until(lambda: dc_idle(lab, list(lab.nodes)) and _one_view(lab), 60, "both nodes idle again")


def _one_view(lab: Lab) -> bool:
    views = _views(lab)
    return len(set(views)) == 1 and views[0] not in (None, 0)


def _views(lab: Lab) -> list[object]:
    out = []
    for node in lab.nodes:
        try:
            out.append(crmclient.status(lab.paths(node), timeout_ms=1000).get("view"))
        except (crmclient.CrmUnavailable, crmclient.CrmError):
            out.append(None)
    return out


def one_cut(lab: Lab, probe: ProbeProcess) -> tuple[float, float, str]:
    """(fence done, answer) in ms after the holder's link was cut, and the fenced node."""
    holder = holder_of(lab)
    if holder is None:
        raise RunError("nobody holds the group")
    survivor = next(n for n in lab.nodes if n != holder)
    before = len(fencings(lab, survivor, holder))
    t0_wall_ms, t0 = time.time() * 1000, time.monotonic()
    lab.fail(holder, "link")
    got = probe.wait_for(lambda c: c.ok and c.answer.split()[0] == survivor, 30.0)
    if got is None:
        raise RunError(f"{survivor} did not answer within 30 s of the cut")
    answer_ms = (got.done - t0) * 1000
    done = fencings(lab, survivor, holder)
    if len(done) != before + 1:
        raise RunError(f"{survivor} answered but its history shows {len(done) - before} new fencings of {holder}")
    fence_ms = done[-1]["completed_ms"] - t0_wall_ms
    if fence_ms > answer_ms:
        raise RunError(f"the address answered on {survivor} {answer_ms:.0f} ms after the cut, before the fencing "
                       f"was done ({fence_ms:.0f} ms)")
    restore(lab)
    return fence_ms, answer_ms, holder


def one_race(lab: Lab) -> list[str]:
    """The nodes powered off when the two lose each other at once."""
    lab.partition(["node1", "node2"])
    wait_until(lambda: _any_off(lab), 30, "a fencing")
    time.sleep(3.0)  # longer than the per-target delay: a second fencing would have happened by now
    lab.refresh()
    off = [n for n in lab.nodes if "off" in lab.state.nodes[n].faults]
    restore(lab)
    return off


def _any_off(lab: Lab) -> bool:
    lab.refresh()
    return any("off" in lab.state.nodes[n].faults for n in lab.nodes)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--races", type=int, default=10)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/fence.py needs root (namespaces)", file=sys.stderr)
        return 2
    tmp = tempfile.TemporaryDirectory(prefix="pyhb-fence-")
    cib_path = os.path.join(tmp.name, "cib.xml")
    with open(cib_path, "w", encoding="utf-8") as handle:
        handle.write(CIB)
    spec = LabSpec(name="bfence", nodes=2, subnet="198.18.15.0/24", crm=True, cib=cib_path, stonith="lab",
                   scripts=(os.path.join(HERE, "svc", "tcpsvc"),))
    print(f"bench/fence.py: {os.cpu_count()} CPUs, {args.runs} link cuts, {args.races} races, 2 nodes, "
          "keepalive 100 ms, deadtime 500 ms, external/lab (stonith-action off)", flush=True)
    results: list[tuple[float, float, str]] = []
    races: list[list[str]] = []
    failures: list[str] = []
    conflicts: list = []
    try:
        lab = Lab.up(spec)
    except BaseException:
        tmp.cleanup()
        raise
    try:
        vip = plan.vip(spec)
        wait_until(lambda: dc_idle(lab, ["node1", "node2"]) and _one_view(lab), 60, "the cluster formed and idle")
        watch = VipWatch.start(plan.namespace(spec, "client"), plan.IFACE, vip, PORT,
                               os.path.join(tmp.name, "vipwatch.jsonl"), tcp_timeout_ms=250)
        try:
            with ProbeProcess(lab, vip, PORT) as probe:
                if probe.wait_for(lambda c: c.ok, 30) is None:
                    raise RunError("nobody answered")
                for run in range(args.runs):
                    try:
                        results.append(one_cut(lab, probe))
                    except RunError as exc:
                        failures.append(f"cut {run + 1}: {exc}")
                        break
                    time.sleep(0.5)  # the client's neighbour entry accepts a new owner once a second
            for run in range(args.races):
                try:
                    races.append(one_race(lab))
                except RunError as exc:
                    failures.append(f"race {run + 1}: {exc}")
                    break
        finally:
            summary = watch.stop()
            conflicts = list(summary.conflicts) if summary is not None else ["observer lost"]
    finally:
        problems = lab.down()
        if problems:
            print("lab down: " + "; ".join(problems), file=sys.stderr)
        tmp.cleanup()
    deadtime = spec.deadtime_ms
    if results:
        for index, name in enumerate(("fence done", "address answering on the survivor")):
            values = [r[index] for r in results]
            print(f"  {name:<36} n={len(values)} median {statistics.median(values):7.1f} ms   "
                  f"p99 {percentile(values, 99):7.1f} ms   (after deadtime: median "
                  f"{statistics.median(values) - deadtime:6.1f}, p99 {percentile(values, 99) - deadtime:6.1f})")
        for target in ("node1", "node2"):
            values = [r[0] for r in results if r[2] == target]
            if values:
                delay = plan.node_index(spec, target) - 1
                print(f"  {'fence done, target ' + target + f' (delay {delay} s)':<36} n={len(values)} median "
                      f"{statistics.median(values):7.1f} ms   p99 {percentile(values, 99):7.1f} ms")
        gaps = [r[1] - r[0] for r in results]
        print(f"  {'fence done -> answer':<36} n={len(gaps)} median {statistics.median(gaps):7.1f} ms   "
              f"p99 {percentile(gaps, 99):7.1f} ms")
    both = sum(1 for off in races if len(off) == 2)
    neither = sum(1 for off in races if not off)
    print(f"  races: {len(races)}, both fenced {both}, neither {neither}; fenced each time: "
          f"{' '.join('+'.join(off) or '-' for off in races)}")
    print(f"  split-brain moments seen by the observer: {len(conflicts)}")
    for failure in failures:
        print(f"  FAILED {failure}")
    return 0 if results and not failures and not both and not neither and not conflicts else 1


if __name__ == "__main__":
    sys.exit(main())
