"""The local IPC codec: every frame between our daemons is msgpack of
`[SIGNATURE, tag, {field: value}]`.

Messages are frozen dataclasses declared with `@message("tag")` in `core.messages.*`, the one
place where the daemons' vocabulary lives. Decoding checks the signature (so a stray writer on a
socket is dropped, as zguide's protocol assertions suggest), looks the tag up, and validates each
field against the dataclass annotations; anything wrong raises `WireError`, which shells count and
log. Unknown extra fields are ignored so that a newer sender can add optional fields.

Large payloads: a request to a daemon's ROUTER (`encode_parts`, `decode_parts`) carries a
`bytes` field longer than `PART_BYTES` as frames of its own after the msgpack frame, which holds
a marker (msgpack ext type `PARTS_EXT`, the field's length) in its place. Why: msgpack copies a
bin out of the frame it decodes, so a 175 MB CIB (the DC's snapshot for its pengine at 32 nodes
/ 10,000 resources) was in the receiver's memory twice, zmq's buffer and the decoded copy (half
the pengine's peak). As parts, the receiver copies one 1 MiB frame at a time into the field's
bytes and drops it at once (libzmq frees it), so the field is in memory once plus a frame; the
sender's msgpack buffer is no longer a second copy either. Replies (`encode`, one frame) carry
no such field.

By file: a sender that has a spool (`encode_parts(msg, spool)`, core.spool: the daemons of one
node) writes such a field, when the message's class names it in `BY_FILE`, into a file
instead and puts a by-file marker in its place (msgpack ext type `FILE_EXT`: the length, then
the file's name); a receiver that takes them
(`decode_parts(..., by_file=...)`) gets the field as whatever `by_file` returns (core.spool's
`Mapped`, read in windows), not as bytes. Why: libzmq hands a multipart message over only once
it holds all of it, so as parts the field was still whole in the receiver's memory, first as
frames, then as bytes (see core/spool.py). A receiver without `by_file` rejects the marker.
"""

from __future__ import annotations

import dataclasses
import io
import types
import typing
from typing import Any, Callable, Optional, TypeVar, Union

import msgpack

from core.errors import WireError

SIGNATURE = "PHB1"
PART_BYTES = 1 << 20  # a bytes field longer than this travels as frames of this size
RELEASE_PARTS = 8  # decode_parts' `release` runs after this many parts (8 MiB) were dropped
PARTS_EXT = 1  # msgpack ext code of the marker: "this field follows as frames" (8-byte length)
FILE_EXT = 2  # msgpack ext code of the marker: "this field is in a spool file" (length, name)

_REGISTRY: dict[str, type] = {}
_HINTS: dict[type, dict[str, Any]] = {}

T = TypeVar("T")


def message(tag: str) -> Callable[[type[T]], type[T]]:
    """Declare a frozen dataclass as a message with the given wire tag."""

    def wrap(cls: type[T]) -> type[T]:
        assert tag not in _REGISTRY, f"message tag {tag!r} declared twice"
        dc = dataclasses.dataclass(frozen=True)(cls)
        dc.TAG = tag  # type: ignore[attr-defined]
        _REGISTRY[tag] = dc
        return dc

    return wrap


def tag_of(msg: Any) -> str:
    return type(msg).TAG


def registered(tag: str) -> type | None:
    return _REGISTRY.get(tag)


def to_fields(msg: Any) -> dict[str, Any]:
    return {f.name: getattr(msg, f.name) for f in dataclasses.fields(msg)}


def encode(msg: Any) -> bytes:
    assert type(msg).TAG in _REGISTRY, f"{type(msg).__name__} is not a registered message"
    return msgpack.packb([SIGNATURE, msg.TAG, to_fields(msg)], use_bin_type=True)


def parts_marker(length: int) -> msgpack.ExtType:
    """What stands in the msgpack frame for a bytes field of `length` sent as parts."""
    return msgpack.ExtType(PARTS_EXT, length.to_bytes(8, "big"))


def by_file_fields(msg: Any) -> tuple[str, ...]:
    """The fields of `msg` that may go by file: those its class names in `BY_FILE` (a reader
    written for a mapped buffer, core/spool.py, not for bytes, must take them)."""
    return getattr(type(msg), "BY_FILE", ())


def file_marker(length: int, name: str) -> msgpack.ExtType:
    """What stands in the msgpack frame for a bytes field of `length` spooled as file `name`."""
    return msgpack.ExtType(FILE_EXT, length.to_bytes(8, "big") + name.encode())


def encode_parts(msg: Any, spool: Optional[Callable[[bytes], str]] = None
                 ) -> list[Union[bytes, memoryview]]:
    """The frames of a request: msgpack of the message, each bytes field longer than PART_BYTES
    replaced by its marker, then those fields' bytes in PART_BYTES slices, in field order
    (views of the message's own bytes: nothing is copied here). With `spool` (it writes a
    field into a file and returns the file's name) such a field named in the class's
    `BY_FILE` goes by file instead."""
    assert type(msg).TAG in _REGISTRY, f"{type(msg).__name__} is not a registered message"
    fields = to_fields(msg)
    tail: list[Union[bytes, memoryview]] = []
    for name, value in fields.items():
        if isinstance(value, bytes) and len(value) > PART_BYTES and spool is not None \
                and name in by_file_fields(msg):
            fields[name] = file_marker(len(value), spool(value))
        elif isinstance(value, bytes) and len(value) > PART_BYTES:
            fields[name] = parts_marker(len(value))
            view = memoryview(value)
            tail.extend(view[i:i + PART_BYTES] for i in range(0, len(value), PART_BYTES))
    return [msgpack.packb([SIGNATURE, msg.TAG, fields], use_bin_type=True), *tail]


def decode(data: Any) -> Any:
    """bytes (or a buffer) -> message object; raises WireError for anything that is not a valid
    frame (a frame with a parts marker among its fields too: its parts are missing)."""
    return decode_parts(data, [])


def decode_parts(data: Any, parts: list[Any],
                 release: Optional[Callable[[], object]] = None,
                 by_file: Optional[Callable[[str, int], Any]] = None) -> Any:
    """The message of a msgpack frame and the parts after it (see the module docstring). Each
    part (bytes, a buffer, or a zmq.Frame: its `buffer`) is copied into its field's bytes and
    removed from `parts` as it is, so that the caller's list holding the only reference to a
    frame lets it go at once; on return `parts` is empty. `release`, when given, is called
    after every RELEASE_PARTS parts dropped: the receiver's way to give their memory back to
    the kernel (core.heaptrim.trim_heap: glibc keeps freed 1 MiB blocks below its heap's top
    mapped once a process has freed larger ones, so without it the parts stayed resident
    next to the field, 390 MB for 175 MB). Parts that do not add up to the lengths the
    markers say raise WireError. A by-file marker's field is `by_file(name, length)` (checked
    as the empty bytes in its place); without `by_file`, or for a field its class does not name
    in `BY_FILE`, the frame is rejected (WireError)."""
    frame = _unpack(data)
    body = frame[2] if isinstance(frame[2], dict) else {}  # (not a map: _message says so)
    parts.reverse()  # popped from the end, in order
    spooled: dict[str, Any] = {}
    try:
        for name, value in body.items():
            if isinstance(value, msgpack.ExtType) and value.code == PARTS_EXT:
                body[name] = _joined(parts, int.from_bytes(value.data, "big"),
                                     f"{frame[1]}.{name}", release)
            elif isinstance(value, msgpack.ExtType) and value.code == FILE_EXT:
                if by_file is None or len(value.data) < 9:
                    raise WireError(f"{frame[1]}.{name}: sent by file, not taken here")
                body[name] = b""
                spooled[name] = (value.data[8:].decode(errors="replace"),
                                 int.from_bytes(value.data[:8], "big"))
        if parts:
            raise WireError(f"{frame[1]}: {len(parts)} frames more than its fields")
    finally:
        parts.clear()
    msg = _message(frame)
    if spooled:
        for name in spooled:
            if name not in by_file_fields(msg):
                raise WireError(f"{frame[1]}.{name}: sent by file, not a field that may be")
        assert by_file is not None
        msg = dataclasses.replace(msg, **{name: by_file(*where) for name, where in spooled.items()})
    return msg


def _joined(parts: list[Any], length: int, where: str,
            release: Optional[Callable[[], object]]) -> bytes:
    """`length` bytes from the parts at the end of `parts` (reversed), each popped once copied.
    io.BytesIO grows its bytes in place and getvalue() hands that very object over, so the
    field exists once (plus one part), never as pieces and their join."""
    out = io.BytesIO()
    got = count = 0
    while got < length:
        if not parts:
            raise WireError(f"{where}: {got} of {length} bytes arrived")
        part = parts.pop()
        with memoryview(getattr(part, "buffer", part)) as view:
            got += len(view)
            if got > length:
                raise WireError(f"{where}: more than its {length} bytes")
            out.write(view)
        del part
        count += 1
        if release is not None and count % RELEASE_PARTS == 0:
            release()
    return out.getvalue()


def _unpack(data: Any) -> list:
    try:
        frame = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=False)
    except Exception as exc:  # msgpack raises several types for garbage
        raise WireError(f"not msgpack: {exc.__class__.__name__}") from None
    if not isinstance(frame, list) or len(frame) != 3 or frame[0] != SIGNATURE:
        raise WireError("bad frame signature")
    return frame


def _message(frame: list) -> Any:
    tag, body = frame[1], frame[2]
    cls = _REGISTRY.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise WireError(f"unknown message tag {tag!r}")
    if not isinstance(body, dict):
        raise WireError(f"{tag}: body is not a map")
    return from_fields(cls, body)


def from_fields(cls: type[T], body: dict[str, Any]) -> T:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = hints
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in body:
            kwargs[f.name] = _check(hints[f.name], body[f.name], f"{cls.TAG}.{f.name}")  # type: ignore[attr-defined]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise WireError(f"{cls.TAG}: missing field {f.name}")  # type: ignore[attr-defined]
    return cls(**kwargs)


def _check(hint: Any, value: Any, where: str) -> Any:
    """Validate value against a (small) subset of typing; returns the value, lists made tuples."""
    if hint is Any:
        return value
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check(arg, value, where)
            except WireError as exc:
                errors.append(str(exc))
        raise WireError(f"{where}: {value!r} matches none of {hint}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise WireError(f"{where}: expected a list")
        args = typing.get_args(hint)
        item_hint = args[0] if args else Any
        items = [_check(item_hint, v, where) for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise WireError(f"{where}: expected a map")
        key_hint, val_hint = typing.get_args(hint) or (Any, Any)
        return {_check(key_hint, k, where): _check(val_hint, v, where) for k, v in value.items()}
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise WireError(f"{where}: expected a number")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise WireError(f"{where}: expected an integer")
    if isinstance(hint, type):
        if isinstance(value, hint):
            return value
        raise WireError(f"{where}: expected {hint.__name__}, got {type(value).__name__}")
    return value
