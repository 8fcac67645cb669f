"""Leaf helpers every pengine module may use: CIB booleans, integers, name ordering, sorted lists.

This module imports nothing from pengine, so that the modules above it (model, unpack/status, the
phases, the variants) can all import it at the top without forming an import cycle."""

from __future__ import annotations

from itertools import groupby

from core.cib.scores import leading_int

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

TRUE_WORDS = {"true", "on", "yes", "y", "1"}

FALSE_WORDS = {"false", "off", "no", "n", "0"}


def is_true(value: Optional[str]) -> bool:
    return value is not None and value.lower() in TRUE_WORDS


def to_bool(value: Optional[str]) -> Optional[bool]:
    """crm_str_to_boolean: True/False, or None when not a boolean word."""
    if value is None:
        return None
    low = value.lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    return None


def numeric_key(text: str) -> tuple:
    """pcmk__numeric_strcasecmp ordering: digit runs compare as numbers."""
    # the runs of decimal digits and of other characters: re.split(r"(\d+)", ...)'s parts
    # but the empty ones (str.isdecimal is `\d`), without loading `re` (core/lazyre.py)
    parts = ("".join(run) for _, run in groupby(text.lower(), str.isdecimal))
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def _int_or_zero(text: Optional[str]) -> int:
    """crm_element_value_int: the leading integer of an attribute, 0 when there is none."""
    value = leading_int(text or "")
    return 0 if value is None else value


def insert_sorted(lst: list, item, cmp) -> None:
    """g_list_insert_sorted: before the first element that does not compare less (so a new
    item goes before the items it ties with: equal-priority colocations end up in reverse
    order of definition, as in Pacemaker)."""
    for i, existing in enumerate(lst):
        if cmp(item, existing) <= 0:
            lst.insert(i, item)
            return
    lst.append(item)


def _strtoll(text: str) -> Optional[int]:
    """The leading integer of text as C's strtoll reads it, None if there is none."""
    s = text.strip()
    i = 0
    if i < len(s) and s[i] in "+-":
        i += 1
    j = i
    while j < len(s) and s[j].isdigit():
        j += 1
    if j == i:
        return None
    return int(s[:j])


def _scan_min_int(text: str, minimum: int = 0) -> int:
    """pcmk__scan_min_int: an integer, at least `minimum` (also for garbage)."""
    value = _strtoll(text)
    if value is None or value < minimum:
        return minimum
    return min(value, 2**31 - 1)


def glib_list_sort(items: list, cmp: Callable[[Any, Any], int]) -> list:
    """g_list_sort (GLib 2.74 g_list_sort_real): a top-down merge sort, the first half
    n // 2 long, merging from the first half while cmp <= 0. With a transitive comparison
    any stable sort gives the same list; several of Pacemaker's comparisons are not
    transitive (balanced placement's pairwise capacity count: node A can beat B on capacity,
    B beat C on resource count and C beat A; pcmk__cmp_instance: instance 0 before 1 as the
    less multiply active, 1 before 2 as the one with a current node, 2 before 0 as allowed
    where 0's current node is not), and with those only this exact algorithm gives
    Pacemaker's order. So every g_list_sort of Pacemaker's is this, not list.sort."""
    if len(items) < 2:
        return list(items)
    half = len(items) // 2
    left, right = glib_list_sort(items[:half], cmp), glib_list_sort(items[half:], cmp)
    out, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        if cmp(left[i], right[j]) <= 0:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out
