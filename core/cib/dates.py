"""ISO 8601 dates and durations the way Pacemaker's crm_time reads them.

Rules (`date_expression`), failure timeouts and the simulator's `-t` all need "now" compared with
dates written in the CIB. Forms accepted: `2005-02-20`, ordinal `2005-051`, week `2005-W07-7`,
each optionally followed by `T` or a space and `HH:MM[:SS]` with `Z` or `+HH[:MM]`/`-HH[:MM]`;
durations `P1Y2M3W4DT5H6M7S`. Everything is turned into aware UTC datetimes so comparisons
are plain. No clock is read here: the caller passes "now".
"""

from __future__ import annotations

from core import datetimes as _dt
from core import lazyre as re

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

UTC = _dt.timezone.utc

# patterns as text, compiled by re (and cached there) on first use: most runs of hb simulate
# never use them, and compiling them all at import cost 0.3 ms
_DATE = r"^(\d{4})-?(?:W(\d{2})-?(\d)|(\d{3})(?!\d)|(\d{2})-?(\d{2}))"
_TIME = r"^[T ]?(\d{2}):?(\d{2})(?::?(\d{2}))?(?:[.,]\d+)?"
_ZONE = r"^\s*(Z|[+-]\d{2}(?::?\d{2})?)\s*$"


class DateError(ValueError):
    """A date or duration string Pacemaker would also reject."""


def _zone(text: str) -> _dt.tzinfo:
    match = re.match(_ZONE, text)
    if match is None:
        raise DateError(f"bad time zone {text!r}")
    zone = match.group(1)
    if zone == "Z":
        return UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return _dt.timezone(sign * _dt.timedelta(hours=hours, minutes=minutes))


def parse_date(text: str) -> _dt.datetime:
    """Parse an ISO 8601 date-time (UTC unless an offset is given)."""
    text = text.strip()
    match = re.match(_DATE, text)
    if match is None:
        raise DateError(f"bad date {text!r}")
    year = int(match.group(1))
    if match.group(2):
        day = _dt.date.fromisocalendar(year, int(match.group(2)), int(match.group(3)))
    elif match.group(4):
        day = _dt.date(year, 1, 1) + _dt.timedelta(days=int(match.group(4)) - 1)
    else:
        day = _dt.date(year, int(match.group(5)), int(match.group(6)))
    rest = text[match.end():]
    hour = minute = second = 0
    tm = re.match(_TIME, rest)
    if rest and tm is not None and (rest[0] in "T " or rest[0].isdigit()):
        hour, minute, second = int(tm.group(1)), int(tm.group(2)), int(tm.group(3) or 0)
        rest = rest[tm.end():]
    zone = _zone(rest) if rest.strip() else UTC
    extra = _dt.timedelta(0)
    if hour == 24:
        hour, extra = 0, _dt.timedelta(days=1)
    return _dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone) + extra


def from_epoch(seconds: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(seconds, tz=UTC)


def to_epoch(when: _dt.datetime) -> int:
    return int(when.timestamp())


def add_months(when: _dt.datetime, months: int) -> _dt.datetime:
    month0 = when.month - 1 + months
    year, month = when.year + month0 // 12, month0 % 12 + 1
    days_in = [31, 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28,
               31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return when.replace(year=year, month=month, day=min(when.day, days_in))


def _add_years(when: _dt.datetime, years: int) -> _dt.datetime:
    """crm_time_add's `answer->years += years`: Pacemaker keeps a date as a year and a day of
    that year, so adding years keeps the day of the year, not the day of the month
    (2000-08-13 is day 226 of a leap year; 100 years on, day 226 of 2100 is 2100-08-14), and a
    day 366 that the new year lacks becomes the 1st of January after it (crm_time_add_days)."""
    day_of_year = when.timetuple().tm_yday
    year = when.year + years
    while True:
        length = 366 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 365
        if day_of_year <= length:
            break
        day_of_year -= length
        year += 1
    first = when.replace(year=year, month=1, day=1)
    return first + _dt.timedelta(days=day_of_year - 1)


def add_duration(when: _dt.datetime, years: int = 0, months: int = 0, weeks: int = 0,
                 days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0) -> _dt.datetime:
    """crm_time_add: years by the day of the year (`_add_years`), then months by the calendar
    (the day of the month kept unless the month is shorter), then days and seconds."""
    if years:
        when = _add_years(when, years)
    if months:
        when = add_months(when, months)
    return when + _dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes,
                                seconds=seconds)


def parse_duration(text: str) -> dict[str, int]:
    """`P1Y2M3DT4H` -> {"years": 1, "months": 2, "days": 3, "hours": 4}.

    Like crm_time_parse_duration, a unit is accepted before or after `T` (`P30S` is 30 seconds);
    `M` means months before `T` and minutes after it.
    """
    body = text.strip()
    if not body.startswith("P") or len(body) < 3:
        raise DateError(f"bad duration {text!r}")
    out: dict[str, int] = {}
    in_time = False
    for match in re.finditer(r"T|(\d+)([YMWDHS])|(.)", body[1:]):
        if match.group(0) == "T":
            in_time = True
            continue
        if match.group(3) is not None:
            raise DateError(f"bad duration {text!r}")
        number, unit = int(match.group(1)), match.group(2)
        name = {"Y": "years", "W": "weeks", "D": "days", "H": "hours", "S": "seconds",
                "M": "minutes" if in_time else "months"}[unit]
        out[name] = out.get(name, 0) + number
    if not out:
        raise DateError(f"bad duration {text!r}")
    return out


def format_date(when: _dt.datetime) -> str:
    """crm_time_as_string(date|timeofday) in UTC: `2022-04-01 17:57:38Z`."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S") + "Z"


def moon_phase(when: _dt.datetime) -> int:
    """Pacemaker's phase_of_the_moon (0 new .. 4 full .. 7), from the same old algorithm."""
    epact_year = when.year
    day_of_year = when.timetuple().tm_yday - 1
    golden = (epact_year % 19) + 1
    epact = (11 * golden + 18) % 30
    if (epact == 25 and golden > 11) or epact == 24:
        epact += 1
    return (((((day_of_year + epact) * 6) + 11) % 177) // 22) & 7


def parse_range(text: str) -> Optional[tuple[int, int]]:
    """`5` -> (5, 5); `1-5` -> (1, 5); `3-` -> (3, -1); `-4` -> (-1, 4); else None."""
    text = text.strip()
    match = re.fullmatch(r"(\d*)\s*(-?)\s*(\d*)", text)
    if match is None or (not match.group(1) and not match.group(3)):
        return None
    low, dash, high = match.groups()
    if not dash:
        return int(low), int(low)
    return (int(low) if low else -1), (int(high) if high else -1)
