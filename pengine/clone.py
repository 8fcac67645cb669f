"""Clones: anonymous, globally-unique and promotable, scheduled as Pacemaker 2.1.5 does.

The clone variant's method record (`CLONE_METHODS`, see pengine.methods), its `active` and
`assign` steps, and nothing else; the work is split by concern:

- clone_unpack.py: `clone-max` instances of the child (a primitive or a group), each with id
  "<child>:<n>"; history of an anonymous clone names the child without a number, so each node's
  history is matched to an instance (`find_anonymous_clone`), creating orphan instances beyond
  clone-max when needed.
- clone_placement.py: locations and colocations with and of a clone; instances sorted
  (`cmp_instance`), running instances kept where they may stay, the rest placed at most
  clone-node-max per node (`distribute_children`).
- promotable.py: which placed instances to promote, from promotion scores (node attributes
  `master-<rsc>`), promoted-role locations and colocations (`set_instance_roles`).
- clone_actions.py: the clone's own pseudo actions (start/running, stop/stopped,
  promote/promoted, demote/demoted) that summarize its instances' actions, its orderings,
  action flags, interleaving and probes. Notifications (`notify=true`): pengine/notify.py.
- instances.py: questions about a resource tree that all of these (and the phases) ask.
"""

from __future__ import annotations

from core.cib.scores import INFINITY
from pengine.assign import (W_POSITIVE, W_ROLLBACK, assign, colocation_has_influence,
                            merge_weights, show_scores, sort_nodes)
from pengine.clone_actions import (clone_action_flags, clone_create_actions, clone_create_probe,
                                   clone_internal_constraints, clone_update_ordered_actions)
from pengine.clone_placement import (clone_apply_location, clone_coloc_lh, clone_coloc_rh,
                                     clone_merge_weights, cmp_instance, distribute_children)
from pengine.clone_unpack import unpack_clone
from pengine.display import clone_lines, rsc_active
from pengine.graph import clone_add_graph_meta, clone_expand
from pengine.methods import VariantMethods
from pengine.model import CLONE, Node, Resource, WorkingSet
from pengine.promotable import add_promotion_scores, set_instance_roles
from pengine.values import glib_list_sort
from pengine.variants import VARIANT_METHODS

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


def clone_active(rsc: Resource, all_: bool) -> bool:
    for child in rsc.children:
        active = rsc_active(child, all_)
        if not all_ and active:
            return True
        if all_ and not active:
            return False
    return all_


def assign_clone(ws: WorkingSet, rsc: Resource, prefer: Optional[Node]) -> Optional[Node]:
    """pcmk__clone_allocate."""
    if not rsc.provisional or rsc.allocating:
        return None
    if rsc.promotable:
        add_promotion_scores(rsc, ws.score_colours)
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
    rsc.children[:] = glib_list_sort(rsc.children, cmp_instance)  # g_list_sort: see there
    distribute_children(ws, rsc, rsc.children, nodes, rsc.clone_max, rsc.clone_node_max)
    if rsc.promotable:
        set_instance_roles(ws, rsc)
    rsc.provisional = False
    rsc.allocating = False
    return None


CLONE_METHODS = VariantMethods(
    name="clone",
    unpack=unpack_clone,
    active=clone_active,
    assign=assign_clone,
    apply_location=clone_apply_location,
    coloc_rh=clone_coloc_rh,
    coloc_lh=clone_coloc_lh,
    merge_weights=clone_merge_weights,
    create_actions=clone_create_actions,
    internal_constraints=clone_internal_constraints,
    action_flags=clone_action_flags,
    update_ordered_actions=clone_update_ordered_actions,
    create_probe=clone_create_probe,
    expand=clone_expand,
    add_graph_meta=clone_add_graph_meta,
    display=clone_lines,
)

# filled at import: pengine.variants imports this module when the first clone is created
VARIANT_METHODS.register(CLONE, CLONE_METHODS)
