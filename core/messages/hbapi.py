"""The messaging daemon's local API (what hb_api/ll_cluster_t was to Heartbeat clients).

Transport: a ROUTER socket `messaging.sock` in the node's run directory. A client connects a
DEALER, optionally signs on (to receive events and cluster messages), and sends requests; every
request carries a `request_id` and is answered by one `Reply`. Events are pushed to signed-on
clients in the order they happened; cluster messages from one sender arrive in the sender's order,
each exactly once.

Query `what` values and their results:
  hbstatus      {"node": me, "status": "active", "generation": g, "uptime_ms": n}
  nodes         [{"name", "type" (normal|ping), "status", "uuid", "generation"}]
  node          same dict for args["node"]
  links         [{"node", "link", "status"}] for args["node"] (all nodes when absent)
  parameter     the value string of args["name"], or None
  parameters    {name: value}
  clientstatus  "online" | "offline" | "join" | "leave" | None   (args: node, client, timeout_ms)
  rscstatus     "none" | "local" | "foreign" | "all"
  counters      {name: int}: packets sent/received/dropped by reason, rexmits, ...
  clients       [names of local signed-on clients]
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Optional

from core.wire import message


@message("hb.signon")
class SignOn:
    request_id: int
    client: str
    pid: int
    msgtypes: list[str] = field(default_factory=list)  # cluster message types to receive; "*" = all
    events: bool = True  # node/link/client status events


@message("hb.signoff")
class SignOff:
    request_id: int
    client: str


@message("hb.query")
class Query:
    request_id: int
    what: str
    args: dict[str, Any] = field(default_factory=dict)


@message("hb.send")
class SendCluster:
    """Send a cluster message; dest None = every node. Replied to once it is queued."""

    request_id: int
    msgtype: str
    payload: bytes
    dest: Optional[str] = None


@message("hb.set_rsc")
class SetResourceStatus:
    request_id: int
    status: str  # none | local | foreign | all


@message("hb.node_status")
class NodeStatusEvent:
    node: str
    status: str  # init | up | active | dead | ping
    node_type: str  # normal | ping
    generation: int = 0
    previous: str = ""


@message("hb.link_status")
class LinkStatusEvent:
    node: str
    link: str
    status: str  # up | dead


@message("hb.client_status")
class ClientStatusEvent:
    node: str
    client: str
    status: str  # join | leave


@message("hb.cluster_msg")
class ClusterMessage:
    msgtype: str
    source: str
    payload: bytes
    dest: Optional[str] = None
    source_generation: int = 0
    seq: int = 0
