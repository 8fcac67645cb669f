"""Scores as Pacemaker computes them: integers saturated at +/-INFINITY (1,000,000).

The arithmetic must be exactly Pacemaker's (`pcmk__add_scores`, `char2score`) because placement
ties and "can it run anywhere" tests depend on it: -INFINITY wins over +INFINITY, sums are
clamped, and a score string is read like C's strtoll (leading integer, rest ignored).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

INFINITY = 1_000_000


def leading_int(text: str) -> Optional[int]:
    r"""The integer at the start of `text` after white space, as C's strtoll reads it (any
    rest ignored), None when there is none: the regular expression `\s*([+-]?\d+)`, written
    with string methods (they test the same Unicode classes: str.isspace is `\s`,
    str.isdecimal `\d`) so that reading a score does not load `re` (core/lazyre.py)."""
    if text.isdecimal():  # the common case: digits alone
        return int(text)
    end = len(text)
    start = 0
    while start < end and text[start].isspace():
        start += 1
    digits = start + 1 if start < end and text[start] in "+-" else start
    stop = digits
    while stop < end and text[stop].isdecimal():
        stop += 1
    return int(text[start:stop]) if stop > digits else None


def add_scores(a: int, b: int) -> int:
    """a + b with -INFINITY absorbing, then +INFINITY absorbing, then clamping."""
    if a <= -INFINITY or b <= -INFINITY:
        return -INFINITY
    if a >= INFINITY or b >= INFINITY:
        return INFINITY
    total = a + b
    if total >= INFINITY:
        return INFINITY
    if total <= -INFINITY:
        return -INFINITY
    return total


def parse_score(text: Optional[str], red: int = -INFINITY, yellow: int = 0, green: int = 0) -> int:
    """char2score: INFINITY words, node-health colours, else a clamped leading integer (0 if none)."""
    if text is None:
        return 0
    if text == "-INFINITY":
        return -INFINITY
    if text in ("INFINITY", "+INFINITY"):
        return INFINITY
    low = text.lower()
    if low == "red":
        return red
    if low == "yellow":
        return yellow
    if low == "green":
        return green
    value = leading_int(text)
    if value is None:
        return 0
    return max(-INFINITY, min(INFINITY, value))


def is_score(text: Optional[str]) -> bool:
    """Whether `text` reads as a score without relying on strtoll's leniency."""
    if text is None:
        return False
    if text in ("-INFINITY", "INFINITY", "+INFINITY") or text.lower() in ("red", "yellow", "green"):
        return True
    digits = text.strip()  # `\s*[+-]?\d+\s*` as a whole
    if digits[:1] in ("+", "-"):
        digits = digits[1:]
    return digits.isdecimal()


def score_text(score: int) -> str:
    """score2char: the readable form used in score lines and graphs."""
    if score >= INFINITY:
        return "INFINITY"
    if score <= -INFINITY:
        return "-INFINITY"
    return str(score)
