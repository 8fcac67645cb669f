"""Pacemaker's small text conventions, reproduced exactly so crm_mon output compares byte for byte:
ctime()-style dates, "1m30s"-style intervals, strtoll()-style integers, the names of OCF exit
codes / execution statuses / exit statuses, and the quoting of a command line in `request=`.

These are facts about Pacemaker 2.1.5's output, kept apart from the rendering code so each is
written (and tested) once.
"""

from __future__ import annotations

import time
from typing import Optional

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)


def ctime(epoch: float) -> str:
    """ctime() without its newline, in local time: "Fri Jul 13 13:51:04 2012" (English names
    whatever the locale, as Pacemaker runs with LC_ALL unset)."""
    try:
        t = time.localtime(epoch)
    except (OverflowError, OSError, ValueError):
        return "???"
    return (f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {t.tm_year}")


def iso_with_zone(epoch: int) -> str:
    """crm_time_as_string(date | time of day | with timezone): "2012-07-13 11:51:10Z" in UTC,
    "2012-07-13 13:51:10 +02:00" elsewhere."""
    try:
        t = time.localtime(epoch)
    except (OverflowError, OSError, ValueError):
        return "<undefined time>"
    text = (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}")
    offset = t.tm_gmtoff or 0
    if offset == 0:
        return text + "Z"
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    return f"{text} {sign}{offset // 3600:02d}:{offset % 3600 // 60:02d}"


def readable_interval(ms: int) -> str:
    """pcmk__readable_interval: 90000 -> "1m30s", 1500 -> "1.500s", 1000 -> "1000ms"."""
    day, hour, minute, second = 86_400_000, 3_600_000, 60_000, 1000
    out = ""
    if ms > day:
        out += f"{ms // day}d"
        ms -= ms // day * day
    if ms > hour:
        out += f"{ms // hour}h"
        ms -= ms // hour * hour
    if ms > minute:
        out += f"{ms // minute}m"
        ms -= ms // minute * minute
    if ms > second:
        out += f"{ms // second}"
        ms -= ms // second * second
        if ms > 0:
            out += f".{ms:03d}"
        out += "s"
    elif ms > 0:
        out += f"{ms}ms"
    elif not out:
        out = "0s"
    return out


def strtoll(text: Optional[str]) -> Optional[int]:
    """The integer C's strtoll() reads at the start of text (None when there are no digits),
    clipped to the range of long long as strtoll clips it."""
    if text is None:
        return None
    i, n = 0, len(text)
    while i < n and text[i] in " \t\n\v\f\r":
        i += 1
    start = i
    if i < n and text[i] in "+-":
        i += 1
    digits = i
    while i < n and "0" <= text[i] <= "9":
        i += 1
    if i == digits:
        return None
    return max(LLONG_MIN, min(LLONG_MAX, int(text[start:i])))


def scan_ll(text: Optional[str]) -> Optional[int]:
    """pcmk__scan_ll's success case: the integer, or None (missing or no digits)."""
    return strtoll(text)


def scan_min_int(text: Optional[str], minimum: int) -> int:
    """pcmk__scan_min_int: an int, `minimum` for garbage or anything below it."""
    value = strtoll(text)
    if value is None or value < minimum:
        return minimum
    return min(value, INT_MAX)


def element_int(text: Optional[str]) -> Optional[int]:
    """crm_element_value_int's success case: None when missing, unparsable or not an int."""
    value = strtoll(text)
    if value is None or value < INT_MIN or value > INT_MAX:
        return None
    return value


def element_ms(text: Optional[str]) -> int:
    """crm_element_value_ms: a guint, 0 when missing or out of range."""
    value = strtoll(text)
    if value is None or value < 0 or value > 2**32 - 1:
        return 0
    return value


_OCF_EXIT = {
    0: "ok", 1: "error", 2: "invalid parameter", 3: "unimplemented feature",
    4: "insufficient privileges", 5: "not installed", 6: "not configured", 7: "not running",
    8: "promoted", 9: "promoted (failed)", 190: "OCF_DEGRADED", 191: "promoted (degraded)",
}  # the deprecated 194-199 have names only when Pacemaker is built with deprecated APIs;
#    Debian's 2.1.5 is not, so they are "unknown" like every other code


def ocf_exit_text(rc: int) -> str:
    """services_ocf_exitcode_str."""
    return _OCF_EXIT.get(rc, "unknown")


_EXEC_STATUS = {
    -1: "pending", 0: "complete", 1: "Cancelled", 2: "Timed Out", 3: "NOT SUPPORTED",
    4: "Error", 5: "Hard error", 6: "Fatal error", 7: "Not installed",
    8: "Internal communication failure", 9: "Cannot execute now", 10: "No fence device",
    11: "CIB secrets unavailable",
}


def exec_status_text(status: int) -> str:
    """pcmk_exec_status_str."""
    return _EXEC_STATUS.get(status, "UNKNOWN!")


# crm_exit_t values crm_mon can end with, and crm_exit_str's words for them
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 64
EXIT_NOINPUT = 66
EXIT_UNAVAILABLE = 69
EXIT_DATAERR = 65
EXIT_CONFIG = 78
EXIT_DISCONNECT = 102
_EXIT_TEXT = {EXIT_OK: "OK", EXIT_ERROR: "Error occurred", EXIT_USAGE: "Incorrect usage",
              EXIT_DATAERR: "Invalid data given", EXIT_NOINPUT: "Input file not available",
              EXIT_UNAVAILABLE: "Necessary service unavailable",
              EXIT_CONFIG: "Invalid configuration", EXIT_DISCONNECT: "Not connected"}


def exit_text(code: int) -> str:
    """crm_exit_str for the codes crm_mon uses."""
    return _EXIT_TEXT.get(code, "Unknown exit status")


def xml_escape_c(text: str) -> str:
    """crm_xml_escape, quirks included: Pacemaker escapes an exit reason itself before the XML
    writer escapes it again (so "<" reaches the output as "&amp;lt;"), and its loop stops at
    the first multi-byte UTF-8 character, leaving the rest as it is."""
    data = text.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte & 0x80 and i + 1 < len(data) and data[i + 1] & 0x80:
            out += data[i:]
            break
        if byte == 0x3C:
            out += b"&lt;"
        elif byte == 0x3E:
            out += b"&gt;"
        elif byte == 0x22:
            out += b"&quot;"
        elif byte == 0x27:
            out += b"&apos;"
        elif byte == 0x26:
            out += b"&amp;"
        elif byte == 0x09:
            out += b"    "
        elif byte == 0x0A:
            out += b"\\n"
        elif byte == 0x0D:
            out += b"\\r"
        elif byte < 0x20 or byte > 0x7E:
            signed = byte - 256 if byte > 0x7F else byte
            out += ("\\%.3o" % (signed & 0xFFFFFFFF)).encode()
        else:
            out.append(byte)
        i += 1
    return out.decode("utf-8", "surrogateescape")


def quote_cmdline(argv: list[str]) -> str:
    """pcmk__quote_cmdline: the command line as crm_mon echoes it in `request=`."""
    words = []
    for arg in argv:
        if " " not in arg:
            words.append(arg)
        elif "'" not in arg:
            words.append(f"'{arg}'")
        else:
            words.append("'" + arg.replace("'", "\\'") + "'")
    return " ".join(words)


def c_pad(text: str, width: int) -> str:
    """printf's "%-Ns": pads to a width counted in bytes, not characters."""
    length = len(text.encode("utf-8", "surrogateescape"))
    return text + " " * max(0, width - length)
