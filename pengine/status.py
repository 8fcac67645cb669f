"""Unpack the CIB status section: node membership and health, then resource histories.

This decides which nodes are online, unclean (must be fenced), pending, standby or in maintenance,
and for every resource on every node whether it is active, in which role, failed (and with
which on-fail handling), with which fail count. It is Pacemaker 2.1.5's unpack.c step by step,
because the schedule depends on every detail: the order histories are read in, which history
entry "wins", when a probe failure is masked, when a failure has expired.
"""

from __future__ import annotations

from itertools import repeat

from core import lazyre as re
from core.ctools import deque
from core.cib.durations import interval_ms
from core.cib.scores import INFINITY, add_scores
from core.cib.status import (OpRec, op_key, op_record, parse_transition_magic,
                             strip_clone_suffix)
from core.cib.xmltree import XNode
from core.ocfcodes import (OCF_DEGRADED, OCF_DEGRADED_PROMOTED, OCF_ERR_ARGS, OCF_ERR_CONFIGURED,
                           OCF_ERR_INSTALLED, OCF_ERR_PERM, OCF_ERR_UNIMPLEMENTED, OCF_FAILED_PROMOTED,
                           OCF_NOT_RUNNING, OCF_RUNNING_PROMOTED, OCF_SUCCESS)
from pengine import actions as act
from pengine import model as m
from pengine import tickets
from pengine.model import Node, Resource, WorkingSet
from pengine.opconfig import op_config
from pengine.unpack import (add_filler, add_node_attrs, find_node, find_resource_or_instance,
                            resource_location, unpack_resource)
from pengine.values import glib_list_sort, is_true
from pengine.clone_unpack import find_anonymous_clone
from pengine.digest import digest_mismatch
from pengine.entryindex import NOT_AN_ENTRY, EntryIndex, new_index

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Any, Literal, Optional, Sequence

# rc-code values as the history XML spells them (compared as text in the hot unpacking loops)
_NOT_RUNNING_TEXT = str(OCF_NOT_RUNNING)
_RUNNING_TEXTS = (str(OCF_SUCCESS), str(OCF_RUNNING_PROMOTED))


# ------------------------------------------------------------------------------------------------
# nodes

def _shutdown_requested(node: Node) -> bool:
    value = node.attrs.get("shutdown")
    return value is not None and value != "0" and value != ""


def _lower(value: Optional[str]) -> Optional[str]:
    """Membership values are compared case-insensitively (pcmk__str_casei)."""
    return None if value is None else value.lower()


def _online_no_fencing(ws: WorkingSet, state: XNode, node: Node) -> bool:
    join = _lower(state.get("join"))
    in_cluster = state.get("in_ccm")
    is_peer = _lower(state.get("crmd"))
    if not is_true(in_cluster):
        return False
    if is_peer == "online":
        return join == "member"
    if not node.expected_up:
        return False
    act.fence_node(ws, node, "peer is unexpectedly down", False)
    return False


def _online_fencing(ws: WorkingSet, state: XNode, node: Node) -> bool:
    join = _lower(state.get("join"))
    is_peer = _lower(state.get("crmd"))
    in_cluster = state.get("in_ccm")
    exp_state = _lower(state.get("expected")) or "down"
    terminate = node.attrs.get("terminate")
    do_terminate = False
    if is_true(terminate):
        do_terminate = True
    elif terminate:
        do_terminate = terminate[0] != "0" and terminate[0].isdigit()
    online = is_true(in_cluster)
    crmd_online = is_peer == "online"
    if node.shutdown:
        online = crmd_online
    elif in_cluster is None:
        act.fence_node(ws, node, "peer has not been seen by the cluster", False)
    elif join == "banned":  # CRMD_JOINSTATE_NACK
        act.fence_node(ws, node, "peer failed Pacemaker membership criteria", False)
    elif not do_terminate and exp_state == "down":
        if is_true(in_cluster) or crmd_online:
            node.standby = True
            node.pending = True
    elif do_terminate and join == "down" and not is_true(in_cluster) and not crmd_online:
        online = False
    elif not is_true(in_cluster):
        act.fence_node(ws, node, "peer is no longer part of the cluster", True)
    elif not crmd_online:
        act.fence_node(ws, node, "peer process is no longer available", False)
    elif do_terminate:
        act.fence_node(ws, node, "termination was requested", False)
    elif join == "member":
        pass
    elif join in ("pending", "down"):
        node.standby = True
        node.pending = True
    else:
        act.fence_node(ws, node, "peer was in an unknown state", False)
    return online


def _determine_online(ws: WorkingSet, state: XNode, node: Node) -> None:
    node.shutdown = False
    node.expected_up = False
    if _shutdown_requested(node):
        node.shutdown = True
    elif state.get("expected") == "member":
        node.expected_up = True
    if node.type == "ping":
        node.unclean = False
        online = False
    elif not ws.stonith_enabled:
        online = _online_no_fencing(ws, state, node)
    else:
        online = _online_fencing(ws, state, node)
    if online:
        node.online = True
    else:
        node.weight = -INFINITY
    if online and node.shutdown:
        node.weight = -INFINITY


def _unpack_node_state(ws: WorkingSet, state: XNode) -> None:
    ident, uname = state.get("id"), state.get("uname")
    if ident is None or uname is None:
        ws.warnings.append(f"ignoring malformed node_state (line {state.line})")
        return
    node = find_node(ws, ident, uname)
    if node is None:
        ws.warnings.append(f"ignoring recorded node state for '{uname}' because it is no "
                           "longer in the configuration")
        return
    if node.type == "remote":
        return
    attrs = state.find("transient_attributes")
    add_node_attrs(ws, attrs, node, True)
    if is_true(node.attrs.get("standby")):
        node.standby = True
    if is_true(node.attrs.get("maintenance")):
        node.maintenance = True
    node.unclean = False
    node.unseen = False
    _determine_online(ws, state, node)
    if (not ws.have_quorum and node.online and ws.no_quorum_policy == m.NQ_SUICIDE):
        act.fence_node(ws, node, "cluster does not have quorum", False)


def unpack_status(ws: WorkingSet) -> None:
    status = ws.cib.find("status")
    if status is None:
        return
    for state in status.children:
        if state.tag == "node_state":
            _unpack_node_state(ws, state)
        elif state.tag == "tickets":
            tickets.unpack_tickets_state(ws, state)
    while _unpack_node_histories(ws, status, False):
        pass
    _unpack_node_histories(ws, status, ws.stonith_enabled)
    for slot in ws.probe_targets.values():
        if slot and len(slot) > 1:
            _apply_probed(slot)


def _unpack_node_histories(ws: WorkingSet, status: XNode, fence: bool) -> bool:
    again = False
    for state in status.children:
        if state.tag != "node_state":
            continue
        ident, uname = state.get("id"), state.get("uname")
        if ident is None or uname is None:
            continue
        node = find_node(ws, ident, uname)
        if node is None or node.unpacked:
            continue
        if not fence and not ws.stonith_enabled and not ws.shutdown_lock and not node.online:
            continue
        node.unpacked = True
        _unpack_node_lrm(ws, node, state)
        again = True
    return again


def _unpack_node_lrm(ws: WorkingSet, node: Node, state: XNode) -> None:
    lrm = state.find("lrm")
    if lrm is None:
        return
    rscs = lrm.find("lrm_resources")
    if rscs is None:
        return
    fast = not ws.shutdown_lock
    children = rscs.children
    index = rscs.rec
    ws.orphan_fillers_found = False
    if fast and index.__class__ is EntryIndex and index.valid_for(rscs):
        _unpack_reused(ws, node, index)
    else:
        _unpack_entries(ws, node, children, None, fast)
        if fast:
            rscs.rec = new_index(rscs)  # the facts of its entries are known now
    if ws.orphan_fillers_found:
        _map_orphaned_fillers(ws, children)


def _map_orphaned_fillers(ws: WorkingSet, entries: Sequence[XNode]) -> None:
    """handle_orphaned_container_fillers: an orphan whose history entry names its container
    (the controller records it) is that container's filler, once the node's entries are in."""
    for entry in entries:
        if entry.tag != "lrm_resource":
            continue
        container_id, rsc_id = entry.get("container"), entry.get("id")
        if container_id is None or rsc_id is None:
            continue
        container = find_resource_or_instance(ws, container_id)
        if container is None:
            continue
        rsc = find_resource_or_instance(ws, rsc_id)
        if rsc is None or not rsc.orphan_container_filler or rsc.container is not None:
            continue
        add_filler(container, rsc)


def _unpack_reused(ws: WorkingSet, node: Node, index: EntryIndex) -> None:
    """The entries of a reused section (its index says what each is): the probe-only ones
    whose slot takes them first, appended to their slots in one go, then the others in
    order (_unpack_entries), those read in full among them. That is what entry-by-entry
    order decides: what a probe-only entry does concerns its own resource alone, and the
    index gives the shortcut only to a section where no id of a probe-only entry occurs
    twice. 310,000 entries of
    31 sections at 32/10000: a list append each."""
    ids = index.fast_ids
    if ids is not None:
        targets = ws.probe_targets
        slots: list[Any] = list(map(targets.get, ids))  # a slot: see _probe_slot
        rest = index.others
        if not all(slots):  # (a slot is a list of at least its resource)
            by_id, cache = ws.rsc_by_id, ws.fast_probe
            slots = [_probe_slot(ws, ident, by_id, cache) if slot is None else slot
                     for ident, slot in zip(ids, slots)]
            if not all(slots):  # those entries are read in full, in order with the others
                first = index.first
                rest = tuple(sorted(rest + tuple(first[ident] for ident, slot in zip(ids, slots)
                                                 if slot is False)))
                slots = [slot for slot in slots if slot is not False]
        deque(map(list.append, slots, repeat(node)), maxlen=0)  # each slot.append(node)
        _unpack_entries(ws, node, index.children, index.plan, True, rest)
        return
    _unpack_entries(ws, node, index.children, index.plan, True)


def _unpack_entries(ws: WorkingSet, node: Node, children: Sequence[XNode],
                    plan: Optional[list[object]], fast: bool,
                    positions: Optional[tuple[int, ...]] = None) -> None:
    """Each lrm_resource entry in order (or those at `positions`): "probed here, not running"
    directly, the others by unpack_lrm_resource (_unpack_in_full).

    The entries whose facts are known (given by the plan of a reused section: most of a big
    cluster's history, 300,000 entries at 32/10000, whose elements are not read again) are
    not applied here but appended to their resource's slot in `ws.probe_targets` (see
    _probe_slot), and applied per resource (_apply_probed) when an entry of the resource is
    next read another way, and at the end of unpack_status. Why: applied in place, each
    entry touched its resource, its action index and its `known_on` dict, 10,000 resources
    per node, a cache miss each (0.3 s a transition); appended, it touches one list. Why it
    decides the same: what such an entry does (the role at least stopped, the next role the
    target role, the node known) reads and writes its resource alone, the same way for each
    node but the one it adds to `known_on`, and nothing reads that state while unpacking the
    status but the resource's own entries read another way, which apply the pending ones
    first: so `known_on` gets its nodes in the same order, and each entry read in full sees
    the state it saw."""
    by_id = ws.rsc_by_id
    cache = ws.fast_probe
    targets = ws.probe_targets
    steps = enumerate(children if plan is None else plan) if positions is None else \
        [(pos, plan[pos]) for pos in positions]  # type: ignore[index]
    for pos, facts in steps:
        if facts.__class__ is not tuple:
            if facts is NOT_AN_ENTRY:
                continue
            entry = children[pos]
            if entry.tag != "lrm_resource":
                continue
            if not fast or len(entry.children) != 1:
                _unpack_in_full(ws, node, entry)
                continue
            facts = entry.rec
            if facts.__class__ is not tuple:
                if facts is None:
                    slot = targets.get(entry.get("id"))
                    if slot and len(slot) > 1:
                        _apply_probed(slot)  # the nodes before this one first
                    if _probed_not_running(node, entry, by_id, cache):
                        continue
                _unpack_in_full(ws, node, entry)
                continue
        slot = targets.get(facts[0])
        if slot is None:
            slot = _probe_slot(ws, facts[0], by_id, cache)
        if slot is not False:
            slot.append(node)
            continue
        _unpack_in_full(ws, node, children[pos])


def _probe_slot(ws: WorkingSet, ident: str, by_id: dict[str, Resource],
                cache: dict[int, object]) -> list[Any] | Literal[False]:
    """The slot of a resource id in `ws.probe_targets`, made at its first probe-only entry:
    False when its probe-only entries are read in full (no primitive of that id, or not one
    whose entries may take the fast path, or one with a stop action already), else a list
    of the resource followed by the nodes of its entries not applied yet. (What a resource
    of an id is does not change within a run: orphans added later never qualify; once a
    stop action exists it stays, and only the resource's own entries read in full make one:
    _unpack_in_full then makes the slot False.)"""
    found = by_id.get(ident)
    slot: list[Any] | Literal[False] = False
    if found is not None and _fast_agent(found, cache) is not False \
            and not found.actions.by_task.get("stop"):
        slot = [found]
    ws.probe_targets[ident] = slot
    return slot


def _apply_probed(slot: list) -> None:
    """What each pending probe-only entry of a slot's resource does, in the order they came:
    the role at least stopped, the next role the target role (each entry sets the same), each
    node known."""
    rsc = slot[0]
    if rsc.role <= m.ROLE_STOPPED:
        rsc.role = m.ROLE_STOPPED
    target = rsc.target_role
    rsc.next_role = m.ROLE_UNKNOWN if target is None else target
    known = rsc.known_on
    if known:
        for node in slot[1:]:
            known.setdefault(node, True)
    else:  # (the same entries in the same order, made in C: 19,000 slots at 32/10000)
        known.update(dict.fromkeys(slot[1:], True))
    del slot[1:]


def _unpack_in_full(ws: WorkingSet, node: Node, entry: XNode) -> None:
    """unpack_lrm_resource, after the pending probe-only entries of the same id (so that it
    sees what it saw when they were applied in place); a stop action it makes for the
    resource sends the resource's later probe-only entries this way too."""
    ident = entry.get("id")
    slot = ws.probe_targets.get(ident)
    if slot and len(slot) > 1:
        _apply_probed(slot)
    rsc = unpack_lrm_resource(ws, node, entry)
    if slot and rsc is slot[0] and rsc.actions.by_task.get("stop"):
        ws.probe_targets[ident] = False


_ENTRY_FIELDS = ("id", "type", "class", "provider")
_PROBE_FIELDS = ("operation", "rc-code", "op-status", "interval", "id", "transition-key")
_AGENT_FIELDS = ("type", "class", "provider")


def _fast_agent(rsc: Resource, cache: dict[int, object]) -> object:
    """(type, class, provider) of a primitive whose probe-only histories may take the fast
    path (outside clones, no failure timeout), else False; decided once per resource."""
    got = cache.get(id(rsc))
    if got is None:
        parent = rsc.parent
        if rsc.variant != m.PRIMITIVE or rsc.orphan or rsc.failure_timeout or (
                parent is not None and (parent.variant != m.GROUP or parent.parent is not None)):
            got = False  # clone instances (also in cloned groups) take the general path
        else:
            got = rsc.xml.values_of(_AGENT_FIELDS)  # (type, class, provider), picked at once
        cache[id(rsc)] = got
    return got


# (resource id, agent) -> the same tuple: the facts of a resource's entries on every node are one
# object (300,000 entries at 32 nodes / 10,000 resources would otherwise hold 30 MB of tuples)
_FACTS: dict[tuple, tuple] = {}


def _probe_only_facts(entry: XNode) -> object:
    """What the element itself says for the fast path: (resource id, (type, class, provider))
    when its one entry is a successful probe that found the resource not running, else False.
    Kept on the element (`XNode.rec`): it depends on the element's text only, and the daemon
    reuses unchanged status elements from one input to the next."""
    ident, kind, cls, provider = entry.values_of(_ENTRY_FIELDS)
    op = entry.children[0]
    if ident is None or op.tag != "lrm_rsc_op":
        return False
    task, rc, status, interval, op_id, key = op.values_of(_PROBE_FIELDS)
    if task != "monitor" or rc != _NOT_RUNNING_TEXT or status != "0" or (interval or "0") != "0" \
            or op_id is None or op_id.endswith("_last_failure_0") or key is None:
        return False
    parts = key.split(":", 3)
    if len(parts) < 4 or parts[2] != _NOT_RUNNING_TEXT:
        return False
    facts = (ident, (kind, cls, provider))
    return _FACTS.setdefault(facts, facts)  # one tuple per resource and agent, not per entry


def _probed_not_running(node: Node, entry: XNode, by_id: dict[str, Resource],
                        cache: dict[int, object]) -> bool:
    """The common history "probed here, not running" (one successful monitor_0 that found
    rc 7) of a primitive outside clones, unpacked directly: the same effects as
    unpack_lrm_resource for it, without its generality (most of a big cluster's history)."""
    facts = entry.rec
    if facts is None:
        facts = entry.rec = _probe_only_facts(entry)
    if facts is False:
        return False
    rsc = by_id.get(facts[0])
    if rsc is None:
        return False
    agent = _fast_agent(rsc, cache)
    if agent is False:
        return False
    if rsc.actions.by_task.get("stop"):
        return False
    saved = rsc.role
    rsc.role = m.ROLE_STOPPED
    rsc.next_role = m.ROLE_UNKNOWN if rsc.target_role is None else rsc.target_role
    rsc.known_on.setdefault(node, True)
    if saved > m.ROLE_STOPPED:
        rsc.role = saved
    return True


# ------------------------------------------------------------------------------------------------
# resource histories

def find_resource(ws: WorkingSet, rsc_id: str) -> Optional[Resource]:
    """pe_find_resource (with renamed instances)."""
    rsc = ws.rsc_by_id.get(rsc_id)
    if rsc is not None:
        return rsc
    for each in ws.rsc_by_id.values():
        if each.clone_name == rsc_id:
            return each
    return None


def _unpack_find_resource(ws: WorkingSet, node: Node, rsc_id: str) -> Optional[Resource]:
    parent = None
    rsc = find_resource(ws, rsc_id)
    if rsc is None:
        clone0 = find_resource(ws, strip_clone_suffix(rsc_id) + ":0")
        if clone0 is not None and not clone0.unique:
            rsc = clone0
            parent = clone0.top
    elif rsc.variant > m.PRIMITIVE:
        return None
    else:
        parent = rsc.top
    if parent is not None and parent.variant == m.CLONE and not parent.unique:
        rsc = find_anonymous_clone(ws, node, parent, strip_clone_suffix(rsc_id))
    if rsc is not None and rsc_id != rsc.id and rsc_id != rsc.clone_name:
        rsc.clone_name = rsc_id
    return rsc


def _process_orphan(ws: WorkingSet, entry: XNode, node: Node) -> Optional[Resource]:
    xml = XNode("primitive", entry.attrs())
    rsc = unpack_resource(ws, xml, None)
    if rsc is None:
        return None
    rsc.orphan = True
    if entry.get("container") is not None:
        rsc.orphan_container_filler = True  # mapped to its container after the node's entries
        ws.orphan_fillers_found = True
    ws.resources.append(rsc)
    if not ws.stop_rsc_orphans:
        rsc.managed = False
    else:
        resource_location(ws, rsc, None, -INFINITY, "__orphan_do_not_run__")
    return rsc


def _cmp_ops(a: OpRec, b: OpRec) -> int:
    """sort_op_by_callid."""
    if a.id == b.id:
        return 0
    a_id, b_id = a.call_id, b.call_id
    if a_id == -1 and b_id == -1:
        return 0
    if a_id >= 0 and a_id < b_id:
        return -1
    if b_id >= 0 and a_id > b_id:
        return 1
    if b_id >= 0 and a_id == b_id:
        last_a, last_b = a.last_change, b.last_change
        if last_a >= 0 and last_a < last_b:
            return -1
        if last_b >= 0 and last_a > last_b:
            return 1
        return 0
    ma = parse_transition_magic(a.magic)
    mb = parse_transition_magic(b.magic)
    if ma is None or mb is None:
        return 0
    ka, kb = ma[2].split(":"), mb[2].split(":")
    try:
        a_tid, b_tid = int(ka[1]), int(kb[1])
    except (IndexError, ValueError):
        return 0
    a_uuid, b_uuid = ka[-1], kb[-1]
    if a_uuid != b_uuid or a_tid == b_tid:
        if b_id == -1:
            return -1
        if a_id == -1:
            return 1
    elif (a_tid >= 0 and a_tid < b_tid) or b_tid == -1:
        return -1
    elif (b_tid >= 0 and a_tid > b_tid) or a_tid == -1:
        return 1
    return 0


def sort_ops(ops: list[XNode]) -> list[OpRec]:
    """Operations by call id (GLib's stable merge sort over the prepended list)."""
    recs = [op_record(op) for op in reversed(ops)]
    if len(recs) < 2:
        return recs
    ids = [r.call_id for r in recs]
    if min(ids) >= 0 and len(set(ids)) == len(ids):
        recs.sort(key=lambda r: r.call_id)
        return recs
    return glib_list_sort(recs, _cmp_ops)  # sort_op_by_callid's 0s make it intransitive


def calculate_active_ops(ops: list[OpRec]) -> tuple[int, int]:
    """(start index, stop index) in the sorted history."""
    stop_index = start_index = -1
    implied_monitor_start = implied_clone_start = -1
    for counter, op in enumerate(ops):
        task = op.task
        if task == "stop" and op.status == 0 and op.xml.get("op-status") == "0":
            stop_index = counter
        elif task in ("start", "migrate_from"):
            start_index = counter
        elif implied_monitor_start <= stop_index and task == "monitor":
            if op.xml.get("rc-code") in _RUNNING_TEXTS:
                implied_monitor_start = counter
        elif task in ("promote", "demote"):
            implied_clone_start = counter
    if start_index == -1:
        if implied_clone_start != -1:
            start_index = implied_clone_start
        elif implied_monitor_start != -1:
            start_index = implied_monitor_start
    return start_index, stop_index


class _State:
    """Mutable per-history state: last failure entry and the worst on-fail seen."""
    __slots__ = ("last_failure", "on_fail")

    def __init__(self) -> None:
        self.last_failure: Optional[OpRec] = None
        self.on_fail = m.F_IGNORE


def unpack_lrm_resource(ws: WorkingSet, node: Node, entry: XNode) -> Optional[Resource]:
    rsc_id = entry.get("id")
    if rsc_id is None:
        return None
    ops = [op for op in entry.children if op.tag == "lrm_rsc_op"]
    if not ops and not ws.shutdown_lock:
        return None
    rsc = _unpack_find_resource(ws, node, rsc_id)
    if rsc is None:
        if not ops:
            return None
        rsc = _process_orphan(ws, entry, node)
        if rsc is None:
            return None
    if ws.shutdown_lock:
        _unpack_shutdown_lock(ws, entry, rsc, node)
    saved_role = rsc.role
    rsc.role = m.ROLE_UNKNOWN
    ordered = sort_ops(ops)
    state = _State()
    for op in ordered:
        _unpack_rsc_op(ws, rsc, node, op, state)
    start_index, stop_index = calculate_active_ops(ordered)
    _process_recurring(ws, node, rsc, start_index, stop_index, ordered)
    _process_rsc_state(ws, rsc, node, state.on_fail)
    if rsc.target_role is not None:
        if rsc.next_role == m.ROLE_UNKNOWN or rsc.target_role < rsc.next_role:
            rsc.next_role = rsc.target_role
    if saved_role > rsc.role:
        rsc.role = saved_role
    ws.history[(rsc, node)] = (entry, ordered)
    return rsc


def _unpack_shutdown_lock(ws: WorkingSet, entry: XNode, rsc: Resource, node: Node) -> None:
    value = entry.get("shutdown-lock")
    try:
        lock_time = int(value) if value is not None else 0
    except ValueError:
        lock_time = 0
    if lock_time == 0:
        return
    if ws.shutdown_lock_limit > 0 and ws.now_epoch > lock_time + ws.shutdown_lock_limit:
        # expired: the lock is dropped and the history cleared
        act.custom_action(ws, rsc, f"{rsc.id}_lrm_delete_0", "lrm_delete", node, False, True)
        return
    rsc.lock_node = node
    rsc.lock_time = lock_time


def _process_recurring(ws: WorkingSet, node: Node, rsc: Resource, start_index: int,
                       stop_index: int, ordered: list[OpRec]) -> None:
    if not node.online:
        return
    for counter, op in enumerate(ordered):
        if start_index < stop_index and counter <= stop_index:
            continue
        if counter < start_index:
            continue
        interval = op.interval
        if interval == 0:
            continue
        if op.xml.get("op-status") == "-1":
            continue
        task = op.task or ""
        act.custom_action(ws, rsc, f"{rsc.id}_{task}_{interval}", task, node, True, True)


def _set_active(rsc: Resource) -> None:
    rsc.role = m.ROLE_UNPROMOTED if rsc.top.promotable else m.ROLE_STARTED


def mask_probe_failure(op: OpRec) -> bool:
    """pcmk_xe_mask_probe_failure: probe result 'not installed'/'invalid parameter'."""
    if op.task != "monitor" or op.interval != 0:
        return False
    return op.rc in (OCF_ERR_INSTALLED, OCF_ERR_ARGS) or \
        op.status == m.EXEC_NOT_INSTALLED


def _get_on_fail(ws: WorkingSet, rsc: Resource, key: str, task: str) -> int:
    interval = 0
    tail = key.rpartition("_")[2]
    if tail.isdigit():
        interval = int(tail)
    return op_config(ws, rsc, key, task, interval).on_fail


def _unpack_rsc_op(ws: WorkingSet, rsc: Resource, node: Node, op: OpRec, state: _State) -> None:
    task = op.task
    if task is None:
        return
    if task in ("notify", "meta-data"):
        return
    expected = op.target_rc
    key = op.key
    rc = op.rc
    status = op.status
    interval = op.interval
    if status < m.EXEC_PENDING or status > m.EXEC_NO_SECRETS:
        return
    parent = rsc if rsc.unique else rsc.top
    expired = False
    if status != m.EXEC_NOT_INSTALLED:
        # check_operation_expiry: with a failure-timeout, the parameter check is its own
        # (skipped for an entry old enough to expire, even a probe that then does not)
        if rsc.failure_timeout > 0:
            expired = _check_operation_expiry(ws, rsc, node, rc, op)
        elif op.id.endswith("_last_failure_0"):
            _check_param_change(ws, rsc, node, op)
    old_rc, old_target = rc, expected
    rc, status = _remap(ws, op, rsc, node, state, expected, rc, status)
    maskable = mask_probe_failure(op)
    if expired and maskable and old_rc != old_target:
        if rsc.role <= m.ROLE_STOPPED:
            rsc.role = m.ROLE_UNKNOWN
        return
    if expired and rc != expected:
        if interval == 0:
            return
        if node.online and not node.unclean:
            # reschedule the recurring monitor via a forced restart digest mismatch
            ws.reschedule.add((id(rsc), node.id, op.id))
            return
    if maskable:
        _update_resource_state(ws, rsc, node, op, task, expected, state)
        ws.failed_ops.append((op.xml, node, rsc))
        resource_location(ws, parent, node, -INFINITY, "masked-probe-failure")
        return
    if status == m.EXEC_CANCELLED:
        return
    if status == m.EXEC_PENDING:
        if task == "start":
            rsc.start_pending = True
            _set_active(rsc)
        elif task == "promote":
            rsc.role = m.ROLE_PROMOTED
        elif task == "migrate_to" and node.unclean:
            target = ws.node_by_uname.get(op.xml.get("migrate_target") or "")
            if target is not None:
                act.stop_action(ws, rsc, target, False)
        if rsc.pending_task is None:
            if interval != 0 or task != "monitor":
                rsc.pending_task = task
                rsc.pending_node = node
        return
    if status == m.EXEC_DONE:
        _update_resource_state(ws, rsc, node, op, task, rc, state)
        return
    if status == m.EXEC_NOT_INSTALLED:
        strategy = _get_on_fail(ws, rsc, key, task)
        if strategy == m.F_IGNORE:
            state.on_fail = m.F_MIGRATE
        resource_location(ws, parent, node, -INFINITY, "hard-error")
        _unpack_rsc_op_failure(ws, rsc, node, rc, op, state)
        return
    if status in (m.EXEC_NO_FENCE_DEVICE, m.EXEC_NO_SECRETS):
        status = m.EXEC_ERROR_HARD
    strategy = _get_on_fail(ws, rsc, key, task)
    if strategy == m.F_IGNORE or (strategy == m.F_RESTART_CONTAINER and task == "stop"):
        _update_resource_state(ws, rsc, node, op, task, expected, state)
        rsc.failure_ignored = True
        ws.failed_ops.append((op.xml, node, rsc))
        if strategy == m.F_RESTART_CONTAINER and state.on_fail <= m.F_RECOVER:
            state.on_fail = strategy
    else:
        _unpack_rsc_op_failure(ws, rsc, node, rc, op, state)
        if status == m.EXEC_ERROR_HARD:
            resource_location(ws, parent, node, -INFINITY, "hard-error")
        elif status == m.EXEC_ERROR_FATAL:
            resource_location(ws, parent, None, -INFINITY, "fatal-error")


def _remap(ws: WorkingSet, op: OpRec, rsc: Resource, node: Node, state: _State, expected: int,
           rc: int, status: int) -> tuple[int, int]:
    """remap_operation: decide from rc and the expected result whether this was a failure.
    A monitor's degraded result counts as its undegraded one (pcmk__effective_rc), though it
    is listed among the failed actions; any other operation's degraded result is a failure."""
    if op.task == "monitor" and rc in (OCF_DEGRADED, OCF_DEGRADED_PROMOTED):
        if node.online:  # record_failed_op lists nothing of an offline node
            ws.failed_ops.append((op.xml, node, rsc))
        rc = OCF_SUCCESS if rc == OCF_DEGRADED else OCF_RUNNING_PROMOTED
    if status != m.EXEC_DONE and status != m.EXEC_ERROR:
        return rc, status
    status = m.EXEC_DONE
    probe = op.task == "monitor" and op.interval == 0
    if expected < 0:
        status = m.EXEC_ERROR
    elif expected != rc:
        status = m.EXEC_ERROR
    if rc == OCF_SUCCESS:
        if probe and expected == OCF_NOT_RUNNING:
            status = m.EXEC_DONE
    elif rc == OCF_NOT_RUNNING:
        if probe or expected == rc or not rsc.managed:
            status = m.EXEC_DONE
            rsc.role = m.ROLE_STOPPED
            state.on_fail = m.F_IGNORE
            rsc.next_role = m.ROLE_UNKNOWN
    elif rc == OCF_RUNNING_PROMOTED:
        if probe and rc != expected:
            status = m.EXEC_DONE
        rsc.role = m.ROLE_PROMOTED
    elif rc in (OCF_DEGRADED_PROMOTED, OCF_FAILED_PROMOTED):
        rsc.role = m.ROLE_PROMOTED
        status = m.EXEC_ERROR
    elif rc == OCF_ERR_CONFIGURED:
        status = m.EXEC_ERROR_FATAL
    elif rc == OCF_ERR_UNIMPLEMENTED:
        if op.interval == 0:
            _check_recoverable(ws, rsc, node, op.task)
        status = m.EXEC_ERROR_HARD if op.interval == 0 else m.EXEC_NOT_SUPPORTED
    elif rc in (OCF_ERR_INSTALLED, OCF_ERR_ARGS, OCF_ERR_PERM):
        _check_recoverable(ws, rsc, node, op.task)
        status = m.EXEC_ERROR_HARD
    else:
        if status == m.EXEC_DONE:
            status = m.EXEC_ERROR
    return rc, status


def _check_recoverable(ws: WorkingSet, rsc: Resource, node: Node, task: Optional[str]) -> None:
    """check_recoverable: a stop that failed hard where the node cannot be fenced (fencing
    disabled, no device, or no quorum for a node outside our membership) leaves nothing to
    try: the resource is blocked (unmanaged), so no further action is planned for it."""
    if task != "stop" or act.can_fence(ws, node):
        return
    ws.warnings.append(f"no further recovery can be attempted for {rsc.id} because stop on "
                       f"{node.uname} failed")
    rsc.managed = False
    rsc.blocked = True


def _update_resource_state(ws: WorkingSet, rsc: Resource, node: Node, op: OpRec, task: str,
                           rc: int, state: _State) -> None:
    clear_past = False
    if rc == OCF_ERR_INSTALLED or mask_probe_failure(op):
        rsc.role = m.ROLE_STOPPED
    elif rc == OCF_NOT_RUNNING:
        clear_past = True
    elif task == "monitor":
        if state.last_failure is not None:
            if op.key == state.last_failure.key:
                clear_past = True
        if rsc.role < m.ROLE_STARTED:
            _set_active(rsc)
    elif task == "start":
        rsc.role = m.ROLE_STARTED
        clear_past = True
    elif task == "stop":
        rsc.role = m.ROLE_STOPPED
        clear_past = True
    elif task == "promote":
        rsc.role = m.ROLE_PROMOTED
        clear_past = True
    elif task == "demote":
        if state.on_fail == m.F_DEMOTE:
            clear_past = True
        rsc.role = m.ROLE_UNPROMOTED
    elif task == "migrate_from":
        rsc.role = m.ROLE_STARTED
        clear_past = True
    elif task == "migrate_to":
        _migrate_to_success(ws, rsc, node, op.xml)
    elif rsc.role < m.ROLE_STARTED:
        _set_active(rsc)
    if clear_past:
        if state.on_fail in (m.F_STOP, m.F_FENCE, m.F_MIGRATE, m.F_STANDBY):
            pass
        elif state.on_fail in (m.F_BLOCK, m.F_IGNORE, m.F_DEMOTE, m.F_RECOVER,
                               m.F_RESTART_CONTAINER):
            state.on_fail = m.F_IGNORE
            rsc.next_role = m.ROLE_UNKNOWN
        elif state.on_fail == m.F_RESET_REMOTE:
            if rsc.remote_reconnect_ms == 0:
                state.on_fail = m.F_IGNORE
                rsc.next_role = m.ROLE_UNKNOWN


def _unpack_rsc_op_failure(ws: WorkingSet, rsc: Resource, node: Node, rc: int, op: OpRec,
                           state: _State) -> None:
    key = op.key
    task = op.task or ""
    state.last_failure = op
    probe = task == "monitor" and op.interval == 0
    if not (not ws.symmetric and rc == OCF_ERR_INSTALLED):
        ws.failed_ops.append((op.xml, node, rsc))
    interval = 0
    tail = key.rpartition("_")[2]
    if tail.isdigit():
        interval = int(tail)
    cfg = op_config(ws, rsc, key, task, interval)
    if cfg.on_fail > state.on_fail:
        state.on_fail = cfg.on_fail
    if task == "stop":
        resource_location(ws, rsc, node, -INFINITY, "__stop_fail__")
    elif task == "migrate_to":
        _migrate_to_failure(ws, rsc, node, op.xml)
    elif task == "migrate_from":
        _migrate_from_failure(ws, rsc, node, op.xml)
    elif task == "promote":
        rsc.role = m.ROLE_PROMOTED
    elif task == "demote":
        if cfg.on_fail == m.F_BLOCK:
            rsc.role = m.ROLE_PROMOTED
            rsc.next_role = m.ROLE_STOPPED
        elif rc == OCF_NOT_RUNNING:
            rsc.role = m.ROLE_STOPPED
        else:
            rsc.role = m.ROLE_UNPROMOTED
    if probe and rc == OCF_ERR_INSTALLED:
        rsc.role = m.ROLE_STOPPED
    elif rsc.role < m.ROLE_STARTED:
        _set_active(rsc)
    if cfg.fail_role != m.ROLE_STARTED and rsc.next_role < cfg.fail_role:
        rsc.next_role = cfg.fail_role
    if cfg.fail_role == m.ROLE_STOPPED:
        fail_rsc = rsc
        if rsc.parent is not None:
            top = rsc.top
            if top.variant == m.CLONE and not top.unique:
                fail_rsc = top
        fail_rsc.allowed = {n: -INFINITY for n in ws.nodes}


def _process_rsc_state(ws: WorkingSet, rsc: Resource, node: Node, on_fail: int) -> None:
    if rsc.role != m.ROLE_UNKNOWN:
        it: Optional[Resource] = rsc
        while it is not None:
            it.known_on.setdefault(node, True)
            if it.unique:
                break
            it = it.parent
    if (rsc.role > m.ROLE_STOPPED and not node.online and not node.maintenance
            and rsc.managed):
        if ws.stonith_enabled:
            act.fence_node(ws, node, f"{rsc.id} is thought to be active there", False)
    save_on_fail = on_fail
    if node.unclean:
        on_fail = m.F_IGNORE
    if on_fail == m.F_DEMOTE:
        rsc.failed = True
        act.demote_action(ws, rsc, node, False)
    elif on_fail == m.F_FENCE:
        act.fence_node(ws, node, f"{rsc.id} failed there", False)
    elif on_fail == m.F_STANDBY:
        node.standby = True
        node.standby_onfail = True
    elif on_fail == m.F_BLOCK:
        rsc.managed = False
        rsc.blocked = True
    elif on_fail == m.F_MIGRATE:
        resource_location(ws, rsc, node, -INFINITY, "__action_migration_auto__")
    elif on_fail == m.F_STOP:
        rsc.next_role = m.ROLE_STOPPED
    elif on_fail == m.F_RECOVER:
        if rsc.role not in (m.ROLE_STOPPED, m.ROLE_UNKNOWN):
            rsc.failed = True
            rsc.stop_flag = True
            act.stop_action(ws, rsc, node, False)
    elif on_fail == m.F_RESTART_CONTAINER:
        rsc.failed = True
        rsc.stop_flag = True
        if rsc.container is not None:
            act.stop_action(ws, rsc.container, node, False)  # (its filler's stop is implied)
        elif rsc.role not in (m.ROLE_STOPPED, m.ROLE_UNKNOWN):
            act.stop_action(ws, rsc, node, False)
    if rsc.role not in (m.ROLE_STOPPED, m.ROLE_UNKNOWN):
        add_running(ws, rsc, node, save_on_fail != m.F_IGNORE)
        if on_fail == m.F_IGNORE:
            pass
        elif on_fail in (m.F_DEMOTE, m.F_BLOCK):
            rsc.failed = True
        else:
            rsc.failed = True
            rsc.stop_flag = True
    elif rsc.clone_name and ":" in rsc.clone_name:
        rsc.clone_name = None
    else:
        for stop in act.resource_actions(rsc, node, "stop", False):
            stop.flags |= m.A_OPTIONAL
    # a stop on the source after a migrate_to does not stop what was partially migrated away
    if rsc.role == m.ROLE_STOPPED and rsc.partial_migration_source is node and \
            rsc.partial_migration_target is not None and rsc.running_on:
        rsc.role = m.ROLE_STARTED


# ------------------------------------------------------------------------------------------------
# live migration history (unpack_migrate_to_success, unpack_migrate_to/from_failure)
#
# A migration is migrate_to on the source, migrate_from on the target, then a stop on the
# source. Each step keeps its own history entry (RSC_migrate_to_0 on the source with
# migrate_source/migrate_target), so a later transition can tell a completed migration whose
# stop is still due ("dangling"), one stopped half way ("partial": migrate_to done, no
# migrate_from yet) and failed ones, where the resource may be active on both nodes.


def _lrm_resources(ws: WorkingSet, rsc_id: str, node_name: str) -> list[XNode]:
    """Every history entry of rsc_id on the node_state(s) named node_name, in CIB order: what
    the XPath //node_state[@uname=N]//lrm_resource[@id=R] of find_lrm_resource matches."""
    index = ws.lrm_index
    if index is None:
        index = ws.lrm_index = {}
        status = ws.cib.find("status")
        for state in status.children if status is not None else ():
            if state.tag != "node_state":
                continue
            lrm = state.find("lrm")
            rscs = None if lrm is None else lrm.find("lrm_resources")
            for entry in rscs.children if rscs is not None else ():
                if entry.tag == "lrm_resource":
                    index.setdefault((state.get("uname") or "", entry.get("id") or ""),
                                     []).append(entry)
    return index.get((node_name, rsc_id), [])


def _lrm_resource(ws: WorkingSet, rsc_id: str, node_name: str) -> Optional[XNode]:
    """find_lrm_resource: the history of rsc_id on the node of that name. Pacemaker looks it
    up with get_xpath_object, which answers nothing when the XPath matches more than once."""
    entries = _lrm_resources(ws, rsc_id, node_name)
    return entries[0] if len(entries) == 1 else None


def _find_lrm_op(ws: WorkingSet, rsc_id: str, task: str, node_name: Optional[str],
                 other: Optional[str], target_rc: int) -> Optional[XNode]:
    """find_lrm_op: the `task` entry of rsc_id on node_name; for migrate_to one whose
    migrate_target is `other`, for migrate_from one whose migrate_source is; with target_rc
    >= 0 only if it succeeded with that rc. Pacemaker finds it with get_xpath_object, which
    answers nothing unless exactly one entry matches: a failed migrate_from recorded as both
    last_0 and last_failure_0 is not found (so a migrate_to before it reads as a partial
    migration), nor is a probe when a recurring monitor is recorded as well."""
    if node_name is None:
        return None
    found = None
    for entry in _lrm_resources(ws, rsc_id, node_name):
        for op in entry.children:
            if op.tag != "lrm_rsc_op" or op.get("operation") != task:
                continue
            if other is not None and task == "migrate_to" and op.get("migrate_target") != other:
                continue
            if other is not None and task == "migrate_from" and \
                    op.get("migrate_source") != other:
                continue
            if found is not None:
                return None  # "Too many matches"
            found = op
    if found is not None and target_rc >= 0:
        rec = op_record(found)
        if rec.rc != target_rc or rec.status != m.EXEC_DONE:
            return None
    return found


def _is_newer_op(a: XNode, b: XNode, same_node_default: bool) -> int:
    """pe__is_newer_op: >0 if a happened after b (call ids on one node, else change times)."""
    ra, rb = op_record(a), op_record(b)
    a_node, b_node = a.get("on_node"), b.get("on_node")
    same_node = same_node_default if a_node is None or b_node is None else a_node == b_node
    if same_node and ra.id == rb.id:
        return 0
    a_id, b_id = ra.call_id, rb.call_id
    if a_id == -1 and b_id == -1:
        return 0
    if same_node and 0 <= a_id < b_id:
        return -1
    if same_node and b_id >= 0 and a_id > b_id:
        return 1
    if a_id >= 0 and b_id >= 0 and (not same_node or a_id == b_id):
        last_a, last_b = ra.last_change, rb.last_change
        if last_a >= 0 and last_a < last_b:
            return -1
        if last_b >= 0 and last_a > last_b:
            return 1
        return 0
    ma, mb = parse_transition_magic(ra.magic), parse_transition_magic(rb.magic)
    if ma is None or mb is None:
        return 0
    ka, kb = ma[2].split(":"), mb[2].split(":")
    try:
        a_tid, b_tid = int(ka[1]), int(kb[1])
    except (IndexError, ValueError):
        return 0
    if ka[-1] != kb[-1] or a_tid == b_tid:
        if b_id == -1:
            return -1
        if a_id == -1:
            return 1
    elif (a_tid >= 0 and a_tid < b_tid) or b_tid == -1:
        return -1
    elif (b_tid >= 0 and a_tid > b_tid) or a_tid == -1:
        return 1
    return 0


def _unknown_on(ws: WorkingSet, rsc_id: str, node_name: Optional[str]) -> bool:
    """unknown_on_node: no completed operation of rsc_id on the node (a pending one, rc 193,
    says nothing yet)."""
    entry = None if node_name is None else _lrm_resource(ws, rsc_id, node_name)
    if entry is None:
        return True
    return not any(op.tag == "lrm_rsc_op" and op.get("rc-code") not in (None, "193")
                   for op in entry.children)


def _non_monitor_after(ws: WorkingSet, rsc_id: str, node_name: Optional[str], xml_op: XNode,
                       same_node: bool) -> bool:
    entry = None if node_name is None else _lrm_resource(ws, rsc_id, node_name)
    if entry is None:
        return False
    for op in entry.children:
        if op.tag != "lrm_rsc_op" or op is xml_op:
            continue
        if op.get("operation") in ("start", "stop", "migrate_to", "migrate_from") and \
                _is_newer_op(op, xml_op, same_node) > 0:
            return True
    return False


def _newer_state_after_migrate(ws: WorkingSet, rsc_id: str, node_name: Optional[str],
                               migrate_to: Optional[XNode],
                               migrate_from: Optional[XNode]) -> bool:
    """Whether a later operation on node_name (or a probe finding it stopped) makes the
    migration events irrelevant there."""
    xml_op = migrate_from if migrate_from is not None else migrate_to
    assert xml_op is not None
    source, target = xml_op.get("migrate_source"), xml_op.get("migrate_target")
    same_node = False
    if node_name == target:
        if migrate_from is not None:  # (else xml_op is migrate_to already)
            xml_op, same_node = migrate_from, True
    elif node_name == source:
        if migrate_to is not None:  # (else xml_op is migrate_from already)
            xml_op, same_node = migrate_to, True
    if _non_monitor_after(ws, rsc_id, node_name, xml_op, same_node):
        return True
    monitor = _find_lrm_op(ws, rsc_id, "monitor", node_name, None, OCF_NOT_RUNNING)
    return monitor is not None and _is_newer_op(monitor, xml_op, same_node) > 0


def _migrate_to_success(ws: WorkingSet, rsc: Resource, node: Node, xml_op: XNode) -> None:
    """unpack_migrate_to_success: completed (dangling), partial or failed migrations. As the
    Pacemaker 2.1.5 of Debian 12 (crm_simulate, the reference), which carries the migration fixes
    of Pacemaker 2.1.6 (ClusterLabs/pacemaker#3020: a target without any completed history is
    not taken as a partial migration target)."""
    source, target = xml_op.get("migrate_source"), xml_op.get("migrate_target")
    if not source or not target or source != node.uname:
        ws.warnings.append(f"{xml_op.get('id')}: migrate_to on {node.uname} without a matching "
                           "migrate_source and migrate_target: ignored")
        return
    source_newer_op = _non_monitor_after(ws, rsc.id, source, xml_op, True)
    migrate_from = _find_lrm_op(ws, rsc.id, "migrate_from", target, source, -1)
    if source_newer_op and migrate_from is not None:
        return
    target_newer_state = _newer_state_after_migrate(ws, rsc.id, target, xml_op, migrate_from)
    if source_newer_op and target_newer_state:
        return
    rsc.role = m.ROLE_STARTED  # clones cannot migrate: never promoted
    target_node = ws.node_by_uname.get(target)
    source_node = ws.node_by_uname.get(source)
    if migrate_from is not None:
        rec = op_record(migrate_from)
        from_rc, from_status = rec.rc, rec.status
    if migrate_from is not None and from_rc == OCF_SUCCESS and from_status == m.EXEC_DONE:
        # both steps succeeded: only the stop on the source is left ("dangling")
        rsc.role = m.ROLE_STOPPED
        rsc.dangling_migrations.insert(0, node)
    elif migrate_from is not None and from_status != m.EXEC_PENDING:  # migrate_from failed
        if not target_newer_state and target_node is not None and target_node.online:
            add_running(ws, rsc, target_node, True)
        else:
            rsc.failed = True
            rsc.stop_flag = True
            rsc.allow_migrate = False
    else:  # migrate_from pending, or done but its entry erased, or still to be scheduled
        if target_node is not None and target_node.online and _unknown_on(ws, rsc.id, target):
            # no history at all on the target: likely cleaned up; its probe will tell
            return
        if not target_newer_state and target_node is not None and target_node.online:
            add_running(ws, rsc, target_node, False)
            if source_node is not None and source_node.online:
                # partial: may continue if the target is still the one chosen
                rsc.partial_migration_target = target_node
                rsc.partial_migration_source = source_node
        elif not source_newer_op:
            rsc.failed = True
            rsc.stop_flag = True
            rsc.allow_migrate = False


def _migrate_to_failure(ws: WorkingSet, rsc: Resource, node: Node, xml_op: XNode) -> None:
    """unpack_migrate_to_failure: the resource may be active on both nodes."""
    source, target = xml_op.get("migrate_source"), xml_op.get("migrate_target")
    if not source or not target or source != node.uname:
        ws.warnings.append(f"{xml_op.get('id')}: migrate_to on {node.uname} without a matching "
                           "migrate_source and migrate_target: ignored")
        return
    rsc.role = m.ROLE_STARTED
    target_from = _find_lrm_op(ws, rsc.id, "migrate_from", target, source, OCF_SUCCESS)
    if not _unknown_on(ws, rsc.id, target) and \
            not _newer_state_after_migrate(ws, rsc.id, target, xml_op, target_from):
        target_node = ws.node_by_uname.get(target)
        if target_node is not None and target_node.online:
            add_running(ws, rsc, target_node, False)
    elif not _non_monitor_after(ws, rsc.id, source, xml_op, True):
        rsc.dangling_migrations.insert(0, node)


def _migrate_from_failure(ws: WorkingSet, rsc: Resource, node: Node, xml_op: XNode) -> None:
    """unpack_migrate_from_failure: the resource may still be active on the source."""
    source, target = xml_op.get("migrate_source"), xml_op.get("migrate_target")
    if not source or not target or target != node.uname:
        ws.warnings.append(f"{xml_op.get('id')}: migrate_from on {node.uname} without a "
                           "matching migrate_source and migrate_target: ignored")
        return
    rsc.role = m.ROLE_STARTED
    source_to = _find_lrm_op(ws, rsc.id, "migrate_to", source, target, OCF_SUCCESS)
    if not _unknown_on(ws, rsc.id, source) and \
            not _newer_state_after_migrate(ws, rsc.id, source, source_to, xml_op):
        source_node = ws.node_by_uname.get(source)
        if source_node is not None and source_node.online:
            add_running(ws, rsc, source_node, True)


def _count_active(rsc: Resource) -> int:
    if rsc.needs_fencing:
        return len(rsc.running_on)
    return sum(1 for n in rsc.running_on if n.online and not n.unclean)


def add_running(ws: WorkingSet, rsc: Resource, node: Node, failed: bool) -> None:
    """native_add_running."""
    if node in rsc.running_on:
        return
    rsc.running_on.append(node)
    if rsc.variant == m.PRIMITIVE:
        node.running_rsc.append(rsc)
        if rsc.priority != 0 and not failed:
            # native_priority_to_node: what a lost node ran decides its priority-fencing-delay;
            # a promoted instance counts one more
            node.priority += rsc.priority + (1 if rsc.role == m.ROLE_PROMOTED else 0)
        if node.maintenance:
            # only unmanaged: pe_rsc_maintenance is set from configuration alone (a resource
            # seen on a maintenance node still gets its recurring actions elsewhere)
            rsc.managed = False
    if not rsc.managed:
        resource_location(ws, rsc, node, INFINITY, "not_managed_default")
        parent = rsc.parent
        while parent is not None and node.online:
            parent.running_on.append(node)
            parent = parent.parent
        return
    if rsc.variant == m.PRIMITIVE and _count_active(rsc) > 1:
        if rsc.recovery_type == m.RECOVERY_STOP_ONLY:
            rsc.allowed = {n: -INFINITY for n in ws.nodes}
        elif rsc.recovery_type == m.RECOVERY_BLOCK:
            rsc.managed = False
            rsc.blocked = True
            if (rsc.parent is not None and rsc.parent.variant == m.GROUP
                    and rsc.parent.recovery_type == m.RECOVERY_BLOCK):
                for child in rsc.parent.children:
                    child.managed = False
                    child.blocked = True
    if rsc.parent is not None:
        add_running(ws, rsc.parent, node, False)


# ------------------------------------------------------------------------------------------------
# fail counts and expiry

# characters with a meaning in a regular expression: a resource name without any is matched
# by _FailNameMatcher, with string methods (no `re` loaded for it: core/lazyre.py)
_REGEX_SPECIAL = frozenset(".^$*+?{}[]\\|()")


class _FailNameMatcher:
    r"""`re.compile(f"^{prefix}{instance}{op_pattern}$").match(key) is not None` for a prefix
    without regular-expression characters, where instance is `(:[0-9]+)?` or nothing and
    op_pattern `#.+_[0-9]+` or nothing (_fail_regexes), written with string methods."""

    __slots__ = ("prefix", "instance", "per_op")

    def __init__(self, prefix: str, instance: bool, per_op: bool) -> None:
        self.prefix = prefix
        self.instance = instance
        self.per_op = per_op

    def match(self, key: str) -> bool:
        if not key.startswith(self.prefix):
            return False
        rest = key[len(self.prefix):]
        # `$` matches at the end and before a newline that ends the text
        return self._tail(rest) or (rest.endswith("\n") and self._tail(rest[:-1]))

    def _tail(self, rest: str) -> bool:
        if self._op(rest):
            return True
        if not self.instance or not rest.startswith(":"):
            return False
        digits = 1
        while digits < len(rest) and rest[digits] in "0123456789":
            digits += 1
        # the op part starts with "#", not a digit: the instance takes every digit or none
        return digits > 1 and self._op(rest[digits:])

    def _op(self, rest: str) -> bool:
        if not self.per_op:
            return rest == ""
        # `#.+_[0-9]+`: the digits follow the last "_", `.+` (no newline) is what precedes it
        cut = rest.rfind("_")
        number = rest[cut + 1:]
        return (rest.startswith("#") and cut >= 2 and "\n" not in rest[1:cut] and number != ""
                and all(c in "0123456789" for c in number))


def _fail_regexes(ws: WorkingSet, rsc: Resource) -> tuple:
    """The matchers of rsc's fail-count and last-failure attribute names: compiled patterns,
    or _FailNameMatcher objects when the name has no regular-expression character."""
    got = ws.fail_regexes.get(rsc)
    if got is not None:
        return got
    # rsc_fail_name: a globally unique instance keeps its instance number (its failures are
    # its own); anonymous instances share the instance-less name
    name = rsc.clone_name or rsc.id
    if not rsc.unique:
        name = strip_clone_suffix(name)
    if _REGEX_SPECIAL.isdisjoint(name):
        matchers = (_FailNameMatcher(f"fail-count-{name}", not rsc.unique, not ws.legacy_failcounts),
                    _FailNameMatcher(f"last-failure-{name}", not rsc.unique,
                                     not ws.legacy_failcounts))
        ws.fail_regexes[rsc] = matchers
        return matchers
    op_pattern = "" if ws.legacy_failcounts else "#.+_[0-9]+"
    instance = "" if rsc.unique else "(:[0-9]+)?"
    try:
        fc = re.compile(f"^fail-count-{name}{instance}{op_pattern}$")
        lf = re.compile(f"^last-failure-{name}{instance}{op_pattern}$")
    except re.error:
        fc = re.compile("^fail-count-" + re.escape(name) + f"{instance}{op_pattern}$")
        lf = re.compile("^last-failure-" + re.escape(name) + f"{instance}{op_pattern}$")
    ws.fail_regexes[rsc] = (fc, lf)
    return fc, lf


def _failure_attrs(node: Node) -> list[tuple[str, str]]:
    """The node's fail-count/last-failure attributes (most nodes have none)."""
    return [(k, v) for k, v in node.attrs.items()
            if k.startswith("fail-count-") or k.startswith("last-failure-")]


def get_failcount(ws: WorkingSet, node: Node, rsc: Resource, effective: bool = True,
                  xml_op: Optional[XNode] = None) -> tuple[int, int]:
    """pe_get_failcount: (fail count, last failure epoch) of rsc on node. xml_op is the
    history entry check_operation_expiry judges, which alone decides whether a failure with
    on-fail=block keeps the failure timeout from applying (block_failure)."""
    attrs = ws.node_fail_attrs.get(node)
    if attrs is None:
        attrs = ws.node_fail_attrs[node] = _failure_attrs(node)
    if not attrs:
        return 0, 0
    fc_re, lf_re = _fail_regexes(ws, rsc)
    failcount = 0
    last_failure = 0
    for key, value in attrs:
        if fc_re.match(key):
            failcount = add_scores(failcount, ws.score(value))
        elif lf_re.match(key):
            try:
                last_failure = max(last_failure, int(value))
            except ValueError:
                pass
    if failcount > 0 and rsc.failure_timeout > 0 and _block_failure(ws, node, rsc, xml_op):
        rsc.failure_timeout = 0
    if effective and failcount > 0 and last_failure > 0 and rsc.failure_timeout != 0:
        if ws.now_epoch > last_failure + rsc.failure_timeout:
            failcount = 0
    return failcount, (last_failure if failcount > 0 else 0)


def _block_failure(ws: WorkingSet, node: Node, rsc: Resource,
                   xml_op: Optional[XNode] = None) -> bool:
    """block_failure: whether a failure of rsc on node is one of an operation configured with
    on-fail=block, so that the failure timeout does not apply. The configured operations are
    those block_failure's XPath finds, `//primitive[@id=NAME]//op[@on-fail='block']` in the
    resource's own XML (case-sensitive: on-fail="Block" blocks the resource, as
    unpack_operation compares casei, but its failures expire). With a history entry
    (check_operation_expiry passes the one it judges) only that entry is matched against them;
    without one, every entry of the resource on the node with the operation's name and
    interval (`@operation` and `@interval` as written) is. So a start's expired failure clears
    the fail count even where a monitor with on-fail=block failed too (is_matched_failure:
    same name and interval, and the entry is the last failure or a failed run)."""
    name = strip_clone_suffix(rsc.id)
    if rsc.xml is None or rsc.xml.tag != "primitive":
        return False
    for conf in rsc.xml.iter("op"):
        if conf.get("on-fail") != "block":
            continue
        if xml_op is not None:
            if _is_matched_failure(name, conf, xml_op):
                return True
            continue
        conf_name = conf.get("name")
        conf_interval = str(interval_ms(conf.get("interval")))
        for entry in _history_entries(ws, node, name):
            if entry.get("operation") == conf_name and entry.get("interval") == conf_interval \
                    and _is_matched_failure(name, conf, entry):
                return True
    return False


def _history_entries(ws: WorkingSet, node: Node, name: str) -> list[XNode]:
    """The lrm_rsc_op entries of block_failure's status XPath,
    `//node_state[@uname=NODE]//lrm_resource[@id=NAME]/lrm_rsc_op`, in document order."""
    found: list[XNode] = []
    status = ws.cib.find("status")
    if status is None:
        return found
    for state in status.children:
        if state.tag != "node_state" or state.get("uname") != node.uname:
            continue
        for lrm_rsc in state.iter("lrm_resource"):
            if lrm_rsc.get("id") == name:
                found.extend(op for op in lrm_rsc.children if op.tag == "lrm_rsc_op")
    return found


def _is_matched_failure(name: str, conf: XNode, xml_op: XNode) -> bool:
    """is_matched_failure: the history entry is of the configured operation (name compared
    casei, interval parsed) and is its last failure, or its own entry with a result other
    than the expected one."""
    conf_name = conf.get("name")
    conf_interval = interval_ms(conf.get("interval"))
    rec = op_record(xml_op)
    if rec.interval != conf_interval or conf_name is None or rec.task is None or \
            conf_name.lower() != rec.task.lower():
        return False
    entry_id = rec.id.lower()
    if entry_id == f"{name}_last_failure_0".lower():
        return True
    return entry_id == op_key(name, conf_name, conf_interval).lower() and \
        rec.rc != rec.target_rc


def _check_param_change(ws: WorkingSet, rsc: Resource, node: Node, op: OpRec) -> None:
    """A failed start/monitor whose parameters changed since: clear the fail count."""
    if op.task in ("start", "monitor"):
        if digest_mismatch(ws, rsc, node, op.xml) is True:
            act.clear_failcount(ws, rsc, node, "resource parameters have changed")


def _check_operation_expiry(ws: WorkingSet, rsc: Resource, node: Node, rc: int,
                            op: OpRec) -> bool:
    expired = False
    is_last_failure = op.id.endswith("_last_failure_0")
    interval = op.interval
    task = op.task
    unexpired = 0
    last = op.last_change
    if rsc.failure_timeout > 0 and op.xml.get("last-rc-change") is not None:
        if ws.now_epoch >= last + rsc.failure_timeout:
            expired = True
        unexpired, last_failure = get_failcount(ws, node, rsc, True, op.xml)
        recheck = last_failure + rsc.failure_timeout + 1
        if unexpired and ws.now_epoch < recheck:
            if ws.recheck_by == 0 or recheck < ws.recheck_by:
                ws.recheck_by = recheck
    clear_reason = None
    if expired:
        if get_failcount(ws, node, rsc, False, op.xml)[0]:
            if unexpired == 0:
                clear_reason = "it expired"
            else:
                expired = False
    if not expired and is_last_failure and task in ("start", "monitor"):
        if digest_mismatch(ws, rsc, node, op.xml) is True:
            clear_reason = "resource parameters have changed"
    if clear_reason is not None:
        act.clear_failcount(ws, rsc, node, clear_reason)
    if expired and interval == 0 and task == "monitor":
        if rc in (OCF_SUCCESS, OCF_NOT_RUNNING, OCF_RUNNING_PROMOTED, OCF_DEGRADED,
                  OCF_DEGRADED_PROMOTED):
            expired = False
    return expired
