"""Bad packets into a live messaging daemon of a namespace lab, and what the daemon made of them.

Two halves, because the packets must leave from the lab's client namespace (an outsider on the
cluster segment) while the daemons are watched from the host:

- the sender (`python -m lab.fuzz send PLAN.json`, run in the client namespace by `Lab.exec`):
  builds the packets of one kind from packets captured on the segment, with a seeded RNG, and
  sends them to the target node's UDP port, paced (`rate`) or as fast as it can (`flood`);
  forged sources go out through a raw socket with another node's IP address;
- the campaign (`run`, used by bench/fuzz.py and tests/integration/test_fuzz_lab.py): captures
  real traffic (with fragmented client messages in it), then for every kind reads the target's
  drop counters before and after, watches every node's view of every other node and the ccm
  membership throughout (a node seen not active is a false death), and checks that no process of
  any stack was replaced (a crash: the launcher would restart it with a new PID) and how the
  messaging daemon's RSS moved.

The attacker holds no key (the threat of docs/security.md); kinds:
  bitflip        a captured packet with 1..8 bits flipped
  truncated      a captured packet cut short (0 .. len-1 bytes)
  oversized      a captured packet padded to 1.5 .. 64 KiB (the largest UDP payload)
  random         random bytes, often behind a real packet prefix (`###\\n`, `>>>\\n`, `PHB\\x01`)
  wrong_key      well-formed packets of a real node, signed or sealed with another secret, and
                 with key indexes authkeys does not hold
  replay         captured packets sent again
  forged_source  captured packets with another node's name or sender tag, from that node's
                 IP address (raw socket)
  fragments      the captured fragments of large client messages, out of order
  flood          all of the above, as fast as one sender can send, for `flood_s` seconds
"""

from __future__ import annotations

import functools
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

KINDS = ("bitflip", "truncated", "oversized", "random", "wrong_key", "replay", "forged_source", "fragments",
         "flood")
MAX_UDP_PAYLOAD = 65_507
FRAGMENT_MIN_BYTES = 1000  # captured packets this large carry a fragment of a client message
WRONG_SECRET = "fuzz-not-the-cluster-secret-0123456789"
SETTLE_S = 1.0
CHUNK = 1000
MAX_SETTLE_S = 60.0


# -- the sender (client namespace) -----------------------------------------------------------------

def _flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        bit = rng.randrange(len(out) * 8)
        out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _random_bytes(rng: random.Random) -> bytes:
    prefix = rng.choice([b"", b"###\n", b">>>\n", b"PHB\x01", b"PHB\x01\x01"])
    return prefix + rng.randbytes(rng.randint(0, 1500))


@functools.lru_cache(maxsize=None)
def _wrong_keys(method: str, index: int):
    """An authkeys of `method` at `index` with a secret that is not the cluster's, and its sealer."""
    from core.config.authkeys import parse_authkeys
    from messaging import seal

    secret = "" if method == "crc" else WRONG_SECRET
    keys = parse_authkeys(f"auth {index}\n{index} {method} {secret}\n")
    return keys, seal.Sealer(keys, "fuzz")


def _wrong_key_packet(rng: random.Random, method: str, names: list[str], counter: int, now_s: int) -> bytes:
    from messaging import packet as pkt

    index = rng.choice([1, 1, 1, rng.randint(2, 15)])
    keys, sealer = _wrong_keys(method, index)
    key = keys.active_key
    name = rng.choice(names)
    fields = pkt.Fields().add("t", rng.choice(["status", "pyhb:ccm", "NS_ackmsg", "NS_rexmit"]))
    fields.add("st", "active").add("src", name).add("seq", format(rng.randint(1, 1 << 20), "x"))
    fields.add("hg", format(rng.randint(1, 1 << 31), "x")).add("ts", format(now_s, "x"))
    fields.add("data", rng.randbytes(rng.randint(0, 200)))
    if key.sealing:
        return sealer.seal(key, name, rng.randint(1, 1 << 31), counter, pkt.encode_body(fields))
    return pkt.encode(fields, key)


def _forge_source(rng: random.Random, data: bytes, names: list[str]) -> bytes:
    """Claim another sender: swap a node name in a signed packet, or the 4-byte sender tag of a
    sealed one (the ciphertext stays the original sender's)."""
    from messaging import seal

    if seal.is_sealed(data) and len(data) >= seal.HEADER_BYTES:
        tag = rng.randbytes(4) if rng.random() < 0.2 else _other_tag(rng, data)
        return data[:5] + tag + data[9:]
    for name in names:
        if name.encode() in data:
            other = rng.choice([n for n in names if n != name] or [name])
            return data.replace(name.encode(), other.encode(), 1)
    return data


_TAGS: list[bytes] = []


def _other_tag(rng: random.Random, data: bytes) -> bytes:
    others = [t for t in _TAGS if t != data[5:9]]
    return rng.choice(others) if others else rng.randbytes(4)


def make_packets(kind: str, rng: random.Random, count: int, captured: list[tuple[str, bytes]], method: str,
                 names: list[str], addresses: dict[str, str],
                 now_s: Optional[int] = None) -> list[tuple[Optional[str], bytes]]:
    """`count` packets of `kind` as (forged source address or None, payload). The same for the
    same seed and `now_s` (the wall-clock seconds a forged packet carries, now when None: a
    second boundary between two calls otherwise made their packets differ)."""
    if now_s is None:
        now_s = int(time.time())
    _TAGS[:] = sorted({d[5:9] for _, d in captured if d[:3] == b"PHB"})
    datas = [d for _, d in captured]
    fragments = [(s, d) for s, d in captured if len(d) >= FRAGMENT_MIN_BYTES]
    out: list[tuple[Optional[str], bytes]] = []
    if kind == "fragments":
        if not fragments:
            raise RuntimeError("the capture holds no fragment (no packet of at least "
                               f"{FRAGMENT_MIN_BYTES} bytes): cannot send fragments out of order")
        while len(out) < count:
            batch = list(fragments)
            rng.shuffle(batch)
            out.extend((None, d) for _, d in batch)
        return out[:count]
    for i in range(count):
        if kind == "bitflip":
            out.append((None, _flip(rng, rng.choice(datas))))
        elif kind == "truncated":
            data = rng.choice(datas)
            out.append((None, data[:rng.randrange(len(data))]))
        elif kind == "oversized":
            data = rng.choice(datas)
            size = rng.randint(1500, MAX_UDP_PAYLOAD)
            pad = rng.choice([b"\0", b"A", b"(1)x=y\n", b"3:a=b,"])
            out.append((None, (data + pad * size)[:size]))
        elif kind == "random":
            out.append((None, _random_bytes(rng)))
        elif kind == "wrong_key":
            out.append((None, _wrong_key_packet(rng, method, names, i + 1, now_s)))
        elif kind == "replay":
            out.append((None, rng.choice(datas)))
        elif kind == "forged_source":
            source, data = rng.choice(captured)
            sources = [a for a in addresses.values() if a != source] or [source]
            out.append((rng.choice(sources), _forge_source(rng, data, names)))
        elif kind == "flood":
            sub = rng.choice([k for k in KINDS if k not in ("flood", "forged_source")])
            out.extend(make_packets(sub, rng, 1, captured, method, names, addresses, now_s))
        else:
            raise ValueError(f"unknown kind {kind!r}; want one of {', '.join(KINDS)}")
    return out


def _ip_udp(source: str, target: str, port: int, payload: bytes) -> bytes:
    """IPv4 + UDP header for a raw socket (IP_HDRINCL: the kernel fills the IP checksum and id;
    a zero UDP checksum means none, which IPv4 allows)."""
    udp = struct.pack(">HHHH", 40000, port, 8 + len(payload), 0)
    total = 20 + len(udp) + len(payload)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(source), socket.inet_aton(target))
    return ip + udp + payload


def send(plan: dict) -> dict:
    """Build and send one kind's packets; what was sent."""
    with open(plan["captured"]) as handle:
        captured = [(src, bytes.fromhex(data)) for src, data in json.load(handle)]
    rng = random.Random(plan["seed"])
    kind, target, port = plan["kind"], plan["target"], plan["port"]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) if kind == "forged_source" else None
    count = plan["count"]
    rate = plan.get("rate") or 0
    sent = nbytes = errors = 0
    started = time.monotonic()

    def one(source: Optional[str], data: bytes) -> None:
        nonlocal sent, nbytes, errors
        try:
            if source is not None and raw is not None:
                raw.sendto(_ip_udp(source, target, port, data), (target, 0))
            else:
                udp.sendto(data, (target, port))
            sent += 1
            nbytes += len(data)
        except OSError:  # ENOBUFS at line rate: the kernel's queue is full; go on with the next
            errors += 1

    args = (captured, plan["method"], plan["names"], plan["addresses"])
    if kind == "flood":  # a pool cycled for flood_s seconds: building is slower than sending
        pool = make_packets(kind, rng, min(count, 5000), *args)
        started = time.monotonic()
        deadline = started + plan.get("flood_s", 0)
        i = 0
        while sent + errors < count and (i % 256 or time.monotonic() < deadline):
            one(*pool[i % len(pool)])
            i += 1
    else:  # built in chunks: a million oversized packets do not fit in memory
        for first in range(0, count, CHUNK):
            for source, data in make_packets(kind, rng, min(CHUNK, count - first), *args):
                ahead = (sent + errors) / rate - (time.monotonic() - started) if rate else 0
                if ahead > 0.002:
                    time.sleep(ahead)
                one(source, data)
    return {"sent": sent, "bytes": nbytes, "send_errors": errors, "seconds": time.monotonic() - started}


CAPTURE = r"""
import json, socket, sys, time
port, count, path, wait_s = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("0.0.0.0", port))
s.settimeout(1)
got, big, deadline = [], 0, time.monotonic() + wait_s
while (len(got) < count or big < 4) and time.monotonic() < deadline:
    try:
        data, (src, _) = s.recvfrom(65536)
    except socket.timeout:
        continue
    got.append([src, data.hex()])
    big += len(data) >= %d
json.dump(got, open(path, "w"))
print(len(got), big)
""" % FRAGMENT_MIN_BYTES


# -- the campaign (host) ---------------------------------------------------------------------------

@dataclass
class KindResult:
    kind: str
    sent: int = 0
    send_errors: int = 0
    seconds: float = 0.0
    received: int = 0  # the target's packets_received moved by this much
    drops: dict[str, int] = field(default_factory=dict)  # dropped_<reason> moved by
    other: dict[str, int] = field(default_factory=dict)  # any other counter that moved
    rss_kib_after: int = 0


@dataclass
class CampaignResult:
    method: str
    target: str
    kinds: list[KindResult] = field(default_factory=list)
    captured: int = 0
    captured_fragments: int = 0
    rss_kib_before: int = 0
    rss_kib_after: int = 0
    crashes: list[str] = field(default_factory=list)  # processes that died or were replaced
    false_deaths: list[str] = field(default_factory=list)  # observations of a live node not active
    membership_changes: list[str] = field(default_factory=list)
    checks: int = 0  # how many times every node's view was read


def _query(lab, node: str, what: str, **args):
    from core.ipc import Client, next_request_id
    from core.messages.hbapi import Query

    client = Client(lab.paths(node), "messaging")
    try:
        return client.request(Query(next_request_id(), what, args), 2000)
    finally:
        client.close()


def _send_large(lab, node: str, count: int, size: int) -> None:
    """Client messages larger than fragment_bytes from node, so the capture holds fragments."""
    from core.ipc import Client, next_request_id
    from core.messages.hbapi import SendCluster

    client = Client(lab.paths(node), "messaging")
    try:
        for i in range(count):
            client.request(SendCluster(next_request_id(), "fuzz:bulk", bytes([i % 256]) * size), 2000)
    finally:
        client.close()


def messaging_pid(lab, node: str) -> int:
    """The node's messaging daemon (it names itself hb-messaging: core/procname.py)."""
    for pid, _ in lab.processes(node):
        try:
            with open(f"/proc/{pid}/comm") as handle:
                if handle.read().strip() == "hb-messaging":
                    return pid
        except OSError:
            continue
    raise RuntimeError(f"{node}: no hb-messaging among {lab.processes(node)}")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class _Watch(threading.Thread):
    """Reads every node's view of every node (and the ccm membership) until stopped."""

    def __init__(self, lab, nodes: list[str], result: CampaignResult, interval_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.lab, self.nodes, self.result, self.interval_s = lab, nodes, result, interval_s
        self.stopping = threading.Event()
        self.instances: dict[str, object] = {}

    def run(self) -> None:
        from ccm.cli import ask

        while not self.stopping.wait(self.interval_s):
            for observer in self.nodes:
                try:
                    view = _query(self.lab, observer, "nodes")
                except Exception as exc:  # a daemon that does not answer is itself a finding
                    self.result.false_deaths.append(f"{observer}: messaging did not answer ({exc})")
                    continue
                for node in view:
                    if node.get("type", "normal") == "normal" and node["status"] != "active":
                        self.result.false_deaths.append(f"{observer} saw {node['name']} {node['status']}")
                try:
                    ccm = ask(self.lab.paths(observer), "view", timeout_ms=1000)
                except Exception as exc:
                    self.result.membership_changes.append(f"{observer}: ccm did not answer ({exc})")
                    continue
                members, instance = ccm.get("members"), ccm.get("instance")
                if members != sorted(self.nodes):
                    self.result.membership_changes.append(f"{observer}: members {members}")
                first = self.instances.setdefault(observer, instance)
                if instance != first:
                    self.result.membership_changes.append(f"{observer}: ccm instance {first} -> {instance}")
            self.result.checks += 1


def capture(lab, count: int = 150, timeout_s: float = 30.0) -> list[tuple[str, bytes]]:
    """Packets seen on the segment from the client namespace, with fragments of large client
    messages node1 sends meanwhile."""
    from lab import plan

    path = os.path.join(lab.spec.root, "fuzz-capture.json")
    argv = lab.exec_argv("client", [sys.executable, "-c", CAPTURE, str(lab.spec.udpport), str(count), path,
                                    str(timeout_s)])
    from lab import stack

    proc = subprocess.Popen(argv, env=stack.node_env(lab.spec, "client"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        _send_large(lab, plan.node_names(lab.spec)[0], 3, 2500)
        out, err = proc.communicate(timeout=timeout_s + 10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"capture failed: {err}")
    with open(path) as handle:
        return [(src, bytes.fromhex(data)) for src, data in json.load(handle)]


def _dropped(counters: dict) -> int:
    return sum(v for k, v in counters.items() if k.startswith("dropped_"))


def _settle(lab, target: str, timeout_s: float = MAX_SETTLE_S) -> dict:
    """The target's counters once its drop counters stopped moving (its socket queue drained;
    packets_received keeps moving with the other nodes' heartbeats, which drop nothing)."""
    last = _query(lab, target, "counters")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(SETTLE_S)
        now = _query(lab, target, "counters")
        if _dropped(now) == _dropped(last):
            return now
        last = now
    return last


def run(lab, method: str, counts: dict[str, int], seed: int, rate: int, flood_s: float,
        target: str = "node2", progress: Callable[[str], None] = lambda _: None) -> CampaignResult:
    """The campaign against `target` of a running lab whose nodes all see each other."""
    from lab import plan

    nodes = plan.node_names(lab.spec)
    result = CampaignResult(method, target)
    captured = [(s, d) for s, d in capture(lab) if s != plan.address(lab.spec, target)]
    result.captured = len(captured)
    result.captured_fragments = sum(len(d) >= FRAGMENT_MIN_BYTES for _, d in captured)
    path = os.path.join(lab.spec.root, "fuzz-captured.json")
    with open(path, "w") as handle:
        json.dump([[s, d.hex()] for s, d in captured], handle)
    procs = {node: sorted(lab.processes(node)) for node in nodes}
    pid = messaging_pid(lab, target)
    result.rss_kib_before = rss_kib(pid)
    addresses = {n: plan.address(lab.spec, n) for n in nodes if n != target}
    watch = _Watch(lab, nodes, result)
    watch.start()
    try:
        for k, kind in enumerate(kinds for kinds in KINDS if counts.get(kinds, 0) > 0):
            before = _settle(lab, target)
            plan_path = os.path.join(lab.spec.root, f"fuzz-plan-{kind}.json")
            with open(plan_path, "w") as handle:
                json.dump({"kind": kind, "seed": seed * 100 + k, "count": counts[kind], "target": plan.address(lab.spec, target),
                           "port": lab.spec.udpport, "method": method, "names": nodes, "addresses": addresses,
                           "captured": path, "rate": rate, "flood_s": flood_s}, handle)
            progress(f"{method}: {kind} x {counts[kind]}")
            budget = flood_s + 60 if kind == "flood" else counts[kind] / max(rate, 1) * 3 + 60
            done = lab.exec("client", [sys.executable, "-m", "lab.fuzz", "send", plan_path], capture=True,
                            timeout_s=budget)
            if done.returncode != 0:
                raise RuntimeError(f"the {kind} sender failed: {done.stderr.strip()[-2000:]}")
            sent = json.loads(done.stdout)
            after = _settle(lab, target)
            row = KindResult(kind, sent["sent"], sent["send_errors"], sent["seconds"])
            for name in set(before) | set(after):
                moved = after.get(name, 0) - before.get(name, 0)
                if name == "packets_received":
                    row.received = moved
                elif name.startswith("dropped_") and moved:
                    row.drops[name[len("dropped_"):]] = moved
                elif moved and name not in ("packets_sent",):
                    row.other[name] = moved
            row.rss_kib_after = rss_kib(pid) if os.path.exists(f"/proc/{pid}") else 0
            result.kinds.append(row)
    finally:
        watch.stopping.set()
        watch.join(10)
    for node in nodes:
        now = sorted(lab.processes(node))
        if now != procs[node]:
            gone = sorted(set(procs[node]) - set(now))
            new = sorted(set(now) - set(procs[node]))
            result.crashes.append(f"{node}: processes gone {gone}, new {new}")
    result.rss_kib_after = rss_kib(pid) if os.path.exists(f"/proc/{pid}") else 0
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "send":
        print("usage: python -m lab.fuzz send PLAN.json", file=sys.stderr)
        return 2
    with open(argv[1]) as handle:
        plan = json.load(handle)
    print(json.dumps(send(plan)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
