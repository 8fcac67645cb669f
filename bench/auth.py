"""What sealing heartbeats costs: per-packet frame/unframe time of every authkeys method, and the
messaging CPU of a cluster at keepalive 100 ms with a sealing method versus sha1.

    .venv/bin/python bench/auth.py                     # all three parts
    .venv/bin/python bench/auth.py --packets 20000 --seconds 20 --skip-lab

1. per packet: a status heartbeat (~300 bytes on the wire) and a 1 KiB client message, framed
   the way the messaging core frames them (`packet.encode` with Heartbeat's inner auth field for
   the signing methods, `seal.Sealer.seal` of the netstring body for the sealing ones) and taken
   apart again (`packet.decode` / `Sealer.open`). Median and p99 of single operations, and the
   ratio of the medians to sha1's, measured in this process one after the other.
2. core CPU: three messaging cores (messaging.machine) driven on a simulated clock for 60 s of
   cluster time at keepalive 100 ms (the unit tests' in-memory network); process CPU per
   simulated second, ratio to sha1.
3. daemons: a 3-node loopback lab (`hb lab up --mode loopback --auth METHOD`, whole stack) per
   method; after it settles, the CPU (utime+stime from /proc) each messaging daemon used over
   `--seconds`, as a percentage of one core. Median over the nodes, ratio to sha1.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "messaging"))

from core.config.authkeys import METHODS, parse_authkeys  # noqa: E402
from messaging import packet as pkt  # noqa: E402
from messaging import seal  # noqa: E402

SECRET = "bench-secret-0123456789abcdef0123456789"
BASELINE = "sha1"
LAB_METHODS = ("sha1", "aes-256-gcm", "chacha20-poly1305")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def keys_for(method: str):
    return parse_authkeys(f"auth 1\n1 {method} {SECRET if method != 'crc' else ''}\n")


def status_fields(seq: int) -> pkt.Fields:
    fields = pkt.Fields().add("t", "status").add("st", "active").add("dt", "1f4").add("protocol", "1")
    fields.add("src", "node1").add("srcuuid", b"\x17" * 16).add("seq", format(seq, "x")).add("hg", "2a")
    return fields.add("ts", "6930a1b2").add("ld", "0.08 0.03 0.01 1/180 4242").add("ttl", "4")


def client_fields(seq: int) -> pkt.Fields:
    fields = pkt.Fields().add("t", "pyhb:ccm").add("data", bytes(range(256)) * 4)
    fields.add("src", "node1").add("srcuuid", b"\x17" * 16).add("seq", format(seq, "x")).add("hg", "2a")
    return fields.add("ts", "6930a1b2").add("ttl", "4")


def time_packets(method: str, make, count: int) -> tuple[list[float], list[float], int]:
    """Single-operation times (µs) of framing and unframing `count` packets."""
    keys = keys_for(method)
    key = keys.active_key
    sealer = seal.Sealer(keys, "bench")
    frame_us, open_us, size = [], [], 0
    clock = time.perf_counter_ns
    for i in range(1, count + 1):
        fields = make(i)
        if key.sealing:
            started = clock()
            data = sealer.seal(key, "node1", 42, i, pkt.encode_body(fields))
            mid = clock()
            sealer.open(data, ("node1", "node2", "node3"))
        else:
            started = clock()
            data = pkt.encode(fields, key)
            mid = clock()
            pkt.decode(data, keys)
        done = clock()
        frame_us.append((mid - started) / 1000)
        open_us.append((done - mid) / 1000)
        size = len(data)
    return frame_us, open_us, size


def per_packet(count: int) -> None:
    print(f"1. per packet ({count} packets per method and kind; µs of one operation)")
    print(f"   {'kind':7} {'method':18} {'bytes':>5}  {'frame med':>9} {'p99':>7} {'x sha1':>6}  "
          f"{'open med':>8} {'p99':>7} {'x sha1':>6}")
    for kind, make in (("status", status_fields), ("1k msg", client_fields)):
        rows = {m: time_packets(m, make, count) for m in METHODS}
        base_frame = statistics.median(rows[BASELINE][0])
        base_open = statistics.median(rows[BASELINE][1])
        for method, (frame, opened, size) in rows.items():
            fm, om = statistics.median(frame), statistics.median(opened)
            print(f"   {kind:7} {method:18} {size:5d}  {fm:9.2f} {percentile(frame, 99):7.2f} {fm / base_frame:6.2f}  "
                  f"{om:8.2f} {percentile(opened, 99):7.2f} {om / base_open:6.2f}")


def raw_aead(count: int) -> None:
    """The AEAD alone on a 300-byte body (what sealing adds to building the netstring)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

    body, aad = bytes(300), bytes(21)
    print(f"   AEAD alone, 300-byte body ({count} each): ", end="")
    parts = []
    for name, aead in (("aes-256-gcm", AESGCM(bytes(32))), ("chacha20-poly1305", ChaCha20Poly1305(bytes(32)))):
        enc, dec = [], []
        for i in range(count):
            nonce = i.to_bytes(12, "big")
            started = time.perf_counter_ns()
            sealed = aead.encrypt(nonce, body, aad)
            mid = time.perf_counter_ns()
            aead.decrypt(nonce, sealed, aad)
            enc.append((mid - started) / 1000)
            dec.append((time.perf_counter_ns() - mid) / 1000)
        parts.append(f"{name} seal {statistics.median(enc):.2f} / open {statistics.median(dec):.2f} µs median "
                     f"(p99 {percentile(enc, 99):.2f} / {percentile(dec, 99):.2f})")
    print("; ".join(parts))


def core_cpu(simulated_s: int) -> None:
    from harness import Net  # the unit tests' in-memory network of messaging cores
    from messaging.events import ClientSend

    print(f"2. messaging cores: 3 nodes, keepalive 100 ms, {simulated_s} s simulated, 1 client message "
          "(200 B) per node per second")
    results = {}
    for method in LAB_METHODS:
        random.seed(1)
        net = Net(["node1", "node2", "node3"], keys=keys_for(method))
        started = time.process_time()
        for second in range(simulated_s):
            for i, name in enumerate(net.names):
                net.inject(name, ClientSend(second * 3 + i, "bench", b"x" * 200))
            net.run_for(1000)
        cpu_ms = (time.process_time() - started) * 1000
        sent = sum(net.nodes[n].machine.counters.get("packets_sent", 0) for n in net.names)
        drops = sum(v for n in net.names for k, v in net.nodes[n].machine.counters.items() if k.startswith("dropped_"))
        results[method] = cpu_ms / simulated_s
        print(f"   {method:18} {cpu_ms / simulated_s:7.2f} ms CPU per simulated s (3 cores together), "
              f"{sent} packets, {drops} dropped, x sha1 {results[method] / results[BASELINE]:.2f}")


def proc_cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)


def daemons_cpu(seconds: float, settle_s: float) -> None:
    from core.daemon import read_pidfile
    from lab.lab import Lab, sweep
    from lab.plan import LabSpec

    tick = os.sysconf("SC_CLK_TCK")
    print(f"3. messaging daemons: 3-node loopback lab, keepalive 100 ms, whole stack, {seconds:.0f} s per method")
    results = {}
    for method in LAB_METHODS:
        spec = LabSpec(name="bauth", nodes=3, mode="loopback", media="ucast", realtime=False, auth=method)
        sweep(spec.name)
        lab = Lab.up(spec)
        try:
            time.sleep(settle_s)
            pids = [read_pidfile(lab.paths(node).pidfile("messaging")) for node in lab.nodes]
            assert all(pids), f"no messaging pid file in {spec.name}"
            before = [proc_cpu_ticks(p) for p in pids]  # type: ignore[arg-type]
            started = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - started
            after = [proc_cpu_ticks(p) for p in pids]  # type: ignore[arg-type]
        finally:
            lab.down()
        percents = [(a - b) / tick / elapsed * 100 for a, b in zip(after, before)]
        results[method] = statistics.median(percents)
        print(f"   {method:18} median {results[method]:5.2f} % of a core per messaging daemon "
              f"(nodes: {', '.join(f'{p:.2f}' for p in percents)}), x sha1 {results[method] / results[BASELINE]:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--simulated", type=int, default=60, help="seconds of simulated cluster time (part 2)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring window per method (part 3)")
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--skip-lab", action="store_true", help="parts 1 and 2 only")
    args = parser.parse_args()
    per_packet(args.packets)
    raw_aead(args.packets)
    core_cpu(args.simulated)
    if not args.skip_lab:
        daemons_cpu(args.seconds, args.settle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
