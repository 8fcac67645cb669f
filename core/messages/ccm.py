"""The membership daemon's local API: ROUTER `ccm.sock` in the node's run directory.

A client connects a DEALER and sends requests (each answered by one `Reply`):
  CcmQuery(what="view")      {"instance", "members", "incarnations", "leader", "quorum", "node",
                              "uuid", "incarnation", "votes", "votes_needed", "total_votes"}
                             (instance 0 and no members before the first view)
  CcmQuery(what="nodes")     [{"name", "member", "incarnation", "heard", "late", "messaging", "votes"}]
                             (late: a state of that node came here late in the last four deadtimes)
  CcmQuery(what="counters")  {name: int}
  CcmFenced(node, incarnation) that life of the node was fenced: not heard any more (crmd)
  CcmSubscribe(client, pid)  the client then gets a `MembershipEvent` pushed at every view and
                             quorum change (and the current view right after the reply), and
                             `lost` when ccm loses the messaging daemon

Views are published only once every member agreed to exactly that view.
"""

from __future__ import annotations

from core.wire import message


@message("ccm.query")
class CcmQuery:
    request_id: int
    what: str = "view"


@message("ccm.subscribe")
class CcmSubscribe:
    request_id: int
    client: str
    pid: int


@message("ccm.fenced")
class CcmFenced:
    """crmd tells its ccm that stonithd confirmed the fencing of `node` while ccm's view held it
    with `incarnation`: ccm stops hearing that life and drops its promises to it, so the
    survivors form a view without it at once (answered by a `reply`; root or the cluster's own
    user only)."""
    request_id: int
    node: str
    incarnation: int


@message("ccm.event")
class MembershipEvent:
    kind: str  # "view" (a new view was installed) | "quorum" (quorum changed in the same view) |
    # "lost" (ccm lost the messaging daemon: membership unknown, no quorum, until a view of its next
    # incarnation)
    instance: int
    members: list[str]
    incarnations: list[int]
    leader: str
    quorum: bool
    node: str
    uuid: str = ""  # this node's uuid (hex), as the messaging layer has it
