"""Heartbeat's on-the-wire message (`ha_msg`) and its authentication, as pure functions.

A message is an ordered list of fields `(name, type, value)`: type 0 string, 1 binary, 3 list of
strings (2, nested struct, is parsed but never produced). Two encodings exist (see
`docs/architecture.md` and heartbeat-protocol notes):

netstring (what Heartbeat 3 with cluster-glue >= 1.0.10 sends, and what we send):

    ###\\n  <len>:(<type>)<name>=<value>,  ...  %%%\\n  <len>:<keyindex> <hexdigest>,

  the digest covers everything from `###\\n` through `%%%\\n`.

classic (heartbeat 2.1 and `msgfmt classic`): `>>>\\n` then `name=value\\n` lines (non-string
fields as `(T)name=...`, binary in base64) then `<<<\\n`; the last field is `auth=<keyindex>
<hexdigest>` over the `name=value\\n` lines before it. We decode and check it; we never send it.

Digests: md5/sha1/sha256 are HMACs keyed with the authkeys secret; crc is heartbeat's CRC-32
(poly 0x04C11DB7, init 0, unreflected, final complement) printed without zero padding.

Anything malformed raises `PacketError` (a `RemoteError`); nothing else escapes `decode`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Optional, Union

from core.config.authkeys import AuthKey, AuthKeys
from core.errors import RemoteError

NETSTRING_START = b"###\n"
NETSTRING_END = b"%%%\n"
CLASSIC_START = b">>>\n"
CLASSIC_END = b"<<<\n"
MAX_PACKET_BYTES = 65_507
MAX_FIELDS = 256
FT_STRING, FT_BINARY, FT_STRUCT, FT_LIST = 0, 1, 2, 3

FieldValue = Union[str, bytes, list, "Fields"]


class PacketError(RemoteError):
    """A packet that is not a well-formed, authentic ha_msg. `reason` names the drop counter."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


class Fields:
    """Ordered (name, type, value) triples; lookups return the first field of that name."""

    __slots__ = ("items",)

    def __init__(self, items: Optional[list[tuple[str, int, FieldValue]]] = None) -> None:
        self.items: list[tuple[str, int, FieldValue]] = items if items is not None else []

    def add(self, name: str, value: FieldValue, ftype: Optional[int] = None) -> "Fields":
        if ftype is None:
            ftype = FT_BINARY if isinstance(value, (bytes, bytearray)) else FT_LIST if isinstance(value, list) else FT_STRING
        self.items.append((name, ftype, value))
        return self

    def get(self, name: str) -> Optional[FieldValue]:
        for key, _, value in self.items:
            if key == name:
                return value
        return None

    def text(self, name: str) -> Optional[str]:
        value = self.get(name)
        return value if isinstance(value, str) else None

    def blob(self, name: str) -> Optional[bytes]:
        value = self.get(name)
        return bytes(value) if isinstance(value, (bytes, bytearray)) else None

    def names(self) -> list[str]:
        return [key for key, _, _ in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"Fields({self.items!r})"


# -- digests -----------------------------------------------------------------------------------

def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
        table.append(crc & 0xFFFFFFFF)
    return table


_CRC_TABLE = _crc_table()


def heartbeat_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) ^ byte) & 0xFF]
    return (~crc) & 0xFFFFFFFF


def digest(key: AuthKey, text: bytes) -> str:
    if key.method == "crc":
        return format(heartbeat_crc(text), "x")
    if key.method not in ("md5", "sha1", "sha256"):
        raise KeyError(key.method)
    # (hmac.digest: the one-shot C path, the same MAC as hmac.new(...).hexdigest() without
    # building an HMAC object per packet)
    return hmac.digest(key.secret, text, key.method).hex()


# -- netstring encoding ------------------------------------------------------------------------

def _value_bytes(ftype: int, value: FieldValue) -> bytes:
    if ftype == FT_STRING:
        assert isinstance(value, str)
        return value.encode("utf-8")
    if ftype == FT_BINARY:
        assert isinstance(value, (bytes, bytearray))
        return bytes(value)
    if ftype == FT_LIST:
        assert isinstance(value, list)
        return b"".join(_netstring(item.encode("utf-8")) for item in value)
    assert isinstance(value, Fields)
    return encode_body(value)


def _netstring(data: bytes) -> bytes:
    return b"%d:%s," % (len(data), data)


def encode_body(fields: Fields) -> bytes:
    """The signed part of a netstring packet: ###\\n ... %%%\\n."""
    parts = [NETSTRING_START]
    for name, ftype, value in fields.items:
        parts.append(_netstring(b"(%d)%s=%s" % (ftype, name.encode("ascii"), _value_bytes(ftype, value))))
    parts.append(NETSTRING_END)
    return b"".join(parts)


def encode(fields: Fields, key: AuthKey, inner_auth: bool = True) -> bytes:
    """Netstring packet with the trailer; with inner_auth also the classic `auth` field that
    Heartbeat 3 adds to every message (HMAC over the classic `name=value\\n` lines)."""
    if inner_auth:
        fields = Fields(fields.items + [("auth", FT_STRING, classic_token(fields, key))])
    body = encode_body(fields)
    return body + _netstring(b"%d %s" % (key.index, digest(key, body).encode("ascii")))


# -- decoding ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Decoded:
    fields: Fields
    key_index: int
    format: str  # "netstring" | "classic"


def _read_netstring(data: bytes, pos: int) -> tuple[bytes, int]:
    colon = data.find(b":", pos, pos + 12)
    if colon < 0 or colon == pos or not data[pos:colon].isdigit():
        raise PacketError("malformed", f"bad netstring length at {pos}")
    length = int(data[pos:colon])
    start, end = colon + 1, colon + 1 + length
    if end >= len(data) or data[end:end + 1] != b",":
        raise PacketError("malformed", f"netstring at {pos} overruns or lacks ','")
    return data[start:end], end + 1


def _parse_item(item: bytes, depth: int) -> tuple[str, int, FieldValue]:
    if not item.startswith(b"(") or b")" not in item[:5]:
        raise PacketError("malformed", "field without (type) prefix")
    close = item.index(b")")
    try:
        ftype = int(item[1:close])
    except ValueError:
        raise PacketError("malformed", "non-numeric field type") from None
    equals = item.find(b"=", close)
    if equals < 0:
        raise PacketError("malformed", "field without '='")
    name = _ascii(item[close + 1:equals])
    raw = item[equals + 1:]
    if ftype == FT_STRING:
        return name, ftype, raw.decode("utf-8", "replace")
    if ftype in (FT_BINARY, 4):
        return name, FT_BINARY, bytes(raw)
    if ftype == FT_LIST:
        values, pos = [], 0
        while pos < len(raw):
            value, pos = _read_netstring(raw, pos)
            values.append(value.decode("utf-8", "replace"))
        return name, ftype, values
    if ftype in (FT_STRUCT, 5):
        if depth >= 16:
            raise PacketError("malformed", "struct nesting too deep")
        inner, _ = _parse_netstring_body(raw, depth + 1)
        return name, FT_STRUCT, inner
    raise PacketError("malformed", f"unknown field type {ftype}")


def _ascii(raw: bytes) -> str:
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        raise PacketError("malformed", "non-ASCII field name") from None
    if not name:
        raise PacketError("malformed", "empty field name")
    return name


def _parse_netstring_body(data: bytes, depth: int = 0) -> tuple[Fields, int]:
    """Parse ###\\n ... %%%\\n at the start of data; returns fields and the offset after %%%\\n."""
    if not data.startswith(NETSTRING_START):
        raise PacketError("malformed", "missing ###")
    pos = len(NETSTRING_START)
    fields = Fields()
    while not data.startswith(NETSTRING_END, pos):
        if pos >= len(data):
            raise PacketError("malformed", "missing %%%")
        item, pos = _read_netstring(data, pos)
        fields.items.append(_parse_item(item, depth))
        if len(fields) > MAX_FIELDS:
            raise PacketError("malformed", "too many fields")
    return fields, pos + len(NETSTRING_END)


def _check_token(token: bytes, keys: AuthKeys, text: bytes) -> int:
    try:
        index_text, hexdigest = token.decode("ascii").split(" ", 1)
        index = int(index_text)
    except (UnicodeDecodeError, ValueError):
        raise PacketError("bad_auth", "unreadable authentication token") from None
    key = keys.key(index)
    if key is None:
        raise PacketError("unknown_key", f"key index {index} not in authkeys")
    if not hmac.compare_digest(digest(key, text), hexdigest.strip()):
        raise PacketError("bad_auth", f"digest mismatch (key {index})")
    return index


def decode(packet: bytes, keys: AuthKeys) -> Decoded:
    """Parse and authenticate one datagram; PacketError (with .reason) on any problem."""
    try:
        if len(packet) > MAX_PACKET_BYTES:
            raise PacketError("oversize", f"{len(packet)} bytes")
        if packet.startswith(NETSTRING_START):
            fields, end = _parse_netstring_body(packet)
            token, after = _read_netstring(packet, end) if end < len(packet) else (None, end)
            if token is None:
                raise PacketError("bad_auth", "no authentication trailer")
            if after != len(packet):
                raise PacketError("malformed", "bytes after the authentication trailer")
            index = _check_token(token, keys, packet[:end])
            return Decoded(fields, index, "netstring")
        if packet.startswith(CLASSIC_START):
            return _decode_classic(packet, keys)
        raise PacketError("malformed", "not a heartbeat message")
    except PacketError:
        raise
    except (ValueError, IndexError, AssertionError, UnicodeError, binascii.Error) as exc:
        raise PacketError("malformed", f"{exc.__class__.__name__}") from None


def decode_body(body: bytes) -> Fields:
    """The fields of a bare netstring body (`###\\n ... %%%\\n`, nothing after it): what a sealed
    packet carries once opened (the AEAD authenticated it, so it has no trailer)."""
    try:
        fields, end = _parse_netstring_body(body)
    except PacketError:
        raise
    except (ValueError, IndexError, AssertionError, UnicodeError) as exc:
        raise PacketError("malformed", exc.__class__.__name__) from None
    if end != len(body):
        raise PacketError("malformed", "bytes after the message")
    return fields


def _decode_classic(packet: bytes, keys: AuthKeys) -> Decoded:
    end = packet.find(CLASSIC_END)
    if end < 0:
        raise PacketError("malformed", "missing <<<")
    lines = packet[len(CLASSIC_START):end].split(b"\n")
    fields = Fields()
    signed = bytearray()
    token: Optional[bytes] = None
    for line in lines:
        if not line:
            continue
        if line.startswith(b"auth="):
            token = line[5:]
            continue
        signed += line + b"\n"
        name_part, sep, raw = line.partition(b"=")
        if not sep:
            raise PacketError("malformed", "classic line without '='")
        ftype = FT_STRING
        if name_part.startswith(b"(") and b")" in name_part:
            close = name_part.index(b")")
            ftype = int(name_part[1:close])
            name_part = name_part[close + 1:]
        name = _ascii(name_part)
        if ftype == FT_BINARY:
            fields.items.append((name, FT_BINARY, base64.b64decode(raw, validate=False)))
        elif ftype == FT_LIST:
            fields.items.append(_parse_item(b"(3)" + name_part + b"=" + raw, 0))
        else:
            fields.items.append((name, FT_STRING, raw.replace(b"\x13", b"\n").decode("utf-8", "replace")))
        if len(fields) > MAX_FIELDS:
            raise PacketError("malformed", "too many fields")
    if token is None:
        raise PacketError("bad_auth", "classic message without auth field")
    index = _check_token(token, keys, bytes(signed))
    return Decoded(fields, index, "classic")


def classic_lines(fields: Fields) -> bytes:
    """The classic text of the fields: what the `auth` field's digest covers."""
    lines = bytearray()
    for name, ftype, value in fields.items:
        if ftype == FT_BINARY:
            assert isinstance(value, (bytes, bytearray))
            lines += b"(1)%s=%s\n" % (name.encode("ascii"), base64.b64encode(bytes(value)))
        elif ftype == FT_LIST:
            lines += b"(3)%s=%s\n" % (name.encode("ascii"), _value_bytes(FT_LIST, value))
        else:
            assert isinstance(value, str)
            lines += b"%s=%s\n" % (name.encode("ascii"), value.replace("\n", "\x13").encode("utf-8"))
    return bytes(lines)


def classic_token(fields: Fields, key: AuthKey) -> str:
    return f"{key.index} {digest(key, classic_lines(fields))}"


def encode_classic(fields: Fields, key: AuthKey) -> bytes:
    """Classic `>>>` form with the auth field (for tests and heartbeat 2.1 peers)."""
    lines = classic_lines(fields)
    return CLASSIC_START + lines + b"auth=" + classic_token(fields, key).encode("ascii") + b"\n" + CLASSIC_END
