"""The policy engine as the running cluster uses it: a warm daemon, compute time per transition.

    python bench/pengine_daemon.py                    # 3/100 and 8/1000
    python bench/pengine_daemon.py --large            # also 16/5000 and 32/10000
    python bench/pengine_daemon.py --sizes 3x100 --runs 200

In the cluster the DC's crmd sends each CIB snapshot to the pengine daemon (`PeSchedule`, the XML
as UTF-8 bytes) and waits for the transition graph. What it waits for is one `PengineProcess.step()`: parse,
unpack, schedule, write the graph and the summary, and prepare the saved input. The daemon is
already running (imports done, `process.warm()` done at start), so this is the figure a failover
feels, while `hb simulate` (bench/pengine.py) also pays for an interpreter and its imports.

Each size runs in its own child process (so that peak RSS is that size's), which:

1. starts a core as the daemon does (`process.warm()`, then `PengineProcess`);
2. sends the inputs of bench/pengine.py (cold, steady, nodefail: made by Pacemaker's anchor
   scripts, see that file) in turn, as a DC would over a run of transitions, `--runs` rounds;
   each input is read from its file just before its step and dropped after it, since
   the daemon holds only the message it is answering (so the peak RSS is the daemon's own:
   one input, what it keeps between transitions and one run's model), and it arrives as in
   the daemon: decoded from a wire frame (`received`), the two held together for a moment (in
   the daemon, zmq's buffer and the message decoded from it), as text or as bytes, as the
   tree's `PeSchedule.cib` declares. (Until scale2 the text was read from the file, bytes and
   decoded text held together: the same peak for a text input, 175 MB less than the daemon's
   for a bytes one.)
   The daemon re-parses only the node_state sections whose text changed (pengine/inputcache.py):
   `steady` comes after `cold` (no status to reuse: parsed whole) and `nodefail` after `steady`
   (a failover: one node's section is new);
3. times every `step()` (wall and CPU), checks every reply is a graph, and prints per state the
   median and p99 per transition, and the child's peak RSS; then collects garbage as the daemon
   does after sending its reply, and returns the freed heap to the kernel
   (`daemon.release_memory`: off the transition's path; its median is shown apart).

Next to it, the median whole-run time of the installed `hb simulate -x FILE -R -Q` on the same
input (`--hb-runs`, 0 to skip), and the ratio of the two: what a warm daemon saves.

With `--baseline DIR` (another commit's tree, e.g. `git archive 78d764c | tar -x -C DIR`), each
size also runs that tree's core in the same way, alternated with ours `--alternations` times
(each child's transitions pooled): its median CPU, its peak RSS and the ratio of ours to it. On
a shared machine only figures taken in the same minutes compare.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

import msgpack

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _bench_pengine():
    """bench/pengine.py (its inputs and its `hb simulate` timing), under another name than the
    `pengine` package it measures."""
    spec = importlib.util.spec_from_file_location("bench_pengine", ROOT / "bench" / "pengine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_pengine = _bench_pengine()

SMALL = [(3, 100), (8, 1000)]
LARGE = [(16, 5000), (32, 10000)]
STATES = ("cold", "steady", "nodefail")


def received(wire: Any, empty: Any, path: str) -> Any:
    """The message `empty` with the file at `path` as its last field (PeSchedule.cib: msgpack
    bin for a tree that declares bytes, str for one that declares text; the same UTF-8 bytes
    on the wire), decoded from wire frames as the daemon receives it.

    A tree whose wire sends a large bytes field as parts (core.wire.decode_parts): the frames
    are what zmq's pipe holds when the daemon reads the request, the message's frame (the
    field's marker in place) and the file's bytes in PART_BYTES pieces, read so from the file;
    they are decoded as the daemon does, each piece dropped once copied, the heap trimmed
    every few pieces.
    Otherwise one frame: the empty message's with the field's header and the data appended
    (so that the sender's side, crmd's text and msgpack's buffer, does not count in this
    process's peak), held together with the decoded message for a moment (zmq's buffer and
    the message decoded from it, in the daemon), then dropped."""
    head = wire.encode(empty)
    if hasattr(wire, "FILE_EXT") and head.endswith(b"\xc4\x00") \
            and os.path.getsize(path) > wire.PART_BYTES:
        return spooled(wire, empty, path)
    if hasattr(wire, "decode_parts") and head.endswith(b"\xc4\x00"):
        size = os.path.getsize(path)
        if size > wire.PART_BYTES:
            from core.heaptrim import trim_heap  # (a tree that has parts has this)

            fields = wire.to_fields(empty)
            fields[list(fields)[-1]] = wire.parts_marker(size)
            first = msgpack.packb([wire.SIGNATURE, empty.TAG, fields], use_bin_type=True)
            parts: list[bytes] = []
            with open(path, "rb") as handle:
                while piece := handle.read(wire.PART_BYTES):
                    parts.append(piece)
            del piece
            # (parts: the only reference to each piece; trimmed as core.ipc.requests does)
            return wire.decode_parts(first, parts, trim_heap)
    data = pathlib.Path(path).read_bytes()
    size = len(data).to_bytes(4, "big")
    if head.endswith(b"\xc4\x00"):  # bin 8, empty -> bin 32
        frame = head[:-2] + b"\xc6" + size + data
    else:
        assert head.endswith(b"\xa0"), "the empty field is not last in the frame"
        frame = head[:-1] + b"\xdb" + size + data  # fixstr, empty -> str 32
    del data
    return wire.decode(frame)


_spooled = 0


def spooled(wire: Any, empty: Any, path: str) -> Any:
    """`received` for a tree whose daemons hand a large field over by file (core/spool.py): the
    file is copied into a spool directory as the sending crmd writes it (in the kernel: the
    sender's memory is not this process's), and the message decoded as the daemon's ROUTER
    does, its field the file mapped (read by the step, each part given back once read)."""
    global _spooled
    from core import spool  # (a tree that has FILE_EXT has this)

    directory = os.path.join(os.path.dirname(path), f"spool-{os.getpid()}")
    os.makedirs(directory, exist_ok=True)
    _spooled += 1
    name = f"bench-{os.getpid()}-{_spooled}"
    size = os.path.getsize(path)
    shutil.copyfile(path, os.path.join(directory, name))  # (os.sendfile on Linux)
    fields = wire.to_fields(empty)
    fields[list(fields)[-1]] = wire.file_marker(size, name)
    first = msgpack.packb([wire.SIGNATURE, empty.TAG, fields], use_bin_type=True)
    return wire.decode_parts(first, [], None,
                             lambda got, length: spool.open_mapped(directory, got, length))


def child(paths: dict[str, str], runs: int, root: str | None = None) -> dict:
    """In the child: a warm core, `runs` rounds over the inputs, figures per state; the
    project's modules from the tree `root` when given (a baseline), else from this one."""
    if root is not None:
        sys.path.insert(0, root)
    import gc

    from core import wire
    from core.messages.pe import PeSchedule
    from core.sansio import Recv, Send
    from pengine import daemon, process

    daemon.prepare()  # as the daemon starts: warm, collector off the transitions' path
    core = process.PengineProcess(os.getpid())
    as_bytes = PeSchedule.__annotations__["cib"] in ("bytes", bytes)  # what this tree receives
    wall: dict[str, list[float]] = {state: [] for state in paths}
    cpu: dict[str, list[float]] = {state: [] for state in paths}
    collect: dict[str, list[float]] = {state: [] for state in paths}
    actions: dict[str, int] = {}
    transition = 0
    for _ in range(runs):
        for state, path in paths.items():
            # read for its step only: the daemon holds the one message it answers (holding all
            # the inputs here added 350 MB at 32/10000 to the peak, none of it the daemon's)
            transition += 1
            msg = received(wire, PeSchedule(transition, transition, b"" if as_bytes else ""), path)
            c0, w0 = time.process_time(), time.perf_counter()
            out = core.step(transition * 1000, Recv(b"crmd", msg))
            w1, c1 = time.perf_counter(), time.process_time()
            replies = [e.msg for e in out if isinstance(e, Send)]
            if len(replies) != 1 or not replies[0].ok:
                raise SystemExit(f"{state}: the core did not answer with a graph: {replies!r}")
            actions[state] = replies[0].result["actions"]
            wall[state].append(w1 - w0)
            cpu[state].append(c1 - c0)
            del out, replies, msg
            g0 = time.perf_counter()
            # as the daemon does once the reply is sent (a baseline's daemon may only collect)
            getattr(daemon, "release_memory", gc.collect)()
            collect[state].append(time.perf_counter() - g0)
    if _spooled:
        os.rmdir(os.path.join(os.path.dirname(next(iter(paths.values()))), f"spool-{os.getpid()}"))
    return {"states": {state: {"median": statistics.median(wall[state]),
                               "p99": bench_pengine.p99(wall[state]),
                               "cpu": statistics.median(cpu[state]),
                               "collect": statistics.median(collect[state]),
                               "actions": actions[state], "n": len(wall[state]),
                               "wall_all": wall[state], "cpu_all": cpu[state],
                               "collect_all": collect[state]}
                       for state in paths},
            "rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's own peak RSS: the kernel's high-water mark of its current address space
    (VmHWM). Not getrusage's ru_maxrss: across fork and exec that keeps the parent's peak too,
    so a child of a benchmark that had just built the 32/10000 inputs (517 MB) reported 517 MB
    whatever it used itself."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(paths: dict[str, str], runs: int, root: str | None) -> dict:
    spec = {"paths": paths, "runs": runs, "root": root}
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the daemon run failed ({root or 'this tree'}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def pooled(runs: list[dict]) -> dict:
    """The figures of several children of one tree, their transitions pooled."""
    states: dict[str, dict] = {}
    for state in runs[0]["states"]:
        wall = [x for r in runs for x in r["states"][state]["wall_all"]]
        cpu = [x for r in runs for x in r["states"][state]["cpu_all"]]
        collect = [x for r in runs for x in r["states"][state]["collect_all"]]
        states[state] = {"median": statistics.median(wall), "p99": bench_pengine.p99(wall),
                         "cpu": statistics.median(cpu), "collect": statistics.median(collect),
                         "actions": runs[-1]["states"][state]["actions"], "n": len(wall)}
    return {"states": states, "rss_mb": max(r["rss_mb"] for r in runs)}


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", help="comma-separated MxN list (default 3x100,8x1000)")
    p.add_argument("--large", action="store_true", help="add 16x5000 and 32x10000")
    p.add_argument("--states", default=",".join(STATES))
    p.add_argument("--runs", type=int, default=0,
                   help="rounds over the inputs (default: 100 at 3/100, 20 at 8/1000, 3 above)")
    p.add_argument("--hb-runs", type=int, default=5, help="hb simulate runs per input (0: skip)")
    p.add_argument("--workdir", default="/tmp/pyhb-bench-pengine")
    p.add_argument("--json", help="also append one JSON line per size to this file")
    p.add_argument("--baseline", metavar="DIR",
                   help="also run the core of this tree (another commit's, e.g. extracted with "
                        "`git archive COMMIT | tar -x -C DIR`), alternated with ours in the same "
                        "minutes: its median CPU, peak RSS and our ratio to it")
    p.add_argument("--alternations", type=int, default=3,
                   help="with --baseline: children per tree, alternated (default 3)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(child(spec["paths"], spec["runs"], spec.get("root"))))
        return 0
    if not (bench_pengine.ANCHORS / "gen_cib.py").exists():
        print(f"bench/pengine_daemon.py: {bench_pengine.ANCHORS}/gen_cib.py not found "
              "(set PYHB_ANCHORS)", file=sys.stderr)
        return 1
    hb = bench_pengine.hb_command()
    if hb is None:
        print("bench/pengine_daemon.py: `hb` is not installed (make -s bytecode)", file=sys.stderr)
        return 1
    sizes = SMALL[:] if not args.sizes else [
        tuple(int(x) for x in item.lower().split("x")) for item in args.sizes.split(",")]
    if args.large:
        sizes += [s for s in LARGE if s not in sizes]
    states = [s for s in args.states.split(",") if s]
    workdir = pathlib.Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "core"),
                    str(ROOT / "pengine")], check=True)
    print(f"{'M/N':>9} {'state':<9} {'actions':>7} {'daemon ms/transition: median':>29} "
          f"{'p99':>9} {'cpu':>9} {'then gc':>8} {'peak RSS':>9}   {'hb simulate median':>18} {'ratio':>7}"
          + (f"   {'baseline cpu':>12} {'its RSS':>9} {'cpu ratio':>9}" if args.baseline else ""))
    for m, n in sizes:
        inputs = bench_pengine.make_inputs(m, n, workdir, 600.0, hb)
        runs = args.runs or (100 if n <= 100 else 20 if n <= 1000 else 3)
        paths = {s: str(inputs[s]) for s in states}
        ours_runs: list[dict] = []
        base_runs: list[dict] = []
        for _ in range(args.alternations if args.baseline else 1):
            if args.baseline:
                base_runs.append(run_child(paths, runs, str(pathlib.Path(args.baseline).resolve())))
            ours_runs.append(run_child(paths, runs, None))
        figures = pooled(ours_runs)
        base = pooled(base_runs) if base_runs else None
        for state in states:
            f = figures["states"][state]
            whole = None
            if args.hb_runs:
                whole = bench_pengine.series(bench_pengine.ours_cmd(hb, inputs[state]),
                                             args.hb_runs, 600.0)
            whole_text, ratio = "-", "-"
            if whole and "median" in whole:
                whole_text = f"{whole['median'] * 1000:.1f} ms"
                ratio = f"{whole['median'] / f['median']:.1f}x"
            print(f"{m:>3}/{n:<5} {state:<9} {f['actions']:>7} {fmt_ms(f['median']):>29} "
                  f"{fmt_ms(f['p99']):>9} {fmt_ms(f['cpu']):>9} {fmt_ms(f['collect']):>8} {figures['rss_mb']:7.1f} MB"
                  f"   {whole_text:>18} {ratio:>7}"
                  + (f"   {fmt_ms(base['states'][state]['cpu']):>12} {base['rss_mb']:6.1f} MB "
                     f"{f['cpu'] / base['states'][state]['cpu']:9.2f}" if base else ""), flush=True)
            if args.json:
                with open(args.json, "a") as handle:
                    handle.write(json.dumps({"M": m, "N": n, "state": state, "daemon": f,
                                             "rss_mb": figures["rss_mb"],
                                             "hb_simulate": whole,
                                             "baseline": base and {"daemon": base["states"][state],
                                                                   "rss_mb": base["rss_mb"]}})
                                 + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
