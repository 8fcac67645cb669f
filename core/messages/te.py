"""The transition engine's API: ROUTER `tengine.sock` in the node's run directory. Its one client
is the node's crmd, which hands it the graphs it gets from the policy engine while it is the DC.

Requests from crmd (each answered by one `Reply`):
  TeSignOn(client, pid)            becomes the engine's crmd (invokes and results go to it)
  TeGraph(transition_id, graph)    execute this graph (Pacemaker's transition_graph XML); if
                                   another still has actions in flight, that one is aborted and
                                   this one starts when they are done
Notices from crmd (no reply):
  TeEvent(...)                     the result of an action (as recorded in the CIB)
  TeAbort(priority, action, reason) stop firing actions below `priority`; when the graph is done
                                   ask for `action` (restart | wait | shutdown)
  TeNodeLost(node)                 actions on that node will never complete
  TeCancel(transition_id)          we are no longer the DC: drop the graph at once
  TeRecalled(transition_id, action_ids)  these chained actions were dropped by their node before
                                   they began (answering a TeRecall): they did not run
Pushed to crmd:
  TeInvoke(transition_id, action, then)  run this action (a `core.graph.GraphAction` as a dict);
                                   `then`: its chain, actions on the same node that wait only for
                                   it and each other ({"action": ..., "after": [action ids]}):
                                   the node runs each once those it waits for succeeded there
  TeRecall(transition_id, action_ids)  the graph was aborted: the node is to drop these chained
                                   actions if they have not begun (TeRecalled says which it dropped)
  TeActionLost(transition_id, action, reason)   an action timed out (or its node left): crmd
                                   records a failed result for it so the next run sees it
  TeDone(transition_id, status, next, reason)   the graph is finished: status complete |
                                   terminated | stopped; next done | wait | restart | shutdown
"""

from __future__ import annotations

from typing import Any

from core.wire import message


@message("te.signon")
class TeSignOn:
    request_id: int
    client: str
    pid: int


@message("te.graph")
class TeGraph:
    request_id: int
    transition_id: int
    graph: str


@message("te.event")
class TeEvent:
    transition_id: int
    action_id: int
    node: str
    rc: int
    op_status: int  # Pacemaker's: 0 done, 1 cancelled, 2 timeout, 3 unsupported, 4 error, ...
    target_rc: int = 0


@message("te.abort")
class TeAbort:
    priority: int
    action: str  # restart | wait | shutdown
    reason: str


@message("te.node_lost")
class TeNodeLost:
    node: str


@message("te.cancel")
class TeCancel:
    transition_id: int


@message("te.invoke")
class TeInvoke:
    transition_id: int
    action: dict[str, Any]
    then: tuple[Any, ...] = ()


@message("te.recall")
class TeRecall:
    transition_id: int
    action_ids: tuple[int, ...]


@message("te.recalled")
class TeRecalled:
    transition_id: int
    action_ids: tuple[int, ...]


@message("te.action_lost")
class TeActionLost:
    transition_id: int
    action: dict[str, Any]
    reason: str


@message("te.done")
class TeDone:
    transition_id: int
    status: str
    next: str
    reason: str = ""
    failed: int = 0  # actions that failed (a result other than expected, lost, timed out)
