"""Probes: one-shot monitors (interval 0) that find out whether a resource runs on a node
whose state for it is unknown, ordered before anything that starts the resource.
"""

from __future__ import annotations

from core.cib.status import op_key
from core.ocfcodes import OCF_NOT_RUNNING, OCF_RUNNING_PROMOTED
from pengine import actions as act
from pengine import model as m
from pengine.model import A_OPTIONAL, A_PSEUDO, A_RUNNABLE, Action, Node, Resource, WorkingSet
from pengine.values import is_true
from pengine.assign import find_compatible_child

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


def probe_resource_list(ws: WorkingSet, rscs: list[Resource], node: Node) -> bool:
    created = False
    for rsc in rscs:
        if not rsc.children and node in rsc.known_on:
            continue  # probe_rsc_on_node's usual answer (False), without a call per resource
        if probe_rsc_on_node(ws, rsc, node):
            created = True
    return created


def probe_rsc_on_node(ws: WorkingSet, rsc: Resource, node: Node) -> bool:
    if not ws.startup_probes:
        return False
    if not rsc.children and node in rsc.known_on:
        return False  # the usual case, answered before anything else
    return rsc.methods.create_probe(ws, rsc, node)


def group_create_probe(ws: WorkingSet, rsc: Resource, node: Node) -> bool:
    return probe_resource_list(ws, rsc.children, node)


def primitive_create_probe(ws: WorkingSet, rsc: Resource, node: Node) -> bool:
    if rsc.container is not None and not rsc.is_remote_node:
        return False
    if rsc.orphan:
        return False
    if node in rsc.known_on:
        return False
    top = rsc.top
    allowed_mode = rsc.discover_mode.get(node) if node in rsc.allowed else None
    if rsc.exclusive_discover or top.exclusive_discover:
        if node not in rsc.allowed:
            return False
        if allowed_mode != m.DISCOVER_EXCLUSIVE:
            return False
    if node not in rsc.allowed:
        mode = m.DISCOVER_ALWAYS
    else:
        mode = allowed_mode if allowed_mode is not None else m.DISCOVER_ALWAYS
    if mode == m.DISCOVER_NEVER:
        return False
    probe = act.custom_action(ws, rsc, op_key(rsc.id, "monitor", 0), "monitor", node,
                              False, True)
    probe.flags &= ~A_OPTIONAL
    act.order_vs_unfence(ws, rsc, node, probe, m.O_OPTIONAL)
    if node not in rsc.running_on:
        act.add_expected_result(probe, OCF_NOT_RUNNING)
    elif rsc.role == m.ROLE_PROMOTED:
        act.add_expected_result(probe, OCF_RUNNING_PROMOTED)
    # pcmk__probe_rsc_on_node: the probe orders the clone's start, or the resource's own when
    # it is not cloned or is a fence device while unfencing is in use
    if (rsc.fence_device and ws.enable_unfencing) or top.variant != m.CLONE:
        top = rsc
    flags = m.O_OPTIONAL
    # An unrunnable probe keeps the start from happening unless the resource itself (the
    # instance, as Pacemaker 2.1.5 reads rsc->running_on, not the whole clone) is active:
    # an instance known only by a leftover pending monitor blocks its clone's start
    if not (probe.flags & A_RUNNABLE) and not rsc.running_on:
        flags |= m.O_RUNNABLE_LEFT
    act.new_ordering(ws, rsc, None, probe, top, op_key(top.id, "start", 0), None, flags)
    act.new_ordering(ws, rsc, None, probe, top, op_key(rsc.id, "reload-agent", 0), None,
                     m.O_OPTIONAL)
    return True


def schedule_probes(ws: WorkingSet) -> None:
    """pcmk__schedule_probes: each online node's probes, node by node, resources in order.
    The resources are walked on each node (31 x 10,800 at 32 nodes / 10,000 resources), so
    the walk leaves out those that can have no probe on any node probed: a primitive known
    on all of them, and a group made only of such (`_may_probe`; both answer "no probe" on
    each node without another effect). Probes do not change what is known, so the list
    holds for every node."""
    probing = [node for node in ws.nodes
               if node.online and not node.unclean and node.rsc_discovery_enabled]
    targets = frozenset(node for node in probing if not _probe_again(node))
    rscs = [rsc for rsc in ws.resources if _may_probe(rsc, targets)] if targets else []
    for node in probing:
        if _probe_again(node):
            probe = act.custom_action(ws, None, f"probe_again-{node.uname}", "probe_again", node,
                                      False, True)
            probe.meta["op_no_wait"] = "true"
            continue
        probe_resource_list(ws, rscs, node)


def _probe_again(node: Node) -> bool:
    """The node's probe_complete attribute is set and false: it is probed again as a whole."""
    probed = node.attrs.get("probe_complete")
    return probed is not None and not is_true(probed)


def _may_probe(rsc: Resource, nodes: frozenset) -> bool:
    """Whether probe_rsc_on_node might create a probe of rsc on one of nodes (True unless it
    is certain not to on each: a primitive known on all of them; a group, whose method only
    asks its members, of such members)."""
    if not rsc.children:
        return not rsc.known_on.keys() >= nodes
    if rsc.methods.create_probe is group_create_probe:
        return any(_may_probe(child, nodes) for child in rsc.children)
    return True


def _probe_needed_before(probe: Action, then: Action) -> bool:
    if then.task == "stonith" and probe.node is then.node and \
            (then.meta.get("stonith_action") or "").lower() == "on":
        return False
    if then.task == "do_shutdown" and probe.node is not None and then.node is not None and \
            probe.node is not then.node:
        return False
    return True


def order_probes(ws: WorkingSet) -> None:
    """pcmk__order_probes: probes before restarts, then probes before what stops follow."""
    for rsc in ws.resources:
        _add_restart_orderings_for_rsc(ws, rsc)
    _add_probe_orderings_for_stops(ws)


def _add_restart_orderings_for_rsc(ws: WorkingSet, rsc: Resource) -> None:
    """add_restart_orderings_for_rsc: for each probe of each primitive, every action it is
    ordered before gets the probe's restart orderings."""
    if rsc.variant != m.PRIMITIVE:
        for child in rsc.children:
            _add_restart_orderings_for_rsc(ws, child)
        return
    # what a walk finds depends on the probe's resource and where it starts, not on the probe:
    # the probes of one resource on every node (all before its one start) share their walks
    walks: dict[int, list[Action]] = {}
    for probe in act.resource_actions(rsc, None, "monitor", False):
        if probe.task != "monitor":
            continue
        for wrapper in list(reversed(probe.after)):  # Pacemaker's list is newest first
            then_actions = walks.get(id(wrapper[0]))
            if then_actions is None:
                then_actions = walks[id(wrapper[0])] = _restart_actions_after(rsc, wrapper[0])
            for then in then_actions:
                act.order_actions(probe, then, m.O_OPTIONAL)


def _restart_actions_after(rsc: Resource, first_after: Action) -> list[Action]:
    """add_restart_orderings_for_probe: a "probe then start/promote" ordering also orders the
    probe before the other primitive's stop/demote (the start may be half of a restart), and
    the same again for everything ordered after it by an implies-then ordering, or by the
    ordering between a group's or (non-interleaved, else the compatible instance's) clone's
    action and its members' ones.

    Pacemaker recurses and marks visited actions `tracking`, clearing the mark on every action
    after each starting action; this is the same pre-order walk with an explicit stack and a
    set of visited actions per starting action (no rescans of the whole action list). It
    returns the stops and demotes a probe of primitive rsc is to be ordered before, in the
    order Pacemaker orders them (the walk never reaches the probe, so ordering the probe
    afterwards changes nothing it saw)."""
    found: list[Action] = []
    visited: set[int] = set()
    stack: list[Action] = [first_after]
    while stack:
        after = stack.pop()
        if id(after) in visited:
            continue
        visited.add(id(after))
        after_rsc = after.rsc
        if after_rsc is not None and after_rsc.variant == m.PRIMITIVE and rsc is not after_rsc:
            then_actions: list[Action] = []
            if after.task == "start":
                then_actions = act.resource_actions(after_rsc, None, "stop", False)
            elif after.task == "promote":
                then_actions = act.resource_actions(after_rsc, None, "demote", False)
            for then in then_actions:
                if not (then.flags & A_PSEUDO):  # e.g. a stop implied by fencing
                    found.append(then)
        if not after.after:
            continue
        interleave = False
        compatible: Optional[Resource] = None
        if after_rsc is not None and after_rsc.variant > m.GROUP:
            interleave = is_true(after_rsc.meta.get("interleave"))
            if interleave:
                compatible = find_compatible_child(rsc, after_rsc, m.ROLE_UNKNOWN, False)
        following: list[Action] = []
        for wrapper in reversed(after.after):  # Pacemaker's list is newest first
            next_action: Action = wrapper[0]
            if not (wrapper[1] & m.O_IMPLIES_THEN):
                next_rsc = next_action.rsc
                if after_rsc is None or after_rsc.variant < m.GROUP or rsc.parent is after_rsc \
                        or next_rsc is None or next_rsc.variant > m.GROUP \
                        or next_rsc.parent is not after_rsc:
                    continue
                if after_rsc.variant > m.GROUP and interleave and \
                        (compatible is None or compatible is not next_rsc):
                    continue
            if id(next_action) not in visited:
                following.append(next_action)
        stack.extend(reversed(following))  # the first one is walked first, as recursion does
    return found


def _add_probe_orderings_for_stops(ws: WorkingSet) -> None:
    """add_probe_orderings_for_stops: 'stop X then Y' also means 'probe X then Y'."""
    for order in ws.orderings:
        if order.flags == m.O_NONE:
            continue
        if order.first_rsc is None or order.first_rsc is order.then_rsc:
            continue
        first, then = order.first_action, order.then_action
        if (first is None and order.first_task is None) or (
                then is None and order.then_task is None):
            continue
        if first is not None and first.task != "stop":
            continue
        if first is None and not (order.first_task or "").endswith("_stop_0"):
            continue
        # not for a resource inside a stopping container: the probe could come after the
        # container started again, a transition loop
        if order.then_rsc is not None and order.first_rsc.container is order.then_rsc:
            if then is not None and then.task == "stop":
                continue
            if then is None and (order.then_task or "").endswith("_stop_0"):
                continue
        flags = m.O_OPTIONAL
        if order.flags & m.O_APPLY_FIRST_NON_MIGRATABLE:
            flags |= m.O_APPLY_FIRST_NON_MIGRATABLE
        if order.flags & m.O_SAME_NODE:
            flags |= m.O_SAME_NODE
        if order.flags in (m.O_ANTI_COLOCATION, m.O_LOAD):
            flags = order.flags
        probes = act.resource_actions(order.first_rsc, None, "monitor", False)
        if not probes:
            continue
        if then is not None:
            then_actions = [then]
        elif order.then_rsc is not None:
            find = act.find_actions_casei if ws.odd_case_actions else act.find_actions
            then_actions = find(order.then_rsc.actions, order.then_task or "", None)
            if not then_actions:
                continue
        else:
            continue
        for probe in probes:
            for each in then_actions:
                if _probe_needed_before(probe, each):
                    act.order_actions(probe, each, flags)
