"""Per-resource actions: what a primitive or group needs to go from its role to its next role.

A primitive moves through the role matrix (stopped -> started -> promoted and back) with one
action per step; a restart (recovery, move, multiple-active) takes it all the way down first.
Recurring monitors are scheduled for the role it will have; history whose definition changed
forces a restart (or a monitor reschedule). Groups get pseudo-actions (start/running,
stop/stopped) and the implicit orderings and colocations between members.
"""

from __future__ import annotations

from core.cib.durations import interval_ms as parse_interval_ms
from core.cib.scores import INFINITY
from core.cib.status import op_key, op_record
from core.cib.xmltree import XNode
from core.ocfcodes import OCF_NOT_RUNNING, OCF_RUNNING_PROMOTED
from pengine import actions as act
from pengine import digest
from pengine import migration
from pengine import model as m
from pengine.utilization import create_utilization_constraints
from pengine.model import (A_OPTIONAL, A_PRINT_ALWAYS, A_PSEUDO, A_RUNNABLE, CLONE,
                           PRIMITIVE, Action, Node, Resource, WorkingSet)
from pengine.assign import current_node
from pengine.opconfig import find_op_entry, op_entries, op_names_odd_case, recurring_plans
from pengine.ordering import action_flags
from pengine.entryindex import EntryIndex, new_index
from pengine.status import calculate_active_ops, get_failcount, sort_ops
from pengine.unpack import add_colocation
from pengine.values import is_true

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

    # a recurring-operation plan's entry: (the <op> element, its role, its key and interval)
    RecurringOp = tuple[XNode, Optional[int], Optional[tuple[str, int]]]

S, ST, UP, PR = m.ROLE_STOPPED, m.ROLE_STARTED, m.ROLE_UNPROMOTED, m.ROLE_PROMOTED
U = m.ROLE_UNKNOWN

# rsc_state_matrix[current][target] -> next role
STATE_MATRIX = (
    (U, S, S, S, S),
    (S, S, ST, UP, UP),
    (S, S, ST, UP, PR),
    (S, S, S, UP, PR),
    (S, UP, UP, UP, PR),
)

STOP, START, DEMOTE, PROMOTE, ERROR, NONE = "stop", "start", "demote", "promote", "error", None
# rsc_action_matrix[current][next]
ACTION_MATRIX = (
    (ERROR, STOP, ERROR, ERROR, ERROR),
    (ERROR, NONE, START, START, ERROR),
    (ERROR, STOP, NONE, NONE, PROMOTE),
    (ERROR, STOP, STOP, NONE, PROMOTE),
    (ERROR, DEMOTE, DEMOTE, DEMOTE, NONE),
)


def _is_expected_node(rsc: Resource, node: Optional[Node]) -> bool:
    return (rsc.stop_unexpected and rsc.restarting and rsc.next_role > m.ROLE_STOPPED
            and node is not None and rsc.allocated_to is node)


def _stop_resource(ws: WorkingSet, rsc: Resource, node: Optional[Node], optional: bool) -> None:
    opt = optional
    for current in list(rsc.running_on):
        if _is_expected_node(rsc, current):
            continue
        if rsc.partial_migration_target is not None:
            # the migration continues where the node was and remains the target
            if (current is rsc.partial_migration_target and rsc.allocated_to is not None
                    and rsc.allocated_to is rsc.partial_migration_target):
                continue
            opt = False
        stop = act.stop_action(ws, rsc, current, opt)
        if rsc.allocated_to is None:
            act.set_reason(stop, "node availability", True)
        elif rsc.restarting and rsc.stop_unexpected:
            act.set_reason(stop, "being multiply active", True)
        if not rsc.managed:
            stop.flags &= ~A_RUNNABLE
        if ws.remove_after_stop:
            _schedule_cleanup(ws, rsc, current, opt)
        if rsc.needs_unfencing:
            unfence = act.fence_op(ws, current, "on", True, None, False)
            act.order_actions(stop, unfence, m.O_IMPLIES_FIRST)


def _start_resource(ws: WorkingSet, rsc: Resource, node: Optional[Node], optional: bool) -> None:
    start = act.start_action(ws, rsc, node, True)
    act.order_vs_unfence(ws, rsc, node, start, m.O_IMPLIES_THEN)
    if (start.flags & A_RUNNABLE) and not optional:
        start.flags &= ~A_OPTIONAL
    if _is_expected_node(rsc, node):
        start.flags |= A_PSEUDO


def _promote_resource(ws: WorkingSet, rsc: Resource, node: Optional[Node],
                      optional: bool) -> None:
    runnable = True
    for start in act.resource_actions(rsc, node, "start", True):
        if not (start.flags & A_RUNNABLE):
            runnable = False
    if runnable:
        promote = act.promote_action(ws, rsc, node, optional)
        if _is_expected_node(rsc, node):
            promote.flags |= A_PSEUDO
    else:
        for promote in act.resource_actions(rsc, node, "promote", True):
            promote.flags &= ~A_RUNNABLE


def _demote_resource(ws: WorkingSet, rsc: Resource, node: Optional[Node],
                     optional: bool) -> None:
    for current in list(rsc.running_on):
        if _is_expected_node(rsc, current):
            continue
        act.demote_action(ws, rsc, current, optional)


_ACTION_FN = {STOP: _stop_resource, START: _start_resource, DEMOTE: _demote_resource,
              PROMOTE: _promote_resource}


def _schedule_cleanup(ws: WorkingSet, rsc: Resource, node: Node, optional: bool) -> None:
    flag = m.O_IMPLIES_THEN if optional else m.O_OPTIONAL
    if rsc.failed or node.unclean or not node.online:
        return
    act.custom_action(ws, rsc, op_key(rsc.id, "delete", 0), "delete", node, optional)
    act.order_resource_actions(ws, rsc, "stop", rsc, "delete", flag)
    act.order_resource_actions(ws, rsc, "delete", rsc, "start", flag)


def _active_counts(rsc: Resource) -> tuple[int, int]:
    all_count = len(rsc.running_on)
    clean = sum(1 for n in rsc.running_on if n.online and not n.unclean)
    return all_count, clean


def primitive_create_actions(ws: WorkingSet, rsc: Resource) -> None:
    chosen = rsc.allocated_to
    if rsc.next_role == m.ROLE_UNKNOWN:
        rsc.next_role = m.ROLE_STOPPED if chosen is None else m.ROLE_STARTED
    current = current_node(rsc)
    num_all, num_clean = _active_counts(rsc)
    need_stop = False
    need_promote = False
    is_moving = allow_migrate = multiply_active = False
    for source in rsc.dangling_migrations:
        migration.abort_dangling_migration(ws, rsc, source, _schedule_cleanup)
    if current is not None and chosen is not None and current is not chosen and \
            rsc.next_role >= m.ROLE_STARTED:
        is_moving = True
        allow_migrate = migration.can_migrate(rsc, current)
        need_stop = True  # also when migrating
    if (rsc.partial_migration_source is not None and rsc.partial_migration_target is not None
            and allow_migrate and num_all == 2 and current is rsc.partial_migration_source
            and chosen is rsc.partial_migration_target):
        pass  # a partial migration continues to the same target
    elif rsc.partial_migration_source is not None or rsc.partial_migration_target is not None:
        # a partial migration that cannot continue: recover (stop on both, start)
        need_stop = True
        rsc.partial_migration_source = rsc.partial_migration_target = None
        allow_migrate = False
    elif rsc.needs_fencing:
        multiply_active = num_all > 1
    else:
        multiply_active = num_clean > 1
    if multiply_active:
        ws.warnings.append(f"{rsc.xml.get('class') or 'Untyped'} resource {rsc.id} might be "
                           f"active on {num_all} nodes")
        if rsc.recovery_type == m.RECOVERY_STOP_START:
            need_stop = True
        elif rsc.recovery_type == m.RECOVERY_STOP_UNEXPECTED:
            need_stop = True
            rsc.stop_unexpected = True
    else:
        rsc.stop_unexpected = False
    if rsc.start_pending:
        start = act.start_action(ws, rsc, chosen, True)
        start.flags |= A_PRINT_ALWAYS
    if is_moving:
        pass  # the rest is for resources staying where they are
    elif rsc.failed:
        if rsc.stop_flag:
            need_stop = True
        elif rsc.next_role == m.ROLE_PROMOTED:
            need_promote = True
    elif rsc.blocked:
        need_stop = True
    elif rsc.role > m.ROLE_STARTED and current is not None and chosen is not None:
        start = act.start_action(ws, rsc, chosen, True)
        if not (start.flags & A_OPTIONAL):
            need_stop = True
    # bring the resource down (and back up) for a restart
    rsc.restarting = True
    role = rsc.role
    while role != m.ROLE_STOPPED:
        next_role = STATE_MATRIX[role][m.ROLE_STOPPED]
        fn = ACTION_MATRIX[role][next_role]
        if fn is None:
            break
        assert fn != ERROR, (rsc.id, role, next_role)
        _ACTION_FN[fn](ws, rsc, current, not need_stop)
        role = next_role
    while rsc.role <= rsc.next_role and role != rsc.role and not rsc.blocked:
        required = need_stop
        next_role = STATE_MATRIX[role][rsc.role]
        if next_role == m.ROLE_PROMOTED and need_promote:
            required = True
        fn = ACTION_MATRIX[role][next_role]
        if fn is None:
            break
        assert fn != ERROR, (rsc.id, role, next_role)
        _ACTION_FN[fn](ws, rsc, chosen, not required)
        role = next_role
    rsc.restarting = False
    # then the steps to the next role
    role = rsc.role
    while role != rsc.next_role:
        next_role = STATE_MATRIX[role][rsc.next_role]
        fn = ACTION_MATRIX[role][next_role]
        if fn is None:
            break
        assert fn != ERROR, (rsc.id, role, next_role)
        _ACTION_FN[fn](ws, rsc, chosen, False)
        role = next_role
    create_recurring_actions(ws, rsc)
    if allow_migrate:
        assert current is not None
        migration.create_migration_actions(ws, rsc, current)


# ------------------------------------------------------------------------------------------------
# recurring operations

def _op_cannot_recur(name: Optional[str]) -> bool:
    return name in ("stop", "start", "demote", "promote", "reload-agent", "migrate_to",
                    "migrate_from")


def _dup_warning(rsc: Resource, name: Optional[str], interval: int) -> Optional[str]:
    """The warning that an op of this name and interval has a duplicate (the second op with an
    id), None if it has none."""
    seen = None
    assert rsc.ops_xml is not None
    for op, op_name, op_interval, _ in op_entries(rsc.ops_xml):
        if op_name != name or op_interval != interval:
            continue
        if op.get("id") is None:
            continue
        if seen is None:
            seen = op.get("id")
        else:
            return f"Operation {op.get('id')} is duplicate of {seen}"
    return None


def _checked_recurring_key(rsc: Resource, op: XNode) -> tuple[Optional[tuple[str, int]],
                                                               Optional[str]]:
    """(the recurring action's key and interval, None if `op` makes none; the duplicate warning
    that deciding it gave, or None)."""
    interval = parse_interval_ms(op.get("interval"))
    if interval == 0:
        return None, None
    if not op.get("id"):
        return None, None
    name = op.get("name")
    if _op_cannot_recur(name):
        return None, None
    warning = _dup_warning(rsc, name, interval)
    if warning is not None:
        return None, warning
    key = op_key(rsc.id, name or "", interval)
    if find_op_entry(rsc, key, include_disabled=False) is None:
        return None, None
    return (key, interval), None


def _op_role(text: Optional[str]) -> Optional[int]:
    """A recurring op's role, None for any: is_recurring_history reports a role text2role
    cannot read ("Ignoring ... is not a valid role") yet goes on with RSC_ROLE_UNKNOWN, which
    means no role."""
    if text is None:
        return None
    role = m.text2role(text)
    return None if role == m.ROLE_UNKNOWN else role


def _recurring_key(rsc: Resource, op: XNode) -> Optional[tuple[str, int]]:
    got, warning = _checked_recurring_key(rsc, op)
    if warning is not None:
        rsc.ws.warnings.append(warning)
    return got


def _recurring_plan(rsc: Resource) -> Optional[tuple[RecurringOp, ...]]:
    """Each `<op>` of the resource with its role (None without a role attribute) and recurring
    key and interval (None if it makes no recurring action), kept with the resource's
    `<operations>` element (opconfig.recurring_plans) by the resource's id, with the history
    name it was decided under (used while that is the resource's): nothing else is read (the
    key is made of the id, the op's name and interval; which op answers to it is
    find_op_entry's reading of the same element under both names). None when an op has a
    duplicate: deciding its key warns, and the warning is given each time it is decided, so
    such a resource takes the op-by-op way every transition.

    Why: a warm daemon reuses the configuration's elements (inputcache.py), and each
    transition decided each op's key again for every resource (its interval, a scan of the
    ops for duplicates, another for the op entry: 300 ops at 3 nodes / 100 resources)."""
    assert rsc.ops_xml is not None
    kept = recurring_plans(rsc.ops_xml)
    # by id, the history name with the plan: one entry per resource sharing the element (an
    # instance found under another name replaces its entry), however long the daemon runs
    held = kept.get(rsc.id)
    if held is not None and held[0] == rsc.clone_name:
        return held[1]
    entries: list[RecurringOp] = []
    plan: Optional[tuple[RecurringOp, ...]] = None
    for op, _, _, _ in op_entries(rsc.ops_xml):
        role_text = op.get("role")
        got, warning = _checked_recurring_key(rsc, op)
        if warning is not None:
            break
        entries.append((op, _op_role(role_text), got))
    else:
        plan = tuple(entries)
    kept[rsc.id] = (rsc.clone_name, plan)
    return plan


def _recurring_for_active(ws: WorkingSet, rsc: Resource, start: Action, node: Optional[Node],
                          op: XNode) -> None:
    role = _op_role(op.get("role"))
    if role == m.ROLE_STOPPED:
        return
    got = _recurring_key(rsc, op)
    if got is None:
        return
    _schedule_active(ws, rsc, start, node, op, role, got)


def _schedule_active(ws: WorkingSet, rsc: Resource, start: Action, node: Optional[Node],
                     op: XNode, role: Optional[int], got: tuple[str, int]) -> None:
    """The recurring action of `op` (key and interval `got`) where the resource is active."""
    key, interval = got
    name = op.get("name") or ""
    optional = _active_should_be_optional(rsc, node, key, start)
    if (role is not None and rsc.next_role != role) or (
            role is None and rsc.next_role == m.ROLE_PROMOTED):
        if optional and node is not None:
            cancel = new_cancel_action(ws, rsc, name, interval, node)
            after = None
            if rsc.role in (m.ROLE_UNPROMOTED, m.ROLE_STARTED):
                if rsc.next_role == m.ROLE_PROMOTED:
                    after = op_key(rsc.id, "promote", 0)
                elif rsc.next_role == m.ROLE_STOPPED:
                    after = op_key(rsc.id, "stop", 0)
            elif rsc.role == m.ROLE_PROMOTED:
                after = op_key(rsc.id, "demote", 0)
            if after is not None:
                act.new_ordering(ws, rsc, None, cancel, rsc, after, None, m.O_RUNNABLE_LEFT)
        return
    mon = act.custom_action(ws, rsc, key, name, node, optional, True)
    if not (start.flags & A_RUNNABLE):
        mon.flags &= ~A_RUNNABLE
    elif node is None or not node.online or node.unclean:
        mon.flags &= ~A_RUNNABLE
    if rsc.next_role == m.ROLE_PROMOTED:
        act.add_expected_result(mon, OCF_RUNNING_PROMOTED)
    if node is None or rsc.managed:
        act.new_ordering(ws, rsc, op_key(rsc.id, "start", 0), None, None, mon.uuid, mon,
                         m.O_IMPLIES_THEN | m.O_RUNNABLE_LEFT)
        act.new_ordering(ws, rsc, op_key(rsc.id, "reload-agent", 0), None, None, mon.uuid, mon,
                         m.O_IMPLIES_THEN | m.O_RUNNABLE_LEFT)
        if rsc.next_role == m.ROLE_PROMOTED:
            act.new_ordering(ws, rsc, op_key(rsc.id, "promote", 0), None, rsc, None, mon,
                             m.O_OPTIONAL | m.O_RUNNABLE_LEFT)
        elif rsc.role == m.ROLE_PROMOTED:
            act.new_ordering(ws, rsc, op_key(rsc.id, "demote", 0), None, rsc, None, mon,
                             m.O_OPTIONAL | m.O_RUNNABLE_LEFT)


def _active_should_be_optional(rsc: Resource, node: Optional[Node], key: str,
                               start: Action) -> bool:
    if node is None:
        return False
    if not (action_flags(start, None) & A_OPTIONAL):
        return False
    matches = act.find_actions_exact(rsc.actions, key, node, rsc.ws.odd_case_actions)
    if not matches:
        return False
    for op in matches:
        if op.flags & m.A_RESCHEDULE:
            return False
    return True


def _recurring_for_inactive(ws: WorkingSet, rsc: Resource, node: Optional[Node],
                            op: XNode) -> None:
    role_text = op.get("role")
    if role_text is None or m.text2role(role_text) != m.ROLE_STOPPED:
        return
    got = _recurring_key(rsc, op)
    if got is None:
        return
    _schedule_inactive(ws, rsc, node, op, got)


def _schedule_inactive(ws: WorkingSet, rsc: Resource, node: Optional[Node], op: XNode,
                       got: tuple[str, int]) -> None:
    """The recurring action of a role=Stopped `op` on the nodes where the resource stops."""
    key, interval = got
    if not rsc.unique:
        return
    name = op.get("name") or ""
    for stop_node in ws.nodes:
        if node is not None and stop_node.uname == node.uname:
            _cancel_if_running(ws, rsc, node, key, name, interval)
            continue
        optional = bool(act.find_actions_exact(rsc.actions, key, stop_node, ws.odd_case_actions))
        mon = act.custom_action(ws, rsc, key, name, stop_node, optional, True)
        act.add_expected_result(mon, OCF_NOT_RUNNING)
        if rsc.managed:
            for probe in act.resource_actions(rsc, stop_node, "monitor", False):
                act.order_actions(probe, mon, m.O_RUNNABLE_LEFT)
        for stop in act.resource_actions(rsc, stop_node, "stop", True):
            if not (stop.flags & A_OPTIONAL) and not (mon.flags & A_OPTIONAL) and \
                    not rsc.managed:
                mon.flags |= A_OPTIONAL
            if not (stop.flags & A_RUNNABLE):
                mon.flags &= ~A_RUNNABLE
            if rsc.managed:
                act.new_ordering(ws, rsc, op_key(rsc.id, "stop", 0), stop, None, None, mon,
                                 m.O_IMPLIES_THEN | m.O_RUNNABLE_LEFT)
        if not stop_node.online or stop_node.unclean:
            mon.flags &= ~A_RUNNABLE


def _cancel_if_running(ws: WorkingSet, rsc: Resource, node: Node, key: str, name: str,
                       interval: int) -> None:
    if not act.find_actions_exact(rsc.actions, key, node, ws.odd_case_actions):
        return  # (find_actions_exact compares keys with pcmk__str_casei: name="Monitor")
    cancel = new_cancel_action(ws, rsc, name, interval, node)
    if rsc.next_role in (m.ROLE_STARTED, m.ROLE_UNPROMOTED):
        act.new_ordering(ws, rsc, None, cancel, rsc, op_key(rsc.id, "start", 0), None,
                         m.O_RUNNABLE_LEFT)


def new_cancel_action(ws: WorkingSet, rsc: Resource, task: str, interval: int,
                      node: Node) -> Action:
    key = op_key(rsc.id, task, interval)
    cancel = act.custom_action(ws, rsc, key, "cancel", node, False, True)
    cancel.task = "cancel"
    ws.action_changes += 1  # an indexed action's task changed (ordering._member_actions)
    cancel.cancel_task = task
    cancel.meta.setdefault("operation", task)
    cancel.meta.setdefault("interval", str(interval))
    return cancel


def schedule_cancel(ws: WorkingSet, rsc: Resource, call_id: Optional[str], task: str,
                    interval: int, node: Node) -> None:
    cancel = new_cancel_action(ws, rsc, task, interval, node)
    if call_id is not None:
        cancel.meta.setdefault("call-id", call_id)
    act.new_ordering(ws, rsc, op_key(rsc.id, "stop", 0), None, rsc, None, cancel,
                     m.O_OPTIONAL)


def create_recurring_actions(ws: WorkingSet, rsc: Resource) -> None:
    if rsc.blocked or rsc.maintenance:
        return
    start = None
    chosen = rsc.allocated_to
    if chosen is None:
        pass
    elif chosen.maintenance:
        pass  # no active-role monitors there; the role=Stopped ones elsewhere still are made
    elif rsc.next_role != m.ROLE_STOPPED or not rsc.managed:
        start = act.start_action(ws, rsc, chosen, True)
    if rsc.ops_xml is None:
        return
    if not ws.odd_case_actions and op_names_odd_case(rsc.ops_xml):
        ws.odd_case_actions = True  # name="Monitor": its actions are found case-insensitively
    plan = _recurring_plan(rsc)
    if plan is None:
        for op in rsc.ops_xml.children:
            if op.tag != "op":
                continue
            if start is not None:
                _recurring_for_active(ws, rsc, start, chosen, op)
            _recurring_for_inactive(ws, rsc, chosen, op)
        return
    # as the loop above decides, each op's role and key taken from the plan
    for op, role, got in plan:
        if got is None:
            continue
        if role == m.ROLE_STOPPED:
            _schedule_inactive(ws, rsc, chosen, op, got)
        elif start is not None:
            _schedule_active(ws, rsc, start, chosen, op, role, got)


# ------------------------------------------------------------------------------------------------
# internal constraints

def primitive_internal_constraints(ws: WorkingSet, rsc: Resource) -> None:
    if not rsc.managed:
        return
    act.new_ordering(ws, rsc, op_key(rsc.id, "stop", 0), None, rsc,
                     op_key(rsc.id, "start", 0), None,
                     m.O_OPTIONAL | m.O_IMPLIES_THEN | m.O_RESTART)
    if rsc.top.promotable or rsc.role > m.ROLE_UNPROMOTED:
        act.new_ordering(ws, rsc, op_key(rsc.id, "demote", 0), None, rsc,
                         op_key(rsc.id, "stop", 0), None, m.O_PROMOTED_IMPLIES_FIRST)
        act.new_ordering(ws, rsc, op_key(rsc.id, "start", 0), None, rsc,
                         op_key(rsc.id, "promote", 0), None, m.O_RUNNABLE_LEFT)
    act.new_ordering(ws, rsc, op_key(rsc.id, "lrm_delete", 0), None, rsc,
                     op_key(rsc.id, "monitor", 0), None,
                     m.O_SAME_NODE | m.O_THEN_CANCELS_FIRST)
    if not rsc.fence_device and ws.enable_unfencing and rsc.needs_unfencing:
        for node in sorted(rsc.allowed, key=lambda n: n.sort_key):
            unfence = act.fence_op(ws, node, "on", True, None, False)
            act.new_ordering(ws, rsc, op_key(rsc.id, "stop", 0), None, None, unfence.uuid,
                             unfence, m.O_OPTIONAL | m.O_SAME_NODE)
            act.new_ordering(ws, None, unfence.uuid, unfence, rsc, op_key(rsc.id, "start", 0),
                             None, m.O_IMPLIES_THEN_ON_NODE | m.O_SAME_NODE)
    create_utilization_constraints(ws, rsc)
    container = rsc.container
    if container is not None:
        # a filler of its container (no guest node: those are not supported): started after
        # it (and not without it), stopped before it, and always on the same node
        act.new_ordering(ws, container, op_key(container.id, "start", 0), None, rsc,
                         op_key(rsc.id, "start", 0), None,
                         m.O_IMPLIES_THEN | m.O_RUNNABLE_LEFT)
        act.new_ordering(ws, rsc, op_key(rsc.id, "stop", 0), None, container,
                         op_key(container.id, "stop", 0), None, m.O_IMPLIES_FIRST)
        add_colocation(ws, "resource-with-container", None, INFINITY, rsc, container, None,
                       None, True)


def group_internal_constraints(ws: WorkingSet, rsc: Resource) -> None:
    act.order_resource_actions(ws, rsc, "stop", rsc, "stopped", m.O_RUNNABLE_LEFT)
    act.order_resource_actions(ws, rsc, "stopped", rsc, "start", m.O_OPTIONAL)
    act.order_resource_actions(ws, rsc, "start", rsc, "running", m.O_RUNNABLE_LEFT)
    ordered = rsc.ordered_group
    colocated = rsc.colocated_group
    promotable = rsc.top.promotable
    last_active: Optional[Resource] = None
    previous: Optional[Resource] = None
    for member in rsc.children:
        down_flags = m.O_IMPLIES_FIRST_PRINTED
        post_down_flags = m.O_IMPLIES_THEN_PRINTED
        internal_constraints(ws, member)
        if previous is None:
            if ordered:
                down_flags |= m.O_OPTIONAL
                post_down_flags = m.O_IMPLIES_THEN
        elif colocated:
            add_colocation(ws, "group:internal_colocation", None, INFINITY, member, previous,
                           None, None, member.critical, explicit=False)
        if promotable:
            act.order_resource_actions(ws, rsc, "demote", member, "demote", down_flags)
            act.order_resource_actions(ws, member, "demote", rsc, "demoted", post_down_flags)
            act.order_resource_actions(ws, member, "promote", rsc, "promoted",
                                       m.O_RUNNABLE_LEFT | m.O_IMPLIES_THEN
                                       | m.O_IMPLIES_THEN_PRINTED)
            act.order_resource_actions(ws, rsc, "promote", member, "promote",
                                       m.O_IMPLIES_FIRST_PRINTED)
        act.order_stops(ws, rsc, member, down_flags)
        act.order_resource_actions(ws, member, "stop", rsc, "stopped", post_down_flags)
        act.order_starts(ws, rsc, member, m.O_IMPLIES_FIRST_PRINTED)
        act.order_resource_actions(ws, member, "start", rsc, "running",
                                   m.O_RUNNABLE_LEFT | m.O_IMPLIES_THEN
                                   | m.O_IMPLIES_THEN_PRINTED)
        if not ordered:
            act.order_starts(ws, rsc, member, m.O_IMPLIES_THEN | m.O_RUNNABLE_LEFT
                             | m.O_IMPLIES_FIRST_PRINTED)
            if promotable:
                act.order_resource_actions(ws, rsc, "promote", member, "promote",
                                           m.O_IMPLIES_THEN | m.O_RUNNABLE_LEFT
                                           | m.O_IMPLIES_FIRST_PRINTED)
        elif previous is None:
            act.order_starts(ws, rsc, member, m.O_NONE)
            if promotable:
                act.order_resource_actions(ws, rsc, "promote", member, "promote", m.O_NONE)
        else:
            act.order_starts(ws, previous, member, m.O_IMPLIES_THEN | m.O_RUNNABLE_LEFT)
            act.order_stops(ws, member, previous, m.O_OPTIONAL | m.O_RESTART)
            if promotable:
                act.order_resource_actions(ws, previous, "promote", member, "promote",
                                           m.O_IMPLIES_THEN | m.O_RUNNABLE_LEFT)
                act.order_resource_actions(ws, member, "demote", previous, "demote",
                                           m.O_OPTIONAL)
        if member.running_on:
            if ordered and previous is not None and not previous.running_on and \
                    last_active is not None and last_active.running_on:
                act.order_stops(ws, member, last_active, m.O_OPTIONAL)
            last_active = member
        previous = member


def internal_constraints(ws: WorkingSet, rsc: Resource) -> None:
    """rsc->cmds->internal_constraints."""
    rsc.methods.internal_constraints(ws, rsc)


def group_create_actions(ws: WorkingSet, rsc: Resource) -> None:
    for member in rsc.children:
        create_actions(ws, member)
    for task in ("start", "running", "stop", "stopped"):
        _group_pseudo(ws, rsc, task)
    if is_true(rsc.meta.get("promotable")):
        for task in ("demote", "demoted", "promote", "promoted"):
            _group_pseudo(ws, rsc, task)


def _group_pseudo(ws: WorkingSet, rsc: Resource, task: str) -> Action:
    op = act.custom_action(ws, rsc, op_key(rsc.id, task, 0), task, None, True, True)
    op.flags |= A_PSEUDO | A_RUNNABLE
    return op


def create_actions(ws: WorkingSet, rsc: Resource) -> None:
    """rsc->cmds->create_actions."""
    rsc.methods.create_actions(ws, rsc)


# ------------------------------------------------------------------------------------------------
# configuration changes recorded in history (pcmk__handle_rsc_config_changes)

def _agent_changed(ws: WorkingSet, rsc: Resource, node: Node, entry: XNode,
                   active: bool) -> bool:
    if rsc.xml.values_of(_AGENT_FIELDS) == entry.values_of(_AGENT_FIELDS):
        return False  # (the loop below finds nothing: six look-ups for 9,700 active entries)
    changed = False
    for attr in ("type", "class", "provider"):
        value, old = rsc.xml.get(attr), entry.get(attr)
        if value == old:
            continue
        changed = True
        act.trigger_unfencing(ws, rsc, node, "Device definition changed", None)
    if changed and active:
        act.stop_action(ws, rsc, node, False)
        rsc.start_pending = True
    return changed


def _force_restart(ws: WorkingSet, rsc: Resource, task: str, interval: int,
                   node: Node) -> None:
    key = op_key(rsc.id, task, interval)
    required = act.custom_action(ws, rsc, key, task, None, False, True)
    act.set_reason(required, "resource definition change", True)
    act.trigger_unfencing(ws, rsc, node, "Device parameters changed", None)


def check_action_config(ws: WorkingSet, rsc: Resource, node: Node, op: XNode) -> bool:
    rec = op_record(op)  # (the entry's task and interval as status unpacking parsed them)
    task = rec.task or ""
    interval = rec.interval
    if interval > 0:
        # action_in_config: a disabled recurring op is no longer configured (its active
        # instance is cancelled as an orphan)
        if find_op_entry(rsc, op_key(rsc.id, task, interval), include_disabled=False) is None:
            if ws.stop_action_orphans:
                schedule_cancel(ws, rsc, op.get("call-id"), task, interval, node)
            return True
    if interval == 0 and task in ("monitor", "migrate_from", "promote"):
        task = "start"
    result = digest.digest_compare(ws, rsc, node, op)
    if result == digest.DIGEST_RESTART:
        _force_restart(ws, rsc, task, interval, node)
        return True
    if result in (digest.DIGEST_ALL, digest.DIGEST_UNKNOWN):
        if interval > 0:
            act.trigger_unfencing(ws, rsc, node, "Device parameters changed (reschedule)",
                                  None)
            mon = act.custom_action(ws, rsc, op_key(rsc.id, task, interval), task, node,
                                    True, True)
            mon.flags |= m.A_RESCHEDULE
        elif op.get("op-restart-digest") is not None:
            act.trigger_unfencing(ws, rsc, node, "Device parameters changed (reload)", None)
            _schedule_reload(ws, rsc, node)
        else:
            _force_restart(ws, rsc, task, interval, node)
        return True
    return False


def _schedule_reload(ws: WorkingSet, rsc: Resource, node: Optional[Node]) -> None:
    if node is None or not rsc.managed or rsc.failed:
        return
    if rsc.start_pending:
        act.custom_action(ws, rsc, op_key(rsc.id, "stop", 0), "stop", node, False, True)
        return
    rsc.reload = True
    reload = act.custom_action(ws, rsc, op_key(rsc.id, "reload-agent", 0), "reload-agent",
                               node, False, True)
    act.set_reason(reload, "resource definition change", False)
    act.new_ordering(ws, None, None, reload, rsc, op_key(rsc.id, "stop", 0), None,
                     m.O_OPTIONAL | m.O_THEN_CANCELS_FIRST)
    act.new_ordering(ws, None, None, reload, rsc, op_key(rsc.id, "demote", 0), None,
                     m.O_OPTIONAL | m.O_THEN_CANCELS_FIRST)


_ENTRY_FIELDS = ("id", "type", "class", "provider")
_AGENT_FIELDS = ("type", "class", "provider")


def handle_config_changes(ws: WorkingSet) -> None:
    status = ws.cib.find("status")
    if status is None:
        return
    matching = _rscs_matching_index(ws)
    quiet = _quiet_agents(matching)
    rules = _agent_rules(ws, quiet)
    busy = _busy_keys(matching)
    states: dict[str, XNode] = {}
    for node_state in status.children:
        if node_state.tag == "node_state" and node_state.get("uname") is not None:
            states.setdefault(node_state.get("uname") or "", node_state)
    for node in ws.nodes:
        if not (node.maintenance or node.available()):
            continue
        state = states.get(node.uname)
        if state is None:
            continue
        lrm = state.find("lrm")
        rscs = None if lrm is None else lrm.find("lrm_resources")
        if rscs is None:
            continue
        for entry in _entries_to_check(_entry_index(rscs), busy.get(node, _NO_KEYS), rules):
            facts = entry.rec
            if facts.__class__ is tuple:
                ident, (kind, cls, provider) = facts
            else:
                ident, kind, cls, provider = entry.values_of(_ENTRY_FIELDS)
            for rsc in matching.get(ident or "", ()):
                if rsc.variant != PRIMITIVE:
                    continue
                if not rsc.orphan and node not in rsc.running_on:
                    # where it is not active only an agent change matters: check inline
                    xml = rsc.xml
                    if kind == xml.get("type") and cls == xml.get("class") and \
                            provider == xml.get("provider"):
                        continue
                _process_rsc_history(ws, entry, rsc, node, calculate_active_ops,
                                     get_failcount)


def _entry_index(rscs: XNode) -> EntryIndex:
    index = rscs.rec
    if index.__class__ is not EntryIndex or not index.valid_for(rscs):
        index = rscs.rec = new_index(rscs)
    return index


# (the ids whose agent is checked, the (id, agent) pairs that agree with the configuration)
AgentRules = tuple[frozenset, frozenset]


def _agent_rules(ws: WorkingSet, quiet: dict[str, object]) -> AgentRules:
    """The rules of _quiet_agents as two sets; the previous run's object when they are equal
    (a warm core's `ws.carry`: the same configuration), so that each entry index keeps what it
    derived from them."""
    rules = (frozenset(key for key, agent in quiet.items() if agent is not _ANY_AGENT),
             frozenset((key, agent) for key, agent in quiet.items() if agent.__class__ is tuple))
    last = ws.carry.get("agent_rules")
    if last is not None and last == rules:
        return last
    ws.carry["agent_rules"] = rules
    return rules


def _entries_to_check(index: EntryIndex, here: frozenset | set[str],
                      rules: AgentRules) -> list[XNode]:
    """The entries of one node that handle_config_changes must read, in document order: all
    but the probe-only ones whose id is not active on the node and whose agent is the one
    configured for it (or no primitive answers to the id)."""
    children = index.children
    if index.rules is not rules:
        checked, agreed = rules
        index.odd = tuple(index.first[facts[0]] for facts in set(index.plan).difference(agreed)
                          if facts.__class__ is tuple and facts[0] in checked)
        index.rules = rules
    first = index.first
    chosen = set(index.loose)
    chosen.update(index.odd)
    for ident in here:
        pos = first.get(ident)
        if pos is not None:
            chosen.add(pos)
    return [children[pos] for pos in sorted(chosen)]


_NO_KEYS: frozenset = frozenset()
_ANY_AGENT = object()  # no primitive answers to the id: nothing to check


def _quiet_agents(matching: dict[str, list[Resource]]) -> dict[str, object]:
    """For each id of the matching index, the one (type, class, provider) that its primitives
    share when none of them is an orphan (a probe-only entry naming that agent, where none of
    them is active, needs no check), `_ANY_AGENT` when no primitive answers to it, None when
    every entry must be checked. Computed once per transition, not per node and entry (300,000
    entries at 32 nodes / 10,000 resources)."""
    quiet: dict[str, object] = {}
    for key, rscs in matching.items():
        agent: object = _ANY_AGENT
        for rsc in rscs:
            if rsc.variant != PRIMITIVE:
                continue
            mine = rsc.xml.values_of(_AGENT_FIELDS)  # (type, class, provider)
            if rsc.orphan or (agent is not _ANY_AGENT and agent != mine):
                agent = None
                break
            agent = mine
        quiet[key] = agent
    return quiet


def _busy_keys(matching: dict[str, list[Resource]]) -> dict[Node, set[str]]:
    """Per node, the ids of the matching index that name a primitive active there (their
    entries are checked in full)."""
    busy: dict[Node, set[str]] = {}
    for key, rscs in matching.items():
        for rsc in rscs:
            if rsc.variant == PRIMITIVE:
                for node in rsc.running_on:
                    busy.setdefault(node, set()).add(key)
    return busy


def _rscs_matching_index(ws: WorkingSet) -> dict[str, list[Resource]]:
    """pcmk__rscs_matching_id for every id at once: id or clone name -> resources."""
    index: dict[str, list[Resource]] = {}

    def visit(rsc: Resource) -> None:
        index.setdefault(rsc.id, []).insert(0, rsc)
        if rsc.clone_name is not None and rsc.clone_name != rsc.id:
            index.setdefault(rsc.clone_name, []).insert(0, rsc)
        for child in rsc.children:
            visit(child)
    for rsc in ws.resources:
        visit(rsc)
    return index


def _process_rsc_history(ws: WorkingSet, entry: XNode, rsc: Resource, node: Node,
                         calculate_active_ops, get_failcount) -> None:
    if rsc.orphan:
        if not (rsc.top.variant == CLONE and not rsc.top.unique):
            _schedule_cleanup(ws, rsc, node, False)
        return
    if node not in rsc.running_on:
        if _agent_changed(ws, rsc, node, entry, False):
            _schedule_cleanup(ws, rsc, node, False)
        return
    if _agent_changed(ws, rsc, node, entry, True):
        _schedule_cleanup(ws, rsc, node, False)
    known = ws.history.get((rsc, node))
    if known is not None and known[0] is entry:
        ops = known[1]
    else:
        ops = sort_ops([op for op in entry.children if op.tag == "lrm_rsc_op"])
    start_index, stop_index = calculate_active_ops(ops)
    if start_index < stop_index:
        return
    for offset, op in enumerate(ops):
        if offset < start_index:
            continue
        task = op.task
        interval = op.interval
        if interval > 0 and (rsc.maintenance or node.maintenance):
            schedule_cancel(ws, rsc, op.xml.get("call-id"), task or "", interval, node)
        elif interval > 0 or task in ("monitor", "start", "promote", "migrate_from"):
            if check_action_config(ws, rsc, node, op.xml) and get_failcount(ws, node, rsc)[0]:
                act.clear_failcount(ws, rsc, node, "action definition changed")
