"""Node capacity and resource utilization arithmetic for placement-strategy utilization,
minimal and balanced: what assignment itself needs (pengine/utilization.py holds the parts
that run around assignment: resource ordering and load_stopped orderings).

A node's `utilization` table starts as its configured capacity and is consumed as resources
are assigned to it (and released when they are unassigned), exactly as Pacemaker 2.1.5 keeps
node->details->utilization; a resource needing more of any attribute than a node has left is
banned from it (pcmk__ban_insufficient_capacity), counting everything that must go with it
(mandatory colocations, group members) while those are still to be placed. A port of
lib/pacemaker/pcmk_sched_utilization.c and the colocated_resources/add_utilization methods.

assign.py imports this module; functions needing assign.py's colocation_affects get it
passed in (importing assign here would close an import cycle).
"""

from __future__ import annotations

from core.cib.scores import INFINITY, leading_int
from pengine.glibhash import iteration_order
from pengine.model import CLONE, GROUP, Colocation, Node, Resource, WorkingSet
from pengine.unpack import resource_location
from pengine.values import glib_list_sort

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

    Affects = Callable[[Resource, Resource, Colocation, bool], int]

_INT_MIN = -(2 ** 31)
_INT_MAX = 2 ** 31 - 1


def utilization_value(text: Optional[str]) -> int:
    """utilization_value: pcmk__scan_min_int (the leading integer, clamped to int), 0 when
    absent or not a number."""
    if text is None:
        return 0
    value = leading_int(text)
    if value is None:
        return 0
    return max(_INT_MIN, min(_INT_MAX, value))


def is_default(ws: WorkingSet) -> bool:
    return ws.placement_strategy.lower() == "default"


def compare_node_capacities(node1: Node, node2: Node) -> int:
    """pcmk__compare_node_capacities: negative if node1 has more free capacity, positive if
    node2 has, counting one per attribute that is larger."""
    result = 0
    for key, value in node1.utilization.items():
        one = utilization_value(value)
        two = utilization_value(node2.utilization.get(key))
        result += -1 if one > two else (1 if one < two else 0)
    for key, value in node2.utilization.items():
        if key in node1.utilization:
            continue
        two = utilization_value(value)
        result += -1 if 0 > two else (1 if 0 < two else 0)
    return result


def _update(current: dict[str, str], rsc_util: dict[str, str], plus: bool) -> None:
    """update_utilization_value over every attribute the resource uses."""
    for key, value in rsc_util.items():
        have = current.get(key)
        if plus:
            result = utilization_value(have) + utilization_value(value)
        elif have is not None:
            result = utilization_value(have) - utilization_value(value)
        else:
            result = 0
        current[key] = str(result)


def consume(current: dict[str, str], rsc: Resource) -> None:
    """pcmk__consume_node_capacity."""
    _update(current, rsc.utilization, False)


def release(current: dict[str, str], rsc: Resource) -> None:
    """pcmk__release_node_capacity."""
    _update(current, rsc.utilization, True)


def utilization_text(table: dict[str, str]) -> str:
    """append_dump_text over a utilization table: " name=value" each, in GLib's order."""
    return "".join(f" {key}={table[key]}" for key in iteration_order(list(table)))


def on_assigned(ws: WorkingSet, rsc: Resource, node: Node) -> None:
    """pcmk__finalize_assignment's part: consume the node's capacity (and, with crm_simulate
    -U, say how much)."""
    consume(node.utilization, rsc)
    if ws.show_utilization:
        ws.score_lines.append(f"pcmk__finalize_assignment: {rsc.id} utilization on "
                              f"{node.uname}:{utilization_text(rsc.utilization)}")


def have_enough_capacity(node: Node, needed: dict[str, str]) -> bool:
    """have_enough_capacity: no attribute needs more than the node has left."""
    for key, value in needed.items():
        if utilization_value(value) > utilization_value(node.utilization.get(key)):
            return False
    return True


def colocated_resources(rsc: Resource, orig: Optional[Resource], found: list[Resource],
                        affects: Affects, affects_location: int) -> list[Resource]:
    """rsc->cmds->colocated_resources: rsc and what mandatory colocations tie to it."""
    if rsc.variant == GROUP:
        orig = orig or rsc
        parent_is_clone = rsc.parent is not None and rsc.parent.variant == CLONE
        if rsc.colocated_group or parent_is_clone:
            for member in rsc.children:
                found = colocated_resources(member, orig, found, affects, affects_location)
        elif rsc.children:
            found = colocated_resources(rsc.children[0], orig, found, affects,
                                        affects_location)
    return _colocated(rsc, orig, found, affects, affects_location)


def _colocated(rsc: Resource, orig: Optional[Resource], found: list[Resource],
               affects: Affects, affects_location: int) -> list[Resource]:
    """pcmk__colocated_resources."""
    orig = orig or rsc
    if rsc in found:
        return found
    found.append(rsc)
    for con in rsc.rsc_cons:
        primary = con.primary
        if primary is orig:
            continue
        if con.score == INFINITY and affects(rsc, primary, con, True) == affects_location:
            found = colocated_resources(primary, orig, found, affects, affects_location)
    for con in rsc.rsc_cons_lhs:
        dependent = con.dependent
        if dependent is orig:
            continue
        if rsc.variant == CLONE and dependent.variant != CLONE:
            continue
        if con.score == INFINITY and affects(dependent, rsc, con, True) == affects_location:
            found = colocated_resources(dependent, orig, found, affects, affects_location)
    return found


def add_utilization(rsc: Resource, orig: Resource, all_rscs: list[Resource],
                    total: dict[str, str]) -> None:
    """rsc->cmds->add_utilization: what rsc, still to be placed, will need."""
    if not rsc.provisional:
        return
    if rsc.variant == GROUP:
        parent_is_clone = rsc.parent is not None and rsc.parent.variant == CLONE
        if rsc.colocated_group or parent_is_clone:
            members = rsc.children
        else:
            members = rsc.children[:1]
        for member in members:
            if member.provisional and member not in all_rscs:
                add_utilization(member, orig, all_rscs, total)
    elif rsc.variant == CLONE:
        existing = False
        for child in rsc.children:
            if child in all_rscs:
                existing = True
                continue
            for member in child.children:
                if member in all_rscs:
                    add_utilization(child, orig, all_rscs, total)
                    existing = True
                    break
        if not existing and rsc.children:
            add_utilization(rsc.children[0], orig, all_rscs, total)
    else:
        release(total, rsc)


def ban_insufficient_capacity(ws: WorkingSet, rsc: Resource, affects: Affects,
                              affects_location: int) -> Optional[Node]:
    """pcmk__ban_insufficient_capacity: ban rsc from nodes without room for it and its
    colocated resources (or, when no node has room for all, for it alone); return the node
    with the most free capacity when no node has room for all, for assignment to prefer."""
    if is_default(ws):
        return None
    group = colocated_resources(rsc, None, [], affects, affects_location)
    if rsc not in group:
        group.append(rsc)
    total: dict[str, str] = {}
    for each in group:
        add_utilization(each, rsc, group, total)
    any_capable = False
    most_capable: Optional[Node] = None
    # the first of equally free nodes wins: walk rsc->allowed_nodes in GLib's order
    by_id = {node.id: (node, score) for node, score in rsc.allowed.items()}
    walk = [by_id[ident] for ident in iteration_order(list(by_id))]
    for node, score in walk:
        if not node.available(True, score):
            continue
        if have_enough_capacity(node, total):
            any_capable = True
        if most_capable is None or compare_node_capacities(node, most_capable) < 0:
            most_capable = node
    needed = total if any_capable else rsc.utilization
    for node, score in walk:
        if node.available(True, score) and not have_enough_capacity(node, needed):
            resource_location(ws, rsc, node, -INFINITY, "__limit_utilization__")
    return None if any_capable else most_capable


def table_values(nodes: list[tuple[Node, int]]) -> list[tuple[Node, int]]:
    """The (node, score) entries of a node table keyed by node id (rsc->allowed_nodes) in the
    order g_hash_table_get_values lists them: it walks the buckets and prepends each value, so
    the list is the table's walk order reversed. The order matters to a sort whose comparison
    is not transitive (sort_nodes_balanced)."""
    by_id = {node.id: (node, score) for node, score in nodes}
    return [by_id[ident] for ident in reversed(iteration_order(list(by_id)))]


def sort_nodes_balanced(nodes: list[tuple[Node, int]],
                        preferred: Optional[Node]) -> list[tuple[Node, int]]:
    """pcmk__sort_nodes under placement-strategy=balanced: compare_nodes with its capacity
    step, which is a pairwise count and not a sort key, hence GLib's own merge sort over the
    list in the order the caller built it (table_values for a node table)."""
    def cmp(a: tuple[Node, int], b: tuple[Node, int]) -> int:
        (node1, score1), (node2, score2) = a, b
        weight1 = score1 if node1.available() else -INFINITY
        weight2 = score2 if node2.available() else -INFINITY
        if weight1 != weight2:
            return -1 if weight1 > weight2 else 1
        result = compare_node_capacities(node1, node2)
        if result:
            return -1 if result < 0 else 1
        if node1.num_resources != node2.num_resources:
            return -1 if node1.num_resources < node2.num_resources else 1
        if preferred is not None:
            if node1 is preferred:
                return -1
            if node2 is preferred:
                return 1
        name1, name2 = node1.uname.encode(), node2.uname.encode()
        return (name1 > name2) - (name1 < name2)
    return glib_list_sort(nodes, cmp)
