"""A clone's own actions and orderings: pseudo actions (start/running, stop/stopped,
promote/promoted, demote/demoted) that summarize its instances' actions, the clone's internal
orderings, action flags summarized over instances, interleaved ordering updates and probes.

Clone notifications (`notify=true`): the pseudo actions are made with the clone's actions here,
the per-instance notify actions at graph time (`pengine/notify.py`)."""

from __future__ import annotations

from core.cib.scores import INFINITY
from core.cib.status import op_key
from pengine import actions as act
from pengine import model as m
from pengine import notify
from pengine.assign import assign_resource, find_compatible_child
from pengine.instances import location_one, sort_by_instance_number
from pengine.model import (A_MIGRATE_RUNNABLE, A_OPTIONAL, A_PSEUDO, A_RUNNABLE, Action, CLONE,
                           Node, PRIMITIVE, Resource, WorkingSet)
from pengine.ordering import (UPDATED_FIRST, UPDATED_THEN, action_flags, update, update_action,
                              update_ordered_actions)
from pengine.probes import probe_resource_list, probe_rsc_on_node
from pengine.rscactions import create_actions, internal_constraints
from pengine.values import is_true

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


def _pseudo(ws: WorkingSet, rsc: Resource, task: str, optional: bool, runnable: bool) -> Action:
    """pe__new_rsc_pseudo_action."""
    action = act.custom_action(ws, rsc, op_key(rsc.id, task, 0), task, None, optional, True)
    action.flags |= A_PSEUDO
    if runnable:
        action.flags |= A_RUNNABLE
    return action


def _pseudo_status(rsc: Resource, state: list[bool]) -> None:
    """clone_update_pseudo_status: state = [stopping, starting, active]."""
    if rsc.children:
        for child in rsc.children:
            _pseudo_status(child, state)
        return
    if rsc.running_on:
        state[2] = True
    for action in rsc.actions:
        if state[0] and state[1]:
            return
        if action.flags & A_OPTIONAL:
            continue
        if not (action.flags & (A_PSEUDO | A_RUNNABLE)):
            continue
        if action.task == "stop":
            state[0] = True
        elif action.task == "start" and action.flags & A_RUNNABLE:
            state[1] = True


def _find_rsc_action(rsc: Resource, task: str) -> Optional[Action]:
    match = None
    for action in act.resource_actions(rsc, None, task, False):
        if not (action.flags & A_OPTIONAL):
            if match is not None:
                return None
            match = action
    return match


def clone_create_actions(ws: WorkingSet, rsc: Resource) -> None:
    child_active = child_starting = child_stopping = False
    allow_dependent_migrations = True
    for child in rsc.children:
        create_actions(ws, child)
        state = [False, False, child_active]
        _pseudo_status(child, state)
        stopping, starting, child_active = state
        if stopping and starting:
            allow_dependent_migrations = False
        child_stopping |= stopping
        child_starting |= starting
    start = _pseudo(ws, rsc, "start", not child_starting, True)
    started = _pseudo(ws, rsc, "running", not child_starting, False)
    started.priority = INFINITY
    if child_active or child_starting:
        started.flags |= A_RUNNABLE
    notes = rsc.notifications
    if "start" not in notes:
        start_notify = notify.clone_pseudo_ops(ws, rsc, "start", start, started)
        if start_notify is not None:
            notes["start"] = start_notify
    stop = _pseudo(ws, rsc, "stop", not child_stopping, True)
    stopped = _pseudo(ws, rsc, "stopped", not child_stopping, True)
    stopped.priority = INFINITY
    if allow_dependent_migrations:
        stop.flags |= A_MIGRATE_RUNNABLE
    if "stop" not in notes:
        stop_notify = notify.clone_pseudo_ops(ws, rsc, "stop", stop, stopped)
        if stop_notify is not None:
            notes["stop"] = stop_notify
            if "start" in notes:
                act.order_actions(stop_notify.post_done, notes["start"].pre, m.O_OPTIONAL)
    if rsc.ordered_clone:
        sort_by_instance_number(rsc)
        last_stop = last_start = None
        for child in rsc.children:
            stop_op = _find_rsc_action(child, "stop")
            if stop_op is not None:
                if last_stop is not None:
                    act.order_actions(stop_op, last_stop, m.O_OPTIONAL)
                last_stop = stop_op
            start_op = _find_rsc_action(child, "start")
            if start_op is not None:
                if last_start is not None:
                    act.order_actions(last_start, start_op, m.O_OPTIONAL)
                last_start = start_op
    if rsc.promotable:
        _create_promotable_actions(ws, rsc)


def _role_changes(rsc: Resource, state: list[bool]) -> None:
    """check_for_role_change: state = [demoting, promoting]."""
    if rsc.children:
        for child in rsc.children:
            _role_changes(child, state)
        return
    for action in rsc.actions:
        if state[0] and state[1]:
            return
        if action.flags & A_OPTIONAL:
            continue
        if action.task == "demote":
            state[0] = True
        elif action.task == "promote":
            state[1] = True


def _create_promotable_actions(ws: WorkingSet, clone: Resource) -> None:
    state = [False, False]
    for instance in clone.children:
        create_actions(ws, instance)
        _role_changes(instance, state)
    any_demoting, any_promoting = state
    promote = _pseudo(ws, clone, "promote", not any_promoting, True)
    promoted = _pseudo(ws, clone, "promoted", not any_promoting, True)
    promoted.priority = INFINITY
    notes = clone.notifications
    if "promote" not in notes:
        promote_notify = notify.clone_pseudo_ops(ws, clone, "promote", promote, promoted)
        if promote_notify is not None:
            notes["promote"] = promote_notify
    demote = _pseudo(ws, clone, "demote", not any_demoting, True)
    demoted = _pseudo(ws, clone, "demoted", not any_demoting, True)
    demoted.priority = INFINITY
    if "demote" not in notes:
        demote_notify = notify.clone_pseudo_ops(ws, clone, "demote", demote, demoted)
        if demote_notify is not None:
            notes["demote"] = demote_notify
            if "promote" in notes:
                # pe__create_promotable_pseudo_ops: every notification cycle before the next
                post_done = demote_notify.post_done
                act.order_actions(notes["stop"].post_done, notes["promote"].pre, m.O_OPTIONAL)
                act.order_actions(notes["start"].post_done, notes["promote"].pre, m.O_OPTIONAL)
                act.order_actions(post_done, notes["promote"].pre, m.O_OPTIONAL)
                act.order_actions(post_done, notes["start"].pre, m.O_OPTIONAL)
                act.order_actions(post_done, notes["stop"].pre, m.O_OPTIONAL)
    # promotion scores were kept in the instances' priorities: restore the configured one
    for instance in clone.children:
        instance.priority = clone.priority


def clone_internal_constraints(ws: WorkingSet, rsc: Resource) -> None:
    order = act.order_resource_actions
    order(ws, rsc, "stopped", rsc, "start", m.O_OPTIONAL)
    order(ws, rsc, "start", rsc, "running", m.O_RUNNABLE_LEFT)
    order(ws, rsc, "stop", rsc, "stopped", m.O_RUNNABLE_LEFT)
    if rsc.promotable:
        order(ws, rsc, "demoted", rsc, "stop", m.O_OPTIONAL)
        order(ws, rsc, "running", rsc, "promote", m.O_RUNNABLE_LEFT)
    if rsc.ordered_clone:
        sort_by_instance_number(rsc)
    last: Optional[Resource] = None
    for child in rsc.children:
        internal_constraints(ws, child)
        act.order_starts(ws, rsc, child, m.O_RUNNABLE_LEFT | m.O_IMPLIES_FIRST_PRINTED)
        order(ws, child, "start", rsc, "running", m.O_IMPLIES_THEN_PRINTED)
        if rsc.ordered_clone and last is not None:
            act.order_starts(ws, last, child, m.O_OPTIONAL)
        act.order_stops(ws, rsc, child, m.O_IMPLIES_FIRST_PRINTED)
        order(ws, child, "stop", rsc, "stopped", m.O_IMPLIES_THEN_PRINTED)
        if rsc.ordered_clone and last is not None:
            act.order_stops(ws, child, last, m.O_OPTIONAL)
        last = child
    if rsc.promotable:
        _order_promotable_instances(ws, rsc)


def _order_promotable_instances(ws: WorkingSet, clone: Resource) -> None:
    order = act.order_resource_actions
    order(ws, clone, "stopped", clone, "start", m.O_OPTIONAL)
    order(ws, clone, "stopped", clone, "promote", m.O_OPTIONAL)
    order(ws, clone, "demoted", clone, "stop", m.O_OPTIONAL)
    order(ws, clone, "demoted", clone, "start", m.O_OPTIONAL)
    order(ws, clone, "demoted", clone, "promote", m.O_OPTIONAL)
    order(ws, clone, "running", clone, "promote", m.O_OPTIONAL)
    order(ws, clone, "demote", clone, "demoted", m.O_OPTIONAL)
    previous: Optional[Resource] = None
    for instance in clone.children:
        order(ws, instance, "demote", instance, "promote", m.O_OPTIONAL)
        order(ws, clone, "promote", instance, "promote", m.O_OPTIONAL)
        order(ws, instance, "promote", clone, "promoted", m.O_OPTIONAL)
        if previous is not None and clone.ordered_clone:
            order(ws, previous, "promote", instance, "promote", m.O_OPTIONAL)
        order(ws, clone, "demote", instance, "demote", m.O_IMPLIES_FIRST_PRINTED)
        order(ws, instance, "demote", clone, "demoted", m.O_IMPLIES_THEN_PRINTED)
        if previous is not None and clone.ordered_clone:
            order(ws, instance, "demote", previous, "demote", m.O_OPTIONAL)
        previous = instance

_COMPLEX = {"stopped": "stop", "running": "start", "demoted": "demote", "promoted": "promote"}


def _child_task(action: Action) -> str:
    """clone_child_action: the instances' task behind a clone action."""
    assert action.rsc is not None and action.rsc.children
    child = action.rsc.children[0]
    task = action.task
    if task in ("notify", "notified"):
        parts = action.uuid.rsplit("_", 2)
        task = parts[1] if len(parts) == 3 else task
    if child.variant == PRIMITIVE:
        return _COMPLEX.get(task, task)
    return task


def summary_action_flags(action: Action, children: list[Resource], node: Optional[Node]) -> int:
    any_runnable = False
    task = _child_task(action)
    flags = A_OPTIONAL | A_RUNNABLE | A_PSEUDO
    for child in children:
        child_action = act.find_first_action(child.actions, None, task,
                                             None if child.children else node)
        if child_action is None:
            continue
        child_flags = action_flags(child_action, node)
        if (flags & A_OPTIONAL) and not (child_flags & A_OPTIONAL):
            flags &= ~A_OPTIONAL
            action.flags &= ~A_OPTIONAL
        if child_flags & A_RUNNABLE:
            any_runnable = True
    if not any_runnable:
        flags &= ~A_RUNNABLE
        if node is None:
            action.flags &= ~A_RUNNABLE
    return flags


def clone_action_flags(action: Action, node: Optional[Node]) -> int:
    assert action.rsc is not None
    if not action.rsc.children:
        return action.flags
    return summary_action_flags(action, action.rsc.children, node)


def _can_interleave(first: Action, then: Action) -> bool:
    if first.rsc is None or then.rsc is None or first.rsc is then.rsc:
        return False
    if first.rsc.variant < CLONE or then.rsc.variant < CLONE:
        return False
    if then.uuid.endswith("_stop_0") or then.uuid.endswith("_demote_0"):
        rsc = first.rsc
    else:
        rsc = then.rsc
    return is_true(rsc.meta.get("interleave"))


def _interleave_update(ws: WorkingSet, first: Action, then: Action, node: Optional[Node],
                       filt: int, otype: int) -> int:
    changed = 0
    current = first.uuid.endswith("_stopped_0") or first.uuid.endswith("_demoted_0")
    assert first.rsc is not None and then.rsc is not None
    for then_child in then.rsc.children:
        first_child = find_compatible_child(then_child, first.rsc, m.ROLE_UNKNOWN, current)
        if first_child is None and current:
            continue
        if first_child is None:
            # nothing of first will be active where then_child would run: it can't start
            if otype & (m.O_RUNNABLE_LEFT | m.O_IMPLIES_THEN):
                if assign_resource(ws, then_child, None, True):
                    changed |= UPDATED_THEN
            continue
        task = _child_task(first)
        first_action = act.find_first_action(first_child.actions, None, task, node)
        then_action = act.find_first_action(then_child.actions, None, then.task, node)
        if first_action is None or then_action is None:
            continue
        if act.order_actions(first_action, then_action, otype):
            changed |= UPDATED_FIRST | UPDATED_THEN
        changed |= update(ws, then_child, first_action, then_action, node,
                          action_flags(first_action, node), filt, otype)
    return changed


def clone_update_ordered_actions(ws: WorkingSet, rsc: Resource, first: Action, then: Action,
                                 node: Optional[Node], flags: int, filt: int,
                                 otype: int) -> int:
    """pcmk__multi_update_actions."""
    if _can_interleave(first, then):
        return _interleave_update(ws, first, then, node, filt, otype)
    changed = 0
    if then.rsc is None:
        return changed
    changed |= update_ordered_actions(ws, rsc, first, then, node, flags, filt, otype)
    for then_child in then.rsc.children:
        child_action = act.find_first_action(then_child.actions, None, then.task, node)
        if child_action is None:
            continue
        child_changed = 0
        if action_flags(child_action, node) & A_RUNNABLE:
            child_changed = update(ws, then_child, first, child_action, node, flags, filt, otype)
        changed |= child_changed
        if child_changed & UPDATED_THEN:
            # Pacemaker's actions_after is newest first (order_actions prepends)
            for after in list(reversed(child_action.after)):
                update_action(ws, after[0])
    return changed


def _known_on(rsc: Resource, node: Node) -> bool:
    if rsc.children:
        return any(_known_on(child, node) for child in rsc.children)
    return node in rsc.known_on


def clone_create_probe(ws: WorkingSet, rsc: Resource, node: Node) -> bool:
    """Probe one instance of an anonymous clone per node (all of a unique one)."""
    sort_by_instance_number(rsc)
    if not rsc.children:
        return False
    if rsc.exclusive_discover and node in rsc.allowed \
            and rsc.discover_mode.get(node) != m.DISCOVER_EXCLUSIVE:
        del rsc.allowed[node]
        return False
    if rsc.unique:
        return probe_resource_list(ws, rsc.children, node)
    child = None
    for each in rsc.children:
        if _known_on(each, node):
            child = each
            break
    if child is None:
        for each in rsc.children:
            if location_one(each, 0) is node:
                child = each
                break
    if child is None:
        child = rsc.children[0]
    return probe_rsc_on_node(ws, child, node)
