"""A planned move: `crm_resource --move` of a group (IPaddr2 + a TCP service) to the other node,
and how long until it is done.

    .venv/bin/python bench/move.py [--runs 20]

One 2-node lab (`crm yes`, keepalive 100 ms, deadtime 500 ms, namespaces: needs root) runs the
group on node1. Each run moves it to the other node with `crm_resource --move -r web -N NODE`
(the tool as a user runs it, inside the node's namespace), then `--clear`s the constraint (the
group stays where it went: stickiness). Measured from the moment the command is started:
- answer: the first TCP answer through the address from the new node (bench/probe.py in the
  client's namespace, a connection every 10 ms);
- done: the DC reports the transition complete and is idle again (`crm_mon`'s DC state, polled
  every 10 ms through crmd.sock);
and the outage the client saw (from the start of the first attempt the old node did not answer to
the first answer from the new one). The first two include starting crm_resource itself (a Python
process: about 250 ms of imports on this machine).
Printed: median and p99 of each over the runs. There is no Heartbeat 3.0.6 baseline: heartbeat v1
has no planned move of one group (`hb_standby` moves everything a node holds, and its
ResourceManager stops and starts through shell scripts and a 2 s standby handshake).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from failover import ProbeProcess, RunError, percentile  # noqa: E402
from lab import plan, stack  # noqa: E402
from lab.cibs import web_group_cib  # noqa: E402
from lab.lab import Lab, wait_until  # noqa: E402
from lab.plan import LabSpec  # noqa: E402
from tools import crmclient  # noqa: E402

PORT = 8080
CIB = web_group_cib({"stonith-enabled": "false", "no-quorum-policy": "ignore"}, stickiness=100,
                    constraints='<rsc_location id="web-prefers-1" rsc="web" node="node1" score="10"/>')


def dc_idle(lab: Lab, nodes: list[str]) -> bool:
    for node in nodes:
        try:
            status = crmclient.status(lab.paths(node), timeout_ms=1000)
        except (crmclient.CrmUnavailable, crmclient.CrmError):
            return False
        if status.get("role") == "dc":
            return status.get("state") == "idle"
    return False


def tool(lab: Lab, node: str, argv: list[str]) -> None:
    done = lab.exec(node, argv, capture=True, timeout_s=30)
    if done.returncode != 0:
        raise RunError(f"{' '.join(argv)} on {node}: exit {done.returncode}: {(done.stdout + done.stderr).strip()}")


def one_move(lab: Lab, probe: ProbeProcess, source: str, target: str) -> tuple[float, float, float]:
    """(answer, done, outage) in ms for moving the group from source to target."""
    node_of = lambda c: c.answer.split()[0] if c.ok else None  # noqa: E731
    nodes = list(lab.nodes)
    start = time.monotonic()
    argv = ["crm_resource", "--move", "-r", "web", "-N", target]
    proc = subprocess.Popen(lab.exec_argv(source, argv), env=stack.node_env(lab.spec, source),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    got = probe.wait_for(lambda c: node_of(c) == target, 15.0)
    if got is None:
        proc.kill()
        proc.wait(5)
        raise RunError(f"{target} did not answer within 15 s of the move")
    answer_ms = (got.done - start) * 1000
    done_at: Optional[float] = None
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:  # bounded
        if dc_idle(lab, nodes):
            done_at = time.monotonic()
            break
        time.sleep(0.01)  # the polling period of the measurement
    if proc.wait(15) != 0:
        raise RunError(f"crm_resource --move exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
    if done_at is None:
        raise RunError("the DC did not go idle within 15 s of the move")
    # the probe prints changes only: the outage began with the first attempt after the move
    # started that the old node did not answer (the new node's answer itself when none failed)
    first_other = next(c for c in probe.seen if c.done >= start and node_of(c) != source)
    outage_ms = max(0.0, (got.done - first_other.started) * 1000)
    tool(lab, source, ["crm_resource", "--clear", "-r", "web"])
    wait_until(lambda: dc_idle(lab, nodes), 15, "the DC idle after --clear")
    return answer_ms, (done_at - start) * 1000, outage_ms


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/move.py needs root (namespaces)", file=sys.stderr)
        return 2
    tmp = tempfile.TemporaryDirectory(prefix="pyhb-move-")
    cib_path = os.path.join(tmp.name, "cib.xml")
    with open(cib_path, "w", encoding="utf-8") as handle:
        handle.write(CIB)
    spec = LabSpec(name="bmove", nodes=2, subnet="198.18.14.0/24", crm=True, cib=cib_path,
                   scripts=(os.path.join(HERE, "svc", "tcpsvc"),))
    print(f"bench/move.py: {os.cpu_count()} CPUs, {args.runs} runs, 2 nodes, keepalive 100 ms, deadtime 500 ms",
          flush=True)
    results: list[tuple[float, float, float]] = []
    failures: list[str] = []
    try:
        lab = Lab.up(spec)
    except BaseException:
        tmp.cleanup()
        raise
    try:
        vip = plan.vip(spec)
        wait_until(lambda: dc_idle(lab, ["node1", "node2"]), 60, "the cluster idle")
        with ProbeProcess(lab, vip, PORT) as probe:
            if probe.wait_for(lambda c: c.ok and c.answer.split()[0] == "node1", 30) is None:
                raise RunError("node1 never answered")
            holder = "node1"
            for run in range(args.runs):
                target = "node2" if holder == "node1" else "node1"
                try:
                    results.append(one_move(lab, probe, holder, target))
                    holder = target
                except RunError as exc:
                    failures.append(f"run {run + 1}: {exc}")
                    break
                time.sleep(0.5)  # the client's neighbour entry accepts a new owner once a second
    finally:
        problems = lab.down()
        if problems:
            print("lab down: " + "; ".join(problems), file=sys.stderr)
        tmp.cleanup()
    if results:
        for index, name in enumerate(("first answer from the new node", "DC idle (done)", "client outage")):
            values = [r[index] for r in results]
            print(f"  {name:<32} n={len(values)} median {statistics.median(values):7.1f} ms   "
                  f"p99 {percentile(values, 99):7.1f} ms   min {min(values):7.1f}   max {max(values):7.1f}")
    for failure in failures:
        print(f"  FAILED {failure}")
    return 0 if results and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
