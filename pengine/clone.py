"""Clones: anonymous, globally-unique and promotable, scheduled as Pacemaker 2.1.5 does.

A clone is unpacked into `clone-max` instances of its child (a primitive or a group), each with
id "<child>:<n>"; history of an anonymous clone names the child without a number, so each
node's history is matched to an instance (`find_anonymous_clone`), creating orphan instances
beyond clone-max when needed. Placement sorts the instances (`cmp_instance`), keeps running
instances where they are if they may stay, then places the rest, at most clone-node-max per
node (`distribute_children`). Promotable clones then choose which placed instances to promote
from promotion scores (node attributes `master-<rsc>`), promoted-role locations and colocations
(`set_instance_roles`). The clone itself only has pseudo actions (start/running, stop/stopped,
promote/promoted, demote/demoted) that summarize its instances' actions.

Clone notifications (`notify=true`): the pseudo actions are made with the clone's actions here,
the per-instance notify actions at graph time (`pengine/notify.py`).
"""

from __future__ import annotations

from functools import cmp_to_key
from typing import Optional

from core.cib.scores import INFINITY, add_scores, parse_score, score_text
from core.cib.status import strip_clone_suffix
from pengine import actions as act
from pengine import model as m
from pengine import notify
from pengine.tickets import require_promotion_tickets
from pengine.model import (A_MIGRATE_RUNNABLE, A_OPTIONAL, A_PSEUDO, A_RUNNABLE, CLONE, GROUP,
                           PRIMITIVE, Action, Colocation, Location, Node, Resource, WorkingSet)

# ------------------------------------------------------------------------------------------------
# small helpers shared by the steps


def _strtoll(text: str) -> Optional[int]:
    """The leading integer of text as C's strtoll reads it, None if there is none."""
    s = text.strip()
    i = 0
    if i < len(s) and s[i] in "+-":
        i += 1
    j = i
    while j < len(s) and s[j].isdigit():
        j += 1
    if j == i:
        return None
    return int(s[:j])


def _scan_min_int(text: str, minimum: int = 0) -> int:
    """pcmk__scan_min_int: an integer, at least `minimum` (also for garbage)."""
    value = _strtoll(text)
    if value is None or value < minimum:
        return minimum
    return min(value, 2**31 - 1)


def set_recursive(rsc: Resource, attr: str, value: bool) -> None:
    setattr(rsc, attr, value)
    for child in rsc.children:
        set_recursive(child, attr, value)


def is_set_recursive(rsc: Resource, attr: str, any_: bool) -> bool:
    """is_set_recursive: the flag on rsc or any descendant (any_) / on all of them."""
    if getattr(rsc, attr):
        if any_:
            return True
    elif not any_:
        return False
    for child in rsc.children:
        if is_set_recursive(child, attr, any_):
            if any_:
                return True
        elif not any_:
            return False
    return not any_


def locations(rsc: Resource, current: int) -> list[Node]:
    """native_location's list: where rsc (or its members) runs (current=1), runs or has an
    action pending (current=2), or is assigned (current=0); de-duplicated, in order."""
    out: list[Node] = []
    _collect_locations(rsc, current, out)
    return out


def _collect_locations(rsc: Resource, current: int, out: list[Node]) -> None:
    if rsc.children:
        for child in rsc.children:
            _collect_locations(child, current, out)
        return
    if current:
        nodes = list(rsc.running_on)
        if current == 2 and rsc.pending_node is not None and rsc.pending_node not in nodes:
            nodes.append(rsc.pending_node)
    else:
        nodes = [rsc.allocated_to] if rsc.allocated_to is not None else []
    for node in nodes:
        if node not in out:
            out.append(node)


def location_one(rsc: Resource, current: int) -> Optional[Node]:
    """rsc->fns->location(rsc, NULL, current): the node, if exactly one."""
    nodes = locations(rsc, current)
    return nodes[0] if len(nodes) == 1 else None


def _assigned_weight(rsc: Resource, node: Node) -> int:
    """The weight of the assigned-node copy Pacemaker keeps (first member placed there)."""
    if not rsc.children:
        return rsc.allocated_weight
    for child in rsc.children:
        if node in locations(child, 0):
            return _assigned_weight(child, node)
    return 0


def rsc_state(rsc: Resource, current: bool) -> int:
    """rsc->fns->state: the (current or next) role, the highest of any member."""
    if not rsc.children:
        return rsc.role if current else rsc.next_role
    role = m.ROLE_UNKNOWN
    for child in rsc.children:
        role = max(role, rsc_state(child, current))
    return role


def find_clone_member(rsc: Resource, ident: str, on_node: Optional[Node] = None) -> Optional[Resource]:
    """native_find_rsc(rsc, ident, on_node, pe_find_clone[|pe_find_current]): the resource
    in rsc (an instance, or a member of a cloned group) configured as `ident`."""
    if rsc.top.variant == CLONE and (ident == rsc.id or ident == rsc.xml.get("id")):
        if on_node is None or (rsc.running_on and on_node in rsc.running_on):
            return rsc
    for child in rsc.children:
        found = find_clone_member(child, ident, on_node)
        if found is not None:
            return found
    return None


def top_allowed(rsc: Resource, node: Optional[Node]) -> Optional[Node]:
    """pcmk__top_allowed_node: node if the parent (or rsc itself at top) allows it at all."""
    if node is None:
        return None
    owner = rsc.parent if rsc.parent is not None else rsc
    return node if node in owner.allowed else None


def _owner(rsc: Resource) -> Resource:
    return rsc.parent if rsc.parent is not None else rsc


def copies_per_node(rsc: Resource) -> int:
    if rsc.variant == CLONE:
        return rsc.clone_node_max
    return 1


def _instance_number(rsc: Resource) -> int:
    tail = rsc.id.rpartition(":")[2]
    number = _strtoll(tail)
    return number if number is not None else 0


def sort_by_instance_number(rsc: Resource) -> None:
    rsc.children.sort(key=_instance_number)


def configured_role(rsc: Resource) -> int:
    target = rsc.meta.get("target-role")
    if target is None and rsc.children:
        target = rsc.children[0].meta.get("target-role")
    if target is None:
        return m.ROLE_UNKNOWN
    return m.text2role(target)


# ------------------------------------------------------------------------------------------------
# unpacking

def unpack_clone(ws: WorkingSet, rsc: Resource) -> bool:
    """clone_unpack: options, then one instance per instance number."""
    from pengine.unpack import is_true
    meta = rsc.meta
    if rsc.promotable:
        promoted_max = meta.get("promoted-max")
        if promoted_max is None:
            promoted_max = meta.get("master-max")
        promoted_node_max = meta.get("promoted-node-max")
        if promoted_node_max is None:
            promoted_node_max = meta.get("master-node-max")
        rsc.promoted_max = 1 if promoted_max is None else _scan_min_int(promoted_max)
        rsc.promoted_node_max = (1 if promoted_node_max is None
                                 else _scan_min_int(promoted_node_max))
    node_max = meta.get("clone-node-max")
    rsc.clone_node_max = 1 if node_max is None else _scan_min_int(node_max)
    clone_max = meta.get("clone-max")
    rsc.clone_max = max(1, len(ws.nodes)) if clone_max is None else _scan_min_int(clone_max)
    rsc.ordered_clone = is_true(meta.get("ordered"))
    rsc.interleave = is_true(meta.get("interleave"))
    if not rsc.unique and rsc.clone_node_max > 1:
        ws.warnings.append(f"Ignoring clone-node-max for {rsc.id} because anonymous clones "
                           "support only one instance per node")
        rsc.clone_node_max = 1
    for child in rsc.xml.children:
        if child.tag in ("primitive", "group"):
            rsc.clone_child_xml = child
            break
    if rsc.clone_child_xml is None:
        ws.warnings.append(f"{rsc.id} has nothing to clone")
        return False
    # clones are slightly sticky by default, so instances are not shuffled for no benefit
    meta.setdefault("resource-stickiness", "1")
    meta.setdefault("globally-unique", "true" if rsc.unique else "false")
    for _ in range(max(1, rsc.clone_max)):
        if create_clone_child(ws, rsc) is None:
            return False
    return True


def create_clone_child(ws: WorkingSet, clone: Resource) -> Optional[Resource]:
    """pe__create_clone_child: the next instance number (an orphan beyond clone-max)."""
    from pengine.unpack import unpack_resource
    assert clone.clone_child_xml is not None
    as_orphan = clone.total_instances >= clone.clone_max
    child = unpack_resource(ws, clone.clone_child_xml, clone, str(clone.total_instances))
    if child is None:
        return None
    clone.total_instances += 1
    clone.children.append(child)
    if as_orphan:
        set_recursive(child, "orphan", True)
    child.meta.setdefault("clone-max", str(clone.clone_max))
    return child


def find_anonymous_clone(ws: WorkingSet, node: Node, parent: Resource,
                         rsc_id: str) -> Optional[Resource]:
    """The instance a node's history of an anonymous clone belongs to: the one active there,
    else a free inactive one, else a new orphan instance."""
    rsc: Optional[Resource] = None
    inactive: Optional[Resource] = None
    skip_inactive = False
    for child in parent.children:
        if rsc is not None:
            break
        where = locations(child, 2)
        if where:
            if where[0] is node:
                found = find_clone_member(child, rsc_id)
                if found is not None and found.running_on:
                    # a second numbered history of an anonymous instance: an orphan
                    skip_inactive = True
                    found = None
                rsc = found
        elif not skip_inactive and inactive is None and not child.blocked:
            inactive = find_clone_member(child, rsc_id)
            if inactive is not None and inactive.pending_node is not None \
                    and inactive.pending_node is not node:
                inactive = None
    if rsc is None and not skip_inactive and inactive is not None:
        rsc = inactive
    # an instance on an unclean node that does not need fencing should not use up a number
    if rsc is not None and not rsc.needs_fencing and (not node.online or node.unclean) \
            and parent.clone_max != len(ws.nodes):
        rsc = None
    if rsc is None:
        top = create_clone_child(ws, parent)
        if top is None:
            return None
        rsc = find_clone_member(top, rsc_id)
    return rsc


def clone_active(rsc: Resource, all_: bool) -> bool:
    from pengine.display import rsc_active
    for child in rsc.children:
        active = rsc_active(child, all_)
        if not all_ and active:
            return True
        if all_ and not active:
            return False
    return all_


# ------------------------------------------------------------------------------------------------
# locations and colocations

def clone_apply_location(rsc: Resource, location: Location) -> None:
    from pengine.assign import apply_location, apply_location_to
    apply_location(rsc, location)
    for child in rsc.children:
        apply_location_to(child, location)


def clone_merge_weights(rsc: Resource, primary_id: str, nodes: Optional[dict[Node, int]],
                        attr: Optional[str], factor: float,
                        flags: int) -> Optional[dict[Node, int]]:
    """A clone adds colocated node scores like a primitive does (from its own table)."""
    from pengine.assign import native_merge_weights
    return native_merge_weights(rsc, primary_id, nodes, attr, factor, flags)


def node_list_exclude(allowed: dict[Node, int], nodes: list[tuple[Node, int]],
                      merge: bool) -> None:
    """node_list_exclude: -INFINITY on every node not listed (merging listed scores)."""
    listed: dict[Node, int] = {}
    for node, weight in nodes:
        listed.setdefault(node, weight)
    for node in list(allowed):
        if node not in listed:
            allowed[node] = -INFINITY
        elif merge:
            allowed[node] = add_scores(allowed[node], listed[node])
    for node in listed:
        if node not in allowed:
            allowed[node] = -INFINITY


def clone_coloc_rh(dependent: Resource, primary: Resource, con: Colocation) -> None:
    """pcmk__clone_apply_coloc_score: a (primitive) dependent colocated with a clone."""
    from pengine.assign import assign_resource, coloc_lh, coloc_rh
    from pengine.unpack import is_true
    assert dependent.variant == PRIMITIVE
    if primary.promotable:
        if primary.provisional:
            return
        if con.primary_role == m.ROLE_UNKNOWN:
            pass
        elif dependent.provisional:
            _update_dependent_with_promotable(primary, dependent, con)
            return
        elif con.dependent_role == m.ROLE_PROMOTED:
            _update_promotable_dependent_priority(primary, dependent, con)
            return
    do_interleave = False
    if is_true(con.dependent.meta.get("interleave")) and con.dependent.variant > GROUP:
        if copies_per_node(con.dependent) != copies_per_node(con.primary):
            dependent.ws.warnings.append(f"Cannot interleave {con.dependent.id} and "
                                         f"{con.primary.id} because they do not support the "
                                         "same number of instances per node")
        else:
            do_interleave = True
    if primary.provisional:
        return
    if do_interleave:
        instance = find_compatible_child(dependent, primary, m.ROLE_UNKNOWN, False)
        if instance is not None:
            coloc_lh(dependent, instance, con)
        elif con.score >= INFINITY:
            assign_resource(dependent.ws, dependent, None, True)
        return
    if con.score >= INFINITY:
        affected: list[tuple[Node, int]] = []
        for child in primary.children:
            chosen = location_one(child, 0)
            if chosen is not None and not is_set_recursive(child, "blocked", True):
                affected.insert(0, (chosen, _assigned_weight(child, chosen)))
        node_list_exclude(dependent.allowed, affected, False)
        return
    for child in primary.children:
        coloc_rh(dependent, child, con)


def clone_coloc_lh(dependent: Resource, primary: Resource, con: Colocation) -> None:
    raise AssertionError(f"a clone ({dependent.id}) is never the dependent side here: its "
                         "colocations are applied through its instances")


def _update_dependent_with_promotable(primary: Resource, dependent: Resource,
                                      con: Colocation) -> None:
    """Place a dependent with (or away from) the instances of a promotable clone that will
    have the colocation's role."""
    affected: list[tuple[Node, int]] = []
    attr = con.node_attribute or "#uname"
    for instance in primary.children:
        node = location_one(instance, 0)
        if node is None:
            continue
        if rsc_state(instance, False) == con.primary_role:
            if con.score < INFINITY:
                value = node.attrs.get(attr)
                for other in dependent.allowed:
                    other_value = other.attrs.get(attr)
                    if (value is None and other_value is None) or (
                            value is not None and other_value is not None
                            and value.lower() == other_value.lower()):
                        dependent.allowed[other] = add_scores(dependent.allowed[other],
                                                              con.score)
            affected.insert(0, (node, _assigned_weight(instance, node)))
    if con.score >= INFINITY and (con.dependent_role != m.ROLE_PROMOTED
                                  or con.primary_role != m.ROLE_PROMOTED):
        node_list_exclude(dependent.allowed, affected, True)


def _update_promotable_dependent_priority(primary: Resource, dependent: Resource,
                                          con: Colocation) -> None:
    instance = find_compatible_child(dependent, primary, con.primary_role, False)
    if instance is not None:
        dependent.priority = add_scores(dependent.priority, con.score)
    elif con.score >= INFINITY:
        dependent.priority = -INFINITY


def is_child_compatible(child: Resource, local_node: Node, filter_role: int,
                        current: bool) -> bool:
    next_role = rsc_state(child, current)
    node = None
    if not is_set_recursive(child, "blocked", True):
        node = location_one(child, 1 if current else 0)
    if filter_role != m.ROLE_UNKNOWN and next_role != filter_role:
        return False
    return node is not None and node is local_node


def find_compatible_child_by_node(local_child: Resource, local_node: Optional[Node],
                                  rsc: Resource, filter_role: int,
                                  current: bool) -> Optional[Resource]:
    if local_node is None:
        return None
    for child in rsc.children:
        if is_child_compatible(child, local_node, filter_role, current):
            return child
    return None


def find_compatible_child(local_child: Resource, rsc: Resource, filter_role: int,
                          current: bool) -> Optional[Resource]:
    """The instance of clone rsc on the node where local_child is (or could best be)."""
    from pengine.assign import sort_nodes
    local_node = location_one(local_child, 1 if current else 0)
    if local_node is not None:
        return find_compatible_child_by_node(local_child, local_node, rsc, filter_role, current)
    for node, _ in sort_nodes(local_child.ws, list(local_child.allowed.items()), None):
        pair = find_compatible_child_by_node(local_child, node, rsc, filter_role, current)
        if pair is not None:
            return pair
    return None


# ------------------------------------------------------------------------------------------------
# placement

def _node_is_allowed(rsc: Resource, node: Optional[Node]) -> tuple[bool, Optional[Node]]:
    if node is not None:
        score = rsc.allowed.get(node)
        if score is None or score < 0:
            return False, None
    return True, node


def _did_fail(rsc: Resource) -> bool:
    if rsc.failed:
        return True
    return any(_did_fail(child) for child in rsc.children)


def _apply_parent_colocations(rsc: Resource, nodes: dict[Node, int]) -> dict[Node, int]:
    from pengine.assign import W_POSITIVE, colocation_has_influence, merge_weights
    assert rsc.parent is not None
    for con in rsc.parent.rsc_cons:
        merged = merge_weights(con.primary, rsc.id, nodes, con.node_attribute,
                               con.score / INFINITY, 0)
        if merged is not None:
            nodes = merged
    for con in rsc.parent.rsc_cons_lhs:
        if not colocation_has_influence(con, rsc):
            continue
        merged = merge_weights(con.dependent, rsc.id, nodes, con.node_attribute,
                               con.score / INFINITY, W_POSITIVE)
        if merged is not None:
            nodes = merged
    return nodes


def _cmp_by_colocation(a: Resource, b: Resource) -> int:
    from pengine.assign import current_node
    node_a, node_b = current_node(a), current_node(b)
    assert node_a is not None and node_b is not None
    scores_a = _apply_parent_colocations(a, {node_a: node_a.weight})
    scores_b = _apply_parent_colocations(b, {node_b: node_b.weight})
    weight_a, weight_b = scores_a[node_a], scores_b[node_b]
    if weight_a < weight_b:
        return 1
    if weight_a > weight_b:
        return -1
    return 0


def cmp_instance(a: Resource, b: Resource) -> int:
    """pcmk__cmp_instance: which of two instances should be placed first."""
    from pengine.assign import current_node
    node1, node2 = current_node(a), current_node(b)
    n1, n2 = len(a.running_on), len(b.running_on)
    if n1 > 0 and n2 > 0:
        if n1 < n2:
            return -1
        if n1 > n2:
            return 1
    can1, node1 = _node_is_allowed(a, node1)
    can2, node2 = _node_is_allowed(b, node2)
    if can1 and not can2:
        return -1
    if not can1 and can2:
        return 1
    if a.priority > b.priority:
        return -1
    if a.priority < b.priority:
        return 1
    if node1 is None and node2 is None:
        return 0
    if node1 is None:
        return 1
    if node2 is None:
        return -1
    can1, can2 = node1.available(), node2.available()
    if can1 and not can2:
        return -1
    if not can1 and can2:
        return 1
    local1, local2 = top_allowed(a, node1), top_allowed(b, node2)
    if local1 is None and local2 is None:
        return 0
    if local1 is None:
        return 1
    if local2 is None:
        return -1
    count1 = _owner(a).node_counts.get(local1, 0)
    count2 = _owner(b).node_counts.get(local2, 0)
    if count1 < count2:
        return -1
    if count1 > count2:
        return 1
    can1, can2 = _did_fail(a), _did_fail(b)
    if not can1 and can2:
        return -1
    if can1 and not can2:
        return 1
    rc = _cmp_by_colocation(a, b)
    if rc:
        return rc
    return _instance_number(a) - _instance_number(b)


def _common_update_score(rsc: Resource, node: Node, score: int) -> None:
    if node in rsc.allowed:
        rsc.allowed[node] = add_scores(rsc.allowed[node], score)
    for child in rsc.children:
        _common_update_score(child, node, score)


def _can_run_instance(rsc: Resource, node: Node, limit: int) -> Optional[Node]:
    if node.available() and not rsc.orphan:
        local = top_allowed(rsc, node)
        if local is None:
            rsc.ws.warnings.append(f"{rsc.id} cannot run on {node.uname}: node not allowed")
        else:
            parent_score = _owner(rsc).allowed[local]
            if parent_score < 0:
                # and then banned outright: can_run_instance falls through to its bail label
                _common_update_score(rsc, node, parent_score)
            elif _owner(rsc).node_counts.get(local, 0) < limit:
                return local
    _common_update_score(rsc, node, -INFINITY)
    return None


def _append_parent_colocation(parent: Resource, child: Resource, all_: bool) -> None:
    from pengine.assign import colocation_has_influence
    from pengine.unpack import cmp_dependent, cmp_primary, insert_sorted
    # pcmk__add_this_with/pcmk__add_with_this: sorted insertions, a colocation before its ties
    for con in parent.rsc_cons:
        if all_ or con.score < 0 or con.score == INFINITY:
            insert_sorted(child.rsc_cons, con, cmp_primary)
    for con in parent.rsc_cons_lhs:
        if not colocation_has_influence(con, child):
            continue
        if all_ or con.score < 0:
            insert_sorted(child.rsc_cons_lhs, con, cmp_dependent)


def _unassign_resource(rsc: Resource) -> None:
    """pcmk__unassign_resource: only a primitive's own assignment is undone."""
    from pengine.assign import unassign
    if rsc.allocated_to is None:
        return
    rsc.provisional = True
    unassign(rsc)


def _allocate_instance(ws: WorkingSet, rsc: Resource, prefer: Optional[Node], all_coloc: bool,
                       limit: int) -> Optional[Node]:
    from pengine.assign import assign
    if not rsc.provisional:
        return location_one(rsc, 0)
    if rsc.allocating:
        return None
    assert rsc.parent is not None
    _append_parent_colocation(rsc.parent, rsc, all_coloc)
    if prefer is not None:
        score = rsc.allowed.get(prefer)
        if score is None or score < 0:
            return None
    for node in list(rsc.allowed):
        _can_run_instance(rsc, node, limit)
    backup = dict(rsc.allowed)
    chosen = assign(ws, rsc, prefer)
    if chosen is not None and prefer is not None and chosen is not prefer:
        rsc.allowed = backup
        _unassign_resource(rsc)
        chosen = None
    if chosen is not None:
        local = top_allowed(rsc, chosen)
        if local is not None:
            counts = _owner(rsc).node_counts
            counts[local] = counts.get(local, 0) + 1
        elif rsc.managed:
            ws.warnings.append(f"{chosen.uname} not found in {rsc.parent.id}")
    return chosen


def distribute_children(ws: WorkingSet, rsc: Resource, children: list[Resource],
                        nodes: list[Node], max_: int, per_host_max: int) -> None:
    from pengine.assign import current_node
    from pengine.unpack import resource_location
    available = 0
    for node in nodes:
        rsc.node_counts[node] = 0
        if node.available():
            available += 1
    all_coloc = max_ < available
    loop_max = max(1, max_ // available) if available else 1
    allocated = 0
    # keep as many instances as possible where they are running
    for child in children:
        if allocated >= max_:
            break
        if not child.running_on or not child.provisional or child.failed:
            continue
        child_node = current_node(child)
        assert child_node is not None
        local = top_allowed(child, child_node)
        if not child_node.available(True, child_node.weight):
            continue
        if local is not None and rsc.node_counts.get(local, 0) >= loop_max:
            continue
        if _allocate_instance(ws, child, child_node, all_coloc, per_host_max) is not None:
            allocated += 1
    for child in children:
        if not child.provisional:
            continue
        if allocated >= max_:
            resource_location(ws, child, None, -INFINITY, "clone:limit_reached")
        elif _allocate_instance(ws, child, None, all_coloc, per_host_max) is not None:
            allocated += 1


def assign_clone(ws: WorkingSet, rsc: Resource, prefer: Optional[Node]) -> Optional[Node]:
    """pcmk__clone_allocate."""
    from pengine.assign import (W_POSITIVE, W_ROLLBACK, assign, colocation_has_influence,
                                merge_weights, show_scores, sort_nodes)
    if not rsc.provisional or rsc.allocating:
        return None
    if rsc.promotable:
        add_promotion_scores(rsc)
    rsc.allocating = True
    # placed first: what the instances are colocated with (their order depends on it)
    for con in list(rsc.rsc_cons):
        assign(ws, con.primary, prefer)
    for con in list(rsc.rsc_cons_lhs):
        if colocation_has_influence(con, None):
            merged = merge_weights(con.dependent, rsc.id, rsc.allowed, con.node_attribute,
                                   con.score / INFINITY, W_ROLLBACK | W_POSITIVE)
            if merged is not None:
                rsc.allowed = merged
    show_scores(ws, rsc, "pcmk__clone_allocate")
    nodes = [node for node, _ in sort_nodes(ws, list(rsc.allowed.items()), None)]
    rsc.children.sort(key=cmp_to_key(cmp_instance))
    distribute_children(ws, rsc, rsc.children, nodes, rsc.clone_max, rsc.clone_node_max)
    if rsc.promotable:
        set_instance_roles(ws, rsc)
    rsc.provisional = False
    rsc.allocating = False
    return None


# ------------------------------------------------------------------------------------------------
# promotion

def _promotion_score_applies(rsc: Resource, node: Node) -> bool:
    ident = strip_clone_suffix(rsc.id)
    parent = rsc.top
    if not rsc.unique:
        active = None
        for child in parent.children:
            active = find_clone_member(child, ident, node)
            if active is not None:
                break
        if active is rsc:
            return _is_allowed(rsc, node)
        if active is None and _anonymous_known_on(parent, ident, node):
            return _is_allowed(rsc, node)
    if not rsc.running_on and not rsc.known_on:
        return _is_allowed(rsc, node)
    if node in rsc.known_on or node in rsc.running_on:
        return _is_allowed(rsc, node)
    return False


def _anonymous_known_on(clone: Resource, ident: str, node: Node) -> bool:
    for child in clone.children:
        found = find_clone_member(child, ident)
        if found is not None and node in found.known_on:
            return True
    return False


def _is_allowed(rsc: Resource, node: Node) -> bool:
    score = rsc.allowed.get(node)
    return score is not None and score >= 0


def promotion_score(rsc: Resource, node: Node) -> tuple[int, bool]:
    """(score, is_default): the `master-<name>` node attribute for an instance (the sum of
    its members' for a cloned group)."""
    if rsc.children:
        total = 0
        is_default = True
        for child in rsc.children:
            score, child_default = promotion_score(child, node)
            if not child_default:
                is_default = False
            total += score
        return total, is_default
    if not _promotion_score_applies(rsc, node):
        return 0, True
    name = rsc.clone_name if rsc.clone_name is not None else rsc.id
    value = node.attrs.get(f"master-{name}")
    if value is None and not rsc.unique:
        base = strip_clone_suffix(rsc.id)
        if base != rsc.id:
            value = node.attrs.get(f"master-{base}")
    if value is None:
        return 0, True
    return parse_score(value), False


def add_promotion_scores(rsc: Resource) -> None:
    """Promotion scores become part of instances' node preferences and priorities."""
    if rsc.promotion_added:
        return
    rsc.promotion_added = True
    for child in rsc.children:
        for node in list(child.allowed):
            if not node.available():
                continue
            score, _ = promotion_score(child, node)
            if score > 0:
                child.allowed[node] = add_scores(child.allowed[node], score)
            if score > child.priority:
                child.priority = score


def _set_current_role_unpromoted(rsc: Resource) -> None:
    if rsc.role == m.ROLE_STARTED:
        rsc.role = m.ROLE_UNPROMOTED
    for child in rsc.children:
        _set_current_role_unpromoted(child)


def _set_next_role_unpromoted(rsc: Resource) -> None:
    rsc.next_role = m.ROLE_UNPROMOTED if locations(rsc, 0) else m.ROLE_STOPPED
    for child in rsc.children:
        _set_next_role_unpromoted(child)


def _set_next_role_promoted(rsc: Resource) -> None:
    if rsc.next_role == m.ROLE_UNKNOWN:
        rsc.next_role = m.ROLE_PROMOTED
    for child in rsc.children:
        _set_next_role_promoted(child)


def _apply_promoted_locations(child: Resource, locs: list[Location], chosen: Node) -> None:
    for location in locs:
        if location.role_filter != m.ROLE_PROMOTED:
            continue
        for node, score in location.nodes:
            if node is chosen:
                child.priority = add_scores(child.priority, score)
                break


def _set_instance_priority(ws: WorkingSet, instance: Resource, clone: Resource) -> None:
    from pengine.assign import coloc_lh
    if rsc_state(instance, True) == m.ROLE_STARTED:
        _set_current_role_unpromoted(instance)
    where = locations(instance, 0)
    if len(where) > 1:
        ws.warnings.append(f"Cannot promote non-colocated child {instance.id}")
    chosen = where[0] if len(where) == 1 else None
    if chosen is None:
        return
    next_role = rsc_state(instance, False)
    if next_role in (m.ROLE_STARTED, m.ROLE_UNKNOWN):
        score, is_default = promotion_score(instance, chosen)
        # -1 when nothing says so: locations alone may make an instance promotable
        instance.priority = -1 if is_default else score
    elif next_role in (m.ROLE_UNPROMOTED, m.ROLE_STOPPED):
        instance.priority = -INFINITY
    _apply_promoted_locations(instance, instance.rsc_location, chosen)
    _apply_promoted_locations(instance, clone.rsc_location, chosen)
    for con in list(instance.rsc_cons):
        coloc_lh(instance, con.primary, con)
    instance.sort_index = instance.priority
    if next_role == m.ROLE_PROMOTED:
        instance.sort_index = INFINITY


def _cmp_promotable_instance(a: Resource, b: Resource) -> int:
    if a.sort_index > b.sort_index:
        return -1
    if a.sort_index < b.sort_index:
        return 1
    role_a, role_b = rsc_state(a, True), rsc_state(b, True)
    if role_a > role_b:
        return -1
    if role_a < role_b:
        return 1
    return cmp_instance(a, b)


def _sort_promotable_instances(clone: Resource) -> None:
    from pengine.assign import W_POSITIVE, W_ROLLBACK, colocation_has_influence, merge_weights
    if clone.promotion_constrained:
        return
    clone.promotion_constrained = True
    clone.merging = True
    for child in clone.children:
        if child.sort_index < 0:
            continue
        chosen = location_one(child, 0)
        if chosen is None:
            continue
        assert chosen in clone.allowed
        clone.allowed[chosen] = add_scores(child.sort_index, clone.allowed[chosen])
    for con in list(clone.rsc_cons):
        if con.dependent_role != m.ROLE_PROMOTED:
            continue
        flags = W_ROLLBACK if con.score < INFINITY else 0
        merged = merge_weights(con.primary, clone.id, clone.allowed, con.node_attribute,
                               con.score / INFINITY, flags)
        if merged is not None:
            clone.allowed = merged
    for con in list(clone.rsc_cons_lhs):
        if con.primary_role != m.ROLE_PROMOTED or not colocation_has_influence(con, None):
            continue
        merged = merge_weights(con.dependent, clone.id, clone.allowed, con.node_attribute,
                               con.score / INFINITY, W_ROLLBACK | W_POSITIVE)
        if merged is not None:
            clone.allowed = merged
    require_promotion_tickets(clone)
    for child in clone.children:
        chosen = location_one(child, 0)
        if not child.managed and child.next_role == m.ROLE_PROMOTED:
            child.sort_index = INFINITY
        elif chosen is None or child.sort_index < 0:
            pass
        else:
            child.sort_index = clone.allowed[chosen]
    clone.children.sort(key=cmp_to_key(_cmp_promotable_instance))
    clone.merging = False


def _node_to_be_promoted_on(rsc: Resource) -> Optional[Node]:
    parent = rsc.top
    for child in rsc.children:
        if _node_to_be_promoted_on(child) is None:
            return None
    node = location_one(rsc, 0)
    if node is None:
        return None
    if not rsc.managed:
        if rsc_state(rsc, True) != m.ROLE_PROMOTED:
            return None
    elif rsc.priority < 0:
        return None
    elif not node.available():
        return None
    if node not in parent.allowed:
        if rsc.managed:
            rsc.ws.warnings.append(f"{rsc.id} can't be promoted because {parent.id} is not "
                                   f"allowed on {node.uname} (scheduler bug?)")
        return None
    if parent.node_counts.get(node, 0) >= parent.promoted_node_max and rsc.managed:
        return None
    return node


def set_instance_roles(ws: WorkingSet, clone: Resource) -> None:
    """pcmk__set_instance_roles: promote the best promotable-max placed instances."""
    for node in clone.allowed:
        clone.node_counts[node] = 0
    for child in clone.children:
        _set_instance_priority(ws, child, clone)
    _sort_promotable_instances(clone)
    promoted = 0
    for instance in clone.children:
        chosen_where = location_one(instance, 0)
        if ws.show_scores:
            ws.score_lines.append(
                f"{instance.id} promotion score on "
                f"{chosen_where.uname if chosen_where is not None else 'none'}: "
                f"{score_text(instance.sort_index)}")
        chosen = None
        if instance.sort_index < 0:
            pass
        elif promoted < clone.promoted_max or not clone.managed:
            chosen = _node_to_be_promoted_on(instance)
        if chosen is None:
            _set_next_role_unpromoted(instance)
            continue
        if instance.role < m.ROLE_PROMOTED and not ws.have_quorum \
                and ws.no_quorum_policy == m.NQ_FREEZE:
            _set_next_role_unpromoted(instance)
            continue
        clone.node_counts[chosen] = clone.node_counts.get(chosen, 0) + 1
        _set_next_role_promoted(instance)
        promoted += 1


# ------------------------------------------------------------------------------------------------
# actions

def _pseudo(ws: WorkingSet, rsc: Resource, task: str, optional: bool, runnable: bool) -> Action:
    """pe__new_rsc_pseudo_action."""
    from core.cib.status import op_key
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
    from pengine.rscactions import create_actions
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
    from pengine.rscactions import create_actions
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
    from pengine.rscactions import internal_constraints
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


# ------------------------------------------------------------------------------------------------
# action flags and ordering updates

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
    from pengine.ordering import action_flags
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
    from pengine.unpack import is_true
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
    from pengine.assign import assign_resource
    from pengine.ordering import UPDATED_FIRST, UPDATED_THEN, action_flags, update
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


def clone_update_ordered_actions(ws: WorkingSet, first: Action, then: Action,
                                 node: Optional[Node], flags: int, filt: int,
                                 otype: int) -> int:
    """pcmk__multi_update_actions."""
    from pengine.ordering import (UPDATED_THEN, action_flags, update, update_action,
                                  update_ordered_actions)
    if _can_interleave(first, then):
        return _interleave_update(ws, first, then, node, filt, otype)
    changed = 0
    if then.rsc is None:
        return changed
    changed |= update_ordered_actions(ws, first, then, node, flags, filt, otype)
    for then_child in then.rsc.children:
        child_action = act.find_first_action(then_child.actions, None, then.task, node)
        if child_action is None:
            continue
        child_changed = 0
        if action_flags(child_action, node) & A_RUNNABLE:
            child_changed = update(ws, then_child, first, child_action, node, flags, filt, otype)
        changed |= child_changed
        if child_changed & UPDATED_THEN:
            for after in list(child_action.after):
                update_action(ws, after[0])
    return changed


# ------------------------------------------------------------------------------------------------
# probes

def _known_on(rsc: Resource, node: Node) -> bool:
    if rsc.children:
        return any(_known_on(child, node) for child in rsc.children)
    return node in rsc.known_on


def clone_create_probe(ws: WorkingSet, rsc: Resource, node: Node) -> bool:
    """Probe one instance of an anonymous clone per node (all of a unique one)."""
    from pengine.probes import probe_resource_list, probe_rsc_on_node
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


# ------------------------------------------------------------------------------------------------
# status display

def _failed_probe_rc(ws: WorkingSet, clone: Resource, node_name: str) -> Optional[int]:
    """pe__failed_probe_for_rsc for a clone (matched against the clone's own name)."""
    from core.cib.status import history_key, int_attr, op_record, parse_op_key
    from pengine.status import mask_probe_failure
    ident = strip_clone_suffix(clone.id)
    for op, node, _ in ws.failed_ops:
        if not mask_probe_failure(op_record(op)):
            continue
        target = op.get("on_node")  # the op's own attribute, as Pacemaker reads it
        if target is None or target.lower() != node_name.lower():
            continue
        parsed = parse_op_key(history_key(op))
        if parsed is None or parsed[0] != ident:
            continue
        return int_attr(op, "rc-code")
    return None
