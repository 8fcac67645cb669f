"""`hb demo` (`make demo`): heartbeat's story. Two nodes share a resource group (a floating
address and a TCP service, from haresources); node1 serves the client; node1's cable is cut;
node2 declares it dead, fences it (the lab's power switch resets node1: a node that only looks
dead never keeps serving) and takes the group over, address first; the client is served again,
and the outage it saw is printed in milliseconds; node1's cable is plugged back in and, with
auto_failback on, the group returns to it. Everything is torn down at the end.

As root the nodes live in network namespaces and a client namespace watches the address (ARP and
TCP, lab/vipwatch.py). Without root (loopback, no namespaces, no floating address) the demo shows
the membership part instead: three nodes, one frozen (SIGSTOP), declared dead, thawed.
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


SERVICE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "svc", "tcpsvc")
PORT = 8080


def where_group(lab: Lab, node: str) -> str:
    return show(lab, node, ["crm_mon", "-1"])


def run_story(args: argparse.Namespace) -> int:
    from lab.vipwatch import VipWatch
    spec = LabSpec(name=args.name, nodes=2, mode="netns", subnet=args.subnet, keepalive_ms=100, deadtime_ms=500,
                   haresources=(f"node1 IPaddr2::{{vip}}/24/eth0 tcpsvc::{PORT}",), scripts=(SERVICE,),
                   auto_failback="on", stonith="lab")
    vip = plan.vip(plan.validate(spec))
    say("Bringing up 2 nodes in network namespaces: keepalive 100 ms, deadtime 500 ms, and haresources\n"
        f"    node1 IPaddr2::{vip}/24/eth0 tcpsvc::{PORT}      (auto_failback on)\n"
        "    and a power switch for fencing (ha.cf: stonith_host * external/lab ...)")
    lab = Lab.up(spec)
    watch = None
    problems: list[str] = []
    try:
        print(format_status(lab.status()))
        lab.wait_all_see("active", timeout_s=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "node1" not in client_answer(lab, vip):
            time.sleep(0.1)
        say(f"The client asks {vip}:{PORT} and node1 answers:")
        show(lab, "client", ["sh", "-c", f"echo | socat -T1 - TCP:{vip}:{PORT}"])
        where_group(lab, "node2")
        show(lab, "node1", ["cl_status", "rscstatus"])

        watch = VipWatch.start(plan.namespace(lab.spec, "client"), plan.IFACE, vip, PORT,
                               os.path.join(lab.spec.root, "vipwatch.jsonl"), tcp_timeout_ms=100)
        # the outage runs from the observer's last answer before the cut: it must have one
        watch.wait_for(lambda e: e["ev"] == "tcp_up", 10, "the observer to see node1 answer")
        say(f"Cutting node1's cable: ip link set {plan.host_veth(spec, 'node1')} down")
        lab.fail("node1", "link")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "node2" not in client_answer(lab, vip):
            time.sleep(0.05)
        time.sleep(0.5)  # the observer probes every 100 ms: let it see node2 answer too
        summary = watch.stop()
        watch = None
        outage = summary.outages[0][2] if summary.outages else None
        say("The client is served by node2:")
        show(lab, "client", ["sh", "-c", f"echo | socat -T1 - TCP:{vip}:{PORT}"])
        if outage is not None:
            print(f"    the client saw no answer for {outage:.0f} ms (deadtime 500 ms); "
                  f"{summary.conflict_count} moments with two nodes answering for the address")
        where_group(lab, "node2")
        lines, _ = log_lines(lab, "node2", "", 0)
        story = [line for line in lines if any(word in line for word in (
            "is dead", "was fenced", "Resources being acquired", "Taking over", "takeover complete", "_start_0"))]
        print("node2's ha-log:\n" + "\n".join("    " + line for line in story[-9:]))

        say("Reconnecting node1: auto_failback on brings the group back")
        lab.heal("node1")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "node1" not in client_answer(lab, vip):
            time.sleep(0.1)
        show(lab, "client", ["sh", "-c", f"echo | socat -T1 - TCP:{vip}:{PORT}"])
        where_group(lab, "node1")
    finally:
        if watch is not None:
            try:
                watch.stop()
            except Exception as exc:  # the demo must still tear down
                problems.append(str(exc))
        say("Tearing the lab down")
        problems += lab.down()
        for problem in problems:
            print(f"hb demo: {problem}", file=sys.stderr)
    print("done." if not problems else "done, with the problems above.")
    return 0 if not problems else 1


def client_answer(lab: Lab, vip: str) -> str:
    done = lab.exec("client", ["sh", "-c", f"echo | socat -T1 - TCP:{vip}:{PORT},connect-timeout=0.3"],
                    capture=True, timeout_s=5)
    return done.stdout.strip()


def run(args: argparse.Namespace) -> int:
    mode = auto_mode() if args.mode == "auto" else args.mode
    if mode == "netns" and module_present("crmd.daemon"):
        return run_story(args)
    return run_membership(args)


def run_membership(args: argparse.Namespace) -> int:
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
