"""Questions about a resource tree: where it (or any member) runs or is assigned, its role,
a member by configured name, flags set on any/all members, clone instance numbers.

Pacemaker answers these with rsc->fns (location, state, find_rsc) and small helpers; they are
shared by the phases, the display and the clone code, and depend on the model only."""

from __future__ import annotations

from pengine import model as m
from pengine.model import CLONE, Node, Resource
from pengine.values import _scan_min_int, _strtoll

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


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
    """copies_per_node (pcmk_sched_bundle.c): a clone's clone-node-max as configured, not as
    unpacked (an anonymous clone's is capped to 1 there), so an anonymous clone with
    clone-node-max=2 does not interleave with one of 1."""
    if rsc.variant == CLONE:
        text = rsc.meta.get("clone-node-max")
        return 1 if text is None else _scan_min_int(text)
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
