"""Fencing and shutdown of nodes, and how resource actions are ordered against them.

An unclean node is fenced (if fencing is enabled and possible) before its resources are
recovered elsewhere; the stops of resources that were on it become pseudo-actions implied by
the fencing. A node asked to shut down gets a shutdown action after all its stops. Non-DC
fencing is serialized unless concurrent-fencing is set, and the DC goes last.
"""

from __future__ import annotations

from pengine import actions as act
from pengine import notify
from pengine import model as m
from pengine.model import A_IMPLIED_BY_STONITH, A_PSEUDO, A_RUNNABLE, Action, Node, Resource, \
    WorkingSet

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


def _known_on(rsc: Resource, node: Node) -> bool:
    if node in rsc.known_on:
        return True
    parent = rsc.parent
    return (rsc.variant == m.PRIMITIVE and parent is not None and parent.variant == m.CLONE
            and not parent.unique and node in parent.known_on)


def _order_start_vs_fencing(ws: WorkingSet, rsc: Resource, stonith: Action) -> None:
    target = stonith.node
    assert target is not None
    for action in list(rsc.actions):
        if action.needs == m.NEEDS_FENCING:
            act.order_actions(stonith, action, m.O_OPTIONAL)
        elif action.needs == m.NEEDS_QUORUM:
            if action.task == "start" and target in rsc.allowed and not _known_on(rsc, target):
                act.order_actions(stonith, action, m.O_OPTIONAL | m.O_RUNNABLE_LEFT)


def _order_stop_vs_fencing(ws: WorkingSet, rsc: Resource, stonith: Action) -> None:
    target = stonith.node
    assert target is not None
    top = rsc.top
    stops = act.resource_actions(rsc, target, "stop", False)
    order_implicit = rsc.needs_fencing
    parent_stop = None
    if stops and order_implicit:
        parent_stop = act.find_first_action(top.actions, None, "stop", None)
    for action in stops:
        action.flags |= A_PSEUDO | A_RUNNABLE
        if order_implicit:
            action.flags |= A_IMPLIED_BY_STONITH
            act.order_actions(stonith, action, m.O_PRESERVE)
            act.order_actions(stonith, parent_stop, m.O_PRESERVE)
        if rsc.notify:
            notify.order_after_fencing(ws, action, rsc, stonith)
    for action in act.resource_actions(rsc, target, "demote", False):
        assert action.node is not None
        if not action.node.online or action.node.unclean or rsc.failed:
            action.flags |= A_PSEUDO | A_RUNNABLE
            if order_implicit:
                act.order_actions(stonith, action, m.O_PRESERVE | m.O_OPTIONAL)


def _rsc_stonith_ordering(ws: WorkingSet, rsc: Resource, stonith: Action) -> None:
    if rsc.children:
        for child in rsc.children:
            _rsc_stonith_ordering(ws, child, stonith)
    elif not rsc.managed:
        return
    else:
        _order_start_vs_fencing(ws, rsc, stonith)
        _order_stop_vs_fencing(ws, rsc, stonith)


def order_vs_fence(ws: WorkingSet, stonith: Action) -> None:
    for rsc in ws.resources:
        _rsc_stonith_ordering(ws, rsc, stonith)


def _is_managed(rsc: Resource) -> bool:
    if rsc.managed:
        return True
    return any(_is_managed(child) for child in rsc.children)


def new_shutdown_action(ws: WorkingSet, node: Node) -> Action:
    shutdown = act.custom_action(ws, None, f"do_shutdown-{node.uname}", "do_shutdown", node,
                                 False, True)
    for action in list(ws.actions):
        if action.node is not node or action.task != "stop" or action.rsc is None:
            continue
        if action.rsc.maintenance or node.maintenance:
            continue
        if not (action.rsc.managed or action.rsc.blocked):
            continue
        action.flags &= ~m.A_OPTIONAL
        act.new_ordering(ws, action.rsc, None, action, None, "do_shutdown", shutdown,
                         m.O_OPTIONAL | m.O_RUNNABLE_LEFT)
    shutdown.meta["op_no_wait"] = "true"
    return shutdown


def schedule_fencing_and_shutdowns(ws: WorkingSet) -> None:
    dc_down: Optional[Action] = None
    have_managed = any(_is_managed(rsc) for rsc in ws.resources)
    fencing_ops: list[Action] = []
    shutdown_ops: list[Action] = []
    for node in ws.nodes:
        fencing = None
        if have_managed and node.unclean and act.can_fence(ws, node):
            fencing = act.fence_op(ws, node, None, False, "node is unclean", False)
            order_vs_fence(ws, fencing)
            if node.is_dc:
                dc_down = fencing
            else:
                if not ws.concurrent_fencing and fencing_ops:
                    act.order_actions(fencing_ops[0], fencing, m.O_OPTIONAL)
                fencing_ops.insert(0, fencing)
        elif node.online and node.shutdown and node.type != "remote":
            down = new_shutdown_action(ws, node)
            if node.is_dc:
                dc_down = down
            else:
                shutdown_ops.insert(0, down)
        if fencing is None and node.unclean:
            ws.warnings.append(f"Node {node.uname} is unclean!")
    if dc_down is not None:
        if dc_down.task == "do_shutdown":
            for down in shutdown_ops:
                act.order_actions(down, dc_down, m.O_OPTIONAL)
        if ws.concurrent_fencing:
            for fence in fencing_ops:
                act.order_actions(fence, dc_down, m.O_OPTIONAL)
        elif fencing_ops:
            act.order_actions(fencing_ops[0], dc_down, m.O_OPTIONAL)
