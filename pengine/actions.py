"""Creating and finding actions, and the raw ordering links between them.

`custom_action` is Pacemaker's: an action is identified by its key (`rsc_task_interval`) and node;
asking again for an existing one returns it (and can make it mandatory). New resource actions get
their failure handling, timeout and start requirement from the configured `<op>` (unpack_operation)
and are marked runnable or not from node state and quorum. Action ids are allocated in creation
order because the transition graph and its synapse ids must be deterministic.
"""

from __future__ import annotations

from core.cib.rules import RuleContext, unpack_nvpairs
from core.cib.status import op_key, parse_op_key
from pengine import digest
from pengine import model as m
from pengine.model import (A_DC, A_OPTIONAL, A_PSEUDO, A_RUNNABLE, Action, ActionList, Node,
                           Ordering,
                           Resource, WorkingSet)
from pengine.opconfig import op_config

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Iterable, Optional

# ------------------------------------------------------------------------------------------------
# finding actions

def find_actions_casei(actions: list[Action], key: str, node: Optional[Node]) -> list[Action]:
    """find_actions as Pacemaker's compares keys (pcmk__str_casei), where an order's action or
    an op's name is in another case (first-action="Start", name="Monitor":
    WorkingSet.odd_case_actions says there is one): a key the index misses is looked for in
    any case among the resource's actions."""
    found = find_actions(actions, key, node)
    if not found:
        wanted = key.lower()
        for uuid in {a.uuid for a in actions if a.uuid.lower() == wanted and a.uuid != key}:
            found.extend(find_actions(actions, uuid, node))
        found.sort(key=lambda a: a.id)
    return found


def find_actions(actions: list[Action], key: str, node: Optional[Node]) -> list[Action]:
    """find_actions: by key; with a node also matches (and assigns) node-less actions."""
    if isinstance(actions, ActionList):
        if node is not None:
            on_node = actions.by_key_node.get((key, node))
            floating = actions.by_key_node.get((key, None))
            if not floating:
                return list(on_node) if on_node else []
            found = sorted((on_node or []) + floating, key=lambda a: a.id)
            for action in floating[:]:
                actions.assign_node(action, node)
            return found
        # by key alone: the index holds exactly the actions with that key, in creation order
        return list(actions.by_key.get(key, ()))
    result = []
    for action in actions:
        if action.uuid != key:
            continue
        if node is None:
            result.append(action)
        elif action.node is None:
            action.node = node
            result.append(action)
        elif action.node is node:
            result.append(action)
    return result


def _first_found(actions: list[Action], key: str, node: Optional[Node]) -> Optional[Action]:
    """find_actions(actions, key, node)[0] (or None), with its effect (node-less actions of
    the key given the node), without the copy of an index's list that find_actions returns:
    custom_action reads only the first, 52,000 times a transition at 32/10000."""
    if isinstance(actions, ActionList):
        if node is None:
            found = actions.by_key.get(key)
            return found[0] if found else None
        if not actions.by_key_node.get((key, None)):
            found = actions.by_key_node.get((key, node))
            return found[0] if found else None
    found = find_actions(actions, key, node)
    return found[0] if found else None


def find_actions_exact(actions: list[Action], key: str, node: Optional[Node],
                       casei: bool = False) -> list[Action]:
    """find_actions_exact: by key on that node (with `casei`, WorkingSet.odd_case_actions,
    the key in any case, as pcmk__str_casei compares it)."""
    if node is None:
        return []
    if isinstance(actions, ActionList):
        found = list(actions.by_key_node.get((key, node), ()))
    else:
        found = [a for a in actions if a.node is node and a.uuid == key]
    if casei and not found:
        wanted = key.lower()
        found = [a for a in actions if a.node is node and a.uuid.lower() == wanted]
    return found


def find_first_action(actions: list[Action], uuid: Optional[str], task: Optional[str],
                      node: Optional[Node]) -> Optional[Action]:
    """The newest matching action (Pacemaker prepends to its lists)."""
    if isinstance(actions, ActionList):
        # by key alone, the key's index list is the answer (a key never changes); by task,
        # the task is checked again (a cancel action changes its task after being indexed).
        # The orderings' flag propagation asks this ~1,800 times a transition at 3/100.
        if uuid is not None:
            found = actions.by_key.get(uuid)
            if not found:
                return None
            if task is None:
                if node is None:
                    return found[-1]
                for action in reversed(found):
                    if action.node is node:
                        return action
                return None
            actions = found
        elif task is not None:
            found = actions.by_task.get(task)
            if not found:
                return None
            for action in reversed(found):
                if action.task == task and (node is None or action.node is node):
                    return action
            return None
    for action in reversed(actions):
        if uuid is not None and action.uuid != uuid:
            continue
        if task is not None and action.task != task:
            continue
        if node is None:
            return action
        if action.node is node:
            return action
    return None


def resource_actions(rsc: Resource, node: Optional[Node], task: str,
                     require_node: bool) -> list[Action]:
    key = op_key(rsc.id, task, 0)
    if key not in rsc.actions.by_key:
        # no action of the key on any node (every indexed action is in by_key): nothing found
        # and no node-less action to give the node (the summary asks 50,000 times a
        # transition at 32/10000, mostly for promote, demote and migrate_from)
        return []
    if require_node:
        return find_actions_exact(rsc.actions, key, node)
    return find_actions(rsc.actions, key, node)


# ------------------------------------------------------------------------------------------------
# creating actions

def set_reason(action: Action, reason: Optional[str], overwrite: bool) -> None:
    if action.reason is None or overwrite:
        action.reason = reason


def effective_quorum_policy(ws: WorkingSet, rsc: Resource) -> int:
    if ws.have_quorum:
        return m.NQ_IGNORE
    policy = ws.no_quorum_policy
    if policy == m.NQ_DEMOTE:
        if rsc.role in (m.ROLE_PROMOTED, m.ROLE_UNPROMOTED):
            if rsc.next_role > m.ROLE_UNPROMOTED:
                rsc.next_role = m.ROLE_UNPROMOTED
            return m.NQ_IGNORE
        return m.NQ_STOP
    return policy


def rsc_is_active(rsc: Resource) -> bool:
    """rsc->fns->active(rsc, TRUE)."""
    if rsc.variant == m.PRIMITIVE:
        return bool(rsc.running_on)
    return any(rsc_is_active(child) for child in rsc.children)


def _update_runnable(ws: WorkingSet, action: Action, for_graph: bool) -> None:
    if action.flags & A_PSEUDO:
        return
    node = action.node
    rsc = action.rsc
    assert rsc is not None
    if node is None:
        action.flags &= ~A_RUNNABLE
    elif not (action.flags & A_DC) and not node.online:
        action.flags &= ~A_RUNNABLE
        if rsc.managed and for_graph and action.task == "stop" and not node.unclean:
            fence_node(ws, node, "stop is unrunnable", False)
    elif not (action.flags & A_DC) and node.pending:
        action.flags &= ~A_RUNNABLE
    elif action.needs == m.NEEDS_NOTHING:
        set_reason(action, None, True)
        action.flags |= A_RUNNABLE
    else:
        policy = m.NQ_IGNORE if ws.have_quorum else effective_quorum_policy(ws, rsc)
        if policy == m.NQ_STOP:
            action.flags &= ~A_RUNNABLE
            set_reason(action, "no quorum", True)
        elif policy == m.NQ_FREEZE:
            if not rsc_is_active(rsc) or rsc.next_role > rsc.role:
                action.flags &= ~A_RUNNABLE
                set_reason(action, "quorum freeze", True)
        else:
            action.flags |= A_RUNNABLE


def custom_action(ws: WorkingSet, rsc: Optional[Resource], key: str, task: str,
                  node: Optional[Node], optional: bool, save: bool = True) -> Action:
    action: Optional[Action] = None
    if save:
        if rsc is not None:
            # find_existing_action compares keys case-insensitively (an op named "Monitor");
            # otherwise the first by key read from the index, without a copy (_first_found)
            if ws.odd_case_actions:
                matches = find_actions_casei(rsc.actions, key, node)
                action = matches[0] if matches else None
            else:
                actions = rsc.actions
                if node is None:  # (_first_found's answer read here: 52,000 calls at 32/10000)
                    found = actions.by_key.get(key)
                    action = found[0] if found else None
                elif (key, None) not in actions.by_key_node:
                    found = actions.by_key_node.get((key, node))
                    action = found[0] if found else None
                else:
                    action = _first_found(actions, key, node)
        else:
            action = ws.singletons.get(key)
            if action is not None and node is not None and action.node is None:
                action.node = node
            elif action is not None and node is not None and action.node is not node:
                action = None
    if action is None:
        action = _new_action(ws, key, task, rsc, node, optional, save)
    _update_optional(action, optional)
    if rsc is not None:
        # (_unpack_node_attributes' own test first: once per action, asked 49,000 times)
        if action.node is not None and not (action.flags & m.A_HAVE_NODE_ATTRS) and \
                action.op_entry is not None:
            _unpack_node_attributes(ws, action)
        _update_runnable(ws, action, save)
        if save:
            if task == "stop":
                rsc.stopping = True
            elif task == "start":
                rsc.starting = bool(action.flags & A_RUNNABLE)
    return action


def _update_optional(action: Action, optional: bool) -> None:
    """update_action_optional: a non-recurring action of an unmanaged resource on a node is
    made optional each time it is asked for (whatever was decided before: the cluster does
    not act for such a resource); otherwise a requirement is kept."""
    rsc = action.rsc
    if rsc is not None and action.node is not None and not (action.flags & A_PSEUDO) \
            and not rsc.managed and "interval" not in action.meta:
        action.flags |= A_OPTIONAL
    elif not optional:
        action.flags &= ~A_OPTIONAL


def _unpack_node_attributes(ws: WorkingSet, action: Action) -> None:
    """unpack_action_node_attributes: the operation's own instance attributes, their rules
    evaluated with the action's node attributes, once (the graph passes them to the agent)."""
    if action.flags & m.A_HAVE_NODE_ATTRS or action.op_entry is None:
        return
    assert action.node is not None
    action.flags |= m.A_HAVE_NODE_ATTRS
    unpack_nvpairs(action.op_entry, "instance_attributes",
                   RuleContext(now=ws.now, node_attrs=action.node.attrs,
                               next_change=ws.next_change), ws.ids,
                   into=action.extra)


def _new_action(ws: WorkingSet, key: str, task: str, rsc: Optional[Resource],
                node: Optional[Node], optional: bool, save: bool) -> Action:
    flags = A_RUNNABLE | (A_OPTIONAL if optional else 0)
    if task == "lrm_delete":
        flags |= A_DC
    action = Action(key, task, rsc, node, flags)
    if rsc is not None:
        interval = 0
        tail = key.rpartition("_")[2]
        if tail.isdigit():
            interval = int(tail)
        action.interval_ms = interval
        cfg = op_config(ws, rsc, key, task, interval)
        action.op_entry = cfg.op_entry
        action.meta = dict(cfg.meta)
        action.on_fail = cfg.on_fail
        action.fail_role = cfg.fail_role
        action.needs = cfg.needs
    if save:
        action.id = ws.action_id
        ws.action_id += 1
        ws.actions.append(action)
        if rsc is None:
            ws.singletons[key] = action
        else:
            rsc.actions.add(action)
            ws.action_changes += 1  # (the stamp of ordering._member_actions)
    return action


def pseudo_op(ws: WorkingSet, name: str) -> Action:
    """get_pseudo_op: a node-less, resource-less pseudo action (singleton by name)."""
    action = ws.singletons.get(name)
    if action is None:
        action = custom_action(ws, None, name, name, None, True, True)
        action.flags |= A_PSEUDO | A_RUNNABLE
    return action


def stop_action(ws: WorkingSet, rsc: Resource, node: Optional[Node], optional: bool) -> Action:
    return custom_action(ws, rsc, op_key(rsc.id, "stop", 0), "stop", node, optional)


def start_action(ws: WorkingSet, rsc: Resource, node: Optional[Node], optional: bool) -> Action:
    return custom_action(ws, rsc, op_key(rsc.id, "start", 0), "start", node, optional)


def demote_action(ws: WorkingSet, rsc: Resource, node: Optional[Node], optional: bool) -> Action:
    return custom_action(ws, rsc, op_key(rsc.id, "demote", 0), "demote", node, optional)


def promote_action(ws: WorkingSet, rsc: Resource, node: Optional[Node],
                   optional: bool) -> Action:
    return custom_action(ws, rsc, op_key(rsc.id, "promote", 0), "promote", node, optional)


def add_expected_result(action: Action, rc: int) -> None:
    action.meta["op_target_rc"] = str(rc)


# ------------------------------------------------------------------------------------------------
# fencing helpers used while unpacking

def can_fence(ws: WorkingSet, node: Optional[Node]) -> bool:
    if not ws.stonith_enabled or not ws.have_stonith_resource:
        return False
    if ws.have_quorum or ws.no_quorum_policy == m.NQ_IGNORE:
        return True
    if node is None:
        return False
    return node.online


def fence_op(ws: WorkingSet, node: Node, op: Optional[str], optional: bool,
             reason: Optional[str], priority_delay: bool) -> Action:
    """pe_fence_op: the singleton `stonith-<node>-<op>` action."""
    if op is None:
        op = ws.stonith_action
    key = f"stonith-{node.uname}-{op}"
    action = ws.singletons.get(key)
    if action is None:
        action = custom_action(ws, None, key, "stonith", node, True, True)
        action.meta["on_node"] = node.uname
        action.meta["on_node_uuid"] = node.id
        action.meta["stonith_action"] = op
        if ws.enable_unfencing and _unfencing_digests(ws, node, action):
            optional = False
    if ws.priority_fencing_delay > 0 and (priority_delay
                                          or "priority_fencing_delay" in action.meta):
        # added even when 0 for the node, so that it takes precedence over a device's own
        # pcmk_delay_base/max; recomputed when asked again (the nodes' priorities are known)
        action.meta["priority_fencing_delay"] = str(node_priority_fencing_delay(ws, node))
    if not optional and can_fence(ws, node):
        action.flags &= ~A_OPTIONAL
        set_reason(action, reason, False)
    elif reason is not None and action.reason is None:
        action.reason = reason
    return action


def node_priority_fencing_delay(ws: WorkingSet, node: Node) -> int:
    """node_priority_fencing_delay (seconds): priority-fencing-delay applies to a lost cluster
    member when its partition had at most half of the members and it ran the resources of
    the highest priority (its node priority the highest, and not all nodes equal); otherwise
    0 (the node survives in our partition, we have the majority, or priorities are equal)."""
    if ws.priority_fencing_delay <= 0 or node.type != "member" or node.online:
        return 0
    members = [n for n in ws.nodes if n.type == "member"]
    online = sum(1 for n in members if n.online)
    if online > len(members) // 2:
        return 0
    top = max(n.priority for n in members)
    lowest = min(n.priority for n in members)
    if lowest == top or node.priority < top:
        return 0
    return ws.priority_fencing_delay


def _unfencing_digests(ws: WorkingSet, node: Node, action: Action) -> bool:
    """pe_fence_op with unfencing in use: note the unfencing devices' current parameter
    digests on the fencing action (`digests_all`, `digests_secure`: "id:agent:digest," each)
    so that the node can record them; True if a device's definition differs from the one the
    node recorded when it was last unfenced (its `#digests-all`/`#digests-secure`
    attributes; pe__compare_fencing_digest), which makes the fencing action required."""
    changed = False
    digests_all: list[str] = []
    digests_secure: list[str] = []
    for device in digest.unfencing_devices(ws.resources):
        agent = device.xml.get("type") or ""
        calc_all, calc_secure = digest.fencing_digests(ws, device, node)
        summary_all = node.attrs.get("#digests-all")
        if summary_all is not None and f"{device.id}:{agent}:{calc_all}" not in summary_all:
            summary_secure = node.attrs.get("#digests-secure") or ""
            if f"{device.id}:{agent}:{calc_secure}" not in summary_secure:
                changed = True
        digests_all.append(f"{device.id}:{agent}:{calc_all},")
        digests_secure.append(f"{device.id}:{agent}:{calc_secure},")
    action.meta["digests_all"] = "".join(digests_all)
    action.meta["digests_secure"] = "".join(digests_secure)
    return changed


def fence_node(ws: WorkingSet, node: Node, reason: str, priority_delay: bool) -> None:
    """pe_fence_node for cluster nodes: mark unclean and create the (optional) fence action."""
    if node.unclean:
        return
    node.unclean = True
    fence_op(ws, node, None, True, reason, priority_delay)


def clear_failcount(ws: WorkingSet, rsc: Resource, node: Node, reason: str) -> Action:
    key = op_key(rsc.id, "clear_failcount", 0)
    action = custom_action(ws, rsc, key, "clear_failcount", node, False, True)
    action.meta["op_no_wait"] = "true"
    set_reason(action, reason, False)
    return action


# ------------------------------------------------------------------------------------------------
# orderings

def order_actions(first: Optional[Action], then: Optional[Action], flags: int) -> bool:
    """order_actions: link two actions (no duplicate link with overlapping flags)."""
    if flags == m.O_NONE or first is None or then is None:
        return False
    assert first is not then, first
    for wrapper in first.after:
        if wrapper[0] is then and (wrapper[1] & flags):
            return False
    first.after.append([then, flags])
    then.before.append([first, flags])
    return True


def new_ordering(ws: WorkingSet, first_rsc: Optional[Resource], first_task: Optional[str],
                 first_action: Optional[Action], then_rsc: Optional[Resource],
                 then_task: Optional[str], then_action: Optional[Action], flags: int) -> None:
    """pcmk__new_ordering: remembered, applied later by ordering.apply_orderings."""
    if first_rsc is None and first_action is not None:
        first_rsc = first_action.rsc
    if then_rsc is None and then_action is not None:
        then_rsc = then_action.rsc
    if first_task is None and first_action is not None:
        first_task = first_action.uuid
    if then_task is None and then_action is not None:
        then_task = then_action.uuid
    order = Ordering(ws.order_id, first_rsc, first_task, first_action, then_rsc, then_task,
                     then_action, flags)
    ws.orderings.append(order)
    ws.order_id += 1
    # (order_migration_equivalents orders nothing unless one side may migrate: asked only
    # then, not for each of 66,000 orderings a transition at 32/10000)
    if (first_rsc is not None and first_rsc.allow_migrate) or \
            (then_rsc is not None and then_rsc.allow_migrate):
        order_migration_equivalents(ws, order)


def order_resource_actions(ws: WorkingSet, first: Resource, first_task: str, then: Resource,
                           then_task: str, flags: int) -> None:
    new_ordering(ws, first, op_key(first.id, first_task, 0), None, then,
                 op_key(then.id, then_task, 0), None, flags)


def order_starts(ws: WorkingSet, first: Resource, then: Resource, flags: int) -> None:
    order_resource_actions(ws, first, "start", then, "start", flags)


def order_stops(ws: WorkingSet, first: Resource, then: Resource, flags: int) -> None:
    order_resource_actions(ws, first, "stop", then, "stop", flags)


def iter_nodes(actions: Iterable[Action]) -> list[Node]:
    return [a.node for a in actions if a.node is not None]


# ------------------------------------------------------------------------------------------------
# unfencing

def node_unfenced(node: Node) -> bool:
    value = node.attrs.get("#node-unfenced")
    return value is not None and value != "0"


def trigger_unfencing(ws: WorkingSet, rsc: Optional[Resource], node: Optional[Node],
                      reason: str, dependency: Optional[Action]) -> None:
    if not ws.enable_unfencing:
        return
    if rsc is not None and not rsc.fence_device:
        return
    if node is not None and node.online and not node.unclean and not node.shutdown:
        unfence = fence_op(ws, node, "on", False, reason, False)
        if dependency is not None:
            order_actions(unfence, dependency, m.O_OPTIONAL)
    elif rsc is not None:
        for each in list(rsc.allowed):
            if each.online and not each.unclean and not each.shutdown:
                trigger_unfencing(ws, rsc, each, reason, dependency)


def order_vs_unfence(ws: WorkingSet, rsc: Resource, node: Optional[Node], action: Action,
                     order: int) -> None:
    """pcmk__order_vs_unfence: unfence a node before probing/starting what needs it."""
    if node is None:
        return
    if (rsc.fence_device and ws.enable_unfencing) or rsc.needs_unfencing:
        unfence = fence_op(ws, node, "on", True, None, False)
        order_actions(unfence, action, order)
        if not node_unfenced(node):
            trigger_unfencing(ws, None, node, f"required by {rsc.id} {action.task}", None)


def _is_parent(child: Resource, rsc: Resource) -> bool:
    parent = child.parent
    while parent is not None:
        if parent is rsc:
            return True
        parent = parent.parent
    return False


def _task(action: Optional[Action], key: Optional[str]) -> Optional[str]:
    if action is not None:
        return action.task
    if key is not None:
        parsed = parse_op_key(key)
        if parsed is not None:
            return parsed[1]
    return None


def order_migration_equivalents(ws: WorkingSet, order: Ordering) -> None:
    """pcmk__order_migration_equivalents: an ordering between two unrelated resources, one of
    which may migrate, also orders the migration actions that replace a start or stop."""
    first, then = order.first_rsc, order.then_rsc
    if first is None or then is None or first is then or _is_parent(first, then) \
            or _is_parent(then, first):
        return
    first_migratable, then_migratable = first.allow_migrate, then.allow_migrate
    if not first_migratable and not then_migratable:
        return
    first_task = _task(order.first_action, order.first_task)
    then_task = _task(order.then_action, order.then_task)

    def order_keys(first_key: str, then_key: str, flags: int) -> None:
        new_ordering(ws, first, op_key(first.id, first_key, 0), None,
                         then, op_key(then.id, then_key, 0), None, flags)

    if first_task == "start" and then_task == "start":
        flags = m.O_OPTIONAL
        if first_migratable and then_migratable:
            order_keys("migrate_from", "migrate_to", flags)  # A migrate_from then B migrate_to
        if then_migratable:
            if first_migratable:
                flags |= m.O_APPLY_FIRST_NON_MIGRATABLE
            order_keys("start", "migrate_to", flags)  # unless A's start is part of a migration
    elif then_migratable and first_task == "stop" and then_task == "stop":
        flags = m.O_OPTIONAL
        if first_migratable:
            flags |= m.O_APPLY_FIRST_NON_MIGRATABLE
        order_keys("stop", "migrate_to", flags)  # A moving by restart: B migrates after A stops
        if then.partial_migration_target is not None:
            order_keys("stop", "migrate_from", flags)
    elif first_task == "promote" and then_task == "start":
        if then_migratable:
            order_keys("promote", "migrate_to", m.O_OPTIONAL)
    elif first_task == "demote" and then_task == "stop":
        if then_migratable:
            order_keys("demote", "migrate_to", m.O_OPTIONAL)
            if then.partial_migration_target is not None:
                order_keys("demote", "migrate_from", m.O_OPTIONAL)
