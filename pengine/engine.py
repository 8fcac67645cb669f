"""The policy engine as one pure function: CIB (+ "now") in, scheduled working set and
transition graph out. Steps and their order are Pacemaker 2.1.5's pcmk__schedule_actions.
"""

from __future__ import annotations

from core import datetimes as _dt

from core.cib.xmltree import XNode
from pengine import actions as act
from pengine.assign import apply_node_criteria, assign_resources
from pengine.fencing import schedule_fencing_and_shutdowns
from pengine.health import apply_node_health, colour_scores
from pengine.model import WorkingSet
from pengine.ordering import apply_orderings
from pengine.probes import schedule_probes
from pengine.rscactions import create_actions, handle_config_changes, internal_constraints
from pengine.tickets import unpack_rsc_ticket
from pengine.utilization import disable_load_loops, prepare_assignment, show_node_capacities
from pengine.status import get_failcount, unpack_status
from pengine.unpack import (unpack_config, unpack_constraints, unpack_nodes,
                            unpack_resources)
from pengine.variants import ON_DEMAND, VARIANT_METHODS  # noqa: F401  (ON_DEMAND: pengine.simulate)
from pengine.graph import create_graph
from pengine.summary import collect as collect_summary

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


def unpack_cib(cib: XNode, now: _dt.datetime, keep_derived: bool = False) -> WorkingSet:
    """cluster_status: everything known about the cluster, before any decision. With
    `keep_derived` (a caller that schedules the same configuration tree again: the daemon),
    what unpacking derives from configuration elements alone is kept on them for the next run
    (`WorkingSet.keep_derived`)."""
    ws = WorkingSet(cib, now)
    ws.variant_methods = VARIANT_METHODS
    ws.keep_derived = keep_derived
    unpack_config(ws)
    ws.score_colours = colour_scores(ws)  # unpack_config's pe__unpack_node_health_scores
    unpack_nodes(ws)
    unpack_resources(ws)
    unpack_status(ws)
    return ws


def _clear_orphan_failcounts(ws: WorkingSet) -> None:
    for rsc in ws.resources:
        if not rsc.orphan:
            continue
        for node in ws.nodes:
            if not node.online:
                continue
            if get_failcount(ws, node, rsc)[0] == 0:
                continue
            clear = act.clear_failcount(ws, rsc, node, "it is orphaned")
            act.new_ordering(ws, clear.rsc, None, clear, rsc, f"{rsc.id}_stop_0", None, 0x1)


def schedule(cib: XNode, now: _dt.datetime, show_scores: bool = False,
             ws: Optional[WorkingSet] = None) -> WorkingSet:
    """Run the whole scheduler; the result holds actions, orderings and the graph."""
    if ws is None:
        ws = unpack_cib(cib, now)
    ws.show_scores = show_scores
    apply_node_health(ws)
    unpack_constraints(ws, unpack_rsc_ticket)
    apply_node_criteria(ws)
    for rsc in ws.resources:
        internal_constraints(ws, rsc)
    handle_config_changes(ws)
    prepare_assignment(ws)
    assign_resources(ws)
    show_node_capacities(ws, "Remaining")
    if ws.startup_probes:
        schedule_probes(ws)
    if ws.stop_rsc_orphans:
        _clear_orphan_failcounts(ws)
    for rsc in ws.resources:
        create_actions(ws, rsc)
    schedule_fencing_and_shutdowns(ws)
    apply_orderings(ws)
    disable_load_loops(ws)
    # log_all_actions: Pacemaker logs the Transition Summary before it makes the graph, and the
    # summary's look-ups by node (find_actions) give a node-less action of that key the node
    # they ask for, which the graph then shows
    ws.summary_items = collect_summary(ws)
    ws.graph = create_graph(ws)
    return ws
