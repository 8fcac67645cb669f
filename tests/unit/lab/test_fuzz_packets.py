"""The fuzzer's packet kinds (lab/fuzz.py), without a lab: every kind gives the count asked for,
the same packets for the same seed, within UDP's limits, and none of them is accepted by a
messaging core that holds the real key (the campaign's numbers rest on these packets being bad)."""

from __future__ import annotations

import random

import pytest

from core.config.authkeys import parse_authkeys
from lab import fuzz
from messaging import packet as pkt
from messaging import seal

NAMES = ["node1", "node2", "node3"]
ADDRESSES = {"node1": "198.19.212.11", "node3": "198.19.212.13"}
SECRET = "the-real-cluster-secret-0123456789"
NOW_S = 1_765_000_000  # the time forged packets carry (fixed: two calls compare equal)


def captured(method: str) -> list[tuple[str, bytes]]:
    keys = parse_authkeys(f"auth 1\n1 {method} {SECRET}\n")
    sealer = seal.Sealer(keys, "linux-ha")
    out = []
    for i, name in enumerate(["node1", "node3"] * 10, start=1):
        fields = pkt.Fields().add("t", "status").add("st", "active").add("src", name).add("seq", format(i, "x"))
        fields.add("hg", "2a").add("ts", "6930a1b2").add("data", b"x" * (1500 if i % 5 == 0 else 10))
        data = sealer.seal(keys.active_key, name, 42, i, pkt.encode_body(fields)) if keys.active_key.sealing \
            else pkt.encode(fields, keys.active_key)
        out.append((ADDRESSES[name], data))
    return out


@pytest.mark.parametrize("method", ["sha1", "aes-256-gcm"])
@pytest.mark.parametrize("kind", [k for k in fuzz.KINDS if k != "flood"])
def test_each_kind_is_seeded_bounded_and_refused_by_the_real_key(method, kind):
    cap = captured(method)
    first = fuzz.make_packets(kind, random.Random(5), 200, cap, method, NAMES, ADDRESSES, NOW_S)
    again = fuzz.make_packets(kind, random.Random(5), 200, cap, method, NAMES, ADDRESSES, NOW_S)
    assert first == again and len(first) == 200
    assert all(len(data) <= fuzz.MAX_UDP_PAYLOAD for _, data in first)
    assert all(source is None or source in ADDRESSES.values() for source, _ in first)
    if kind in ("replay", "fragments"):
        return  # valid packets by design: the receiver's replay window refuses them
    keys = parse_authkeys(f"auth 1\n1 {method} {SECRET}\n")
    sealer = seal.Sealer(keys, "linux-ha")
    opened = 0
    for _, data in first:
        try:
            sealer.open(data, NAMES) if seal.is_sealed(data) else pkt.decode(data, keys)
            opened += 1
        except pkt.PacketError:
            pass
    # a bitflip may draw the same bit twice: an exact copy of a valid packet
    assert opened <= (3 if kind == "bitflip" else 0), (kind, opened)
