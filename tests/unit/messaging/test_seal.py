"""Sealed packets (authkeys aes-256-gcm / chacha20-poly1305): format, keys, nonces, bad input."""

import struct

import pytest
from hypothesis import given, settings, strategies as st

from core.config.authkeys import parse_authkeys
from messaging import seal
from messaging.events import ClientSend, Transmit
from messaging.packet import Fields, PacketError, encode_body

from harness import Net

SECRET = "0123456789abcdef0123456789abcdef"
METHODS = ("aes-256-gcm", "chacha20-poly1305")


def keys_for(method: str, extra: str = ""):
    return parse_authkeys(f"auth 1\n1 {method} {SECRET}\n{extra}")


def body(src: str = "node1") -> bytes:
    fields = Fields().add("t", "status").add("st", "active").add("src", src).add("hg", "2a").add("ts", "65a1b2c3")
    return encode_body(fields)


@pytest.mark.parametrize("method", METHODS)
def test_roundtrip_and_only_the_header_is_readable(method):
    keys = keys_for(method)
    sealer = seal.Sealer(keys, "prod")
    data = sealer.seal(keys.key(1), "node1", 42, 7, body())
    prefix, index, tag, generation, counter = struct.unpack_from(">4sB4sIQ", data)
    assert (prefix, index, generation, counter) == (b"PHB\x01", 1, 42, 7)
    for secret_text in (b"status", b"node1", b"active", b"###", b"65a1b2c3"):
        assert secret_text not in data
    opened = seal.Sealer(keys, "prod").open(data, ["node2", "node1"])
    assert (opened.sender, opened.generation, opened.counter, opened.key_index) == ("node1", 42, 7, 1)
    assert opened.fields.text("st") == "active"
    assert len(data) == seal.HEADER_BYTES + len(body()) + seal.TAG_BYTES


@pytest.mark.parametrize("method", METHODS)
def test_every_flipped_bit_is_refused(method):
    keys = keys_for(method)
    sealer = seal.Sealer(keys, "prod")
    data = sealer.seal(keys.key(1), "node1", 1, 1, body())
    reasons = set()
    for position in range(len(data)):
        for bit in (0, 7):
            mutated = bytearray(data)
            mutated[position] ^= 1 << bit
            with pytest.raises(PacketError) as caught:
                sealer.open(bytes(mutated), ["node1", "node2"])
            reasons.add(caught.value.reason)
    assert reasons <= {"malformed", "unknown_key", "unknown_sender", "bad_seal"}
    assert "bad_seal" in reasons


def test_another_cluster_with_the_same_secret_cannot_read_us():
    keys = keys_for("aes-256-gcm")
    data = seal.Sealer(keys, "prod").seal(keys.key(1), "node1", 1, 1, body())
    with pytest.raises(PacketError) as caught:
        seal.Sealer(keys, "test").open(data, ["node1"])
    assert caught.value.reason in ("unknown_sender", "bad_seal")


def test_each_node_seals_with_its_own_key():
    keys = keys_for("aes-256-gcm")
    sealer = seal.Sealer(keys, "prod")
    one = sealer.seal(keys.key(1), "node1", 1, 1, body("node1"))
    two = sealer.seal(keys.key(1), "node2", 1, 1, body("node1"))  # same nonce, other node's key
    assert one[seal.HEADER_BYTES:] != two[seal.HEADER_BYTES:]
    assert one[5:9] != two[5:9]  # sender tags differ


def test_unknown_key_index_and_signing_key_index():
    keys = keys_for("aes-256-gcm", "2 sha1 other\n")
    sealer = seal.Sealer(keys, "prod")
    data = bytearray(sealer.seal(keys.key(1), "node1", 1, 1, body()))
    data[4] = 9
    with pytest.raises(PacketError, match="unknown_key"):
        sealer.open(bytes(data), ["node1"])
    data[4] = 2
    with pytest.raises(PacketError, match="bad_seal"):
        sealer.open(bytes(data), ["node1"])


def test_a_sender_not_among_the_candidates_is_unknown():
    keys = keys_for("chacha20-poly1305")
    sealer = seal.Sealer(keys, "prod")
    data = sealer.seal(keys.key(1), "stranger", 1, 1, body("stranger"))
    with pytest.raises(PacketError, match="unknown_sender"):
        sealer.open(data, ["node1", "node2"])


def test_nonce_fields_are_range_checked():
    keys = keys_for("aes-256-gcm")
    sealer = seal.Sealer(keys, "prod")
    with pytest.raises(ValueError):
        sealer.seal(keys.key(1), "node1", 1 << 32, 1, body())
    with pytest.raises(ValueError):
        sealer.seal(keys.key(1), "node1", 1, 0, body())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_after_the_magic_never_crash(tail):
    keys = keys_for("aes-256-gcm")
    sealer = seal.Sealer(keys, "prod")
    for data in (seal.PREFIX + tail, seal.MAGIC + tail):
        try:
            sealer.open(data, ["node1"])
        except PacketError as exc:
            assert exc.reason in ("malformed", "unknown_key", "unknown_sender", "bad_seal")


@pytest.mark.parametrize("method", METHODS)
def test_no_nonce_is_used_twice_across_nodes_restarts_and_retransmissions(method):
    """Every datagram any node ever sealed, lossy links forcing retransmissions, and a restart:
    the (key, sender, nonce) triples are all distinct."""
    keys = keys_for(method)
    net = Net(["node1", "node2", "node3"], keys=keys, links=("eth0", "eth1"))
    net.loss = {(a, b, link): 0.3 for a in net.names for b in net.names for link in net.links if a != b}
    net.run_for(1000)
    for i in range(40):
        net.inject("node1", ClientSend(i, "test", b"x" * 50))
    net.run_for(2000)
    net.crash("node2")
    net.restart("node2")
    net.run_for(1500)
    seen = set()
    packets = [e.packet for name in net.names for e in net.of_type(name, Transmit)]
    assert all(seal.is_sealed(p) for p in packets)
    for data in packets:
        triple = (data[4], data[5:9], data[9:21])
        assert triple not in seen
        seen.add(triple)
    assert sum(net.nodes[n].machine.counters.get("retransmits_sent", 0) for n in net.names) > 0
    got = [d.payload for d in net.delivered("node3") if d.msgtype == "test"]
    assert len(got) == 40
