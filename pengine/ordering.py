"""Ordering constraints: applying orderings to actions, and propagating "required" and
"runnable" along them (rsc_order constraints are unpacked with the others, in pengine.unpack).

Pacemaker does not decide up front which actions happen: it creates candidate actions
(optional ones included) and then lets orderings change flags -- a required stop makes the
following start required (implies_then), an unrunnable start makes dependent starts unrunnable
(runnable_left), a required start of a group member makes the earlier members' stops required
(restart), and so on, until nothing changes. That propagation is reproduced here flag for flag.
"""

from __future__ import annotations

import sys

from core.cib.scores import INFINITY
from core.cib.status import op_key, parse_op_key
from pengine import actions as act
from pengine import model as m
# the flags as module names: the flag propagation tests them ~20 times per ordering
from pengine.model import (A_MIGRATE_RUNNABLE, A_OPTIONAL, A_PSEUDO, A_REQUIRES_ANY,
                           A_RUNNABLE, A_DANGLE, A_PRINT_ALWAYS, O_ASYMMETRICAL,
                           O_IMPLIES_FIRST, O_IMPLIES_FIRST_MIGRATABLE,
                           O_IMPLIES_FIRST_PRINTED, O_IMPLIES_THEN, O_IMPLIES_THEN_ON_NODE,
                           O_IMPLIES_THEN_PRINTED, O_NONE, O_ONE_OR_MORE, O_OPTIONAL, O_PROBE,
                           O_PROMOTED_IMPLIES_FIRST, O_PSEUDO_LEFT, O_RESTART, O_RUNNABLE_LEFT,
                           O_SAME_NODE, O_THEN_CANCELS_FIRST, CLONE, GROUP, PRIMITIVE, Action,
                           ActionList, Node, Ordering, Resource, WorkingSet)
from pengine.probes import order_probes

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Optional, Sequence

UPDATED_FIRST = 0x1
UPDATED_THEN = 0x2


# ------------------------------------------------------------------------------------------------
# applying orderings to actions

def _find_actions_by_task(rsc: Resource, key: str) -> Sequence[Action]:
    """find_actions_by_task: the resource's actions of the key, or of the key's task and
    interval under the resource's own id. Read-only: without an order's action in another
    case, the action index's own list (no copy; 66,000 orderings a transition at 32/10000 ask
    twice each), which its callers (_order_first, _order_then) only iterate, creating no
    action while they do."""
    find: Callable[[list[Action], str, Optional[Node]], Sequence[Action]]
    found: Sequence[Action]
    if rsc.ws.odd_case_actions:
        find = act.find_actions_casei
        found = find(rsc.actions, key, None)
    else:
        find = _actions_of_key
        found = rsc.actions.by_key.get(key, ())  # (_actions_of_key's answer, one call less)
    if found:
        return found
    size = len(rsc.id)
    if key.startswith(rsc.id) and key[size:size + 1] == "_" and key.count("_", size + 1) == 1:
        return ()  # the key already names this resource: looking again would find nothing
    parsed = parse_op_key(key)
    if parsed is None or parsed[0] == rsc.id:
        return ()
    # parse_op_key reads a task with an underscore as part of the resource's name
    # ("p1_lrm_delete_0" is task delete of "p1_lrm"), so such a key finds this resource's
    # action of the last word: a probe's "lrm_delete then probe" ordering binds its delete
    return find(rsc.actions, op_key(rsc.id, parsed[1], parsed[2]), None)


def _actions_of_key(actions: list[Action], key: str, node: Optional[Node]) -> Sequence[Action]:
    """find_actions(actions, key, node), read from the index without a copy where there is one
    and no node is asked for (no node-less action to give one)."""
    if node is None and isinstance(actions, ActionList):
        return actions.by_key.get(key, ())
    return act.find_actions(actions, key, node)


def _rsc_state(rsc: Resource) -> int:
    """rsc->fns->state(rsc, TRUE): the current role (max over children)."""
    if rsc.variant == PRIMITIVE:
        return rsc.role
    role = m.ROLE_UNKNOWN
    for child in rsc.children:
        role = max(role, _rsc_state(child))
    return role


def _order_then(ws: WorkingSet, first_action: Optional[Action], rsc: Resource,
                order: Ordering) -> None:
    flags = order.flags
    then_actions: Sequence[Action]
    if order.then_action is not None:
        then_actions = (order.then_action,)
    elif ws.odd_case_actions:
        then_actions = _find_actions_by_task(rsc, order.then_task or "")
    else:  # _find_actions_by_task's first look-up read here (46,000 calls at 32/10000)
        then_actions = rsc.actions.by_key.get(order.then_task or "") or \
            _find_actions_by_task(rsc, order.then_task or "")
    if not then_actions:
        return
    if first_action is not None and first_action.rsc is rsc and \
            (first_action.flags & A_DANGLE):
        flags &= ~O_IMPLIES_THEN
    if first_action is None and not (flags & O_IMPLIES_THEN):
        return
    for then in then_actions:
        if first_action is not None:
            act.order_actions(first_action, then, flags)
        else:
            then.flags &= ~A_RUNNABLE


def _order_first(ws: WorkingSet, first_rsc: Resource, order: Ordering) -> None:
    first_action = order.first_action
    then_rsc = order.then_rsc
    first_actions: Sequence[Action]
    if first_action is not None:
        first_actions = [first_action]
    elif ws.odd_case_actions:
        first_actions = _find_actions_by_task(first_rsc, order.first_task or "")
    else:  # _find_actions_by_task's first look-up read here (66,000 calls at 32/10000)
        first_actions = first_rsc.actions.by_key.get(order.first_task or "") or \
            _find_actions_by_task(first_rsc, order.first_task or "")
    if not first_actions and first_rsc is then_rsc:
        return
    if not first_actions:
        parsed = parse_op_key(order.first_task or "")
        if parsed is None:
            return
        _, op_type, interval = parsed
        key = op_key(first_rsc.id, op_type, interval)
        state = _rsc_state(first_rsc)
        if state == m.ROLE_STOPPED and op_type == "stop":
            pass
        elif state == m.ROLE_UNPROMOTED and op_type == "demote":
            pass
        else:
            first_action = act.custom_action(ws, first_rsc, key, op_type, None, True, True)
            first_actions = [first_action]
    if then_rsc is None:
        if order.then_action is None:
            return
        then_rsc = order.then_action.rsc
    for first in first_actions:
        if then_rsc is None:
            act.order_actions(first, order.then_action, order.flags)
        else:
            _order_then(ws, first, then_rsc, order)


def apply_orderings(ws: WorkingSet) -> None:
    for order in ws.orderings:
        if order.first_rsc is not None:
            _order_first(ws, order.first_rsc, order)
        elif order.then_rsc is not None:
            _order_then(ws, order.first_action, order.then_rsc, order)
        else:
            act.order_actions(order.first_action, order.then_action, order.flags)
    for action in reversed(ws.actions):
        if not (action.flags & A_RUNNABLE):  # (block_colocated_starts' own first test)
            block_colocated_starts(ws, action)
    order_probes(ws)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20000))
    try:
        for action in reversed(ws.actions):
            update_action(ws, action)
    finally:
        sys.setrecursionlimit(old)
    # the propagation is done: the member-action index (~2 MB at 32/10000) is not held
    # through the graph; a later ask builds what it needs again
    ws.member_actions.clear()


# ------------------------------------------------------------------------------------------------
# colocation-implied blocking

def block_colocated_starts(ws: WorkingSet, action: Action) -> None:
    if action.flags & A_RUNNABLE:
        return
    is_start = action.task == "start"
    if not is_start and action.task != "promote":
        return
    assert action.rsc is not None
    rsc = action.rsc.top
    for child in rsc.children:
        child_action = act.find_first_action(child.actions, None, action.task, None)
        if child_action is None or (child_action.flags & A_RUNNABLE):
            return
    for con in list(rsc.rsc_cons_lhs):
        if con.score < INFINITY:
            continue
        if not is_start and con.primary_role != m.ROLE_PROMOTED:
            continue
        task = "promote" if con.dependent_role == m.ROLE_PROMOTED else "start"
        _mark_blocked(ws, con.dependent, task, action.rsc)


def _mark_blocked(ws: WorkingSet, rsc: Resource, task: str, reason: Resource) -> None:
    text = f"colocation with {reason.id}"
    for action in list(rsc.actions):
        if (action.flags & A_RUNNABLE) and action.task == task:
            action.flags &= ~A_RUNNABLE
            act.set_reason(action, text, False)
            block_colocated_starts(ws, action)
            update_action(ws, action)
    for child in rsc.children:
        _mark_blocked(ws, child, task, reason)


# ------------------------------------------------------------------------------------------------
# flag propagation

_PRIMITIVE_TASK = {"stopped": "stop", "running": "start", "demoted": "demote",
                   "promoted": "promote"}


def _member_actions(rsc: Resource, task: str, remap: bool) -> Optional[tuple]:
    """The newest action of `task` of each member of group `rsc` (the node-less look-up of
    find_first_action), in member order, None for a member without one; with `remap` the
    members' task is the primitive's for a completed-task name ("running" -> "start"), as
    group_action_flags asks. None where a member is not a primitive (its flags are asked of
    its own method, which may do anything): the callers then look each member up as before.

    Kept per (group, task, remap) for the run (`WorkingSet.member_actions`), stamped with
    `WorkingSet.action_changes`: what find_first_action answers changes only when an action
    is added to a resource's index or an indexed action's task changes, and both bump it.
    Why: the flag propagation asks a group action's flags once per ordering of it, each
    over all members (23,000 asks, 115,000 member look-ups a transition at 32/10000), and
    group update_ordered_actions looks the members' actions up again (64,000)."""
    ws = rsc.ws
    key = (rsc, task, remap)
    kept = ws.member_actions.get(key)
    if kept is not None and kept[0] == ws.action_changes:
        return kept[1]
    member_task = _PRIMITIVE_TASK.get(task, task) if remap else task
    found = []
    for member in rsc.children:
        if member.variant != PRIMITIVE:
            return None
        found.append(act.find_first_action(member.actions, None, member_task, None))
    members = tuple(found)
    ws.member_actions[key] = (ws.action_changes, members)
    return members


def group_action_flags(action: Action, node: Optional[Node]) -> int:
    flags = A_OPTIONAL | A_RUNNABLE | A_PSEUDO
    rsc = action.rsc
    assert rsc is not None
    own_task = action.task
    members = _member_actions(rsc, own_task, True) if node is None else None
    if members is None:
        return _group_action_flags_by_lookup(action, node)
    task = _PRIMITIVE_TASK.get(own_task, own_task)  # (every member is a primitive)
    for member_action in members:
        if member_action is not None:
            # a primitive's flags are its action's own (primitive_action_flags)
            member_flags = member_action.flags
            if (flags & A_OPTIONAL) and not (member_flags & A_OPTIONAL):
                flags &= ~A_OPTIONAL
                action.flags &= ~A_OPTIONAL
            if task != own_task and (flags & A_RUNNABLE) and \
                    not (member_flags & A_RUNNABLE):
                flags &= ~A_RUNNABLE
                action.flags &= ~A_RUNNABLE
        elif task not in ("stop", "demote"):
            flags &= ~A_RUNNABLE
    return flags


def _group_action_flags_by_lookup(action: Action, node: Optional[Node]) -> int:
    """group_action_flags with each member's action looked up and its flags asked of its
    method: for a node, or a group with a member that is not a primitive."""
    flags = A_OPTIONAL | A_RUNNABLE | A_PSEUDO
    assert action.rsc is not None
    own_task = action.task
    primitive_task = _PRIMITIVE_TASK.get(own_task, own_task)
    for member in action.rsc.children:
        task = primitive_task if member.variant == PRIMITIVE else own_task
        member_action = act.find_first_action(member.actions, None, task, node)
        if member_action is not None:
            member_flags = member.methods.action_flags(member_action, node)
            if (flags & A_OPTIONAL) and not (member_flags & A_OPTIONAL):
                flags &= ~A_OPTIONAL
                action.flags &= ~A_OPTIONAL
            if task != action.task and (flags & A_RUNNABLE) and \
                    not (member_flags & A_RUNNABLE):
                flags &= ~A_RUNNABLE
                action.flags &= ~A_RUNNABLE
        elif task not in ("stop", "demote"):
            flags &= ~A_RUNNABLE
    return flags


def action_flags(action: Action, node: Optional[Node]) -> int:
    """action->rsc->cmds->action_flags (an action of no resource: its own flags)."""
    rsc = action.rsc
    if rsc is None:
        return action.flags
    return rsc.methods.action_flags(action, node)


def primitive_action_flags(action: Action, node: Optional[Node]) -> int:
    return action.flags


def _flags_for_ordering(action: Action, node: Optional[Node]) -> int:
    rsc = action.rsc
    if rsc is None:
        return action.flags
    flags = rsc.methods.action_flags(action, None)
    if node is None or rsc.variant != CLONE:
        return flags
    runnable = flags & A_RUNNABLE
    flags = rsc.methods.action_flags(action, node)
    if runnable and not (flags & A_RUNNABLE):
        flags |= A_RUNNABLE
    return flags


_COMPLETED_TASK = {"stop": "stopped", "start": "running", "notify": "notified",
                   "promote": "promoted", "demote": "demoted", "stopped": "stopped",
                   "running": "running", "notified": "notified", "promoted": "promoted",
                   "demoted": "demoted"}


def _uuid_for_ordering(first_uuid: str, first_rsc: Resource) -> str:
    if "notify" in first_uuid or first_rsc.variant < GROUP:
        return first_uuid
    parsed = parse_op_key(first_uuid)
    if parsed is None:
        return first_uuid
    rid, task, interval = parsed
    if interval > 0:
        return first_uuid
    remap = _COMPLETED_TASK.get(task)
    if remap is None:
        return first_uuid
    # notifications are only on outermost clones: order after the last one is confirmed
    if first_rsc.notify and first_rsc.parent is None:
        return f"{rid}_confirmed-post_notify_{remap}_0"
    return op_key(rid, remap, 0)


def _action_for_ordering(action: Action) -> Action:
    rsc = action.rsc
    if rsc is not None and rsc.variant >= GROUP:
        uuid = _uuid_for_ordering(action.uuid, rsc)
        result = act.find_first_action(rsc.actions, uuid, None, None)
        if result is not None:
            return result
    return action


def _is_parent(child: Optional[Resource], rsc: Optional[Resource]) -> bool:
    if child is None or rsc is None:
        return False
    parent = child
    while parent.parent is not None:
        if parent.parent is rsc:
            return True
        parent = parent.parent
    return False


def _clear_because(action: Action, flag: int, reason: Action) -> None:
    if action.flags & flag:
        action.flags &= ~flag
        if action.rsc is not reason.rsc:
            act.set_reason(action, _action_reason(reason, flag), flag == A_MIGRATE_RUNNABLE)


def _action_reason(action: Action, flag: int) -> Optional[str]:
    """pe__action2reason."""
    if flag == A_OPTIONAL:
        change = "required"
    elif flag in (A_RUNNABLE, A_MIGRATE_RUNNABLE):
        change = "unrunnable"
    else:
        change = "unknown"
    if action.rsc is not None:
        return f"{change} {action.rsc.id} {action.task}"
    return f"{change} {action.task}"


def update(ws: WorkingSet, rsc: Resource, first: Action, then: Action, node: Optional[Node],
           flags: int, filt: int, otype: int) -> int:
    """rsc->cmds->update_ordered_actions."""
    return rsc.methods.update_ordered_actions(ws, rsc, first, then, node, flags, filt, otype)


def group_update_ordered_actions(ws: WorkingSet, rsc: Resource, first: Action, then: Action,
                                 node: Optional[Node], flags: int, filt: int, otype: int) -> int:
    changed = update_ordered_actions(ws, rsc, first, then, node, flags, filt, otype)
    members = _member_actions(rsc, then.task, False) if node is None else None
    if members is not None:
        stamp = ws.action_changes
        for member, member_action in zip(rsc.children, members):
            if ws.action_changes != stamp:  # an update created an action: look it up
                member_action = act.find_first_action(member.actions, None, then.task, None)
            if member_action is not None:
                changed |= update(ws, member, first, member_action, node, flags, filt, otype)
        return changed
    for member in rsc.children:
        member_action = act.find_first_action(member.actions, None, then.task, node)
        if member_action is not None:
            changed |= update(ws, member, first, member_action, node, flags, filt, otype)
    return changed


def _asymmetric(first: Action, then: Action) -> None:
    if then.rsc is None or (first.flags & A_RUNNABLE):
        return
    if then.flags & A_OPTIONAL:
        role = _rsc_state(then.rsc)
        if role == m.ROLE_STOPPED and then.task == "stop":
            return
        if role >= m.ROLE_STARTED and then.task == "start" and \
                len(then.rsc.running_on) == 1 and then.rsc.running_on[0] is then.node:
            return
    _clear_because(then, A_OPTIONAL, first)
    _clear_because(then, A_RUNNABLE, first)


def _restart(first: Action, then: Action, filt: int) -> None:
    reason = None
    if (filt & A_OPTIONAL) and not (then.flags & A_OPTIONAL):
        reason = "restart"
    if (filt & A_RUNNABLE) and not (then.flags & A_RUNNABLE) and then.rsc is not None and \
            then.rsc.managed and first.rsc is then.rsc:
        reason = "stop"
    if reason is None:
        return
    if first.flags & A_RUNNABLE:
        _clear_because(first, A_OPTIONAL, then)
    if not (then.flags & A_OPTIONAL):
        _clear_because(first, A_OPTIONAL, then)
    if not (then.flags & A_MIGRATE_RUNNABLE):
        _clear_because(first, A_MIGRATE_RUNNABLE, then)
    if not (first.flags & A_OPTIONAL) and not (first.flags & A_RUNNABLE):
        _clear_because(then, A_RUNNABLE, first)


def update_ordered_actions(ws: WorkingSet, rsc: Optional[Resource], first: Action, then: Action,
                           node: Optional[Node], flags: int, filt: int, otype: int) -> int:
    """pcmk__update_ordered_actions: the primitive method itself (rsc, the method's resource,
    is not read), which the group and clone methods call for their own action first. One
    function, not a wrapper dropping rsc: the flag propagation calls it ~700 times a
    transition at 3/100."""
    changed = 0
    then_flags = then.flags
    first_flags = first.flags
    if otype & O_ASYMMETRICAL:
        _asymmetric(first, then)
    if (otype & O_IMPLIES_FIRST) and not (then_flags & A_OPTIONAL):
        if (filt & A_OPTIONAL) and not (flags & A_OPTIONAL) and (first_flags & A_OPTIONAL):
            _clear_because(first, A_OPTIONAL, then)
        if (flags & A_MIGRATE_RUNNABLE) and not (then.flags & A_MIGRATE_RUNNABLE):
            _clear_because(first, A_MIGRATE_RUNNABLE, then)
    if (otype & O_PROMOTED_IMPLIES_FIRST) and then.rsc is not None and \
            then.rsc.role == m.ROLE_PROMOTED and (filt & A_OPTIONAL) and \
            not (then.flags & A_OPTIONAL):
        _clear_because(first, A_OPTIONAL, then)
        if (first.flags & A_MIGRATE_RUNNABLE) and not (then.flags & A_MIGRATE_RUNNABLE):
            _clear_because(first, A_MIGRATE_RUNNABLE, then)
    if (otype & O_IMPLIES_FIRST_MIGRATABLE) and (filt & A_OPTIONAL):
        if not ((then.flags & A_MIGRATE_RUNNABLE) and (then.flags & A_RUNNABLE)):
            _clear_because(first, A_RUNNABLE, then)
        if not (then.flags & A_OPTIONAL):
            _clear_because(first, A_OPTIONAL, then)
    if (otype & O_PSEUDO_LEFT) and (filt & A_OPTIONAL) and not (first.flags & A_RUNNABLE):
        _clear_because(then, A_MIGRATE_RUNNABLE, first)
        then.flags &= ~A_PSEUDO
    if (otype & O_RUNNABLE_LEFT) and (filt & A_RUNNABLE) and (then.flags & A_RUNNABLE) and \
            not (flags & A_RUNNABLE):
        _clear_because(then, A_RUNNABLE, first)
        _clear_because(then, A_MIGRATE_RUNNABLE, first)
    if (otype & O_IMPLIES_THEN) and (filt & A_OPTIONAL) and (then.flags & A_OPTIONAL) and \
            not (flags & A_OPTIONAL) and not (first.flags & A_MIGRATE_RUNNABLE):
        _clear_because(then, A_OPTIONAL, first)
    if otype & O_RESTART:
        _restart(first, then, filt)
    if then_flags != then.flags:
        changed |= UPDATED_THEN
        if then.rsc is not None and then.rsc.parent is not None:
            update_action(ws, then)
    if first_flags != first.flags:
        changed |= UPDATED_FIRST
    return changed


# the ordering types that only update `then`'s resource with first's flags, in Pacemaker's order
# (pcmk__update_action_for_orderings), each with the flags it filters
_THEN_ONLY = ((O_IMPLIES_FIRST_MIGRATABLE, A_OPTIONAL), (O_PSEUDO_LEFT, A_OPTIONAL),
              (O_OPTIONAL, A_RUNNABLE), (O_ASYMMETRICAL, A_RUNNABLE))
_THEN_ONLY_ANY = O_IMPLIES_FIRST_MIGRATABLE | O_PSEUDO_LEFT | O_OPTIONAL | O_ASYMMETRICAL


def _update_for_ordering_flags(ws: WorkingSet, first: Action, then: Action, first_flags: int,
                               then_flags: int, order: list) -> int:
    changed = 0
    node = then.node
    then_rsc = then.rsc
    # rsc->cmds->update_ordered_actions of `then`'s resource, called directly (not through
    # update(): one frame less for each of ~700 calls a transition at 3/100)
    # (None without a resource: each call below is for a `then` that has one)
    then_update: Any = None if then_rsc is None else then_rsc.methods.update_ordered_actions
    otype = order[1]
    if otype & O_IMPLIES_THEN_ON_NODE:
        otype = (otype & ~O_IMPLIES_THEN_ON_NODE) | O_IMPLIES_THEN
        order[1] = otype
        node = first.node
    if otype & O_IMPLIES_THEN:
        if then_rsc is not None:
            changed |= then_update(ws, then_rsc, first, then, node, first_flags & A_OPTIONAL,
                                   A_OPTIONAL, O_IMPLIES_THEN)
        elif not (first_flags & A_OPTIONAL) and (then.flags & A_OPTIONAL):
            then.flags &= ~A_OPTIONAL
            changed |= UPDATED_THEN
    if (otype & O_RESTART) and then_rsc is not None:
        changed |= then_update(ws, then_rsc, first, then, node, first_flags,
                          A_OPTIONAL | A_RUNNABLE, O_RESTART)
    if otype & O_IMPLIES_FIRST:
        if first.rsc is not None:
            changed |= update(ws, first.rsc, first, then, node, first_flags, A_OPTIONAL,
                              O_IMPLIES_FIRST)
        elif not (first_flags & A_OPTIONAL) and (first.flags & A_RUNNABLE):
            first.flags &= ~A_RUNNABLE
            changed |= UPDATED_FIRST
    if otype & O_PROMOTED_IMPLIES_FIRST:
        if then_rsc is not None:
            changed |= then_update(ws, then_rsc, first, then, node, first_flags & A_OPTIONAL,
                                   A_OPTIONAL, O_PROMOTED_IMPLIES_FIRST)
    if otype & O_ONE_OR_MORE:
        if then_rsc is not None:
            changed |= then_update(ws, then_rsc, first, then, node, first_flags, A_RUNNABLE,
                                   O_ONE_OR_MORE)
        elif first_flags & A_RUNNABLE:
            then.runnable_before += 1
            if then.runnable_before >= then.required_runnable_before and \
                    not (then.flags & A_RUNNABLE):
                then.flags |= A_RUNNABLE
                changed |= UPDATED_THEN
    if (otype & O_PROBE) and then_rsc is not None:
        if not (first_flags & A_RUNNABLE) and first.rsc is not None and first.rsc.running_on:
            order[1] = O_NONE
        else:
            changed |= then_update(ws, then_rsc, first, then, node, first_flags, A_RUNNABLE,
                                   O_RUNNABLE_LEFT)
    if otype & O_RUNNABLE_LEFT:
        if then_rsc is not None:
            changed |= then_update(ws, then_rsc, first, then, node, first_flags, A_RUNNABLE,
                                   O_RUNNABLE_LEFT)
        elif not (first_flags & A_RUNNABLE) and (then.flags & A_RUNNABLE):
            then.flags &= ~A_RUNNABLE
            changed |= UPDATED_THEN
    if then_rsc is not None and otype & _THEN_ONLY_ANY:
        for flag, filt in _THEN_ONLY:
            if otype & flag:
                changed |= then_update(ws, then_rsc, first, then, node, first_flags, filt, flag)
    if (first.flags & A_RUNNABLE) and (otype & O_IMPLIES_THEN_PRINTED) and \
            not (first_flags & A_OPTIONAL):
        then.flags |= A_PRINT_ALWAYS
    if (otype & O_IMPLIES_FIRST_PRINTED) and not (then_flags & A_OPTIONAL):
        first.flags |= A_PRINT_ALWAYS
    if (otype & (O_IMPLIES_THEN | O_IMPLIES_FIRST | O_RESTART)) and \
            first.rsc is not None and not first.rsc.managed and first.rsc.blocked and \
            not (first.flags & A_RUNNABLE) and first.task == "stop":
        if then.flags & A_RUNNABLE:
            then.flags &= ~A_RUNNABLE
            changed |= UPDATED_THEN
    return changed


def _location_of(rsc: Resource) -> Optional[Node]:
    """rsc->fns->location(rsc, NULL, FALSE) for a group: where its members are (allocated)."""
    node = None
    for child in rsc.children:
        loc = child.allocated_to if child.variant == PRIMITIVE else _location_of(child)
        if loc is None:
            continue
        if node is None:
            node = loc
        elif node is not loc:
            return None
    return node


def update_action(ws: WorkingSet, then: Action) -> None:
    """pcmk__update_action_for_orderings."""
    changed = 0
    last_flags = then.flags
    if then.flags & A_REQUIRES_ANY:
        then.runnable_before = 0
        if then.required_runnable_before == 0:
            then.required_runnable_before = 1
        then.flags &= ~A_RUNNABLE
    then_rsc = then.rsc
    for wrapper in then.before[::-1]:  # a copy: orderings may be added while it runs
        first = wrapper[0]
        first_rsc = first.rsc
        then_node = then.node
        first_node = first.node
        if first_rsc is not None and first_rsc.variant == GROUP and first.task == "start":
            first_node = _location_of(first_rsc)
        if then_rsc is not None and then_rsc.variant == GROUP and then.task == "start":
            then_node = _location_of(then_rsc)
        if (wrapper[1] & O_SAME_NODE) and first_node is not None and then_node is not None \
                and first_node is not then_node:
            wrapper[1] = O_NONE
            continue
        changed &= ~UPDATED_FIRST
        if first_rsc is not None and (wrapper[1] & O_THEN_CANCELS_FIRST) and \
                not (then.flags & A_OPTIONAL):
            first.flags |= A_OPTIONAL
            if first.task == "reload-agent":
                first_rsc.reload = False
        if first_rsc is not None and then_rsc is not None and first_rsc is not then_rsc \
                and not _is_parent(then_rsc, first_rsc):
            first = _action_for_ordering(first)
        if first is wrapper[0]:
            # a primitive's flags for an ordering are its action's own (primitive_action_flags,
            # whatever the node): read directly, ~96,000 asks a transition at 32/10000
            first_flags = first.flags if first_rsc is None or first_rsc.variant == PRIMITIVE \
                else _flags_for_ordering(first, then_node)
            then_flags = then.flags if then_rsc is None or then_rsc.variant == PRIMITIVE \
                else _flags_for_ordering(then, first_node)
            changed |= _update_for_ordering_flags(ws, first, then, first_flags, then_flags,
                                                  wrapper)
        elif act.order_actions(first, then, wrapper[1]):
            changed |= UPDATED_THEN
            wrapper[1] = O_NONE
        if changed & UPDATED_FIRST:
            for after in list(reversed(first.after)):
                update_action(ws, after[0])
            update_action(ws, first)
    if then.flags & A_REQUIRES_ANY:
        if last_flags == then.flags:
            changed &= ~UPDATED_THEN
        else:
            changed |= UPDATED_THEN
    if changed & UPDATED_THEN:
        if (last_flags & A_RUNNABLE) and not (then.flags & A_RUNNABLE):
            block_colocated_starts(ws, then)
        update_action(ws, then)
        for after in list(reversed(then.after)):
            update_action(ws, after[0])


primitive_update_ordered_actions = update_ordered_actions  # the primitive method record's entry
