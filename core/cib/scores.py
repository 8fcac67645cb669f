"""Scores as Pacemaker computes them: integers saturated at +/-INFINITY (1,000,000).

The arithmetic must be exactly Pacemaker's (`pcmk__add_scores`, `char2score`) because placement
ties and "can it run anywhere" tests depend on it: -INFINITY wins over +INFINITY, sums are
clamped, and a score string is read like C's strtoll (leading integer, rest ignored).
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

INFINITY = 1_000_000

_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


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
    match = _LEADING_INT.match(text)
    if match is None:
        return 0
    value = int(match.group(1))
    return max(-INFINITY, min(INFINITY, value))


def is_score(text: Optional[str]) -> bool:
    """Whether `text` reads as a score without relying on strtoll's leniency."""
    if text is None:
        return False
    if text in ("-INFINITY", "INFINITY", "+INFINITY") or text.lower() in ("red", "yellow", "green"):
        return True
    return re.fullmatch(r"\s*[+-]?\d+\s*", text) is not None


def score_text(score: int) -> str:
    """score2char: the readable form used in score lines and graphs."""
    if score >= INFINITY:
        return "INFINITY"
    if score <= -INFINITY:
        return "-INFINITY"
    return str(score)
