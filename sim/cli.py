"""`hb sim membership` and `hb sim crm`: run seeded whole-cluster simulations.

    hb sim membership --nodes 5 --seeds 1000            seeds 0..999, 5 nodes each
    hb sim membership --nodes 2-7 --seeds 5000          node count cycles through 2..7
    hb sim membership --nodes 5 --seed 4242 --trace     replay one seed and print its trace
    hb sim membership ... --faults partition,oneway     only these fault kinds (default: all)
    hb sim membership ... --jobs 2 --quiet              parallel workers; only violations and a summary

    hb sim crm --nodes 2-5 --seeds 1000 --jobs 2        the whole stack (messaging, ccm, lrmd with
                                                         simulated agents, pengine, tengine, crmd)
    hb sim crm --seed 17 --trace [--verbose]             replay one seed; --verbose adds info lines
    hb sim crm ... --mode crm|haresources                only this configuration (default: by seed)
    hb sim crm ... --fencing on|mixed                    with stonithd and simulated fence devices

One line per run; a violation prints the seed, what was violated, the run's trace and the
command that replays it, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import sys
import time
from typing import Any, Callable, Iterable, Iterator, Optional

from sim import crmrun
from sim.membership import FAULT_KINDS, RunResult, run_seed


def parse_nodes(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: want N or N-M") from None
    if not 2 <= first <= last <= 16:
        raise argparse.ArgumentTypeError(f"{text!r}: node counts from 2 to 16")
    return first, last


def parse_faults(text: str) -> tuple[str, ...]:
    if text in ("", "none"):
        return ()
    if text == "all":
        return FAULT_KINDS
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown fault kinds {', '.join(unknown)} (known: {', '.join(FAULT_KINDS)})")
    return kinds


def nodes_for(seed: int, nodes: tuple[int, int]) -> int:
    first, last = nodes
    return first + seed % (last - first + 1)


def _one(job: tuple[int, int, tuple[str, ...], bool]) -> RunResult:
    seed, count, kinds, keep_trace = job
    return run_seed(seed, count, random.Random(seed), kinds, keep_trace=keep_trace)


def fencing_for(seed: int, fencing: str, nodes: int = 3) -> str:
    """off | on (a fence device) | watchdog (watchdog fencing, three nodes or more) | mixed (odd
    seeds fence: with watchdog fencing one in four, when there are three nodes or more)."""
    if fencing == "mixed":
        if seed % 2 == 0:
            return "off"
        return "watchdog" if seed % 4 == 3 and nodes >= 3 else "on"
    if fencing == "watchdog" and nodes < 3:
        return "on"
    return fencing


def _one_crm(job: tuple[int, int, tuple[str, ...], bool, str, bool, str]) -> crmrun.CrmRunResult:
    seed, count, kinds, keep_trace, mode, verbose, fencing = job
    how = fencing_for(seed, fencing, count)
    return crmrun.run_crm_seed(seed, count, random.Random(seed), kinds, mode, keep_trace=keep_trace,
                               verbose=verbose, trace_limit=100_000 if verbose else 4000,
                               fencing=how != "off", watchdog=how == "watchdog")


def run_many_crm(seeds: Iterable[int], nodes: tuple[int, int], kinds: tuple[str, ...] = crmrun.FAULT_KINDS,
                 jobs: int = 1, keep_trace: bool = False, mode: str = "",
                 verbose: bool = False, fencing: str = "off") -> Iterator[crmrun.CrmRunResult]:
    work = [(seed, nodes_for(seed, nodes), kinds, keep_trace, mode, verbose, fencing) for seed in seeds]
    if jobs <= 1:
        for job in work:
            yield _one_crm(job)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=_worker_start) as pool:
        yield from pool.imap(_one_crm, work, chunksize=4)


def _worker_start() -> None:
    """A forked worker inherits its parent's whole heap (all of pytest's, in the test suite): keep
    those objects out of the worker's collections, which would otherwise scan them again and
    again (it made the CI sweep half again slower inside pytest than from the command line)."""
    gc.freeze()


def run_many(seeds: Iterable[int], nodes: tuple[int, int], kinds: tuple[str, ...] = FAULT_KINDS,
             jobs: int = 1, keep_trace: bool = False) -> Iterator[RunResult]:
    """Results in seed order; with jobs > 1 the runs are spread over worker processes."""
    work = [(seed, nodes_for(seed, nodes), kinds, keep_trace) for seed in seeds]
    if jobs <= 1:
        for job in work:
            yield _one(job)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=_worker_start) as pool:
        yield from pool.imap(_one, work, chunksize=16)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hb sim", description="deterministic whole-cluster simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    membership = sub.add_parser("membership", help="membership (messaging + ccm) under random faults")
    membership.add_argument("--nodes", type=parse_nodes, default=(2, 7), help="N or N-M (cycled by seed); default 2-7")
    membership.add_argument("--seeds", type=int, default=100, help="how many seeds (default 100)")
    membership.add_argument("--seed", type=int, help="run this one seed (or, with --seeds, the first seed)")
    membership.add_argument("--faults", type=parse_faults, default=FAULT_KINDS,
                            help=f"comma list of {','.join(FAULT_KINDS)}; 'all' (default) or 'none'")
    membership.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    membership.add_argument("--quiet", action="store_true", help="print only violations and the summary")
    membership.add_argument("--trace", action="store_true", help="print the trace of every run")
    crm = sub.add_parser("crm", help="the whole stack (resources, DC, transitions) under random faults")
    crm.add_argument("--nodes", type=parse_nodes, default=(2, 5), help="N or N-M (cycled by seed); default 2-5")
    crm.add_argument("--seeds", type=int, default=100, help="how many seeds (default 100)")
    crm.add_argument("--seed", type=int, help="run this one seed (or, with --seeds, the first seed)")
    crm.add_argument("--faults", type=parse_crm_faults, default=crmrun.FAULT_KINDS,
                     help=f"comma list of {','.join(crmrun.FAULT_KINDS)}; 'all' (default) or 'none'")
    crm.add_argument("--mode", choices=("crm", "haresources"), default="",
                     help="the configuration (default: haresources for every third seed, else a CIB)")
    crm.add_argument("--fencing", choices=("off", "on", "watchdog", "mixed"), default="off",
                     help="stonithd and a simulated fence device on every node: off (default), on, "
                          "watchdog (watchdog fencing, no device: 3+ nodes), or mixed (odd seeds, one in "
                          "four with watchdog fencing); with fencing, two-node clusters get every fault kind")
    crm.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    crm.add_argument("--quiet", action="store_true", help="print only violations and the summary")
    crm.add_argument("--trace", action="store_true", help="print the trace of every run")
    crm.add_argument("--verbose", action="store_true", help="trace info lines too")
    return parser


def parse_crm_faults(text: str) -> tuple[str, ...]:
    if text in ("", "none"):
        return ()
    if text == "all":
        return crmrun.FAULT_KINDS
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in crmrun.FAULT_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown fault kinds {', '.join(unknown)} "
                                         f"(known: {', '.join(crmrun.FAULT_KINDS)})")
    return kinds


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    first = args.seed if args.seed is not None else 0
    count = 1 if args.seed is not None and "--seeds" not in (argv if argv is not None else sys.argv) else args.seeds
    jobs = max(1, min(args.jobs, os.cpu_count() or 1))
    seeds = range(first, first + count)
    faults = ",".join(args.faults) or "none"
    if args.command == "crm":
        return _report(args, run_many_crm(seeds, args.nodes, args.faults, jobs, args.trace, args.mode, args.verbose,
                                          args.fencing),
                       lambda r: r.settled_ms, "settled after heal",
                       lambda r: f"hb sim crm --nodes {r.nodes} --seed {r.seed} --faults {faults} "
                                 f"--mode {r.mode.split('+')[0]} --fencing "
                                 f"{'watchdog' if '+watchdog' in r.mode else 'on' if '+fencing' in r.mode else 'off'} "
                                 "--trace --verbose",
                       f" (bound {crmrun.bound_ms(crmrun.Timing(), args.fencing != 'off')} ms"
                       + (f", and {crmrun.WATCHDOG_FENCING_MS} ms more per node beyond two with watchdog fencing"
                          if args.fencing in ("watchdog", "mixed") else "") + ")")
    return _report(args, run_many(seeds, args.nodes, args.faults, jobs, keep_trace=args.trace),
                   lambda r: r.converged_ms, "convergence after heal",
                   lambda r: f"hb sim membership --nodes {r.nodes} --seed {r.seed} --faults {faults} --trace", "")


def _report(args: argparse.Namespace, results: Iterable[Any], settle_of: Callable[[Any], Optional[int]],
            settle_label: str, replay: Callable[[Any], str], bound: str) -> int:
    """Print every run (or, with --quiet, the failed ones, with their trace and the command that
    replays them) and a summary line; exit status 1 when any run failed."""
    started = time.monotonic()
    failures = 0
    spreads: list[int] = []
    total = 0
    for result in results:
        total += 1
        if not args.quiet or not result.ok:
            print(result.line(), flush=True)
        if args.trace and result.ok:
            print(result.trace)
        if result.ok:
            if settle_of(result) is not None:
                spreads.append(settle_of(result))
        else:
            failures += 1
            print(f"VIOLATION seed {result.seed} nodes {result.nodes}: {result.violation}")
            print(result.trace)
            print(f"replay: {replay(result)}")
    elapsed = time.monotonic() - started
    spreads.sort()
    spread = ""
    if spreads:
        spread = (f"; {settle_label}: median {spreads[len(spreads) // 2]} ms, "
                  f"p99 {spreads[min(len(spreads) - 1, int(len(spreads) * 0.99))]} ms, max {spreads[-1]} ms{bound}")
    print(f"{total} runs, {failures} violations, {elapsed:.1f} s{spread}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
