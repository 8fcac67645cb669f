"""Whole-process CPU of `hb simulate` from two trees and of crm_simulate, alternated.

    python bench/simulate_versus.py --baseline /tmp/base-tree --runs 21
    python bench/simulate_versus.py --baseline DIR --corpus 20 --options=-S

Each input (the 3/100 cold, steady and nodefail CIBs of bench/pengine.py, or every k-th case of
tier 1 of Pacemaker's corpus with `--corpus N`) is run by three commands in turn in every
round: the baseline tree's installed `hb simulate`, this tree's, and `crm_simulate`, each a
fresh process, its CPU (user + system) from wait4 as bench/pengine.py measures it. Taking the
three in the same round is what makes the figures comparable on a shared machine: a load
change hits all three alike. Printed per input: median and p99 CPU of each, the ratios
crm_simulate / ours and ours / baseline; then the medians of those ratios over the inputs, and
the load average. The trees must have been set up with `make bytecode` (their `.venv/bin/hb`).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from pengine import make_inputs, p99  # noqa: E402  (bench/pengine.py)

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "pacemaker-scheduler-2.1.5"
PASSING = ROOT / "tests" / "pengine" / "conformance_passing.txt"


def cpu_of(cmd: list[str]) -> float:
    """The child's own CPU (s) of one run to completion; output discarded."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, LC_ALL="C"))
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # crm_simulate exits 1 on some transitions it judges invalid
        sys.exit(f"failed ({code}): {' '.join(cmd)}")
    return usage.ru_utime + usage.ru_stime


def corpus_inputs(count: int) -> dict[str, pathlib.Path]:
    """`count` tier-1 cases of the loose pass list, evenly spread over it."""
    index = {}
    for line in (CORPUS / "index.tsv").read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 2:
            index[fields[0]] = fields[1]
    names = [n.strip() for n in PASSING.read_text().splitlines()
             if n.strip() and not n.startswith("#") and index.get(n.strip(), "1").strip() == "1"]
    step = max(1, len(names) // count)
    return {name: CORPUS / "xml" / f"{name}.xml" for name in names[::step][:count]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", required=True, help="the other tree (with its .venv/bin/hb)")
    p.add_argument("--runs", type=int, default=21)
    p.add_argument("--corpus", type=int, default=0, help="N tier-1 corpus cases instead of 3/100")
    p.add_argument("--options", default="-R -Q", help="options after -x FILE (default -R -Q)")
    p.add_argument("--workdir", default="/tmp/pyhb-bench-pengine")
    args = p.parse_args(argv)
    ours = str(ROOT / ".venv" / "bin" / "hb")
    theirs = str(pathlib.Path(args.baseline).resolve() / ".venv" / "bin" / "hb")
    crm = shutil.which("crm_simulate")
    if crm is None or not os.path.exists(ours) or not os.path.exists(theirs):
        sys.exit("needs crm_simulate and both trees' .venv/bin/hb (make bytecode)")
    options = args.options.split()
    if args.corpus:
        inputs = corpus_inputs(args.corpus)
    else:
        workdir = pathlib.Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        inputs = {f"3/100 {k}": v for k, v in make_inputs(3, 100, workdir, 300, ours).items()}
    commands = {"baseline": [theirs, "simulate"], "ours": [ours, "simulate"], "crm": [crm]}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.runs):
        for name, path in inputs.items():
            for who, cmd in commands.items():
                times.setdefault((name, who), []).append(cpu_of([*cmd, "-x", str(path), *options]))
    print(f"CPU ms, median (p99) of {args.runs} runs, options {' '.join(options)}")
    print(f"  {'input':34s} {'baseline':>15s} {'ours':>15s} {'crm_simulate':>15s}"
          f" {'crm/ours':>9s} {'ours/base':>9s}")
    crm_ratios, own_ratios = [], []
    for name in inputs:
        med = {who: statistics.median(times[(name, who)]) * 1000 for who in commands}
        top = {who: p99(times[(name, who)]) * 1000 for who in commands}
        crm_ratios.append(med["crm"] / med["ours"])
        own_ratios.append(med["ours"] / med["baseline"])
        print(f"  {name[:34]:34s} " + " ".join(f"{med[w]:6.1f} ({top[w]:6.1f})" for w in commands)
              + f" {crm_ratios[-1]:8.2f}x {own_ratios[-1]:9.2f}")
    print(f"  median over inputs: crm_simulate / ours {statistics.median(crm_ratios):.2f}x, "
          f"ours / baseline {statistics.median(own_ratios):.2f}")
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
