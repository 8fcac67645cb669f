"""GLib's g_list_sort as pengine/capacity.py ports it (balanced placement sorts with it).

Why: placement-strategy=balanced compares nodes by a pairwise capacity count, which is not
transitive, so the order Pacemaker gets depends on GLib's exact merge sort and on the order
of the list it is given (g_hash_table_get_values). These pin the algorithm down by a hand
trace of g_list_sort_real and show that an ordinary stable sort differs.
"""

from __future__ import annotations

from core.ctools import cmp_to_key
from pengine.values import glib_list_sort

# A beats B, C beats D, C beats A, A beats D, D beats B, B beats C: a cycle C < A < B < C
_BEFORE = {("A", "B"), ("C", "D"), ("C", "A"), ("A", "D"), ("D", "B"), ("B", "C")}


def _cmp(x: str, y: str) -> int:
    if x == y:
        return 0
    return -1 if (x, y) in _BEFORE else 1


def test_merge_sort_follows_glib_on_a_cycle():
    # g_list_sort_real: halves [A, B] and [C, D] (the first n // 2 long), each already in
    # order; merging takes C (A vs C: C first), A (A vs D), D (B vs D: D first), then B
    assert glib_list_sort(["A", "B", "C", "D"], _cmp) == ["C", "A", "D", "B"]
    assert sorted(["A", "B", "C", "D"], key=cmp_to_key(_cmp)) != ["C", "A", "D", "B"]


def test_merge_sort_is_a_stable_sort_for_a_transitive_comparison():
    items = [(3, "a"), (1, "b"), (3, "c"), (2, "d"), (1, "e"), (0, "f"), (2, "g")]

    def by_number(x: tuple[int, str], y: tuple[int, str]) -> int:
        return (x[0] > y[0]) - (x[0] < y[0])
    assert glib_list_sort(items, by_number) == sorted(items, key=lambda item: item[0])
    assert glib_list_sort([], by_number) == []
