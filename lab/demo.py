"""`hb demo` (`make demo`): a 3-node cluster, one node cut off, the others declaring it dead, the
node healed and active again, everything torn down.

As root the nodes live in network namespaces and the cut is the node's cable (`ip link set ...
down` on its veth); without root they share loopback and the node's stack is frozen instead
(SIGSTOP), which looks the same to its peers: no more heartbeats.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from typing import Optional

from core.stack import module_present
from lab import plan
from lab.cli import format_status
from lab.lab import Lab, auto_mode
from lab.plan import LabError, LabSpec

VICTIM = "node3"


def say(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def show(lab: Lab, node: str, argv: list[str]) -> str:
    """Run a command in a node and print it like a shell transcript."""
    done = lab.exec(node, argv, capture=True, timeout_s=30)
    print(f"[{node}]# {shlex.join(argv)}")
    out = (done.stdout + done.stderr).rstrip()
    if out:
        print("\n".join("    " + line for line in out.splitlines()))
    return done.stdout.strip()


def log_lines(lab: Lab, node: str, needle: str, since: int) -> tuple[list[str], int]:
    path = os.path.join(plan.node_dirs(lab.spec, node)["log"], "ha-log")
    with open(path, encoding="utf-8", errors="replace") as handle:
        handle.seek(since)
        text = handle.read()
        end = handle.tell()
    return [line for line in text.splitlines() if needle in line], end


def run(args: argparse.Namespace) -> int:
    if not module_present("messaging.daemon"):
        raise LabError("the demo needs the messaging daemon (messaging/daemon.py), which is not in this build")
    mode = auto_mode() if args.mode == "auto" else args.mode
    spec = LabSpec(name=args.name, nodes=3, mode=mode, subnet=args.subnet,
                   media="bcast" if mode == "netns" else "ucast", keepalive_ms=100, deadtime_ms=500)
    where = "network namespaces (root)" if mode == "netns" else "loopback addresses (no root: no namespaces)"
    say(f"Bringing up 3 nodes in {where}: keepalive 100 ms, deadtime 500 ms")
    lab = Lab.up(spec)
    try:
        print(format_status(lab.status()))
        took = lab.wait_all_see("active", timeout_s=30)
        say(f"Every node sees every node active ({took:.1f} s after start-up). Asking node1 with cl_status:")
        show(lab, "node1", ["cl_status", "listnodes"])
        for node in lab.nodes:
            show(lab, "node1", ["cl_status", "nodestatus", node])
        show(lab, "node1", ["cl_status", "listhblinks", VICTIM])

        _, mark = log_lines(lab, "node1", VICTIM, 0)
        if mode == "netns":
            say(f"Cutting {VICTIM}'s link: ip link set {plan.host_veth(spec, VICTIM)} down")
            how = "link"
        else:
            say(f"Freezing {VICTIM}'s whole stack (SIGSTOP): it sends no more heartbeats")
            how = "hang"
        started = time.monotonic()
        lab.fail(VICTIM, how)
        lab.wait_view(["node1", "node2"], VICTIM, "dead", timeout_s=15)
        took = time.monotonic() - started
        say(f"node1 and node2 declared {VICTIM} dead {took:.2f} s after the cut (deadtime 0.5 s)")
        show(lab, "node1", ["cl_status", "nodestatus", VICTIM])
        show(lab, "node2", ["cl_status", "nodestatus", VICTIM])
        lines, mark = log_lines(lab, "node1", VICTIM, mark)
        print("node1's ha-log:\n" + "\n".join("    " + line for line in lines))

        say(f"Healing {VICTIM}")
        started = time.monotonic()
        lab.heal(VICTIM)
        lab.wait_all_see("active", timeout_s=15)
        say(f"{VICTIM} is active again on every node ({time.monotonic() - started:.2f} s after the heal)")
        show(lab, "node1", ["cl_status", "nodestatus", VICTIM])
        lines, _ = log_lines(lab, "node1", VICTIM, mark)
        print("node1's ha-log:\n" + "\n".join("    " + line for line in lines))
        print(format_status(lab.status()))
    finally:
        say("Tearing the lab down")
        problems = lab.down()
        for problem in problems:
            print(f"hb demo: {problem}", file=sys.stderr)
    print("done." if not problems else "done, with the problems above.")
    return 0 if not problems else 1


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="hb demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("auto",) + plan.MODES, default="auto")
    parser.add_argument("--name", default="demo", help="lab name (default demo)")
    parser.add_argument("--subnet", default="198.18.1.0/24")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except LabError as exc:
        print(f"hb demo: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
