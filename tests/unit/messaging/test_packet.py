"""The ha_msg codec against real Heartbeat 3.0.6 packets, round trips, and fuzzing."""

import json
import pathlib

import pytest
from hypothesis import given, settings, strategies as st

from core.config.authkeys import parse_authkeys
from messaging.packet import (Fields, PacketError, decode, encode, encode_classic, heartbeat_crc)

VECTORS = json.loads((pathlib.Path(__file__).parent / "vectors" / "heartbeat306.json").read_text())
KEYS = parse_authkeys(f"auth 1\n1 sha1 {VECTORS['key']}\n")
REAL = [(t, bytes.fromhex(h)) for t, packets in VECTORS["packets"].items() for h in packets]


@pytest.mark.parametrize("msgtype,packet", REAL, ids=[f"{t}{i}" for i, (t, _) in enumerate(REAL)])
def test_real_heartbeat_packets_decode_and_authenticate(msgtype, packet):
    decoded = decode(packet, KEYS)
    assert decoded.format == "netstring" and decoded.key_index == 1
    assert decoded.fields.text("t") == msgtype
    assert len(decoded.fields.blob("srcuuid")) == 16


@pytest.mark.parametrize("msgtype,packet", REAL, ids=[f"{t}{i}" for i, (t, _) in enumerate(REAL)])
def test_we_encode_byte_identical_packets_including_the_inner_auth_field(msgtype, packet):
    fields = decode(packet, KEYS).fields
    without_auth = Fields([item for item in fields.items if item[0] != "auth"])
    assert encode(without_auth, KEYS.active_key) == packet


def test_status_fields_in_heartbeat_order():
    fields = decode(REAL[0][1], KEYS).fields
    assert fields.names() == ["t", "st", "dt", "protocol", "src", "srcuuid", "seq", "hg", "ts", "ld", "ttl", "auth"]


def test_wrong_key_is_rejected_with_reason():
    other = parse_authkeys("auth 1\n1 sha1 not-the-secret\n")
    with pytest.raises(PacketError) as info:
        decode(REAL[0][1], other)
    assert info.value.reason == "bad_auth"


def test_unknown_key_index():
    other = parse_authkeys("auth 2\n2 sha1 x\n")
    with pytest.raises(PacketError) as info:
        decode(REAL[0][1], other)
    assert info.value.reason == "unknown_key"


@pytest.mark.parametrize("method", ["crc", "md5", "sha1", "sha256"])
def test_roundtrip_every_method(method):
    keys = parse_authkeys(f"auth 3\n3 {method} {'' if method == 'crc' else 'secret'}\n")
    fields = Fields().add("t", "status").add("src", "node1").add("srcuuid", b"\x00\xff" * 8).add("l", ["a", "bc"])
    decoded = decode(encode(fields, keys.active_key), keys)
    assert decoded.fields.text("t") == "status" and decoded.fields.blob("srcuuid") == b"\x00\xff" * 8
    assert decoded.fields.get("l") == ["a", "bc"]
    classic = decode(encode_classic(fields, keys.active_key), keys)
    assert classic.format == "classic" and classic.fields.blob("srcuuid") == b"\x00\xff" * 8


def test_crc_matches_heartbeat_definition():
    # CRC-32/POSIX (cksum's polynomial, unreflected, init 0, final complement, no length)
    assert heartbeat_crc(b"123456789") == 0x765E7680


def test_tampered_field_fails_authentication():
    packet = bytearray(REAL[0][1])
    index = packet.index(b"src=node1") + 8
    packet[index] = ord("2")
    with pytest.raises(PacketError) as info:
        decode(bytes(packet), KEYS)
    assert info.value.reason == "bad_auth"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_crash(data):
    try:
        decode(data, KEYS)
    except PacketError:
        pass
    try:
        decode(b"###\n" + data, KEYS)
    except PacketError:
        pass


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_mutated_real_packets_never_crash(data):
    packet = bytearray(data.draw(st.sampled_from(REAL))[1])
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, max(0, len(packet) - 1)))
        if op == "flip" and packet:
            packet[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del packet[pos:pos + data.draw(st.integers(1, 20))]
        else:
            packet[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
    try:
        decode(bytes(packet), KEYS)
    except PacketError:
        pass
