"""Clone notifications (`notify=true`), scheduled as Pacemaker 2.1.5 does (lib/pengine/pe_notif.c).

A clone with notifications tells every instance before and after its instances start, stop,
promote or demote. For each of those clone actions there are four pseudo actions, ordered

    <clone>_pre_notify_<task>_0 -> <clone>_confirmed-pre_notify_<task>_0 -> <clone>_<task>_0
    <clone>_<task>ed_0 -> <clone>_post_notify_<task>ed_0 -> <clone>_confirmed-post_notify_<task>ed_0

and, at graph time (when every action's flags are final), one `notify` action per instance and
node between each pre/post pair and its confirmation. Every notify action, and every start,
stop, promote and demote of an instance, carries the `notify_*` meta attributes an agent reads
as `OCF_RESKEY_CRM_meta_notify_*`: which instances start, stop, promote, demote, are active,
promoted, unpromoted or inactive, and on which nodes (space-separated, " " when empty).

The data is kept per clone in `rsc.notifications` from action creation (`clone_pseudo_ops`) to
graph creation (`create_notifications`).
"""

from __future__ import annotations

from core.cib.scores import INFINITY
from pengine import actions as act
from pengine import model as m
from pengine.model import A_OPTIONAL, A_PSEUDO, A_RUNNABLE, Action, Node, Resource, WorkingSet
from pengine.values import numeric_key

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

    # (instance, node it is on or None) as Pacemaker's notify_entry_t
    Entry = tuple[Resource, Optional[Node]]


class NotifyData:
    """notify_data_t: the pseudo actions of one clone action and what they tell the instances."""

    __slots__ = ("action", "pre", "pre_done", "post", "post_done", "allowed", "keys",
                 "active", "inactive", "start", "stop", "demote", "promote", "promoted",
                 "unpromoted")

    def __init__(self, task: str) -> None:
        self.action = task
        self.pre: Optional[Action] = None
        self.pre_done: Optional[Action] = None
        self.post: Optional[Action] = None
        self.post_done: Optional[Action] = None
        self.allowed: Optional[dict[Node, int]] = None
        self.keys: dict[str, str] = {}
        self.active: list[Entry] = []
        self.inactive: list[Entry] = []
        self.start: list[Entry] = []
        self.stop: list[Entry] = []
        self.demote: list[Entry] = []
        self.promote: list[Entry] = []
        self.promoted: list[Entry] = []
        self.unpromoted: list[Entry] = []

    def add_key(self, name: str, value: str) -> None:
        """add_notify_env: the first value of a name wins (names are unique in practice)."""
        self.keys.setdefault(name, value)


def notify_key(rsc_id: str, notify_type: str, task: str) -> str:
    """pcmk__notify_key."""
    return f"{rsc_id}_{notify_type}_notify_{task}_0"


def _add_meta(meta: dict[str, str], name: str, value: str) -> None:
    """add_hash_param: never overrides what an action already has (its timeout, say)."""
    meta.setdefault(name, value)


def _pseudo(ws: WorkingSet, rsc: Resource, action: Action, task: str, notify_type: str) -> Action:
    """new_notify_pseudo_action."""
    pseudo = act.custom_action(ws, rsc, notify_key(rsc.id, notify_type, action.task), task, None,
                               bool(action.flags & A_OPTIONAL), True)
    pseudo.flags |= A_PSEUDO
    _add_meta(pseudo.meta, "notify_key_type", notify_type)
    _add_meta(pseudo.meta, "notify_key_operation", action.task)
    return pseudo


def clone_pseudo_ops(ws: WorkingSet, rsc: Resource, task: str, action: Optional[Action],
                     complete: Optional[Action]) -> Optional[NotifyData]:
    """pe__clone_notif_pseudo_ops: the pre/post pseudo actions around `action` .. `complete`."""
    if not rsc.notify:
        return None
    data = NotifyData(task)
    if action is not None:
        data.pre = _pseudo(ws, rsc, action, "notify", "pre")
        data.pre.flags |= A_RUNNABLE
        _add_meta(data.pre.meta, "notify_type", "pre")
        _add_meta(data.pre.meta, "notify_operation", task)
        data.pre_done = _pseudo(ws, rsc, action, "notified", "confirmed-pre")
        data.pre_done.flags |= A_RUNNABLE
        _add_meta(data.pre_done.meta, "notify_type", "pre")
        _add_meta(data.pre_done.meta, "notify_operation", task)
        act.order_actions(data.pre, data.pre_done, m.O_OPTIONAL)
        act.order_actions(data.pre_done, action, m.O_OPTIONAL)
    if complete is not None:
        runnable = bool(complete.flags & A_RUNNABLE)
        data.post = _pseudo(ws, rsc, complete, "notify", "post")
        data.post_done = _pseudo(ws, rsc, complete, "notified", "confirmed-post")
        for pseudo in (data.post, data.post_done):
            pseudo.priority = INFINITY
            if runnable:
                pseudo.flags |= A_RUNNABLE
            else:
                pseudo.flags &= ~A_RUNNABLE
            _add_meta(pseudo.meta, "notify_type", "post")
            _add_meta(pseudo.meta, "notify_operation", task)
        act.order_actions(complete, data.post, m.O_IMPLIES_THEN)
        act.order_actions(data.post, data.post_done, m.O_IMPLIES_THEN)
    if action is not None and complete is not None:
        act.order_actions(data.pre_done, data.post, m.O_OPTIONAL)
    return data


# ------------------------------------------------------------------------------------------------
# what the instances are told


def _collect(rsc: Resource, activity: bool, data: NotifyData) -> None:
    """collect_resource_data: each instance's state and, with activity, its required actions."""
    if data.allowed is None:
        data.allowed = rsc.allowed
    if rsc.children:
        for child in rsc.children:
            _collect(child, activity, data)
        return
    node = rsc.running_on[0] if rsc.running_on else None
    entry = (rsc, node)
    if rsc.role == m.ROLE_STOPPED:
        data.inactive.append(entry)
    elif rsc.role == m.ROLE_STARTED:
        data.active.append(entry)
    elif rsc.role == m.ROLE_UNPROMOTED:
        data.unpromoted.append(entry)
        data.active.append(entry)
    elif rsc.role == m.ROLE_PROMOTED:
        data.promoted.append(entry)
        data.active.append(entry)
    else:
        # Pacemaker logs this as a bug and leaves the instance out
        rsc.ws.warnings.append(f"Resource {rsc.id} role ({m.role2text(rsc.role)}) is not "
                               "supported for notifications")
        return
    if not activity:
        return
    lists = {"start": data.start, "stop": data.stop, "promote": data.promote,
             "demote": data.demote}
    for op in reversed(rsc.actions):
        if op.flags & A_OPTIONAL or op.node is None:
            continue
        target = lists.get(op.task)
        if target is None:
            continue
        if op.task == "stop" and op.node.unclean:
            pass  # listed anyway (additional noise if the node can't be fenced)
        elif not (op.flags & A_RUNNABLE):
            continue
        target.append((rsc, op.node))


def _entry_key(entry: Entry) -> tuple:
    rsc, node = entry
    return (rsc.id, "" if node is None else node.id)


def _to_strings(entries: list[Entry], with_nodes: bool) -> tuple[str, str]:
    """notify_entries_to_strings: sorted by instance id then node id, one word per instance."""
    rsc_names: list[str] = []
    node_names: list[str] = []
    last: Optional[str] = None
    for rsc, node in sorted(entries, key=_entry_key):
        if with_nodes and node is None:
            continue
        if rsc.id == last:
            continue
        last = rsc.id
        rsc_names.append(rsc.id)
        if with_nodes and node is not None:
            node_names.append(node.uname)
    return " ".join(rsc_names) or " ", " ".join(node_names) or " "


def _add_keys(ws: WorkingSet, rsc: Resource, data: NotifyData) -> None:
    """add_notif_keys: the notify_* values, and whether the notifications are required."""
    required = False
    names, unames = _to_strings(data.stop, True)
    if names != " " and data.action == "stop":
        required = True
    data.add_key("notify_stop_resource", names)
    data.add_key("notify_stop_uname", unames)
    for task, entries in (("start", data.start), ("demote", data.demote),
                          ("promote", data.promote)):
        if entries and data.action == task:
            required = True
        names, unames = _to_strings(entries, True)
        data.add_key(f"notify_{task}_resource", names)
        data.add_key(f"notify_{task}_uname", unames)
    names, unames = _to_strings(data.active, True)
    data.add_key("notify_active_resource", names)
    data.add_key("notify_active_uname", unames)
    names, unames = _to_strings(data.unpromoted, True)
    for word in ("unpromoted", "slave"):  # "slave": for agents older than Pacemaker 2.1
        data.add_key(f"notify_{word}_resource", names)
        data.add_key(f"notify_{word}_uname", unames)
    names, unames = _to_strings(data.promoted, True)
    for word in ("promoted", "master"):
        data.add_key(f"notify_{word}_resource", names)
        data.add_key(f"notify_{word}_uname", unames)
    names, _ = _to_strings(data.inactive, False)
    data.add_key("notify_inactive_resource", names)
    allowed = sorted((data.allowed or {}).keys(), key=lambda n: numeric_key(n.uname))
    data.add_key("notify_available_uname", " ".join(n.uname for n in allowed) or " ")
    all_names = " ".join(n.uname for n in ws.nodes) or " "
    if rsc.meta.get("container-attribute-target") == "host":
        # guest nodes would list their host here; this engine has no guest nodes
        data.add_key("notify_all_hosts", all_names)
    data.add_key("notify_all_uname", all_names)
    if required:
        for pseudo in (data.pre, data.pre_done, data.post, data.post_done):
            if pseudo is not None:
                pseudo.flags &= ~A_OPTIONAL


# ------------------------------------------------------------------------------------------------
# the notify actions


def _add_keys_to(data: NotifyData, action: Action) -> None:
    for name, value in data.keys.items():
        _add_meta(action.meta, name, value)


def _notify_action(ws: WorkingSet, rsc: Resource, node: Node, op: Optional[Action],
                   done: Optional[Action], data: NotifyData) -> Optional[Action]:
    """new_notify_action: the instance's notify on node, between op and its confirmation."""
    if op is None or done is None or not node.online or not (op.flags & A_RUNNABLE):
        return None
    notify_type = op.meta.get("notify_type", "")
    task = op.meta.get("notify_operation", "")
    action = act.custom_action(ws, rsc, notify_key(rsc.id, notify_type, task), op.task, node,
                               bool(op.flags & A_OPTIONAL), True)
    for name, value in op.meta.items():
        _add_meta(action.meta, name, value)
    _add_keys_to(data, action)
    act.order_actions(op, action, m.O_OPTIONAL)
    act.order_actions(action, done, m.O_OPTIONAL)
    return action


def _post_notify_action(ws: WorkingSet, rsc: Resource, node: Node, data: NotifyData) -> None:
    """new_post_notify_action: recurring monitors wait for the post-notifications too."""
    action = _notify_action(ws, rsc, node, data.post, data.post_done, data)
    if action is not None:
        action.priority = INFINITY
    if data.post_done is None:
        return
    for mon in reversed(rsc.actions):
        if mon.task == "cancel" or mon.meta.get("interval", "0") in ("0", ""):
            continue
        act.order_actions(data.post_done, mon, m.O_OPTIONAL)


def _remote_start(action: Action) -> Optional[Action]:
    node = action.node
    if node is None or node.remote_rsc is None:
        return None
    return act.find_first_action(node.remote_rsc.actions, None, "start", None)


def _create_actions(ws: WorkingSet, rsc: Resource, data: NotifyData) -> None:
    """create_notify_actions."""
    if rsc.children:
        for child in rsc.children:
            _create_actions(ws, child, data)
        return
    for op in reversed(rsc.actions):
        if not (op.flags & A_OPTIONAL) and op.node is not None and \
                op.task in ("start", "stop", "promote", "demote"):
            _add_keys_to(data, op)
    task = data.action
    if (task == "start" and not data.start) or (task == "promote" and not data.promote) or \
            (task == "demote" and not data.demote):
        return  # (not so for stop: a stop may be implied by fencing)
    if rsc.role != m.ROLE_STOPPED and task in ("stop", "demote"):
        stop = act.find_first_action(rsc.actions, None, "stop", None)
        for current in rsc.running_on:
            # a stop implied by fencing: the node being fenced is not told
            if stop is not None and stop.flags & A_PSEUDO and \
                    (current.unclean or current.remote_requires_reset):
                continue
            _notify_action(ws, rsc, current, data.pre, data.pre_done, data)
            if task == "demote" or stop is None or stop.flags & A_OPTIONAL:
                _post_notify_action(ws, rsc, current, data)
    if rsc.next_role != m.ROLE_STOPPED and task in ("start", "promote"):
        start = act.find_first_action(rsc.actions, None, "start", None)
        if start is not None:
            remote_start = _remote_start(start)
            if remote_start is not None and not (remote_start.flags & A_RUNNABLE):
                return
        if rsc.allocated_to is None:
            ws.warnings.append(f"Next role '{m.role2text(rsc.next_role)}' but {rsc.id} is "
                               "not allocated")
            return
        if task != "start" or start is None or start.flags & A_OPTIONAL:
            _notify_action(ws, rsc, rsc.allocated_to, data.pre, data.pre_done, data)
        _post_notify_action(ws, rsc, rsc.allocated_to, data)


def create_notifications(ws: WorkingSet, rsc: Resource, data: Optional[NotifyData]) -> None:
    """pe__create_notifications: called at graph time, when the flags are final."""
    if data is None:
        return
    _collect(rsc, True, data)
    _add_keys(ws, rsc, data)
    _create_actions(ws, rsc, data)


def create_clone_notifications(ws: WorkingSet, clone: Resource) -> None:
    """The start, stop, promote and demote notifications of a clone (clone_expand)."""
    notifications = clone.notifications
    for task in ("start", "stop", "promote", "demote"):
        create_notifications(ws, clone, notifications.get(task))
    notifications.clear()


def order_after_fencing(ws: WorkingSet, stop: Action, rsc: Resource, stonith: Action) -> None:
    """pe__order_notifs_after_fencing: a stop implied by fencing still notifies the others,
    after the fencing."""
    data = clone_pseudo_ops(ws, rsc, "stop", None, stonith)
    if data is None:
        return
    _collect(rsc, False, data)
    assert stop.node is not None
    data.add_key("notify_stop_resource", rsc.id)
    data.add_key("notify_stop_uname", stop.node.uname)
    _create_actions(ws, rsc.top, data)
