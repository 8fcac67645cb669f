"""The whole messaging daemon as one sans-I/O core: the heartbeat protocol (`machine`) plus its
local API (what `messaging.sock` clients see: sign-on, queries, cluster messages, events).

The shell (`messaging.daemon`) only moves packets, pings, timers and local frames; the simulator
drives this very core over its in-memory network and local bus, so ccm and crmd meet exactly the
API they meet in production.

Inputs: everything `HeartbeatMachine` takes (Tick, WallClock, PacketIn, PingReply, LocalLinkState,
LoadAverage, Shutdown), plus `Recv(identity, request)` from local clients and `PeerGone(identity)`
when a client process ended. Effects: `Transmit`, `SendPing` (for the media and the pinger),
`Send(identity, ...)` (replies and pushed events), `WatchPid`, `Log`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from core.messages.common import PingRequest, Reply
from core.messages.hbapi import (ClientStatusEvent, ClusterMessage, LinkStatusEvent, NodeStatusEvent,
                                 Query, SendCluster, SetResourceStatus, SignOff, SignOn)
from core.sansio import PeerGone, Recv, Send, Tick, WatchPid
from messaging.events import (ClientSend, ClientStatusAnswer, ClientStatusChanged, ClientStatusQuery,
                              Deliver, LinkStatusChanged, LocalClient, NodeStatusChanged, SendResult)
from messaging.machine import HeartbeatMachine

RSC_STATUSES = ("none", "local", "foreign", "all")
DEFAULT_CLIENTSTATUS_TIMEOUT_MS = 1000


@dataclass
class ApiClient:
    identity: bytes
    name: str
    pid: int
    msgtypes: set[str] = field(default_factory=set)
    events: bool = True


class MessagingProcess:
    def __init__(self, machine: HeartbeatMachine, pid: int, parameters: Optional[dict[str, str]] = None) -> None:
        self.machine = machine
        self.node = machine.config.node
        self.generation = machine.config.generation
        self.pid = pid
        self.parameters = dict(parameters or {})
        self.started_ms = machine.start_ms
        self.clients: dict[bytes, ApiClient] = {}
        self.pending_sends: dict[int, tuple[bytes, int]] = {}
        self.pending_queries: dict[int, tuple[bytes, int, int]] = {}  # internal id -> (who, request id, deadline)
        self.rsc_status = "none"
        self._internal_ids = 0
        self.counters = machine.counters

    # -- the surface ---------------------------------------------------------------------------------
    def step(self, now_ms: int, event: object) -> list[object]:
        kind = type(event)
        if kind is Recv:
            return self._on_request(now_ms, event.src, event.msg)  # type: ignore[attr-defined]
        if kind is PeerGone:
            return self._drop_client(now_ms, event.peer)  # type: ignore[attr-defined]
        out = self._carry(now_ms, self.machine.step(now_ms, event))
        if kind is Tick and self.pending_queries:
            out.extend(self._expire_queries(now_ms))
        return out

    def next_deadline_ms(self) -> Optional[int]:
        deadline = self.machine.next_deadline_ms()
        for _, _, due in self.pending_queries.values():
            if deadline is None or due < deadline:
                deadline = due
        return deadline

    # -- machine effects -> API ----------------------------------------------------------------------
    def _carry(self, now_ms: int, effects: list[object]) -> list[object]:
        out: list[object] = []
        for effect in effects:
            kind = type(effect)
            if kind is Deliver:
                e: Any = effect
                msg = ClusterMessage(e.msgtype, e.source, e.payload, e.dest, e.source_generation, e.seq)
                for client in self.clients.values():
                    if e.msgtype in client.msgtypes or "*" in client.msgtypes:
                        out.append(Send(client.identity, msg))
            elif kind is NodeStatusChanged:
                e = effect
                out.extend(self._event(NodeStatusEvent(e.node, e.status, e.node_type, e.generation, e.previous)))
            elif kind is LinkStatusChanged:
                e = effect
                out.extend(self._event(LinkStatusEvent(e.node, e.link, e.status)))
            elif kind is ClientStatusChanged:
                e = effect
                out.extend(self._event(ClientStatusEvent(e.node, e.client, e.status)))
            elif kind is SendResult:
                e = effect
                pending = self.pending_sends.pop(e.request_id, None)
                if pending is not None:
                    out.append(Send(pending[0], Reply(pending[1], e.error is None, e.error is None, e.error)))
            elif kind is ClientStatusAnswer:
                e = effect
                out.extend(self._finish_query(e.query_id, e.status))
            else:
                out.append(effect)  # Transmit, SendPing, Log: the shell's
        return out

    def _event(self, event: object) -> list[object]:
        return [Send(c.identity, event) for c in self.clients.values() if c.events]

    # -- requests ------------------------------------------------------------------------------------
    def _internal_id(self) -> int:
        self._internal_ids += 1
        return self._internal_ids

    def _on_request(self, now_ms: int, identity: Any, request: object) -> list[object]:
        if not isinstance(identity, bytes):
            self.machine.count("api_unexpected_sources")
            return []
        if isinstance(request, Query):
            return self._query(now_ms, identity, request)
        if isinstance(request, SendCluster):
            internal = self._internal_id()
            self.pending_sends[internal] = (identity, request.request_id)
            return self._carry(now_ms, self.machine.step(
                now_ms, ClientSend(internal, request.msgtype, request.payload, request.dest)))
        if isinstance(request, SignOn):
            self.clients[identity] = ApiClient(identity, request.client, request.pid, set(request.msgtypes),
                                               request.events)
            out: list[object] = [Send(identity, Reply(request.request_id, True, {
                "node": self.node, "generation": self.generation, "pid": self.pid})),
                WatchPid(identity, request.pid)]
            out.extend(self._carry(now_ms, self.machine.step(now_ms, LocalClient(request.client, True))))
            return out
        if isinstance(request, SignOff):
            return [Send(identity, Reply(request.request_id, True, True))] + self._drop_client(now_ms, identity)
        if isinstance(request, SetResourceStatus):
            if request.status not in RSC_STATUSES:
                return [Send(identity, Reply(request.request_id, False, None, f"bad resource status {request.status!r}"))]
            self.rsc_status = request.status
            return [Send(identity, Reply(request.request_id, True, True))]
        if isinstance(request, PingRequest):
            return [Send(identity, Reply(request.request_id, True, {"daemon": "messaging", "pid": self.pid,
                                                                    "generation": self.generation}))]
        self.machine.count("api_unexpected_requests")
        rid = getattr(request, "request_id", None)
        if isinstance(rid, int):
            return [Send(identity, Reply(rid, False, None, f"messaging does not handle {type(request).__name__}"))]
        return []

    def _drop_client(self, now_ms: int, identity: Any) -> list[object]:
        client = self.clients.pop(identity, None)
        if client is None or any(c.name == client.name for c in self.clients.values()):
            return []
        return self._carry(now_ms, self.machine.step(now_ms, LocalClient(client.name, False)))

    def _query(self, now_ms: int, identity: bytes, query: Query) -> list[object]:
        what, args = query.what, query.args
        machine = self.machine

        def reply(result: Any = None, error: Optional[str] = None) -> list[object]:
            return [Send(identity, Reply(query.request_id, error is None, result, error))]

        if what == "clientstatus":
            internal = self._internal_id()
            timeout_ms = int(args.get("timeout_ms", DEFAULT_CLIENTSTATUS_TIMEOUT_MS))
            self.pending_queries[internal] = (identity, query.request_id, now_ms + timeout_ms)
            return self._carry(now_ms, machine.step(now_ms, ClientStatusQuery(
                internal, str(args.get("node", "")), str(args.get("client", "")))))
        if what == "hbstatus":
            return reply({"node": self.node, "status": machine.local_status, "generation": self.generation,
                          "uptime_ms": now_ms - self.started_ms, "pid": self.pid})
        if what == "nodes":
            return reply(machine.nodes_view())
        if what == "node":
            result = machine.node_view(str(args.get("node", "")))
            if result is None:
                return reply(error=f"unknown node {args.get('node')!r}")
            return reply(result)
        if what == "links":
            return reply(machine.links_view(args.get("node")))
        if what == "parameter":
            return reply(self.parameters.get(str(args.get("name", ""))))
        if what == "parameters":
            return reply(dict(self.parameters))
        if what == "rscstatus":
            return reply(self.rsc_status)
        if what == "counters":
            return reply(dict(machine.counters))
        if what == "auth":
            return reply(machine.auth_view())
        if what == "clients":
            return reply(sorted({c.name for c in self.clients.values()}))
        return reply(error=f"unknown query {what!r}")

    def _finish_query(self, internal: int, status: Optional[str]) -> list[object]:
        pending = self.pending_queries.pop(internal, None)
        if pending is None:
            return []
        return [Send(pending[0], Reply(pending[1], True, status))]

    def _expire_queries(self, now_ms: int) -> list[object]:
        out: list[object] = []
        for internal, (_, _, due) in list(self.pending_queries.items()):
            if due <= now_ms:
                out.extend(self._finish_query(internal, None))
        return out
