"""Sealed packets: the authkeys methods `aes-256-gcm` and `chacha20-poly1305` (pure functions and
a key cache; no I/O, no randomness).

A sealed packet is the whole netstring message (`###\\n ... %%%\\n`, every field including src,
seq, hg, ts) encrypted and authenticated with an AEAD; only this header is readable:

    offset size  what
    0      3     magic  b"PHB"       (never the start of a Heartbeat packet: `###` / `>>>`)
    3      1     format version (1)
    4      1     authkeys key index (1..15)
    5      4     sender tag: HMAC-SHA256(cluster key, "tag" | node name)[:4], a pseudonym that
                 lets the receiver pick the sender's key without trying them all
    9      12    nonce: sender generation (4 bytes, big-endian) | packet counter (8 bytes)
    21     n+16  ciphertext and tag of the netstring body; the 21 header bytes are the AAD

Keys (HKDF-SHA256 throughout):
- cluster key = HKDF(secret, salt "pyheartbeat authkeys v1", info "seal|<cluster>|<method>|<index>"),
  where <cluster> is ha.cf's `cluster` name: two clusters sharing a secret cannot read each other,
  and a key index/method pair never shares material with another.
- sender key = HKDF(cluster key, info "sender|<node name>"): each node seals with its own key.

Why the nonce never repeats for a key: every node has its own key (two nodes may use the same
counter without sharing a nonce), the generation strictly increases at each start of the node
(`hb_generation`, fsynced before the first packet, as Heartbeat does), and within a generation the
counter increases for every sealed datagram (retransmissions are sealed again with a new counter,
never resent as old bytes). A node whose generation file is rolled back would reuse nonces; its
peers refuse it anyway (`old_generation`), and `hbgenmethod time` keeps the generation monotonic.

Every node knows the cluster secret, so sender keys protect against outsiders, not against a
member impersonating another member (same as Heartbeat's shared HMAC key).
"""

from __future__ import annotations

import hmac
import hashlib
import struct
from dataclasses import dataclass
from typing import Iterable, Optional, Union

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.config.authkeys import AuthKey, AuthKeys
from messaging import packet as pkt

MAGIC = b"PHB"
VERSION = 1
PREFIX = MAGIC + bytes([VERSION])
HEADER = struct.Struct(">4sB4sIQ")  # prefix, key index, sender tag, generation, counter
HEADER_BYTES = HEADER.size  # 21
TAG_BYTES = 16
MAX_GENERATION = 0xFFFF_FFFF
MAX_COUNTER = 0xFFFF_FFFF_FFFF_FFFF
KDF_SALT = b"pyheartbeat authkeys v1"

Aead = Union[AESGCM, ChaCha20Poly1305]


def is_sealed(data: bytes) -> bool:
    return data[:len(MAGIC)] == MAGIC


def _hkdf(secret: bytes, info: bytes, salt: Optional[bytes] = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret)


def cluster_key(key: AuthKey, cluster: str) -> bytes:
    info = b"seal|%s|%s|%d" % (cluster.encode("utf-8"), key.method.encode("ascii"), key.index)
    return _hkdf(key.secret, info, KDF_SALT)


def sender_tag(master: bytes, node: str) -> bytes:
    return hmac.new(master, b"tag|" + node.encode("utf-8"), hashlib.sha256).digest()[:4]


def _aead(method: str, key: bytes) -> Aead:
    if method == "aes-256-gcm":
        return AESGCM(key)
    assert method == "chacha20-poly1305", f"not a sealing method: {method}"
    return ChaCha20Poly1305(key)


@dataclass(frozen=True)
class Opened:
    """A sealed packet that authenticated: its fields and what the header said."""

    fields: pkt.Fields
    key_index: int
    sender: str
    generation: int
    counter: int


class _KeyMaterial:
    """What one sealing key of authkeys derives to, per node, computed once."""

    def __init__(self, key: AuthKey, cluster: str) -> None:
        self.key = key
        self.master = cluster_key(key, cluster)
        self.aeads: dict[str, Aead] = {}
        self.tags: dict[str, bytes] = {}
        self.by_tag: dict[bytes, list[str]] = {}

    def for_node(self, node: str) -> tuple[bytes, Aead]:
        aead = self.aeads.get(node)
        if aead is None:
            aead = _aead(self.key.method, _hkdf(self.master, b"sender|" + node.encode("utf-8")))
            tag = sender_tag(self.master, node)
            self.aeads[node], self.tags[node] = aead, tag
            self.by_tag.setdefault(tag, []).append(node)
        return self.tags[node], aead


class Sealer:
    """Seals and opens packets for one authkeys file and cluster name. Node keys are derived on
    first use (`open` only ever derives keys for the candidate names it is given, so a flood of
    forged headers costs one dict lookup each)."""

    def __init__(self, keys: AuthKeys, cluster: str) -> None:
        self.keys = keys
        self.cluster = cluster
        self._material: dict[int, _KeyMaterial] = {}

    def _for(self, key: AuthKey) -> _KeyMaterial:
        material = self._material.get(key.index)
        if material is None:
            material = self._material[key.index] = _KeyMaterial(key, self.cluster)
        return material

    def seal(self, key: AuthKey, sender: str, generation: int, counter: int, body: bytes) -> bytes:
        """The sealed datagram of a netstring body (`packet.encode_body`)."""
        if not 0 <= generation <= MAX_GENERATION:
            raise ValueError(f"generation {generation} does not fit the 4-byte nonce field")
        if not 0 < counter <= MAX_COUNTER:
            raise ValueError(f"packet counter {counter} out of range")
        tag, aead = self._for(key).for_node(sender)
        header = HEADER.pack(PREFIX, key.index, tag, generation, counter)
        return header + aead.encrypt(header[-12:], body, header)

    def open(self, data: bytes, candidates: Iterable[str]) -> Opened:
        """Authenticate and decrypt; PacketError(reason) when the packet is not for us.
        candidates: the node names a sender may have (the configured and known nodes)."""
        if len(data) > pkt.MAX_PACKET_BYTES:
            raise pkt.PacketError("oversize", f"{len(data)} bytes")
        if len(data) < HEADER_BYTES + TAG_BYTES or data[:4] != PREFIX:
            raise pkt.PacketError("malformed", "short sealed packet or unknown seal version")
        _, index, tag, generation, counter = HEADER.unpack_from(data)
        key = self.keys.key(index)
        if key is None:
            raise pkt.PacketError("unknown_key", f"key index {index} not in authkeys")
        if not key.sealing:
            raise pkt.PacketError("bad_seal", f"key {index} ({key.method}) does not seal")
        material = self._for(key)
        allowed = set(candidates)
        for name in allowed:
            material.for_node(name)
        names = [name for name in material.by_tag.get(tag, ()) if name in allowed]
        if not names:
            raise pkt.PacketError("unknown_sender", "sender tag matches no known node")
        header, nonce = data[:HEADER_BYTES], data[HEADER_BYTES - 12:HEADER_BYTES]
        for name in names:
            try:
                body = material.aeads[name].decrypt(nonce, data[HEADER_BYTES:], header)
            except InvalidTag:
                continue
            return Opened(pkt.decode_body(body), index, name, generation, counter)
        raise pkt.PacketError("bad_seal", f"authentication failed (key {index})")

