"""Run the installed `hb simulate` over Pacemaker's scheduler regression corpus and judge it.

The corpus (GPL data from Pacemaker 2.1.5) is read from ../shared/pacemaker-scheduler-2.1.5 (or
$PYHB_PACEMAKER_CORPUS) and never copied here. Each case is run the way Pacemaker's own runner
(`cts-scheduler`) runs crm_simulate, as a user runs the command (a fresh `hb` process, LC_ALL=C):

1. `hb simulate -x xml/NAME.xml -S`                      -> compared with summary/NAME.summary
2. `hb simulate -x xml/NAME.xml -G OUT.exp -s -S -Q ARGS` -> scores/NAME.scores, exp/NAME.exp

Two judges:

- **loose**: the set of Transition Summary lines and the Revised Cluster Status section equal
  the expected summary's (whitespace-insensitive, as the runner compares);
- **strict**: loose, and all of: both runs exit 0; no `unsupported` on standard error; the
  whole summary equal (every line; the executed actions as a set, since equal graphs may run
  their actions in another order); the score lines equal (sorted, as the runner sorts them);
  the transition graph equal to `exp/NAME.exp` as a labelled graph (see graphdiff.py: same
  actions with the same attributes, same edges, ids ignored).

Every strict failure is a list of `Difference(category, detail)`; the categories do not depend
on the case ("missing edge: probe -> start", "value differs in CRM_meta_timeout on stop", ...),
so `--categories` counts failing cases per rule.

    python tests/pengine/corpus.py [--tier N]... [--group G] [--strict] [--show-fail]
                                   [--categories] [--write-lists] [-j JOBS] [NAME...]
"""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable, Optional

_HERE = pathlib.Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from graphdiff import Difference, action_ids, graph_differences  # noqa: E402  (after the path set-up)

ROOT = _HERE.parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "pacemaker-scheduler-2.1.5"
PASSING_LIST = _HERE / "conformance_passing.txt"   # the loose judge's ratchet
STRICT_LIST = _HERE / "conformance_strict.txt"     # the strict judge's ratchet
RUN_TIMEOUT_S = 300.0
SECTION_TITLES = ("Current cluster status", "Transition Summary", "Executing Cluster Transition",
                  "Revised Cluster Status", "Performing Requested Modifications")


def corpus_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("PYHB_PACEMAKER_CORPUS", str(DEFAULT_CORPUS)))


def hb_command() -> Optional[str]:
    """The installed `hb`: next to the running interpreter (the project's venv), else on PATH."""
    beside = pathlib.Path(sys.executable).with_name("hb")
    if beside.exists():
        return str(beside)
    return shutil.which("hb")


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


# ------------------------------------------------------------------------------------------------
# the summary (crm_simulate -S output)

def sections(text: str) -> dict[str, list[str]]:
    """Split crm_simulate -S output into its titled sections."""
    result: dict[str, list[str]] = {}
    current = "preamble"
    result[current] = []
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":") and \
                line[:-1] in SECTION_TITLES:
            current = line[:-1]
            result[current] = []
            continue
        result[current].append(line)
    return result


def norm(line: str) -> str:
    return re.sub(r"\s+", "", line)


def judge(expected: str, actual: str) -> tuple[bool, str]:
    """The loose judge: Transition Summary lines as a set, Revised Cluster Status in order."""
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


def summary_differences(expected: str, actual: str) -> list[Difference]:
    """The whole summary, blank lines and whitespace aside; the executed actions as a set."""
    def split(text: str) -> tuple[list[tuple[str, str]], list[str]]:
        main, executing = [], []
        section = "preamble"
        for line in text.splitlines():
            if line and not line.startswith(" ") and line.endswith(":"):
                section = line[:-1]
            if not line.strip():
                continue
            if section == "Executing Cluster Transition" and line.startswith(" "):
                executing.append(norm(line))
            else:
                main.append((section, norm(line)))
        return main, sorted(executing)
    exp_main, exp_exec = split(expected)
    got_main, got_exec = split(actual)
    out = []
    if exp_main != got_main:
        pad = [("", "")] * (abs(len(exp_main) - len(got_main)) + 1)
        for (section, a), (_, b) in zip(exp_main + pad, got_main + pad):
            if a != b:
                out.append(Difference(f"summary: {section or 'end of output'} differs",
                                      f"expected {a!r} got {b!r}"))
                break
    if exp_exec != got_exec:
        missing = sorted(set(exp_exec) - set(got_exec))
        extra = sorted(set(got_exec) - set(exp_exec))
        out.append(Difference("summary: executed actions differ",
                              f"missing={missing[:3]} extra={extra[:3]}"))
    return out


# ------------------------------------------------------------------------------------------------
# scores (crm_simulate -sSQ output), stderr

def _score_lines(text: str) -> list[str]:
    return sorted(" ".join(l.split()) for l in text.splitlines() if l.strip())


_SCORE = re.compile(r"^(?P<key>.*?(?:score|capacity)[^:]*?):\s*(?P<value>\S*)$")


def score_differences(expected: str, actual: str) -> list[Difference]:
    """Score lines compared sorted; a differing line is named by the function that printed it,
    whether the key (resource, node) exists on both sides, and whether it is a clone instance."""
    exp, got = _score_lines(expected), _score_lines(actual)
    if exp == got:
        return []
    exp_c, got_c = Counter(exp), Counter(got)
    missing, extra = exp_c - got_c, got_c - exp_c

    def keyed(lines: Counter) -> dict[str, str]:
        out = {}
        for line in lines:
            match = _SCORE.match(line)
            out[match.group("key") if match else line] = line
        return out
    miss_k, extra_k = keyed(missing), keyed(extra)
    found: dict[str, Difference] = {}
    for key in sorted(set(miss_k) | set(extra_k)):
        words = key.split()
        if key.startswith("pcmk__") and len(words) > 1:  # "pcmk__x: rsc allocation score on"
            func, rsc = words[0].rstrip(":"), words[1]
        elif " promotion score on " in key:              # "rsc:0 promotion score on node"
            func, rsc = "promotion score", words[0]
        else:
            func, rsc = "line that is not a score", ""
        instance = " (clone instance)" if re.search(r":\d+$", rsc) else ""
        if key in miss_k and key in extra_k:
            how, detail = "value differs", f"expected {miss_k[key]!r} got {extra_k[key]!r}"
        elif key in miss_k:
            how, detail = "missing", f"expected {miss_k[key]!r}"
        else:
            how, detail = "extra", f"got {extra_k[key]!r}"
        category = f"scores: {func} {how}{instance}"
        found.setdefault(category, Difference(category, detail))
    return list(found.values())


def _ids_in(xml_text: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]*)"', xml_text))


def stderr_differences(stderr: str, ids: Iterable[str]) -> list[Difference]:
    """One difference per `unsupported` line; identifiers of the case are left out of the
    category (`unsupported: bundle` rather than `unsupported: bundle httpd-bundle`)."""
    known = set(ids)
    out = []
    for line in stderr.splitlines():
        match = re.search(r"unsupported:?\s*(.*)", line, re.IGNORECASE)
        if not match:
            continue
        what = re.split(r" of | \(|: ", match.group(1))[0]
        words = [w for w in what.split() if w not in known]
        out.append(Difference(f"unsupported: {' '.join(words)}", line.strip()))
    return out


# ------------------------------------------------------------------------------------------------
# running a case

@dataclass
class Outcome:
    case: Case
    loose_ok: bool
    loose_why: str
    strict: list[Difference] = field(default_factory=list)
    stderr: str = ""
    seconds: float = 0.0
    same_ids: Optional[bool] = None  # the graph's actions carry Pacemaker's ids (None: no graph)

    @property
    def strict_ok(self) -> bool:
        return self.loose_ok and not self.strict


def _run(cmd: list[str]) -> tuple[int, str, str]:
    env = dict(os.environ, LC_ALL="C")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                              env=env)
    except subprocess.TimeoutExpired:
        return -1, "", f"timed out after {RUN_TIMEOUT_S:.0f} s"
    return proc.returncode, proc.stdout, proc.stderr


def runner_summary(stdout: str, stderr: str) -> str:
    """The first run's output as Pacemaker's runner keeps it: stderr merged into the summary
    (`stderr=subprocess.STDOUT` in cts-scheduler), crm_simulate's own stderr lines (e.g.
    "Schema validation of configuration is disabled ...") written before its buffered stdout.
    Lines `hb simulate:` writes about the input are this project's diagnostics, judged by
    `stderr_differences`, and left out."""
    own = [line for line in stderr.splitlines(keepends=True)
           if line.strip() and not line.startswith("hb simulate:")]
    return "".join(own) + stdout


def run_case(case: Case, command: list[str], base: Optional[pathlib.Path] = None) -> Outcome:
    """Both runs of one case and both judgements; `command` is `[hb, "simulate"]` (or
    `["crm_simulate"]`, to check the judge on the engine that made the corpus)."""
    base = base or corpus_dir()
    start = time.monotonic()
    xml = base / "xml" / f"{case.name}.xml"
    expected_summary = (base / "summary" / f"{case.name}.summary").read_text()
    rc1, summary, err1 = _run([*command, "-x", str(xml), "-S"])
    with tempfile.TemporaryDirectory(prefix="pyhb-corpus-") as tmp:
        graph_path = pathlib.Path(tmp) / f"{case.name}.exp"
        rc2, scores, err2 = _run([*command, "-x", str(xml), "-G", str(graph_path),
                                  "-s", "-S", "-Q", *case.args])
        graph = graph_path.read_text() if graph_path.exists() else ""
    summary = runner_summary(summary, err1)
    loose_ok, loose_why = judge(expected_summary, summary)
    strict: list[Difference] = []
    for rc, err in ((rc1, err1), (rc2, err2)):
        if rc != 0:
            last = err.strip().splitlines()[-1:] or [""]
            strict.append(Difference(f"exit status {rc}", last[0]))
    strict += stderr_differences(err1 + err2, _ids_in(xml.read_text(errors="replace")))
    if not loose_ok:
        strict.append(Difference("loose judge fails", loose_why))
    strict += summary_differences(expected_summary, summary)
    scores_file = base / "scores" / f"{case.name}.scores"
    if scores_file.exists():
        strict += score_differences(scores_file.read_text(), scores)
    exp_file = base / "exp" / f"{case.name}.exp"
    same_ids = None
    if exp_file.exists():
        expected_graph = exp_file.read_text()
        strict += graph_differences(expected_graph, graph) if graph else \
            [Difference("no graph written", f"-G {graph_path.name}")]
        same_ids = bool(graph) and action_ids(graph) == action_ids(expected_graph)
    return Outcome(case, loose_ok, loose_why, strict, err1 + err2, time.monotonic() - start,
                   same_ids)


def run_cases(cases: list[Case], command: list[str], jobs: int = 0) -> list[Outcome]:
    """All cases, `jobs` at a time (default: one per CPU); outcomes in the order of `cases`."""
    jobs = jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda c: run_case(c, command), cases))


# ------------------------------------------------------------------------------------------------
# reports and ratchet lists

def read_list(path: pathlib.Path) -> set[str]:
    """Case names, one per line; '#' starts a comment."""
    if not path.exists():
        return set()
    return {line.split("#", 1)[0].strip() for line in path.read_text().splitlines()} - {""}


def write_list(path: pathlib.Path, names: Iterable[str], title: str) -> None:
    path.write_text(f"# {title}\n# written by: python tests/pengine/corpus.py --write-lists\n"
                    + "".join(f"{n}\n" for n in sorted(names)))


def count_report(outcomes: list[Outcome]) -> str:
    """Loose and strict passes per tier and group, then per tier."""
    groups: dict[tuple[int, str], list[int]] = {}
    for o in outcomes:
        g = groups.setdefault((o.case.tier, o.case.group), [0, 0, 0])
        g[0] += o.loose_ok
        g[1] += o.strict_ok
        g[2] += 1
    lines = [f"{'':7}{'group':<26} {'loose':>7} {'strict':>7}"]
    tiers: dict[int, list[int]] = {}
    for (tier, group), (loose, strict, total) in sorted(groups.items()):
        t = tiers.setdefault(tier, [0, 0, 0])
        t[0] += loose
        t[1] += strict
        t[2] += total
        lines.append(f"tier {tier} {group:<26} {loose:>3}/{total:<3} {strict:>3}/{total:<3}")
    for tier, (loose, strict, total) in sorted(tiers.items()):
        lines.append(f"TIER {tier}: loose {loose}/{total} ({100 * loose / total:.1f} %), "
                     f"strict {strict}/{total} ({100 * strict / total:.1f} %)")
    return "\n".join(lines)


def category_report(outcomes: list[Outcome], limit: int = 0) -> str:
    """Why strict cases fail: for each category, the number of cases it occurs in (a case with
    several kinds of difference counts under each), with one example; and the number of failing
    cases whose *only* kind of difference it is (fixing that rule alone would pass them)."""
    cases: Counter = Counter()
    alone: Counter = Counter()
    example: dict[str, str] = {}
    for o in outcomes:
        if o.strict_ok:
            continue
        kinds = {d.category for d in o.strict}
        for d in o.strict:
            example.setdefault(d.category, f"{o.case.name}: {d.detail}")
        cases.update(kinds)
        if len(kinds) == 1:
            alone.update(kinds)
    lines = [f"{'cases':>5} {'only':>4}  category  (example)"]
    for category, count in cases.most_common(limit or None):
        text = example[category]
        lines.append(f"{count:>5} {alone[category]:>4}  {category}  ({text[:150]})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    import argparse
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tier", type=int, action="append")
    p.add_argument("--group")
    p.add_argument("--strict", action="store_true", help="--show-fail shows strict failures")
    p.add_argument("--show-fail", action="store_true")
    p.add_argument("--categories", action="store_true",
                   help="count failing strict cases per kind of difference")
    p.add_argument("--top", type=int, default=0, help="with --categories: the N most frequent")
    p.add_argument("--write-lists", action="store_true",
                   help="rewrite the loose and strict pass lists for the cases run")
    p.add_argument("--crm-simulate", action="store_true",
                   help="judge Pacemaker's crm_simulate instead (a check of the judge itself)")
    p.add_argument("-j", "--jobs", type=int, default=0, help="parallel cases (default: CPUs)")
    p.add_argument("names", nargs="*")
    args = p.parse_args(argv)
    hb = hb_command()
    if args.crm_simulate:
        command = [shutil.which("crm_simulate") or "crm_simulate"]
    elif hb is None:
        print("corpus.py: the `hb` command is not installed (make -s bytecode)", file=sys.stderr)
        return 2
    else:
        command = [hb, "simulate"]
    cases = load_index()
    if args.names:
        cases = [c for c in cases if c.name in args.names]
    if args.tier:
        cases = [c for c in cases if c.tier in args.tier]
    if args.group:
        cases = [c for c in cases if c.group == args.group]
    start = time.monotonic()
    outcomes = run_cases(cases, command, args.jobs)
    elapsed = time.monotonic() - start
    if args.show_fail:
        for o in outcomes:
            if args.strict and not o.strict_ok:
                print(f"FAIL {o.case.tier} {o.case.group} {o.case.name}:")
                for d in o.strict[:8]:
                    print(f"    {d.category}: {d.detail[:200]}")
            elif not args.strict and not o.loose_ok:
                print(f"FAIL {o.case.tier} {o.case.group} {o.case.name}: {o.loose_why}")
    print(count_report(outcomes))
    if args.categories:
        for tier in sorted({o.case.tier for o in outcomes}):
            print(f"\nwhy strict tier-{tier} cases fail:")
            print(category_report([o for o in outcomes if o.case.tier == tier], args.top))
    noisy = [o.case.name for o in outcomes
             if any(line and "unsupported" not in line.lower() for line in o.stderr.splitlines())]
    if noisy:  # Pacemaker's runner wants stderr empty; the strict judge only forbids unsupported
        print(f"{len(noisy)} cases write other lines on stderr (not judged): "
              f"{' '.join(noisy[:10])}{' ...' if len(noisy) > 10 else ''}")
    slow = sorted(outcomes, key=lambda o: -o.seconds)[:3]
    print(f"({elapsed:.1f} s wall, {len(cases)} cases, slowest: "
          + ", ".join(f"{o.case.name} {o.seconds:.1f} s" for o in slow) + ")")
    if args.write_lists and not args.crm_simulate:
        ran = {o.case.name for o in outcomes}
        for path, ok, title in (
                (PASSING_LIST, lambda o: o.loose_ok, "cases passing the loose judge"),
                (STRICT_LIST, lambda o: o.strict_ok, "cases passing the strict judge")):
            kept = read_list(path) - ran
            write_list(path, kept | {o.case.name for o in outcomes if ok(o)}, title)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
