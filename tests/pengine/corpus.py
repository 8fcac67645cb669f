"""Helpers to run `hb simulate -S` over Pacemaker's scheduler regression corpus and judge it.

The corpus (GPL data from Pacemaker 2.1.5) is read from ../shared/pacemaker-scheduler-2.1.5 (or
$PYHB_PACEMAKER_CORPUS) and never copied here. A case passes when the set of Transition Summary
lines and the Revised Cluster Status section equal the expected summary's (whitespace-insensitive,
as Pacemaker's own runner compares with `diff --ignore-all-space`).

Run directly for a report: `python tests/pengine/corpus.py [--tier 1] [--show-fail] [NAME...]`.
"""

from __future__ import annotations

import io
import os
import pathlib
import re
import shlex
import sys
import time
from dataclasses import dataclass
from typing import Optional

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = ROOT.parent / "shared" / "pacemaker-scheduler-2.1.5"
PASSING_LIST = pathlib.Path(__file__).with_name("conformance_passing.txt")


def corpus_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("PYHB_PACEMAKER_CORPUS", str(DEFAULT_CORPUS)))


@dataclass(frozen=True)
class Case:
    name: str
    tier: int
    group: str
    args: tuple[str, ...]


def load_index(base: Optional[pathlib.Path] = None) -> list[Case]:
    base = base or corpus_dir()
    cases = []
    lines = (base / "index.tsv").read_text().splitlines()
    for line in lines[1:]:
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        cases.append(Case(parts[0], int(parts[1]), parts[2], tuple(shlex.split(parts[3]))))
    return cases


def sections(text: str) -> dict[str, list[str]]:
    """Split crm_simulate -S output into its titled sections."""
    result: dict[str, list[str]] = {}
    current = "preamble"
    result[current] = []
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":") and line[:-1] in (
                "Current cluster status", "Transition Summary", "Executing Cluster Transition",
                "Revised Cluster Status", "Performing Requested Modifications"):
            current = line[:-1]
            result[current] = []
            continue
        result[current].append(line)
    return result


def norm(line: str) -> str:
    return re.sub(r"\s+", "", line)


def judge(expected: str, actual: str) -> tuple[bool, str]:
    exp, got = sections(expected), sections(actual)
    exp_sum = {norm(l) for l in exp.get("Transition Summary", []) if l.strip()}
    got_sum = {norm(l) for l in got.get("Transition Summary", []) if l.strip()}
    if exp_sum != got_sum:
        missing = sorted(exp_sum - got_sum)
        extra = sorted(got_sum - exp_sum)
        return False, f"summary differs: missing={missing[:4]} extra={extra[:4]}"
    exp_rev = [norm(l) for l in exp.get("Revised Cluster Status", []) if l.strip()]
    got_rev = [norm(l) for l in got.get("Revised Cluster Status", []) if l.strip()]
    if exp_rev != got_rev:
        for a, b in zip(exp_rev + [""] * 99, got_rev + [""] * 99):
            if a != b:
                return False, f"revised status differs: expected {a!r} got {b!r}"
    return True, ""


def judge_strict(expected: str, actual: str) -> tuple[bool, str]:
    """The whole output equal (blank lines and whitespace aside), the executed actions as a
    set: what Pacemaker's runner checks, except that equal graphs may order actions
    differently."""
    def split(text: str) -> tuple[list[str], list[str]]:
        main, executing = [], []
        section = None
        for line in text.splitlines():
            if line and not line.startswith(" ") and line.endswith(":"):
                section = line[:-1]
            if not line.strip():
                continue
            if section == "Executing Cluster Transition" and line.startswith(" "):
                executing.append(norm(line))
            else:
                main.append(norm(line))
        return main, sorted(executing)
    exp_main, exp_exec = split(expected)
    got_main, got_exec = split(actual)
    if exp_main != got_main:
        for a, b in zip(exp_main + [""] * 99, got_main + [""] * 99):
            if a != b:
                return False, f"output differs: expected {a!r} got {b!r}"
    if exp_exec != got_exec:
        missing = sorted(set(exp_exec) - set(got_exec))
        extra = sorted(set(got_exec) - set(exp_exec))
        return False, f"executed actions differ: missing={missing[:3]} extra={extra[:3]}"
    return True, ""


def run_case(case: Case, base: Optional[pathlib.Path] = None,
             strict: bool = False) -> tuple[bool, str]:
    from pengine.simulate import run
    base = base or corpus_dir()
    expected = (base / "summary" / f"{case.name}.summary").read_text()
    out = io.StringIO()
    err = io.StringIO()
    old_err = sys.stderr
    sys.stderr = err
    try:
        # as Pacemaker's runner: the stored summaries were made without the case's extra ARGS
        run(["-x", str(base / "xml" / f"{case.name}.xml"), "-S"], stdout=out)
    except Exception as exc:  # report, do not abort the whole corpus run
        return False, f"crashed: {type(exc).__name__}: {exc}"
    finally:
        sys.stderr = old_err
    return (judge_strict if strict else judge)(expected, out.getvalue())


def main(argv: list[str]) -> int:
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--tier", type=int, action="append")
    p.add_argument("--group")
    p.add_argument("--show-fail", action="store_true")
    p.add_argument("--write-passing", action="store_true")
    p.add_argument("--strict", action="store_true",
                   help="compare the whole output, not just summary and revised status")
    p.add_argument("names", nargs="*")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    cases = load_index()
    if args.names:
        cases = [c for c in cases if c.name in args.names]
    if args.tier:
        cases = [c for c in cases if c.tier in args.tier]
    if args.group:
        cases = [c for c in cases if c.group == args.group]
    passed = []
    counts: dict[tuple[int, str], list[int]] = {}
    start = time.time()
    for case in cases:
        ok, why = run_case(case, strict=args.strict)
        c = counts.setdefault((case.tier, case.group), [0, 0])
        c[1] += 1
        if ok:
            c[0] += 1
            passed.append(case.name)
        elif args.show_fail:
            print(f"FAIL {case.tier} {case.group} {case.name}: {why}")
    tiers: dict[int, list[int]] = {}
    for (tier, group), (ok, total) in sorted(counts.items()):
        t = tiers.setdefault(tier, [0, 0])
        t[0] += ok
        t[1] += total
        print(f"tier {tier} {group:<26} {ok:>3}/{total}")
    for tier, (ok, total) in sorted(tiers.items()):
        print(f"TIER {tier}: {ok}/{total}")
    print(f"({time.time() - start:.1f} s)")
    if args.write_passing:
        PASSING_LIST.write_text("".join(f"{n}\n" for n in sorted(passed)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
