"""Who is alive: per node and per link (node x medium), from packet arrivals and time.

Rules (heartbeat's, with zguide's "any traffic is a heartbeat"):
- A node is alive while it keeps sending fresh (sequenced, non-replayed) packets; it is declared
  `dead` when nothing fresh arrived for its dead interval: the `dt` it advertises in its status
  messages (heartbeat uses the sender's deadtime), our own deadtime before we know it.
- Until communications are up (every configured node heard, or `initdead` passed since start)
  nodes never heard are given `initdead` instead; at that point they are declared dead.
- A node's status word is the `st` of its last status message (`init`, `up`, `active`), or `dead`.
- A status message later than `warntime` after the previous one gives
  `Late heartbeat: Node X: interval N ms`.
- A link is `up` while packets from that node arrive on that medium (duplicates included: with
  two media every packet arrives twice), `dead` after the node's dead interval without any.
- Ping nodes are nodes of type `ping`, status `ping` while any of their addresses answers,
  `dead` after `deadping` without an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

STATUS_INIT = "init"
STATUS_UP = "up"
STATUS_ACTIVE = "active"
STATUS_DEAD = "dead"
STATUS_PING = "ping"
LINK_UP = "up"
LINK_DEAD = "dead"


@dataclass
class LinkState:
    name: str
    status: Optional[str] = None  # None: never heard
    last_heard_ms: Optional[int] = None


@dataclass
class NodeState:
    name: str
    node_type: str = "normal"  # normal | ping
    status: str = STATUS_INIT
    uuid: Optional[bytes] = None
    generation: int = 0
    dead_interval_ms: Optional[int] = None  # advertised dt
    last_heard_ms: Optional[int] = None
    last_status_ms: Optional[int] = None
    flow_control: bool = False  # sent protocol=1
    ever_heard: bool = False
    links: dict[str, LinkState] = field(default_factory=dict)
    addresses: tuple[str, ...] = ()  # ping nodes: the addresses that make it reachable

    @property
    def alive(self) -> bool:
        return self.status not in (STATUS_DEAD, STATUS_INIT) or (self.status == STATUS_INIT and self.ever_heard)


@dataclass(frozen=True)
class NodeChange:
    node: str
    previous: str
    status: str


@dataclass(frozen=True)
class LinkChange:
    node: str
    link: str
    status: str


@dataclass(frozen=True)
class LateHeartbeat:
    node: str
    interval_ms: int


class Liveness:
    def __init__(self, local: str, nodes: list[str], ping_nodes: dict[str, tuple[str, ...]],
                 deadtime_ms: int, warntime_ms: int, initdead_ms: int, deadping_ms: int,
                 start_ms: int) -> None:
        self.local = local
        self.deadtime_ms = deadtime_ms
        self.warntime_ms = warntime_ms
        self.initdead_ms = initdead_ms
        self.deadping_ms = deadping_ms
        self.start_ms = start_ms
        self.comm_up = False
        self.nodes: dict[str, NodeState] = {}
        for name in nodes:
            self.add_node(name)
        for name, addresses in ping_nodes.items():
            self.nodes[name] = NodeState(name=name, node_type="ping", addresses=addresses)

    def add_node(self, name: str) -> NodeState:
        state = self.nodes.get(name)
        if state is None:
            state = NodeState(name=name)
            self.nodes[name] = state
        return state

    def peers(self) -> list[NodeState]:
        return [n for n in self.nodes.values() if n.name != self.local and n.node_type == "normal"]

    def dead_interval(self, node: NodeState) -> int:
        if node.node_type == "ping":
            return self.deadping_ms
        if not node.ever_heard and not self.comm_up:
            return self.initdead_ms
        return node.dead_interval_ms or self.deadtime_ms

    # -- arrivals --------------------------------------------------------------------------------
    def heard(self, node: NodeState, link: Optional[str], now_ms: int, fresh: bool) -> list[object]:
        """A packet from node arrived on link; fresh = not a duplicate/replay (counts for the node)."""
        changes: list[object] = []
        if link is not None:
            state = node.links.get(link)
            if state is None:
                state = node.links[link] = LinkState(link)
            state.last_heard_ms = now_ms
            if state.status != LINK_UP:
                state.status = LINK_UP
                changes.append(LinkChange(node.name, link, LINK_UP))
        if fresh:
            node.last_heard_ms = now_ms
            node.ever_heard = True
            if node.status == STATUS_DEAD:
                # it came back; its real status arrives with its next status message
                previous, node.status = node.status, STATUS_UP
                changes.append(NodeChange(node.name, previous, node.status))
        return changes

    def status_received(self, node: NodeState, status: str, dead_interval_ms: Optional[int],
                        flow_control: bool, now_ms: int) -> list[object]:
        changes: list[object] = []
        if node.last_status_ms is not None:
            interval = now_ms - node.last_status_ms
            if interval > self.warntime_ms:
                changes.append(LateHeartbeat(node.name, interval))
        node.last_status_ms = now_ms
        if dead_interval_ms:
            node.dead_interval_ms = dead_interval_ms
        node.flow_control = flow_control
        if status and status != node.status and status != STATUS_DEAD:
            previous, node.status = node.status, status
            changes.append(NodeChange(node.name, previous, status))
        return changes

    def ping_answered(self, node: NodeState, now_ms: int) -> list[object]:
        node.last_heard_ms = now_ms
        node.ever_heard = True
        if node.status != STATUS_PING:
            previous, node.status = node.status, STATUS_PING
            return [NodeChange(node.name, previous, STATUS_PING)]
        return []

    # -- time ------------------------------------------------------------------------------------
    def check(self, now_ms: int) -> list[object]:
        changes: list[object] = []
        for node in self.nodes.values():
            if node.name == self.local:
                continue
            interval = self.dead_interval(node)
            reference = node.last_heard_ms if node.last_heard_ms is not None else self.start_ms
            if node.status != STATUS_DEAD and now_ms - reference > interval:
                previous, node.status = node.status, STATUS_DEAD
                node.last_status_ms = None
                changes.append(NodeChange(node.name, previous, STATUS_DEAD))
            for link in node.links.values():
                if link.status == LINK_UP and link.last_heard_ms is not None and \
                        now_ms - link.last_heard_ms > interval:
                    link.status = LINK_DEAD
                    changes.append(LinkChange(node.name, link.name, LINK_DEAD))
        if not self.comm_up and (now_ms - self.start_ms > self.initdead_ms or all(
                n.ever_heard for n in self.peers())):
            self.comm_up = True
        return changes

    def next_deadline_ms(self) -> Optional[int]:
        # (asked after every input the messaging core takes: the comparisons are written out)
        best: Optional[int] = None
        local = self.local
        for node in self.nodes.values():
            if node.name == local:
                continue
            interval = self.dead_interval(node)
            if node.status != STATUS_DEAD:
                reference = node.last_heard_ms if node.last_heard_ms is not None else self.start_ms
                due = reference + interval + 1
                if best is None or due < best:
                    best = due
            for link in node.links.values():
                if link.status == LINK_UP and link.last_heard_ms is not None:
                    due = link.last_heard_ms + interval + 1
                    if best is None or due < best:
                        best = due
        if not self.comm_up:
            best = _min(best, self.start_ms + self.initdead_ms + 1)
        return best


def _min(a: Optional[int], b: int) -> int:
    return b if a is None else min(a, b)
