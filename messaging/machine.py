"""The messaging core: what the `heartbeat` process decides, without any I/O.

Theory of operation
-------------------
Inputs (messaging.events): Tick, WallClock, PacketIn(link, bytes), ClientSend, LocalClient,
ClientStatusQuery, PingReply, LocalLinkState, LoadAverage, Shutdown. Each `step(now_ms, input)` returns effects:
Transmit(packet) to send on every medium, Deliver(...) a cluster message to local clients, status
changes of nodes/links/clients, SendPing, Log lines. `next_deadline_ms()` says when to Tick next.

Timers (one table, `_timers`): the keepalive (send our status every keepalive_ms), node and link
dead intervals (liveness), retransmit requests (reliable), the initdead window.

Every outgoing packet carries Heartbeat's control fields (src, srcuuid, seq, hg, ts, ld, ttl) and
is signed (crc, md5, sha1, sha256: Heartbeat's bytes) or sealed (aes-256-gcm, chacha20-poly1305:
`seal`) with the sending key, which `keyring` picks so that every live peer can read it. Every
incoming one must authenticate with a listed key, come from a configured node (or autojoin), and
pass the replay checks (`replay`: generation, clock skew, a per-link window of counters or seqs);
each drop is counted as `dropped_<reason>`. Sequenced packets go through `reliable.PeerReceive`;
status messages act on liveness when they arrive, everything else acts when it is released in
sequence order. The send history keeps the Fields, not the bytes: a retransmission is framed again
(a sealed one with a fresh nonce counter, a signed one byte-identical).

Cluster messages of local clients travel as `t=pyhb:<type>` with the payload in a binary field
`data`; payloads larger than `fragment_bytes` are split into consecutive sequenced fragments
(`frag=i/n`) and reassembled from the in-order stream. While flow control is on (every live peer
advertised protocol=1) client messages wait when too many packets are unacknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from core.config.authkeys import AuthKeys
from core.config.hacf import DEFAULT_CLUSTER, DEFAULT_MAX_CLOCK_SKEW_MS
from core.sansio import RandomSource, WallClock
from messaging import keyring
from messaging import packet as pkt
from messaging import seal
from messaging.events import (ClientSend, ClientStatusAnswer, ClientStatusChanged, ClientStatusQuery,
                              Deliver, LinkStatusChanged, LoadAverage, LocalClient, LocalLinkState, Log,
                              NodeStatusChanged, PacketIn, PingReply, ReloadKeys, SendPing, SendResult,
                              Shutdown, Tick, Transmit)
from messaging.liveness import (LINK_DEAD, LINK_UP, STATUS_ACTIVE, STATUS_DEAD, STATUS_INIT, STATUS_UP,
                                LateHeartbeat, LinkChange, LinkState, Liveness, NodeChange, NodeState)
from messaging.packet import Fields
from messaging.reliable import FLOW_WINDOW, PeerReceive, SendHistory, plan_retransmit
from messaging.replay import ReplayWindow, timestamp_ok

CLIENT_PREFIX = "pyhb:"
DROP_LOG_INTERVAL_MS = 10_000
RECENT_DUPLICATE_WINDOW = 100
PENDING_QUERY_MAX_AGE_MS = 60_000
# every reason a received packet is dropped for, counted as `dropped_<reason>` (docs/architecture.md,
# "Replay checks"); a fuzzing campaign can account for every packet it sent with these
DROP_REASONS = ("malformed", "oversize", "bad_auth", "bad_seal", "unknown_key", "unknown_sender", "unknown_node",
                "old_generation", "clock_skew", "replayed", "outside_window", "duplicate")
WARN_DROPS = ("bad_auth", "bad_seal", "unknown_key", "unknown_sender", "unknown_node", "old_generation",
              "clock_skew", "replayed", "outside_window")


@dataclass(frozen=True)
class MachineConfig:
    node: str
    uuid: bytes
    generation: int
    nodes: tuple[str, ...]
    keepalive_ms: int
    deadtime_ms: int
    warntime_ms: int
    initdead_ms: int
    deadping_ms: int
    max_rexmit_delay_ms: int = 250
    ping_nodes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    local_links: tuple[str, ...] = ()
    hopfudge: int = 1
    autojoin: str = "none"
    fragment_bytes: int = 1024
    max_queued_messages: int = 20_000
    cluster: str = DEFAULT_CLUSTER  # ha.cf `cluster`: part of the sealing keys' derivation
    max_clock_skew_ms: int = DEFAULT_MAX_CLOCK_SKEW_MS  # ha.cf `max_clock_skew`; 0 = no timestamp check

    @classmethod
    def from_hacf(cls, config, node: str, uuid: bytes, generation: int) -> "MachineConfig":
        pings = [(address, (address,)) for address in config.ping_nodes]
        pings += [(name, addresses) for name, addresses in config.ping_groups]
        nodes = config.nodes if node in config.nodes else config.nodes + (node,)
        return cls(node=node, uuid=uuid, generation=generation, nodes=nodes,
                   keepalive_ms=config.keepalive_ms, deadtime_ms=config.deadtime_ms,
                   warntime_ms=config.warntime_ms, initdead_ms=config.initdead_ms,
                   deadping_ms=config.deadping_ms, max_rexmit_delay_ms=config.max_rexmit_delay_ms,
                   ping_nodes=tuple(pings), local_links=tuple(dict.fromkeys(m.name for m in config.media)),
                   hopfudge=config.hopfudge, autojoin=config.autojoin, cluster=config.cluster,
                   max_clock_skew_ms=config.max_clock_skew_ms)


def _hex(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return value if value >= 0 else None


def _dec(text: Optional[str]) -> Optional[int]:
    if text is None or not text.strip().isdigit():
        return None
    return int(text)


class HeartbeatMachine:
    def __init__(self, config: MachineConfig, keys: AuthKeys, rng: RandomSource, now_ms: int, wall_offset_ms: int = 0,
                 decode: Callable[[bytes, AuthKeys], pkt.Decoded] = pkt.decode) -> None:
        """decode: the packet decoder (the simulator passes one that decodes each broadcast once
        for all receivers; it must behave exactly like `packet.decode`)."""
        self.config = config
        self.decode = decode
        self.keys = keys
        self.sealer = seal.Sealer(keys, config.cluster)
        self.sending_key = keys.active
        self.seal_counter = 0  # nonce counter of this generation (messaging.seal)
        self.peer_keys: dict[str, frozenset[int]] = {}  # advertised key indexes (keyring)
        self.peer_signing: dict[str, int] = {}  # key index of each peer's last accepted packet
        # (node, link, sealed) -> (generation, window): nonce counters of sealed packets and seqs of
        # signed ones are numbered apart (a node switching keys sends both)
        self.windows: dict[tuple[str, str, bool], tuple[int, ReplayWindow]] = {}
        self.rng = rng
        self.start_ms = now_ms
        self.wall_offset_ms = wall_offset_ms  # wall clock = now_ms + this (core.sansio.WallClock)
        self._now_ms = now_ms
        self.loadavg = "0.00 0.00 0.00 1/1 1"
        self.local_status = STATUS_INIT
        self.stopping = False
        self.liveness = Liveness(config.node, list(config.nodes), dict(config.ping_nodes),
                                 config.deadtime_ms, config.warntime_ms, config.initdead_ms,
                                 config.deadping_ms, now_ms)
        me = self.liveness.nodes[config.node]
        me.uuid, me.generation, me.ever_heard = config.uuid, config.generation, True
        for link in config.local_links:
            me.links[link] = LinkState(link, LINK_UP, now_ms)
        self.history = SendHistory()
        self.receive: dict[str, PeerReceive] = {}
        self.partial: dict[str, tuple[str, Optional[str], int, list[bytes]]] = {}
        self.queue: list[ClientSend] = []
        self.local_clients: set[str] = set()
        self.remote_clients: dict[str, dict[str, str]] = {}
        self.pending_queries: dict[int, tuple[int, str, str]] = {}
        self.counters: dict[str, int] = {}
        self._drop_log: dict[str, tuple[int, int]] = {}
        self.next_heartbeat_ms = now_ms
        self.last_local_heartbeat_ms: Optional[int] = None
        self.stall_grace_until_ms = now_ms
        self._handlers: dict[type, Callable[[int, object], list[object]]] = {
            Tick: self._on_tick, PacketIn: self._on_packet, ClientSend: self._on_client_send,
            LocalClient: self._on_local_client, ClientStatusQuery: self._on_client_query,
            PingReply: self._on_ping_reply, LocalLinkState: self._on_local_link,
            LoadAverage: self._on_load, Shutdown: self._on_shutdown, WallClock: self._on_wall_clock,
            ReloadKeys: self._on_reload_keys,
        }

    # -- the surface -------------------------------------------------------------------------------
    def step(self, now_ms: int, event: object) -> list[object]:
        self._now_ms = now_ms
        handler = self._handlers.get(type(event))
        assert handler is not None, f"messaging core got an unknown input {event!r}"
        effects = handler(now_ms, event)
        effects.extend(self._on_time(now_ms))
        return effects

    def next_deadline_ms(self) -> Optional[int]:
        if self.stopping:
            return None
        liveness = self.liveness.next_deadline_ms()
        if liveness is not None and liveness < self.stall_grace_until_ms:
            liveness = self.stall_grace_until_ms
        deadlines = [self.next_heartbeat_ms, liveness]
        # (a peer with nothing missing has no deadline: asked after every input, and mostly so)
        deadlines += [r.next_deadline_ms() for name, r in self.receive.items()
                      if r.missing and self._is_alive(name)]
        present = [d for d in deadlines if d is not None]
        return min(present) if present else None

    # -- queries (read-only views for the shell's API) -----------------------------------------------
    def node_view(self, name: str) -> Optional[dict]:
        node = self.liveness.nodes.get(name)
        if node is None:
            return None
        status = self.local_status if name == self.config.node else node.status
        return {"name": node.name, "type": node.node_type, "status": status,
                "uuid": node.uuid.hex() if node.uuid else None, "generation": node.generation}

    def nodes_view(self) -> list[dict]:
        return [v for v in (self.node_view(name) for name in self.liveness.nodes) if v is not None]

    def links_view(self, name: Optional[str] = None) -> list[dict]:
        rows = []
        for node in self.liveness.nodes.values():
            if name is not None and node.name != name:
                continue
            for link in node.links.values():
                rows.append({"node": node.name, "link": link.name, "status": link.status or LINK_DEAD})
        return rows

    def auth_view(self) -> dict:
        """The keys as this node uses them (`cl_status auth`, `hb status --json`)."""
        key = self.keys.key(self.sending_key)
        return {"sending_key": self.sending_key, "method": key.method if key else None,
                "wanted_key": self.keys.active, "held": [k.index for k in self.keys.keys],
                "peers": {name: sorted(self._peer_holds(name) or ()) for name in self._live_peer_names()}}

    def count(self, name: str, amount: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + amount

    # -- time ----------------------------------------------------------------------------------------
    def _on_tick(self, now_ms: int, event: object) -> list[object]:
        return []

    def _on_wall_clock(self, now_ms: int, event: object) -> list[object]:
        assert isinstance(event, WallClock)
        self.wall_offset_ms = event.offset_ms
        return []

    @property
    def wall_s(self) -> int:
        """Whole wall-clock seconds now (the `ts` field of our packets)."""
        return (self._now_ms + self.wall_offset_ms) // 1000

    def _on_time(self, now_ms: int) -> list[object]:
        """Everything that is due at now_ms; runs after every input."""
        if self.stopping:
            return []
        effects: list[object] = []
        if now_ms - self.next_heartbeat_ms > self.config.warntime_ms:
            # we were stalled (SIGSTOP, swap, a long pause): what our peers sent meanwhile may not be
            # read yet, so judge nobody dead before they had a keepalive or two to be heard
            self.stall_grace_until_ms = now_ms + 2 * self.config.keepalive_ms
        was_up = self.liveness.comm_up
        if now_ms >= self.stall_grace_until_ms:
            for change in self.liveness.check(now_ms):
                effects.extend(self._liveness_change(change, now_ms))
        if not was_up and self.liveness.comm_up:
            effects.append(Log("info", "Comm_now_up(): updating status to active"))
            effects.extend(self._set_local_status(STATUS_ACTIVE, now_ms))
            self.next_heartbeat_ms = now_ms
        if now_ms >= self.next_heartbeat_ms:
            effects.extend(self._heartbeat(now_ms))
        # (only a peer with something missing can be due a retransmit request)
        for name, receive in [(n, r) for n, r in self.receive.items() if r.missing]:
            if self._is_alive(name):
                effects.extend(self._request_retransmits(name, receive, now_ms))
        effects.extend(self._drain_queue(now_ms))
        self._prune_queries(now_ms)
        return effects

    def _heartbeat(self, now_ms: int) -> list[object]:
        effects: list[object] = []
        if self.last_local_heartbeat_ms is not None:
            late_ms = now_ms - self.last_local_heartbeat_ms
            if late_ms > self.config.warntime_ms:
                effects.append(Log("warn", f"Late heartbeat: Node {self.config.node}: interval {late_ms} ms "
                                   "(this node was stalled)"))
                self.count("local_late_heartbeats")
        self.last_local_heartbeat_ms = now_ms
        if self.local_status == STATUS_INIT and self.history.highest_sent > 0:
            effects.extend(self._set_local_status(STATUS_UP, now_ms))
        effects.extend(self._choose_sending_key())
        fields = Fields().add("t", "status").add("st", self.local_status)
        fields.add("dt", format(self.config.deadtime_ms, "x")).add("protocol", "1")
        if keyring.advertises(self.keys):
            fields.add(keyring.KEYS_FIELD, keyring.advertisement(self.keys))
        effects.append(self._send_sequenced(fields, now_ms, load=True))
        pings = [a for node in self.liveness.nodes.values() if node.node_type == "ping" for a in node.addresses]
        if pings:
            effects.append(SendPing(tuple(pings)))
        self.next_heartbeat_ms = now_ms + self.config.keepalive_ms
        return effects

    def _set_local_status(self, status: str, now_ms: int) -> list[object]:
        if status == self.local_status:
            return []
        previous, self.local_status = self.local_status, status
        me = self.liveness.nodes[self.config.node]
        return [Log("info", f"Local status now set to: '{status}'"),
                NodeStatusChanged(self.config.node, previous, status, "normal", me.generation)]

    # -- sending -------------------------------------------------------------------------------------
    def _control_fields(self, fields: Fields, seq: Optional[int], load: bool) -> Fields:
        fields.add("src", self.config.node).add("srcuuid", self.config.uuid)
        if seq is not None:
            fields.add("seq", format(seq, "x"))
        fields.add("hg", format(self.config.generation, "x")).add("ts", format(max(0, self.wall_s), "x"))
        if load:
            fields.add("ld", self.loadavg)
        fields.add("ttl", str(self.config.hopfudge + len(self.config.nodes)))
        return fields

    def _frame(self, fields: Fields) -> bytes:
        """The datagram of a message with its control fields, with the current sending key."""
        key = self.keys.key(self.sending_key)
        assert key is not None, "the sending key is always one of self.keys"
        if not key.sealing:
            return pkt.encode(fields, key)
        self.seal_counter += 1
        return self.sealer.seal(key, self.config.node, self.config.generation, self.seal_counter,
                                pkt.encode_body(fields))

    def _send_sequenced(self, fields: Fields, now_ms: int, load: bool = False) -> Transmit:
        seq = self.history.allocate()
        fields = self._control_fields(fields, seq, load)
        data = self._frame(fields)
        self.history.record(seq, fields, now_ms)
        self.count("packets_sent")
        return Transmit(data)

    def _send_unsequenced(self, fields: Fields) -> Transmit:
        self.count("packets_sent")
        return Transmit(self._frame(self._control_fields(fields, None, False)))

    # -- keys ------------------------------------------------------------------------------------------
    def _live_peer_names(self) -> list[str]:
        return [n.name for n in self.liveness.peers() if n.node_type == "normal" and self._is_alive(n.name)]

    def _peer_holds(self, name: str) -> Optional[frozenset[int]]:
        advertised = self.peer_keys.get(name)
        if advertised is not None:
            return advertised
        signing = self.peer_signing.get(name)
        return frozenset((signing,)) if signing is not None else None

    def _choose_sending_key(self) -> list[object]:
        if len(self.keys.keys) == 1 and self.sending_key == self.keys.active:
            return []  # one key: nothing to choose
        held = [h for h in (self._peer_holds(name) for name in self._live_peer_names()) if h is not None]
        chosen = keyring.choose_sending_key(self.keys, self.sending_key, held)
        if chosen == self.sending_key:
            return []
        previous, self.sending_key = self.sending_key, chosen
        self.count("sending_key_changes")
        key = self.keys.key(chosen)
        method = key.method if key else "?"
        wait = "" if chosen == self.keys.active else f" (key {self.keys.active} waits until every live node holds it)"
        return [Log("info", f"sending with authkeys key {chosen} ({method}) instead of key {previous}{wait}")]

    def _on_reload_keys(self, now_ms: int, event: object) -> list[object]:
        assert isinstance(event, ReloadKeys)
        self.keys = event.keys
        self.sealer = seal.Sealer(event.keys, self.config.cluster)
        if self.keys.key(self.sending_key) is None:
            self.sending_key = self.keys.active
        effects: list[object] = [Log("info", f"authkeys reloaded: keys {keyring.advertisement(self.keys)}, want "
                                     f"to send with {self.keys.active}")]
        effects.extend(self._choose_sending_key())
        if self.sending_key != self.keys.active:
            effects.append(Log("info", f"still sending with key {self.sending_key}: key {self.keys.active} waits "
                               "until every live node holds it"))
        return effects

    def _dest_fields(self, msgtype: str, dest: str) -> Fields:
        fields = Fields().add("t", msgtype).add("dest", dest)
        node = self.liveness.nodes.get(dest)
        if node is not None and node.uuid:
            fields.add("destuuid", node.uuid)
        return fields

    def _flow_peers(self, now_ms: int) -> list[str]:
        history, deadtime = self.history, self.config.deadtime_ms
        return [n.name for n in self.liveness.peers() if self._is_alive(n.name) and n.flow_control
                and not history.stalled(n.name, now_ms, deadtime)]

    def _on_client_send(self, now_ms: int, event: object) -> list[object]:
        assert isinstance(event, ClientSend)
        if event.dest is not None and event.dest not in self.liveness.nodes:
            return [SendResult(event.request_id, f"unknown node {event.dest!r}")]
        if not event.msgtype or len(event.msgtype) > 64 or not event.msgtype.isprintable():
            return [SendResult(event.request_id, "bad message type")]
        if len(self.queue) >= self.config.max_queued_messages:
            self.count("send_queue_full")
            return [SendResult(event.request_id, "send queue full")]
        self.queue.append(event)
        return [SendResult(event.request_id)] + self._drain_queue(now_ms)

    def _drain_queue(self, now_ms: int) -> list[object]:
        if not self.queue:  # (after every input, and the queue is mostly empty)
            return []
        effects: list[object] = []
        peers = self._flow_peers(now_ms)
        while self.queue and self.history.window_open(peers, FLOW_WINDOW):
            effects.extend(self._send_client_message(self.queue.pop(0), now_ms))
        return effects

    def _send_client_message(self, event: ClientSend, now_ms: int) -> list[object]:
        size = max(1, self.config.fragment_bytes)
        chunks = [event.payload[i:i + size] for i in range(0, len(event.payload), size)] or [b""]
        effects: list[object] = []
        for index, chunk in enumerate(chunks, start=1):
            fields = Fields().add("t", CLIENT_PREFIX + event.msgtype)
            if event.dest is not None:
                fields.add("dest", event.dest)
            if len(chunks) > 1:
                fields.add("frag", f"{index}/{len(chunks)}")
            fields.add("data", chunk)
            effects.append(self._send_sequenced(fields, now_ms))
        self.count("client_messages_sent")
        return effects

    def _on_local_client(self, now_ms: int, event: object) -> list[object]:
        assert isinstance(event, LocalClient)
        if event.joined == (event.client in self.local_clients):
            return []
        (self.local_clients.add if event.joined else self.local_clients.discard)(event.client)
        status = "join" if event.joined else "leave"
        fields = Fields().add("t", "hbapi-clstat").add("cn", event.client).add("cs", status)
        return [ClientStatusChanged(self.config.node, event.client, status), self._send_sequenced(fields, now_ms)]

    def _on_client_query(self, now_ms: int, event: object) -> list[object]:
        assert isinstance(event, ClientStatusQuery)
        if event.node == self.config.node:
            status = "online" if event.client in self.local_clients else "offline"
            return [ClientStatusAnswer(event.query_id, event.node, event.client, status)]
        if event.node not in self.liveness.nodes or not self._is_alive(event.node):
            return [ClientStatusAnswer(event.query_id, event.node, event.client, None)]
        self.pending_queries[event.query_id] = (now_ms, event.node, event.client)
        fields = self._dest_fields("query-cstatus", event.node).add("cn", event.client).add("qid", str(event.query_id))
        return [self._send_sequenced(fields, now_ms)]

    def _prune_queries(self, now_ms: int) -> None:
        for query_id, (asked_ms, _, _) in list(self.pending_queries.items()):
            if now_ms - asked_ms > PENDING_QUERY_MAX_AGE_MS:
                del self.pending_queries[query_id]

    def _on_ping_reply(self, now_ms: int, event: object) -> list[object]:
        assert isinstance(event, PingReply)
        effects: list[object] = []
        for node in self.liveness.nodes.values():
            if node.node_type == "ping" and event.address in node.addresses:
                for change in self.liveness.ping_answered(node, now_ms):
                    effects.extend(self._liveness_change(change, now_ms))
        return effects

    def _on_local_link(self, now_ms: int, event: object) -> list[object]:
        assert isinstance(event, LocalLinkState)
        me = self.liveness.nodes[self.config.node]
        link = me.links.get(event.link)
        if link is None:
            return []
        status = LINK_UP if event.up else LINK_DEAD
        if link.status == status:
            return []
        link.status = status
        return self._liveness_change(LinkChange(self.config.node, event.link, status), now_ms)

    def _on_load(self, now_ms: int, event: object) -> list[object]:
        assert isinstance(event, LoadAverage)
        self.loadavg = event.text.strip()[:64]
        return []

    def _on_shutdown(self, now_ms: int, event: object) -> list[object]:
        effects: list[object] = [self._send_sequenced(Fields().add("t", "shutdone"), now_ms)]
        effects.extend(self._set_local_status(STATUS_DEAD, now_ms))
        self.stopping = True
        return effects

    # -- receiving -----------------------------------------------------------------------------------
    def _drop(self, reason: str, now_ms: int, detail: str = "") -> list[object]:
        """Count a dropped packet; log at most once per DROP_LOG_INTERVAL_MS per reason."""
        assert reason in DROP_REASONS, f"drop reason {reason!r} is not in DROP_REASONS"
        self.count(f"dropped_{reason}")
        last_ms, suppressed = self._drop_log.get(reason, (-DROP_LOG_INTERVAL_MS, 0))
        if now_ms - last_ms < DROP_LOG_INTERVAL_MS:
            self._drop_log[reason] = (last_ms, suppressed + 1)
            return []
        self._drop_log[reason] = (now_ms, 0)
        more = f" ({suppressed} more since last report)" if suppressed else ""
        level = "warn" if reason in WARN_DROPS else "debug"
        return [Log(level, f"dropped packet: {reason}{': ' + detail if detail else ''}{more}")]

    def _on_packet(self, now_ms: int, event: object) -> list[object]:
        assert isinstance(event, PacketIn)
        self.count("packets_received")
        opened: Optional[seal.Opened] = None
        try:
            if seal.is_sealed(event.data):
                opened = self.sealer.open(event.data, self._seal_candidates())
                fields, key_index = opened.fields, opened.key_index
            else:
                decoded = self.decode(event.data, self.keys)
                fields, key_index = decoded.fields, decoded.key_index
        except pkt.PacketError as exc:
            return self._drop(exc.reason, now_ms, f"on {event.link}: {exc}")
        src, msgtype = fields.text("src"), fields.text("t")
        if not src or not msgtype:
            return self._drop("malformed", now_ms, "no src or t field")
        src = src.lower()
        if opened is not None and src != opened.sender:
            return self._drop("malformed", now_ms, f"sealed by {opened.sender}'s key but claims src {src}")
        if src == self.config.node:
            self.count("own_packets")
            return []
        node = self._known_node(src)
        if node is None:
            return self._drop("unknown_node", now_ms, f"from {src!r} on {event.link}")
        generation = _hex(fields.text("hg"))
        if generation is None or (opened is not None and opened.generation != generation):
            return self._drop("malformed", now_ms, f"bad hg from {src}")
        effects: list[object] = []
        if generation < node.generation:
            return self._drop("old_generation", now_ms, f"{src} generation {generation} < {node.generation}")
        refused = self._replay_check(src, event.link, generation, fields, opened, now_ms)
        if refused is not None:
            return self._drop(refused[0], now_ms, refused[1])
        if generation > node.generation:
            effects.extend(self._new_generation(node, generation, fields, now_ms))
        self.peer_signing[src] = key_index
        seq_text = fields.text("seq")
        if seq_text is None:
            if not msgtype.startswith("NS_"):
                return effects + self._drop("malformed", now_ms, f"{msgtype} without seq from {src}")
            return effects + self._on_unsequenced(node, msgtype, fields, now_ms)
        seq = _hex(seq_text)
        if seq is None or seq == 0:
            return effects + self._drop("malformed", now_ms, f"bad seq from {src}")
        if opened is None:
            reason = self._window(src, event.link, generation, False).check_and_mark(seq)
            if reason is not None:
                # a signed packet's seq seen again on the same link: a replay, or a retransmission
                # made for another node; either way it changes nothing (not even link liveness)
                return effects + self._drop("duplicate" if reason == "replayed" else reason, now_ms,
                                            f"seq {seq} from {src} on {event.link}")
        receive = self.receive[src]
        verdict = receive.accept(seq, fields, now_ms, self.rng)
        if not verdict.accepted:
            self.count("duplicates")
            if seq + RECENT_DUPLICATE_WINDOW >= receive.highest:
                for change in self.liveness.heard(node, event.link, now_ms, fresh=False):
                    effects.extend(self._liveness_change(change, now_ms))
            return effects
        if verdict.lost_count:
            effects.append(Log("warn", f"lost {verdict.lost_count} messages from {src} (gap too large to recover)"))
            self.count("messages_lost", verdict.lost_count)
        if verdict.reason == "recovered":
            self.count("retransmits_received")
        for change in self.liveness.heard(node, event.link, now_ms, fresh=True):
            effects.extend(self._liveness_change(change, now_ms))
        if msgtype == "status":
            effects.extend(self._on_status(node, fields, now_ms))
        for released in verdict.released:
            effects.extend(self._on_released(node, released, now_ms))
        acked = receive.ack_due()
        if acked is not None:
            effects.append(self._send_ack(node, acked))
        return effects

    def _seal_candidates(self) -> list[str]:
        return [n.name for n in self.liveness.nodes.values() if n.node_type == "normal"]

    def _window(self, src: str, link: str, generation: int, sealed: bool) -> ReplayWindow:
        held = self.windows.get((src, link, sealed))
        if held is None or held[0] != generation:
            held = self.windows[(src, link, sealed)] = (generation, ReplayWindow())
        return held[1]

    def _replay_check(self, src: str, link: str, generation: int, fields: Fields, opened: Optional[seal.Opened],
                      now_ms: int) -> Optional[tuple[str, str]]:
        """(reason, detail) when an authentic packet must not act because it is a replay
        (messaging.replay); sealed packets are also recorded in their link's window here."""
        if self.config.max_clock_skew_ms > 0:
            ts = _hex(fields.text("ts"))
            if ts is None:
                return "malformed", f"bad ts from {src}"
            if not timestamp_ok(ts, now_ms + self.wall_offset_ms, self.config.max_clock_skew_ms):
                skew_s = ts - (now_ms + self.wall_offset_ms) // 1000
                return "clock_skew", f"{src} ts is {skew_s:+d} s from our clock (max_clock_skew " \
                                     f"{self.config.max_clock_skew_ms} ms) on {link}"
        if opened is not None:
            reason = self._window(src, link, generation, True).check_and_mark(opened.counter)
            if reason is not None:
                return reason, f"counter {opened.counter} from {src} on {link}"
        return None

    def _known_node(self, src: str) -> Optional[NodeState]:
        node = self.liveness.nodes.get(src)
        if node is None and self.config.autojoin in ("any", "other"):
            node = self.liveness.add_node(src)
        if node is None or node.node_type != "normal":
            return None
        if src not in self.receive:
            self.receive[src] = PeerReceive(node.generation, self.config.max_rexmit_delay_ms,
                                            ack_trigger=self.rng.randint(0, 9))
        return node

    def _new_generation(self, node: NodeState, generation: int, fields: Fields, now_ms: int) -> list[object]:
        effects: list[object] = []
        old = self.receive[node.name]
        restarted = bool(node.generation)
        if restarted:
            released, lost = old.flush()
            for item in released:
                effects.extend(self._on_released(node, item, now_ms))
            effects.append(Log("info", f"Heartbeat restart on node {node.name} (generation {generation})"))
            self.count("peer_restarts")
        node.generation = generation
        uuid = fields.blob("srcuuid")
        if uuid:
            node.uuid = uuid
        self.partial.pop(node.name, None)
        self.peer_keys.pop(node.name, None)
        self.history.forget_peer(node.name)
        self.history.restart_peer(node.name)
        self.receive[node.name] = PeerReceive(generation, self.config.max_rexmit_delay_ms,
                                              ack_trigger=self.rng.randint(0, 9))
        if restarted and node.status not in (STATUS_DEAD, STATUS_INIT) and node.node_type == "normal":
            # A node restarted within its deadtime may come back with the status it had (its
            # first heartbeats already say active): no status change, yet its clients' peers are
            # new lives. Say so, with the new generation: ccm drops what it kept of the old life,
            # crmd dates the life a fencing notice may concern (crmd _life_predates_fencing).
            effects.append(NodeStatusChanged(node.name, node.status, node.status, node.node_type, generation))
        return effects

    def _on_status(self, node: NodeState, fields: Fields, now_ms: int) -> list[object]:
        advertised = keyring.parse_advertisement(fields.text(keyring.KEYS_FIELD))
        if advertised is None:
            self.peer_keys.pop(node.name, None)
        else:
            self.peer_keys[node.name] = advertised
        status = fields.text("st") or ""
        dt = _hex(fields.text("dt"))
        effects: list[object] = []
        for change in self.liveness.status_received(node, status, dt, fields.text("protocol") == "1", now_ms):
            effects.extend(self._liveness_change(change, now_ms))
        return effects

    def _on_unsequenced(self, node: NodeState, msgtype: str, fields: Fields, now_ms: int) -> list[object]:
        dest = fields.text("dest")
        if dest is not None and dest.lower() != self.config.node:
            return []
        receive = self.receive[node.name]
        if msgtype == "NS_rexmit":
            first, last = _dec(fields.text("firstseq")), _dec(fields.text("lastseq"))
            if first is None or last is None:
                return self._drop("malformed", now_ms, "NS_rexmit without range")
            resend, nak = plan_retransmit(self.history, first, last, now_ms,
                                          max(0, self.config.max_rexmit_delay_ms - 10))
            self.count("retransmits_sent", len(resend))
            effects: list[object] = [Transmit(self._frame(fields)) for fields in resend]
            if nak is not None:
                nak_fields = self._dest_fields("NS_nak_rexmit", node.name).add("firstseq", format(nak[0], "x"))
                effects.append(self._send_unsequenced(nak_fields.add("info", nak[1])))
                self.count("naks_sent")
            return effects
        if msgtype == "NS_nak_rexmit":
            seq = _hex(fields.text("firstseq"))
            if seq is None:
                return []
            self.count("naks_received")
            effects = [Log("warn", f"{node.name} cannot retransmit seq {seq}: {fields.text('info') or 'no reason'}")]
            for item in receive.give_up(seq):
                effects.extend(self._on_released(node, item, now_ms))
            self.count("messages_lost")
            return effects
        if msgtype == "NS_ackmsg":
            ackseq = _hex(fields.text("ackseq"))
            if ackseq is not None:
                self.history.ack(node.name, ackseq)
            return []
        self.count("ignored_types")
        return []

    def _send_ack(self, node: NodeState, seq: int) -> Transmit:
        return self._send_unsequenced(self._dest_fields("NS_ackmsg", node.name).add("ackseq", format(seq, "x")))

    def _request_retransmits(self, name: str, receive: PeerReceive, now_ms: int) -> list[object]:
        deadline = receive.next_deadline_ms()
        if deadline is None or deadline > now_ms:
            return []
        ranges, give_up = receive.due_requests(now_ms)
        effects: list[object] = []
        for first, last in ranges:
            fields = self._dest_fields("NS_rexmit", name).add("firstseq", str(first)).add("lastseq", str(last))
            effects.append(self._send_unsequenced(fields))
            self.count("retransmit_requests")
        node = self.liveness.nodes[name]
        for seq in give_up:
            effects.append(Log("warn", f"giving up on seq {seq} from {name}"))
            self.count("messages_lost")
            for item in receive.give_up(seq):
                effects.extend(self._on_released(node, item, now_ms))
        return effects

    # -- released (in order) messages ----------------------------------------------------------------
    def _on_released(self, node: NodeState, fields: object, now_ms: int) -> list[object]:
        assert isinstance(fields, Fields)
        msgtype = fields.text("t") or ""
        dest = fields.text("dest")
        for_me = dest is None or dest.lower() == self.config.node
        if msgtype.startswith(CLIENT_PREFIX):
            return self._client_message(node, msgtype[len(CLIENT_PREFIX):], dest, fields, for_me)
        if not for_me:
            return []
        if msgtype == "shutdone":
            return self._peer_shutdown(node, now_ms)
        if msgtype == "hbapi-clstat":
            client, status = fields.text("cn"), fields.text("cs")
            if client and status in ("join", "leave"):
                self.remote_clients.setdefault(node.name, {})[client] = status
                return [ClientStatusChanged(node.name, client, status)]
            return []
        if msgtype == "query-cstatus":
            client = fields.text("cn") or ""
            status = "online" if client in self.local_clients else "offline"
            reply = self._dest_fields("respond-cstatus", node.name).add("cn", client).add("cs", status)
            return [self._send_sequenced(reply.add("qid", fields.text("qid") or "0"), now_ms)]
        if msgtype == "respond-cstatus":
            query_id = _dec(fields.text("qid"))
            pending = self.pending_queries.pop(query_id, None) if query_id is not None else None
            if pending is None:
                return []
            return [ClientStatusAnswer(query_id, node.name, pending[2], fields.text("cs"))]  # type: ignore[arg-type]
        if msgtype == "reqnodes":
            names = "".join(f"{n.name} " for n in self.liveness.nodes.values() if n.node_type == "normal")
            reply = self._dest_fields("repnodes", node.name).add("nodelist", names).add("delnodelist", " ")
            return [self._send_sequenced(reply, now_ms)]
        return []

    def _client_message(self, node: NodeState, msgtype: str, dest: Optional[str], fields: Fields,
                        for_me: bool) -> list[object]:
        data = fields.blob("data") or b""
        seq = _hex(fields.text("seq")) or 0
        frag = fields.text("frag")
        if frag is None:
            self.partial.pop(node.name, None)
            if not for_me:
                return []
            self.count("messages_delivered")
            return [Deliver(msgtype, node.name, data, dest, seq, node.generation)]
        try:
            index_text, total_text = frag.split("/", 1)
            index, total = int(index_text), int(total_text)
        except ValueError:
            self.count("dropped_bad_fragment")
            return []
        current = self.partial.get(node.name)
        if index == 1:
            current = (msgtype, dest, total, [data])
        elif current is None or current[0] != msgtype or current[2] != total or len(current[3]) != index - 1:
            self.partial.pop(node.name, None)
            self.count("dropped_incomplete_fragments")
            return []
        else:
            current[3].append(data)
        if index < total:
            self.partial[node.name] = current
            return []
        self.partial.pop(node.name, None)
        if not for_me:
            return []
        self.count("messages_delivered")
        return [Deliver(msgtype, node.name, b"".join(current[3]), dest, seq, node.generation)]

    def _peer_shutdown(self, node: NodeState, now_ms: int) -> list[object]:
        effects: list[object] = [Log("info", f"Received shutdown notice from '{node.name}'.")]
        if node.status != STATUS_DEAD:
            previous, node.status = node.status, STATUS_DEAD
            node.last_status_ms = None
            effects.extend(self._liveness_change(NodeChange(node.name, previous, STATUS_DEAD), now_ms))
        for link in node.links.values():
            if link.status == LINK_UP:
                link.status = LINK_DEAD
                effects.append(LinkStatusChanged(node.name, link.name, LINK_DEAD))
        return effects

    # -- liveness changes -> effects -----------------------------------------------------------------
    def _is_alive(self, name: str) -> bool:
        node = self.liveness.nodes.get(name)
        return node is not None and node.ever_heard and node.status != STATUS_DEAD

    def _liveness_change(self, change: object, now_ms: int) -> list[object]:
        if isinstance(change, LinkChange):
            word = "up" if change.status == LINK_UP else "dead"
            return [Log("info", f"Link {change.node}:{change.link} {word}."),
                    LinkStatusChanged(change.node, change.link, change.status)]
        if isinstance(change, LateHeartbeat):
            self.count("late_heartbeats")
            return [Log("warn", f"Late heartbeat: Node {change.node}: interval {change.interval_ms} ms")]
        assert isinstance(change, NodeChange)
        node = self.liveness.nodes[change.node]
        effects: list[object] = []
        if change.status == STATUS_DEAD:
            effects.append(Log("warn", f"node {change.node}: is dead"))
            receive = self.receive.get(change.node)
            if receive is not None:
                released, lost = receive.flush()
                for item in released:
                    effects.extend(self._on_released(node, item, now_ms))
                if lost:
                    self.count("messages_lost", lost)
            self.partial.pop(change.node, None)
            self.history.forget_peer(change.node)
            for client in list(self.remote_clients.get(change.node, {})):
                effects.append(ClientStatusChanged(change.node, client, "leave"))
            self.remote_clients.pop(change.node, None)
        elif change.previous == STATUS_DEAD and node.node_type == "normal":
            effects.append(Log("info", f"Cluster node {change.node} returning after partition."))
            self.history.restart_peer(change.node)
        else:
            effects.append(Log("info", f"Status update for node {change.node}: status {change.status}"))
            if change.previous == STATUS_INIT and node.node_type == "normal":
                self.history.restart_peer(change.node)
        effects.append(NodeStatusChanged(change.node, change.previous, change.status, node.node_type, node.generation))
        return effects

