"""A whole cluster in one process: every node runs the real sans-I/O cores (messaging
`HeartbeatMachine` + ccm `CcmMachine`) on its own clock (a fixed random offset from the global
manual clock), wired as the daemons wire them, over the simulated `Network`.

Everything happens through one heap of timed events (packet arrivals, core timers, scripted
actions), popped in (time, sequence) order, so a run is a pure function of its seed. Node faults:
`crash` (the node's state is gone; packets to it are lost), `restart` (new messaging generation,
new ccm incarnation, the persisted instance floor survives), `pause`/`resume` (a hung node: its
timers do not fire and packets wait in its socket buffer; on resume overdue timers run first, as
`core.loop` does, then the backlog).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol

from ccm import protocol
from ccm.events import Broadcast, PeerClient, PeerMessage, PeerStatus, Persist, QuorumChanged, ViewChanged
from ccm.events import Log as CcmLog
from ccm.events import Tick as CcmTick
from ccm.machine import CcmConfig, CcmMachine
from core.config.authkeys import AuthKeys, parse_authkeys
from messaging.events import (ClientSend, ClientStatusChanged, Deliver, LocalClient, NodeStatusChanged, PacketIn,
                              Tick, Transmit)
from messaging import packet
from messaging.machine import HeartbeatMachine, MachineConfig
from sim.checkers import Checker
from sim.network import Network
from sim.trace import Trace

KEYS = parse_authkeys("auth 1\n1 sha1 simulated-cluster\n")
LINK = "eth0"
WALL_BASE_S = 1_700_000_000
PACKET, TIMER, ACTION = 0, 1, 2


class Rng(Protocol):
    def random(self) -> float: ...

    def randint(self, a: int, b: int) -> int: ...


@dataclass(frozen=True)
class Timing:
    keepalive_ms: int = 100
    deadtime_ms: int = 500
    warntime_ms: int = 300
    initdead_ms: int = 1000


@dataclass
class SimNode:
    name: str
    offset_ms: int
    up: bool = False
    paused: bool = False
    epoch: int = 0
    generation: int = 0
    incarnation: int = 0
    disk_instance: int = 0  # what ccm persisted: survives crashes
    hb: Optional[HeartbeatMachine] = None
    ccm: Optional[CcmMachine] = None
    wake_ms: Optional[int] = None
    backlog: list = field(default_factory=list)
    ccm_paused: bool = False  # only the ccm process hangs; messaging runs on
    ccm_backlog: list = field(default_factory=list)
    ccm_deliveries: int = 0


class Cluster:
    def __init__(self, names: list[str], rng: Rng, timing: Timing = Timing(), network: Optional[Network] = None,
                 trace: Optional[Trace] = None, keys: AuthKeys = KEYS, two_node: Optional[bool] = None,
                 ccm_factory: Callable[..., CcmMachine] = CcmMachine) -> None:
        """ccm_factory: builds each node's ccm core (tests pass deliberately broken variants to
        show the checkers catch them)."""
        self.names = list(names)
        self.rng = rng
        self.timing = timing
        self.keys = keys
        self.network = network or Network(self.names, rng)
        self.trace = trace or Trace()
        self.two_node = two_node
        self.ccm_factory = ccm_factory
        self.now_ms = 0
        self.nodes = {name: SimNode(name, rng.randint(0, 1_000_000)) for name in self.names}
        self.checker = Checker(self.names, two_node if two_node is not None else len(self.names) == 2)
        self.heap: list = []
        self._seq = 0
        self._request_ids = 0
        self.steps = 0
        self.packet_decoder = PacketDecoder(keys)
        self.state_decoder = StateDecoder()

    # -- scheduling ------------------------------------------------------------------------------
    def _push(self, at_ms: int, kind: int, payload: object) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (at_ms, self._seq, kind, payload))

    def at(self, at_ms: int, action: Callable[[], None]) -> None:
        self._push(at_ms, ACTION, action)

    def run_until(self, end_ms: int) -> None:
        heap = self.heap
        while heap and heap[0][0] <= end_ms:
            at_ms, _, kind, payload = heapq.heappop(heap)
            self.now_ms = at_ms
            if kind == PACKET:
                dst, data = payload  # type: ignore[misc]
                node = self.nodes[dst]
                if node.up:
                    if node.paused:
                        node.backlog.append(data)
                    else:
                        self._dispatch(node, "hb", PacketIn(LINK, data))
                        self._rearm(node)
            elif kind == TIMER:
                name, epoch = payload  # type: ignore[misc]
                node = self.nodes[name]
                if node.up and not node.paused and node.epoch == epoch and node.wake_ms == at_ms:
                    node.wake_ms = None
                    self._timers(node)
                    self._rearm(node)
            else:
                payload()  # type: ignore[operator]
        self.now_ms = max(self.now_ms, end_ms)

    def _local(self, node: SimNode) -> int:
        return self.now_ms + node.offset_ms

    def _rearm(self, node: SimNode) -> None:
        assert node.hb is not None and node.ccm is not None
        hb_deadline = node.hb.next_deadline_ms()
        deadline = None if node.ccm_paused else node.ccm.next_deadline_ms()
        if hb_deadline is not None and (deadline is None or hb_deadline < deadline):
            deadline = hb_deadline
        if deadline is None:
            node.wake_ms = None
            return
        at_ms = max(self.now_ms, deadline - node.offset_ms)
        if node.wake_ms != at_ms:
            node.wake_ms = at_ms
            self._push(at_ms, TIMER, (node.name, node.epoch))

    def _timers(self, node: SimNode) -> None:
        assert node.hb is not None and node.ccm is not None
        local = self._local(node)
        deadline = node.hb.next_deadline_ms()
        if deadline is not None and deadline <= local:
            self._dispatch(node, "hb", Tick())
        if not node.ccm_paused and node.ccm.next_deadline_ms() <= local:
            self._dispatch(node, "ccm", CcmTick())

    # -- one node's processes, wired like the daemons --------------------------------------------
    def _dispatch(self, node: SimNode, target: str, first: object) -> None:
        """Feed one input to the node's messaging ("hb") or ccm ("ccm") core and carry out every
        effect that follows inside the node, in order."""
        hb, ccm = node.hb, node.ccm
        assert hb is not None and ccm is not None
        self.steps += 1
        local = self._local(node)
        wall = WALL_BASE_S + local // 1000
        work: list = [(target, first)]
        index = 0
        while index < len(work):
            target, item = work[index]
            index += 1
            if target == "ccm" and node.ccm_paused:
                node.ccm_backlog.append(item)
                continue
            if target == "hb":
                for effect in hb.step(local, item, wall):
                    kind = type(effect)
                    if kind is Transmit:
                        for dst, delay in self.network.plan(node.name):
                            self._push(self.now_ms + delay, PACKET, (dst, effect.packet))  # type: ignore[attr-defined]
                    elif kind is Deliver:
                        if effect.msgtype == "ccm":  # type: ignore[attr-defined]
                            self._observe_delivery(node, effect)
                            work.append(("ccm", PeerMessage(effect.source, effect.payload,  # type: ignore[attr-defined]
                                                            effect.source_generation)))  # type: ignore[attr-defined]
                    elif kind is NodeStatusChanged:
                        if effect.node != node.name:  # type: ignore[attr-defined]
                            self.trace.add(self.now_ms, node.name, f"messaging: {effect.node} "  # type: ignore[attr-defined]
                                           f"{effect.previous} -> {effect.status} (gen {effect.generation})")  # type: ignore[attr-defined]
                            work.append(("ccm", PeerStatus(effect.node, effect.status,  # type: ignore[attr-defined]
                                                           effect.generation)))  # type: ignore[attr-defined]
                    elif kind is ClientStatusChanged:
                        work.append(("ccm", PeerClient(effect.node, effect.client, effect.status)))  # type: ignore[attr-defined]
            else:
                for effect in ccm.step(local, item):
                    kind = type(effect)
                    if kind is Broadcast:
                        self._request_ids += 1
                        work.append(("hb", ClientSend(self._request_ids, "ccm", effect.payload)))  # type: ignore[attr-defined]
                    elif kind is ViewChanged:
                        info = effect.view  # type: ignore[attr-defined]
                        self.trace.add(self.now_ms, node.name, f"VIEW {info.instance} {{{', '.join(info.members)}}} "
                                       f"quorum={'yes' if info.quorum else 'no'}")
                        self.checker.installed(node.name, info, self.now_ms)
                    elif kind is QuorumChanged:
                        info = effect.view  # type: ignore[attr-defined]
                        self.trace.add(self.now_ms, node.name, f"quorum {'gained' if info.quorum else 'lost'} "
                                       f"in {info.instance}")
                        self.checker.quorum_changed(node.name, info, self.now_ms)
                    elif kind is Persist:
                        node.disk_instance = max(node.disk_instance, effect.max_instance)  # type: ignore[attr-defined]
                    elif kind is CcmLog and effect.level != "info":  # type: ignore[attr-defined]
                        self.trace.add(self.now_ms, node.name, f"ccm {effect.level}: {effect.text}")  # type: ignore[attr-defined]

    def _observe_delivery(self, node: SimNode, effect: Deliver) -> None:
        node.ccm_deliveries += 1
        try:
            state = self.state_decoder(effect.payload)
        except protocol.ProtocolError:
            return
        self.checker.delivered(node.name, effect.source, state)

    # -- node lifecycle and faults ---------------------------------------------------------------
    def start(self, name: str) -> None:
        node = self.nodes[name]
        assert not node.up
        node.generation += 1
        node.incarnation += 1
        node.epoch += 1
        node.up, node.paused, node.backlog, node.wake_ms = True, False, [], None
        node.ccm_paused, node.ccm_backlog = False, []
        local = self._local(node)
        timing = self.timing
        node.hb = HeartbeatMachine(
            MachineConfig(node=name, uuid=name.encode().ljust(16, b"\0")[:16], generation=node.generation,
                          nodes=tuple(self.names), keepalive_ms=timing.keepalive_ms, deadtime_ms=timing.deadtime_ms,
                          warntime_ms=timing.warntime_ms, initdead_ms=timing.initdead_ms,
                          deadping_ms=timing.deadtime_ms, local_links=(LINK,)),
            self.keys, _SubRng(self.rng.randint(0, 2**31)), local, WALL_BASE_S + local // 1000,
            decode=self.packet_decoder)
        node.ccm = self.ccm_factory(CcmConfig(node=name, nodes=tuple(self.names), keepalive_ms=timing.keepalive_ms,
                                        deadtime_ms=timing.deadtime_ms, incarnation=node.incarnation,
                                        instance_floor=node.disk_instance, generation=node.generation,
                                        two_node=self.two_node), local, decode=self.state_decoder)
        self.trace.add(self.now_ms, name, f"START generation {node.generation} incarnation {node.incarnation}")
        self.checker.started(name)
        self._dispatch(node, "hb", Tick())
        self._dispatch(node, "hb", LocalClient("ccm", True))
        self._dispatch(node, "ccm", CcmTick())
        self.checker.set_running(name, True, self.now_ms)
        self._rearm(node)

    def crash(self, name: str) -> None:
        node = self.nodes[name]
        if not node.up:
            return
        node.up, node.paused, node.backlog, node.wake_ms = False, False, [], None
        node.hb = node.ccm = None
        node.epoch += 1
        self.trace.add(self.now_ms, name, "CRASH")
        self.checker.set_running(name, False, self.now_ms)

    def pause(self, name: str) -> None:
        node = self.nodes[name]
        if not node.up or node.paused:
            return
        node.paused = True
        self.trace.add(self.now_ms, name, "PAUSE (hung)")
        self.checker.set_running(name, False, self.now_ms)

    def resume(self, name: str) -> None:
        node = self.nodes[name]
        if not node.up or not node.paused:
            return
        node.paused = False
        self.trace.add(self.now_ms, name, f"RESUME ({len(node.backlog)} packets waiting)")
        node.wake_ms = None
        self._dispatch(node, "hb", Tick())
        self._dispatch(node, "ccm", CcmTick())
        if not node.ccm_paused:
            self.checker.set_running(name, True, self.now_ms)
            queued, node.ccm_backlog = node.ccm_backlog, []
            for item in queued:
                self._dispatch(node, "ccm", item)
        backlog, node.backlog = node.backlog, []
        for data in backlog:
            self._dispatch(node, "hb", PacketIn(LINK, data))
        self._rearm(node)

    def pause_ccm(self, name: str) -> None:
        """Only the node's ccm process hangs (SIGSTOP): messaging keeps the node alive."""
        node = self.nodes[name]
        if not node.up or node.ccm_paused:
            return
        node.ccm_paused = True
        self.trace.add(self.now_ms, name, "PAUSE ccm only")
        self.checker.set_running(name, False, self.now_ms)
        self._rearm(node)

    def resume_ccm(self, name: str) -> None:
        node = self.nodes[name]
        if not node.up or not node.ccm_paused:
            return
        node.ccm_paused = False
        self.trace.add(self.now_ms, name, f"RESUME ccm ({len(node.ccm_backlog)} inputs waiting)")
        if not node.paused:
            self._dispatch(node, "ccm", CcmTick())
            self.checker.set_running(name, True, self.now_ms)
            backlog, node.ccm_backlog = node.ccm_backlog, []
            for item in backlog:
                self._dispatch(node, "ccm", item)
            self._rearm(node)

    def running(self) -> dict[str, int]:
        return {n.name: n.incarnation for n in self.nodes.values() if n.up and not n.paused and not n.ccm_paused}


class PacketDecoder:
    """`messaging.packet.decode` for the cluster's keys, run once per distinct packet: a broadcast
    reaches N-1 nodes as the same bytes, and decoding is a pure function of bytes and keys. The
    cores treat decoded packets as read-only, so sharing the result changes nothing but speed."""

    def __init__(self, keys: AuthKeys, limit: int = 4096) -> None:
        self.keys = keys
        self.limit = limit
        self.cache: dict[bytes, packet.Decoded] = {}

    def __call__(self, data: bytes, keys: AuthKeys) -> packet.Decoded:
        if keys is not self.keys:
            return packet.decode(data, keys)
        decoded = self.cache.get(data)
        if decoded is None:
            decoded = packet.decode(data, keys)
            if len(self.cache) >= self.limit:
                self.cache.clear()
            self.cache[data] = decoded
        return decoded


class StateDecoder:
    """`ccm.protocol.decode`, once per distinct payload (states are read-only to the cores)."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.cache: dict[bytes, protocol.State] = {}

    def __call__(self, data: bytes) -> protocol.State:
        state = self.cache.get(data)
        if state is None:
            state = protocol.decode(data)
            if len(self.cache) >= self.limit:
                self.cache.clear()
            self.cache[data] = state
        return state


class _SubRng:
    """A small deterministic generator for one core (a linear congruential sequence), so cores
    never share the cluster RNG's stream and never need the random module."""

    def __init__(self, seed: int) -> None:
        self.state = seed or 1

    def _next(self) -> int:
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return self.state >> 33

    def random(self) -> float:
        return self._next() / float(1 << 31)

    def randint(self, a: int, b: int) -> int:
        return a + self._next() % (b - a + 1)
