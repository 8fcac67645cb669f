"""Probes: one-shot monitors (interval 0) that find out whether a resource runs on a node
whose state for it is unknown, ordered before anything that starts the resource.
"""

from __future__ import annotations

from core.cib.status import op_key
from pengine import actions as act
from pengine import model as m
from pengine.model import A_OPTIONAL, A_RUNNABLE, Action, Node, Resource, WorkingSet
from pengine.unpack import is_true


def probe_resource_list(ws: WorkingSet, rscs: list[Resource], node: Node) -> bool:
    created = False
    for rsc in rscs:
        if probe_rsc_on_node(ws, rsc, node):
            created = True
    return created


def probe_rsc_on_node(ws: WorkingSet, rsc: Resource, node: Node) -> bool:
    if not ws.startup_probes:
        return False
    if not rsc.children and node in rsc.known_on:
        return False  # the usual case, answered before anything else
    if rsc.variant == m.CLONE:
        from pengine.clone import clone_create_probe
        return clone_create_probe(ws, rsc, node)
    if rsc.children:
        return probe_resource_list(ws, rsc.children, node)
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
        act.add_expected_result(probe, m.OCF_NOT_RUNNING)
    elif rsc.role == m.ROLE_PROMOTED:
        act.add_expected_result(probe, m.OCF_RUNNING_PROMOTED)
    if not (top.variant == m.CLONE):
        top = rsc
    flags = m.O_OPTIONAL
    if not (probe.flags & A_RUNNABLE) and not top.running_on:
        flags |= m.O_RUNNABLE_LEFT
    act.new_ordering(ws, rsc, None, probe, top, op_key(top.id, "start", 0), None, flags)
    act.new_ordering(ws, rsc, None, probe, top, op_key(rsc.id, "reload-agent", 0), None,
                     m.O_OPTIONAL)
    return True


def schedule_probes(ws: WorkingSet) -> None:
    for node in ws.nodes:
        if not node.online or node.unclean or not node.rsc_discovery_enabled:
            continue
        probed = node.attrs.get("probe_complete")
        if probed is not None and not is_true(probed):
            probe = act.custom_action(ws, None, f"reprobe-{node.uname}", "reprobe", node,
                                      False, True)
            probe.meta["op_no_wait"] = "true"
            continue
        probe_resource_list(ws, ws.resources, node)


def _probe_needed_before(probe: Action, then: Action) -> bool:
    if then.task == "stonith" and probe.node is then.node and \
            (then.meta.get("stonith_action") or "").lower() == "on":
        return False
    if then.task == "do_shutdown" and probe.node is not None and then.node is not None and \
            probe.node is not then.node:
        return False
    return True


_RESTART_PARTNER = {"start": "stop", "promote": "demote"}


def _restart_targets(probe: Action, first_after: Action, find_compatible_child) -> list[Action]:
    """add_restart_orderings_for_probe: "probe X then start Y" also means "probe X then stop
    Y" (the start may be half of a restart of Y), and so on for everything ordered after Y's
    start by an implies-then ordering, and from a group or clone to its members (for an
    interleaved clone only to the instance next to X). Returns the stops and demotes to order
    after the probe. Pacemaker walks this recursively with a tracking flag; the set of actions
    reached does not depend on the walk's order (nor on the probe's node), so this walks it with
    a stack, clears only the flags it set, and the caller reuses the answer for the resource's
    probes on other nodes."""
    targets: list[Action] = []
    probe_rsc = probe.rsc
    tracking = m.A_TRACKING
    tracked: list[Action] = []
    stack = [first_after]
    while stack:
        after = stack.pop()
        if after.flags & tracking:
            continue
        after.flags |= tracking
        tracked.append(after)
        rsc = after.rsc
        variant = -1 if rsc is None else rsc.variant
        if variant == m.PRIMITIVE and probe_rsc is not rsc:
            task = _RESTART_PARTNER.get(after.task.lower())
            if task is not None:
                for then in act.resource_actions(rsc, None, task, False):
                    if not (then.flags & m.A_PSEUDO):  # (a stop implied by fencing, say)
                        targets.append(then)
        interleave = False
        compatible = None
        if variant > m.GROUP:
            interleave = is_true(rsc.meta.get("interleave"))  # type: ignore[union-attr]
            if interleave:
                compatible = find_compatible_child(probe_rsc, rsc, m.ROLE_UNKNOWN, False)
        for then, otype in after.after:
            if not (otype & m.O_IMPLIES_THEN):
                # onwards only from a group or clone to its own members
                then_rsc = then.rsc
                if rsc is None or variant < m.GROUP or probe_rsc.parent is rsc or then_rsc is None \
                        or then_rsc.variant > m.GROUP or rsc is not then_rsc.parent:
                    continue
                if variant > m.GROUP and interleave and \
                        (compatible is None or compatible is not then_rsc):
                    continue
            stack.append(then)
    for action in tracked:
        action.flags &= ~tracking
    return targets


def _restart_orderings_for_rsc(rsc: Resource) -> None:
    """add_restart_orderings_for_rsc."""
    if rsc.variant != m.PRIMITIVE:
        for child in rsc.children:
            _restart_orderings_for_rsc(child)
        return
    from pengine.clone import find_compatible_child
    known: dict[int, list[Action]] = {}  # id(first action after a probe) -> what to order
    for probe in act.resource_actions(rsc, None, "monitor", False):
        if probe.task.lower() != "monitor":
            continue
        for after, _ in reversed(list(probe.after)):
            targets = known.get(id(after))
            if targets is None:
                targets = known[id(after)] = _restart_targets(probe, after, find_compatible_child)
            for then in targets:
                act.order_actions(probe, then, m.O_OPTIONAL)


def order_probes(ws: WorkingSet) -> None:
    """pcmk__order_probes: "probe X then start Y" also orders X's probe before a restart of Y;
    and (add_probe_orderings_for_stops) 'stop X then Y' also means 'probe X then Y'."""
    for rsc in ws.resources:
        _restart_orderings_for_rsc(rsc)
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
            then_actions = act.find_actions(order.then_rsc.actions, order.then_task or "", None)
            if not then_actions:
                continue
        else:
            continue
        for probe in probes:
            for each in then_actions:
                if _probe_needed_before(probe, each):
                    act.order_actions(probe, each, flags)
