"""The messaging daemon (what users call `heartbeat`): the shell around `messaging.machine`.

It owns the I/O: the media sockets and serial ports, the ICMP socket for ping nodes, the
watchdog device, the persisted generation and uuid, and the local API socket `messaging.sock`
(ROUTER) through which cl_status, ccm, crmd and other clients query, sign on, send cluster
messages and receive events. Every readiness or timer becomes one `machine.step()`; every effect
is carried out here.
"""

from __future__ import annotations

import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from core import ipc
from core.clock import monotonic_ms
from core.config.load import read_authkeys
from core.daemon import DaemonContext, pid_alive, run_daemon
from core.messages.common import PingRequest
from core.messages.hbapi import (ClientStatusEvent, ClusterMessage, LinkStatusEvent, NodeStatusEvent,
                                 Query, SendCluster, SetResourceStatus, SignOff, SignOn)
from core.realtime import make_realtime
from messaging import state
from messaging.events import (ClientSend, ClientStatusAnswer, ClientStatusChanged, ClientStatusQuery,
                              Deliver, LinkStatusChanged, LoadAverage, LocalClient, LocalLinkState, Log,
                              NodeStatusChanged, PacketIn, PingReply, SendPing, SendResult, Shutdown,
                              Tick, Transmit)
from messaging.icmp import Pinger
from messaging.machine import HeartbeatMachine, MachineConfig
from messaging.media import link_is_up, open_media

HOUSEKEEPING_MS = 1000
RSC_STATUSES = ("none", "local", "foreign", "all")


@dataclass
class ApiClient:
    identity: bytes
    name: str
    pid: int
    msgtypes: set[str] = field(default_factory=set)
    events: bool = True


class MessagingService:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.log = ctx.log
        config = ctx.config
        self.config = config
        self.keys = read_authkeys(ctx.paths.authkeys)
        self.generation = state.next_generation(ctx.paths.state_file("hb_generation"), config.hbgenmethod)
        self.uuid = state.node_uuid(ctx.paths.state_file("hb_uuid"), ctx.paths.node_name, config.uuidfrom)
        self.started_ms = monotonic_ms()
        self.machine = HeartbeatMachine(
            MachineConfig.from_hacf(config, ctx.paths.node_name, self.uuid, self.generation),
            self.keys, random.Random(), self.started_ms, int(time.time()))
        self.media = open_media(config, self.machine.count)
        self.pinger: Optional[Pinger] = None
        if config.ping_nodes or config.ping_groups:
            self.pinger = Pinger(self.machine.count)
        self.router = ipc.bind_router(ctx.paths, "messaging")
        self.clients: dict[bytes, ApiClient] = {}
        self.pending_sends: dict[int, tuple[bytes, int]] = {}
        self.pending_queries: dict[int, tuple[bytes, int]] = {}
        self.rsc_status = "none"
        self.watchdog_fd: Optional[int] = None
        self._internal_ids = 0
        loop = ctx.loop
        for medium in self.media:
            loop.add_reader(medium, lambda m=medium: self.on_medium(m))
        if self.pinger is not None:
            loop.add_reader(self.pinger, self.on_ping)
        loop.add_reader(self.router, self.on_api)
        self.open_watchdog()
        if config.realtime:
            for warning in make_realtime(config.rtprio):
                self.log.warn(warning)
        self.log.info(f"pyheartbeat messaging starting on {ctx.paths.node_name}: generation "
                      f"{self.generation}, media {', '.join(m.name for m in self.media)}")
        self.housekeeping()
        self.apply(self.machine.step(monotonic_ms(), Tick(), int(time.time())))

    # -- stepping the core -------------------------------------------------------------------
    def step(self, event: object) -> None:
        self.apply(self.machine.step(monotonic_ms(), event, int(time.time())))

    def apply(self, effects: list[object]) -> None:
        for effect in effects:
            kind = type(effect)
            if kind is Transmit:
                self.transmit(effect.packet)  # type: ignore[attr-defined]
            elif kind is Log:
                self.log.log(effect.level, effect.text)  # type: ignore[attr-defined]
            elif kind is Deliver:
                self.deliver(effect)  # type: ignore[arg-type]
            elif kind is NodeStatusChanged:
                self.broadcast_event(NodeStatusEvent(effect.node, effect.status, effect.node_type,  # type: ignore[attr-defined]
                                                     effect.generation, effect.previous))  # type: ignore[attr-defined]
            elif kind is LinkStatusChanged:
                self.broadcast_event(LinkStatusEvent(effect.node, effect.link, effect.status))  # type: ignore[attr-defined]
            elif kind is ClientStatusChanged:
                self.broadcast_event(ClientStatusEvent(effect.node, effect.client, effect.status))  # type: ignore[attr-defined]
            elif kind is SendResult:
                self.finish_send(effect)  # type: ignore[arg-type]
            elif kind is ClientStatusAnswer:
                self.finish_query(effect.query_id, effect.status)  # type: ignore[attr-defined]
            elif kind is SendPing:
                if self.pinger is not None:
                    self.pinger.send(effect.addresses)  # type: ignore[attr-defined]
            else:
                raise AssertionError(f"unhandled effect {effect!r}")
        self.ctx.loop.set_timer("core", self.machine.next_deadline_ms(), self.on_timer)

    def on_timer(self) -> None:
        self.step(Tick())

    def transmit(self, packet: bytes) -> None:
        for medium in self.media:
            medium.send(packet)
        if self.watchdog_fd is not None:
            self.feed_watchdog()

    # -- media, pings, housekeeping ----------------------------------------------------------
    def on_medium(self, medium: Any) -> None:
        for data in medium.receive():
            self.step(PacketIn(medium.name, data))

    def on_ping(self) -> None:
        assert self.pinger is not None
        for address in self.pinger.receive():
            self.step(PingReply(address))

    def housekeeping(self) -> None:
        for name in dict.fromkeys(m.name for m in self.media):
            up = link_is_up(name)
            if up is not None:
                self.step(LocalLinkState(name, up))
        try:
            with open("/proc/loadavg", encoding="ascii") as handle:
                self.step(LoadAverage(handle.read()))
        except OSError:
            pass
        for identity, client in list(self.clients.items()):
            if not pid_alive(client.pid):
                self.drop_client(identity)
        self.ctx.loop.set_timer("housekeeping", monotonic_ms() + HOUSEKEEPING_MS, self.housekeeping)

    def open_watchdog(self) -> None:
        if not self.config.watchdog:
            return
        try:
            self.watchdog_fd = os.open(self.config.watchdog, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            self.log.info(f"Watchdog {self.config.watchdog} opened; fed with every heartbeat")
        except OSError as exc:
            self.log.error(f"Cannot open watchdog device {self.config.watchdog}: {exc.strerror}")

    def feed_watchdog(self) -> None:
        assert self.watchdog_fd is not None
        try:
            os.write(self.watchdog_fd, b"\0")
        except OSError:
            self.machine.count("watchdog_write_errors")

    # -- the local API -----------------------------------------------------------------------
    def on_api(self) -> None:
        for identity, request in ipc.requests(self.router, self.bad_frame):
            self.handle_request(identity, request)

    def bad_frame(self, exc: Exception) -> None:
        self.machine.count("api_bad_frames")
        self.log.debug(f"bad API frame: {exc}")

    def handle_request(self, identity: bytes, request: object) -> None:
        if isinstance(request, Query):
            self.handle_query(identity, request)
        elif isinstance(request, SendCluster):
            internal = self.internal_id()
            self.pending_sends[internal] = (identity, request.request_id)
            self.step(ClientSend(internal, request.msgtype, request.payload, request.dest))
        elif isinstance(request, SignOn):
            self.clients[identity] = ApiClient(identity, request.client, request.pid, set(request.msgtypes), request.events)
            ipc.reply(self.router, identity, request.request_id, {"node": self.ctx.paths.node_name,
                                                                   "generation": self.generation})
            self.step(LocalClient(request.client, True))
        elif isinstance(request, SignOff):
            ipc.reply(self.router, identity, request.request_id, True)
            self.drop_client(identity)
        elif isinstance(request, SetResourceStatus):
            if request.status not in RSC_STATUSES:
                ipc.reply(self.router, identity, request.request_id, error=f"bad resource status {request.status!r}")
            else:
                self.rsc_status = request.status
                ipc.reply(self.router, identity, request.request_id, True)
        elif isinstance(request, PingRequest):
            ipc.reply(self.router, identity, request.request_id, {"daemon": "messaging", "pid": os.getpid()})
        else:
            self.machine.count("api_unexpected_requests")

    def drop_client(self, identity: bytes) -> None:
        client = self.clients.pop(identity, None)
        if client is not None and not any(c.name == client.name for c in self.clients.values()):
            self.step(LocalClient(client.name, False))

    def internal_id(self) -> int:
        self._internal_ids += 1
        return self._internal_ids

    def handle_query(self, identity: bytes, query: Query) -> None:
        what, args = query.what, query.args
        machine = self.machine
        if what == "clientstatus":
            internal = self.internal_id()
            self.pending_queries[internal] = (identity, query.request_id)
            timeout_ms = int(args.get("timeout_ms", 1000))
            self.ctx.loop.set_timer(f"query{internal}", monotonic_ms() + timeout_ms,
                                    lambda: self.finish_query(internal, None))
            self.step(ClientStatusQuery(internal, str(args.get("node", "")), str(args.get("client", ""))))
            return
        result: Any
        if what == "hbstatus":
            result = {"node": self.ctx.paths.node_name, "status": machine.local_status,
                      "generation": self.generation, "uptime_ms": monotonic_ms() - self.started_ms, "pid": os.getpid()}
        elif what == "nodes":
            result = machine.nodes_view()
        elif what == "node":
            result = machine.node_view(str(args.get("node", "")))
            if result is None:
                ipc.reply(self.router, identity, query.request_id, error=f"unknown node {args.get('node')!r}")
                return
        elif what == "links":
            result = machine.links_view(args.get("node"))
        elif what == "parameter":
            result = self.config.parameter(str(args.get("name", "")))
        elif what == "parameters":
            result = dict(self.config.parameters)
        elif what == "rscstatus":
            result = self.rsc_status
        elif what == "counters":
            result = dict(machine.counters)
        elif what == "clients":
            result = sorted({c.name for c in self.clients.values()})
        else:
            ipc.reply(self.router, identity, query.request_id, error=f"unknown query {what!r}")
            return
        ipc.reply(self.router, identity, query.request_id, result)

    def finish_send(self, effect: SendResult) -> None:
        pending = self.pending_sends.pop(effect.request_id, None)
        if pending is not None:
            ipc.reply(self.router, pending[0], pending[1], effect.error is None, effect.error)

    def finish_query(self, internal: int, status: Optional[str]) -> None:
        pending = self.pending_queries.pop(internal, None)
        self.ctx.loop.cancel_timer(f"query{internal}")
        if pending is not None:
            ipc.reply(self.router, pending[0], pending[1], status)

    def deliver(self, effect: Deliver) -> None:
        msg = ClusterMessage(effect.msgtype, effect.source, effect.payload, effect.dest,
                             effect.source_generation, effect.seq)
        for client in list(self.clients.values()):
            if effect.msgtype in client.msgtypes or "*" in client.msgtypes:
                if not ipc.send_router(self.router, client.identity, msg):
                    self.machine.count("api_send_queue_full")

    def broadcast_event(self, event: object) -> None:
        for client in list(self.clients.values()):
            if client.events and not ipc.send_router(self.router, client.identity, event):
                self.machine.count("api_send_queue_full")

    # -- lifecycle ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.log.info("SIGHUP: authkeys reloaded" if self._reload_keys() else "SIGHUP: authkeys unchanged")

    def _reload_keys(self) -> bool:
        try:
            keys = read_authkeys(self.ctx.paths.authkeys)
        except Exception as exc:  # a bad new key file must not take the node down
            self.log.error(f"authkeys not reloaded: {exc}")
            return False
        changed = keys != self.machine.keys
        self.machine.keys = keys
        return changed

    def shutdown(self) -> None:
        self.apply(self.machine.step(monotonic_ms(), Shutdown(), int(time.time())))
        self.log.info(f"{self.ctx.paths.node_name} messaging shutdown complete")
        if self.watchdog_fd is not None:
            try:
                os.write(self.watchdog_fd, b"V")  # magic close: disarm the watchdog on a clean stop
            except OSError:
                pass
            os.close(self.watchdog_fd)
        for medium in self.media:
            medium.close()
        if self.pinger is not None:
            self.pinger.close()
        self.router.close(0)


def build(ctx: DaemonContext) -> MessagingService:
    return MessagingService(ctx)


def main(argv: Optional[list[str]] = None) -> int:
    return run_daemon("messaging", build, argv, log_ident="heartbeat")


if __name__ == "__main__":
    sys.exit(main())
