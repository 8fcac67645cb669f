"""The index of one `lrm_resources` element's entries that a warm policy engine daemon keeps
on the element while it is reused from one input to the next (pengine/inputcache.py), so that
unpacking the configuration and the status and checking the configuration against the history
do not read each of its entries again. Written by status unpacking, read by
`unpack.unpack_config`, `status._unpack_node_lrm` and `rscactions.handle_config_changes`.
"""

from __future__ import annotations

from core.cib.xmltree import XNode

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional, Sequence

NOT_AN_ENTRY = object()  # in an EntryIndex plan: a child that is not an lrm_resource


# the positions of entries, one int object each for every index: a daemon keeps an index per
# node, and positions above 256 are new objects per use (320,000 of them, 9 MB at 32/10000)
_POSITIONS: list[int] = []


def _positions(count: int) -> list[int]:
    """range(count) as shared int objects (a list at least that long, from 0)."""
    if len(_POSITIONS) < count:
        _POSITIONS.extend(range(len(_POSITIONS), count))
    return _POSITIONS


class EntryIndex:
    """One lrm_resources element's entries as status unpacking and the configuration check
    (rscactions.handle_config_changes) read them, kept on the element (`XNode.rec`) while its
    entry list is the same object of the same length. Why: at 32 nodes / 10,000 resources a
    node failure leaves 31 sections of 10,000 entries unchanged, nearly all probe-only, and
    reading each element again costs a cache miss each (0.2 s per pass).

    `plan`: per child, its probe-only facts, None (read the entry) or `NOT_AN_ENTRY`; `loose`:
    the positions of the entries the configuration check reads in full (those without facts,
    and a second entry of one id); `first`: a probe-only entry's position by resource id;
    `rules`/`odd`: the ids whose entries fail the check's agent rules, and those rules;
    `unfencing`: what unpack_config's scan found below; `fast_ids`/`others`: the ids of the
    probe-only entries in order and the positions of the other entries, for status
    unpacking's pass per section (None where an id of a probe-only entry occurs twice). Built once the entries' facts are
    known (after a pass of status unpacking), a few pointers per entry.
    Whoever changes an entry resets the element's `rec` (pengine/simexec.py does); an entry
    that gains its facts later is read in full, which decides the same."""

    __slots__ = ("children", "length", "plan", "loose", "first", "rules", "odd", "unfencing",
                 "fast_ids", "others")

    def __init__(self, children: Sequence[XNode], unfencing: Optional[bool] = None) -> None:
        self.children = children
        self.length = len(children)
        self.plan: list[object] = []
        self.loose: list[int] = []
        self.first: dict[str, int] = {}
        plan, loose, first = self.plan, self.loose, self.first
        for pos, entry in zip(_positions(len(children)), children):
            if entry.tag != "lrm_resource":
                plan.append(NOT_AN_ENTRY)
                continue
            facts = entry.rec
            if facts.__class__ is tuple:
                plan.append(facts)
                if first.setdefault(facts[0], pos) != pos:
                    loose.append(pos)
            else:
                plan.append(None)
                if entry.children:
                    loose.append(pos)
        # status unpacking's shortcut (status._unpack_reused): the ids of the entries with
        # facts, in order, and the positions of the other entries, when no id of the former
        # occurs twice among the entries (so applying the former first decides the same);
        # else None
        self.fast_ids: Optional[tuple[str, ...]] = None
        self.others: tuple[int, ...] = ()
        fast_ids = [facts[0] for facts in plan if facts.__class__ is tuple]
        others = tuple(pos for pos, facts in zip(_positions(len(plan)), plan) if facts is None)
        unique = set(fast_ids)
        if len(unique) == len(fast_ids) and \
                unique.isdisjoint([children[pos].get("id") for pos in others]):
            self.fast_ids = tuple(fast_ids)  # (each one's position: `first`)
            self.others = others
        self.rules: object = None  # the agent rules `odd` was derived from
        self.odd: tuple[int, ...] = ()
        # whether an nvpair below says provides/requires=unfencing (unpack.unpack_config's
        # scan of the whole document); None until that scan has walked the element once
        self.unfencing: Optional[bool] = unfencing

    def valid_for(self, rscs: XNode) -> bool:
        return self.children is rscs.children and self.length == len(rscs.children)


class UnfencingScan:
    """What unpack_config's scan for provides/requires=unfencing found below an lrm_resources
    element it walked before the element had an entry index (the first transition that reads
    it), kept on the element (`XNode.rec`) until status unpacking builds the index, which
    takes it over: so the next transition, the first to reuse the element, does not walk it
    again (31 sections of 20,000 elements at 32/10000, ~0.1 s)."""

    __slots__ = ("children", "length", "unfencing")

    def __init__(self, children: Sequence[XNode], unfencing: bool) -> None:
        self.children = children
        self.length = len(children)
        self.unfencing = unfencing

    def valid_for(self, rscs: XNode) -> bool:
        return self.children is rscs.children and self.length == len(rscs.children)


def new_index(rscs: XNode) -> EntryIndex:
    """The entry index of `rscs`, with what an UnfencingScan on it found."""
    scan = rscs.rec
    found = scan.unfencing if scan.__class__ is UnfencingScan and scan.valid_for(rscs) else None
    return EntryIndex(rscs.children, found)
