"""Where the warm policy engine daemon's memory and time go at one size: a census by type of
what it keeps between transitions, its resident set around each transition, and optionally a
profile of one transition.

    python bench/pengine_census.py --size 32x10000              # census + RSS per step
    python bench/pengine_census.py --size 16x5000 --profile 25  # + cProfile of the nodefail step
    python bench/pengine_census.py --size 32x10000 --phases     # + CPU per phase of that step

Why: the goal at 32 nodes / 10,000 resources is a bound on peak RSS, and what holds it is not
visible from the outside. This process runs the inputs of bench/pengine.py (made there, see
bench/pengine_daemon.py) as the daemon sees them: `steady` (parsed whole), then `nodefail` (one
section new, the others reused), `steady` and `nodefail` again (the profile and the phases are
of this last step, a failover of a daemon that has run a while), each text read just before
its step and dropped after it, as the daemon holds only the message it is answering. Around
each step it prints the resident set before, the step's own peak (VmHWM, reset through
/proc/self/clear_refs before the step) and the resident set after the collection and heap trim
the daemon runs once the reply is sent. Then it walks everything reachable from the core
(`PengineProcess`: the input cache, the carried facts) and counts objects by type, each object
once (strings, tuples and XNodes shared between elements are counted once), with
sys.getsizeof: the memory a transition finds already taken.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pathlib
import pstats
import shutil
import sys
import time
import types

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pengine_daemon import bench_pengine, received  # noqa: E402  (the inputs, made once)


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    rss = hwm = 0.0
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm


def reset_peak() -> bool:
    """Reset VmHWM to the current resident set (Linux >= 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


_SKIP = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
         types.CodeType)


def census(roots: list[object], seen: set[int]) -> dict[str, list[int]]:
    """type name -> [count, bytes] of everything reachable from `roots` (each object once),
    through containers, instance dicts and __slots__; classes, modules and functions are not
    followed (they are start-up's, frozen). `seen`: ids already counted (updated)."""
    table: dict[str, list[int]] = {}
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _SKIP):
            continue
        seen.add(id(obj))
        kind = type(obj)
        row = table.setdefault(kind.__name__, [0, 0])
        row[0] += 1
        row[1] += sys.getsizeof(obj)
        if kind in (str, bytes, int, float, bool) or obj is None:
            continue
        if kind is dict or isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        else:
            inst = getattr(obj, "__dict__", None)
            if inst is not None:
                stack.append(inst)
            for klass in kind.__mro__:
                for slot in klass.__dict__.get("__slots__", ()):
                    value = getattr(obj, slot, None)
                    if value is not None:
                        stack.append(value)
    return table


# the phases of a transition as engine.unpack_cib / engine.schedule / process.schedule call them
_ENGINE_PHASES = ("unpack_config", "unpack_nodes", "unpack_resources", "unpack_status",
                  "apply_node_health", "unpack_constraints", "apply_node_criteria",
                  "internal_constraints", "handle_config_changes", "prepare_assignment",
                  "assign_resources", "schedule_probes", "create_actions",
                  "schedule_fencing_and_shutdowns", "apply_orderings", "create_graph")


def time_phases(engine, process, inputcache, status, phases: dict[str, float]) -> None:
    """Wrap the phase functions where their callers look them up, adding each call's CPU time
    to `phases` (a few of them also below unpack_status and the parse, to split those)."""
    def wrap(module, name: str, label: str) -> None:
        inner = getattr(module, name)

        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                phases[label] = phases.get(label, 0.0) + time.process_time() - start
        setattr(module, name, timed)
    for name in _ENGINE_PHASES:
        wrap(engine, name, name)
    wrap(process, "graph_xml", "graph_xml")
    wrap(process.summary, "transition_summary", "transition_summary")
    wrap(inputcache.InputCache, "parse", "parse (input cache)")
    wrap(inputcache, "_key", "  of which section digests")
    wrap(status, "unpack_lrm_resource", "  unpack_status: histories read in full")


def show(title: str, table: dict[str, list[int]], top: int) -> None:
    total = sum(row[1] for row in table.values())
    print(f"\n{title}: {total / 2**20:.1f} MB")
    print(f"{'type':<24} {'count':>10} {'MB':>8}")
    for name, (count, size) in sorted(table.items(), key=lambda kv: -kv[1][1])[:top]:
        print(f"{name:<24} {count:>10} {size / 2**20:8.1f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="16x5000", help="MxN (default 16x5000)")
    p.add_argument("--profile", type=int, default=0,
                   help="also profile the nodefail step, print this many functions (cumulative)")
    p.add_argument("--model", action="store_true",
                   help="also count the model of one more nodefail run (held to count it)")
    p.add_argument("--phases", action="store_true",
                   help="also the CPU time of each phase of the last nodefail step")
    p.add_argument("--top", type=int, default=15, help="rows of the census")
    p.add_argument("--workdir", default="/tmp/pyhb-bench-pengine")
    args = p.parse_args(argv)
    m, n = (int(x) for x in args.size.lower().split("x"))
    hb = bench_pengine.hb_command()
    if hb is None:
        print("bench/pengine_census.py: `hb` is not installed (make -s bytecode)", file=sys.stderr)
        return 1
    workdir = pathlib.Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    inputs = bench_pengine.make_inputs(m, n, workdir, 600.0, hb)

    from core import wire
    from core.messages.pe import PeSchedule
    from core.sansio import Recv, Send
    from core.cib import dates
    from pengine import daemon, engine, inputcache, process, status

    daemon.prepare()
    core = process.PengineProcess(os.getpid(), save=True)
    saver = types.SimpleNamespace(directory=str(workdir / "census-inputs"))  # the shell's save
    os.makedirs(saver.directory, exist_ok=True)
    peak_ok = reset_peak()
    print(f"{m}/{n}, load {os.getloadavg()[0]:.2f}; MB: start {rss_mb()[0]:.1f}"
          + ("" if peak_ok else " (no /proc/self/clear_refs: peaks are the process's)"))
    print(f"{'step':<10} {'cpu s':>7} {'RSS before':>11} {'step peak':>10} {'after gc+trim':>14}")
    phases: dict[str, float] = {}
    steps = ("steady", "nodefail", "steady", "nodefail")
    for seq, state in enumerate(steps, 1):
        last = seq == len(steps)
        # as received: a large input by file, mapped (core/spool.py), else bytes
        msg = received(wire, PeSchedule(seq, seq, b""), str(inputs[state]))
        before = rss_mb()[0]
        reset_peak()
        if last and args.phases:
            time_phases(engine, process, inputcache, status, phases)
        profiler = cProfile.Profile() if args.profile and last else None
        c0 = time.process_time()
        if profiler is not None:
            profiler.enable()
        out = core.step(seq * 1000, Recv(b"crmd", msg))
        if profiler is not None:
            profiler.disable()
        cpu = time.process_time() - c0
        step_phases = dict(phases)  # (the model counted below runs the phases again)
        replies = [e.msg for e in out if isinstance(e, Send)]
        assert len(replies) == 1 and replies[0].ok, replies
        for effect in out:  # the saved input, written by the shell after the reply (its peak too)
            if isinstance(effect, process.SaveInput):
                daemon.PengineService.save(saver, effect)  # type: ignore[arg-type]
        peak = rss_mb()[1]
        del out, replies, msg
        daemon.release_memory()  # as the daemon does after its reply
        print(f"{state:<10} {cpu:7.2f} {before:11.1f} {peak:10.1f} {rss_mb()[0]:14.1f}")
        if profiler is not None:
            buf = io.StringIO()
            pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(args.profile)
            profile_text = buf.getvalue()
    seen: set[int] = set()
    show("kept between transitions (reachable from the core)", census([core], seen), args.top)
    if args.model:
        # the model of one nodefail run, held: what it adds to what is kept
        text = pathlib.Path(inputs["nodefail"]).read_bytes()
        cib = core.inputs.parse(text, "<census>")
        now = dates.from_epoch(1)
        ws = engine.schedule(cib, now, ws=engine.unpack_cib(cib, now))
        del text
        show("a nodefail run's model (WorkingSet, not counting the above)", census([ws], seen),
             args.top)
    if args.phases:
        print("\nCPU per phase of the last nodefail step (each phase timed by a wrapper):")
        for name, seconds in sorted(step_phases.items(), key=lambda kv: -kv[1]):
            print(f"{name:<42} {seconds * 1000:8.0f} ms")
    if args.profile:
        print("\nprofile of the last nodefail step:")
        print(profile_text)
    shutil.rmtree(saver.directory, ignore_errors=True)
    for spooled in workdir.glob(f"spool-{os.getpid()}"):  # (received()'s, emptied as read)
        spooled.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
