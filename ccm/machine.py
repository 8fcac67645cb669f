"""The membership core: turns what the messaging layer hears into one view that every member
agreed to, and says whether that view has quorum. Sans-I/O: `step(now_ms, input) -> effects`,
`next_deadline_ms()`; inputs and effects in `ccm.events`, the wire format in `ccm.protocol`.

Theory of operation (docs/architecture.md, "Membership (ccm)", has the proofs)
-------------------------------------------------------------------------------
State exchange. Every node broadcasts its whole state (`protocol.State`) when it changes and every
beat (keepalive): incarnation, installed view, its proposal (as a leader), the proposal it
accepts (ack), the connectivity rows it knows, and lease promises.

Groups. A node *hears* a peer when the messaging layer says it is alive and a state of the peer's
current ccm incarnation arrived within the last two deadtimes (a hung ccm on a live node is
dropped too), unless the cluster fenced that incarnation (`PeerFenced`: it is off, so it is not
heard and what was promised to it binds nobody). From all rows, every node computes the same split of the nodes
into cliques (`ccm.graph.partition`); its group's first node in rank order is the group leader.

Troubles. A state from a peer that comes more than two beats after the one before it was held
up: on messaging's in-order delivery that is a loss and its resend (or a hung peer). The node
lists such peers in its row for `troubled_ms` (four deadtimes: longer than the two it takes a
stalled link to drop out of the rows), and the partition breaks ties among the least connected
nodes against the most troubled one, so a lossy node is split off rather than its healthy peer
(`ccm.graph`).

Two-phase agreement. The leader proposes (instance, members) = its group. A member accepts (acks)
a proposal only if the members are exactly its own group and the instance is newer than its
view. When every member acks, the leader installs the view (commit) and its next state carries
it; a member installs a view it sees installed elsewhere only if it acked that very instance. An
instance is never proposed twice: instance = k * (configured nodes + 1) + leader slot, above
every instance seen, and below a floor persisted before it is sent. The floor is reserved ahead
(`INSTANCE_RESERVE_ROUNDS` rounds of the modulus at a time) so that a failover's view pays no
fsync: only one proposal in that many writes the state file, and a restarted node starts above
whatever it may have proposed. Same instance => same members (agreement); a view contains
exactly the nodes that acked it (validity).

Quorum by promises (leases). A node counts the votes of its view's members only while it holds a
fresh *promise* from each: member m echoes the target's own timestamp ts, tagged with a view or
proposal instance, meaning "I take part in no view that excludes you until your ts + lease".
Before a node issues a promise under a newer tag, every promise it gave under an older tag to a
node the newer tag excludes must have run out (and the other way round), and its own vote in a
view waits the same way. A node that starts stays quiet (no promises, no own vote) until every
promise of its previous incarnation has run out, so it cannot break them. Hence two nodes that
both report quorum never hold views where the newer excludes the holder of the older: at most one
quorate partition, even with one-way links and hung nodes.

How long "quiet" is (`start_quiet_ms`). Before a promise leaves, the node has persisted a
*horizon* above its expiry (`PromiseHorizon`, written about once per lease): the boot it was
given in, and the time on that boot's monotonic clock and on the wall clock. A new incarnation
- on the same boot waits until the horizon (the monotonic clock is the same clock);
- after a reboot waits while either the time since boot is under one lease (the old promises
  were given before the boot) or the wall clock is before the horizon: it waits unless both say
  the promises ran out, so a wrong wall clock alone cannot make it start too early;
- that has never run (no earlier incarnation: the state directory holds none) has nothing to
  keep and is not quiet at all: a new cluster forms with quorum at once;
- with no horizon recorded but an earlier incarnation (state from an older version, or a lost
  file) waits a whole lease, as before there were horizons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from ccm import graph, protocol
from ccm.events import (Broadcast, Log, PeerClient, PeerFenced, PeerMessage, PeerStatus, Persist, PromiseHorizon,
                        QuorumChanged, Tick, ViewChanged, ViewInfo)
from ccm.protocol import Member, Row
from ccm.quorum import QuorumPolicy

Members = tuple[Member, ...]
ALIVE_STATUSES = ("up", "active")
FULL_ROWS_EVERY = 5  # beats: every few beats a state carries all rows (repairs what was missed)
# proposals between two writes of the instance floor: the floor is persisted this many rounds of
# the modulus ahead of the instance proposed, so most views (a failover's) wait for no fsync
INSTANCE_RESERVE_ROUNDS = 64


@dataclass(frozen=True)
class CcmConfig:
    node: str
    nodes: tuple[str, ...]  # configured nodes (ha.cf order): votes and leader rank
    keepalive_ms: int
    deadtime_ms: int
    incarnation: int  # increases with every start of this node's ccm (persisted by the shell)
    instance_floor: int = 0  # the highest instance this node ever proposed (persisted)
    generation: int = 0  # the messaging generation, reported for information
    two_node: Optional[bool] = None  # None: on when exactly two nodes are configured
    # a changed state is sent this much later, with whatever else changed; a state that carries a
    # step of the agreement (a new proposal, an ack, a commit) goes at once: every failover's view
    # waits for three of them in a row
    coalesce_ms: int = 3
    quiet_ms: Optional[int] = None  # quiet at start (start_quiet_ms); None: one lease + margin

    @property
    def margin_ms(self) -> int:
        """Slack for clock rate differences and the messaging layer's timer granularity."""
        return 2 + self.deadtime_ms // 50

    @property
    def lease_ms(self) -> int:
        """How long a promise lasts after the target's timestamp it echoes. lease + margin stays
        below deadtime, so promises to a node the messaging layer declared dead have always run
        out: excluding a dead node never waits."""
        return max(self.keepalive_ms, self.deadtime_ms - 2 * self.margin_ms)


def start_quiet_ms(record: Optional[tuple[str, int, int]], boot_id: str, now_ms: int, wall_now_ms: int,
                   full_quiet_ms: int, ever_ran: bool) -> int:
    """How long a new incarnation stays quiet (no promises, no own vote): until no promise of
    an earlier one can be relied on (the module docstring). `record`: the last horizon persisted,
    (boot id, monotonic ms, wall ms); `now_ms`: the monotonic clock, which must count from boot
    (the daemons' loop clock, core.clock.monotonic_ms, is CLOCK_MONOTONIC: it does; a clock with
    another origin would leave only the wall clock to decide after a reboot)."""
    if record is None:
        return full_quiet_ms if ever_ran else 0
    boot, until_ms, wall_until_ms = record
    if boot and boot == boot_id:
        left = until_ms - now_ms
    else:  # another boot: its promises came before this boot began, now_ms ago at least
        left = max(full_quiet_ms - now_ms, wall_until_ms - wall_now_ms)
    return max(0, min(left, full_quiet_ms))


@dataclass
class Peer:
    incarnation: int
    generation: int
    view_instance: int = 0
    proposal_instance: int = 0
    proposal_members: Members = ()
    ack_instance: int = 0
    ts_ms: int = -1  # the peer's clock in its newest state
    received_ms: int = 0  # our clock when that state arrived


@dataclass
class Issued:
    members: frozenset  # the tag's members
    expiry: dict = field(default_factory=dict)  # target member -> our time its promise surely ran out


class CcmMachine:
    def __init__(self, config: CcmConfig, now_ms: int,
                 decode: Callable[[bytes], protocol.State] = protocol.decode) -> None:
        """decode: the state decoder (the simulator shares one that decodes each broadcast once)."""
        self.config = config
        self.decode = decode
        self.me = config.node
        self.inc = config.incarnation
        self.self_member: Member = (self.me, self.inc)
        order = {name: i for i, name in enumerate(config.nodes)}
        self.key = graph.rank_key(order)
        self.modulus = len(config.nodes) + 1
        self.slot = order.get(self.me, len(config.nodes))
        self.policy = QuorumPolicy.for_nodes(config.nodes, config.two_node)
        self.lease_ms = config.lease_ms
        self.margin_ms = config.margin_ms
        self.beat_ms = config.keepalive_ms
        self.stale_ms = 2 * config.deadtime_ms  # a peer whose ccm sent nothing this long is not heard
        self.late_ms = 2 * config.keepalive_ms  # a state that came this long after the one before came late
        self.troubled_ms = 4 * config.deadtime_ms  # how long a late state marks its sender troubled
        self.troubled_until: dict[str, int] = {}  # peer -> our time its last late state stops counting
        full_quiet_ms = self.lease_ms + self.margin_ms
        quiet_ms = full_quiet_ms if config.quiet_ms is None else max(0, min(config.quiet_ms, full_quiet_ms))
        self.quiet_until_ms = now_ms + quiet_ms
        self.horizon_ms = 0  # every promise given so far is relied on at most until this (persisted)
        self.proposed_max = 0  # the highest instance this incarnation proposed (at most the floor)
        self.alive: dict[str, int] = {}  # messaging: node -> generation, while not dead
        self.peers: dict[str, Peer] = {}
        # node -> (the newest of its incarnations the cluster fenced, its messaging generation
        # then), until messaging reports it dead or in another generation: its ccm incarnations
        # restart from 1 if its state directory was lost (a reinstall, the lab's reset)
        self.fenced: dict[str, tuple[int, int]] = {}
        self.rows: dict[str, Row] = {self.me: (self.inc, 0, {}, ())}
        self._groups_dirty = True
        self.group: Members = (self.self_member,)
        self.view: Optional[tuple[int, Members]] = None
        self.view_set: frozenset = frozenset()
        self.proposal: Optional[tuple[int, Members]] = None  # ours, as leader
        self.pending: Optional[tuple[int, Members]] = None  # our leader's, that we mean to accept
        self.ack = 0
        self.acked: dict[int, Members] = {}
        self.max_instance = config.instance_floor
        self.persisted = config.instance_floor
        self.issued: dict[int, Issued] = {}
        self.received: dict[tuple[str, int], int] = {}  # (granter, tag) -> our ts it echoed
        self.relay_in: dict[tuple[str, str], int] = {}  # (granter, target) -> ts, for our proposal
        self.relay_out: list[protocol.Promise] = []
        self.seen_all = False
        self.quorate = False
        self.votes = 0
        self.votes_needed = self.policy.votes_needed(False)
        self.next_beat_ms = now_ms
        self.send_at_ms: Optional[int] = None
        self.wake_ms: Optional[int] = None
        self.dirty = True
        self.urgent = False  # the state to send carries a step of the agreement: no coalescing
        self.rows_sent: dict[str, tuple[int, int]] = {}  # origin -> (inc, version) last sent
        self.full_rows = True
        self.beats = 0
        self.counters: dict[str, int] = {}
        self._effects: list[object] = []

    # -- the surface -------------------------------------------------------------------------------
    def step(self, now_ms: int, event: object) -> list[object]:
        self._effects = effects = []
        kind = type(event)
        if kind is PeerMessage:
            self._on_message(now_ms, event)  # type: ignore[arg-type]
        elif kind is PeerStatus:
            self._on_status(event)  # type: ignore[arg-type]
        elif kind is PeerClient:
            self._on_client(event)  # type: ignore[arg-type]
        elif kind is PeerFenced:
            self._on_fenced(event)  # type: ignore[arg-type]
        else:
            assert kind is Tick, f"ccm core got an unknown input {event!r}"
        self._evaluate(now_ms)
        return effects

    def next_deadline_ms(self) -> int:
        deadline = self.next_beat_ms
        if self.send_at_ms is not None and self.send_at_ms < deadline:
            deadline = self.send_at_ms
        if self.wake_ms is not None and self.wake_ms < deadline:
            deadline = self.wake_ms
        return deadline

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    # -- queries -----------------------------------------------------------------------------------
    def view_info(self) -> Optional[ViewInfo]:
        if self.view is None:
            return None
        instance, members = self.view
        return ViewInfo(instance, tuple(m[0] for m in members), tuple(m[1] for m in members), members[0][0],
                        self.quorate, self.me, self.inc)

    def peer_table(self) -> list[dict]:
        """Per configured or known node: what this node knows (for `hb membership`)."""
        names = sorted(set(self.config.nodes) | set(self.rows), key=self.key)
        members = dict(self.view[1]) if self.view else {}
        out = []
        for name in names:
            row = self.rows.get(name)
            out.append({"name": name, "member": name in members, "incarnation": members.get(name, row[0] if row else None),
                        "heard": name == self.me or name in self.rows[self.me][2],
                        "late": name in self.troubled_until,
                        "messaging": "self" if name == self.me else ("alive" if name in self.alive else "dead"),
                        "votes": self.policy.vote(name)})
        return out

    # -- inputs ------------------------------------------------------------------------------------
    def _on_status(self, event: PeerStatus) -> None:
        if event.node == self.me:
            return
        alive = event.status in ALIVE_STATUSES or (event.status == "init" and event.generation > 0)
        fenced = self.fenced.get(event.node)
        if fenced is not None and (not alive or event.generation != fenced[1]):
            # the fenced life is over for messaging too (dead, or a new start): whatever comes
            # now is a new life, whatever its incarnation
            del self.fenced[event.node]
        if not alive:
            if self.alive.pop(event.node, None) is not None:
                self.peers.pop(event.node, None)
            return
        previous = self.alive.get(event.node)
        self.alive[event.node] = event.generation
        peer = self.peers.get(event.node)
        if peer is not None and peer.generation < event.generation:
            del self.peers[event.node]  # its state came from before a restart
        if previous is None:
            self.dirty = self.full_rows = True  # it missed what we sent while it was away

    def _on_client(self, event: PeerClient) -> None:
        if event.client == "ccm" and event.status == "leave" and event.node != self.me:
            # its ccm stopped (signed off or died): it reports no quorum any more, so what we promised
            # it binds nobody, and a view without it need not wait for those promises to run out
            peer = self.peers.pop(event.node, None)
            if peer is not None:
                gone = (event.node, peer.incarnation)
                for issued in self.issued.values():
                    issued.expiry.pop(gone, None)

    def _on_fenced(self, event: PeerFenced) -> None:
        """A fenced life is not waited for: without this, the survivors would go on hearing it
        until its last state grew stale (two deadtimes) and keep their promises to it until they
        ran out, so a DC fenced while still a member (its own stop failed, an operator's
        fencing) would be replaced only then. It cannot use what we promised it: it is off."""
        peer = self.peers.get(event.node)
        known = self.fenced.get(event.node)
        if event.node == self.me or event.node not in self.alive or \
                (known is not None and known[0] >= event.incarnation) or \
                (peer is not None and peer.incarnation > event.incarnation):
            return  # (dead for messaging already, or a life older than the one heard)
        self.fenced[event.node] = (event.incarnation, self.alive[event.node])
        self.count("peers_fenced")
        if peer is not None:
            del self.peers[event.node]
        for issued in self.issued.values():
            for member in [m for m in issued.expiry if m[0] == event.node and m[1] <= event.incarnation]:
                del issued.expiry[member]

    def _on_message(self, now_ms: int, event: PeerMessage) -> None:
        source = event.source
        if source == self.me:
            return
        try:
            state = self.decode(event.payload)
        except protocol.ProtocolError as exc:
            self.count("bad_messages")
            self._effects.append(Log("warn", f"dropped ccm message from {source}: {exc}"))
            return
        peer = self.peers.get(source)
        if peer is not None and state.incarnation < peer.incarnation:
            self.count("old_incarnation_messages")
            return
        fenced = self.fenced.get(source)
        if fenced is not None and state.incarnation <= fenced[0]:
            self.count("fenced_incarnation_messages")  # sent before it was fenced, arriving late
            return
        if peer is None or state.incarnation > peer.incarnation:
            peer = self.peers[source] = Peer(state.incarnation, event.generation)
        peer.generation = max(peer.generation, event.generation)
        peer.view_instance = state.view_instance
        peer.proposal_instance = state.proposal_instance
        peer.proposal_members = state.proposal_members
        peer.ack_instance = state.ack_instance
        if state.ts_ms > peer.ts_ms:
            if peer.ts_ms >= 0 and now_ms - peer.received_ms > self.late_ms:
                self.troubled_until[source] = now_ms + self.troubled_ms
                self.count("late_states")
            peer.ts_ms, peer.received_ms = state.ts_ms, now_ms
        for origin, row in state.rows.items():
            if origin == self.me:
                continue
            current = self.rows.get(origin)
            if current is None or (row[0], row[1]) > (current[0], current[1]):
                self.rows[origin] = row
                self._groups_dirty = True
        self.max_instance = max(self.max_instance, state.max_instance, state.view_instance, state.proposal_instance)
        proposal = self.proposal
        for granter, target, tag, ts in state.promises:
            if target == self.me and granter != self.me and ts <= now_ms:
                key = (granter, tag)
                if self.received.get(key, -1) < ts:
                    self.received[key] = ts
            if proposal is not None and tag == proposal[0] and granter == source:
                key2 = (granter, target)
                if self.relay_in.get(key2, -1) < ts:
                    self.relay_in[key2] = ts
        instance = state.view_instance
        if instance and (self.view is None or instance > self.view[0]) and instance in self.acked:
            members = state.view_members
            if self.acked[instance] == members:
                self._install(instance, members, now_ms, f"committed by {members[0][0]}")

    # -- deciding ----------------------------------------------------------------------------------
    def _evaluate(self, now_ms: int) -> None:
        self.wake_ms = None
        hears = {}
        stale_ms = self.stale_ms
        alive = self.alive
        first_stale: Optional[int] = None
        for name, peer in self.peers.items():
            if name in alive:
                fresh_until = peer.received_ms + stale_ms
                if now_ms <= fresh_until:
                    hears[name] = peer.incarnation
                    if first_stale is None or fresh_until < first_stale:
                        first_stale = fresh_until
        if first_stale is not None:
            self.wake_ms = first_stale + 1
        troubled: tuple[str, ...] = ()
        if self.troubled_until:
            for name, until in list(self.troubled_until.items()):
                if until <= now_ms:
                    del self.troubled_until[name]
                else:
                    self._wake(until)
            troubled = tuple(sorted(self.troubled_until, key=self.key))
        inc, version, row, row_troubled = self.rows[self.me]
        if hears != row or troubled != row_troubled:
            self.rows[self.me] = (inc, version + 1, dict(sorted(hears.items())), troubled)
            self._groups_dirty = True
            self.dirty = True
        if self._groups_dirty:
            self._groups_dirty = False
            self.group = graph.group_of(graph.partition(self.rows, self.key), self.me)
        if self.group[0][0] == self.me:
            self._lead(now_ms)
        else:
            self._follow(now_ms)
        self._update_quorum(now_ms)
        if self.dirty and (self.send_at_ms is None or self.urgent):
            self.send_at_ms = now_ms if self.urgent else now_ms + self.config.coalesce_ms
        if now_ms >= self.next_beat_ms or (self.send_at_ms is not None and now_ms >= self.send_at_ms):
            self._broadcast(now_ms)

    def _next_instance(self) -> int:
        base = self.max_instance + 1
        return base + (self.slot - base) % self.modulus

    def _lead(self, now_ms: int) -> None:
        if self.pending is not None or self.ack:
            self.pending, self.ack = None, 0
            self.dirty = True
        group = self.group
        others = group[1:]
        view = self.view
        if view is not None and view[1] == group and not any(
                self.peers[name].view_instance > view[0] for name, _ in others):
            if self.proposal is not None:
                self.proposal = None
                self.dirty = True
            return
        proposal = self.proposal
        if proposal is None or proposal[1] != group or any(
                self.peers[name].view_instance >= proposal[0] for name, _ in others):
            instance = self._next_instance()
            self.max_instance = self.proposed_max = instance
            if instance > self.persisted:
                self.persisted = instance + INSTANCE_RESERVE_ROUNDS * self.modulus
                self._effects.append(Persist(self.persisted))
            proposal = self.proposal = (instance, group)
            self.relay_in.clear()
            self.dirty = self.urgent = True
            self.count("proposals")
        instance = proposal[0]
        for name, incarnation in others:
            peer = self.peers[name]
            if peer.ack_instance != instance or peer.incarnation != incarnation:
                return
        if self._issuable(instance, group, now_ms):
            self.relay_out = [(g, t, instance, ts) for (g, t), ts in sorted(self.relay_in.items())]
            self._install(instance, group, now_ms, "committed as leader")

    def _follow(self, now_ms: int) -> None:
        if self.proposal is not None:
            self.proposal = None
            self.dirty = True
        group = self.group
        leader, leader_inc = group[0]
        peer = self.peers.get(leader)
        view_instance = self.view[0] if self.view else 0
        if (peer is not None and peer.incarnation == leader_inc and peer.proposal_members == group
                and peer.proposal_instance > view_instance):
            wanted = (peer.proposal_instance, group)
            if self.pending != wanted:
                self.pending = wanted
                if self.ack:
                    self.ack = 0
                    self.dirty = True
            if self.ack != wanted[0] and self._issuable(wanted[0], group, now_ms):
                self.ack = wanted[0]
                self.acked[wanted[0]] = group
                self.dirty = self.urgent = True
        elif self.pending is not None or self.ack:
            self.pending, self.ack = None, 0
            self.dirty = True

    def _install(self, instance: int, members: Members, now_ms: int, why: str) -> None:
        self.view = (instance, members)
        self.view_set = frozenset(members)
        self.acked = {i: m for i, m in self.acked.items() if i > instance}
        if self.pending is not None and self.pending[0] <= instance:
            self.pending = None
        if self.ack and self.ack <= instance:
            self.ack = 0
        if self.proposal is not None and self.proposal[0] <= instance:
            self.proposal = None
        self.received = {k: v for k, v in self.received.items() if k[1] >= instance}
        if len(members) == len(self.config.nodes) and all(m[0] in self.policy.nodes for m in members):
            self.seen_all = True
        self.max_instance = max(self.max_instance, instance)
        if members[0][0] == self.me:
            self.dirty = self.urgent = True  # the commit: members install when they see it
        self.count("views")
        self.quorate = self._quorum(now_ms)
        info = self.view_info()
        assert info is not None
        self._effects.append(Log("info", f"view {instance} ({why}): {', '.join(info.members)}; "
                                         f"quorum {'yes' if info.quorum else 'no'}"))
        self._effects.append(ViewChanged(info))

    # -- promises and quorum -----------------------------------------------------------------------
    def _blocked_until(self, tag: int, tag_members: frozenset, target: Member, now_ms: int) -> Optional[int]:
        """None if a promise (tag, target) is compatible with every live promise given; else when
        the ones in the way run out."""
        until: Optional[int] = None
        if len(self.issued) < 2 and tag in self.issued:
            return None
        for other_tag, issued in self.issued.items():
            if other_tag == tag:
                continue
            for member, expiry in issued.expiry.items():
                if expiry <= now_ms:
                    continue
                if (other_tag < tag and member not in tag_members) or (
                        other_tag > tag and target not in issued.members):
                    until = expiry if until is None else max(until, expiry)
        return until

    def _wake(self, at_ms: int) -> None:
        if self.wake_ms is None or at_ms < self.wake_ms:
            self.wake_ms = at_ms

    def _issuable(self, tag: int, members: Members, now_ms: int) -> bool:
        tag_members = frozenset(members)
        for member in members:
            until = self._blocked_until(tag, tag_members, member, now_ms)
            if until is not None:
                self._wake(until + 1)
                return False
        return True

    def _active_tags(self) -> list[tuple[int, frozenset, Members]]:
        newer = self.proposal if self.proposal is not None else self.pending
        tags = []
        if self.view is not None:
            targets = self.view[1]
            if newer is not None:
                keep = frozenset(newer[1])
                targets = tuple(m for m in targets if m in keep)
            tags.append((self.view[0], self.view_set, targets))
        if newer is not None:
            tags.append((newer[0], frozenset(newer[1]), newer[1]))
        return tags

    def _promises(self, now_ms: int) -> list[protocol.Promise]:
        if now_ms < self.quiet_until_ms:
            self._wake(self.quiet_until_ms)
            return []
        out: list[protocol.Promise] = []
        for tag, tag_members, targets in self._active_tags():
            for member in targets:
                name = member[0]
                if name == self.me or name not in self.alive:
                    continue
                peer = self.peers.get(name)
                if peer is None or peer.incarnation != member[1] or peer.ts_ms < 0:
                    continue
                until = self._blocked_until(tag, tag_members, member, now_ms)
                if until is not None:
                    self._wake(until + 1)
                    continue
                issued = self.issued.get(tag)
                if issued is None:
                    issued = self.issued[tag] = Issued(tag_members)
                expiry = peer.received_ms + self.lease_ms + self.margin_ms
                if issued.expiry.get(member, -1) < expiry:
                    issued.expiry[member] = expiry
                out.append((self.me, name, tag, peer.ts_ms))
        if out and now_ms + self.lease_ms + self.margin_ms > self.horizon_ms:
            # every expiry above is at most now + lease + margin: cover it, and the next lease's
            # promises too, before they leave (one write per lease)
            self.horizon_ms = now_ms + 2 * (self.lease_ms + self.margin_ms)
            self._effects.append(PromiseHorizon(self.horizon_ms))
        for tag in [t for t, issued in self.issued.items() if all(e <= now_ms for e in issued.expiry.values())]:
            del self.issued[tag]
        return out

    def _self_vote(self, now_ms: int) -> bool:
        if self.view is None:
            return False
        if now_ms < self.quiet_until_ms:
            self._wake(self.quiet_until_ms)
            return False
        until = self._blocked_until(self.view[0], self.view_set, self.self_member, now_ms)
        if until is not None:
            self._wake(until + 1)
            return False
        return True

    def _quorum(self, now_ms: int) -> bool:
        if self.view is None:
            return False
        instance, members = self.view
        policy = self.policy
        votes = policy.vote(self.me) if self._self_vote(now_ms) else 0
        needed = policy.votes_needed(self.seen_all)
        soonest: Optional[int] = None
        for name, _ in members:
            if name == self.me:
                continue
            ts = self.received.get((name, instance))
            if ts is not None and ts + self.lease_ms > now_ms:
                vote = policy.vote(name)
                if vote:
                    votes += vote
                    expiry = ts + self.lease_ms
                    soonest = expiry if soonest is None else min(soonest, expiry)
        quorate = votes >= needed
        self.votes, self.votes_needed = votes, needed
        if quorate and soonest is not None:
            self._wake(soonest)
        return quorate

    def _update_quorum(self, now_ms: int) -> None:
        quorate = self._quorum(now_ms)
        if quorate != self.quorate:
            self.quorate = quorate
            info = self.view_info()
            assert info is not None
            self._effects.append(Log("info", f"quorum {'gained' if quorate else 'lost'} in view {info.instance}"))
            self._effects.append(QuorumChanged(info))

    # -- sending -----------------------------------------------------------------------------------
    def _broadcast(self, now_ms: int) -> None:
        promises = self._promises(now_ms)
        if self.relay_out:
            promises.extend(self.relay_out)
            self.relay_out = []
        view = self.view or (0, ())
        proposal = self.proposal or (0, ())
        self.beats += 1
        if self.beats % FULL_ROWS_EVERY == 0:
            self.full_rows = True
        if self.full_rows:
            rows = self.rows
            self.full_rows = False
        else:
            sent = self.rows_sent
            rows = {origin: row for origin, row in self.rows.items()
                    if origin == self.me or sent.get(origin) != (row[0], row[1])}
        for origin, row in rows.items():
            self.rows_sent[origin] = (row[0], row[1])
        state = protocol.State(incarnation=self.inc, ts_ms=now_ms, generation=self.config.generation,
                               view_instance=view[0], view_members=view[1],
                               proposal_instance=proposal[0], proposal_members=proposal[1],
                               ack_instance=self.ack, max_instance=self.max_instance,
                               rows=rows, promises=tuple(promises))
        self._effects.append(Broadcast(protocol.encode(state)))
        self.dirty = self.urgent = False
        self.send_at_ms = None
        self.next_beat_ms = now_ms + self.beat_ms
