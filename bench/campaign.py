"""The long fault campaign: `hb cts` segments run one after the other, one summary.

    .venv/bin/python bench/campaign.py                       # 400 + 60 + 60 faults (about 30 min)
    .venv/bin/python bench/campaign.py --scale 0.1 --json out.json

Segments (each a fresh lab, its own seed):
* cib, 3 nodes: every fault kind (lab/ctsplan.py) on the group fs + vip + svc, a clone, `flaky`;
* cib, 5 nodes: the same, partitions are 3 + 2;
* haresources, 2 nodes: the kinds that apply to a haresources cluster.

Printed: per segment the campaign summary (faults by kind, violations, outage and recovery per
kind: median, p99, max), then the totals: faults, violations, fencings, and for failovers after a
node loss the time the service was back after the fault minus (deadtime + the fencing's own time
+ the group's starts), which the issue bounds by 100 ms. Exit status 1 on any violation.
Needs root (namespaces, loop devices); don't run other benchmarks at the same time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from lab import ctsplan  # noqa: E402
from lab.cts import Campaign, CampaignError, build_parser  # noqa: E402
from lab.plan import LabError  # noqa: E402

SEGMENTS = (  # (mode, nodes, faults, seed, lab name, subnet)
    ("cib", 3, 400, 101, "bcts3", "198.18.84.0/24"),
    ("cib", 5, 60, 102, "bcts5", "198.18.85.0/24"),
    ("haresources", 2, 60, 103, "bctsh", "198.18.86.0/24"),
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0, help="multiply every segment's fault count")
    p.add_argument("--seed-offset", type=int, default=0)
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--evidence", default="/tmp/hb-campaign-evidence", metavar="DIR")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/campaign.py: needs root", file=sys.stderr)
        return 2
    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # the running segment tears its lab down
    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    summaries = []
    for mode, nodes, faults, seed, name, subnet in SEGMENTS:
        count = max(1, round(faults * args.scale))
        cts_args = build_parser().parse_args(["--mode", mode, "--nodes", str(nodes), "--faults", str(count),
                                              "--seed", str(seed + args.seed_offset), "--name", name,
                                              "--subnet", subnet, "--evidence", args.evidence])
        plan = ctsplan.make_plan(cts_args.seed, count, mode, nodes)
        print(f"== {mode}, {nodes} nodes, {count} faults, seed {cts_args.seed}", flush=True)

        def log(text: str) -> None:
            if "VIOLATION" in text or text.startswith("lab "):
                print(f"  {time.strftime('%H:%M:%S')} {text}", flush=True)
        try:
            summary = Campaign(cts_args, log).run(plan)
        except (CampaignError, LabError) as exc:
            print(f"  the segment could not run: {exc}", flush=True)
            return 1
        summary["segment"] = {"mode": mode, "nodes": nodes}
        summaries.append(summary)
        print(ctsplan.format_summary(summary), flush=True)
    results = [r for s in summaries for r in s["results"]]
    totals = {"faults": len(results), "violations": sum(s["violations"] for s in summaries),
              "fenced": sum(s["fenced"] for s in summaries), "wall_s": round(time.monotonic() - started, 1)}
    overhead = [r["recovered_ms"] - (r["bound_ms"] - 100.0) for r in results if r.get("bound_ms") is not None]
    totals["failovers_bounded"] = len(overhead)
    totals["beyond_bound"] = sum(1 for o in overhead if o > 100.0)
    totals["overhead_ms"] = ctsplan.stats(overhead)
    totals["timeline_ms"] = {seg: ctsplan.stats([r["timeline"][seg] for r in results if seg in (r.get("timeline") or {})])
                             for seg in ctsplan.SEGMENTS}
    print(f"\n== total: {totals['faults']} faults in {totals['wall_s']} s, {totals['violations']} violations, "
          f"{totals['fenced']} fencings; {totals['failovers_bounded']} failovers after a node loss, "
          f"{totals['beyond_bound']} back later than deadtime + fencing + starts + 100 ms; back minus "
          f"(deadtime + fencing + starts) median {totals['overhead_ms'].get('median')} ms, p99 "
          f"{totals['overhead_ms'].get('p99')} ms, max {totals['overhead_ms'].get('max')} ms")
    print("   where it went (median / p99 / max ms): " + "; ".join(
        f"{seg} {t.get('median', '-')}/{t.get('p99', '-')}/{t.get('max', '-')}"
        for seg, t in totals["timeline_ms"].items() if t.get("n")), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"totals": totals, "segments": summaries}, handle, indent=1, sort_keys=True)
    return 1 if totals["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
