"""Record what Pacemaker 2.1.5's crm_mon prints for this project's own CIBs, as test data.

    python tests/unit/tools/make_golden.py        # (re)writes tests/unit/tools/data/golden.json

Inputs: the CIBs in tests/unit/tools/data/ (written for crm_mon: failures with odd exit
reasons, fail counts, standby/unclean/offline nodes, a ping attribute, promotable and anonymous
clones, bans, maintenance, pending actions, an orphan) and the scheduler cases in
tests/pengine/cases/. Each is run through the real `crm_mon` (Debian's pacemaker-cli-utils) with
CIB_file, TZ=UTC and LC_ALL=C, for the option sets below; the "Last updated" time is masked.
test_crm_mon.py compares our output with these without needing Pacemaker installed; the compat
test (tests/compat/test_crm_mon_compat.py) runs the real binary again.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE / "data"
CASES = HERE.parents[1] / "pengine" / "cases"
GOLDEN = DATA / "golden.json"

DATA_VARIANTS = [["-1"], ["-1", "-r", "-f", "-A"], ["-1", "-o", "-t", "-n", "-r"],
                 ["-1", "-R", "-L", "-r"], ["-1", "-b", "-n"], ["-1", "-D", "-Q"], ["-s"],
                 ["--output-as", "xml"], ["-X"], ["--output-as", "xml", "-n"]]
CASE_VARIANTS = [["-1", "-r", "-f", "-A"], ["--output-as", "xml"]]

_TIMES = [(re.compile(r"Last updated: .*"), "Last updated: <time>"),
          (re.compile(r'<last_update time="[^"]*"/>'), '<last_update time="<time>"/>')]


def mask(text: str) -> str:
    """Hide the only time-dependent line of crm_mon's output."""
    for pattern, replacement in _TIMES:
        text = pattern.sub(replacement, text)
    return text


def inputs() -> list[tuple[str, pathlib.Path, list[list[str]]]]:
    out = [(f"data/{p.name}", p, DATA_VARIANTS) for p in sorted(DATA.glob("*.xml"))]
    out += [(f"cases/{p.name}", p, CASE_VARIANTS) for p in sorted(CASES.glob("*.xml"))]
    return out


def key(name: str, args: list[str]) -> str:
    return f"{name} | {' '.join(args)}"


def main() -> int:
    golden: dict[str, str] = {}
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    for name, path, variants in inputs():
        for args in variants:
            env["CIB_file"] = str(path)
            result = subprocess.run(["crm_mon", *args], env=env, capture_output=True, text=True,
                                    timeout=60)
            # -s with a warning also complains on stderr ("Error outputting status info")
            if result.returncode != 0 or (result.stderr.strip() and "-s" not in args):
                print(f"{name} {args}: crm_mon failed: {result.stderr}", file=sys.stderr)
                return 1
            golden[key(name, args)] = mask(result.stdout)
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(golden)} outputs to {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
