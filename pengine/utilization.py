"""Placement strategies utilization, minimal and balanced around assignment: the order in
which resources are assigned (pcmk__sort_resources) and the load_stopped pseudo actions that
make a start wait for the stops freeing capacity on its node
(pcmk__create_utilization_constraints). Capacity arithmetic and the capacity bans made
during assignment are in pengine/capacity.py. A port of Pacemaker 2.1.5's
lib/pacemaker/pcmk_sched_utilization.c and pcmk_sched_resource.c (cmp_resources).
"""

from __future__ import annotations

import sys

from core.cib.scores import INFINITY
from core.cib.status import op_key
from pengine import actions as act
from pengine import capacity
from pengine import model as m
from pengine.assign import W_FORWARD, W_INIT, current_node, native_merge_weights, sort_nodes
from pengine.graph import should_add_input
from pengine.model import Action, Node, Resource, WorkingSet
from pengine.values import glib_list_sort

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

LOAD_STOPPED = "load_stopped"


def show_node_capacities(ws: WorkingSet, desc: str) -> None:
    """pcmk__show_node_capacities (crm_simulate -U): each node's remaining capacity."""
    if not ws.show_utilization:
        return
    for node in ws.nodes:
        ws.score_lines.append(f"{desc}: {node.uname} capacity:"
                              f"{capacity.utilization_text(node.utilization)}")


def prepare_assignment(ws: WorkingSet) -> None:
    """allocate_resources' start: the assignment order, then the capacities it starts from."""
    sort_resources(ws)
    show_node_capacities(ws, "Original")


def sort_resources(ws: WorkingSet) -> None:
    """pcmk__sort_resources: with a placement strategy other than default, resources are
    assigned highest priority first, then those scoring higher where they run now, then
    those scoring higher on the first node (in node order) where the scores differ; the
    scores are each resource's own with its "this with" colocations applied (a group's
    from its last member: init_group_colocated_nodes without a node table)."""
    if capacity.is_default(ws):
        return
    nodes = [node for node, _ in sort_nodes(ws, [(n, n.weight) for n in ws.nodes], None,
                                            table=False)]
    scores: dict[int, dict[Node, int]] = {}

    def scores_of(rsc: Resource) -> dict[Node, int]:
        found = scores.get(id(rsc))
        if found is None:
            found = native_merge_weights(rsc, rsc.id, None, None, 1, W_INIT | W_FORWARD) or {}
            scores[id(rsc)] = found
        return found

    def weight(node: Optional[Node], table: dict[Node, int]) -> int:
        if node is None:
            return -INFINITY
        return table.get(node, -INFINITY)

    def cmp(r1: Resource, r2: Resource) -> int:
        if r1.priority != r2.priority:
            return -1 if r1.priority > r2.priority else 1
        if not nodes:
            return 0
        s1, s2 = scores_of(r1), scores_of(r2)
        w1 = weight(current_node(r1) if r1.running_on else None, s1)
        w2 = weight(current_node(r2) if r2.running_on else None, s2)
        if w1 != w2:
            return -1 if w1 > w2 else 1
        for node in nodes:
            w1, w2 = weight(node, s1), weight(node, s2)
            if w1 != w2:
                return -1 if w1 > w2 else 1
        return 0
    ws.resources[:] = glib_list_sort(ws.resources, cmp)


def _load_stopped(ws: WorkingSet, node: Node) -> Action:
    """new_load_stopped_op: the (required) pseudo action "load_stopped_<node>"."""
    action = act.pseudo_op(ws, f"{LOAD_STOPPED}_{node.uname}")
    if action.node is None:
        action.node = node
        action.flags &= ~m.A_OPTIONAL
    return action


def create_utilization_constraints(ws: WorkingSet, rsc: Resource) -> None:
    """pcmk__create_utilization_constraints, for a primitive with utilization under a
    non-default strategy: its stops come before load_stopped on their node, which comes
    before its start (or migrate_to) on any allowed node; the graph keeps an edge only where
    the nodes match and the stop is needed."""
    if not rsc.utilization or capacity.is_default(ws):
        return
    for node in rsc.running_on:
        load = _load_stopped(ws, node)
        act.new_ordering(ws, rsc, op_key(rsc.id, "stop", 0), None, None, load.uuid, load,
                         m.O_LOAD)
    for node in sorted(rsc.allowed, key=lambda n: n.sort_key):
        load = _load_stopped(ws, node)
        act.new_ordering(ws, None, load.uuid, load, rsc, op_key(rsc.id, "start", 0), None,
                         m.O_LOAD)
        act.new_ordering(ws, None, load.uuid, load, rsc, op_key(rsc.id, "migrate_to", 0),
                         None, m.O_LOAD)


def _has_loop(init: Action, action: Action, wrapper: list, tracking: set) -> bool:
    """pcmk__graph_has_loop: whether following the graph's inputs back from `wrapper`
    (an input of `action`) reaches `init`; inputs the graph would drop do not count."""
    first: Action = wrapper[0]
    if id(first) in tracking:
        return False
    if not should_add_input(action, wrapper):
        return False
    if first is init:
        return True
    tracking.add(id(first))
    try:
        # Pacemaker prepends inputs: its lists are ours reversed
        return any(_has_loop(init, first, each, tracking) for each in reversed(first.before))
    finally:
        tracking.discard(id(first))


def disable_load_loops(ws: WorkingSet) -> None:
    """pcmk__disable_invalid_orderings, the load part: when two resources migrate towards
    each other's node, "stop B on n2 -> load_stopped_n2 -> migrate_to A on n1" closes a
    loop through the other migration; such a load_stopped -> migrate_to input is dropped."""
    if capacity.is_default(ws):
        return
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20000))
    try:
        for action in reversed(ws.actions):
            if action.rsc is None or action.task != "migrate_to":
                continue
            for wrapper in reversed(action.before):
                if wrapper[1] == m.O_LOAD and _has_loop(action, action, wrapper, set()):
                    wrapper[1] = m.O_NONE
    finally:
        sys.setrecursionlimit(old)
