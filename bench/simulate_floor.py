"""Where the time of a small `hb simulate` goes: the floor under the whole-process figure.

    python bench/simulate_floor.py                       # 3/100 cold, steady, nodefail, 21 runs
    python bench/simulate_floor.py --runs 41 --states nodefail

bench/pengine.py times the installed `hb simulate -x FILE -R -Q` against crm_simulate; this one
splits our figure into what a Python program of this shape cannot avoid and what it adds. Every
row is a fresh process, and the rows are run in turn (row 1, row 2, ..., row 1, ...) so that
a load change on the shared machine hits them all alike:

1. `python -S -c pass`: the interpreter starting and stopping, nothing imported;
2. `python -c pass`: the same with the `site` step (the venv's site-packages and .pth files),
   which the installed `hb` script skips for `simulate` (core/entryscript.py);
3. row 1 plus the standard-library modules `hb simulate` loads, in the order it loads them
   (the list is computed by importing pengine.simulate in a child, so it follows the code);
4. row 1 plus everything `hb simulate` loads (`import pengine.simulate`), from the `.pyc` files;
5. the same from the bundle `make bytecode` writes (core/codebundle.py), as the installed `hb`
   loads it;
6. the installed `hb simulate -x FILE -R -Q`, whole process;
7. `crm_simulate -x FILE -R -Q`, the baseline.

Plus the compute inside the process (parse, validate, unpack, schedule: pengine.simulate._run
after the imports, the CPU time the child itself measures around its first and only run). Printed: median and p99 of
wall and CPU time (the child's own, from wait4); then the floor, row 1 + compute (no imports at
all), and what crm_simulate's median divided by it would be: the best ratio any start-up work
could reach without making the scheduling itself faster.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from pengine import hb_command, make_inputs, p99  # noqa: E402  (bench/pengine.py)

ROOT = pathlib.Path(__file__).resolve().parents[1]

STDLIB_OF_SIMULATE = ("import sys; sys.path.insert(1, sys.argv[1]); before = set(sys.modules); "
                      "import pengine.simulate; "
                      "print(','.join(m for m in sys.modules if m not in before "
                      "and m.split('.')[0] in sys.stdlib_module_names))")
COMPUTE = ("import sys, time, io, gc; sys.path.insert(1, sys.argv[1]); gc.disable(); "
           "import pengine.simulate as s; args = s.parse_args(['-x', sys.argv[2], '-R', '-Q']); "
           "t = time.process_time(); s._run(args, io.StringIO()); "
           "print(time.process_time() - t)")


def run_once(cmd: list[str]) -> tuple[float, float, str]:
    """(wall s, the child's own CPU s, its stdout) of one run to completion."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime, out.decode()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=21)
    p.add_argument("--states", default="cold,steady,nodefail")
    p.add_argument("--workdir", default="/tmp/pyhb-bench-pengine")
    args = p.parse_args(argv)
    hb = hb_command()
    crm = shutil.which("crm_simulate")
    if hb is None or crm is None:
        sys.exit("needs the installed hb (make) and crm_simulate (pacemaker-cli-utils)")
    workdir = pathlib.Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    inputs = make_inputs(3, 100, workdir, 300, hb)
    py = sys.executable
    stdlib = run_once([py, "-S", "-c", STDLIB_OF_SIMULATE, str(ROOT)])[2].strip()
    print(f"load average at start: {os.getloadavg()}")
    print(f"standard library modules hb simulate loads ({stdlib.count(',') + 1}): {stdlib}\n")
    for state in args.states.split(","):
        path = str(inputs[state])
        rows = [("python -S -c pass", [py, "-S", "-c", "pass"]),
                ("python -c pass (with site)", [py, "-c", "pass"]),
                # (os first: its path modules cannot be imported before it; pyexpat.errors
                # and the like are set by their parent, not importable by name)
                ("-S + its stdlib modules",
                 [py, "-S", "-c", f"import os\nfor m in {stdlib!r}.split(','):\n"
                  "    try: __import__(m)\n    except ImportError: pass"]),
                ("-S + import pengine.simulate",
                 [py, "-S", "-c", f"import sys; sys.path.insert(1, {str(ROOT)!r}); "
                  "import pengine.simulate"]),
                ("  the same from the bundle",
                 [py, "-S", "-c", f"import sys; sys.path.insert(1, {str(ROOT)!r}); "
                  "from core import codebundle; "
                  f"codebundle.load(codebundle.bundle_path({str(ROOT)!r}, 'simulate')); "
                  "import core.cli, pengine.simulate"]),
                ("hb simulate -R -Q (installed)", [hb, "simulate", "-x", path, "-R", "-Q"]),
                ("crm_simulate -R -Q", [crm, "-x", path, "-R", "-Q"])]
        walls: list[list[float]] = [[] for _ in rows]
        cpus: list[list[float]] = [[] for _ in rows]
        compute: list[float] = []
        for _ in range(args.runs):
            for i, (_, cmd) in enumerate(rows):
                wall, cpu, _ = run_once(cmd)
                walls[i].append(wall)
                cpus[i].append(cpu)
            compute.append(float(run_once([py, "-S", "-c", COMPUTE, str(ROOT), path])[2]))
        print(f"3/100 {state} ({args.runs} runs each), ms: median wall (p99)   median CPU (p99)")
        for (label, _), w, c in zip(rows, walls, cpus):
            print(f"  {label:<32} {1000 * statistics.median(w):6.1f} ({1000 * p99(w):6.1f})"
                  f"   {1000 * statistics.median(c):6.1f} ({1000 * p99(c):6.1f})")
        start_ms = 1000 * statistics.median(cpus[0])
        compute_ms = 1000 * statistics.median(compute)
        imports_ms = 1000 * statistics.median(cpus[4]) - start_ms  # as the installed hb does
        ours_ms, theirs_ms = (1000 * statistics.median(c) for c in (cpus[5], cpus[6]))
        print(f"  {'compute in the process (CPU)':<32} {'':15}   {compute_ms:6.1f} "
              f"({1000 * p99(compute):6.1f})")
        print(f"  CPU: start {start_ms:.1f} + imports {imports_ms:.1f} + compute {compute_ms:.1f}"
              f" = {start_ms + imports_ms + compute_ms:.1f} (whole hb: {ours_ms:.1f}); "
              f"crm_simulate/ours {theirs_ms / ours_ms:.2f}x; with no imports at all "
              f"(start + compute) it would be {theirs_ms / (start_ms + compute_ms):.2f}x\n")
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
