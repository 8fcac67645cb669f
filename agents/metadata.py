"""Describing an OCF agent as data: its parameters and actions, the meta-data XML made from
them (valid against ra-api-1.dtd, which is what ocf-tester checks), and parameter parsing
with defaults and type checks. Pure: no environment reading here.

Agents import this module on every run, so it stays cheap to import: plain classes, no
typing, dataclasses or re (each costs milliseconds of interpreter start-up).
"""

from __future__ import annotations

OCF_TYPES = ("string", "integer", "boolean", "time")
_TRUE = ("1", "yes", "true", "on", "y")
_FALSE = ("0", "no", "false", "off", "n")


class _Value:
    __slots__: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, k) for k in self.__slots__))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Param(_Value):
    __slots__ = ("name", "shortdesc", "longdesc", "type", "default", "required", "unique")

    def __init__(self, name: str, shortdesc: str, longdesc: str = "", type: str = "string",
                 default: str | None = None, required: bool = False, unique: bool = False) -> None:
        self.name = name
        self.shortdesc = shortdesc
        self.longdesc = longdesc
        self.type = type
        self.default = default
        self.required = required
        self.unique = unique


class Action(_Value):
    __slots__ = ("name", "timeout_s", "interval_s", "depth")

    def __init__(self, name: str, timeout_s: int = 20, interval_s: int | None = None,
                 depth: int | None = None) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self.interval_s = interval_s
        self.depth = depth


class AgentSpec(_Value):
    __slots__ = ("name", "shortdesc", "longdesc", "params", "actions", "version")

    def __init__(self, name: str, shortdesc: str, longdesc: str, params: tuple = (),
                 actions: tuple = (), version: str = "1.0") -> None:
        self.name = name
        self.shortdesc = shortdesc
        self.longdesc = longdesc
        self.params: tuple[Param, ...] = tuple(params)
        self.actions: tuple[Action, ...] = tuple(actions)
        self.version = version

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


def _esc(text: str) -> str:  # XML attribute/text escaping
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def metadata_xml(spec: AgentSpec) -> str:
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">',
             f'<resource-agent name="{_esc(spec.name)}" version="{_esc(spec.version)}">',
             "<version>1.0</version>",
             f'<longdesc lang="en">\n{_esc(spec.longdesc.strip())}\n</longdesc>',
             f'<shortdesc lang="en">{_esc(spec.shortdesc)}</shortdesc>', "", "<parameters>"]
    for p in spec.params:
        assert p.type in OCF_TYPES, p
        default = f' default="{_esc(p.default)}"' if p.default is not None else ""
        lines += [f'<parameter name="{_esc(p.name)}" unique="{int(p.unique)}" required="{int(p.required)}">',
                  f'<longdesc lang="en">\n{_esc((p.longdesc or p.shortdesc).strip())}\n</longdesc>',
                  f'<shortdesc lang="en">{_esc(p.shortdesc)}</shortdesc>',
                  f'<content type="{p.type}"{default} />', "</parameter>"]
    lines += ["</parameters>", "", "<actions>"]
    for a in spec.actions:
        extra = ""
        if a.interval_s is not None:
            extra += f' interval="{a.interval_s}s"'
        if a.depth is not None:
            extra += f' depth="{a.depth}"'
        lines.append(f'<action name="{a.name}" timeout="{a.timeout_s}s"{extra} />')
    lines += ["</actions>", "</resource-agent>", ""]
    return "\n".join(lines)


class ParamError(ValueError):
    """A parameter value is malformed (the agent answers OCF_ERR_CONFIGURED)."""


def parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ParamError(f"not a boolean: {text!r}")


_TIME_UNITS = {"": 1000, "ms": 1, "msec": 1, "s": 1000, "sec": 1000, "m": 60_000, "min": 60_000,
               "h": 3_600_000, "hr": 3_600_000}


def _is_digits(text: str) -> bool:
    return bool(text) and all("0" <= c <= "9" for c in text)


def parse_int(text: str) -> int:
    body = text.strip()
    digits = body[1:] if body[:1] == "-" else body
    if not _is_digits(digits):
        raise ParamError(f"not an integer: {text!r}")
    return int(body)


def parse_time_ms(text: str) -> int:
    """OCF time values: `10`, `10s`, `500ms`, `2min`, `1h` (plain numbers are seconds)."""
    body = text.strip()
    cut = len(body)
    while cut > 0 and not ("0" <= body[cut - 1] <= "9"):
        cut -= 1
    number, unit = body[:cut].strip(), body[cut:].strip()
    if not _is_digits(number) or unit not in _TIME_UNITS:
        raise ParamError(f"not a time: {text!r}")
    return int(number) * _TIME_UNITS[unit]


def resolve_params(spec: AgentSpec, given: dict[str, str]) -> dict[str, str]:
    """Given values with the spec's defaults filled in, each checked against its type.
    Unknown names are kept (agents ignore them); raises ParamError on a malformed value and
    on a missing required parameter."""
    values = dict(given)
    for p in spec.params:
        if p.name not in values or values[p.name] == "":
            if p.required and p.name not in values:
                raise ParamError(f"required parameter {p.name} is missing")
            if p.default is not None:
                values[p.name] = p.default
            elif p.name in values and p.required:
                raise ParamError(f"required parameter {p.name} is empty")
            else:
                continue
        value = values[p.name]
        if p.type == "integer":
            try:
                parse_int(value)
            except ParamError:
                raise ParamError(f"{p.name}: not an integer: {value!r}") from None
        elif p.type == "boolean":
            parse_bool(value)
        elif p.type == "time":
            parse_time_ms(value)
    return values
