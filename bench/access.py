"""What checking the peer's credentials costs a daemon per request.

    .venv/bin/python bench/access.py [--requests 20000]

A ROUTER bound the way daemons bind (`core.ipc.bind_router`, in a temporary run directory) and a
DEALER in this process send `ping.req` frames; each request is received and decoded as
`core.ipc.requests` does, then, per variant:

- before: the frames received as copies (`recv_multipart(copy=True)`), no check: the daemons'
  receive path before credentials were checked (the baseline of the ratios);
- baseline: received as `zmq.Frame`s (which keep the connection's properties), no check;
- privileged: the kernel credentials from the frame (`peer_creds(frame, lookup=False)`) and the
  root/own-uid test (`access.privileged`): every daemon-to-daemon and root request;
- member: the full path of a non-root peer: credentials with the user's name and groups (from
  the user database, cached 30 s per uid by `core.ipc`) and `access.decide`.

Prints the median and p99 of the extra time per request in µs (receive and decode excluded: they
are the same for all), and each variant's whole receive+decode+check median against the baseline's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import zmq  # noqa: E402

from core import access, ipc, wire  # noqa: E402
from core.messages.common import PingRequest  # noqa: E402
from core.paths import resolve  # noqa: E402


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def run(requests: int) -> None:
    base = tempfile.mkdtemp(prefix="phb-bench-access-")
    paths = resolve(f"{base}/etc", f"{base}/run", f"{base}/state", "bench")
    ctx = zmq.Context()
    router = ipc.bind_router(paths, "bench", ctx)
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(paths.endpoint("bench"))
    policy = access.Policy(daemon_uid=os.geteuid(), haclient_gid=ipc.haclient_gid()[0])
    frame_bytes = wire.encode(PingRequest(1))
    variants = {
        "before": lambda frame, msg: None,
        "baseline": lambda frame, msg: None,
        "privileged": lambda frame, msg: access.privileged(ipc.peer_creds(frame, lookup=False), policy),
        "member": lambda frame, msg: access.decide("crmd", wire.tag_of(msg), msg, ipc.peer_creds(frame),
                                                   access.Policy(daemon_uid=-1, haclient_gid=policy.haclient_gid)),
    }
    whole: dict[str, list[float]] = {name: [] for name in variants}
    extra: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for i in range(requests * len(variants)):
            name = list(variants)[i % len(variants)]  # interleaved: the machine's noise hits all alike
            dealer.send(frame_bytes)
            router.poll(1000, zmq.POLLIN)
            t0 = time.perf_counter_ns()
            if name == "before":
                frames = router.recv_multipart(zmq.NOBLOCK)
                msg, frame = wire.decode(frames[-1]), None
            else:
                got = ipc.recv_router_frame(router)
                assert got is not None and got[1] is not None
                msg, frame = wire.decode(got[1].bytes), got[1]
            t1 = time.perf_counter_ns()
            variants[name](frame, msg)
            t2 = time.perf_counter_ns()
            whole[name].append((t2 - t0) / 1000)
            extra[name].append((t2 - t1) / 1000)
    finally:
        dealer.close(0)
        router.close(0)
        ctx.term()
        shutil.rmtree(base, ignore_errors=True)
    base_median = statistics.median(whole["before"])
    print(f"{requests} requests per variant, µs per request (extra = the check alone)")
    print(f"{'variant':<12} {'extra median':>13} {'extra p99':>10} {'whole median':>13} {'ratio':>6}")
    for name in variants:
        median = statistics.median(whole[name])
        print(f"{name:<12} {statistics.median(extra[name]):>13.2f} {_p99(extra[name]):>10.2f} "
              f"{median:>13.2f} {median / base_median:>6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    run(parser.parse_args().requests)


if __name__ == "__main__":
    main()
