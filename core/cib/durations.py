"""Time values in the CIB (`interval`, `timeout`, `failure-timeout`, ...) read like Pacemaker.

`crm_get_msec`: a number (may have a fraction) then an optional unit: ms/msec, us/usec, s/sec,
m/min, h/hr; no unit means seconds. An `interval` may also be an ISO 8601 duration (`PT10S`).
Unparsable values give None so the caller can report them (Pacemaker would log and use 0).
"""

from __future__ import annotations

from core.ctools import lru_cache

from core.cib import dates

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

_NUMBER_CHARS = frozenset("0123456789.")


def _number_and_units(text: str) -> Optional[tuple[str, str]]:
    r"""(number, rest) of `\s*([0-9.]+)\s*(.*)$` (re.S), None when no number starts the text;
    string methods, so that reading "10s" does not load `re` (core/lazyre.py)."""
    end = len(text)
    start = 0
    while start < end and text[start].isspace():
        start += 1
    stop = start
    while stop < end and text[stop] in _NUMBER_CHARS:
        stop += 1
    if stop == start:
        return None
    rest = stop
    while rest < end and text[rest].isspace():
        rest += 1
    return text[start:stop], text[rest:]


# Pure functions of a few distinct strings (every resource's "20s", "10s", "0"...), called per
# action and per history entry: remembering the answers saves the parsing.
@lru_cache(maxsize=4096)
def msec(text: Optional[str]) -> Optional[int]:
    """crm_get_msec; None for no number or an unknown unit."""
    if text is None:
        return None
    found = _number_and_units(text)
    if found is None:
        return None
    number, units = found[0], found[1].lower()
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


G_MAXUINT = 4294967295


def _year_days(year: int) -> int:
    leap = year % 4 == 0 and not (year % 100 == 0 and year % 400 != 0)
    return 366 if leap else 365


def interval_duration_seconds(text: str) -> Optional[int]:
    """An ISO 8601 duration as crm_parse_interval_spec counts it: crm_time_get_seconds reads
    the duration as if it were a date, so years count the days of years 1 .. years-1 (P1Y is
    0), a month is 30 days, and days count from 1 (P1D is 0, P2D one day, P1W six); hours,
    minutes and seconds as written. None when it is not a duration."""
    try:
        parts = dates.parse_duration(text)
    except dates.DateError:
        return None
    days = parts.get("days", 0) + 7 * parts.get("weeks", 0)
    seconds = sum(_year_days(year) for year in range(1, parts.get("years", 0))) * 86400
    seconds += parts.get("months", 0) * 30 * 86400
    if days > 0:
        seconds += (days - 1) * 86400
    return seconds + parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60 \
        + parts.get("seconds", 0)


@lru_cache(maxsize=4096)
def interval_ms(text: Optional[str]) -> int:
    """crm_parse_interval_spec: 0 for missing or invalid, at most G_MAXUINT (a guint)."""
    value = parse_interval_spec(text)
    return 0 if value is None else value


def parse_interval_spec(text: Optional[str]) -> Optional[int]:
    """crm_parse_interval_spec with its errno: None for a value that is not an interval (the
    caller that tests errno, like an op_expression, fails), 0 for a missing one."""
    if text is None:
        return 0
    if text.startswith("P"):
        seconds = interval_duration_seconds(text)
        value = None if seconds is None else seconds * 1000
    else:
        value = msec(text)
    return None if value is None or value < 0 else min(value, G_MAXUINT)
