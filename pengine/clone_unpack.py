"""Clone unpacking: `clone-max` instances of the child (a primitive or a group) with ids
"<child>:<n>", and the matching of an anonymous clone's history to an instance
(`find_anonymous_clone`), which creates orphan instances beyond clone-max when needed.

Unpacking layer: status.py uses it while reading history, so it imports no phase module."""

from __future__ import annotations

from pengine.instances import find_clone_member, locations, set_recursive
from pengine.model import Node, Resource, WorkingSet
from pengine.unpack import unpack_resource
from pengine.values import _scan_min_int, is_true

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


def unpack_clone(ws: WorkingSet, rsc: Resource) -> bool:
    """clone_unpack: options, then one instance per instance number."""
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
