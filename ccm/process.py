"""The whole ccm daemon as one sans-I/O core: the connection to the messaging daemon (sign-on,
node snapshot, restart detection), the membership protocol (`machine.CcmMachine`) and the local
API of `ccm.sock` (queries, subscriptions, pushed `MembershipEvent`s).

Connection to messaging (all of it used to be blocking calls in the shell; a real bug once hid
there, seen only as a flaky lab start):
1. `SignOn("ccm", msgtypes ["ccm"])`; the reply carries messaging's generation and pid. A new
   incarnation is persisted (`ccm_incarnation`) and the protocol core is built for it.
2. `Query node` (our uuid), then `Query nodes` (the snapshot of every node's status). Messaging
   answers requests and pushes events in one ordered stream, so every event that arrives before
   the snapshot is older than it and every later one newer: events are applied as they come and
   the snapshot when it comes, which is the order things happened in.
3. From then on the session polls messaging every second; silence or a new pid (a restart, which
   makes this node a new member for everyone) drops the protocol core and signs on again as a new
   incarnation.

Effects: `Send` (to messaging and to our clients), `WatchPid`, `Persist` (`ccm_incarnation`;
`ccm_instance`, the instance floor, before any proposal above the previous floor leaves;
`ccm_promises`, the promise horizon, before any promise beyond the previous one leaves), `Log`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Optional

from ccm import protocol
from ccm.events import Broadcast, PeerClient, PeerFenced, PeerMessage, PeerStatus, QuorumChanged, ViewChanged, ViewInfo
from ccm.events import Persist as InstancePersist
from ccm.events import PromiseHorizon
from ccm.machine import CcmConfig, CcmMachine, start_quiet_ms
from core.messages.ccm import CcmFenced, CcmQuery, CcmSubscribe, MembershipEvent
from core.messages.common import PingRequest, Reply
from core.messages.hbapi import (ClientStatusEvent, ClusterMessage, NodeStatusEvent, Query, SendCluster, SignOff,
                                 SignOn)
from core.sansio import Log, PeerGone, Persist, Recv, Send, Stop, Tick, WallClock, WatchPid
from core.session import IdSource, Session

CONNECT_RETRY_MS = 500
REQUEST_TIMEOUT_MS = 1000
POLL_MS = 1000
SILENT_MS = 5000  # messaging answered nothing for this long: it is gone
INCARNATION_FILE = "ccm_incarnation"
INSTANCE_FILE = "ccm_instance"
HORIZON_FILE = "ccm_promises"  # "<boot id> <monotonic ms> <wall ms>": the promise horizon


def parse_horizon(text: str) -> Optional[tuple[str, int, int]]:
    """The horizon record `ccm_promises` holds, or None (missing or unreadable: then a node that
    ran before stays quiet a whole lease)."""
    words = text.split()
    if len(words) != 3:
        return None
    try:
        return words[0], int(words[1]), int(words[2])
    except ValueError:
        return None


@dataclass(frozen=True)
class CcmProcessConfig:
    node: str
    nodes: tuple[str, ...]
    keepalive_ms: int
    deadtime_ms: int
    pid: int
    incarnation_floor: int = 0  # what `ccm_incarnation` held at start
    instance_floor: int = 0  # what `ccm_instance` held at start
    two_node: Optional[bool] = None
    horizon: str = ""  # what `ccm_promises` held at start
    boot_id: str = ""  # this boot's id (the kernel's random boot_id): the horizon's clock


class CcmProcess:
    def __init__(self, config: CcmProcessConfig,
                 machine_factory: Callable[..., CcmMachine] = CcmMachine,
                 decode: Callable[[bytes], protocol.State] = protocol.decode) -> None:
        """machine_factory: builds the protocol core (tests pass deliberately broken ones);
        decode: the state decoder (the simulator shares one that decodes each broadcast once)."""
        self.config = config
        self.machine_factory = machine_factory
        self.decode = decode
        self.ids = IdSource()
        self.session = Session("messaging", self.ids, POLL_MS, REQUEST_TIMEOUT_MS, SILENT_MS)
        self.incarnation = config.incarnation_floor
        self.instance_floor = config.instance_floor
        self.horizon = parse_horizon(config.horizon)
        self.machine: Optional[CcmMachine] = None
        self.phase = "idle"  # idle -> signon -> node -> nodes -> up
        self.retry_at_ms: Optional[int] = 0
        self.generation = 0
        self.uuid = ""
        self.subscribers: dict[bytes, tuple[str, int]] = {}
        self.counters: dict[str, int] = {}
        self.unavailable_logged = False
        self.wall_offset_ms = 0

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    # -- the surface ---------------------------------------------------------------------------------
    def step(self, now_ms: int, event: object) -> list[object]:
        out: list[object] = []
        kind = type(event)
        if kind is Recv:
            src, msg = event.src, event.msg  # type: ignore[attr-defined]
            if src == "messaging":
                self._from_messaging(now_ms, msg, out)
            elif isinstance(src, bytes):
                self._api(now_ms, src, msg, out)
        elif kind is PeerGone:
            if event.peer == "messaging":  # type: ignore[attr-defined]
                if self.session.server_pid is not None:
                    self._disconnect(now_ms, "its process ended", out)
            else:
                self.subscribers.pop(event.peer, None)  # type: ignore[attr-defined]
        elif kind is WallClock:
            self.wall_offset_ms = event.offset_ms  # type: ignore[attr-defined]
        elif kind is Stop:
            if self.session.up:
                out.append(Send("messaging", SignOff(self.ids(), "ccm")))
            self.session.reset()
            self.machine = None
            self.retry_at_ms = None
            return out
        else:
            assert kind is Tick, f"ccm got an unknown input {event!r}"
        self._time(now_ms, out)
        return out

    def next_deadline_ms(self) -> Optional[int]:
        best = self.retry_at_ms
        for deadline in (self.session.next_deadline_ms(),
                         self.machine.next_deadline_ms() if self.machine is not None else None):
            if deadline is not None and (best is None or deadline < best):
                best = deadline
        return best

    # -- time ------------------------------------------------------------------------------------------
    def _time(self, now_ms: int, out: list[object]) -> None:
        if self.retry_at_ms is not None and now_ms >= self.retry_at_ms:
            self.retry_at_ms = None
            self.phase = "signon"
            out.append(self.session.request(now_ms, lambda rid: SignOn(rid, "ccm", self.config.pid, ["ccm"], True),
                                            "signon"))
        for pending in self.session.expired(now_ms):
            if pending.tag in ("signon", "node", "nodes"):
                if not self.unavailable_logged:
                    out.append(Log("warn", "messaging not available yet (no answer to sign-on); retrying"))
                    self.unavailable_logged = True
                self._disconnect(now_ms, None, out)
        polls, lost = self.session.check(now_ms)
        out.extend(polls)
        if lost is not None:
            self._disconnect(now_ms, lost, out)
        if self.machine is not None and self.machine.next_deadline_ms() <= now_ms:
            self._machine(now_ms, Tick(), out)

    def _disconnect(self, now_ms: int, why: Optional[str], out: list[object],
                    retry_ms: int = CONNECT_RETRY_MS) -> None:
        if why is not None:
            out.append(Log("warn", f"lost the messaging daemon ({why}); signing on again"))
        info = self.machine.view_info() if self.machine is not None else None
        if info is not None:
            # without messaging this node hears nobody: its view has no quorum any more, and the
            # next one comes from the new incarnation, once signed on again. `lost`, not a quorum
            # change: membership is unknown here, while the others may still hold this node in
            # theirs (messaging may be back before their deadtime)
            out.extend(self._publish("lost", replace(info, quorum=False)))
        self.session.reset()
        self.machine = None
        self.phase = "idle"
        self.retry_at_ms = now_ms + retry_ms

    # -- messaging -------------------------------------------------------------------------------------
    def _from_messaging(self, now_ms: int, msg: Any, out: list[object]) -> None:
        if isinstance(msg, Reply):
            self._reply(now_ms, msg, out)
            return
        self.session.heard(now_ms)
        if self.machine is None:
            return
        if isinstance(msg, ClusterMessage):
            if msg.msgtype == "ccm":
                self._machine(now_ms, PeerMessage(msg.source, msg.payload, msg.source_generation), out)
        elif isinstance(msg, NodeStatusEvent):
            if msg.node_type == "normal" and msg.node != self.config.node:
                self._machine(now_ms, PeerStatus(msg.node, msg.status, msg.generation), out)
        elif isinstance(msg, ClientStatusEvent):
            self._machine(now_ms, PeerClient(msg.node, msg.client, msg.status), out)
        else:
            self.count("unexpected_messages")

    def _reply(self, now_ms: int, reply: Reply, out: list[object]) -> None:
        pending = self.session.take_reply(now_ms, reply)
        if pending is None:
            if not reply.ok:
                self.count("send_errors")
                out.append(Log("warn", f"messaging refused a ccm message: {reply.error}"))
            return
        if pending.tag == "ping":
            why = self.session.ping_answer(pending.context)
            if why is not None:
                self._disconnect(now_ms, why, out, retry_ms=0)  # it answers: sign on again now
            return
        if not reply.ok:
            out.append(Log("warn", f"messaging refused {pending.tag}: {reply.error}; retrying"))
            self._disconnect(now_ms, None, out)
            return
        result = reply.result
        if pending.tag == "signon":
            self.unavailable_logged = False
            result = result if isinstance(result, dict) else {}
            self.generation = int(result.get("generation", 0))
            self.session.connected(now_ms, result.get("pid"))
            if isinstance(result.get("pid"), int) and result["pid"] > 0:
                out.append(WatchPid("messaging", result["pid"]))  # cut off the moment it ends
            ever_ran = self.incarnation > 0  # an earlier incarnation may have given promises
            self.incarnation += 1
            out.append(Persist(INCARNATION_FILE, self.incarnation))
            c = self.config
            config = CcmConfig(node=c.node, nodes=c.nodes, keepalive_ms=c.keepalive_ms, deadtime_ms=c.deadtime_ms,
                               incarnation=self.incarnation, instance_floor=self.instance_floor,
                               generation=self.generation, two_node=c.two_node)
            quiet_ms = start_quiet_ms(self.horizon, c.boot_id, now_ms, now_ms + self.wall_offset_ms,
                                      config.lease_ms + config.margin_ms, ever_ran)
            self.machine = self.machine_factory(replace(config, quiet_ms=quiet_ms), now_ms, decode=self.decode)
            out.append(Log("info", f"signed on to messaging (generation {self.generation}); "
                                   f"ccm incarnation {self.incarnation}, quiet for {quiet_ms} ms"))
            self.phase = "node"
            out.append(self.session.request(now_ms, lambda rid: Query(rid, "node", {"node": c.node}), "node"))
        elif pending.tag == "node":
            self.uuid = str(result.get("uuid") or "") if isinstance(result, dict) else ""
            self.phase = "nodes"
            # the snapshot must be the last request: every event before its answer is older
            out.append(self.session.request(now_ms, lambda rid: Query(rid, "nodes"), "nodes"))
        elif pending.tag == "nodes":
            self.phase = "up"
            for node in result if isinstance(result, list) else []:
                if node.get("type") == "normal" and node.get("name") != self.config.node:
                    self._machine(now_ms, PeerStatus(str(node["name"]), str(node["status"]),
                                                     int(node.get("generation") or 0)), out)
            self._machine(now_ms, Tick(), out)

    # -- the protocol core -----------------------------------------------------------------------------
    def _machine(self, now_ms: int, event: object, out: list[object]) -> None:
        machine = self.machine
        assert machine is not None
        for effect in machine.step(now_ms, event):
            kind = type(effect)
            if kind is Broadcast:
                out.append(Send("messaging", SendCluster(self.ids(), "ccm", effect.payload)))  # type: ignore[attr-defined]
            elif kind is InstancePersist:
                self.instance_floor = max(self.instance_floor, effect.max_instance)  # type: ignore[attr-defined]
                out.append(Persist(INSTANCE_FILE, effect.max_instance))  # type: ignore[attr-defined]
            elif kind is PromiseHorizon:
                until_ms = effect.until_ms  # type: ignore[attr-defined]
                self.horizon = (self.config.boot_id, until_ms, until_ms + self.wall_offset_ms)
                out.append(Persist(HORIZON_FILE, " ".join(map(str, self.horizon)) + "\n"))
            elif kind is ViewChanged:
                out.append(effect)  # observed by the simulator's checkers; the shell ignores it
                out.extend(self._publish("view", effect.view))  # type: ignore[attr-defined]
            elif kind is QuorumChanged:
                out.append(effect)
                out.extend(self._publish("quorum", effect.view))  # type: ignore[attr-defined]
            else:
                out.append(effect)  # Log

    def _event(self, kind: str, view: ViewInfo) -> MembershipEvent:
        return MembershipEvent(kind, view.instance, list(view.members), list(view.incarnations), view.leader,
                               view.quorum, view.node, self.uuid)

    def _publish(self, kind: str, view: ViewInfo) -> list[object]:
        event = self._event(kind, view)
        return [Send(identity, event) for identity in self.subscribers]

    # -- the local API ---------------------------------------------------------------------------------
    def _api(self, now_ms: int, identity: bytes, request: Any, out: list[object]) -> None:
        if isinstance(request, CcmQuery):
            if request.what == "view":
                out.append(Send(identity, Reply(request.request_id, True, self.view_result())))
            elif request.what == "nodes":
                table = self.machine.peer_table() if self.machine is not None else []
                out.append(Send(identity, Reply(request.request_id, True, table)))
            elif request.what == "counters":
                counters = dict(self.counters)
                if self.machine is not None:
                    counters.update(self.machine.counters)
                out.append(Send(identity, Reply(request.request_id, True, counters)))
            else:
                out.append(Send(identity, Reply(request.request_id, False, None, f"unknown query {request.what!r}")))
        elif isinstance(request, CcmSubscribe):
            self.subscribers[identity] = (request.client, request.pid)
            out.append(Send(identity, Reply(request.request_id, True, {"pid": self.config.pid})))
            out.append(WatchPid(identity, request.pid))
            info = self.machine.view_info() if self.machine is not None else None
            if info is not None:
                out.append(Send(identity, self._event("view", info)))
        elif isinstance(request, CcmFenced):
            if self.machine is not None:
                self._machine(now_ms, PeerFenced(request.node, int(request.incarnation)), out)
            out.append(Send(identity, Reply(request.request_id, True, None)))
        elif isinstance(request, PingRequest):
            out.append(Send(identity, Reply(request.request_id, True, {"daemon": "ccm", "pid": self.config.pid})))
        else:
            self.count("api_unexpected_requests")

    def view_result(self) -> dict:
        machine = self.machine
        info = machine.view_info() if machine is not None else None
        total = len(self.config.nodes)
        if info is None or machine is None:
            return {"instance": 0, "members": [], "incarnations": [], "leader": None, "quorum": False,
                    "node": self.config.node, "uuid": self.uuid, "incarnation": self.incarnation, "votes": 0,
                    "votes_needed": total // 2 + 1, "total_votes": total}
        return {"instance": info.instance, "members": list(info.members), "incarnations": list(info.incarnations),
                "leader": info.leader, "quorum": info.quorum, "node": info.node, "uuid": self.uuid,
                "incarnation": info.incarnation, "votes": machine.votes, "votes_needed": machine.votes_needed,
                "total_votes": total}
