"""The status sections `hb simulate -A` and `-c` add, as crm_simulate 2.1.5 draws them.

crm_simulate prints a cluster's status with the same library calls as crm_mon: `-A`
(--show-attrs) adds the node attributes section and `-c` (--show-failcounts) the fail counts
("Migration Summary") and the failed actions in their technical form (pcmk_show_failed_detail),
after the node and resource lists, both for the current and for the revised status. crm_mon's
renderer (tools/montext.py, from tools/monstatus.py's status) draws them here one list level
deeper, inside crm_simulate's "Current cluster status:" / "Revised Cluster Status:".

Here, in `tools`, because `pengine` does not import `tools`: tools/simulate.py gives
pengine.simulate this module's `sections` as its `STATUS_SECTIONS` hook.
"""

from __future__ import annotations

from pengine.model import WorkingSet
from tools import montext
from tools.monstatus import MonStatus, failed_actions, node_history, node_status


def sections(ws: WorkingSet, attrs: bool, failcounts: bool) -> list[str]:
    """The extra sections' lines for an unpacked working set (a blank line before each, as
    when they follow the resource list)."""
    st = MonStatus(summary=None, nodes=[node_status(ws, n) for n in ws.nodes], resources=[],
                   history=node_history(ws) if failcounts else None,
                   failures=failed_actions(ws) if failcounts else [], bans=[])
    out = montext.TextOut()
    out.depth = 1  # inside crm_simulate's status heading
    opts = montext.TextOptions(inactive=True)
    if attrs:
        montext.attributes_section(out, st, opts, True)
    if failcounts:
        montext.history_section(out, st, False, opts, True)
        # failed actions in their technical form (crm_simulate's pcmk_show_failed_detail)
        montext.failures_section(out, st, montext.TextOptions(details=True), True)
    return out.lines
