"""Clone placement (Pacemaker's pcmk_sched_clone.c allocation): locations and colocations
with and of a clone, then the instances sorted (`cmp_instance`), running instances kept where
they may stay, the rest placed at most clone-node-max per node (`distribute_children`)."""

from __future__ import annotations

from core.cib.scores import INFINITY, add_scores
from pengine import model as m
from pengine.assign import (W_POSITIVE, apply_location, apply_location_to, assign, assign_resource,
                            coloc_lh, coloc_rh, colocation_has_influence, current_node,
                            find_compatible_child, merge_weights, native_merge_weights, unassign)
from pengine.instances import (_assigned_weight, _instance_number, _owner, copies_per_node,
                               is_set_recursive, location_one, rsc_state, top_allowed)
from pengine.model import (Colocation, GROUP, Location, Node, PRIMITIVE, Resource, WorkingSet,
                           cmp_dependent, cmp_primary)
from pengine.unpack import resource_location
from pengine.values import insert_sorted, is_true

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


def clone_apply_location(rsc: Resource, location: Location) -> None:
    apply_location(rsc, location)
    for child in rsc.children:
        apply_location_to(child, location)


def clone_merge_weights(rsc: Resource, primary_id: str, nodes: Optional[dict[Node, int]],
                        attr: Optional[str], factor: float,
                        flags: int) -> Optional[dict[Node, int]]:
    """A clone adds colocated node scores like a primitive does (from its own table)."""
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
    if rsc.allocated_to is None:
        return
    rsc.provisional = True
    unassign(rsc)


def _allocate_instance(ws: WorkingSet, rsc: Resource, prefer: Optional[Node], all_coloc: bool,
                       limit: int) -> Optional[Node]:
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
