"""Heartbeat's time syntax: a bare number is seconds (fractions allowed), or a number with a
unit suffix `ms`, `s` or `us` (`keepalive 100ms`, `deadtime 0.5`, `initdead 2s`)."""

from __future__ import annotations

import re

_TIME = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|us|msec|sec)?$", re.IGNORECASE)

_UNIT_MS = {None: 1000.0, "s": 1000.0, "sec": 1000.0, "ms": 1.0, "msec": 1.0, "us": 0.001}


def parse_time_ms(text: str) -> int:
    """'100ms' -> 100, '2' -> 2000, '1.5' -> 1500; ValueError on anything else."""
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"bad time value {text!r} (want e.g. 2, 1.5, 500ms)")
    number, unit = match.group(1), match.group(2)
    unit_key = unit.lower() if unit else None
    value_ms = float(number) * _UNIT_MS[unit_key]
    return int(round(value_ms))


def format_ms(value_ms: int) -> str:
    """The shortest exact spelling: 2000 -> '2s', 1500 -> '1500ms'."""
    if value_ms % 1000 == 0:
        return f"{value_ms // 1000}s"
    return f"{value_ms}ms"
