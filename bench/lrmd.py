"""lrmd benchmark.

    .venv/bin/python bench/lrmd.py [--resources 1000] [--interval-ms 10000] [--duration 30]
                                   [--ops 300] [--provider heartbeat|pyheartbeat]

1. Per-operation overhead: the same Dummy `monitor`, `--ops` times one after another, run
   (a) directly with posix_spawn from this process and (b) through a running lrmd (request over
   ZeroMQ, queueing, spawn, pidfd, result event). Prints median and p99 of both, of their
   difference, and of the lrmd's own share (round trip minus the agent's exec time it measured).
2. Load: `--resources` Dummy resources, all started, each with a recurring monitor every
   `--interval-ms` (first runs spread over one interval). After one interval of warm-up, the
   lrmd's CPU% (user+system of the daemon alone, and of the agents it reaped) and RSS are
   sampled over `--duration` seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from agents.install import install  # noqa: E402
from lrmd.ocf import AgentContext, build_env  # noqa: E402
from lrmd.testing import LrmdProcess  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(name: str, values: list[float]) -> str:
    return (f"{name:<34} median {statistics.median(values):7.2f} ms   p99 {pct(values, 0.99):7.2f} ms"
            f"   (n={len(values)})")


def proc_cpu(pid: int) -> tuple[float, float]:
    """(own user+sys seconds, reaped children's user+sys seconds)"""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime) / TICK, (cutime + cstime) / TICK


def proc_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def agent_path(ocf_roots: list[str], provider: str) -> str:
    for root in ocf_roots:
        path = os.path.join(root, "resource.d", provider, "Dummy")
        if os.path.exists(path):
            return path
    raise SystemExit(f"no Dummy agent for provider {provider}")


def overhead(lrmd: LrmdProcess, provider: str, ops: int) -> None:
    path = agent_path(lrmd.ocf_roots, provider)
    lrmd.register("ovh", "ocf", "Dummy", provider)
    assert lrmd.run("ovh", "start").rc == 0
    ctx = AgentContext(ocf_root=os.path.dirname(os.path.dirname(os.path.dirname(path))),
                       rsctmp=lrmd.rsctmp, node_name="n1")
    env = build_env(ctx, "ovh", "ocf", provider, "Dummy", "monitor", {}, 0, 20_000, {})
    direct_ms, via_ms, lrmd_share_ms = [], [], []
    for _ in range(10):  # warm caches on both paths
        subprocess.run([path, "monitor"], env=env, cwd="/", capture_output=True, check=False)
        lrmd.run("ovh", "monitor")
    for _ in range(ops):
        t0 = time.perf_counter_ns()
        pid = os.posix_spawn(path, [path, "monitor"], env)
        _, status = os.waitpid(pid, 0)
        direct_ms.append((time.perf_counter_ns() - t0) / 1e6)
        assert os.waitstatus_to_exitcode(status) == 0
        t0 = time.perf_counter_ns()
        res = lrmd.run("ovh", "monitor")
        elapsed = (time.perf_counter_ns() - t0) / 1e6
        assert res.rc == 0, res
        via_ms.append(elapsed)
        lrmd_share_ms.append(elapsed - res.exec_ms)
    print(f"per-op overhead, ocf:{provider}:Dummy monitor, {ops} sequential ops")
    print(summary("  agent run directly", direct_ms))
    print(summary("  through lrmd (round trip)", via_ms))
    diffs = [v - d for v, d in zip(via_ms, direct_ms)]
    print(summary("  difference (lrmd - direct)", diffs))
    print(summary("  lrmd share (round trip - exec_ms)", lrmd_share_ms))
    print(f"  ratio of medians: {statistics.median(via_ms) / statistics.median(direct_ms):.2f}x")


def load(lrmd: LrmdProcess, provider: str, count: int, interval_ms: int, duration_s: float) -> None:
    pid = lrmd.proc.pid
    rss_idle = proc_rss_kb(pid)
    t0 = time.monotonic()
    for i in range(count):
        lrmd.register(f"d{i}", "ocf", "Dummy", provider)
    starts = [lrmd.execute(f"d{i}", "start") for i in range(count)]
    for call in starts:
        assert lrmd.wait_result(call, 120).rc == 0
    setup_s = time.monotonic() - t0
    for i in range(count):
        lrmd.execute(f"d{i}", "monitor", interval_ms=interval_ms, start_delay_ms=i * interval_ms // count)
    print(f"\nload: {count} ocf:{provider}:Dummy resources, monitor every {interval_ms} ms "
          f"(registered and started in {setup_s:.1f} s)")
    time.sleep(interval_ms / 1000.0 + 1)  # warm-up: every monitor has run once
    runs0 = lrmd.status()["counters"]["runs"]
    own0, kids0 = proc_cpu(pid)
    rss = []
    w0 = time.monotonic()
    while time.monotonic() - w0 < duration_s:
        rss.append(proc_rss_kb(pid))
        time.sleep(0.5)
    wall = time.monotonic() - w0
    own1, kids1 = proc_cpu(pid)
    status = lrmd.status()
    runs = status["counters"]["runs"] - runs0
    print(f"  window {wall:.1f} s: {runs} agent runs ({runs / wall:.1f}/s, expected "
          f"{count * 1000 / interval_ms:.1f}/s), running now {status['running']}")
    print(f"  lrmd CPU: {100 * (own1 - own0) / wall:.1f}% of one core "
          f"({1e3 * (own1 - own0) / max(1, runs):.2f} ms per op)")
    print(f"  agents' CPU (reaped children): {100 * (kids1 - kids0) / wall:.1f}% of one core")
    print(f"  lrmd RSS: idle {rss_idle / 1024:.1f} MiB, under load median "
          f"{statistics.median(rss) / 1024:.1f} MiB, max {max(rss) / 1024:.1f} MiB")
    hist = lrmd.history("d0")["d0"]
    last = {(r["operation"], r["interval_ms"]): r for r in hist["last"]}[("monitor", interval_ms)]
    print(f"  d0 monitor: {last['runs']} runs, last queue {last['queue_ms']} ms, exec {last['exec_ms']} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resources", type=int, default=1000)
    ap.add_argument("--interval-ms", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--ops", type=int, default=300)
    ap.add_argument("--provider", default="heartbeat", choices=["heartbeat", "pyheartbeat"])
    ap.add_argument("--skip-load", action="store_true")
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix="lrt-bench.")
    try:
        roots = ["/usr/lib/ocf"]
        if args.provider == "pyheartbeat":
            install(os.path.join(base, "ocf"))
            roots = [os.path.join(base, "ocf")]
        print(f"host: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
        with LrmdProcess(os.path.join(base, "overhead"), ocf_roots=roots) as lrmd:
            overhead(lrmd, args.provider, args.ops)
        if not args.skip_load:
            with LrmdProcess(os.path.join(base, "load"), ocf_roots=roots) as lrmd:
                load(lrmd, args.provider, args.resources, args.interval_ms, args.duration)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
