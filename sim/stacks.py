"""What runs on a simulated node: the daemons' process cores, built as their shells build them.

`MembershipStack`: messaging + ccm (the membership simulations). The CRM stack (`sim.crm`)
extends it with lrmd (simulated agents), pengine, tengine and crmd.

Each process gets what its shell would read from the node's state directory (`node.disk`, which
survives crashes): messaging a new generation at every start, ccm its incarnation and instance
floors. Cores that decode each broadcast get the cluster's shared decoders (a broadcast reaches
N-1 nodes as the same bytes; decoding is a pure function, so sharing changes nothing but speed).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ccm import protocol
from ccm.machine import CcmMachine
from ccm.process import HORIZON_FILE, INCARNATION_FILE, INSTANCE_FILE, CcmProcess, CcmProcessConfig
from core.config.authkeys import AuthKeys
from core.messages.hbapi import ClusterMessage, NodeStatusEvent
from core.sansio import Recv
from messaging import packet
from messaging.machine import HeartbeatMachine, MachineConfig
from messaging.process import MessagingProcess
from sim.cluster import LINK, WALL_BASE_S, Cluster, SimNode, SimProcess, SubRng


class MembershipStack:
    processes: tuple[str, ...] = ("messaging", "ccm")

    def __init__(self, ccm_factory: Optional[Callable[..., CcmMachine]] = None) -> None:
        self.ccm_factory = ccm_factory or CcmMachine
        self.packet_decoder: Optional[PacketDecoder] = None
        self.state_decoder = StateDecoder()

    def handlers(self) -> dict[type, Callable[[Cluster, SimNode, SimProcess, Any], None]]:
        return {}

    def build(self, cluster: Cluster, node: SimNode, proc: SimProcess, local_ms: int) -> Any:
        if proc.name == "messaging":
            return self.build_messaging(cluster, node, proc, local_ms)
        if proc.name == "ccm":
            return self.build_ccm(cluster, node, proc, local_ms)
        raise AssertionError(f"no process {proc.name} in this stack")

    def build_messaging(self, cluster: Cluster, node: SimNode, proc: SimProcess, local_ms: int) -> MessagingProcess:
        if self.packet_decoder is None or self.packet_decoder.keys is not cluster.keys:
            self.packet_decoder = PacketDecoder(cluster.keys)
        generation = int(node.disk.get("hb_generation", 0)) + 1
        node.disk["hb_generation"] = generation
        timing = cluster.timing
        machine = HeartbeatMachine(
            MachineConfig(node=node.name, uuid=node.name.encode().ljust(16, b"\0")[:16], generation=generation,
                          nodes=tuple(cluster.names), keepalive_ms=timing.keepalive_ms,
                          deadtime_ms=timing.deadtime_ms, warntime_ms=timing.warntime_ms,
                          initdead_ms=timing.initdead_ms, deadping_ms=timing.deadtime_ms, local_links=(LINK,)),
            cluster.keys, SubRng(cluster.rng.randint(0, 2**31)), local_ms,
            WALL_BASE_S * 1000 - node.offset_ms, decode=self.packet_decoder)
        cluster.trace.add(cluster.now_ms, node.name, f"messaging starts, generation {generation}")
        return MessagingProcess(machine, pid=proc.incarnation)

    def build_ccm(self, cluster: Cluster, node: SimNode, proc: SimProcess, local_ms: int) -> CcmProcess:
        cluster.checker.started(node.name)
        timing = cluster.timing
        return CcmProcess(CcmProcessConfig(
            node=node.name, nodes=tuple(cluster.names), keepalive_ms=timing.keepalive_ms,
            deadtime_ms=timing.deadtime_ms, pid=proc.incarnation,
            incarnation_floor=int(node.disk.get(INCARNATION_FILE, 0)),
            instance_floor=int(node.disk.get(INSTANCE_FILE, 0)), two_node=cluster.two_node,
            horizon=str(node.disk.get(HORIZON_FILE, "")), boot_id=f"sim-{node.name}"),
            machine_factory=self.ccm_factory, decode=self.state_decoder)


class MembershipObserver:
    """Tells the membership checker which ccm states each ccm actually received (validity is
    judged on deliveries, not on sends), and traces what messaging told ccm about peers."""

    def __init__(self, decoder: "StateDecoder") -> None:
        self.decoder = decoder

    def on_deliver(self, cluster: Cluster, node: SimNode, proc: SimProcess, event: object) -> None:
        if proc.name != "ccm" or type(event) is not Recv:
            return
        msg = event.msg  # type: ignore[attr-defined]
        kind = type(msg)
        if kind is ClusterMessage and msg.msgtype == "ccm":
            try:
                state = self.decoder(msg.payload)
            except protocol.ProtocolError:
                return
            cluster.checker.delivered(node.name, msg.source, state)
        elif kind is NodeStatusEvent and msg.node != node.name:
            cluster.trace.add(cluster.now_ms, node.name, f"messaging: {msg.node} {msg.previous} -> {msg.status} "
                                                         f"(gen {msg.generation})")


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
