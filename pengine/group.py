"""The group variant's method record (Pacemaker's group_* functions, pcmk_sched_group.c).

A group's steps live with their phase, next to the primitive's they mostly delegate to (a group
is its members, ordered and colocated); this module names them for `rsc.methods`."""

from __future__ import annotations

from pengine.assign import _group_merge_weights, assign_group, group_apply_location, \
    group_coloc_lh, group_coloc_rh
from pengine.display import _group_lines, group_active
from pengine.graph import expand_actions, group_add_graph_meta
from pengine.methods import VariantMethods
from pengine.ordering import group_action_flags, group_update_ordered_actions
from pengine.probes import group_create_probe
from pengine.rscactions import group_create_actions, group_internal_constraints
from pengine.unpack import unpack_group

GROUP_METHODS = VariantMethods(
    name="group",
    unpack=unpack_group,
    active=group_active,
    assign=assign_group,
    apply_location=group_apply_location,
    coloc_rh=group_coloc_rh,
    coloc_lh=group_coloc_lh,
    merge_weights=_group_merge_weights,
    create_actions=group_create_actions,
    internal_constraints=group_internal_constraints,
    action_flags=group_action_flags,
    update_ordered_actions=group_update_ordered_actions,
    create_probe=group_create_probe,
    expand=expand_actions,
    add_graph_meta=group_add_graph_meta,
    display=_group_lines,
)
