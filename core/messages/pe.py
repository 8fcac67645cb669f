"""The policy engine daemon's API: ROUTER `pengine.sock` in the node's run directory.

  PeSchedule(transition_id, cib)   the DC's crmd sends a CIB snapshot (XML text); the reply's
                                   result is {"transition_id", "graph" (transition_graph XML),
                                   "input" (the saved pe-input file name, "" when not saved),
                                   "summary" (crm_simulate's "Transition Summary" lines),
                                   "actions" (how many synapses), "warnings" ([str])}
                                   or an error (a CIB the engine cannot read).

Every input scheduled is saved (pe-input-N.xml, with `execution-date` set to the "now" it was
scheduled at), so `hb simulate -x FILE` replays the decision.
"""

from __future__ import annotations

from core.wire import message


@message("pe.schedule")
class PeSchedule:
    request_id: int
    transition_id: int
    cib: str
