"""The membership daemon (`ccm`): the shell around `ccm.machine.CcmMachine`.

It is a client of the local messaging daemon (signs on as `ccm`, receives node/client status
events and `ccm` cluster messages, sends its state with `SendCluster`) and serves local clients on
`ccm.sock` (`core.messages.ccm`): queries, and `MembershipEvent`s pushed at every view and quorum
change. In the state directory it keeps `ccm_incarnation` (one more at every start) and
`ccm_instance` (the highest view instance it proposed, written and fsync'ed before the proposal
leaves, so an instance number is never reused even across crashes).

If the messaging daemon restarts (its generation changes) our node is a new member for everyone:
the core is rebuilt with a new incarnation.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional

import zmq

from ccm.events import Broadcast, Log, PeerClient, PeerMessage, PeerStatus, Persist, QuorumChanged, Tick, ViewChanged
from ccm.machine import CcmConfig, CcmMachine
from core import ipc, wire
from core.clock import monotonic_ms
from core.statefile import read_number, write_number
from core.daemon import DaemonContext, pid_alive, run_daemon
from core.messages.ccm import CcmQuery, CcmSubscribe, MembershipEvent
from core.messages.common import PingRequest, Reply
from core.messages.hbapi import ClientStatusEvent, ClusterMessage, NodeStatusEvent, Query, SendCluster, SignOff, SignOn

CONNECT_RETRY_MS = 500
HOUSEKEEPING_MS = 1000
MESSAGING_SILENT_MS = 5000  # no answer to our status polls for this long: messaging is gone
REQUEST_TIMEOUT_MS = 1000


class CcmService:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.log = ctx.log
        self.paths = ctx.paths
        self.config = ctx.config
        self.incarnation_path = self.paths.state_file("ccm_incarnation")
        self.instance_path = self.paths.state_file("ccm_instance")
        self.router = ipc.bind_router(self.paths, "ccm")
        self.subscribers: dict[bytes, tuple[str, int]] = {}
        self.messaging: Optional[ipc.Client] = None
        self.hb_generation: Optional[int] = None
        self.uuid = ""
        self.core: Optional[CcmMachine] = None
        self.incarnation = 0
        self.status_poll: Optional[int] = None
        self.last_answer_ms = 0
        self.counters: dict[str, int] = {}
        self.unavailable_logged = False
        ctx.loop.add_reader(self.router, self.on_api)
        ctx.loop.set_timer("connect", monotonic_ms(), self.connect)
        ctx.loop.set_timer("housekeeping", monotonic_ms() + HOUSEKEEPING_MS, self.housekeeping)
        self.log.info(f"ccm starting on {self.paths.node_name}: nodes {', '.join(self.config.nodes)}")

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    # -- the messaging connection ------------------------------------------------------------
    def connect(self) -> None:
        client = ipc.Client(self.paths, "messaging")
        try:
            hello = client.request(SignOn(ipc.next_request_id(), "ccm", os.getpid(), ["ccm"], True), REQUEST_TIMEOUT_MS)
            me = client.request(Query(ipc.next_request_id(), "node", {"node": self.paths.node_name}),
                                REQUEST_TIMEOUT_MS)
            # the node snapshot must be the last request: every event queued while we waited is then
            # older than it, and every later event is still in the socket, read after it
            nodes = client.request(Query(ipc.next_request_id(), "nodes"), REQUEST_TIMEOUT_MS)
        except (ipc.DaemonUnavailable, RuntimeError) as exc:
            client.close()
            if not self.unavailable_logged:
                self.log.warn(f"messaging not available yet ({exc}); retrying")
                self.unavailable_logged = True
            self.ctx.loop.set_timer("connect", monotonic_ms() + CONNECT_RETRY_MS, self.connect)
            return
        self.unavailable_logged = False
        self.messaging = client
        self.hb_generation = int(hello.get("generation", 0))
        self.uuid = str(me.get("uuid") or "") if isinstance(me, dict) else ""
        self.last_answer_ms = monotonic_ms()
        self.incarnation = read_number(self.incarnation_path) + 1
        write_number(self.incarnation_path, self.incarnation)
        now = monotonic_ms()
        self.core = CcmMachine(CcmConfig(node=self.paths.node_name, nodes=tuple(self.config.nodes),
                                         keepalive_ms=self.config.keepalive_ms, deadtime_ms=self.config.deadtime_ms,
                                         incarnation=self.incarnation, instance_floor=read_number(self.instance_path),
                                         generation=self.hb_generation), now)
        self.log.info(f"signed on to messaging (generation {self.hb_generation}); ccm incarnation {self.incarnation}")
        # events that arrived while we waited for the replies are older than the node snapshot
        for event in client.pending_events:
            self.on_event(event)
        client.pending_events = []
        for node in nodes:
            if node.get("type") == "normal" and node.get("name") != self.paths.node_name:
                self.step(PeerStatus(str(node["name"]), str(node["status"]), int(node.get("generation") or 0)))
        self.ctx.loop.add_reader(client.sock, self.on_messaging)
        self.step(Tick())

    def disconnect(self, why: str) -> None:
        self.log.warn(f"lost the messaging daemon ({why}); signing on again")
        if self.messaging is not None:
            self.ctx.loop.remove_reader(self.messaging.sock)
            self.messaging.close()
        self.messaging = None
        self.core = None
        self.status_poll = None
        self.ctx.loop.cancel_timer("core")
        self.ctx.loop.set_timer("connect", monotonic_ms() + CONNECT_RETRY_MS, self.connect)

    def on_messaging(self) -> None:
        client = self.messaging
        for _ in range(1000):
            if client is None or client is not self.messaging:
                return
            try:
                frame = client.sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                msg = wire.decode(frame)
            except wire.WireError as exc:
                self.count("bad_frames")
                self.log.debug(f"bad frame from messaging: {exc}")
                continue
            self.on_event(msg)

    def on_event(self, msg: Any) -> None:
        if isinstance(msg, ClusterMessage):
            if msg.msgtype == "ccm":
                self.step(PeerMessage(msg.source, msg.payload, msg.source_generation))
        elif isinstance(msg, NodeStatusEvent):
            if msg.node_type == "normal" and msg.node != self.paths.node_name:
                self.step(PeerStatus(msg.node, msg.status, msg.generation))
        elif isinstance(msg, ClientStatusEvent):
            self.step(PeerClient(msg.node, msg.client, msg.status))
        elif isinstance(msg, Reply):
            self.on_reply(msg)

    def on_reply(self, reply: Reply) -> None:
        self.last_answer_ms = monotonic_ms()
        if reply.request_id == self.status_poll:
            self.status_poll = None
            if reply.ok and isinstance(reply.result, dict):
                generation = int(reply.result.get("generation", 0))
                if self.hb_generation is not None and generation != self.hb_generation:
                    self.disconnect(f"messaging restarted: generation {self.hb_generation} -> {generation}")
        elif not reply.ok:
            self.count("send_errors")
            self.log.warn(f"messaging refused a ccm message: {reply.error}")

    # -- the core ----------------------------------------------------------------------------
    def step(self, event: object) -> None:
        core = self.core
        if core is None:
            return
        for effect in core.step(monotonic_ms(), event):
            kind = type(effect)
            if kind is Broadcast:
                assert self.messaging is not None
                self.messaging.send(SendCluster(ipc.next_request_id(), "ccm", effect.payload))  # type: ignore[attr-defined]
            elif kind is Persist:
                write_number(self.instance_path, effect.max_instance)  # type: ignore[attr-defined]
            elif kind is ViewChanged:
                self.publish("view", effect.view)  # type: ignore[attr-defined]
            elif kind is QuorumChanged:
                self.publish("quorum", effect.view)  # type: ignore[attr-defined]
            elif kind is Log:
                self.log.log(effect.level, effect.text)  # type: ignore[attr-defined]
            else:
                raise AssertionError(f"unhandled effect {effect!r}")
        self.ctx.loop.set_timer("core", core.next_deadline_ms(), self.on_timer)

    def on_timer(self) -> None:
        self.step(Tick())

    def publish(self, kind: str, view: Any) -> None:
        event = MembershipEvent(kind, view.instance, list(view.members), list(view.incarnations), view.leader,
                                view.quorum, view.node, self.uuid)
        for identity in list(self.subscribers):
            if not ipc.send_router(self.router, identity, event):
                self.count("subscriber_queue_full")

    def view_result(self) -> dict:
        core = self.core
        info = core.view_info() if core is not None else None
        total = len(self.config.nodes)
        if info is None:
            return {"instance": 0, "members": [], "incarnations": [], "leader": None, "quorum": False,
                    "node": self.paths.node_name, "uuid": self.uuid, "incarnation": self.incarnation, "votes": 0,
                    "votes_needed": total // 2 + 1, "total_votes": total}
        assert core is not None
        return {"instance": info.instance, "members": list(info.members), "incarnations": list(info.incarnations),
                "leader": info.leader, "quorum": info.quorum, "node": info.node, "uuid": self.uuid,
                "incarnation": info.incarnation,
                "votes": core.votes, "votes_needed": core.votes_needed, "total_votes": total}

    # -- the local API -----------------------------------------------------------------------
    def bad_frame(self, exc: Exception) -> None:
        self.count("api_bad_frames")
        self.log.debug(f"bad API frame: {exc}")

    def on_api(self) -> None:
        for identity, request in ipc.requests(self.router, self.bad_frame):
            if isinstance(request, CcmQuery):
                self.answer(identity, request)
            elif isinstance(request, CcmSubscribe):
                self.subscribers[identity] = (request.client, request.pid)
                ipc.reply(self.router, identity, request.request_id, True)
                if self.core is not None and self.core.view is not None:
                    info = self.core.view_info()
                    ipc.send_router(self.router, identity, MembershipEvent(
                        "view", info.instance, list(info.members), list(info.incarnations), info.leader,  # type: ignore[union-attr]
                        info.quorum, info.node, self.uuid))  # type: ignore[union-attr]
            elif isinstance(request, PingRequest):
                ipc.reply(self.router, identity, request.request_id, {"daemon": "ccm", "pid": os.getpid()})
            else:
                self.count("api_unexpected_requests")

    def answer(self, identity: bytes, query: CcmQuery) -> None:
        if query.what == "view":
            result: Any = self.view_result()
        elif query.what == "nodes":
            result = self.core.peer_table() if self.core is not None else []
        elif query.what == "counters":
            result = dict(self.counters)
            if self.core is not None:
                result.update(self.core.counters)
        else:
            ipc.reply(self.router, identity, query.request_id, error=f"unknown query {query.what!r}")
            return
        ipc.reply(self.router, identity, query.request_id, result)

    # -- housekeeping and lifecycle ------------------------------------------------------------
    def housekeeping(self) -> None:
        now = monotonic_ms()
        for identity, (_, pid) in list(self.subscribers.items()):
            if not pid_alive(pid):
                del self.subscribers[identity]
        if self.messaging is not None:
            if now - self.last_answer_ms > MESSAGING_SILENT_MS:
                self.disconnect("no answer to status polls")
            elif self.status_poll is None:
                self.status_poll = ipc.next_request_id()
                self.messaging.send(Query(self.status_poll, "hbstatus"))
        self.ctx.loop.set_timer("housekeeping", now + HOUSEKEEPING_MS, self.housekeeping)

    def reload(self) -> None:
        self.log.info("SIGHUP: nothing to reload (the node list is read at start)")

    def shutdown(self) -> None:
        if self.messaging is not None:
            try:
                self.messaging.send(SignOff(ipc.next_request_id(), "ccm"))
            except zmq.ZMQError:
                pass
            self.messaging.close()
        self.router.close(0)
        self.log.info(f"{self.paths.node_name} ccm shutdown complete")


def build(ctx: DaemonContext) -> CcmService:
    return CcmService(ctx)


def main(argv: Optional[list[str]] = None) -> int:
    return run_daemon("ccm", build, argv)


if __name__ == "__main__":
    sys.exit(main())
