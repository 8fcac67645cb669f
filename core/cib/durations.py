"""Time values in the CIB (`interval`, `timeout`, `failure-timeout`, ...) read like Pacemaker.

`crm_get_msec`: a number (may have a fraction) then an optional unit: ms/msec, us/usec, s/sec,
m/min, h/hr; no unit means seconds. An `interval` may also be an ISO 8601 duration (`PT10S`).
Unparsable values give None so the caller can report them (Pacemaker would log and use 0).
"""

from __future__ import annotations

import functools
import re

from core.cib import dates

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

_NUM = re.compile(r"\s*([0-9.]+)\s*(.*)$", re.S)


# Pure functions of a few distinct strings (every resource's "20s", "10s", "0"...), called per
# action and per history entry: remembering the answers saves the parsing.
@functools.lru_cache(maxsize=4096)
def msec(text: Optional[str]) -> Optional[int]:
    """crm_get_msec; None for no number or an unknown unit."""
    if text is None:
        return None
    match = _NUM.match(text)
    if match is None:
        return None
    number, units = match.group(1), match.group(2).lower()
    if units.startswith("ms") or units.startswith("msec"):
        mult, div = 1, 1
    elif units.startswith("us") or units.startswith("usec"):
        mult, div = 1, 1000
    elif units.startswith("s"):
        mult, div = 1000, 1
    elif units.startswith("m"):
        mult, div = 60_000, 1
    elif units.startswith("h"):
        mult, div = 3_600_000, 1
    elif units and units[0] not in "\n\r":
        return None
    else:
        mult, div = 1000, 1
    try:
        if "." in number:
            return int(float(number) * mult / div)
        return int(number) * mult // div
    except ValueError:
        return None


def duration_seconds(text: str) -> Optional[int]:
    try:
        parts = dates.parse_duration(text)
    except dates.DateError:
        return None
    return (parts.get("years", 0) * 365 * 86400 + parts.get("months", 0) * 30 * 86400
            + parts.get("weeks", 0) * 7 * 86400 + parts.get("days", 0) * 86400
            + parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60
            + parts.get("seconds", 0))


@functools.lru_cache(maxsize=4096)
def interval_ms(text: Optional[str]) -> int:
    """crm_parse_interval_spec: 0 for missing or invalid."""
    if text is None:
        return 0
    if text.startswith("P"):
        seconds = duration_seconds(text)
        return 0 if seconds is None else seconds * 1000
    value = msec(text)
    return 0 if value is None or value < 0 else value
