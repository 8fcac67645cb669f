"""Promotable clones (pcmk_sched_promotable.c): promotion scores (node attributes
`master-<rsc>`), promoted-role locations and colocations, and the choice of which placed
instances to promote (`set_instance_roles`)."""

from __future__ import annotations

from core.cib.scores import INFINITY, add_scores, parse_score, score_text
from core.cib.status import strip_clone_suffix
from pengine import model as m
from pengine.assign import W_POSITIVE, W_ROLLBACK, coloc_lh, colocation_has_influence, merge_weights
from pengine.clone_placement import cmp_instance
from pengine.instances import find_clone_member, location_one, locations, rsc_state
from pengine.model import Location, Node, Resource, WorkingSet
from pengine.tickets import require_promotion_tickets
from pengine.values import glib_list_sort

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


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


def promotion_score(rsc: Resource, node: Node, colours: tuple[int, int, int]
                    ) -> tuple[int, bool]:
    """(score, is_default): the `master-<name>` node attribute for an instance (the sum of
    its members' for a cloned group), read by char2score (`colours`: WorkingSet.score_colours)."""
    if rsc.children:
        total = 0
        is_default = True
        for child in rsc.children:
            score, child_default = promotion_score(child, node, colours)
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
    return parse_score(value, *colours), False


def add_promotion_scores(rsc: Resource, colours: tuple[int, int, int]) -> None:
    """Promotion scores become part of instances' node preferences and priorities."""
    if rsc.promotion_added:
        return
    rsc.promotion_added = True
    for child in rsc.children:
        for node in list(child.allowed):
            if not node.available():
                continue
            score, _ = promotion_score(child, node, colours)
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
        score, is_default = promotion_score(instance, chosen, ws.score_colours)
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
    clone.children[:] = glib_list_sort(clone.children, _cmp_promotable_instance)
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
