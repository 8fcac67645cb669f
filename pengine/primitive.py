"""The primitive variant's method record (Pacemaker's native_* functions, pcmk_sched_primitive.c).

The steps themselves live with the phase they belong to (assign, rscactions, ordering, probes,
display, unpack): a primitive is what every phase handles first, and groups and clones are built
from it. This module only names them, so that the phases can reach a resource's variant through
`rsc.methods` without importing any variant module."""

from __future__ import annotations

from pengine.assign import apply_location, assign_primitive, coloc_rh, native_merge_weights, \
    primitive_coloc_rh
from pengine.display import primitive_active, primitive_lines
from pengine.graph import expand_actions, primitive_add_graph_meta
from pengine.methods import VariantMethods
from pengine.ordering import primitive_action_flags, primitive_update_ordered_actions
from pengine.probes import primitive_create_probe
from pengine.rscactions import primitive_create_actions, primitive_internal_constraints
from pengine.unpack import unpack_primitive

PRIMITIVE_METHODS = VariantMethods(
    name="primitive",
    unpack=unpack_primitive,
    active=primitive_active,
    assign=assign_primitive,
    apply_location=apply_location,
    coloc_rh=primitive_coloc_rh,
    coloc_lh=coloc_rh,  # native_rsc_colocation_lh: the primary's variant decides
    merge_weights=native_merge_weights,
    create_actions=primitive_create_actions,
    internal_constraints=primitive_internal_constraints,
    action_flags=primitive_action_flags,
    update_ordered_actions=primitive_update_ordered_actions,
    create_probe=primitive_create_probe,
    expand=expand_actions,
    add_graph_meta=primitive_add_graph_meta,
    display=primitive_lines,
)
