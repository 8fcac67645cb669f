"""Fuzzing a live messaging daemon: mutated and random packets from an outsider on the segment of
a running 3-node namespace lab (root), per authkeys method, with what the daemon made of them.

    .venv/bin/python bench/fuzz.py                                   # ~20 000 packets per method
    .venv/bin/python bench/fuzz.py --packets 1000000 --rate 6000     # the full campaign
    .venv/bin/python bench/fuzz.py --methods aes-256-gcm --seed 7 --flood-seconds 20

`--packets` is shared between the eight paced kinds (bitflip, truncated, oversized, random,
wrong_key, replay, forged_source, fragments: `--rate` packets a second, so the daemon can read
them all and every one is counted) and a flood as fast as one sender can send (up to a tenth of
`--packets`, at most `--flood-seconds`). The kinds are described in lab/fuzz.py.

For each kind: packets sent, the target's `packets_received` and `dropped_<reason>` counters
moved by (its own heartbeats from the other two nodes, ~30 a second, are in `received` too), and
the messaging daemon's RSS after it. For the whole run: crashes (a process of any node's stack
gone or replaced), false deaths (any node seeing a live node not active, polled 4 times a second
on every node), ccm membership changes, RSS before and after.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lab import fuzz  # noqa: E402
from lab.lab import Lab, sweep, wait_until  # noqa: E402
from lab.plan import LabSpec  # noqa: E402

NAME = "bfuzz"
SUBNET = "198.19.211.0/24"
BACKGROUND = ("client_messages_sent", "messages_delivered", "own_packets")  # the cluster's own traffic
PACED = tuple(k for k in fuzz.KINDS if k != "flood")


def counts_for(packets: int) -> dict[str, int]:
    flood = packets // 10
    each = (packets - flood) // len(PACED)
    counts = {k: each for k in PACED}
    counts["flood"] = packets - each * len(PACED)
    return counts


def table(result: fuzz.CampaignResult) -> str:
    lines = [f"method {result.method}, target {result.target}: captured {result.captured} packets "
             f"({result.captured_fragments} fragments)",
             f"  {'kind':14} {'sent':>8} {'pps':>7} {'received':>8} {'dropped':>8} {'passed':>6}  {'drops by reason':52} {'RSS KiB':>8}"]
    for row in result.kinds:
        drops = ", ".join(f"{k} {v}" for k, v in sorted(row.drops.items(), key=lambda kv: -kv[1])) or "-"
        other = ", ".join(f"{k} {v}" for k, v in sorted(row.other.items()) if k not in BACKGROUND)
        lines.append(f"  {row.kind:14} {row.sent:8d} {row.sent / max(row.seconds, 1e-9):7.0f} {row.received:8d} {sum(row.drops.values()):8d} {row.sent - sum(row.drops.values()):6d}  "
                     f"{drops:52} {row.rss_kib_after:8d}")
        if other:
            lines.append(f"  {'':14} other counters: {other}")
        if row.send_errors:
            lines.append(f"  {'':14} sender errors (kernel queue full): {row.send_errors}")
    total = sum(r.sent for r in result.kinds)
    dropped = sum(sum(r.drops.values()) for r in result.kinds)
    lines.append(f"  total sent {total}, dropped and counted {dropped}; crashes {len(result.crashes)}, "
                 f"false deaths {len(result.false_deaths)} in {result.checks} checks of every view, "
                 f"membership changes {len(result.membership_changes)}; messaging RSS "
                 f"{result.rss_kib_before} -> {result.rss_kib_after} KiB")
    for what in result.crashes + result.false_deaths[:10] + result.membership_changes[:10]:
        lines.append(f"  !! {what}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packets", type=int, default=20_000, help="packets per method (all kinds)")
    parser.add_argument("--methods", default="sha1,aes-256-gcm")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=int, default=4000, help="packets a second of the paced kinds")
    parser.add_argument("--flood-seconds", type=float, default=10.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/fuzz.py needs root (a namespace lab)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # take the lab down on a timeout too
    failed = False
    for method in args.methods.split(","):
        spec = LabSpec(name=NAME, nodes=3, subnet=SUBNET, auth=method)
        sweep(NAME)
        started = time.monotonic()
        lab = Lab.up(spec)
        try:
            wait_until(lambda: all(n["status"] == "active" for node in lab.nodes
                                   for n in fuzz._query(lab, node, "nodes") if n.get("type") == "normal"),
                       30, "every node to see every node active")
            time.sleep(2)  # the ccm forms its membership
            result = fuzz.run(lab, method, counts_for(args.packets), args.seed, args.rate, args.flood_seconds,
                              progress=lambda text: print(f"  .. {text}", file=sys.stderr, flush=True))
        finally:
            problems = lab.down()
            if problems:
                print(f"lab down: {problems}", file=sys.stderr)
        print(table(result))
        print(f"  ({time.monotonic() - started:.0f} s with the lab)")
        failed |= bool(result.crashes or result.false_deaths or result.membership_changes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
