"""Generated-CIB conformance: `hb simulate -S` against Pacemaker 2.1.5's `crm_simulate -S`.

    python bench/pengine_generated.py --cases 3000                 # own generator, seeds 1..3000
    python bench/pengine_generated.py --source shared --cases 500  # the anchors' gen_cib.py
    python bench/pengine_generated.py --seed 17 --show 1 --keep /tmp/cases
    python bench/pengine_generated.py --cases 300 --scores          # node scores too
    python bench/pengine_generated.py --source coloc --cases 500 --scores  # colocation chains
    python bench/pengine_generated.py --source notify-migrate --cases 1000  # notify, migration
    python bench/pengine_generated.py --source schema-none --cases 1000  # values the schema refuses
    python bench/pengine_generated.py --source sets --cases 1000 --graph  # resource sets
    python bench/pengine_generated.py --source rules --cases 1000 --graph  # location rules
    python bench/pengine_generated.py --source lifecycle --cases 1000 --graph  # shutdowns, fencing
    python bench/pengine_generated.py --source orders --cases 1000 --graph  # clone orderings
    python bench/pengine_generated.py --source attrs --cases 1000 --graph  # attribute sets, op syntax
    python bench/pengine_generated.py --source history --cases 1000 --graph  # histories, orphans
    python bench/pengine_generated.py --source inject --cases 1000 --graph  # -u -d -f -g -r -b -e -w -q -i -F
    python bench/pengine_generated.py --source mix --cases 1000 --graph  # every area at once
    python bench/pengine_generated.py --source container --cases 1000 --graph  # containers
    python bench/pengine_generated.py --cases 300 --graph            # the transition graphs too

Why: the visible corpus can be fitted case by case; random CIBs cannot. Each case is a CIB made by
tests/pengine/cibgen.py (every feature the engine supports, see its docstring), by the shared
anchor generator gen_cib.py (cold clusters with groups and constraints, plus a random node
failure, clean node loss or quorum loss injected on the command line) or by
tests/pengine/colocgen.py (small clusters dense in colocations, for the scores) or by
tests/pengine/notifymigrategen.py (cibgen's model plus notify clones and live migration with
partial, dangling and failed migration histories) or by tests/pengine/schemalessgen.py (cibgen's
CIBs under validate-with="none" with values the schema refuses) or by tests/pengine/setsgen.py
(cibgen's model plus order, colocation and location constraints over resource sets, and cloned
groups) or by tests/pengine/rulesgen.py (cibgen's model plus configured and transient node
attributes and location rules over them and over dates) or by tests/pengine/lifecyclegen.py
(cibgen's model plus node shutdowns, shutdown locks, fencing options and unfencing) or by
tests/pengine/ordersgen.py (orders between clones, promotable clones and groups with every
pair of actions) or by tests/pengine/attrsgen.py (scored and rule-bound attribute sets, defaults
per agent and operation, operation syntax, rsc-pattern and node-attribute constraints) or by
tests/pengine/historygen.py (operation histories with every exit code and execution status,
orphaned resources, fence devices and clone instances) or by tests/pengine/containergen.py
(cibgen's model plus resources inside containers: the `container` meta-attribute) or by
tests/pengine/mixgen.py (every area generator's model at once). Both tools are
run as a user runs them (our installed `hb` entry point, not an in-process call) and their
outputs are compared section by section:

- exit: the exit statuses differ (or one tool timed out);
- summary: the Transition Summary lines differ (as a set);
- executed: the executed actions differ (as a set);
- placement: the Revised Cluster Status differs;
- current: the Current cluster status (how the input is read and shown) differs;
- scores (with --scores, both tools run once more with `-s -S -Q`): the node scores differ
  (the allocation and promotion score lines, as a set) -- a rule can be wrong on scores while
  the placement still happens to agree;
- graph (with --graph, both tools also write `-G`): the transition graphs differ as labelled
  graphs (tests/pengine/graphdiff.py, the corpus's strict judge: the same actions with the same
  attributes and the same ordering edges, ids ignored) -- the executed list is a set and says
  nothing of the order the transition engine must keep.

A case agrees when nothing differs. Printed: agreement overall, per mismatch category, and per
feature tag of the generator (share of the cases carrying that tag that agree), then the worst
seeds. Exit status 0 when the agreement reaches --goal (default 99.5 %).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import os
import pathlib
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Optional

ROOT = pathlib.Path(__file__).resolve().parents[1]
ANCHORS = pathlib.Path(os.environ.get("PYHB_ANCHORS",
                                      str(ROOT.parent / "shared" / "anchors" / "pacemaker")))
TITLES = ("Current cluster status", "Performing Requested Modifications", "Transition Summary",
          "Executing Cluster Transition", "Revised Cluster Status")
CATEGORIES = ("exit", "summary", "executed", "placement", "current", "scores", "graph")
SCORE_LINE = re.compile(r"^\S.* (allocation|promotion) score on \S+: \S+$")


def _load_generator(name: str = "cibgen"):
    spec = importlib.util.spec_from_file_location(
        f"pengine_{name}", ROOT / "tests" / "pengine" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"pengine_{name}"] = module
    spec.loader.exec_module(module)
    return module


cibgen = _load_generator()
colocgen = _load_generator("colocgen")
notifymigrategen = _load_generator("notifymigrategen")
schemalessgen = _load_generator("schemalessgen")
setsgen = _load_generator("setsgen")
rulesgen = _load_generator("rulesgen")
lifecyclegen = _load_generator("lifecyclegen")
containergen = _load_generator("containergen")
ordersgen = _load_generator("ordersgen")
attrsgen = _load_generator("attrsgen")
historygen = _load_generator("historygen")
mixgen = _load_generator("mixgen")
graphdiff = _load_generator("graphdiff")
GENERATORS = {"own": cibgen, "coloc": colocgen, "notify-migrate": notifymigrategen,
              "schema-none": schemalessgen, "sets": setsgen,
              "rules": rulesgen, "lifecycle": lifecyclegen, "container": containergen,
              "orders": ordersgen, "attrs": attrsgen, "history": historygen,
              "mix": mixgen}


HB_OVERRIDE: list[str] = []


def hb_command() -> list[str]:
    """Our installed entry point: --hb if given, else the venv's `hb` next to this
    interpreter, else PATH."""
    if HB_OVERRIDE:
        return [*HB_OVERRIDE, "simulate"]
    here = pathlib.Path(sys.executable).with_name("hb")
    if here.exists():
        return [str(here), "simulate"]
    found = shutil.which("hb")
    if found:
        return [found, "simulate"]
    raise SystemExit("hb is not installed (run `make bytecode`)")


def sections(text: str) -> dict[str, list[str]]:
    """Split `-S` output into its titled sections, whitespace-normalised."""
    out: dict[str, list[str]] = {"preamble": []}
    current = "preamble"
    for line in text.splitlines():
        if SCORE_LINE.match(line):
            continue  # appended by judge(scores=True); compared apart (score_lines)
        if line.endswith(":") and line[:-1] in TITLES:
            current = line[:-1]
            out[current] = []
        elif line.strip():
            line = re.sub(r"(last-failure-\S*=)\d+", r"\1<time>", line)
            out[current].append(" ".join(line.split()))
    return out


@dataclass
class Outcome:
    """One tool's run on one CIB."""
    rc: Optional[int]
    out: str
    err: str
    graph: str = ""  # the -G transition graph, with --graph


def run_tool(cmd: list[str], timeout: float) -> Outcome:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome(None, "", "timed out")
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def oracle_crashed(theirs: Outcome) -> bool:
    """crm_simulate died of a signal (a failed assertion aborts it) or never finished (it
    loops in compare_version on a value that is not a version): the case has no reference
    answer, so it is counted apart instead of as an agreement or a mismatch."""
    return theirs.rc is None or theirs.rc < 0 or theirs.rc >= 128


def score_lines(text: str) -> list[str]:
    """The `-s` score lines of a run, sorted (both tools print them in their own order)."""
    return sorted(line for line in text.splitlines() if SCORE_LINE.match(line))


def graph_differences(ours: Outcome, theirs: Outcome) -> list:
    """How our graph differs from crm_simulate's (graphdiff.Difference each; none when they
    agree)."""
    if not theirs.graph:
        return [] if not ours.graph else [graphdiff.Difference("graph only in ours", "")]
    if not ours.graph:
        return [graphdiff.Difference("no graph written", "")]
    try:
        return graphdiff.graph_differences(theirs.graph, ours.graph)
    except graphdiff.GraphFormatError as error:
        return [graphdiff.Difference("unreadable graph", str(error))]


def compare(ours: Outcome, theirs: Outcome, scores: bool = False, graph: bool = False) -> list[str]:
    """The mismatch categories between two runs (empty: they agree)."""
    if ours.rc != theirs.rc:
        return ["exit"]
    a, b = sections(ours.out), sections(theirs.out)
    found = []
    if sorted(a.get("Transition Summary", [])) != sorted(b.get("Transition Summary", [])):
        found.append("summary")
    if sorted(a.get("Executing Cluster Transition", [])) != \
            sorted(b.get("Executing Cluster Transition", [])):
        found.append("executed")
    if a.get("Revised Cluster Status") != b.get("Revised Cluster Status"):
        found.append("placement")
    if a.get("Current cluster status") != b.get("Current cluster status"):
        found.append("current")
    if scores and score_lines(ours.out) != score_lines(theirs.out):
        found.append("scores")
    if graph and graph_differences(ours, theirs):
        found.append("graph")
    return found


@dataclass
class Case:
    """One generated input: the CIB text, extra command-line arguments, its feature tags."""
    seed: int
    source: str
    cib: str
    args: list[str]
    features: set[str]


def injections(text: str, rnd: random.Random) -> tuple[list[str], set[str]]:
    """crm_simulate's synthetic events for one of cibgen's CIBs: 1-3 of nodes brought up,
    down or failed, tickets granted, revoked, put in standby or activated (the CIB's and an
    unknown one), the watchdog and quorum set, an operation result injected (-i) or a
    simulated action failing (-F)."""
    nodes = re.findall(r'<node id="[^"]*" uname="([^"]+)"', text)
    tickets = sorted(set(re.findall(r'ticket="([^"]+)"', text))) + ["tnew"]
    prims = re.findall(r'<primitive id="([^"]+)"', text)
    args: list[str] = []
    features: set[str] = set()
    for _ in range(rnd.randint(1, 3)):
        kind = rnd.choice(["node", "ticket", "ticket", "watchdog", "quorum", "inject", "fail"])
        if kind == "node":
            flag = rnd.choice(["-u", "-d", "-f"])
            args += [flag, rnd.choice(nodes)]
            features.add(f"inject{flag}")
        elif kind == "ticket":
            flag = rnd.choice(["-g", "-r", "-b", "-e"])
            args += [flag, rnd.choice(tickets)]
            features.add(f"inject{flag}")
        elif kind == "watchdog":
            args += ["-w", rnd.choice(["true", "1", "false"])]
            features.add("inject-w")
        elif kind == "quorum":
            args += ["-q", rnd.choice(["true", "false"])]
            features.add("inject-q")
        elif prims:
            task = rnd.choice(["monitor_10000", "monitor_0", "start_0", "stop_0"])
            rc = rnd.choice([0, 1, 7, 2, 5])
            flag = "-i" if kind == "inject" else "-F"
            args += [flag, f"{rnd.choice(prims)}_{task}@{rnd.choice(nodes)}={rc}"]
            features.add(f"inject{flag}")
    return args, features


def make_case(seed: int, source: str, workdir: pathlib.Path) -> Case:
    if source == "inject":
        text, features = cibgen.generate(seed)
        args, more = injections(text, random.Random(seed * 7 + 1))
        return Case(seed, source, text, args, features | more)
    if source in GENERATORS:
        text, features = GENERATORS[source].generate(seed)
        return Case(seed, source, text, [], features)
    rnd = random.Random(seed)
    nodes, rscs = rnd.randint(2, 6), rnd.randint(3, 40)
    path = workdir / f"shared-{seed}.xml"
    subprocess.run([sys.executable, str(ANCHORS / "gen_cib.py"), str(nodes), str(rscs),
                    str(path), "--seed", str(seed)], check=True, capture_output=True)
    args, features = [], {"shared-gen"}
    pick = rnd.random()
    if pick < 0.2:
        args, features = ["-f", f"node{rnd.randint(1, nodes)}"], features | {"inject-fail"}
    elif pick < 0.35:
        args, features = ["-d", f"node{rnd.randint(1, nodes)}"], features | {"inject-down"}
    elif pick < 0.45:
        args, features = ["-q", "false"], features | {"inject-noquorum"}
    return Case(seed, source, path.read_text(), args, features)


@dataclass
class Result:
    case: Case
    mismatches: list[str]
    ours: Outcome
    theirs: Outcome


def judge(case: Case, workdir: pathlib.Path, timeout: float = 60.0,
          scores: bool = False, graph: bool = False) -> Result:
    path = workdir / f"{case.source}-{case.seed}.xml"
    path.write_text(case.cib)
    outcomes = []
    for who, cmd in (("theirs", ["crm_simulate"]), ("ours", hb_command())):
        exp = workdir / f"{case.source}-{case.seed}.{who}.exp"
        exp.unlink(missing_ok=True)
        extra = ["-G", str(exp)] if graph else []
        outcome = run_tool([*cmd, "-S", "-x", str(path), *extra, *case.args], timeout)
        if graph and exp.exists():
            outcome.graph = exp.read_text()
            exp.unlink()
        outcomes.append(outcome)
    theirs, ours = outcomes
    if scores:
        # a run of its own, as Pacemaker's runner does: crm_simulate drops the section titles
        # of -S when -s is given
        for outcome, cmd in ((theirs, ["crm_simulate"]), (ours, hb_command())):
            extra = run_tool([*cmd, "-s", "-S", "-Q", "-x", str(path), *case.args], timeout)
            outcome.out += "".join(line + "\n" for line in score_lines(extra.out))
    return Result(case, compare(ours, theirs, scores, graph), ours, theirs)


@dataclass
class Tally:
    """Agreement counters overall, per category and per feature."""
    total: int = 0
    agreed: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_feature: dict[str, list[int]] = field(default_factory=dict)
    failing: list[Result] = field(default_factory=list)
    oracle_crashes: list[int] = field(default_factory=list)

    def add(self, result: Result) -> None:
        if oracle_crashed(result.theirs):
            self.oracle_crashes.append(result.case.seed)
            return
        self.total += 1
        ok = not result.mismatches
        self.agreed += ok
        for cat in result.mismatches:
            self.by_category[cat] = self.by_category.get(cat, 0) + 1
        for tag in result.case.features:
            row = self.by_feature.setdefault(tag, [0, 0])
            row[0] += ok
            row[1] += 1
        if not ok:
            self.failing.append(result)

    def percent(self) -> float:
        return 100.0 * self.agreed / self.total if self.total else 100.0


def run_many(seeds: list[int], source: str, jobs: int, workdir: pathlib.Path,
             scores: bool = False, graph: bool = False) -> Tally:
    tally = Tally()

    def one(seed: int) -> Result:
        return judge(make_case(seed, source, workdir), workdir, scores=scores, graph=graph)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for result in pool.map(one, seeds):
            tally.add(result)
    return tally


def diff_text(result: Result) -> str:
    import difflib

    def lines(text: str) -> list[str]:
        # score lines sorted at the end: the tools print them in different orders
        rest = [line for line in text.splitlines(True) if not SCORE_LINE.match(line.rstrip("\n"))]
        return rest + [line + "\n" for line in score_lines(text)]
    return "".join(difflib.unified_diff(lines(result.theirs.out), lines(result.ours.out),
                                        "crm_simulate", "hb simulate", n=2))


def report(tally: Tally, label: str, show: int) -> None:
    print(f"{label}: {tally.agreed}/{tally.total} agree ({tally.percent():.2f} %)")
    if tally.oracle_crashes:
        print(f"  not counted: crm_simulate crashed or hung on {len(tally.oracle_crashes)} case(s), "
              f"seeds {' '.join(map(str, tally.oracle_crashes[:20]))}")
    for cat in CATEGORIES:
        if tally.by_category.get(cat):
            print(f"  mismatch {cat:10s} {tally.by_category[cat]}")
    print("  per feature (agree/cases):")
    for tag, (ok, n) in sorted(tally.by_feature.items(), key=lambda kv: kv[1][0] / kv[1][1]):
        print(f"    {tag:24s} {ok:5d}/{n:<5d} {100.0 * ok / n:6.2f} %")
    if tally.failing:
        seeds = " ".join(str(r.case.seed) for r in tally.failing[:40])
        print(f"  failing seeds: {seeds}")
    for result in tally.failing[:show]:
        print(f"--- seed {result.case.seed} {result.case.args} {result.mismatches}")
        print(diff_text(result))
        if "graph" in result.mismatches:
            for difference in graph_differences(result.ours, result.theirs)[:12]:
                print(f"graph: {difference.category}: {difference.detail}")
        if result.ours.err.strip():
            print("hb stderr:", result.ours.err.strip()[-2000:])


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--first", type=int, default=1, help="first seed")
    parser.add_argument("--seed", type=int, action="append", help="run only these seeds")
    parser.add_argument("--source", choices=("own", "shared", "both", "coloc", "notify-migrate",
                                             "schema-none", "sets", "rules", "lifecycle",
                                             "orders", "attrs", "history", "inject",
                                             "mix", "container"),
                        default="own",
                        help="both: own and shared; coloc: tests/pengine/colocgen.py; "
                             "notify-migrate: tests/pengine/notifymigrategen.py; schema-none: "
                             "tests/pengine/schemalessgen.py; sets: tests/pengine/setsgen.py; "
                             "rules: tests/pengine/rulesgen.py; "
                             "lifecycle: tests/pengine/lifecyclegen.py; "
                             "container: tests/pengine/containergen.py; "
                             "orders: tests/pengine/ordersgen.py; "
                             "attrs: tests/pengine/attrsgen.py; "
                             "history: tests/pengine/historygen.py; "
                             "inject: cibgen's CIBs with crm_simulate's synthetic events; "
                             "mix: tests/pengine/mixgen.py")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--show", type=int, default=0, help="print diffs of N failing cases")
    parser.add_argument("--keep", help="write the CIBs to this directory")
    parser.add_argument("--goal", type=float, default=99.5)
    parser.add_argument("--hb", help="the hb executable to judge (default: this venv's)")
    parser.add_argument("--scores", action="store_true",
                        help="also compare the node scores (both tools run with -s)")
    parser.add_argument("--graph", action="store_true",
                        help="also compare the transition graphs (both tools write -G)")
    args = parser.parse_args(argv)
    if args.hb:
        HB_OVERRIDE[:] = [args.hb]
    if shutil.which("crm_simulate") is None:
        print("crm_simulate missing: apt-get install pacemaker-cli-utils", file=sys.stderr)
        return 2
    seeds = args.seed or list(range(args.first, args.first + args.cases))
    sources = ["own", "shared"] if args.source == "both" else [args.source]
    worst = 100.0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = pathlib.Path(args.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for source in sources:
            start = time.monotonic()
            tally = run_many(seeds, source, args.jobs, workdir, args.scores, args.graph)
            report(tally, f"{source} generator, seeds {seeds[0]}..{seeds[-1]}", args.show)
            print(f"  ({time.monotonic() - start:.1f} s)")
            worst = min(worst, tally.percent())
    return 0 if worst >= args.goal else 1


if __name__ == "__main__":
    sys.exit(main())
