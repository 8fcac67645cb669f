"""The cluster resource manager (crmd) as a sans-I/O core: the CIB replica, the DC, the join, and
running this node's share of every transition.

Theory of operation
-------------------
Membership and the DC. crmd follows ccm's agreed views (`ccm.sock`). The DC of a view is its
first member in ha.cf order (the view's leader): every member computes the same DC from the same
agreed view, so there is exactly one DC per view by construction and no election, no
dc-deadtime. When the DC leaves, the next view names the next DC, which acts as soon as that
view is installed.

The CIB. Every node holds a replica (`crmd.cib.Cib`); only the DC changes it. Each change is a
list of edits the DC applies and broadcasts (`CibDiff`: edits, version before and after, digest
after); members apply diffs in order and check the digest, and ask for the whole CIB
(`CibResync`) when their version does not match or the digest disagrees. Changes from members
(tool requests, operation results) travel to the DC as `CibRequest`s. Messaging delivers a
sender's messages in order and exactly once, so a member sees the DC's diffs in the DC's order.

The join. A member becomes part of the DC's world through a join round: the DC offers
(`JoinOffer`), the member answers with its CIB version and digest and its whole resource history
(`JoinRequest`; each node is authoritative for its own history, kept by its lrmd across crmd
restarts). When every expected member answered (or the round timed out), the DC takes the newest
configuration among its own and the answers (fetching it with `CibFetch` if a member has it),
rewrites the status of the joining nodes from their answers, sends the whole CIB to any member
whose digest differs, broadcasts the status diff and acknowledges (`JoinAck`). A new DC joins
every member; an established DC joins only newcomers (new nodes, restarted crmds) and just
updates the status of nodes that left. A member that installs a view naming a DC other than the
one it had sends its join request at once (join id 0, `EARLY_JOIN_ID`), without waiting for the
offer: the DC of that view takes it as the member's answer while its round collects. So about
one trip after a view is installed, the DC is acting.

Configuration changes. A partition without quorum may change the configuration too (an operator
on the last node standing sets no-quorum-policy, say), so replicas of different partitions differ
when they meet, and the join must choose. Pacemaker takes the highest version, which lets a
partition that changed the configuration more often undo what the majority did, even a change the
tools reported done. Here every replica carries a mark (`cib_mark`, persisted beside cib.xml):
the (view instance, admin_epoch, epoch) of the last configuration change a DC made in a view with
a majority of the configured nodes (`_majority`); members take the DC's mark with every diff and
whole CIB. A join takes the replica with the greatest (mark, version): a minority's changes stand
only if the majority changed nothing since they parted (its mark did not move), and two views
with a majority never coexist and every later one shares a node with the earlier, so a change a
majority holds is in every later majority's choice. A tool's configuration change is answered
accordingly (`_answer_change`): made with a majority, once a majority of the configured nodes
holds it (members acknowledge diffs and whole CIBs with `CibAck` after writing them to disk);
made without, at once with a warning that it may be undone. A DC that loses its role first
answers "may or may not have been carried out". A member fails a request it forwarded when the
DC changes, when messaging loses the DC or itself, and when a join acknowledgement (`JoinAck
pending`: what the DC still holds of this member's) shows the request never arrived.

Transitions. On every event that may change the decision (a view or quorum change, a join, an
operation failure or unexpected result, a configuration or attribute change) the DC sets
`need_pe`; when idle it sends a CIB snapshot to the policy engine (`pengine.sock`), hands the
graph to the transition engine (`tengine.sock`) and routes the engine's actions: resource
operations to the crmd of the node concerned (`LrmInvoke`, or its own lrmd), cluster actions
(clear a fail count, forget a history, let a node shut down) it carries out itself. Results come
back as history entries (`CibRequest op=lrm`); the DC records them, counts failures
(`fail-count-RSC#op_interval`, `last-failure-...`), and passes the ones the running graph waits
for to the engine. An answer from the policy engine that is older than the latest event is
dropped and asked again. Events during a transition abort it; when the engine reports the graph
done, the policy engine runs again if anything changed.

Running actions. Every crmd runs the actions for its node through its lrmd, with the transition
key and parameter digest as the operation's user data, and records each result in its own
history and at the DC.

Fencing. A graph's `stonith` action goes to this node's stonithd (`StFence`, with stonith-timeout,
the action and the priority-fencing-delay the policy engine put on it); it is confirmed to the
engine when stonithd reports the target fenced (`StNotify`), and the DC then records the target as
down (`join=down expected=down`, its history and transient attributes deleted) so the next policy
engine run recovers its resources. A failed fencing fails the action (resources stay put) and the
next schedule waits (1 s doubling to 30 s). A node cut off from every link of its own fences
nobody. crmd sends stonithd the CIB's devices after every configuration change (`StDevices`).
Fencings by others (an operator, another DC) reach every crmd as notices; the DC records them.
A new DC fences the nodes its view lost ahead of its join round (`_maybe_fence_ahead`: its policy
engine decides on an `Overlay` of the replica with the round's edits, only the graph's input-less
fencing actions run, the schedule after the join takes them over); a node fenced in the current
view and still outside it is not shot again; a lost node heard again less than settle_ms ago is
not fenced (it joins with its own history). Every crmd keeps the nodes it saw fenced while quorate
and in none of its views since (`fenced_out`) and names them in its join request, so a new DC from
the other side of a healed partition records them instead of fencing them again
(docs/architecture.md, "Fencing").

Connectivity and self-fencing. This node's `pingd` attribute follows the ping nodes messaging
reaches (ipfail). With watchdog fencing (stonith-watchdog-timeout), a node that lost the quorum it
had says so in its status (`self_fence`); the launcher then stops feeding the watchdog.

Stopping. On `Stop` crmd asks the DC to set this node's `shutdown` attribute; the policy engine
then moves everything off the node and schedules `do_shutdown`, which the DC answers with
`ShutdownOk`; only then does crmd report `Stopped` (or after `shutdown_escalation_ms`). The DC
asked may stop or lose its role before recording the attribute, so it is asked again at every new
join whose CIB lacks it (`_sync_shutdown`; the lift of a cut-off standby likewise,
`_sync_isolation`). A join request carries the node's whole history: the history entries of the
updates it sent before it are superseded (`_drop_superseded_updates`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from core import access
from core.cib import acl
from core.cib.status import parse_transition_key, transition_key
from core.cib.xmltree import XNode, parse_xml, to_xml
from core.errors import ConfigError
from core.graph import INFINITY, GraphAction, GraphError, chainable, parse_graph
from core.messages import crm, lrm
from core.messages import stonith as st
from core.messages.ccm import CcmFenced, CcmQuery, CcmSubscribe, MembershipEvent
from core.messages.common import PingRequest, Reply
from core.messages.hbapi import (ClientStatusEvent, ClusterMessage, NodeStatusEvent, SendCluster, SetResourceStatus,
                                 SignOff, SignOn)
from core.messages.hbapi import LinkStatusEvent
from core.messages.hbapi import Query as HbQuery
from core.messages.pe import PePrime, PeSchedule
from core.messages.te import (TeAbort, TeActionLost, TeCancel, TeDone, TeEvent, TeGraph, TeInvoke, TeNodeLost, TeRecall,
                              TeRecalled, TeSignOn)
from core.sansio import Log, PeerGone, Persist, RandomSource, Recv, Send, Stop, Stopped, Tick, WallClock, WatchPid
from core.session import IdSource, Session
from core import wire
from crmd import fencing
from crmd.chain import ChainError, Chains, parse_then
from crmd import requests as rq
from crmd.cib import FEATURE_SET, Cib, CibError, Edit, Overlay, Version, from_wire, resolve, version_of, wire_edits
from crmd.lrmstate import (OP_STATUS, LocalLrm, OpRecord, hint_of, history_hint, params_digest,
                           split_user_data, user_data)
from crmd.startup import DC_PROPERTIES

MSGTYPE = "crmd"
INCARNATION_FILE = "crmd_incarnation"
CONNECT_RETRY_MS = 500
REQUEST_TIMEOUT_MS = 2000
PE_TIMEOUT_MS = 60_000
POLL_MS = 1000
SILENT_MS = 5000
HELD_LIMIT = 200  # messages of a view we have not installed yet, kept until we do
HANDOVER_MS = 2000  # a DC that shuts down waits at most this long for members to have its expected=down
EARLY_JOIN_ID = 0  # a join request sent on the view, before any offer (join ids of offers start at 1)
# a member's replica quiet this long is given to its policy engine's input cache (PePrime), so
# that a DC's loss finds its successor's engine warm; at most once per quiet spell and CIB
PRIME_QUIET_MS = 1000
DIGEST_CHECK_MS = 5000  # an idle DC re-announces its version and digest this long after a change
DEFAULT_SHUTDOWN_ESCALATION_MS = 120_000
FAST_FAILURE_MS = 50  # a transition that fails this fast makes the next one wait (backoff)
MIN_BACKOFF_MS = 100
MAX_BACKOFF_MS = 5000
PINGD_ATTR = "pingd"  # the connectivity attribute (Pacemaker's ping agent's default name)
PINGD_MULTIPLIER = 10_000  # per ping node reached: more than any stickiness a haresources CIB sets
FENCE_RETRY_MS = 1000  # a failed fencing is tried again after 1 s, doubling up to FENCE_RETRY_MAX_MS
FENCE_RETRY_MAX_MS = 30_000
NO_PARAMS_OPS = ("stop", "cancel", "delete", "lrm_delete")  # the graph carries no resource parameters
STARTING_OPS = ("start", "promote", "migrate_from", "migrate_to")  # what a cut-off node does not begin
GIVE_UP = 0  # the "transition" of the stops a node makes on its own (cut off, ccm lost): never held
ISOLATED_ATTR = "pyhb-isolated"  # marks a standby crmd set because all the node's links were down


@dataclass(frozen=True)
class CrmdConfig:
    node: str
    nodes: tuple[str, ...]
    pid: int
    cib: Cib  # what to start with (crmd.startup.initial_cib)
    deadtime_ms: int = 500
    incarnation_floor: int = 0
    mode: str = "crm"  # crm (a CIB) | haresources (CIB derived from haresources; heartbeat's logs)
    join_timeout_ms: int = 0  # 0: 4 x deadtime + 1 s
    shutdown_escalation_ms: int = DEFAULT_SHUTDOWN_ESCALATION_MS
    groups: tuple[tuple[str, str, str, tuple[str, ...]], ...] = ()  # haresources: (group, home, text, members)
    version: str = "pyheartbeat"  # written as dc-version by the DC
    watchdog: bool = False  # ha.cf `watchdog`: the launcher feeds one while the stack is healthy
    cib_quorate: tuple[int, int, int] = (0, 0, 0)  # the starting CIB's mark (crmd.startup.initial_mark)

    @property
    def join_ms(self) -> int:
        return self.join_timeout_ms or 4 * self.deadtime_ms + 1000

    @property
    def stall_ms(self) -> int:
        """A gap between two steps this long means we were stalled: a quorum lease may have run
        out meanwhile (ccm's lease is about a deadtime)."""
        return max(50, self.deadtime_ms // 2)

    @property
    def settle_ms(self) -> int:
        """How long a DC waits for nodes messaging hears to enter its view before deciding
        without them (a one-way link may keep a node out for good)."""
        return 2 * self.deadtime_ms


@dataclass(frozen=True)
class View:
    instance: int
    members: tuple[str, ...]
    quorum: bool

    @property
    def dc(self) -> str:
        return self.members[0]


@dataclass
class Round:
    join_id: int
    view: int
    expected: set[str]
    requests: dict[str, crm.JoinRequest] = field(default_factory=dict)
    deadline_ms: int = 0
    phase: str = "collecting"  # collecting -> fetching -> done
    fetch_from: Optional[str] = None
    full: bool = False  # a new DC: everyone joins, and the status is rebuilt for all
    # members that were not in this DC's previous view: they come from another partition and may
    # know of fencings its replica lacks (their join requests say which), see _maybe_fence_ahead
    newcomers: set[str] = field(default_factory=set)


@dataclass
class ActionCtx:
    """An action this node runs for a transition, until its result is recorded."""

    transition_id: int
    action_id: int
    key: str
    rsc_id: str
    task: str
    interval_ms: int
    digest: str
    rsc_class: str
    provider: str
    rsc_type: str
    hint: str = ""  # notify and migration results: see crmd.lrmstate.history_hint
    forgotten: bool = False  # its resource was cleaned up (forgotten) while it ran: its result is void


# (view instance, admin_epoch, epoch) of the last configuration change a DC made in a view with
# a majority of the configured nodes ("Configuration changes")
Mark = tuple[int, int, int]
NO_MAJORITY_WARNING = ("this partition does not hold a majority of the cluster's nodes: the change stands "
                       "until the others see this node again, and is lost if they changed the configuration "
                       "meanwhile")


@dataclass
class DurableWait:
    """A tool's configuration change the DC made with a majority, not answered until a majority
    of the configured nodes holds it."""

    version: Version  # the CIB's version after it
    waiting: set[str]  # members whose acknowledgement may still come
    acked: set[str]  # nodes that hold it (the DC, and members that acknowledged)
    origin: str
    rid: int
    result: dict[str, Any]


@dataclass(frozen=True)
class SaveCib:
    """Write the replica (without status) as cib.xml and its MD5 as cib.xml.sig, and its mark
    (`CrmdMachine.cib_mark`) beside them."""

    xml: str
    quorate: tuple[int, int, int] = (0, 0, 0)


@dataclass(frozen=True)
class RoleChanged:
    """Effect (observed by the simulator's checkers and tools): this node's role in a view."""

    view: int
    role: str  # dc | member | none
    dc: Optional[str]


@dataclass(frozen=True)
class CibChanged:
    """Effect (observed by the simulator): the replica changed; its version and digest."""

    version: tuple[int, int, int]
    digest: str


class CrmdMachine:
    def __init__(self, config: CrmdConfig, rng: RandomSource) -> None:
        self.config = config
        self.me = config.node
        self.rng = rng
        self.ids = IdSource()
        self.messaging = Session("messaging", self.ids, POLL_MS, REQUEST_TIMEOUT_MS, SILENT_MS)
        self.ccm = Session("ccm", self.ids, POLL_MS, REQUEST_TIMEOUT_MS, SILENT_MS)
        self.lrmd = Session("lrmd", self.ids, POLL_MS, REQUEST_TIMEOUT_MS, SILENT_MS, answers_in_order=True)
        self.tengine = Session("tengine", self.ids, POLL_MS, REQUEST_TIMEOUT_MS, SILENT_MS, answers_in_order=True)
        # no sign-on: polled from the start; a big CIB may keep it busy (and silent) for long
        self.pengine = Session("pengine", self.ids, POLL_MS, PE_TIMEOUT_MS, PE_TIMEOUT_MS + SILENT_MS,
                               answers_in_order=True)
        self.stonithd = Session("stonithd", self.ids, POLL_MS, REQUEST_TIMEOUT_MS, SILENT_MS)
        self.retry_at: dict[str, Optional[int]] = {"messaging": 0, "ccm": 0, "lrmd": 0, "tengine": 0,
                                                   "stonithd": 0}
        self.incarnation = config.incarnation_floor + 1
        self.te_uuid = _uuid(rng)
        self.wall_offset_ms = 0
        self.cib = config.cib
        # (view, admin_epoch, epoch) of the replica's last configuration change made by a DC
        # with a majority (see "Configuration changes" above)
        self.cib_mark: Mark = _mark(config.cib_quorate)
        # the DC's answers to tools' configuration changes that wait for a majority's CibAcks
        self.durable_wait: list[DurableWait] = []
        self.lrm = LocalLrm(self.me, self.me)
        self.lrm_ready = False
        self.lrm_serial = 0  # counts changes of our history (a join ack says which one the DC got)
        self.view: Optional[View] = None
        self.peers: dict[str, int] = {}  # node -> crmd incarnation, for members of the view
        self.held: list[tuple[str, Any]] = []  # (sender, message) for a view not installed yet
        self.role = "none"
        self.joined = False  # member: acked by the DC of the current view
        self.pending_offer: Optional[crm.JoinOffer] = None
        self.resync_wanted = False
        self.queued: list[crm.CibRequest] = []  # to the DC once joined
        self.tool_waiting: dict[int, tuple[bytes, int]] = {}  # our CibRequest id -> (client, its request id)
        self.forwarded_at_join: set[int] = set()  # those forwarded when our last join request went out
        self.subscribers: dict[bytes, int] = {}
        # local actions
        self.lrmd_waiting: list[tuple[int, str, dict]] = []  # actions that wait for our lrmd
        self.exec_waiting: dict[int, ActionCtx] = {}  # lrmd request id -> ctx
        self.running: dict[int, ActionCtx] = {}  # lrmd call id -> ctx
        self.unconfirmed: set[int] = set()  # call ids of actions whose first result has not come yet
        self.recurring: dict[tuple[str, str, int], ActionCtx] = {}  # (rsc, task, interval) -> ctx
        self.registered: dict[str, tuple[str, str, str, tuple]] = {}  # rsc -> what we registered
        # DC state
        self.round: Optional[Round] = None
        self.join_id = 0
        self.join_dc = ""  # member: the DC our last join request went to
        self.join_dc_incarnation = 0  # member: the crmd incarnation of the DC that acknowledged our join
        self.joined_nodes: dict[str, int] = {}  # node -> crmd incarnation joined
        self.joined_round: dict[str, int] = {}  # node -> the join id it joined with
        self.need_pe = False
        self.pe_reason = ""
        self.pe_not_before: Optional[int] = None
        self.pe_backoff_ms = 0
        self.te_started_ms = 0
        self.held_actions: dict[str, list[tuple[int, int, int]]] = {}  # node -> (transition, action, target)
        self.inflight: dict[str, dict[tuple[int, int], int]] = {}  # node -> (transition, action) -> target
        # DC: chained actions sent with another (tengine "Chains"): (transition, action) -> node,
        # and those the engine recalled, whose answer it waits for
        self.chained_on: dict[tuple[int, int], str] = {}
        self.recalling: set[tuple[int, int]] = set()
        # any node: the chains it holds for its DC
        self.chains = Chains()
        self.fsa = "idle"  # idle | pe | te
        self.pe_request: Optional[int] = None
        self.transition_id = 0
        self.te_running: Optional[int] = None
        self.digest_check_at: Optional[int] = None
        self.prime_at: Optional[int] = None  # when the member's replica goes to its policy engine
        self.primed_digest = ""  # the replica it last got
        # a DC shutting down: (the CIB version with its expected=down, members that have not
        # acknowledged it yet, when it leaves anyway)
        self.handover: Optional[tuple[tuple[int, ...], set[str], int]] = None
        # shutdown
        self.stopping = False
        self.stop_deadline: Optional[int] = None
        self.stopped = False
        self.shutdown_value: Optional[str] = None  # the `shutdown` attribute this node asked for
        self.shutdown_asked_of: Optional[tuple[str, int, int]] = None  # the (DC, incarnation, join) it last asked
        self.rsc_status = "none"
        # heartbeat's log lines (haresources mode)
        self.takeover_from: dict[str, list] = {}
        self.takeover_announced: set[str] = set()
        self.taking_over: set[str] = set()
        self.initial_done = False
        self.comm_up = False  # messaging heard every node, or initdead passed
        self.last_step_ms: Optional[int] = None
        self.stalled = False
        self.stall_held: list[tuple[str, int, Any]] = []
        self.alive: set[str] = set()  # nodes messaging hears (status up or active)
        self.local_links: dict[str, str] = {}  # our own media: up | dead
        self.isolated = False
        self.isolation_asked_of: Optional[tuple[str, int, int]] = None  # the (DC, incarnation, join) last asked
        # (time, view instance) when our links came back after an isolation: see _rejoin_wait_until
        self.reconnected: Optional[tuple[int, int]] = None
        self.giving_up: list[str] = []  # resources a cut-off node still has to stop, in order
        self.ccm_lost = False  # ccm or messaging died: membership unknown until a view with both back
        self.my_ccm_incarnation = 0  # ours, as the last view gave it
        self.view_incarnation = 0  # ours in self.view
        self.lost_incarnation = 0  # ours when they were lost: a view must show a newer one
        self.view_since_ms = 0
        self.standby_pending = ""
        # fencing: the device list stonithd last got (by configuration version), and the fencing
        # actions of our graphs waiting for stonithd: target -> (transition, action id, target rc, op id)
        self.devices_sent: Optional[tuple[int, int]] = None
        self.fencing: dict[str, tuple[int, int, int, str]] = {}
        self.fence_failures: dict[str, int] = {}  # target -> failed fencings in a row
        self.fence_retry_at: Optional[int] = None  # after a failed fencing, scheduling waits
        # fencing ahead of a new DC's join (see _maybe_fence_ahead): the join round it was asked
        # for, the targets whose request in flight no graph has taken over yet, and the targets
        # fenced in the current view while outside it (not fenced twice)
        self.ahead_round: Optional[int] = None
        self.ahead_waits: Optional[tuple[int, str]] = None  # (round, why) last logged
        self.fencing_ahead: set[str] = set()
        self.fenced_in_view: set[str] = set()
        # DC: (member, resource) cleaned up there -> the member's crmd incarnation then, until the
        # member says it forgot it or another incarnation of its crmd speaks (_send_forget)
        self.forgetting: dict[tuple[str, str], int] = {}
        # fenced while still a member of our view (the fencing outran ccm's verdict: an operator's
        # fencing, a DC fencing itself through a peer's device): target -> (its ccm incarnation
        # then, our view quorate then). When a view drops that same life it was fenced in that
        # view; a newer incarnation in a view means it came back, and the entry goes
        self.fenced_members: dict[str, tuple[int, bool]] = {}
        self.member_incarnations: dict[str, int] = {}  # of self.view's members, as ccm gave them
        # each peer's messaging generation (a start of its node's stack) and when we first heard it
        self.life_since_ms: dict[str, tuple[int, int]] = {}
        self.heard_again_ms: dict[str, int] = {}  # node -> when messaging last began to hear it again
        # nodes we saw fenced while in a quorate view, seen in none of our views since, our views
        # quorate all along: told to a new DC at our join (the DC that fenced them may be gone)
        self.fenced_out: set[str] = set()
        self.had_quorum = False  # since start (watchdog self-fencing only concerns a node that had it)
        self.quorum_lapse_since_ms: Optional[int] = None  # the DC's quorum lapsed in an unchanged view (_quorum_lapsed)
        # connectivity (ipfail): ping nodes messaging reaches -> this node's `pingd` attribute
        self.ping_nodes: dict[str, bool] = {}
        self.pingd_asked: Optional[tuple[int, str]] = None  # (when, value) of the last request
        self.counters: dict[str, int] = {}

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    @property
    def is_dc(self) -> bool:
        return self.role == "dc"

    @property
    def quorate(self) -> bool:
        """We act as part of a quorate partition: ccm said so, and we have not been stalled
        since (a stalled node's quorum may have run out while it could not hear ccm)."""
        return self.view is not None and self.view.quorum and not self.stalled

    def quorate_at(self, now_ms: int) -> bool:
        """`quorate`, as it will be when we next run: after a gap longer than stall_ms (we were
        stopped) the first step sees the stall, and nothing is done on the old view meanwhile."""
        if self.last_step_ms is not None and now_ms - self.last_step_ms > self.config.stall_ms:
            return False
        return self.quorate

    @property
    def dc(self) -> Optional[str]:
        return self.view.dc if self.view is not None else None

    def wall_s(self, now_ms: int) -> int:
        return (now_ms + self.wall_offset_ms) // 1000

    # -- the surface ---------------------------------------------------------------------------------
    def step(self, now_ms: int, event: object) -> list[object]:
        out: list[object] = []
        kind = type(event)
        if self.stopped:
            return out
        if self.last_step_ms is not None and now_ms - self.last_step_ms > self.config.stall_ms and not self.stalled:
            # we did not run for longer than a quorum lease (SIGSTOP, swap): until ccm confirms
            # the view, nothing is started or scheduled on what we believed before
            self.stalled = True
            self.fenced_out = set()  # views may have come and gone meanwhile
            self.fenced_members = {}  # (a life that came and went unseen would pass for the old one)
            out.append(Log("warn", f"crmd was stalled for {now_ms - self.last_step_ms} ms; "
                                   "holding actions until membership is confirmed"))
            if self.ccm.up:
                out.append(self.ccm.request(now_ms, lambda rid: CcmQuery(rid, "view"), "confirm"))
            elif not self.ccm_lost:
                self.stalled = False
        self.last_step_ms = now_ms
        if kind is Recv:
            self._recv(now_ms, event.src, event.msg, out)  # type: ignore[attr-defined]
        elif kind is PeerGone:
            peer = event.peer  # type: ignore[attr-defined]
            if peer in ("ccm", "messaging"):
                session = self.ccm if peer == "ccm" else self.messaging
                if session.server_pid is not None:
                    session.reset()
                    self._lost(now_ms, peer, "its process ended", out)
            else:
                self.subscribers.pop(peer, None)
        elif kind is WallClock:
            self.wall_offset_ms = event.offset_ms  # type: ignore[attr-defined]
        elif kind is Stop:
            self._begin_stop(now_ms, out)
        else:
            assert kind is Tick, f"crmd got an unknown input {event!r}"
        self._time(now_ms, out)
        if not self.is_dc and any(type(e) is CibChanged for e in out):
            self.prime_at = now_ms + PRIME_QUIET_MS
        if not self.stopped:
            self._maybe_schedule(now_ms, out)
            self._maybe_fence_ahead(now_ms, out)
            self._sync_devices(now_ms, out)
            self._sync_pingd(now_ms, out)
            self._sync_shutdown(now_ms, out)
            self._sync_isolation(now_ms, out)
        return out

    def next_deadline_ms(self) -> Optional[int]:
        if self.stopped:
            return None
        candidates = [v for v in self.retry_at.values() if v is not None]
        for s in (self.messaging, self.ccm, self.lrmd, self.tengine, self.pengine, self.stonithd):
            d = s.next_deadline_ms()
            if d is not None:
                candidates.append(d)
        if self.round is not None and self.round.phase != "done":
            candidates.append(self.round.deadline_ms)
        if self.digest_check_at is not None:
            candidates.append(self.digest_check_at)
        if self.prime_at is not None:
            candidates.append(self.prime_at)
        if self.handover is not None:
            candidates.append(self.handover[2])
        if self.pe_not_before is not None and self.need_pe:
            candidates.append(self.pe_not_before)
        if self.fence_retry_at is not None and self.need_pe and self.fence_retry_at > (self.last_step_ms or 0):
            candidates.append(self.fence_retry_at)
        # waits that end by time alone (once past, something else holds the schedule back)
        last = self.last_step_ms if self.last_step_ms is not None else 0
        if self.is_dc and self.need_pe and self._alive_outside_view() \
                and self.view_since_ms + self.config.settle_ms > last:
            candidates.append(self.view_since_ms + self.config.settle_ms)
        rejoin = self._rejoin_wait_until()
        if self.is_dc and self.need_pe and rejoin is not None and rejoin > last:
            candidates.append(rejoin)
        if self.stop_deadline is not None:
            candidates.append(self.stop_deadline)
        if self.last_step_ms is not None:
            candidates.append(self.last_step_ms + self.config.stall_ms // 2)  # a stall shows as a late tick
        return min(candidates) if candidates else None

    # -- time ------------------------------------------------------------------------------------------
    def _time(self, now_ms: int, out: list[object]) -> None:
        for name, at in list(self.retry_at.items()):
            if at is not None and now_ms >= at:
                self.retry_at[name] = None
                self._connect(now_ms, name, out)
        for session in (self.messaging, self.ccm, self.lrmd, self.tengine, self.pengine, self.stonithd):
            for pending in session.expired(now_ms):
                self._expired(now_ms, session, pending, out)
            polls, lost = session.check(now_ms)
            out.extend(polls)
            if lost is not None:
                self._lost(now_ms, session.server, lost, out)
        if self.round is not None and self.round.phase != "done" and now_ms >= self.round.deadline_ms:
            self._round_timeout(now_ms, out)
        if self.prime_at is not None and now_ms >= self.prime_at:
            self.prime_at = None
            if not self.is_dc and self.pengine.up and self.cib.digest() != self.primed_digest:
                self.primed_digest = self.cib.digest()
                out.append(Send("pengine", PePrime(self.cib.xml().encode())))
        if self.digest_check_at is not None and now_ms >= self.digest_check_at:
            self.digest_check_at = None
            if self.is_dc and self.fsa == "idle":
                self._announce(now_ms, "idle", out)
        if self.pe_not_before is not None and now_ms >= self.pe_not_before:
            self.pe_not_before = None  # the backoff is over
        if self.handover is not None and now_ms >= self.handover[2]:
            out.append(Log("warn", f"leaving without every member's acknowledgement of our clean shutdown "
                                   f"(missing: {', '.join(sorted(self.handover[1]))})"))
            self.handover = None
            self._finish_stop(out)
        if self.stop_deadline is not None and now_ms >= self.stop_deadline:
            out.append(Log("warn", "shutdown escalation: resources were not handed over in time; stopping anyway"))
            self._finish_stop(out)

    def _connect(self, now_ms: int, name: str, out: list[object]) -> None:
        pid = self.config.pid
        self.pengine.start_polling(now_ms)
        if name == "messaging":
            out.append(self.messaging.request(now_ms, lambda rid: SignOn(rid, "crmd", pid, [MSGTYPE], True), "signon"))
        elif name == "ccm":
            out.append(self.ccm.request(now_ms, lambda rid: CcmSubscribe(rid, "crmd", pid), "subscribe"))
        elif name == "lrmd":
            out.append(self.lrmd.request(now_ms, lambda rid: lrm.SignOn(rid, "crmd", pid), "signon"))
        elif name == "tengine":
            out.append(self.tengine.request(now_ms, lambda rid: TeSignOn(rid, "crmd", pid), "signon"))
        elif name == "stonithd":
            out.append(self.stonithd.request(now_ms, lambda rid: st.StSignOn(rid, "crmd", pid), "signon"))

    def _expired(self, now_ms: int, session: Session, pending: Any, out: list[object]) -> None:
        if pending.tag in ("signon", "subscribe", "list", "history"):
            session.reset()
            self.retry_at[session.server] = now_ms + CONNECT_RETRY_MS
            self.count(f"{session.server}_unavailable")
        elif pending.tag == "schedule":
            out.append(Log("warn", "the policy engine did not answer; asking again"))
            if self.pe_request is not None:
                self.pe_request = None
                self.fsa = "idle"
                self.need_pe = True
        elif pending.tag == "ahead":
            out.append(Log("warn", "the policy engine did not answer in time; the fencing waits for the join"))
        elif pending.tag == "graph":
            out.append(Log("warn", "the transition engine did not take the graph; scheduling again"))
            self.fsa = "idle"
            self.te_running = None
            self.need_pe = True
        elif pending.tag == "exec":
            ctx = self.exec_waiting.pop(pending.context, None) if isinstance(pending.context, int) else None
            if ctx is not None:
                self._action_failed(now_ms, ctx, "the lrmd did not answer", out)
        elif pending.tag == "fence":
            self._fence_failed(str(pending.context), "stonithd did not answer", out)

    def _lost(self, now_ms: int, server: str, why: str, out: list[object], retry_ms: int = CONNECT_RETRY_MS) -> None:
        out.append(Log("warn", f"lost the {server} daemon ({why}); connecting again"))
        if server == "pengine":
            if self.pe_request is not None:
                self.pe_request = None
                self.fsa = "idle"
                self.need_pe = True
            self.pengine.start_polling(now_ms)
            return
        self.retry_at[server] = now_ms + retry_ms
        if server == "lrmd":
            self.lrm_ready = False
            for ctx in list(self.exec_waiting.values()) + list(self.running.values()):
                self._action_failed(now_ms, ctx, "the lrmd restarted", out)
            self.exec_waiting.clear()
            self.running.clear()
            self.unconfirmed.clear()
            self.recurring.clear()
            self.registered.clear()
        elif server == "stonithd":
            self.devices_sent = None
            for target in list(self.fencing):
                self._fence_failed(target, "stonithd went away", out)
        elif server == "tengine":
            if self.te_running is not None:
                # a restarted engine may have taken our last graph already: it drops it
                out.append(Send("tengine", TeCancel(self.te_running)))
                self.te_running = None
                self.fsa = "idle"
                self.need_pe = True
        if server == "messaging":
            # what we forwarded may have died with it, unsent
            self._fail_forwarded(out)
        if server in ("ccm", "messaging"):
            self._membership_unknown(now_ms, f"{server} is gone", out)

    def _membership_unknown(self, now_ms: int, why: str, out: list[object]) -> None:
        """ccm or messaging died, or ccm lost messaging (its `lost` event): without ccm the quorum
        it gave is gone (its promises are no longer renewed); without messaging the node is cut
        off. Either way the other nodes may drop this one within a deadtime or two: until ccm
        delivers a view of a newer incarnation, nothing starts here. What runs stays only where
        they must fence this node before they start it elsewhere (`_fenced_before_takeover`)."""
        if self.ccm_lost:
            return
        self.ccm_lost = True
        self.fenced_out = set()
        self.fenced_members = {}
        self.lost_incarnation = self.my_ccm_incarnation
        self.stalled = True
        if self._fenced_before_takeover():
            self.count("kept_until_fenced")
            out.append(Log("warn", f"membership is unknown until ccm delivers a view ({why}): holding actions; "
                                   "what runs here stays until this node is fenced or joins again"))
        else:
            out.append(Log("warn", f"membership is unknown until ccm delivers a view ({why}): "
                                   "holding actions, stopping this node's resources"))
            self._give_up_locally(now_ms, out)

    # -- dispatch ----------------------------------------------------------------------------------------
    def _recv(self, now_ms: int, src: Any, msg: Any, out: list[object]) -> None:
        if isinstance(src, bytes):
            self._api(now_ms, src, msg, out)
            return
        session = {"messaging": self.messaging, "ccm": self.ccm, "lrmd": self.lrmd, "tengine": self.tengine,
                   "pengine": self.pengine, "stonithd": self.stonithd}.get(src)
        if session is None:
            return
        if isinstance(msg, Reply):
            pending = session.take_reply(now_ms, msg)
            if pending is None:
                if not msg.ok:
                    out.append(Log("warn", f"{src} refused a request: {msg.error}"))
                return
            if pending.tag == "ping":
                why = session.ping_answer(pending.context)
                if why is not None:
                    session.reset()
                    self._lost(now_ms, src, why, out, retry_ms=0)  # it answers: sign on again now
                return
            self._reply(now_ms, src, pending, msg, out)
            return
        session.heard(now_ms)
        if src == "messaging":
            if isinstance(msg, ClusterMessage) and msg.msgtype == MSGTYPE:
                self._cluster(now_ms, msg, out)
            elif isinstance(msg, ClientStatusEvent):
                if msg.client == "crmd" and msg.status == "leave" and msg.node != self.me:
                    self._peer_left(now_ms, msg.node, out)
            elif isinstance(msg, NodeStatusEvent):
                self._node_status(now_ms, msg, out)
            elif isinstance(msg, LinkStatusEvent):
                if msg.node == self.me:
                    self._local_link(now_ms, msg.link, msg.status, out)
        elif src == "ccm" and isinstance(msg, MembershipEvent):
            if msg.kind == "lost":
                self._membership_unknown(now_ms, "ccm lost the messaging daemon", out)
                return
            if self.ccm_lost and msg.kind == "view" and msg.members and self._membership_back(msg):
                self.ccm_lost = False  # the first view since ccm and messaging are back
                self.stalled = False
                self._note_incarnation(msg)
                out.append(Log("info", f"ccm is back with view {msg.instance}"))
                self._membership(now_ms, msg, out)
                self._resume_held(now_ms, out)
                return
            if not self.ccm_lost:
                self._note_incarnation(msg)
            self._membership(now_ms, msg, out)
        elif src == "lrmd" and isinstance(msg, lrm.OpResult):
            self._op_result(now_ms, msg, out)
        elif src == "stonithd" and isinstance(msg, st.StNotify):
            self._fence_notice(now_ms, dict(msg.op), out)
        elif src == "tengine":
            if isinstance(msg, TeInvoke):
                self._invoke(now_ms, msg, out)
            elif isinstance(msg, TeDone):
                self._te_done(now_ms, msg, out)
            elif isinstance(msg, TeActionLost):
                self._action_lost(now_ms, msg, out)
            elif isinstance(msg, TeRecall):
                self._recall(now_ms, msg, out)

    def _reply(self, now_ms: int, src: str, pending: Any, msg: Reply, out: list[object]) -> None:
        tag = pending.tag
        result = msg.result
        if src == "messaging":
            if tag == "signon":
                if not msg.ok:
                    self.retry_at["messaging"] = now_ms + CONNECT_RETRY_MS
                    return
                hb_pid = result.get("pid") if isinstance(result, dict) else None
                self.messaging.connected(now_ms, hb_pid)
                if isinstance(hb_pid, int) and hb_pid > 0:
                    out.append(WatchPid("messaging", hb_pid))  # without it we are cut off: know at once
                out.append(Log("info", f"crmd incarnation {self.incarnation} signed on to messaging"))
                out.append(Persist(INCARNATION_FILE, self.incarnation))
                self._resend_after_signon(now_ms, out)
                out.append(self.messaging.request(now_ms, lambda rid: HbQuery(rid, "hbstatus"), "hbstatus"))
                out.append(self.messaging.request(now_ms, lambda rid: HbQuery(rid, "nodes"), "nodes"))
                me = self.me
                out.append(self.messaging.request(now_ms, lambda rid: HbQuery(rid, "links", {"node": me}), "links"))
                if self.view is not None:
                    self._hello(now_ms, out)
            elif tag == "links" and isinstance(result, list):
                for row in result:
                    if isinstance(row, dict) and row.get("node") == self.me:
                        self._local_link(now_ms, str(row.get("link")), str(row.get("status")), out)
            elif tag == "hbstatus" and isinstance(result, dict):
                self._local_status(str(result.get("status") or ""), out, now_ms)
            elif tag in ("nodes", "comm_nodes") and isinstance(result, list):
                for entry in result:
                    if isinstance(entry, dict) and entry.get("type") == "ping":
                        self.ping_nodes[str(entry.get("name"))] = entry.get("status") == "ping"
                    if isinstance(entry, dict) and entry.get("type") == "normal" and entry.get("name") != self.me:
                        if _heard(str(entry.get("status")), int(entry.get("generation") or 0)):
                            self._heard_life(now_ms, str(entry.get("name")), int(entry.get("generation") or 0))
                            self.alive.add(str(entry.get("name")))
                        else:
                            self.alive.discard(str(entry.get("name")))
                if tag == "comm_nodes" and not self.comm_up:
                    self.comm_up = True
                    if self.haresources:
                        self._want_pe("communications are up", out)
        elif src == "ccm":
            if tag == "confirm" and not self.ccm_lost:
                self.stalled = False
                if isinstance(result, dict) and result.get("members"):
                    ev = MembershipEvent("view", int(result.get("instance") or 0), list(result["members"]),
                                         list(result.get("incarnations") or []), str(result.get("leader") or ""),
                                         bool(result.get("quorum")), self.me)
                    if self.view is not None and ev.instance == self.view.instance:
                        ev = MembershipEvent("quorum", ev.instance, ev.members, ev.incarnations, ev.leader, ev.quorum,
                                             self.me)
                    self._membership(now_ms, ev, out)
                out.append(Log("info", "membership confirmed after the stall"))
                self._resume_held(now_ms, out)
            if tag == "subscribe" and msg.ok:
                ccm_pid = result.get("pid") if isinstance(result, dict) else None
                self.ccm.connected(now_ms, ccm_pid)
                if isinstance(ccm_pid, int) and ccm_pid > 0:
                    out.append(WatchPid("ccm", ccm_pid))  # its death is our quorum's: know at once
        elif src == "lrmd":
            if tag == "signon":
                if not msg.ok:
                    self.retry_at["lrmd"] = now_ms + CONNECT_RETRY_MS
                    return
                self.lrmd.connected(now_ms, None)
                out.append(self.lrmd.request(now_ms, lambda rid: PingRequest(rid), "lrmd_pid"))
                out.append(self.lrmd.request(now_ms, lambda rid: lrm.ListResources(rid), "list"))
            elif tag == "lrmd_pid":
                if isinstance(result, dict):
                    self.lrmd.server_pid = result.get("pid")
            elif tag == "list":
                out.append(self.lrmd.request(now_ms, lambda rid: lrm.History(rid), "history", context=result))
            elif tag == "history":
                listed = pending.context if isinstance(pending.context, list) else []
                history = result if isinstance(result, dict) else {}
                self.lrm.rebuild(listed, history)
                self.registered = {r["rsc_id"]: (r["rsc_class"], r.get("provider") or "", r["rsc_type"],
                                                 tuple(sorted(dict(r.get("params") or {}).items())))
                                   for r in listed if isinstance(r, dict) and "rsc_id" in r}
                self.recurring = {}
                for rsc_id, hist in history.items():
                    reg = self.registered.get(rsc_id)
                    for op in (hist.get("recurring") or []) if isinstance(hist, dict) and reg else []:
                        task, interval = str(op.get("operation")), int(op.get("interval_ms") or 0)
                        key, digest = split_user_data(str(op.get("user_data") or ""), False)
                        self.recurring[(rsc_id, task, interval)] = ActionCtx(
                            0, 0, key, rsc_id, task, interval, digest, reg[0], reg[1], reg[2])  # type: ignore[index]
                self.lrm_ready = True
                out.append(Log("info", f"resource history from the lrmd: {len(self.lrm.resources)} resources, "
                                       f"active here: {', '.join(self.lrm.active()) or 'none'}"))
                self._lrm_changed(now_ms, out)
                self._lrm_reset_sent(now_ms, out)
            elif tag == "exec":
                ctx = self.exec_waiting.pop(pending.context, None)
                if ctx is None:
                    return
                if not msg.ok:
                    self._action_failed(now_ms, ctx, msg.error or "the lrmd refused the operation", out)
                    return
                call_id = int(result.get("call_id", 0)) if isinstance(result, dict) else 0
                self.running[call_id] = ctx
                self.unconfirmed.add(call_id)
                if ctx.interval_ms > 0:
                    self.recurring[(ctx.rsc_id, ctx.task, ctx.interval_ms)] = ctx
            elif tag == "cancel":
                ctx = pending.context
                if isinstance(ctx, ActionCtx):
                    self._action_done(now_ms, ctx, True, msg.error or "", out)
            elif tag == "register" and not msg.ok:
                out.append(Log("error", f"the lrmd refused a resource: {msg.error}"))
        elif src == "tengine":
            if tag == "signon" and msg.ok:
                self.tengine.connected(now_ms, result.get("pid") if isinstance(result, dict) else None)
            elif tag == "graph":
                if not msg.ok:
                    out.append(Log("error", f"the transition engine refused transition {pending.context}: {msg.error}"))
                    self.te_running = None
                    self.fsa = "idle"
                    self.need_pe = True
        elif src == "pengine" and tag == "schedule":
            self._pe_reply(now_ms, pending, msg, out)
        elif src == "pengine" and tag == "ahead":
            self._ahead_reply(now_ms, pending, msg, out)
        elif src == "stonithd":
            if tag == "signon":
                if not msg.ok:
                    self.retry_at["stonithd"] = now_ms + CONNECT_RETRY_MS
                    return
                self.stonithd.connected(now_ms, result.get("pid") if isinstance(result, dict) else None)
                self.devices_sent = None
                self._sync_devices(now_ms, out)
            elif tag == "fence":
                target = str(pending.context)
                wait = self.fencing.get(target)
                if not msg.ok:
                    self._fence_failed(target, msg.error or "stonithd refused", out)
                elif wait is not None and isinstance(result, dict):
                    self.fencing[target] = wait[:3] + (str(result.get("op_id") or ""),)

    # -- the local API -------------------------------------------------------------------------------------
    def _api(self, now_ms: int, ident: bytes, msg: Any, out: list[object]) -> None:
        rid = getattr(msg, "request_id", 0)

        def reply(result: Any = None, error: Optional[str] = None) -> None:
            out.append(Send(ident, Reply(rid, error is None, result, error)))

        user = getattr(msg, "user", "")
        user = user if access.acl_required(user) else ""
        if user and isinstance(msg, (crm.CibUpdate, crm.NodeAttr, crm.Cleanup, crm.Standby)):
            if not acl.enabled(self.cib.root):
                self.count("acl_refused")
                out.append(Log("warn", f"refused {type(msg).__name__} from user {user}: enable-acl is not true"))
                reply(error=f"permission denied: user {user} may not change the CIB: ACLs are disabled "
                            f"(enable-acl is not true), so changes need root")
                return
        if isinstance(msg, crm.CibQuery):
            try:
                if user and acl.enabled(self.cib.root):
                    xml = self._acl_query(user, list(msg.groups), msg.section)
                else:
                    xml = self.cib.xml() if msg.section is None else to_xml(self.cib.section(msg.section), indent=None)
            except CibError as exc:
                if user:
                    self.count("acl_refused")
                    out.append(Log("warn", f"refused CIB query from user {user}: {exc}"))
                reply(error=str(exc))
                return
            reply({"xml": xml, "version": list(self.cib.version), "digest": self.cib.digest(), "dc": self.dc,
                   "joined": self.joined or self.is_dc})
        elif isinstance(msg, crm.CibUpdate):
            self._request(now_ms, "cib", {"op": msg.op, "section": msg.section, "xml": msg.xml,
                                          "origin": msg.origin or "<input>", **_acl_args(msg)}, out, (ident, rid))
        elif isinstance(msg, crm.NodeAttr):
            if msg.lifetime not in ("reboot", "forever"):
                reply(error=f"lifetime must be reboot or forever, not {msg.lifetime!r}")
                return
            self._request(now_ms, "attr", {"node": msg.node, "name": msg.name, "value": msg.value,
                                           "lifetime": msg.lifetime, **_acl_args(msg)}, out, (ident, rid))
        elif isinstance(msg, crm.Cleanup):
            self._request(now_ms, "cleanup", {"rsc": msg.rsc, "node": msg.node, **_acl_args(msg)}, out, (ident, rid))
        elif isinstance(msg, crm.Standby):
            if self.haresources and not user:
                from crmd import standby
                standby.standby_requested(self, msg.which, msg.takeover, out)
            self._request(now_ms, "standby", {"node": msg.node or self.me, "which": msg.which,
                                              "takeover": msg.takeover, **_acl_args(msg)}, out, (ident, rid))
        elif isinstance(msg, crm.CrmStatus):
            reply(self.status())
        elif isinstance(msg, crm.CrmSubscribe):
            self.subscribers[ident] = msg.pid
            out.append(WatchPid(ident, msg.pid))
            reply({"pid": self.config.pid})
        elif isinstance(msg, PingRequest):
            reply({"daemon": "crmd", "pid": self.config.pid})
        else:
            self.count("api_unexpected")
            if isinstance(rid, int) and rid:
                reply(error=f"crmd does not handle {type(msg).__name__}")

    def _acl_query(self, user: str, groups: list[str], section: Optional[str]) -> str:
        """The CIB (or a section) as `user` may see it; CibError when nothing of it."""
        rules = acl.user_acl(self.cib.root, user, groups)
        seen = acl.filter_read(self.cib.root, rules)
        if seen is None:
            raise CibError(f"permission denied: {acl.refusal(rules) or f'user {user} may read nothing of the CIB'}")
        if section is None:
            return to_xml(seen, indent=None)
        return to_xml(Cib(seen).section(section), indent=None)

    def _acl_check(self, args: dict[str, Any], edits: list[Edit]) -> list[str]:
        """What of `edits` the request's user may not do (empty: root, a daemon, or allowed)."""
        user = str(args.get("user") or "")
        if not user:
            return []
        if not acl.enabled(self.cib.root):
            return [f"permission denied: user {user} may not change the CIB: ACLs are disabled "
                    f"(enable-acl is not true), so changes need root"]
        rules = acl.user_acl(self.cib.root, user, [str(g) for g in args.get("groups") or []])
        after = Cib(self.cib.root.copy())
        after.apply(edits, bump=False)
        problems = acl.check_write(self.cib.root, after.root, rules)
        return [f"permission denied: user {user} {p}" for p in problems]

    def _acl_status_write(self, args: dict[str, Any]) -> list[str]:
        """A cleanup rewrites histories in the status section: its user must be allowed to write it."""
        user = str(args.get("user") or "")
        if not acl.enabled(self.cib.root):
            return self._acl_check(args, [])
        rules = acl.user_acl(self.cib.root, user, [str(g) for g in args.get("groups") or []])
        status = self.cib.root.find("status")
        if status is not None and acl.Marked(self.cib.root, rules).allows(status, acl.WRITE):
            return []
        return [f"permission denied: user {user} may not clean up resources (needs write access to /cib/status)"
                + (f": {acl.refusal(rules)}" if acl.refusal(rules) else "")]

    def status(self) -> dict[str, Any]:
        view = self.view
        return {"node": self.me, "role": self.role, "dc": self.dc, "view": view.instance if view else 0,
                "members": list(view.members) if view else [], "quorum": bool(view and view.quorum),
                "joined": self.joined or self.is_dc, "state": self.fsa if self.is_dc else
                ("S_NOT_DC" if self.joined else "S_PENDING"), "transition": self.transition_id,
                "version": list(self.cib.version), "digest": self.cib.digest(),
                "active": self.lrm.active(), "stopping": self.stopping, "self_fence": self.self_fence()}

    def self_fence(self) -> bool:
        """This node must reset itself (the launcher stops feeding the watchdog): watchdog fencing
        is configured (stonith-watchdog-timeout), and quorum that this node had is gone (ccm says
        so, or ccm is lost): the others will count this node as fenced once stonith-watchdog-timeout
        has passed, so it must not run anything by then."""
        if not self.had_quorum or fencing.watchdog_timeout_ms(self.cib) <= 0 or not fencing.enabled(self.cib):
            return False
        return self.ccm_lost or self.view is None or not self.view.quorum

    def _request(self, now_ms: int, op: str, args: dict[str, Any], out: list[object],
                 reply_to: Optional[tuple[bytes, int]]) -> None:
        """A change for the DC: carried out here if we are the DC, forwarded otherwise."""
        rid = self.ids()
        req = crm.CibRequest(self.me, rid, op, args)
        if reply_to is not None:
            self.tool_waiting[rid] = reply_to
        if self.is_dc and self.round is None or (self.is_dc and self.round is not None and self.round.phase == "done"):
            self._dc_request(now_ms, req, out)
        elif self.is_dc:
            self.queued.append(req)
        elif self.joined and self.dc is not None and self.messaging.up:
            out.append(self._send(self.dc, req))
        else:
            # (without messaging the request would be lost: it goes at the next join)
            self.queued.append(req)

    def _fail_forwarded(self, out: list[object]) -> None:
        """The DC changed (to another node, or to this one): a tool's request that went to the
        old DC and was not answered gets an error now, instead of its client waiting out its
        own timeout (requests still queued here go to the new DC)."""
        for rid in list(self.tool_waiting):
            if not any(q.request_id == rid for q in self.queued):
                self._tool_reply(rid, False, None, "the DC changed while the request was in flight; "
                                                   "it may or may not have been carried out: retry", out)

    def _tool_reply(self, rid: int, ok: bool, result: Any, error: Optional[str], out: list[object]) -> None:
        waiting = self.tool_waiting.pop(rid, None)
        if waiting is not None:
            out.append(Send(waiting[0], Reply(waiting[1], ok, result, error)))

    # -- cluster messages --------------------------------------------------------------------------------
    def _send(self, dest: Optional[str], msg: Any) -> Send:
        return Send("messaging", SendCluster(self.ids(), MSGTYPE, wire.encode(msg), dest))

    def _cluster(self, now_ms: int, cm: ClusterMessage, out: list[object]) -> None:
        try:
            msg = wire.decode(cm.payload)
        except wire.WireError as exc:
            self.count("bad_cluster_messages")
            out.append(Log("warn", f"dropped a bad crmd message from {cm.source}: {exc}"))
            return
        self._dispatch(now_ms, cm.source, msg, out)

    def _dispatch(self, now_ms: int, sender: str, msg: Any, out: list[object]) -> None:
        view = getattr(msg, "view", None)
        if isinstance(view, int):
            mine = self.view.instance if self.view is not None else 0
            if view > mine and type(msg) is crm.LrmRecall and sender == self.dc:
                # dropping chained actions is safe at any time: a recall from our DC in a view we
                # have not installed yet (we may never: it may be a view without us) takes effect
                # now, or the chain runs on meanwhile (hb sim crm --nodes 3 --seed 30417 --fencing on).
                # The action carrying the chain may itself be held for that view, read after this
                # recall: what the recall finds nothing of here is kept for it (Chains.recall with
                # ahead_view; hb sim crm --nodes 5 --seed 110288 --mode haresources)
                pass
            elif view > mine:
                if len(self.held) < HELD_LIMIT:
                    self.held.append((sender, msg))
                else:
                    self.count("held_dropped")
                return
            if view < mine and not (type(msg) in (crm.LrmInvoke, crm.LrmRecall) and sender == self.dc and self.joined):
                # (an action our DC sent before the view changed is still in flight at the DC,
                # which waits for its result: it runs; anything else of an older view is void)
                self.count("stale_messages")
                return
        ahead_view = view if isinstance(view, int) and view > (self.view.instance if self.view is not None else 0) \
            else None  # (only a recall from our DC gets here from a view not installed yet)
        kind = type(msg)
        if kind is crm.Hello:
            self._on_hello(now_ms, msg, out)
        elif kind is crm.JoinOffer:
            self._on_offer(now_ms, sender, msg, out)
        elif kind is crm.JoinRequest:
            self._on_join_request(now_ms, sender, msg, out)
        elif kind is crm.CibFetch:
            if sender == self.dc:
                out.append(self._send(sender, crm.CibFull(msg.view, msg.join_id, self.cib.xml(), self.cib.digest(),
                                                          self.me, list(self.cib_mark))))
        elif kind is crm.CibFull:
            self._on_full(now_ms, sender, msg, out)
        elif kind is crm.JoinAck:
            self._on_ack(now_ms, sender, msg, out)
        elif kind is crm.CibDiff:
            self._on_diff(now_ms, sender, msg, out)
        elif kind is crm.CibAck:
            self._on_cib_ack(sender, msg, out)
        elif kind is crm.CibResync:
            if self.is_dc:
                out.append(self._send(msg.node, crm.CibFull(self.view.instance, self.join_id, self.cib.xml(),  # type: ignore[union-attr]
                                                            self.cib.digest(), self.me, list(self.cib_mark))))
        elif kind is crm.CibRequest:
            if self.is_dc:
                if self.round is not None and self.round.phase != "done":
                    self.queued.append(msg)
                else:
                    self._dc_request(now_ms, msg, out)
            else:
                out.append(self._send(msg.origin, crm.CibReply(msg.request_id, False, None,
                                                               f"{self.me} is not the DC")))
        elif kind is crm.CibReply:
            self._tool_reply(msg.request_id, msg.ok, msg.result, msg.error, out)
        elif kind is crm.LrmInvoke:
            if sender == self.dc:
                self._hold_chain(msg.transition_id, msg.action, msg.then, out)
                self._run_action(now_ms, msg.transition_id, msg.key, msg.action, out)
        elif kind is crm.LrmRecall:
            if sender == self.dc:
                dropped = self.chains.recall(self.dc, msg.transition_id, tuple(msg.action_ids), ahead_view)
                if dropped:
                    self.count("chained_recalled")
                    out.append(self._send(sender, crm.ChainRecalled(self.me, msg.transition_id, tuple(dropped))))
        elif kind is crm.ChainRecalled:
            if self.is_dc:
                self._chain_recalled(msg.node, msg.transition_id, tuple(msg.action_ids), out)
        elif kind is crm.LrmForget:
            if sender == self.dc:
                self._forget(now_ms, msg.rsc, out)
                out.append(self._send(sender, crm.LrmForgotten(self.me, msg.rsc)))
        elif kind is crm.LrmForgotten:
            if self.is_dc:
                self.forgetting.pop((msg.node, msg.rsc), None)
        elif kind is crm.ActionDone:
            if self.is_dc:
                self._te_event_done(msg, out)
        elif kind is crm.ShutdownOk:
            if sender == self.dc and msg.node == self.me and self.stopping:
                self._finish_stop(out)
        elif kind is crm.DcState:
            self._on_dc_state(now_ms, sender, msg, out)
        else:
            self.count("unexpected_cluster_messages")

    # -- membership --------------------------------------------------------------------------------------
    def _membership(self, now_ms: int, ev: MembershipEvent, out: list[object]) -> None:
        if not ev.members:
            return
        old = self.view
        new = View(ev.instance, tuple(ev.members), bool(ev.quorum))
        if new.quorum and self.me in new.members:
            self.had_quorum = True
        for member in new.members:
            if self.fence_failures.pop(member, None) is not None and not self.fence_failures:
                self.fence_retry_at = None  # it is back: failing to fence it no longer holds anything up
        mine = next((inc for node, inc in zip(ev.members, ev.incarnations) if node == self.me), None)
        if old is not None and new.instance < old.instance and not (mine is not None and mine > self.view_incarnation):
            # an older view, late. A restarted ccm (a newer incarnation of ours) may well number
            # its first views below what its predecessor installed: those are the views now
            return
        self.view = new
        if mine is not None:
            self.view_incarnation = mine
        self.member_incarnations = {node: int(inc) for node, inc in zip(ev.members, ev.incarnations)}
        if old is None or old.instance != new.instance:
            self.view_since_ms = now_ms
            self.fenced_in_view = set()
        if new.quorum and self.me in new.members:
            self.fenced_out.difference_update(new.members)  # back: it joins with its own history
        else:
            self.fenced_out = set()  # without quorum we may miss a view that holds them
        self._fenced_members_settle(new)
        if old is None or old.instance != new.instance or new.quorum:
            self.quorum_lapse_since_ms = None
        if old is not None and old.instance == new.instance:
            if old.quorum != new.quorum:
                out.append(Log("info", f"quorum {'gained' if new.quorum else 'lost'} in view {new.instance}"))
                if self.is_dc:
                    self._dc_edits(now_ms, [("set", (), {"have-quorum": "1" if new.quorum else "0"})], out)
                    if not new.quorum and fencing.enabled(self.cib):
                        self._quorum_lapsed(now_ms, new, out)
                    change = "gained" if new.quorum else "lapsed" if self.quorum_lapse_since_ms is not None else "lost"
                    self._want_pe(f"quorum {change}", out)
            return
        lost = [n for n in old.members if n not in new.members] if old is not None else []
        for node in lost:
            self.peers.pop(node, None)
        if self.handover is not None:
            self.handover[1].difference_update(lost)  # a member that left needs no record
            if not self.handover[1]:
                self.handover = None
                self._finish_stop(out)
        was_dc = self.is_dc
        early_join = False
        if new.dc == self.me:
            if not was_dc:
                # what we had forwarded to the old DC may or may not have been carried out
                self._fail_forwarded(out)
                self._void_chains(self.me, out)
                self.role = "dc"
                self.joined = False
                self.joined_nodes = {}
                out.append(RoleChanged(new.instance, "dc", self.me))
                out.append(Log("info", f"this node is the DC of view {new.instance} "
                                       f"({', '.join(new.members)}{', quorate' if new.quorum else ', no quorum'})"))
                self._start_round(now_ms, set(new.members), True, out,
                                  newcomers=set(new.members) - set(old.members if old is not None else ()))
            else:
                out.append(RoleChanged(new.instance, "dc", self.me))
                self._dc_view_change(now_ms, old, new, lost, out)
        else:
            if was_dc:
                out.append(Log("info", f"{new.dc} is the DC of view {new.instance}; giving up the DC role"))
                if self.te_running is not None:
                    out.append(Send("tengine", TeCancel(self.te_running)))
                self._fail_durable_waits(out)
                self._drop_dc()
            same_dc = old is not None and old.dc == new.dc and not was_dc
            if not self.joined:
                self.join_dc = ""  # an acknowledgement of a join of an older view is dropped as stale
            self.role = "member"
            out.append(RoleChanged(new.instance, "member", new.dc))
            if not same_dc:
                # a new DC: we join it from scratch; requests the old one had not answered may
                # or may not have been carried out
                self.joined = False
                self._fail_forwarded(out)
                self._void_chains(new.dc, out)
                early_join = self.lrm_ready and self.messaging.up
        self._hello(now_ms, out)
        if early_join:
            # every member names the same DC from the same view: our answer to its offer can leave
            # now, a trip before the offer arrives (a DC's loss waits for this round before
            # anything is recovered). After the hello: that says we are not joined, and arriving
            # after the round this request completed, it would make the DC join us again
            out.append(self._send(new.dc, self._join_request(new.instance, EARLY_JOIN_ID)))
        held, self.held = self.held, []
        for sender, msg in held:
            self._dispatch(now_ms, sender, msg, out)
        self.chains.forget_early(new.instance)
        if self.pending_offer is not None and self.pending_offer.view == new.instance:
            offer, self.pending_offer = self.pending_offer, None
            self._on_offer(now_ms, offer.dc, offer, out)
        if self.haresources and lost:
            self._log_takeover_start(lost, out)

    def _fenced_members_settle(self, new: View) -> None:
        """A node fenced while our view still held it (`fenced_members`): a view with a newer
        incarnation of it means it came back (it joins with its own history); the first view
        without it, holding the same life until then, is a view it was fenced in (the fencing
        came after everything that life did), as if the notice had come now: not fenced again,
        recorded by the DC at its join, and told to a new DC where our views stayed quorate."""
        for node, (inc, quorate) in list(self.fenced_members.items()):
            if node in new.members:
                if self.member_incarnations.get(node) != inc:
                    del self.fenced_members[node]
                continue
            del self.fenced_members[node]
            self.count("fenced_before_view_loss")
            self.fenced_in_view.add(node)
            if quorate and self.quorate and self.me in new.members and not self.ccm_lost:
                self.fenced_out.add(node)

    def _joined_to(self) -> str:
        if self.is_dc:
            return self.me
        return (self.dc or "") if self.joined else ""

    def _resend_after_signon(self, now_ms: int, out: list[object]) -> None:
        """What went out while we were not signed on to messaging was lost: say hello again (the
        other crmds rejoin us or we rejoin their DC) and, as a DC in a join round, offer it again
        to every member that has not answered."""
        self._hello(now_ms, out)
        rnd = self.round
        if self.is_dc and rnd is not None and rnd.phase == "collecting" and self.view is not None:
            for node in sorted(rnd.expected - set(rnd.requests) - {self.me}):
                out.append(self._send(node, crm.JoinOffer(self.me, self.incarnation, self.view.instance, rnd.join_id)))

    def _hello(self, now_ms: int, out: list[object]) -> None:
        if self.view is not None and self.messaging.up:
            out.append(self._send(None, crm.Hello(self.me, self.incarnation, self.view.instance,
                                                  joined_to=self._joined_to(), join_id=self.join_id,
                                                  join_dc=self.join_dc)))

    def _on_hello(self, now_ms: int, msg: crm.Hello, out: list[object]) -> None:
        if msg.node == self.me:
            return
        known = self.peers.get(msg.node)
        self.peers[msg.node] = msg.incarnation
        self._member_life(msg.node, msg.incarnation)
        if not msg.reply and known != msg.incarnation and self.view is not None and self.messaging.up:
            out.append(self._send(msg.node, crm.Hello(self.me, self.incarnation, self.view.instance, True,
                                                      self._joined_to(), self.join_id, self.join_dc)))
        if self.is_dc and self.view is not None and msg.node in self.view.members:
            joined_by = self.joined_round.get(msg.node)
            if self.joined_nodes.get(msg.node) != msg.incarnation or (
                    msg.joined_to != self.me and not (joined_by is not None and msg.join_dc == self.me
                                                      and msg.join_id == joined_by)):
                # a new crmd, or one that followed another DC meanwhile (another partition)
                self._fail_inflight(msg.node, "its crmd restarted or followed another DC", out)
                rnd = self.round
                if rnd is None or rnd.phase == "done" or msg.node not in rnd.requests or \
                        rnd.requests[msg.node].incarnation != msg.incarnation:
                    self._add_to_round(now_ms, msg.node, out)  # (again: the offer may have been lost)

    def _node_status(self, now_ms: int, ev: NodeStatusEvent, out: list[object]) -> None:
        """Messaging gave up on a peer for a while: what it sent us, or we sent it, in that time
        may be lost (messaging delivers in order and exactly once only while a peer lives).
        Membership may not change at all (a short one-way cut), so the join is redone: a member
        that lost the DC asks to join again when the DC is back; a DC treats the peer's crmd as
        gone (its actions failed) and offers it a join when it is back."""
        node = ev.node
        if node == self.me:
            self._local_status(ev.status, out, now_ms)
            return
        if ev.node_type == "ping":
            self.ping_nodes[node] = ev.status == "ping"
            return
        if ev.node_type == "normal":
            if _heard(ev.status, ev.generation):
                if node not in self.alive:
                    self.heard_again_ms[node] = now_ms
                self._heard_life(now_ms, node, ev.generation)
                self.alive.add(node)
            else:
                self.alive.discard(node)
        if ev.node_type != "normal" or self.view is None or node not in self.view.members:
            return
        if ev.status == "dead":
            if not self.is_dc and node == self.dc and (self.joined or self.join_dc == node):
                # joined, or our join is under way (its acknowledgement may be what was lost)
                out.append(Log("warn", f"messaging lost the DC {node} for a while; joining it again"))
                self.joined = False
                self.join_dc = ""  # no join of ours is on its way
                # (it may have been restarted, or what we forwarded lost on the way)
                self._fail_forwarded(out)
            elif self.is_dc and node in self.joined_nodes:
                self._peer_left(now_ms, node, out)
        elif ev.status in ("up", "active") and ev.previous == "dead":
            if not self.is_dc and node == self.dc and not self.joined:
                self._hello(now_ms, out)
            elif self.is_dc and node not in self.joined_nodes:
                self._add_to_round(now_ms, node, out)

    def _alive_outside_view(self) -> list[str]:
        """Nodes messaging hears that the current view does not hold yet (membership settling).
        Not a node fenced in this view: messaging counts it alive until its deadtime runs out
        (ccm drops a fenced life at once), yet it is off and runs nothing; rebooted, it joins
        with a new life and a new view."""
        if self.view is None:
            return []
        return sorted(n for n in self.alive if n not in self.view.members and n in self.config.nodes
                      and n not in self.fenced_in_view)

    def _rejoin_wait_until(self) -> Optional[int]:
        """Until when a DC whose links just came back after an isolation waits before deciding.

        Its view is still the one it formed alone, and in that view (two nodes, or quorum
        ignored) it would take back what its peers took over while it was cut off, in the few
        milliseconds before messaging reports the peers alive and ccm merges the views: the
        address would be answered twice. A view of itself alone formed right after (the peers'
        deadtime ran out while it was cut off) is no better. So it waits for a newer view with
        other members, or settle_ms when none comes (the peers are really gone)."""
        if self.reconnected is None or self.view is None:
            return None
        at_ms, instance = self.reconnected
        if set(self.view.members) >= set(self.config.nodes) or \
                (self.view.instance != instance and len(self.view.members) > 1):
            return None
        return at_ms + self.config.settle_ms

    def _local_link(self, now_ms: int, link: str, status: str, out: list[object]) -> None:
        """A node whose every cluster medium is down is cut off from everyone (its NIC lost
        carrier): it gives up its resources, as they serve nobody there and the other side takes
        them over, and takes them back once a link is up (as heartbeat's ipfail did). It does so
        as a standby the DC sets and lifts, marked as its own (`pyhb-isolated`).

        The stops themselves do not wait for a transition, on the DC either: the other side
        takes over within a deadtime, and the policy engine or the transition engine may be
        restarting just then (a graph handed to a dead engine is only known lost a poll later).
        While cut off, nothing of a transition starts here (`_run_action`)."""
        self.local_links[link] = status
        isolated = bool(self.local_links) and all(s == "dead" for s in self.local_links.values())
        if isolated == self.isolated:
            return
        self.isolated = isolated
        if isolated:
            out.append(Log("warn", f"every cluster link of {self.me} is down "
                                   f"({', '.join(sorted(self.local_links))}): giving up its resources"))
            self.reconnected = None
            self._give_up_locally(now_ms, out)
        else:
            out.append(Log("info", f"a cluster link of {self.me} is up again: its resources may come back"))
            self.reconnected = (now_ms, self.view.instance if self.view is not None else 0)
            self.giving_up = []  # what was not stopped yet stays: the DC decides again
        self._ask_isolation(now_ms, out)

    def _ask_isolation(self, now_ms: int, out: list[object]) -> None:
        self.isolation_asked_of = self._join_identity()
        self._request(now_ms, "isolated", {"node": self.me, "on": self.isolated}, out, None)

    def _sync_isolation(self, now_ms: int, out: list[object]) -> None:
        """The standby marked as this node's own (`pyhb-isolated`) in the CIB of every DC it
        joins is what `_local_link` last asked for: set while cut off, lifted once a link is
        up. As for the shutdown request (`_sync_shutdown`), the request goes to the DC of the
        moment, which may change before recording it; a lift lost that way would keep the node
        in standby for good. Read at every new join, asked again when the replica differs."""
        ident = self._join_identity()
        if ident is None or ident == self.isolation_asked_of:
            return
        nid = rq.node_ids(self.cib).get(self.me, self.me)
        marked = rq.transient_attrs(self.cib, nid).get(ISOLATED_ATTR) is not None
        if marked == self.isolated:
            self.isolation_asked_of = ident
            return
        self.count("isolation_asked_again")
        out.append(Log("info", f"the DC {ident[0]} (join {ident[2]}) has this node "
                               f"{'not ' if self.isolated else ''}marked as cut off; asking again"))
        self._ask_isolation(now_ms, out)

    def _note_incarnation(self, ev: MembershipEvent) -> None:
        for node, inc in zip(ev.members, ev.incarnations):
            if node == self.me:
                self.my_ccm_incarnation = inc

    def _membership_back(self, ev: MembershipEvent) -> bool:
        """After losing ccm or messaging, was this view formed with both back? ccm joins as a new
        incarnation when it starts and when messaging restarted, so a view counts once it holds
        this node with a newer incarnation than the views before the loss. A view ccm formed
        while messaging was gone is the view of a node cut off (alone, and in a two-node
        cluster still quorate): it does not count."""
        mine = [inc for node, inc in zip(ev.members, ev.incarnations) if node == self.me]
        return bool(mine) and mine[0] > self.lost_incarnation

    def _fenced_before_takeover(self) -> bool:
        """Must the other nodes fence this one before they start what it runs? Yes where fencing
        is enabled and done by devices alone: their policy engine schedules a lost member's
        fencing ahead of its recovery and a failed fencing moves nothing. Then a node that lost
        ccm or messaging keeps serving until it is fenced (Pacemaker's node whose corosync died)
        rather than stopping at once and leaving the service down for a detection, a fencing and
        the starts; and if its daemon comes back and it joins first, nothing moves. Not with
        watchdog fencing, where the others count it fenced once stonith-watchdog-timeout has
        passed, nor without fencing, where they start it after a deadtime or two: there it stops
        what it runs itself (`_give_up_locally`)."""
        return fencing.enabled(self.cib) and fencing.watchdog_timeout_ms(self.cib) <= 0

    def _give_up_locally(self, now_ms: int, out: list[object]) -> None:
        """A member cut off on every link, or a node whose ccm died where the others need not fence
        it first (`_fenced_before_takeover`), stops what it runs itself,
        at once: its DC cannot hear the standby it asks for (or membership is unknown), and the
        other nodes take the resources over within a deadtime or two, so waiting for a
        transition would leave them running twice. Stops run one at a
        time, the most recently started first (the reverse of the order they were started in,
        which honoured every ordering constraint); the results enter the history as any other."""
        def started(rsc_id: str) -> int:
            rsc = self.lrm.resources[rsc_id]
            calls = [r.call_id for r in rsc.entries.values() if r.task in ("start", "promote", "migrate_from")]
            return max(calls) if calls else 0
        active = self.lrm.active()
        self.giving_up = sorted(active, key=lambda r: (-started(r), r))
        if self.giving_up:
            out.append(Log("info", f"stopping {', '.join(self.giving_up)} on {self.me} (cut off)"))
        self._give_up_next(now_ms, out)

    def _give_up_next(self, now_ms: int, out: list[object]) -> None:
        while self.giving_up:
            rsc_id = self.giving_up[0]
            rsc = self.lrm.resources.get(rsc_id)
            if rsc is None:
                self.giving_up.pop(0)
                continue
            action = {"id": 0, "kind": "rsc_op", "operation": "stop", "operation_key": f"{rsc_id}_stop_0",
                      "on_node": self.me, "on_node_uuid": self.me, "router_node": None, "rsc_id": rsc_id,
                      "rsc_long_id": rsc_id, "rsc_class": rsc.rsc_class, "rsc_provider": rsc.provider or None,
                      "rsc_type": rsc.rsc_type,
                      "attrs": {"CRM_meta_timeout": str(rq.op_timeout_ms(self.cib, rsc_id, "stop")),
                                "CRM_meta_on_node": self.me}, "downed": []}
            self._run_action(now_ms, GIVE_UP, transition_key(0, GIVE_UP, 0), action, out)
            return

    def _local_status(self, status: str, out: list[object], now_ms: int = 0) -> None:
        """Messaging says `active` once every node was heard or initdead passed (Comm_now_up).
        Its node table is asked once more then: the answer comes after every status event
        messaging sent before it, so the nodes heard by then are all known."""
        if status == "active" and not self.comm_up and not self.messaging.outstanding("comm_nodes"):
            out.append(self.messaging.request(now_ms, lambda rid: HbQuery(rid, "nodes"), "comm_nodes"))

    def _peer_left(self, now_ms: int, node: str, out: list[object]) -> None:
        """A crmd left while its node stays (crash or stop): it joins again when it comes back."""
        self.peers.pop(node, None)
        if self.is_dc:
            self._fail_inflight(node, "its crmd left", out)
        if self.is_dc and node in self.joined_nodes:
            out.append(Log("info", f"the crmd of {node} left"))
            del self.joined_nodes[node]
            self._durable_gone({node}, out)
            if self.round is not None and node in self.round.expected and node not in self.round.requests:
                self.round.expected.discard(node)
                self._round_progress(now_ms, out)

    # -- the join: DC side ---------------------------------------------------------------------------------
    def _start_round(self, now_ms: int, nodes: set[str], full: bool, out: list[object],
                     newcomers: Optional[set[str]] = None) -> None:
        assert self.view is not None
        self.join_id += 1
        newcomers = set(newcomers or ())
        if self.round is not None and self.round.phase != "done":
            nodes |= self.round.expected
            full = full or self.round.full
            newcomers |= self.round.newcomers
        self.round = Round(self.join_id, self.view.instance, set(nodes) | {self.me}, deadline_ms=now_ms + self.config.join_ms,
                           full=full, newcomers=newcomers - {self.me})
        if self.te_running is not None:
            out.append(Send("tengine", TeAbort(INFINITY, "restart", "a node is joining")))
        offer = crm.JoinOffer(self.me, self.incarnation, self.view.instance, self.join_id)
        for node in sorted(self.round.expected):
            if node != self.me:
                out.append(self._send(node, offer))
        self._self_request(now_ms, out)

    def _add_to_round(self, now_ms: int, node: str, out: list[object]) -> None:
        assert self.view is not None
        rnd = self.round
        if rnd is not None and rnd.phase == "collecting":
            if node not in rnd.expected:
                rnd.expected.add(node)
                rnd.deadline_ms = max(rnd.deadline_ms, now_ms + self.config.join_ms)
            out.append(self._send(node, crm.JoinOffer(self.me, self.incarnation, self.view.instance, rnd.join_id)))
            rnd.requests.pop(node, None)
            return
        self._start_round(now_ms, {node}, False, out)

    def _self_request(self, now_ms: int, out: list[object]) -> None:
        rnd = self.round
        if rnd is None or not self.lrm_ready:
            return
        rnd.requests[self.me] = self._join_request(rnd.view, rnd.join_id)
        self._drop_superseded_updates(self.me)
        self._round_progress(now_ms, out)

    def _held_for(self, node: str) -> list[int]:
        """The requests of `node` this DC holds to answer later: queued while its round ran (they
        are carried out right after it), or carried out and waiting for the members' acks."""
        return [q.request_id for q in self.queued if q.origin == node and q.op not in ("lrm", "lrm_replace")] + \
            [wait.rid for wait in self.durable_wait if wait.origin == node]

    def _join_request(self, view: int, join_id: int) -> crm.JoinRequest:
        # our requests already on their way to a DC: the acknowledgement of this join says which
        # of them that DC holds (a DC's messages to us arrive in order: answers to the others
        # arrive before the acknowledgement, or they were lost)
        self.forwarded_at_join = {rid for rid in self.tool_waiting if not any(q.request_id == rid for q in self.queued)}
        return crm.JoinRequest(self.me, self.incarnation, view, join_id, list(self.cib.version), self.cib.digest(),
                               self.lrm.xml(self._pending_ops()), self.stopping, self.lrm_serial,
                               self._own_fenced_claims(), list(self.cib_mark))

    def _pending_ops(self) -> tuple[tuple[OpRecord, str, str, str], ...]:
        """Non-recurring actions this node is running (an older DC's, still in flight): the join
        shows them as pending, so the new DC does not start elsewhere what is starting here."""
        found = []
        now_s = self.wall_s(self.last_step_ms or 0)
        for ctx in list(self.exec_waiting.values()) + list(self.running.values()):
            if ctx.interval_ms == 0 and ctx.task not in ("monitor", "cancel", "delete", "notify"):
                source, _, target = ctx.hint.partition(":") if ctx.task.startswith("migrate_") else ("", "", "")
                found.append((OpRecord(ctx.rsc_id, ctx.task, 0, 0, 0, 0, ctx.key, ctx.digest, now_s,
                                       migrate_source=source, migrate_target=target),
                              ctx.rsc_class, ctx.provider, ctx.rsc_type))
        return tuple(found)

    def _on_join_request(self, now_ms: int, sender: str, msg: crm.JoinRequest, out: list[object]) -> None:
        rnd = self.round
        if msg.join_id == EARLY_JOIN_ID and self.is_dc and rnd is not None and rnd.phase == "collecting" \
                and msg.view == rnd.view and sender in rnd.expected and sender not in rnd.requests:
            # sent when the member installed the view that names us (see _membership): as good
            # as an answer to our offer, one trip sooner; its answer to the offer, if it comes
            # while we still collect, replaces it
            self.count("early_join_requests")
            self.peers[sender] = msg.incarnation
            self._member_life(sender, msg.incarnation)
            rnd.requests[sender] = msg
            self._drop_superseded_updates(sender)
            self._round_progress(now_ms, out)
            return
        if not self.is_dc or rnd is None or rnd.phase != "collecting" or msg.join_id != rnd.join_id:
            self.count("stale_join_requests")
            return
        self.peers[sender] = msg.incarnation
        self._member_life(sender, msg.incarnation)
        rnd.expected.add(sender)
        rnd.requests[sender] = msg
        self._drop_superseded_updates(sender)
        self._round_progress(now_ms, out)

    def _drop_superseded_updates(self, node: str) -> None:
        """A join request carries the node's whole history: the history updates it sent before
        (queued here while the round runs; a node's messages arrive in order) are in it, and
        applied after the round's edits they would put back what that history no longer holds
        (a monitor cancelled since, of a resource stopped since). Their history entries are
        dropped; what else a result brings is not in the history and stays (its fail count,
        and its confirmation to the transition engine that waits for it)."""
        kept = []
        for req in self.queued:
            now = _superseded(req) if req.origin == node else req
            if now is not None:
                kept.append(now)
        self.queued = kept

    def _round_progress(self, now_ms: int, out: list[object]) -> None:
        rnd = self.round
        if rnd is None or rnd.phase != "collecting" or self.me not in rnd.requests:
            return
        if not rnd.expected.issubset(rnd.requests):
            return
        self._round_choose(now_ms, out)

    def _round_timeout(self, now_ms: int, out: list[object]) -> None:
        rnd = self.round
        assert rnd is not None
        if rnd.phase == "collecting":
            missing = sorted(rnd.expected - set(rnd.requests))
            if self.me not in rnd.requests:
                rnd.deadline_ms = now_ms + self.config.join_ms  # our own lrmd is not ready yet
                return
            out.append(Log("warn", f"join {rnd.join_id}: no answer from {', '.join(missing)}; going on without"))
            rnd.expected -= set(missing)
            self._round_choose(now_ms, out)
        elif rnd.phase == "fetching":
            out.append(Log("warn", f"join {rnd.join_id}: {rnd.fetch_from} did not send its CIB; keeping ours"))
            self._round_complete(now_ms, None, out)

    def _round_choose(self, now_ms: int, out: list[object]) -> None:
        rnd = self.round
        assert rnd is not None
        mine = self.cib.version
        best, best_key = self.me, (self.cib_mark, mine)
        for node, req in sorted(rnd.requests.items()):
            key = (_mark(req.quorate), tuple(req.version))
            if key > best_key and req.digest != self.cib.digest():
                best, best_key = node, key
        best_version = best_key[1]
        if best != self.me:
            rnd.phase = "fetching"
            rnd.fetch_from = best
            rnd.deadline_ms = now_ms + self.config.join_ms
            out.append(Log("info", f"join {rnd.join_id}: {best} has a newer CIB {_v(best_version)} than ours "
                                   f"{_v(mine)}; fetching it"))
            out.append(self._send(best, crm.CibFetch(rnd.view, rnd.join_id)))
            return
        self._round_complete(now_ms, None, out)

    def _on_full(self, now_ms: int, sender: str, msg: crm.CibFull, out: list[object]) -> None:
        rnd = self.round
        if self.is_dc:
            if rnd is not None and rnd.phase == "fetching" and sender == rnd.fetch_from and msg.join_id == rnd.join_id:
                try:
                    fetched = Cib.from_xml(msg.xml, f"<CIB of {sender}>")
                except CibError as exc:
                    out.append(Log("error", f"the CIB {sender} sent is unreadable ({exc}); keeping ours"))
                    fetched = None
                self._round_complete(now_ms, fetched, out, _mark(msg.quorate))
            return
        if sender != self.dc:
            return
        try:
            cib = Cib.from_xml(msg.xml, f"<CIB from {sender}>")
        except CibError as exc:
            out.append(Log("error", f"the CIB from the DC is unreadable: {exc}"))
            return
        config_changed = _config_version(cib) != _config_version(self.cib) or \
            _config_digest(cib) != _config_digest(self.cib)
        self.cib = cib
        config_changed |= _mark(msg.quorate) != self.cib_mark  # (the mark is kept on disk too)
        self.cib_mark = _mark(msg.quorate)
        self.resync_wanted = False
        if cib.digest() != msg.digest:
            out.append(Log("error", f"the CIB from {sender} does not match its digest; asking again"))
            self._resync(out)
            return
        out.append(CibChanged(cib.version, cib.digest()))
        if config_changed:
            out.append(SaveCib(_disk(cib), self.cib_mark))
        # (a DC that waits for our acknowledgement of a diff we could not apply gets it now)
        out.append(self._send(sender, crm.CibAck(self.me, list(cib.version))))

    def _round_complete(self, now_ms: int, fetched: Optional[Cib], out: list[object],
                        fetched_quorate: Mark = (0, 0, 0)) -> None:
        rnd = self.round
        assert rnd is not None and self.view is not None
        rnd.phase = "done"
        if fetched is not None:
            adopt_config(self.cib, fetched)
            self.cib_mark = fetched_quorate
            # a change still waiting for a majority is gone with our configuration (the members'
            # acknowledgements of the adopted one would count for it: its version is as new)
            self._fail_durable_waits(out, "a join took a newer configuration than this DC's, made with a "
                                          "majority elsewhere: the change is undone; check and retry")
            out.append(Log("info", f"join {rnd.join_id}: took the CIB of {rnd.fetch_from}, now {_v(self.cib.version)}"))
            out.append(SaveCib(_disk(self.cib), self.cib_mark))
            for node in sorted(self.joined_nodes):
                if node not in rnd.requests and node != self.me:
                    out.append(self._send(node, crm.CibFull(rnd.view, rnd.join_id, self.cib.xml(), self.cib.digest(),
                                                            self.me, list(self.cib_mark))))
        joiners = sorted(rnd.requests)
        # members already joined follow the diff; the joiners get the whole result with their ack
        histories: list[tuple[str, XNode]] = []
        self._dc_edits(now_ms, self._join_edits(rnd, now_ms, histories), out)
        for node, lrm_elem in histories:
            self._confirm_from_history(node, lrm_elem, out)
        xml, digest = self.cib.xml(), self.cib.digest()
        for node in joiners:
            self.joined_nodes[node] = rnd.requests[node].incarnation
            self.joined_round[node] = rnd.join_id
            for tid, action_id, target in self.held_actions.pop(node, []):
                out.append(Send("tengine", TeEvent(tid, action_id, node, 1, 4, target)))
            if node != self.me:
                out.append(self._send(node, crm.JoinAck(rnd.view, rnd.join_id, self.me, list(self.cib.version),
                                                        digest, xml, rnd.requests[node].serial, list(self.cib_mark),
                                                        self.incarnation, self._held_for(node))))
        self.joined = True
        out.append(Log("info", f"join {rnd.join_id} of view {rnd.view} complete: {', '.join(joiners)}"))
        self._want_pe(f"join {rnd.join_id}", out)
        queued, self.queued = self.queued, []
        for req in queued:
            self._dc_request(now_ms, req, out)
        self._announce(now_ms, "joined", out)

    def _join_edits(self, rnd: Round, now_ms: int, histories: list[tuple[str, XNode]]) -> list[Edit]:
        """The edits that record a completed round; the joiners' histories go to `histories`."""
        assert self.view is not None
        view = self.view
        edits: list[Edit] = []
        ids = rq.node_ids(self.cib)
        for node in self.config.nodes:
            if node not in ids:
                edits.append(("put", rq.CONFIG + (("nodes", None), ("node", node)),
                              f'<node id="{_esc(node)}" uname="{_esc(node)}" type="member"/>'))
                ids[node] = node
        for node in view.members:
            if node not in ids:
                edits.append(("put", rq.CONFIG + (("nodes", None), ("node", node)),
                              f'<node id="{_esc(node)}" uname="{_esc(node)}" type="member"/>'))
                ids[node] = node
        for node, req in sorted(rnd.requests.items()):
            nid = ids[node]
            try:
                lrm_elem = parse_xml(req.lrm, f"<history of {node}>")
            except ConfigError:
                lrm_elem = XNode("lrm", {"id": nid})
            lrm_elem.set("id", nid)
            self._drop_forgotten(node, lrm_elem)
            edits.append(("put", rq.state_path(nid) + (("lrm", nid),), to_xml(lrm_elem, indent=None)))
            histories.append((node, lrm_elem))
            edits.append(("set", rq.state_path(nid), {"uname": node, "in_ccm": "true", "crmd": "online",
                                                      "join": "member",
                                                      "expected": "down" if req.shutdown else "member"}))
        if rnd.full:
            for node in sorted(ids):
                if node not in view.members:
                    edits.extend(self._node_gone_edits(node, ids[node]))
        for node in sorted(self._fenced_claims(rnd) | (self.fenced_in_view - set(view.members))):
            # (fenced in this view while outside it, seen by this DC: Pacemaker's stonith clean-up
            # list, which a new DC writes; the DC that fenced it may be gone, its record with it)
            if node in ids:
                edits.extend(fencing.fenced_edits(self.cib, node, ids[node]))
        if self.haresources:
            from crmd import standby
            for node in sorted(rnd.requests):
                if node != self.me or rnd.full:
                    edits.extend(standby.lift(self, node, sticky_home=node))
        edits.append(("set", (), {"have-quorum": "1" if view.quorum else "0", "dc-uuid": ids.get(self.me, self.me)}))
        if rnd.full:
            edits.extend(self._dc_properties())
        return edits

    def _dc_properties(self) -> list[Edit]:
        """What a new DC writes into cib-bootstrap-options (when it differs): the software it runs,
        and the cluster layer (Pacemaker's schema refuses the word heartbeat there)."""
        wanted = {"dc-version": self.config.version, "cluster-infrastructure": "pyheartbeat"}
        base = rq.CONFIG + (("crm_config", None), ("cluster_property_set", "cib-bootstrap-options"))
        current: dict[str, str] = {}
        props = resolve(self.cib.root, base)
        for nv in props.findall("nvpair") if props is not None else []:
            current[nv.get("name") or ""] = nv.get("value") or ""
        if self.config.watchdog or current.get("have-watchdog", "false") != "false":
            # this node's launcher feeds a watchdog (ha.cf `watchdog`): watchdog self-fencing counts
            # as a fencing device for the policy engine (Pacemaker's have-watchdog)
            wanted["have-watchdog"] = "true" if self.config.watchdog else "false"
        # (crmd.startup leaves these out when it compares a generated CIB with the one on disk)
        assert set(wanted) <= set(DC_PROPERTIES), f"a DC property crmd.startup does not know: {set(wanted)}"
        edits: list[Edit] = []
        if self.cib.root.get("crm_feature_set") != FEATURE_SET:
            # the feature set decides how the policy engine reads the history (fail counts per
            # operation since 3.0.13): the DC's is the cluster's
            edits.append(("set", (), {"crm_feature_set": FEATURE_SET}))
        for name, value in wanted.items():
            if current.get(name) != value:
                nv_id = f"cib-bootstrap-options-{name}"
                existing = next((nv.get("id") for nv in props.findall("nvpair") if nv.get("name") == name), None) \
                    if props is not None else None
                if existing:
                    edits.append(("set", base + (("nvpair", existing),), {"value": value}))
                else:
                    edits.append(("put", base + (("nvpair", nv_id),),
                                  f'<nvpair id="{nv_id}" name="{name}" value="{_esc(value)}"/>'))
        return edits

    def _node_gone_edits(self, node: str, nid: str) -> list[Edit]:
        state = resolve(self.cib.root, rq.state_path(nid))
        if state is None:
            # never seen by this replica (a DC that started without it): nothing is known of it,
            # and saying it is cleanly down would tell the policy engine it runs nothing; left
            # out, the node is "unseen" (fenced first when startup-fencing is on)
            return []
        edits: list[Edit] = [("set", rq.state_path(nid), {"uname": node, "in_ccm": "false", "crmd": "offline",
                                                          "join": "down"})]
        if state.get("expected") is None:
            edits[0][2]["expected"] = "down"
        if state.find("transient_attributes") is not None:
            edits.append(("del", rq.state_path(nid) + (("transient_attributes", nid),)))
        return edits

    def _dc_view_change(self, now_ms: int, old: Optional[View], new: View, lost: list[str], out: list[object]) -> None:
        """An established DC sees a new view: update lost nodes, join new ones."""
        ids = rq.node_ids(self.cib)
        edits: list[Edit] = []
        for node in lost:
            self.joined_nodes.pop(node, None)
            self.held_actions.pop(node, None)
            self.forgetting = {k: inc for k, inc in self.forgetting.items() if k[0] != node}
            self.inflight.pop(node, None)
            if self.te_running is not None:
                out.append(Send("tengine", TeNodeLost(node)))
            edits.extend(self._node_gone_edits(node, ids.get(node, node)))
            out.append(Log("info", f"node {node} left view {new.instance}"))
        if lost and self.haresources:
            from crmd import standby
            edits.extend(standby.lift(self, all_sticky=True))
        edits.append(("set", (), {"have-quorum": "1" if new.quorum else "0"}))
        if self.round is not None and self.round.phase != "done":
            self.round.expected -= set(lost)
            self.round.view = new.instance
        self._durable_gone(set(lost), out)
        self._dc_edits(now_ms, edits, out)
        newcomers = {n for n in new.members if n not in self.joined_nodes and n != self.me}
        if newcomers:
            self._start_round(now_ms, newcomers, False, out)
        elif self.round is not None and self.round.phase != "done":
            self._round_progress(now_ms, out)
        self._want_pe(f"view {new.instance}" + (f": {', '.join(lost)} left" if lost else ""), out)

    def _drop_dc(self) -> None:
        self.role = "none"
        self.round = None
        self.joined_nodes = {}
        self.forgetting = {}
        self.fsa = "idle"
        self.pe_request = None
        self.te_running = None
        self.need_pe = False
        self.quorum_lapse_since_ms = None
        self.digest_check_at = None
        self.held_actions = {}
        self.inflight = {}
        self.chained_on = {}
        self.recalling = set()

    # -- the join: member side -------------------------------------------------------------------------------
    def _on_offer(self, now_ms: int, sender: str, msg: crm.JoinOffer, out: list[object]) -> None:
        if self.is_dc or self.view is None:
            if self.view is None:
                self.pending_offer = msg
            return
        if msg.view != self.view.instance or sender != self.view.dc:
            return
        if not self.lrm_ready:
            self.pending_offer = msg
            return
        self.joined = False
        self.join_id = msg.join_id
        self.join_dc = sender
        out.append(self._send(sender, self._join_request(msg.view, msg.join_id)))

    def _on_ack(self, now_ms: int, sender: str, msg: crm.JoinAck, out: list[object]) -> None:
        if sender != self.dc or self.is_dc:
            return
        if msg.digest != self.cib.digest():
            try:
                cib = Cib.from_xml(msg.xml, f"<CIB from {sender}>")
            except CibError as exc:
                out.append(Log("error", f"the CIB in the join acknowledgement is unreadable: {exc}"))
                return
            config_changed = _config_version(cib) != _config_version(self.cib) or \
                _config_digest(cib) != _config_digest(self.cib)
            self.cib = cib
            config_changed |= _mark(msg.quorate) != self.cib_mark  # (the mark is kept on disk too)
            self.cib_mark = _mark(msg.quorate)
            if cib.digest() != msg.digest:
                out.append(Log("error", f"the CIB from {sender} does not match its digest; asking again"))
                self._resync(out)
            else:
                out.append(CibChanged(cib.version, cib.digest()))
            if config_changed:
                out.append(SaveCib(_disk(cib), self.cib_mark))
        elif _mark(msg.quorate) != self.cib_mark:
            self.cib_mark = _mark(msg.quorate)
            out.append(SaveCib(_disk(self.cib), self.cib_mark))
        self.resync_wanted = False
        self.joined = True
        self.join_dc_incarnation = msg.dc_incarnation
        for rid in sorted(self.forwarded_at_join - set(msg.pending)):
            if rid in self.tool_waiting:
                self.count("requests_lost")
                self._tool_reply(rid, False, None, "the request was lost on its way to the DC, or its answer was "
                                                   "(the link failed): it may or may not have been carried out: "
                                                   "check and retry", out)
        self.forwarded_at_join = set()
        # (a DC waiting for a majority to hold a change counts us once we have its whole CIB)
        out.append(self._send(sender, crm.CibAck(self.me, list(self.cib.version))))
        out.append(Log("info", f"joined the DC {sender} (view {msg.view}, join {msg.join_id})"))
        if self.lrm_serial != msg.serial:
            # results that came in after our join request went out: the DC gets our history again
            out.append(self._send(sender, crm.CibRequest(self.me, self.ids(), "lrm_replace", {"lrm": self.lrm.xml()})))
        queued, self.queued = self.queued, []
        for req in queued:
            # a history update queued here (ours or a member's, while this node was a DC whose
            # round did not finish): every node's join request to the new DC carried its whole
            # history, newer than the update (see _drop_superseded_updates)
            superseded = _superseded(req)
            if superseded is not None:
                out.append(self._send(sender, superseded))

    def _on_diff(self, now_ms: int, sender: str, msg: crm.CibDiff, out: list[object]) -> None:
        if sender != self.dc or self.is_dc or self.resync_wanted or not self.joined:
            return  # not joined yet: the join acknowledgement brings the whole CIB
        if tuple(msg.source) != self.cib.version:
            if tuple(msg.target) <= self.cib.version:
                return  # already have it (a full copy overtook the diff)
            out.append(Log("warn", f"CIB diff {_v(msg.source)} -> {_v(msg.target)} does not follow our "
                                   f"{_v(self.cib.version)}; asking the DC for the whole CIB"))
            self._resync(out)
            return
        try:
            edits = from_wire(msg.edits)
            config_changed = any(e[0] == "root" or (e[1] and e[1][0][0] == "configuration") for e in edits)
            self.cib.apply(edits, bump=False)
            admin, epoch, updates = msg.target
            self.cib.apply([("set", (), {"admin_epoch": str(admin), "epoch": str(epoch),
                                         "num_updates": str(updates)})], bump=False)
        except (CibError, ConfigError, ValueError) as exc:
            out.append(Log("error", f"cannot apply CIB diff {_v(msg.source)} -> {_v(msg.target)}: {exc}"))
            self._resync(out)
            return
        if self.cib.digest() != msg.digest:
            out.append(Log("error", f"Digest mis-match after CIB diff to {_v(msg.target)}; requesting re-sync "
                                    f"from {sender}"))
            self._resync(out)
            return
        config_changed |= _mark(msg.quorate) != self.cib_mark  # (the mark is kept on disk too)
        self.cib_mark = _mark(msg.quorate)
        out.append(CibChanged(self.cib.version, self.cib.digest()))
        if config_changed:
            out.append(SaveCib(_disk(self.cib), self.cib_mark))
        if msg.ack:
            out.append(self._send(sender, crm.CibAck(self.me, list(self.cib.version))))

    def _on_cib_ack(self, sender: str, msg: crm.CibAck, out: list[object]) -> None:
        if self.durable_wait:
            for wait in self.durable_wait:
                if tuple(msg.version) >= wait.version and sender in wait.waiting:
                    wait.waiting.discard(sender)
                    wait.acked.add(sender)
            self._durable_answers(out)
        if self.handover is None:
            return
        version, waiting, deadline = self.handover
        if tuple(msg.version) >= version:
            waiting.discard(sender)
        if not waiting:
            self.handover = None
            self._finish_stop(out)

    def _resync(self, out: list[object]) -> None:
        if self.dc is None or self.view is None:
            return
        self.resync_wanted = True
        self.count("resyncs")
        out.append(self._send(self.dc, crm.CibResync(self.me, self.view.instance, list(self.cib.version))))

    def _on_dc_state(self, now_ms: int, sender: str, msg: crm.DcState, out: list[object]) -> None:
        if sender != self.dc or self.is_dc:
            return
        # the DC's messages arrive in the order it sent them, so its announcement follows every
        # diff before it: a replica that is behind (a diff lost with a dead link, or skipped while
        # joining) or differs has missed something, and no later diff may come to show it (the
        # fault campaign saw a member two updates behind while its DC waited in a transition)
        if msg.digest and self.joined and not self.resync_wanted and \
                (msg.digest != self.cib.digest() or tuple(msg.version) != self.cib.version):
            out.append(Log("warn", f"our CIB {_v(self.cib.version)} differs from the DC's {_v(msg.version)}; "
                                   "re-syncing"))
            self.count("resync_on_announce")
            self._resync(out)
        if msg.state == "idle" and self.haresources:
            self._log_idle(msg, out)
        for ident in self.subscribers:
            out.append(Send(ident, crm.CrmNotice(msg.state, sender, msg.view, msg.transition)))

    # -- DC: changes ---------------------------------------------------------------------------------------
    def _dc_edits(self, now_ms: int, edits: list[Edit], out: list[object], ack: bool = False) -> None:
        if not edits:
            return
        assert self.view is not None
        source = self.cib.version
        config = any(e[0] == "root" or (e[1] and e[1][0][0] == "configuration") for e in edits)
        if config:
            edits = list(edits) + [("set", (), {"cib-last-written": _ctime(self.wall_s(now_ms)),
                                                "update-origin": self.me, "update-client": "crmd"})]
        target = self.cib.apply(edits)
        digest = self.cib.digest()
        if (source[0], source[1]) != (target[0], target[1]) and self._majority():
            self.cib_mark = (self.view.instance, target[0], target[1])
        out.append(self._send(None, crm.CibDiff(self.view.instance, list(source), list(target), wire_edits(edits),
                                                digest, ack, list(self.cib_mark))))
        out.append(CibChanged(target, digest))
        if config:
            out.append(SaveCib(_disk(self.cib), self.cib_mark))
        self.digest_check_at = now_ms + DIGEST_CHECK_MS

    def _majority(self) -> bool:
        """Our view is quorate and holds more than half of the configured nodes: no other view
        with a majority can exist at the same time, and every later one shares a node with it."""
        view = self.view
        return view is not None and view.quorum and 2 * len(view.members) > len(self.config.nodes)

    def _answer_change(self, now_ms: int, req: crm.CibRequest, edits: list[Edit], result: dict[str, Any],
                       out: list[object]) -> None:
        """Carry out a tool's change and answer it. A configuration change made with a majority
        is answered once a majority of the configured nodes holds it (this one and the members
        that acknowledged it: each wrote it to disk first); every later view with a majority
        shares one of them, and joins prefer the newest change made with a majority ("Configuration
        changes"), so it survives the loss of any minority, this DC included. One made without a
        majority is answered at once, saying that it may be undone. Any other change (status:
        transient attributes, standby for now) is answered at once."""
        before = _config_version(self.cib)
        members = {n for n in self.joined_nodes if n != self.me}
        self._dc_edits(now_ms, edits, out, ack=bool(members))
        result = dict(result, version=list(self.cib.version))
        if _config_version(self.cib) == before:
            self._answer(req.origin, req.request_id, True, result, None, out)
        elif not self._majority():
            self._answer(req.origin, req.request_id, True, dict(result, warning=NO_MAJORITY_WARNING), None, out)
        else:
            self.durable_wait.append(DurableWait(self.cib.version, members, {self.me}, req.origin, req.request_id,
                                                 result))
            self._durable_answers(out)

    def _answer(self, origin: str, rid: int, ok: bool, result: Any, error: Optional[str], out: list[object]) -> None:
        if origin == self.me:
            self._tool_reply(rid, ok, result, error, out)
        else:
            out.append(self._send(origin, crm.CibReply(rid, ok, result, error)))

    def _durable_answers(self, out: list[object]) -> None:
        """Answer, in the order they were made, the changes a majority holds; once no majority
        can acknowledge a change any more (members left: this DC is in a minority, or its view
        is), it stands in this partition only, and its answer says so."""
        nodes = len(self.config.nodes)
        while self.durable_wait:
            wait = self.durable_wait[0]
            if 2 * len(wait.acked) > nodes:
                self._answer(wait.origin, wait.rid, True, wait.result, None, out)
            elif 2 * (len(wait.acked) + len(wait.waiting)) <= nodes:
                self._answer(wait.origin, wait.rid, True, dict(wait.result, warning=NO_MAJORITY_WARNING), None, out)
            else:
                return
            self.durable_wait.pop(0)

    def _durable_gone(self, nodes: set[str], out: list[object]) -> None:
        """Members that left acknowledge nothing more."""
        for wait in self.durable_wait:
            wait.waiting -= nodes
        self._durable_answers(out)

    def _fail_durable_waits(self, out: list[object], why: str = "the DC changed before a majority of the nodes "
                                                                 "had the change; it may or may not have been "
                                                                 "carried out: check and retry") -> None:
        """The DC role is lost before a majority acknowledged: the change may or may not stand
        (the new DC takes the newest configuration among the members it joins); or a join took
        another configuration over ours, and the change is undone."""
        for wait in self.durable_wait:
            self._answer(wait.origin, wait.rid, False, None, why, out)
        self.durable_wait = []

    def _dc_request(self, now_ms: int, req: crm.CibRequest, out: list[object]) -> None:
        def answer(ok: bool, result: Any = None, error: Optional[str] = None) -> None:
            if req.origin == self.me:
                self._tool_reply(req.request_id, ok, result, error, out)
            else:
                out.append(self._send(req.origin, crm.CibReply(req.request_id, ok, result, error)))

        args = req.args
        try:
            if req.op == "lrm":
                self._dc_lrm_update(now_ms, req.origin, args, out)
                return
            if req.op == "cib":
                edits = _cib_edits(self.cib, str(args.get("op")), args.get("section"), str(args.get("xml") or ""),
                                   str(args.get("origin") or "<input>"))
                refused = self._acl_check(args, edits)
                if refused:
                    self._acl_refused(args, refused, out)
                problems = refused or rq.check(self.cib, edits, str(args.get("origin") or "<input>"),
                                                                   str(args.get("xml") or ""))
                if problems:
                    answer(False, None, "\n".join(problems))
                    return
                self._answer_change(now_ms, req, edits, {}, out)
                if edits:
                    self._want_pe(f"CIB {args.get('op')} from {req.origin}", out)
                return
            if req.op == "attr":
                node = str(args.get("node") or req.origin)
                ids = rq.node_ids(self.cib)
                if node not in ids and node not in self.config.nodes:
                    answer(False, None, f"no node {node!r} in the cluster")
                    return
                nid = ids.get(node, node)
                edits = []
                if node not in ids:
                    edits.append(("put", rq.CONFIG + (("nodes", None), ("node", nid)),
                                  f'<node id="{_esc(nid)}" uname="{_esc(node)}" type="member"/>'))
                edits += rq.attr_edits(self.cib, node, nid, str(args.get("name")), args.get("value"),
                                       str(args.get("lifetime") or "reboot"))
                refused = self._acl_check(args, edits)
                if refused:
                    self._acl_refused(args, refused, out)
                    answer(False, None, "\n".join(refused))
                    return
                self._answer_change(now_ms, req, edits, {}, out)
                if edits:
                    self._want_pe(f"attribute {args.get('name')} of {node}", out)
                return
            if req.op == "cleanup" and args.get("user"):
                # a cleanup rewrites the status section: the user must be allowed to write it
                refused = self._acl_status_write(args)
                if refused:
                    self._acl_refused(args, refused, out)
                    answer(False, None, "\n".join(refused))
                    return
            if req.op == "cleanup":
                self._dc_cleanup(now_ms, str(args.get("rsc") or ""), str(args.get("node") or ""), out)
                answer(True, {"version": list(self.cib.version)})
                return
            if req.op == "standby":
                from crmd import standby
                edits, note = standby.edits(self, str(args.get("node") or req.origin), str(args.get("which") or "all"),
                                            bool(args.get("takeover")))
                refused = self._acl_check(args, edits)
                if refused:
                    self._acl_refused(args, refused, out)
                    answer(False, None, "\n".join(refused))
                    return
                out.append(Log("info", note))
                self._answer_change(now_ms, req, edits, {"note": note}, out)
                if edits:
                    self._want_pe(note, out)
                return
            if req.op == "isolated":
                self._dc_isolation(now_ms, str(args.get("node") or req.origin), bool(args.get("on")), out)
                return
            if req.op == "lrm_replace":
                self._dc_lrm_replace(now_ms, req.origin, str(args.get("lrm") or ""), out)
                return
            answer(False, None, f"unknown request {req.op!r}")
        except CibError as exc:
            answer(False, None, str(exc))

    def _acl_refused(self, args: dict[str, Any], problems: list[str], out: list[object]) -> None:
        self.count("acl_refused")
        out.append(Log("warn", f"refused a change by user {args.get('user')}: {problems[0]}"
                                  + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")))

    def _dc_isolation(self, now_ms: int, node: str, on: bool, out: list[object]) -> None:
        """Standby for a node cut off on every link (marked as ours), or lift it."""
        ids = rq.node_ids(self.cib)
        nid = ids.get(node, node)
        marked = rq.transient_attrs(self.cib, nid).get(ISOLATED_ATTR) is not None
        edits: list[Edit] = []
        if on and not marked:
            edits += rq.attr_edits(self.cib, node, nid, "standby", "on", "reboot")
            edits += rq.attr_edits(self.cib, node, nid, ISOLATED_ATTR, "1", "reboot")
        elif not on and marked:
            edits += rq.attr_edits(self.cib, node, nid, ISOLATED_ATTR, None, "reboot")
            edits += rq.attr_edits(self.cib, node, nid, "standby", None, "reboot")
        if edits:
            self._dc_edits(now_ms, edits, out)
            self._want_pe(f"{node} {'is cut off' if on else 'is connected again'}", out)

    def _dc_cleanup(self, now_ms: int, rsc: str, node: str, out: list[object]) -> None:
        ids = rq.node_ids(self.cib)
        nodes = [node] if node else sorted(ids)
        edits: list[Edit] = []
        for name in nodes:
            nid = ids.get(name, name)
            state = resolve(self.cib.root, rq.state_path(nid))
            if state is None:
                continue
            lrm_res = resolve(self.cib.root, rq.lrm_path(nid))
            for entry in lrm_res.findall("lrm_resource") if lrm_res is not None else []:
                rid = entry.get("id") or ""
                if not rsc or rid == rsc or rid.split(":")[0] == rsc:
                    edits.append(("del", rq.lrm_path(nid) + (("lrm_resource", rid),)))
                    if name == self.me:
                        self._forget(now_ms, rid, out)
                    elif name in self.joined_nodes and self.view is not None:
                        out.append(self._send_forget(name, rid))
            for attr in rq.transient_attrs(self.cib, nid):
                if attr.startswith(("fail-count-", "last-failure-")):
                    target = attr.split("-", 2)[2] if attr.startswith("fail-count-") else attr.split("-", 2)[2]
                    if not rsc or target.split("#")[0] in (rsc,) or target.split("#")[0].split(":")[0] == rsc:
                        edits += rq.attr_edits(self.cib, name, nid, attr, None, "reboot")
        self._dc_edits(now_ms, edits, out)
        self._want_pe(f"cleanup of {rsc or 'every resource'}", out)

    def _send_forget(self, node: str, rsc_id: str) -> object:
        """LrmForget to a member; until it answers, its results for the resource are older than
        the cleanup (they crossed it on the way) and are not recorded: a recurring monitor's first
        result alone would read as "running there" to the policy engine, which then never probes
        again, while the member has forgotten the resource (found by the fault campaign: the
        cleanup after a failed stop, while the recovery's monitor was starting)."""
        assert self.view is not None
        self.forgetting[(node, rsc_id)] = self.joined_nodes.get(node, 0)
        return self._send(node, crm.LrmForget(self.view.instance, rsc_id))

    def _member_life(self, node: str, incarnation: int) -> None:
        """Another incarnation of a member's crmd speaks: it never got our LrmForget (or its
        predecessor did and is gone); what it says of its resources comes from its lrmd now."""
        if any(n == node and inc != incarnation for (n, _r), inc in self.forgetting.items()):
            self.forgetting = {k: inc for k, inc in self.forgetting.items() if k[0] != node or inc == incarnation}

    def _drop_forgotten(self, node: str, lrm_elem: XNode) -> None:
        """A whole history of `node` sent before it forgot resources cleaned up since: without
        their entries."""
        gone = {r for n, r in self.forgetting if n == node}
        resources = lrm_elem.find("lrm_resources")
        for entry in list(resources.findall("lrm_resource")) if gone and resources is not None else []:
            if entry.get("id") in gone:
                resources.remove(entry)

    def _dc_lrm_update(self, now_ms: int, node: str, args: dict[str, Any], out: list[object]) -> None:
        if node != self.me and node not in self.joined_nodes:
            self.count("lrm_updates_from_unjoined")
            return
        ids = rq.node_ids(self.cib)
        nid = ids.get(node, node)
        rsc_id = str(args.get("rsc"))
        if (node, rsc_id) in self.forgetting:
            self.count("results_older_than_cleanup")
            result = args.get("result")
            if isinstance(result, dict):
                self._graph_event(now_ms, node, result, out)  # (its engine still waits for it)
            return
        base = rq.lrm_path(nid) + (("lrm_resource", rsc_id),)
        rsc_attrs = {"id": rsc_id, "type": str(args.get("type")), "class": str(args.get("class"))}
        if args.get("provider"):
            rsc_attrs["provider"] = str(args.get("provider"))
        edits: list[Edit] = [("set", base, rsc_attrs)]
        for entry_id in args.get("removed") or []:
            edits.append(("del", base + (("lrm_rsc_op", str(entry_id)),)))
        records: list[dict[str, str]] = [dict(e) for e in args.get("entries") or []]
        for attrs in records:
            elem = XNode("lrm_rsc_op", {k: str(v) for k, v in attrs.items()})
            edits.append(("put", base + (("lrm_rsc_op", elem.get("id")),), to_xml(elem, indent=None)))
        if args.get("superseded"):
            # (the node's join request carried a newer history: only the fail count and the
            # confirmation below are news)
            self.count("superseded_history_updates")
            edits = []
        result = args.get("result")
        if isinstance(result, dict) and args.get("live"):
            edits += self._failcount_edits(node, nid, rsc_id, result, now_ms)
        self._dc_edits(now_ms, edits, out)
        if isinstance(result, dict):
            self._graph_event(now_ms, node, result, out)

    def _dc_lrm_replace(self, now_ms: int, node: str, lrm_xml: str, out: list[object]) -> None:
        if node != self.me and node not in self.joined_nodes:
            return
        ids = rq.node_ids(self.cib)
        nid = ids.get(node, node)
        try:
            elem = parse_xml(lrm_xml, f"<history of {node}>")
        except ConfigError:
            return
        elem.set("id", nid)
        self._drop_forgotten(node, elem)
        self._dc_edits(now_ms, [("put", rq.state_path(nid) + (("lrm", nid),), to_xml(elem, indent=None))], out)
        self._confirm_from_history(node, elem, out)
        self._want_pe(f"the resource history of {node} was sent again", out)

    def _confirm_from_history(self, node: str, lrm_elem: XNode, out: list[object]) -> None:
        """A whole history of `node` arrived (a join request, or sent again after its lrmd restarted
        or after results came in while it was joining): every action of ours still in flight on it
        whose result is in there is done. A result that reached the member while it was not joined
        travels only this way; without this, the engine waited for it until its action timer
        (timeout + cluster-delay: a minute or more, with nothing else decided meanwhile), as
        Pacemaker's controller, which matches every status update against the graph, does not."""
        pending = self.inflight.get(node)
        if not pending:
            return
        for op in lrm_elem.iter("lrm_rsc_op"):
            parsed = parse_transition_key(op.get("transition-key"))
            if parsed is None or parsed[3] != self.te_uuid or (parsed[1], parsed[0]) not in pending:
                continue
            try:
                call_id, rc, status = int(op.get("call-id") or -1), int(op.get("rc-code") or 0), \
                    int(op.get("op-status") or 0)
            except ValueError:
                continue
            if call_id < 0 or status == -1:
                continue  # recorded as pending: still running
            target = pending.pop((parsed[1], parsed[0]))
            self.count("confirmed_from_history")
            out.append(Send("tengine", TeEvent(parsed[1], parsed[0], node, rc, status, target)))

    def _failcount_edits(self, node: str, nid: str, rsc_id: str, result: dict[str, Any], now_ms: int) -> list[Edit]:
        task = str(result.get("task"))
        interval = int(result.get("interval") or 0)
        rc, status, target = int(result.get("rc", 0)), int(result.get("op_status", 0)), int(result.get("target", 0))
        probe = task == "monitor" and interval == 0
        if status == 1:
            return []
        if status == 0 and (rc == target or (probe and rc in (0, 7, 8))):
            return []
        current = rq.transient_attrs(self.cib, nid)
        name = f"fail-count-{rsc_id}#{task}_{interval}"
        old = current.get(name, "0")
        if task == "stop" or (task == "start" and self._start_failure_fatal()):
            value = "INFINITY"
        else:
            try:
                value = "INFINITY" if old == "INFINITY" else str(int(old) + 1)
            except ValueError:
                value = "1"
        edits = rq.attr_edits(self.cib, node, nid, name, value, "reboot")
        edits += rq.attr_edits(self.cib, node, nid, f"last-failure-{rsc_id}#{task}_{interval}",
                               str(self.wall_s(now_ms)), "reboot")
        return edits

    def _cluster_option(self, name: str) -> Optional[str]:
        config = self.cib.root.find("configuration")
        crm_config = config.find("crm_config") if config is not None else None
        for nv in crm_config.iter("nvpair") if crm_config is not None else []:
            if nv.get("name") == name:
                return nv.get("value")
        return None

    def _start_failure_fatal(self) -> bool:
        value = self._cluster_option("start-failure-is-fatal")
        return value is None or value.lower() not in ("false", "no", "off", "0", "n")

    def _with_batch_limit(self, graph: str) -> str:
        """The graph as the engine runs it: `batch-limit` is a cluster option the controller
        applies (Pacemaker's graphs do not carry it), handed to our engine as a graph attribute."""
        value = self._cluster_option("batch-limit")
        if value is None or not value.strip().isdigit() or int(value) <= 0 or "batch-limit=" in graph[:400]:
            return graph
        return graph.replace("<transition_graph ", f'<transition_graph batch-limit="{int(value)}" ', 1)

    # -- DC: scheduling -----------------------------------------------------------------------------------------
    def _quorum_lapsed(self, now_ms: int, view: View, out: list[object]) -> None:
        """The DC's quorum ran out in a view that still holds every member: a lapse, not a loss.

        ccm counts a member's vote only while a promise from it, an echo of our own clock, is
        fresh (one lease, just under deadtime); an echo is a round trip through messaging's
        in-order delivery, which holds every message behind a lost one until it is sent again.
        So on a lossy link the DC's quorum comes and goes for seconds while nobody left the view
        and every other member keeps its own quorum; as the configured no-quorum-policy (stop)
        the DC then stopped the whole cluster (`hb cts` loss faults on node1: 4-5 s outages of a
        group on a healthy node). The DC now holds instead: its running graph is aborted (nothing
        new is started without quorum) and the policy engine waits until quorum comes back or
        the view changes; then it decides with what holds then, a real loss included (its view
        changes). Only with fencing: a partition that formed without us shoots us before it
        starts anything of ours, so what we leave running here cannot run twice. Without
        fencing a lapse is acted on at once, as before: our stops are what keeps the other
        side's starts safe."""
        if self.quorum_lapse_since_ms is None:
            self.quorum_lapse_since_ms = now_ms
            self.count("quorum_lapses")
            out.append(Log("warn", f"quorum lapsed in view {view.instance}, every member still in it: "
                                      "nothing starts or stops until it is back or the view changes"))

    def _want_pe(self, reason: str, out: list[object]) -> None:
        if not self.is_dc:
            return
        if not self.need_pe:
            self.pe_reason = reason
        self.need_pe = True
        if self.fsa == "te" and self.te_running is not None:
            out.append(Send("tengine", TeAbort(INFINITY, "restart", reason)))

    def _maybe_schedule(self, now_ms: int, out: list[object]) -> None:
        if not self.is_dc or not self.need_pe or self.fsa != "idle" or self.stalled:
            return
        if self.quorum_lapse_since_ms is not None:
            return  # (_quorum_lapsed)
        if self.pe_not_before is not None and now_ms < self.pe_not_before:
            return
        if self.fence_retry_at is not None and now_ms < self.fence_retry_at:
            return  # a fencing just failed: the next attempt (a new transition) waits
        if self.round is not None and self.round.phase != "done":
            return
        if not self.tengine.up or not self.lrm_ready:
            return
        if (self.haresources or fencing.enabled(self.cib)) and not self.comm_up:
            # heartbeat's initdead: resources wait until every node was heard or it passed; with
            # fencing, a node not heard yet would be fenced as unseen (startup-fencing)
            return
        rejoin = self._rejoin_wait_until()
        if rejoin is not None and now_ms < rejoin:
            return  # our links just came back: the view that merges us with the others comes first
        if self.isolated:
            # a member that was cut off and is now the DC of itself: the standby it asked for
            # never reached the old DC
            self._dc_isolation(now_ms, self.me, True, out)
        if self._alive_outside_view() and now_ms < self.view_since_ms + self.config.settle_ms:
            # a node we hear will be in the next view: deciding without it could start what it
            # runs (a node that starts next to a running cluster must not grab its resources)
            return
        self.need_pe = False
        self.transition_id += 1
        self.fsa = "pe"
        tid = self.transition_id
        snapshot = self.cib.xml().encode()  # (the engine reads bytes: core/messages/pe.py)
        self.pe_request = None
        send = self.pengine.request(now_ms, lambda rid: PeSchedule(rid, tid, snapshot), "schedule", context=tid)
        assert isinstance(send.msg, PeSchedule)
        self.pe_request = send.msg.request_id
        out.append(send)
        out.append(Log("info", f"asking the policy engine for transition {tid} ({self.pe_reason})"))
        self._announce(now_ms, "scheduling", out)

    def _own_fenced_claims(self) -> list[str]:
        """`fenced_out` as far as our replica agrees: the node's state is a fencing's record
        (expected down, no history). A node that joined again since has its history back and is
        expected a member, should a view that showed it have escaped us."""
        ids = rq.node_ids(self.cib)
        found = []
        for node in sorted(self.fenced_out):
            state = resolve(self.cib.root, rq.state_path(ids.get(node, node)))
            if state is not None and state.get("expected") == "down" and state.find("lrm") is None:
                found.append(node)
        return found

    def _fenced_claims(self, rnd: Round) -> set[str]:
        """Nodes outside the view that we or a member of the round saw fenced and in no view
        since, staying quorate (see `fenced_out`), where such word holds (`fencing.claims_hold`):
        the round records them as fenced (a DC that fenced them may be gone, its record with it,
        and a new DC from the other side of a healed partition would fence them again)."""
        assert self.view is not None
        if not fencing.claims_hold(self.cib, len(self.config.nodes)):
            return set()
        claimed = set(self._own_fenced_claims())
        for req in rnd.requests.values():
            claimed.update(str(n) for n in req.fenced or ())
        return claimed - set(self.view.members)

    def _departed_unrecorded(self) -> list[str]:
        """Nodes outside the view that the replica still shows in the membership, not expected
        down, nor known fenced: the nodes a new DC's policy engine may want fenced."""
        assert self.view is not None and self.round is not None
        claimed = self._fenced_claims(self.round)
        found = []
        for state in self.cib.section("status").findall("node_state"):
            uname = state.get("uname") or ""
            if uname and uname not in self.view.members and (state.get("in_ccm") or "").lower() == "true" \
                    and state.get("expected") != "down" and uname not in claimed and uname not in self.fenced_in_view:
                found.append(uname)
        return found

    def _maybe_fence_ahead(self, now_ms: int, out: list[object]) -> None:
        """A new DC fences the nodes its view lost without waiting for its join round (see
        docs/architecture.md, "Fencing ahead of the join"): its policy engine decides on the
        replica as the round's edits would make it, as far as they are known (an `Overlay`); only that graph's fencing
        actions that wait for nothing are carried out, and the schedule after the join takes them
        over. Asked once per round, under the guards of a schedule, and once the members from
        another partition (`Round.newcomers`) have answered: their join requests name the
        fencings they saw, which this replica may lack."""
        rnd = self.round
        if not self.is_dc or rnd is None or rnd.phase != "collecting" or not rnd.full \
                or self.ahead_round == rnd.join_id or self.me not in rnd.requests:
            return
        if not self._departed_unrecorded():
            return
        rejoin = self._rejoin_wait_until()
        waits = [why for why, holds in (
            ("stalled", self.stalled), ("cut off", self.isolated), ("busy", self.fsa != "idle"),
            ("a transition runs", self.te_running is not None), ("no policy engine", not self.pengine.up),
            ("no stonithd", not self.stonithd.up), ("not every node heard yet", not self.comm_up),
            ("stonith disabled", not fencing.enabled(self.cib)),
            ("a fencing just failed", self.fence_retry_at is not None and now_ms < self.fence_retry_at),
            ("links just came back", rejoin is not None and now_ms < rejoin),
            ("a node outside the view is heard", bool(self._alive_outside_view())),
            ("members from another partition have not answered",
             bool((rnd.newcomers & rnd.expected) - set(rnd.requests)))) if holds]
        if waits:
            if self.ahead_waits != (rnd.join_id, waits[0]):
                self.ahead_waits = (rnd.join_id, waits[0])
                out.append(Log("info", f"join {rnd.join_id}: the fencing of view {rnd.view}'s lost nodes waits "
                                       f"for the join ({waits[0]})"))
            return
        self.ahead_round = rnd.join_id
        overlay = Overlay(self.cib)  # (copies only what the edits change)
        overlay.apply(self._join_edits(rnd, now_ms, []), bump=False)
        snapshot = overlay.xml().encode()  # (the engine reads bytes: core/messages/pe.py)
        self.transition_id += 1
        tid = self.transition_id
        out.append(self.pengine.request(now_ms, lambda rid: PeSchedule(rid, tid, snapshot), "ahead",
                                        context=(rnd.view, rnd.join_id, tid)))
        out.append(Log("info", f"asking the policy engine for transition {tid}: the fencing of view "
                               f"{rnd.view}'s lost nodes, ahead of join {rnd.join_id}"))

    def _ahead_reply(self, now_ms: int, pending: Any, msg: Reply, out: list[object]) -> None:
        view, join_id, tid = pending.context
        self.pengine.connected(now_ms, None)
        if not self.is_dc or self.view is None or self.view.instance != view or self.te_running is not None \
                or self.stalled or self.isolated:
            return
        if not msg.ok or not isinstance(msg.result, dict):
            out.append(Log("error", f"the policy engine could not schedule transition {tid}: {msg.error}"))
            return
        try:
            graph = parse_graph(str(msg.result.get("graph") or ""))
        except GraphError as exc:
            out.append(Log("error", f"transition {tid}: unreadable graph: {exc}"))
            return
        for synapse in graph.synapses:
            action = synapse.action
            target = action.on_node or ""
            if action.kind != "crm_event" or action.operation != "stonith" or synapse.inputs or not target \
                    or target in self.view.members or target in self.fencing or target in self.fenced_in_view:
                continue
            self.count("fencing_ahead")
            out.append(Log("notice", f"transition {tid}: fencing {target} ahead of join {join_id}"))
            self._fence_action(now_ms, tid, action, out)
            if target in self.fencing:
                self.fencing_ahead.add(target)

    def _pe_reply(self, now_ms: int, pending: Any, msg: Reply, out: list[object]) -> None:
        if not self.is_dc or self.fsa != "pe" or pending.context != self.transition_id:
            return
        self.pengine.connected(now_ms, None)
        self.pe_request = None
        if not msg.ok or not isinstance(msg.result, dict):
            out.append(Log("error", f"the policy engine could not schedule transition {pending.context}: {msg.error}"))
            self.fsa = "idle"
            return
        if self.need_pe:
            out.append(Log("info", f"transition {pending.context} is stale ({self.pe_reason}); scheduling again"))
            self.fsa = "idle"
            return
        result = msg.result
        tid = int(result.get("transition_id", pending.context))
        for line in result.get("summary") or []:
            out.append(Log("info", f"transition {tid}: {line.strip()}"))
        if result.get("input"):
            out.append(Log("info", f"transition {tid} computed from {result.get('input')}"))
        self.fsa = "te"
        self.te_running = tid
        self.te_started_ms = now_ms
        self.held_actions = {}
        graph = self._with_batch_limit(str(result.get("graph") or ""))
        out.append(self.tengine.request(now_ms, lambda rid: TeGraph(rid, tid, graph), "graph", context=tid))
        self._announce(now_ms, "transition", out)

    def _te_done(self, now_ms: int, msg: TeDone, out: list[object]) -> None:
        if not self.is_dc or msg.transition_id != self.te_running:
            return
        self.te_running = None
        self.fsa = "idle"
        self.pe_not_before = None
        # every chained action of the graph has reported or been recalled: nothing left to track
        self.chained_on = {k: v for k, v in self.chained_on.items() if k[0] != msg.transition_id}
        self.recalling = {k for k in self.recalling if k[0] != msg.transition_id}
        if msg.status == "complete" or now_ms - self.te_started_ms >= MAX_BACKOFF_MS:
            self.pe_backoff_ms = 0
        elif msg.failed and now_ms - self.te_started_ms < FAST_FAILURE_MS:
            # a graph that failed at once will likely fail the same way again: do not spin
            self.pe_backoff_ms = min(MAX_BACKOFF_MS, max(MIN_BACKOFF_MS, 2 * self.pe_backoff_ms))
            self.pe_not_before = now_ms + self.pe_backoff_ms
            out.append(Log("warn", f"transition {msg.transition_id} failed within {now_ms - self.te_started_ms} ms; "
                                   f"the next one waits {self.pe_backoff_ms} ms"))
        if msg.next in ("restart",):
            self._want_pe(f"transition {msg.transition_id} {msg.status}: {msg.reason or 'restart'}", out)
        if not self.need_pe and self.haresources:
            from crmd import standby
            moved = standby.lift_moved(self)  # hb_standby constraints whose groups have moved
            if moved:
                self._dc_edits(now_ms, moved, out)
                self._want_pe("hb_standby done", out)
        if not self.need_pe:
            self._announce(now_ms, "idle", out)

    def _announce(self, now_ms: int, state: str, out: list[object]) -> None:
        if not self.is_dc or self.view is None:
            return
        out.append(self._send(None, crm.DcState(self.view.instance, self.me, state, self.transition_id,
                                                list(self.lrm.active()), list(self.cib.version), self.cib.digest())))
        notice = crm.CrmNotice(state, self.me, self.view.instance, self.transition_id)
        for ident in self.subscribers:
            out.append(Send(ident, notice))
        if state == "idle" and self.haresources:
            self._log_idle(crm.DcState(self.view.instance, self.me, state, self.transition_id), out)

    # -- DC: carrying out the engine's actions -----------------------------------------------------------------
    def _invoke(self, now_ms: int, msg: TeInvoke, out: list[object]) -> None:
        if not self.is_dc or msg.transition_id != self.te_running:
            return
        if self.stalled:
            self.stall_held.append(("invoke", self.view.instance if self.view else 0, msg))
            return
        try:
            action = GraphAction.from_wire(msg.action)
        except GraphError as exc:
            out.append(Log("error", f"bad action from the transition engine: {exc}"))
            return
        tid = msg.transition_id
        key = transition_key(action.id, tid, action.target_rc, self.te_uuid)
        node = action.router_node or action.on_node
        if action.kind == "crm_event":
            self._cluster_action(now_ms, tid, action, out)
            return
        if node is None:
            out.append(Send("tengine", TeEvent(tid, action.id, "", 1, 4, action.target_rc)))
            return
        if node != self.me and node not in self.joined_nodes:
            # its crmd is away (restarting) while the node stays: nothing may move there, nothing
            # may start elsewhere on the belief that it stopped; the action waits for the node to
            # join again (then it fails and is planned again) or to leave (the engine fails it)
            out.append(Log("warn", f"action {action.operation_key} waits: the crmd of {node} has not joined"))
            self.held_actions.setdefault(node, []).append((tid, action.id, action.target_rc))
            return
        then = []
        targets: dict[int, int] = {}
        try:
            for item in msg.then:
                follower = GraphAction.from_wire(item["action"])
                if not chainable(follower) or (follower.router_node or follower.on_node) != node:
                    raise GraphError(f"action {follower.id} cannot be chained to action {action.id} on {node}")
                then.append({"key": transition_key(follower.id, tid, follower.target_rc, self.te_uuid),
                             "action": item["action"], "after": [int(a) for a in item["after"]]})
                targets[follower.id] = follower.target_rc
        except (GraphError, KeyError, TypeError, ValueError) as exc:
            out.append(Log("error", f"bad chain from the transition engine: {exc}"))
            return
        for follower_id in targets:
            self.chained_on[(tid, follower_id)] = node
        if node == self.me:
            self._hold_chain(tid, msg.action, tuple(then), out)
            self._run_action(now_ms, tid, key, msg.action, out)
        else:
            assert self.view is not None
            waiting = self.inflight.setdefault(node, {})
            waiting[(tid, action.id)] = action.target_rc
            for follower_id, target in targets.items():
                waiting[(tid, follower_id)] = target
            out.append(self._send(node, crm.LrmInvoke(self.view.instance, tid, key, msg.action, tuple(then))))

    def _void_chains(self, dc: str, out: list[object]) -> None:
        """We follow another DC (or are the DC now): the chains an earlier one sent are void at
        once. Left until that DC's name came back (this node its own DC in between, then a member
        of the first again), a chain whose recall was dropped with the old view ran on
        (`hb sim crm --nodes 3 --seed 332`, a monitor begun after its DC had recalled it)."""
        dropped = self.chains.void_other_dcs(dc)
        if dropped:
            self.count("chained_dropped")
            out.append(Log("info", f"{dropped} chained action(s) of an earlier DC dropped"))

    def _hold_chain(self, tid: int, wire_action: dict[str, Any], then: Any, out: list[object]) -> None:
        """Keep the chain sent with an action (tengine "Chains"): run as its inputs succeed here."""
        if not then or self.dc is None:
            return
        self.chains.void_other_dcs(self.dc)
        try:
            items = parse_then(then)
            head = GraphAction.from_wire(wire_action)
        except (ChainError, GraphError) as exc:
            self.count("bad_chains")
            out.append(Log("error", f"bad chain from the DC {self.dc}: {exc}"))
            return
        gone = self.chains.hold(self.dc, tid, head.id, head.on_fail, items)
        if gone:  # recalled before the chain came: the DC hears it as of any recall
            self.count("chained_recalled")
            if self.is_dc:
                self._chain_recalled(self.me, tid, tuple(gone), out)
            else:
                out.append(self._send(self.dc, crm.ChainRecalled(self.me, tid, tuple(gone))))

    def _chain_result(self, now_ms: int, ctx: "ActionCtx", rc: int, op_status: int, out: list[object]) -> None:
        """An action of ours finished: run what its chain held for it (or drop what waited for it)."""
        if not self.chains.by_transition:
            return
        parsed = parse_transition_key(ctx.key)
        target = parsed[2] if parsed is not None else 0
        ready, dropped = self.chains.result(self.dc, ctx.transition_id, ctx.action_id, rc, op_status, target)
        if dropped:
            self.count("chained_dropped")
            if self.dc is not None and self.view is not None:
                # the engine drops them too when it hears of the failure; the DC stops waiting
                if self.is_dc:
                    self._chain_recalled(self.me, ctx.transition_id, tuple(dropped), out)
                else:
                    out.append(self._send(self.dc, crm.ChainRecalled(self.me, ctx.transition_id, tuple(dropped))))
        for held in ready:
            self.count("chained_run")
            self._run_action(now_ms, ctx.transition_id, held.key, held.action, out)

    def _recall(self, now_ms: int, msg: TeRecall, out: list[object]) -> None:
        """The engine aborted its graph: the chained actions it names are to be dropped where they
        have not begun."""
        if not self.is_dc or self.view is None:
            return
        by_node: dict[str, list[int]] = {}
        for action_id in msg.action_ids:
            node = self.chained_on.get((msg.transition_id, action_id))
            if node is not None:
                by_node.setdefault(node, []).append(action_id)
                self.recalling.add((msg.transition_id, action_id))
        for node, ids in by_node.items():
            if node == self.me:
                dropped = self.chains.recall(self.me, msg.transition_id, tuple(ids))
                if dropped:
                    self._chain_recalled(self.me, msg.transition_id, tuple(dropped), out)
            else:
                out.append(self._send(node, crm.LrmRecall(self.view.instance, msg.transition_id, tuple(ids))))

    def _chain_recalled(self, node: str, tid: int, action_ids: tuple[int, ...], out: list[object]) -> None:
        """node dropped these chained actions before they began: nobody waits for them; the
        engine learns of those it recalled (the others it dropped itself on their input's failure)."""
        recalled = []
        for action_id in action_ids:
            self.inflight.get(node, {}).pop((tid, action_id), None)
            self.chained_on.pop((tid, action_id), None)
            if (tid, action_id) in self.recalling:
                self.recalling.discard((tid, action_id))
                recalled.append(action_id)
        if recalled:
            out.append(Send("tengine", TeRecalled(tid, tuple(recalled))))

    def _held_action_void(self, kind: str, item: Any, out: list[object]) -> None:
        """An action held over a stall (or a lost membership) will not run: if it belongs to the
        graph our engine runs, the engine learns it failed (else it would wait for it until its
        timer, a minute or more, and nothing else would be decided meanwhile). A member's held
        action was sent by its DC, whose engine waits for it in the same way: the DC learns."""
        if kind == "run" and not self.is_dc:
            tid, key, wire_action = item
            try:
                action = GraphAction.from_wire(wire_action)
            except GraphError:
                return
            if self.dc is not None and tid != GIVE_UP:
                self.count("held_void_reported")
                out.append(self._send(self.dc, crm.ActionDone(self.me, tid, action.id, key, False,
                                                              "dropped: the view changed while this node was stalled")))
            return
        if not self.is_dc or self.te_running is None:
            return
        if kind == "invoke":
            tid, wire_action = item.transition_id, item.action
        else:
            tid, _key, wire_action = item
        if tid != self.te_running:
            return
        try:
            action = GraphAction.from_wire(wire_action)
        except GraphError:
            return
        out.append(Send("tengine", TeEvent(tid, action.id, action.router_node or action.on_node or "", 1, 4,
                                           action.target_rc)))

    def _fail_inflight(self, node: str, why: str, out: list[object]) -> None:
        """The crmd of `node` that was running our actions is gone: they will never report."""
        pending = self.inflight.pop(node, {})
        held = self.held_actions.pop(node, [])
        failed = [(tid, aid, target) for (tid, aid), target in pending.items()] + held
        for tid, aid, target in failed:
            out.append(Send("tengine", TeEvent(tid, aid, node, 1, 4, target)))
        if failed:
            out.append(Log("warn", f"{len(failed)} actions on {node} failed: {why}"))

    def _cluster_action(self, now_ms: int, tid: int, action: GraphAction, out: list[object]) -> None:
        node = action.on_node or ""
        ids = rq.node_ids(self.cib)
        nid = ids.get(node, node)
        ok = True
        if action.operation == "clear_failcount" and action.rsc_id:
            edits: list[Edit] = []
            for attr in rq.transient_attrs(self.cib, nid):
                if attr.startswith((f"fail-count-{action.rsc_id}#", f"last-failure-{action.rsc_id}#")):
                    edits += rq.attr_edits(self.cib, node, nid, attr, None, "reboot")
            self._dc_edits(now_ms, edits, out)
        elif action.operation == "lrm_delete" and action.rsc_id:
            self._dc_edits(now_ms, [("del", rq.lrm_path(nid) + (("lrm_resource", action.rsc_id),))], out)
            if node == self.me:
                self._forget(now_ms, action.rsc_id, out)
            elif node in self.joined_nodes and self.view is not None:
                out.append(self._send_forget(node, action.rsc_id))
        elif action.operation == "do_shutdown":
            leaving_dc = node == self.me
            self._dc_edits(now_ms, [("set", rq.state_path(nid), {"expected": "down"})], out, ack=leaving_dc)
            if leaving_dc:
                out.append(Send("tengine", TeEvent(tid, action.id, node, action.target_rc, 0, action.target_rc)))
                if self.stopping:
                    # the next DC must know this node left cleanly (expected=down), or it fences
                    # it: leave once every member has the record, or after HANDOVER_MS
                    waiting = {n for n in self.joined_nodes if n != self.me}
                    if waiting:
                        self.handover = (self.cib.version, waiting, now_ms + HANDOVER_MS)
                        self.count("handover_waits")
                    else:
                        self._finish_stop(out)
                return
            if self.view is not None:
                out.append(self._send(node, crm.ShutdownOk(self.view.instance, node)))
        elif action.operation == "stonith":
            self._fence_action(now_ms, tid, action, out)
            return
        else:
            out.append(Log("warn", f"unknown cluster action {action.operation}; failing it"))
            ok = False
        out.append(Send("tengine", TeEvent(tid, action.id, node, action.target_rc if ok else 1,
                                           0 if ok else 4, action.target_rc)))

    # -- connectivity (ipfail) -----------------------------------------------------------------------------
    def _sync_pingd(self, now_ms: int, out: list[object]) -> None:
        """This node's `pingd` attribute in the CIB is the number of ping nodes (ha.cf `ping`,
        `ping_group`) messaging reaches, times PINGD_MULTIPLIER (Pacemaker's ping agent's
        attribute): a location rule scoring it (`score-attribute="pingd"`; haresources clusters get
        one per group) moves resources to the node that still reaches its ping nodes. Compared with
        the replica at every step, so it is set again after a rejoin or a new DC."""
        if not self.ping_nodes or not (self.joined or self.is_dc) or self.view is None or self.stopping:
            return
        want = str(sum(1 for up in self.ping_nodes.values() if up) * PINGD_MULTIPLIER)
        nid = rq.node_ids(self.cib).get(self.me, self.me)
        if rq.transient_attrs(self.cib, nid).get(PINGD_ATTR) == want:
            return
        if self.pingd_asked is not None and self.pingd_asked[1] == want and now_ms - self.pingd_asked[0] < 1000:
            return  # asked already: the DC is on it
        self.pingd_asked = (now_ms, want)
        out.append(Log("info", f"connectivity: {want} ({', '.join(n for n, up in self.ping_nodes.items() if up) or 'no'}"
                               " ping nodes reached)"))
        self._request(now_ms, "attr", {"node": self.me, "name": PINGD_ATTR, "value": want, "lifetime": "reboot"},
                      out, None)

    # -- fencing ------------------------------------------------------------------------------------------
    def _sync_devices(self, now_ms: int, out: list[object]) -> None:
        """stonithd knows the CIB's fence devices as of our configuration version."""
        if not self.stonithd.up:
            return
        version = _config_version(self.cib)
        if self.devices_sent == version:
            return
        self.devices_sent = version
        conf = fencing.devices_of(self.cib)
        out.append(self.stonithd.request(now_ms, lambda rid: st.StDevices(rid, "cib", conf["devices"], conf["levels"],
                                                                          conf["options"]), "devices"))

    def _fence_action(self, now_ms: int, tid: int, action: GraphAction, out: list[object]) -> None:
        target = action.on_node or ""
        kind = action.attrs.get("CRM_meta_stonith_action", "reboot")
        try:
            delay_ms = int(action.attrs.get("CRM_meta_priority_fencing_delay", "0")) * 1000
        except ValueError:
            delay_ms = 0
        if target in self.fenced_in_view and self.view is not None and target not in self.view.members:
            # fenced in this view (ahead of a join, or by an older graph) and not back since
            self.count("fenced_already")
            out.append(Log("info", f"{target} was fenced already in view {self.view.instance}; not again"))
            out.append(Send("tengine", TeEvent(tid, action.id, target, action.target_rc, 0, action.target_rc)))
            return
        old = self.fencing.get(target)
        back_ms = self.heard_again_ms.get(target)
        if old is None and kind != "on" and target in self.alive and back_ms is not None \
                and now_ms - back_ms < self.config.settle_ms and self.view is not None \
                and target not in self.view.members:
            # lost when the graph was made, heard again since: stonithd gives up a fencing whose
            # target comes back before its device ran, and the same holds when it came back
            # before we asked (a partition healing while an earlier fencing ran). It joins, and
            # its history says what it runs; still outside the view after settle_ms, it is fenced
            self.count("fencing_target_back")
            self.fencing[target] = (tid, action.id, action.target_rc, "")
            self._fence_failed(target, f"{target} came back before it was fenced "
                                       f"(heard again {now_ms - back_ms} ms ago)", out, now_ms)
            return
        if old is not None and old[:2] != (tid, action.id):
            # an older graph's request for the same node (or one made ahead of the join): this
            # action takes its place
            self.fencing[target] = (tid, action.id, action.target_rc, old[3])
            if target in self.fencing_ahead:
                self.fencing_ahead.discard(target)
                self.count("fencing_taken_over")
            return
        if not self.stonithd.up or self.isolated:
            # (a node that lost every one of its own links is the broken one: it shoots nobody,
            # it gives up what it runs and waits to be fenced)
            why = "this node is cut off from the cluster" if self.isolated else "stonithd is not running"
            out.append(Log("error", f"fencing of {target} is needed but {why}"))
            out.append(Send("tengine", TeEvent(tid, action.id, target, 1, 4, action.target_rc)))
            return
        self.fencing[target] = (tid, action.id, action.target_rc, "")
        out.append(Log("notice", f"requesting fencing ({kind}) of node {target}"
                                 + (f" after {delay_ms} ms (priority-fencing-delay)" if delay_ms else "")))
        timeout = fencing.timeout_ms(self.cib)
        out.append(self.stonithd.request(now_ms, lambda rid: st.StFence(rid, target, kind, timeout, delay_ms,
                                                                        f"crmd.{self.me}"),
                                         "fence", context=target))

    def _fence_failed(self, target: str, why: str, out: list[object], now_ms: Optional[int] = None) -> None:
        wait = self.fencing.pop(target, None)
        if wait is None:
            return
        tid, aid, target_rc, _ = wait
        ahead = target in self.fencing_ahead
        self.fencing_ahead.discard(target)
        failures = self.fence_failures[target] = self.fence_failures.get(target, 0) + 1
        wait_ms = min(FENCE_RETRY_MAX_MS, FENCE_RETRY_MS << min(failures - 1, 10))
        now = now_ms if now_ms is not None else (self.last_step_ms or 0)
        self.fence_retry_at = now + wait_ms
        out.append(Log("error", f"fencing of {target} failed ({failures} in a row): {why}; its resources stay "
                                f"where they are; trying again in {wait_ms} ms"))
        if not ahead:
            out.append(Send("tengine", TeEvent(tid, aid, target, 1, 4, target_rc)))

    def _fence_notice(self, now_ms: int, rec: dict[str, Any], out: list[object]) -> None:
        """stonithd's report of an operation: a node fenced (by us, a peer or an operator), or a
        fencing given up."""
        target = str(rec.get("target") or "")
        if rec.get("state") == "failed":
            wait = self.fencing.get(target)
            if wait is not None and (not wait[3] or wait[3] == rec.get("id")):
                self._fence_failed(target, str(rec.get("reason") or "failed"), out)
            return
        if rec.get("state") != "done" or rec.get("action") == "on" or not target:
            return
        self.count("nodes_fenced")
        self.fence_failures.pop(target, None)
        if not self.fence_failures:
            self.fence_retry_at = None
        wait = self.fencing.pop(target, None)
        ahead = target in self.fencing_ahead
        self.fencing_ahead.discard(target)
        if self.view is not None and target not in self.view.members:
            self.fenced_in_view.add(target)
            if self.view.quorum and self.me in self.view.members and not self.stalled and not self.ccm_lost:
                self.fenced_out.add(target)
        elif self.view is not None and target in self.member_incarnations and \
                self._life_predates_fencing(now_ms, target, rec):
            # still a member for ccm: the view that drops this life is a view it was fenced in,
            # and ccm need not wait two deadtimes to drop it (a DC fenced while a member is
            # replaced at once, as Pacemaker's controller takes a fenced peer as lost)
            inc = self.member_incarnations[target]
            self.fenced_members[target] = (inc, self.quorate and self.me in self.view.members and not self.ccm_lost)
            if self.ccm.up and target != self.me:
                out.append(self.ccm.request(now_ms, lambda rid: CcmFenced(rid, target, inc), "fenced"))
        if wait is not None and not ahead:
            # our graph's fencing: it goes on (the stops it implies, then the recovery)
            tid, aid, target_rc, _ = wait
            out.append(Send("tengine", TeEvent(tid, aid, target, target_rc, 0, target_rc)))
        if self.is_dc and self.view is not None and target in self.view.members and \
                self._life_since_fencing(now_ms, target, rec) is True:
            # a life of it that began after the fencing did joined with its own history: not down
            out.append(Log("info", f"{target} was fenced and is back in a new life: its status stays"))
            if wait is None or ahead:
                self._want_pe(f"{target} was fenced", out)
        elif self.is_dc:
            ids = rq.node_ids(self.cib)
            self._dc_edits(now_ms, fencing.fenced_edits(self.cib, target, ids.get(target, target)), out)
            if wait is None or ahead:
                self._want_pe(f"{target} was fenced", out)

    def _heard_life(self, now_ms: int, node: str, generation: int) -> None:
        """Messaging hears `node` in `generation` (each start of its stack has a new one):
        note when this life was first heard (`_life_predates_fencing`). A node heard again in the
        generation it had before it was taken for dead (it hung, or was cut off) is the same life:
        a fencing whose device began after it was first heard ended it. (Dated anew at its return,
        a node that resumed from a hang just before its fencing's delay ran out was taken for a
        new life: its resources stayed recorded on it until it rebooted, 394 ms late in
        `hb cts --mode haresources --nodes 2 --faults 10 --seed 24103`.)"""
        known = self.life_since_ms.get(node)
        if known is None or known[0] != generation:
            self.life_since_ms[node] = (generation, now_ms)

    def _life_since_fencing(self, now_ms: int, target: str, rec: dict[str, Any]) -> Optional[bool]:
        """Did the target's life we hear begin after the fencing's device did (True: a new life,
        the fencing ended an earlier one), surely before (False: the fenced life, see
        `_life_predates_fencing`), or is that unknown (None)?"""
        window = self._device_began(now_ms, target, rec)
        if window is None:
            return None
        life_ms, earliest_ms, latest_ms = window
        return False if life_ms < earliest_ms else True if life_ms > latest_ms else None

    def _life_predates_fencing(self, now_ms: int, target: str, rec: dict[str, Any]) -> bool:
        """Is the target's life in our view surely the one the fencing ended? A node reset
        quickly may be back, as a new life in our view, before the notice of its fencing
        arrives; that life runs on, and taking it for the fenced one would record it as down
        and drop it from the membership. A life here is a start of the node's stack (a
        messaging generation: a restarted ccm alone is the same node, and the device ended it
        too). The device ran for `device_ms` up to its completion, and no life first heard
        after the device began can be the one it ended. A life heard since before that is the
        fenced one; anything later is left to membership, and at worst fenced a second time."""
        return self._life_since_fencing(now_ms, target, rec) is False

    def _device_began(self, now_ms: int, target: str, rec: dict[str, Any]) -> Optional[tuple[int, int, int]]:
        """(when the target's life we hear was first heard, the earliest and the latest moment
        the fencing's device can have begun), None when the record or our knowledge cannot say.

        When did the device begin? A run of our own stonithd completed at the record's
        `completed_ms`, on this machine's wall clock as ours (`wall_offset_ms`): exact. Another
        node's run completed at most settle_ms (two deadtimes: the notice's trip) before now,
        whatever its clock says. (With the second rule alone, a node fenced by the very node
        that fenced it a second before was fenced twice in the campaign: its life was younger
        than settle_ms, so the notice was not taken for it.)"""
        try:
            device_ms = int(rec["device_ms"])  # (a record without it proves nothing)
        except (KeyError, TypeError, ValueError):
            return None
        life = self.life_since_ms.get(target)
        if device_ms < 0 or life is None or target not in self.alive:
            return None
        earliest_ms, latest_ms = now_ms - self.config.settle_ms, now_ms
        if rec.get("executor") == self.me:
            try:
                local_ms = int(rec["completed_ms"]) - self.wall_offset_ms
            except (KeyError, TypeError, ValueError):
                local_ms = None
            if local_ms is not None and now_ms - self.config.settle_ms <= local_ms <= now_ms:
                earliest_ms = latest_ms = local_ms  # (outside that, the wall clock was set meanwhile)
        return life[1], earliest_ms - device_ms, latest_ms - device_ms

    def _graph_event(self, now_ms: int, node: str, result: dict[str, Any], out: list[object]) -> None:
        key = str(result.get("key") or "")
        parsed = parse_transition_key(key)
        rc, status = int(result.get("rc", 0)), int(result.get("op_status", 0))
        target = parsed[2] if parsed is not None else 0
        mine = parsed is not None and parsed[3] == self.te_uuid
        if mine and parsed is not None:
            # the engine may still be finishing an older graph (a new one waits for it): it
            # gets every result of ours and ignores those of graphs it no longer has
            self.inflight.get(node, {}).pop((parsed[1], parsed[0]), None)
            self.chained_on.pop((parsed[1], parsed[0]), None)
            self.recalling.discard((parsed[1], parsed[0]))
            out.append(Send("tengine", TeEvent(parsed[1], parsed[0], node, rc, status, target)))
            if parsed[1] == self.te_running:
                return
        task = str(result.get("task"))
        interval = int(result.get("interval") or 0)
        if status == 1:
            return  # a cancellation changes nothing the policy engine looks at
        # a result no running graph waits for (an older graph's, a monitor's, another DC's):
        # whatever it says, the last plan did not count on it
        self._want_pe(f"{result.get('rsc')}_{task}_{interval} on {node}: rc={rc} (expected {target}, "
                      f"transition {parsed[1] if parsed else '?'})", out)

    def _te_event_done(self, msg: crm.ActionDone, out: list[object]) -> None:
        self.inflight.get(msg.node, {}).pop((msg.transition_id, msg.action_id), None)
        if self.is_dc:
            parsed = parse_transition_key(msg.key)
            target = parsed[2] if parsed is not None else 0
            out.append(Send("tengine", TeEvent(msg.transition_id, msg.action_id, msg.node,
                                               target if msg.ok else 1, 0 if msg.ok else 4, target)))

    def _action_lost(self, now_ms: int, msg: TeActionLost, out: list[object]) -> None:
        if not self.is_dc:
            return
        try:
            action = GraphAction.from_wire(msg.action)
        except GraphError:
            return
        node = action.on_node or ""
        if action.kind != "rsc_op" or not action.rsc_id or node not in self.joined_nodes and node != self.me:
            self._want_pe(f"action {action.operation_key} lost", out)
            return
        key = transition_key(action.id, msg.transition_id, action.target_rc, self.te_uuid)
        rec = OpRecord(action.rsc_id, action.operation, action.interval_ms, -1, 1, OP_STATUS["timeout"], key,
                       "", self.wall_s(now_ms), exit_reason=f"action lost: {msg.reason}")
        ids = rq.node_ids(self.cib)
        nid = ids.get(node, node)
        base = rq.lrm_path(nid) + (("lrm_resource", action.rsc_id),)
        entry = f"{action.rsc_id}_last_failure_0"
        edits: list[Edit] = [("set", base, {"id": action.rsc_id, "type": action.rsc_type or "",
                                            "class": action.rsc_class or ""}),
                             ("put", base + (("lrm_rsc_op", entry),),
                              to_xml(XNode("lrm_rsc_op", rec.attrs(entry, node)), indent=None))]
        self._dc_edits(now_ms, edits, out)
        self._want_pe(f"action {action.operation_key} on {node} lost ({msg.reason})", out)

    # -- running actions on this node ------------------------------------------------------------------------------
    def _resume_held(self, now_ms: int, out: list[object]) -> None:
        """Membership is confirmed after a stall: what waited runs if nothing changed meanwhile
        (same view, same DC), and is dropped otherwise (the DC plans again; the engine fails it)."""
        held, self.stall_held = self.stall_held, []
        for kind, view, item in held:
            starts = kind == "invoke" or item[2].get("operation") in ("start", "promote", "migrate_from")
            if self.view is None or view != self.view.instance or (starts and not self.quorate):
                self.count("stall_dropped")
                self._held_action_void(kind, item, out)
                continue
            if kind == "invoke":
                self._invoke(now_ms, item, out)
            else:
                tid, key, wire_action = item
                self._run_action(now_ms, tid, key, wire_action, out)

    def _run_action(self, now_ms: int, tid: int, key: str, wire_action: dict[str, Any], out: list[object]) -> None:
        if self.stalled and tid != GIVE_UP:
            self.stall_held.append(("run", self.view.instance if self.view else 0, (tid, key, wire_action)))
            return
        try:
            action = GraphAction.from_wire(wire_action)
        except GraphError as exc:
            out.append(Log("error", f"bad action from the DC: {exc}"))
            return
        if not action.rsc_id:
            return
        rsc_id = action.rsc_id
        ctx = ActionCtx(tid, action.id, key, rsc_id, action.operation, action.interval_ms,
                        params_digest(action.attrs, action.interval_ms), action.rsc_class or "",
                        action.rsc_provider or "", action.rsc_type or "",
                        history_hint(action.operation, action.meta()))
        if self.isolated and tid != GIVE_UP and action.operation in STARTING_OPS:
            # cut off: what runs here is being given up (the graph was planned before we knew);
            # the engine learns the action failed (no failure is recorded: nothing ran)
            self.count("isolated_refused")
            self._action_failed(now_ms, ctx, f"{self.me} is cut off", out)
            return
        if not self.lrmd.up or not self.lrm_ready:
            self.lrmd_waiting.append((tid, key, wire_action))  # run when the lrmd is back
            return
        if action.operation == "cancel":
            task = action.attrs.get("CRM_meta_operation", "monitor")
            interval = action.interval_ms
            self.recurring.pop((rsc_id, task, interval), None)
            removed = self.lrm.drop_recurring(rsc_id, task, interval)
            cancel_ctx = ActionCtx(tid, action.id, key, rsc_id, "cancel", interval, "", ctx.rsc_class, ctx.provider,
                                   ctx.rsc_type)
            out.append(self.lrmd.request(now_ms, lambda rid: lrm.Cancel(rid, rsc_id, task, interval), "cancel",
                                         context=cancel_ctx))
            if removed is not None:
                self._send_lrm(now_ms, rsc_id, [], [removed], None, out)
            return
        if action.operation in ("delete", "lrm_delete"):
            self._forget(now_ms, rsc_id, out)
            self._action_done(now_ms, ctx, True, "", out)
            return
        if self.haresources and action.operation == "start":
            from crmd import standby
            standby.on_start(self, rsc_id, out)
        params: Optional[dict[str, str]] = action.params()
        registered = self.registered.get(rsc_id)
        if action.operation in NO_PARAMS_OPS and registered is not None \
                and registered[:3] == (ctx.rsc_class, ctx.provider, ctx.rsc_type):
            params = None  # the graph gives no parameters for a stop: those the resource started with
        else:
            assert params is not None
            registration = (ctx.rsc_class, ctx.provider, ctx.rsc_type, tuple(sorted(params.items())))
            if registered != registration:
                self.registered[rsc_id] = registration
                reg_params = params
                out.append(self.lrmd.request(now_ms, lambda rid: lrm.Register(rid, rsc_id, ctx.rsc_class, ctx.rsc_type,
                                                                             ctx.provider, reg_params), "register"))
        if action.interval_ms == 0 and action.operation in ("stop", "start", "promote", "demote", "migrate_to",
                                                            "migrate_from"):
            for (rid_, task, interval) in [k for k in self.recurring if k[0] == rsc_id]:
                self.recurring.pop((rid_, task, interval), None)
                out.append(self.lrmd.request(now_ms, lambda rid, t=task, i=interval: lrm.Cancel(rid, rsc_id, t, i),
                                             "cancel_quiet"))
        meta = {k: v for k, v in action.meta().items()}
        send = self.lrmd.request(now_ms, lambda rid: lrm.Execute(
            rid, rsc_id, action.operation, action.interval_ms, action.timeout_ms, action.start_delay_ms, params, meta,
            action.target_rc, "", user_data(key, ctx.digest, ctx.hint)), "exec",
            timeout_ms=REQUEST_TIMEOUT_MS)
        assert isinstance(send.msg, lrm.Execute)
        self.exec_waiting[send.msg.request_id] = ctx
        self.lrmd.pending[send.msg.request_id].context = send.msg.request_id
        out.append(send)

    def _op_result(self, now_ms: int, res: lrm.OpResult, out: list[object]) -> None:
        if not self.lrm_ready:
            return
        ctx = self.running.get(res.call_id)
        if res.interval_ms == 0:
            self.running.pop(res.call_id, None)
        first = res.call_id in self.unconfirmed
        self.unconfirmed.discard(res.call_id)
        if ctx is not None and ctx.forgotten:
            self.running.pop(res.call_id, None)
            if first and ctx.transition_id != GIVE_UP:
                self._action_done(now_ms, ctx, False, "its resource was cleaned up while it ran", out)
            return
        if res.status == "cancelled":
            self.running.pop(res.call_id, None)
            if first and ctx is not None and ctx.transition_id != GIVE_UP:
                # cancelled before it ever reported (its resource was cleaned up or deleted
                # meanwhile): the engine that waits for it learns now, not at its timer
                self._action_done(now_ms, ctx, False, "cancelled before it reported", out)
            return
        if res.operation in ("meta-data",):
            return
        probe = res.operation == "monitor" and res.interval_ms == 0
        key, digest = split_user_data(res.user_data, probe)
        registered = self.registered.get(res.rsc_id)
        if ctx is not None:
            rclass, provider, rtype = ctx.rsc_class, ctx.provider, ctx.rsc_type
        elif registered is not None:
            rclass, provider, rtype = registered[0], registered[1], registered[2]
        else:
            return
        if not digest and registered is not None:
            # an operation no graph asked for (the restarted lrmd's own probe): the digest of
            # the parameters it ran with, as Pacemaker's controller records for every operation;
            # without one the policy engine takes the definition as changed and restarts it
            digest = params_digest(dict(registered[3]), res.interval_ms)
        when = res.rc_changed_wall_s if res.interval_ms > 0 else res.started_wall_s
        rec = OpRecord(res.rsc_id, res.operation, res.interval_ms, res.call_id, res.rc,
                       OP_STATUS.get(res.status, 4), key, digest, int(when), res.exec_ms, res.queue_ms, res.exit_reason)
        rsc = self.lrm.resource(res.rsc_id, rclass, provider, rtype)
        written, removed = self.lrm.record(rsc, rec, hint_of(res.user_data))
        if ctx is not None and (res.interval_ms == 0 or first):
            self._chain_result(now_ms, ctx, res.rc, rec.op_status, out)  # the next step first: it waits
        entries = [rsc.entries[e].attrs(e, self.me) for e in written]
        result = {"rsc": res.rsc_id, "task": res.operation, "interval": res.interval_ms, "rc": res.rc,
                  "op_status": rec.op_status, "target": rec.target_rc, "key": key}
        self._send_lrm(now_ms, res.rsc_id, entries, removed, result, out)
        if (self.isolated or self.ccm_lost) and res.operation in STARTING_OPS and res.interval_ms == 0 \
                and res.rsc_id in self.lrm.active() and res.rsc_id not in self.giving_up:
            # began before we were cut off (or lost ccm) and finished after: it goes too
            out.append(Log("info", f"{res.rsc_id} started on {self.me} while it was being given up: stopping it too"))
            self.giving_up.append(res.rsc_id)
            if len(self.giving_up) == 1:
                self._give_up_next(now_ms, out)
        elif self.giving_up and self.giving_up[0] == res.rsc_id and res.operation == "stop" and res.interval_ms == 0:
            self.giving_up.pop(0)
            if res.rc != 0 or res.status != "done":
                out.append(Log("error", f"{res.rsc_id} could not be stopped on {self.me} ({res.status}, rc {res.rc}): "
                                        "it may run twice until this node is fenced"))
            self._give_up_next(now_ms, out)
        self._lrm_changed(now_ms, out)

    def _send_lrm(self, now_ms: int, rsc_id: str, entries: list[dict[str, str]], removed: list[str],
                  result: Optional[dict[str, Any]], out: list[object]) -> None:
        rsc = self.lrm.resources.get(rsc_id)
        args: dict[str, Any] = {"rsc": rsc_id, "entries": entries, "removed": removed, "result": result, "live": True,
                                "class": rsc.rsc_class if rsc else "", "type": rsc.rsc_type if rsc else "",
                                "provider": rsc.provider if rsc else ""}
        req = crm.CibRequest(self.me, self.ids(), "lrm", args)
        if self.is_dc:
            if self.round is not None and self.round.phase != "done":
                self.queued.append(req)
            else:
                self._dc_request(now_ms, req, out)
        elif self.joined and self.dc is not None:
            out.append(self._send(self.dc, req))
        # not joined: the next join request carries the whole history

    def _lrm_reset_sent(self, now_ms: int, out: list[object]) -> None:
        """Our lrmd (re)started: the DC gets our whole history again."""
        if self.is_dc or (self.joined and self.dc is not None):
            req = crm.CibRequest(self.me, self.ids(), "lrm_replace", {"lrm": self.lrm.xml()})
            if self.is_dc:
                if self.round is None or self.round.phase == "done":
                    self._dc_request(now_ms, req, out)
                else:
                    self._self_request(now_ms, out)
            else:
                out.append(self._send(self.dc, req))
        elif self.round is not None and self.is_dc:
            self._self_request(now_ms, out)
        if self.pending_offer is not None and self.view is not None and self.pending_offer.view == self.view.instance:
            offer, self.pending_offer = self.pending_offer, None
            self._on_offer(now_ms, offer.dc, offer, out)
        waiting, self.lrmd_waiting = self.lrmd_waiting, []
        for tid, key, wire_action in waiting:
            self._run_action(now_ms, tid, key, wire_action, out)
        if self.is_dc and self.round is not None and self.round.phase == "collecting" and self.me not in self.round.requests:
            self._self_request(now_ms, out)

    def _action_failed(self, now_ms: int, ctx: ActionCtx, why: str, out: list[object]) -> None:
        out.append(Log("error", f"{ctx.rsc_id}_{ctx.task}_{ctx.interval_ms} could not run: {why}"))
        self._action_done(now_ms, ctx, False, why, out)

    def _action_done(self, now_ms: int, ctx: ActionCtx, ok: bool, detail: str, out: list[object]) -> None:
        msg = crm.ActionDone(self.me, ctx.transition_id, ctx.action_id, ctx.key, ok, detail)
        if self.is_dc:
            self._te_event_done(msg, out)
        elif self.dc is not None:
            out.append(self._send(self.dc, msg))
        parsed = parse_transition_key(ctx.key)
        target = parsed[2] if parsed is not None else 0
        self._chain_result(now_ms, ctx, target if ok else 1, 0 if ok else 4, out)

    def _forget(self, now_ms: int, rsc_id: str, out: list[object]) -> None:
        # an operation of the resource still running (or about to) ends after its history is gone:
        # its result must not bring a piece of that history back (a recurring monitor's first
        # result alone reads as "running here" to the policy engine, which then never probes
        # again, while this node counts the resource as unknown: found by the fault campaign)
        for ctx in list(self.exec_waiting.values()) + list(self.running.values()):
            if ctx.rsc_id == rsc_id:
                ctx.forgotten = True
        self.lrm.forget(rsc_id)
        self.registered.pop(rsc_id, None)
        for k in [k for k in self.recurring if k[0] == rsc_id]:
            self.recurring.pop(k, None)
        if self.lrmd.up:
            out.append(self.lrmd.request(now_ms, lambda rid: lrm.Unregister(rid, rsc_id), "unregister"))
        self._lrm_changed(now_ms, out)

    # -- local resource status (cl_status rscstatus, heartbeat's log lines) ------------------------------------------
    @property
    def haresources(self) -> bool:
        return self.config.mode == "haresources"

    def _lrm_changed(self, now_ms: int, out: list[object]) -> None:
        from crmd import standby
        self.lrm_serial += 1
        status = standby.rsc_status(self)
        if status != self.rsc_status and self.messaging.up:
            self.rsc_status = status
            out.append(self.messaging.request(now_ms, lambda rid: SetResourceStatus(rid, status), "rscstatus"))

    def _log_takeover_start(self, lost: list[str], out: list[object]) -> None:
        from crmd import standby
        standby.log_takeover_start(self, lost, out)

    def _log_idle(self, msg: crm.DcState, out: list[object]) -> None:
        from crmd import standby
        standby.log_idle(self, msg, out)

    # -- stopping ------------------------------------------------------------------------------------------------
    def _begin_stop(self, now_ms: int, out: list[object]) -> None:
        if self.stopping:
            self._finish_stop(out)  # asked twice: stop now
            return
        self.stopping = True
        self.stop_deadline = now_ms + self.config.shutdown_escalation_ms
        if self.haresources:
            out.append(Log("info", "Giving up all HA resources."))
        else:
            out.append(Log("info", "crmd is shutting down: asking the DC to move this node's resources"))
        if self.view is None or not self.messaging.up or not self.lrm_ready:
            if not self.lrm.active():
                self._finish_stop(out)
                return
        self.shutdown_value = str(self.wall_s(now_ms))
        self._ask_shutdown(now_ms, out)

    def _ask_shutdown(self, now_ms: int, out: list[object]) -> None:
        self.shutdown_asked_of = self._join_identity()
        assert self.shutdown_value is not None
        self._request(now_ms, "attr", {"node": self.me, "name": "shutdown", "value": self.shutdown_value,
                                       "lifetime": "reboot"}, out, None)

    def _join_identity(self) -> Optional[tuple[str, int, int]]:
        """(the DC, its crmd incarnation, the join) this node is in now; None while it is in none
        (a round under way, not joined, no view). The incarnation, because a DC that restarted
        counts its joins from 1 again: a join of the new one with the number of one of the old
        looked like the same join, and a stop asked of the old one (lost with it) was not asked
        again (`hb sim crm --nodes 2 --seed 128 --faults admin,crash,proc,nic,partition,pause,loss,oneway,stop`)."""
        if self.view is None:
            return None
        if self.is_dc:
            if self.round is not None and self.round.phase != "done":
                return None
            return (self.me, self.incarnation, self.join_id)
        if self.joined and self.dc is not None:
            return (self.dc, self.join_dc_incarnation, self.join_id)
        return None

    def _sync_shutdown(self, now_ms: int, out: list[object]) -> None:
        """While stopping, this node's `shutdown` attribute must be in the CIB of every DC it
        joins: that attribute is what makes a DC's policy engine move everything off this node
        and answer `ShutdownOk`. The request goes to the DC of the moment, and a DC that stops or
        loses its role before recording it takes it along (every node stopped at once, a stop
        while a DC election is under way); no later DC would then know, and this crmd would wait
        for the escalation (shutdown_escalation_ms, 2 minutes by default). So at every new join
        (as a member, or as the DC once its round is done) the replica is read and the request
        sent again when the attribute is not there. (Pacemaker's attribute daemon writes every
        attribute again to a new DC's CIB after an election, which covers the same race.)"""
        if not self.stopping or self.shutdown_value is None:
            return
        ident = self._join_identity()
        if ident is None or ident == self.shutdown_asked_of:
            return
        nid = rq.node_ids(self.cib).get(self.me, self.me)
        if rq.transient_attrs(self.cib, nid).get("shutdown") == self.shutdown_value:
            self.shutdown_asked_of = ident  # recorded in this DC's CIB
            return
        self.count("shutdown_asked_again")
        out.append(Log("info", f"the DC {ident[0]} (join {ident[2]}) has no shutdown request from this node; "
                               "asking again"))
        self._ask_shutdown(now_ms, out)

    def _finish_stop(self, out: list[object]) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self.haresources:
            out.append(Log("info", "All HA resources relinquished."))
        if self.messaging.up:
            out.append(Send("messaging", SignOff(self.ids(), "crmd")))
        out.append(Log("info", f"{self.me} crmd shutdown complete"))
        out.append(Stopped())


# -- helpers -------------------------------------------------------------------------------------------------
def _superseded(req: crm.CibRequest) -> Optional[crm.CibRequest]:
    """`req` once its node's join request (a whole, newer history) has reached the DC: a whole
    history sent before it is void (None), an update keeps only what the history does not
    hold (_dc_lrm_update); any other request is unchanged."""
    if req.op == "lrm_replace":
        return None
    if req.op == "lrm":
        return crm.CibRequest(req.origin, req.request_id, req.op, {**req.args, "superseded": True})
    return req


def _heard(status: str, generation: int) -> bool:
    """Messaging hears the node (a node heard once has its generation; `init` is its own state
    while it starts, not ours about it)."""
    return status != "dead" and generation > 0


def _uuid(rng: RandomSource) -> str:
    digits = "".join(format(rng.randint(0, 15), "x") for _ in range(32))
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _ctime(epoch: int) -> str:
    """asctime() of UTC seconds, as Pacemaker writes cib-last-written (no time module here)."""
    import datetime as _dt
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).strftime("%a %b %e %H:%M:%S %Y")


def _v(version: Any) -> str:
    return ".".join(str(x) for x in version)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _mark(value: Any) -> Mark:
    """A `quorate` field of a message (or a configured mark) as a Mark; (0, 0, 0) when absent
    or malformed."""
    try:
        view, admin, epoch = value
        return int(view), int(admin), int(epoch)
    except (TypeError, ValueError):
        return (0, 0, 0)


def _config_version(cib: Cib) -> tuple[int, int]:
    admin, epoch, _ = cib.version
    return admin, epoch


def _config_digest(cib: Cib) -> str:
    config = cib.root.find("configuration")
    return to_xml(config, indent=None) if config is not None else ""


def _disk(cib: Cib) -> str:
    return to_xml(cib.config_copy())


def adopt_config(cib: Cib, other: Cib) -> None:
    """Take another replica's configuration and version, keeping our status section."""
    root = other.root.copy()
    status = cib.root.find("status")
    root.children = [c for c in root.children if c.tag != "status"] + [status if status is not None else XNode("status")]
    cib.replace(root)


def _acl_args(msg: Any) -> dict[str, Any]:
    """The ACL user of a tool's request, carried to the DC (nothing for root and daemons)."""
    return {"user": msg.user, "groups": list(msg.groups)} if access.acl_required(msg.user) else {}


def _cib_edits(cib: Cib, op: str, section: Any, xml: str, origin: str) -> list[Edit]:
    section = str(section) if section else None
    if op == "replace":
        return rq.replace(cib, section, xml, origin)
    if op == "modify":
        return rq.modify(cib, section, xml, origin)
    if op == "create":
        return rq.create(cib, section, xml, origin)
    if op == "delete":
        return rq.delete(cib, section, xml, origin)
    raise CibError(f"unknown CIB operation {op!r}")
