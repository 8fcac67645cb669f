"""The local IPC codec: every frame between our daemons is msgpack of
`[SIGNATURE, tag, {field: value}]`.

Messages are frozen dataclasses declared with `@message("tag")` in `core.messages.*`, the one
place where the daemons' vocabulary lives. Decoding checks the signature (so a stray writer on a
socket is dropped, as zguide's protocol assertions suggest), looks the tag up, and validates each
field against the dataclass annotations; anything wrong raises `WireError`, which shells count and
log. Unknown extra fields are ignored so that a newer sender can add optional fields.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Callable, TypeVar, Union

import msgpack

from core.errors import WireError

SIGNATURE = "PHB1"

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


def decode(data: bytes) -> Any:
    """bytes -> message object; raises WireError for anything that is not a valid frame."""
    try:
        frame = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=False)
    except Exception as exc:  # msgpack raises several types for garbage
        raise WireError(f"not msgpack: {exc.__class__.__name__}") from None
    if not isinstance(frame, list) or len(frame) != 3 or frame[0] != SIGNATURE:
        raise WireError("bad frame signature")
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
