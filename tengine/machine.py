"""The transition engine as a sans-I/O core: executes one transition graph at a time for the crmd
of the DC.

Theory of operation (after Pacemaker's graph consumer, lib/pacemaker/pcmk_graph_consumer.c)
---------------------------------------------------------------------------------------------
A graph is a list of synapses; each holds one action and the actions it waits for. After every
input the engine makes a *pass*: in synapse order, it fires every synapse that is not fired yet
whose inputs are all confirmed and none failed, as long as fewer than `batch_limit` actions are in
flight. A pseudo action (ordering only) is confirmed the moment it fires. Any other action is
handed to crmd (`TeInvoke`) and stays in flight until its result comes back (`TeEvent`, matched by
transition id and action id) or its timer expires: the action's timeout plus its start delay plus
the graph's `cluster-delay`. An expired action is failed and reported (`TeActionLost`) so that
crmd records a failed result the policy engine will see.

A result other than the action's target rc fails the action (unless its on-fail is `ignore`),
and aborts the graph at the synapse's priority + 1: synapses of higher priority (stops, for
instance) may still fire, the rest no longer do. A failed input blocks its dependents unless
their priority is INFINITY. An abort from crmd (`TeAbort`) raises the abort priority and the
completion action (done < wait < restart < shutdown) to the highest asked for; INFINITY fires
nothing new (pseudo actions excepted) and waits for the actions in flight. A new graph that
arrives while the running one still has actions in flight aborts it that way and starts once
they are done (two graphs never have actions in flight at once). Actions on a node
that leaves (`TeNodeLost`) fail at once, unless that node is what the action takes down
(fencing, shutdown: then its departure confirms it).

Chains. Each result of a node's action travels to the DC (and into the CIB) before the engine
fires what waits for it: for a group's members started one after the other on one node, each
step costs two trips between that node and the DC (6-16 ms each in the lab, more when the
machines are busy), although the node could go on alone. So when the engine fires a resource
action on a node, it hands over with it (`TeInvoke.then`) the actions that wait only for it, for
each other and for confirmed actions, on the same node (`core.graph.chainable`: operations that
node's lrmd runs, not fencing, cancels or migrations), within `batch_limit`: the chain. They are
fired at once as far as the engine is concerned (in flight, with a timer that starts when the
last of their chain inputs' timers would end), and the node runs each as soon as its chain inputs
have succeeded there (`core.graph.result_confirms`, the engine's own test), reporting every
result as usual. Two rules keep a chain no looser than firing one by one:
- a result that fails a chain input drops, on the node and in the engine alike, everything in
  the chain that waits for it, directly or not (back to pending here: it never ran there);
- an abort that rises above a chained action's priority recalls it (`TeRecall`): the node drops
  those that have not begun and says which (`TeRecalled`: back to pending, they did not run); the
  others report as usual. As with actions in flight, a graph that waits for this one's begins
  only after every chained action has reported or been recalled.

When nothing is in flight and nothing more can fire, the graph is done: `TeDone` with status
complete (every synapse confirmed), terminated (aborted) or stopped (something could not run),
and next = the completion action (restart after any failure or unconfirmed synapse, so the
policy engine runs again and sees the new state). No action ever fires from a graph after it was
aborted at a priority above the action's synapse, or after `TeCancel`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from core.graph import INFINITY, Graph, GraphAction, GraphError, Synapse, chainable, parse_graph, result_confirms
from core.messages.common import PingRequest, Reply
from core.messages.te import (TeAbort, TeActionLost, TeCancel, TeDone, TeEvent, TeGraph, TeInvoke,
                              TeNodeLost, TeRecall, TeRecalled, TeSignOn)
from core.sansio import Log, PeerGone, Recv, Send, Tick, WallClock

DEFAULT_BATCH_LIMIT = 30
COMPLETION_ORDER = ("done", "wait", "restart", "shutdown")
PENDING, FIRED, CONFIRMED, FAILED, SKIPPED = range(5)


MIGRATION_OPS = ("migrate_to", "migrate_from")


def _migration_nodes(action: GraphAction) -> set[str]:
    """The nodes a migration step occupies (both its source and its target)."""
    meta = action.attrs
    return {n for n in (meta.get("CRM_meta_migrate_source"), meta.get("CRM_meta_migrate_target")) if n}


@dataclass
class SynapseState:
    synapse: Synapse
    state: int = PENDING
    index: int = 0  # its place in the graph
    deadline_ms: Optional[int] = None
    # fired as part of a chain: the actions of the chain it waits for on its node (empty: fired
    # alone, or the chain's first action); recalled: a TeRecall for it is out
    chain_inputs: tuple[int, ...] = ()
    chained: bool = False
    recalled: bool = False

    def unfire(self) -> None:
        """A chained action its node will not run after all: pending again."""
        self.state = PENDING
        self.deadline_ms = None
        self.chain_inputs = ()
        self.chained = False
        self.recalled = False


@dataclass(frozen=True)
class Fired:
    """Effect (observed by the simulator's checkers): an action left the engine."""

    transition_id: int
    action_id: int
    pseudo: bool
    abort_priority: int
    synapse_priority: int


@dataclass(frozen=True)
class Aborted:
    """Effect (observed by the simulator's checkers): the abort priority rose."""

    transition_id: int
    priority: int
    reason: str


class TeMachine:
    def __init__(self, pid: int, default_batch_limit: int = DEFAULT_BATCH_LIMIT) -> None:
        self.pid = pid
        self.default_batch_limit = default_batch_limit
        self.client: Optional[bytes] = None
        self.graph: Optional[Graph] = None
        self.states: dict[int, SynapseState] = {}  # action id -> state
        self.dependents: dict[int, list[SynapseState]] = {}  # action id -> the synapses that wait for it
        self.by_synapse: list[SynapseState] = []
        self.abort_priority = 0
        self.completion = "done"
        self.abort_reason = ""
        self.failures = 0
        self.queued: Optional[Graph] = None  # a graph waiting for the old one's actions in flight
        self.reply_to: Optional[tuple[bytes, int]] = None
        self.counters: dict[str, int] = {}

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    # -- the surface ---------------------------------------------------------------------------------
    def step(self, now_ms: int, event: object) -> list[object]:
        out: list[object] = []
        kind = type(event)
        if kind is Recv:
            self._recv(now_ms, event.src, event.msg, out)  # type: ignore[attr-defined]
        elif kind is PeerGone:
            if event.peer == self.client:  # type: ignore[attr-defined]
                self.client = None
                if self.graph is not None:
                    out.append(Log("warn", f"crmd left while transition {self.graph.transition_id} ran; dropped"))
                    self._drop()
        elif kind is Tick:
            self._expire(now_ms, out)
        elif kind is not WallClock:
            raise AssertionError(f"tengine got an unknown input {event!r}")
        self._pass(now_ms, out)
        return out

    def next_deadline_ms(self) -> Optional[int]:
        best: Optional[int] = None
        for st in self.by_synapse:
            if st.state == FIRED and st.deadline_ms is not None and (best is None or st.deadline_ms < best):
                best = st.deadline_ms
        return best

    @property
    def transition_id(self) -> Optional[int]:
        return self.graph.transition_id if self.graph is not None else None

    def in_flight(self) -> int:
        return sum(1 for st in self.by_synapse if st.state == FIRED)

    # -- requests ------------------------------------------------------------------------------------
    def _recv(self, now_ms: int, src: Any, msg: Any, out: list[object]) -> None:
        if not isinstance(src, bytes):
            self.count("unexpected_sources")
            return
        if isinstance(msg, TeSignOn):
            if self.client is not None and self.client != src and self.graph is not None:
                out.append(Log("warn", "a new crmd signed on; the running transition is dropped"))
                self._drop()
            self.client = src
            out.append(Send(src, Reply(msg.request_id, True, {"pid": self.pid})))
        elif isinstance(msg, TeGraph):
            self._start(now_ms, src, msg, out)
        elif isinstance(msg, TeEvent):
            self._event(now_ms, msg, out)
        elif isinstance(msg, TeAbort):
            self.abort(msg.priority, msg.action, msg.reason, out)
        elif isinstance(msg, TeNodeLost):
            self._node_lost(msg.node, out)
        elif isinstance(msg, TeRecalled):
            self._recalled(msg, out)
        elif isinstance(msg, TeCancel):
            if self.graph is not None and self.graph.transition_id == msg.transition_id:
                out.append(Aborted(msg.transition_id, INFINITY + 1, "cancelled"))
                out.append(Log("info", f"transition {msg.transition_id} cancelled"))
                self._drop()
        elif isinstance(msg, PingRequest):
            out.append(Send(src, Reply(msg.request_id, True, {"daemon": "tengine", "pid": self.pid})))
        else:
            self.count("unexpected_requests")
            rid = getattr(msg, "request_id", None)
            if isinstance(rid, int):
                out.append(Send(src, Reply(rid, False, None, f"tengine does not handle {type(msg).__name__}")))

    def _start(self, now_ms: int, src: bytes, msg: TeGraph, out: list[object]) -> None:
        try:
            graph = parse_graph(msg.graph)
        except GraphError as exc:
            out.append(Send(src, Reply(msg.request_id, False, None, f"bad graph: {exc}")))
            return
        self.client = src
        if self.graph is not None and self.in_flight():
            # the old graph fires nothing more; the new one starts when its actions are done
            old = self.graph.transition_id
            self.abort(INFINITY, "restart", f"superseded by transition {graph.transition_id}", out)
            self.queued = graph
            out.append(Send(src, Reply(msg.request_id, True, {"transition_id": graph.transition_id,
                                                               "synapses": len(graph.synapses),
                                                               "after": old})))
            out.append(Log("info", f"transition {graph.transition_id} waits for {self.in_flight()} actions "
                                   f"of transition {old}"))
            return
        self.reply_to = (src, msg.request_id)
        self._begin(graph, out)

    def _begin(self, graph: Graph, out: list[object]) -> None:
        self.graph = graph
        self.by_synapse = [SynapseState(s, index=n) for n, s in enumerate(graph.synapses)]
        self.states = {st.synapse.action.id: st for st in self.by_synapse}
        # what waits for each action (a chain only grows through these), in synapse order
        self.dependents = {}
        for st in self.by_synapse:
            for needed in st.synapse.inputs:
                self.dependents.setdefault(needed, []).append(st)
        self._skip_unreachable(out)
        self.abort_priority = 0
        self.completion = "done"
        self.abort_reason = ""
        self.failures = 0
        if self.reply_to is not None:
            out.append(Send(self.reply_to[0], Reply(self.reply_to[1], True, {"transition_id": graph.transition_id,
                                                                              "synapses": len(graph.synapses)})))
            self.reply_to = None
        out.append(Log("info", f"transition {graph.transition_id}: {len(graph.synapses)} actions"))
        if not graph.synapses:
            self._finish(out)

    def _skip_unreachable(self, out: list[object]) -> None:
        """Synapses that wait for an action the graph does not hold (or for such a synapse) can
        never fire: Pacemaker's scheduler orders after actions it did not schedule (a blocked stop
        on an unclean node of a partition without quorum) and its consumer leaves them unfired. They
        are skipped, not counted as unconfirmed: a graph left with only those is complete, else
        each run would ask the policy engine again for the same graph, at once and for ever.
        Refusing the graph instead (as we once did) left what the partition must stop running."""
        changed = True
        while changed:
            changed = False
            for st in self.by_synapse:
                if st.state == PENDING and any(
                        needed not in self.states or self.states[needed].state == SKIPPED for needed in st.synapse.inputs):
                    st.state = SKIPPED
                    changed = True
        skipped = sum(1 for st in self.by_synapse if st.state == SKIPPED)
        if skipped:
            self.count("unreachable_synapses")
            out.append(Log("info", f"transition {self.graph.transition_id if self.graph else '?'}: {skipped} actions "
                                   "wait for actions the graph does not hold; they will not run"))

    # -- results and aborts --------------------------------------------------------------------------
    def _event(self, now_ms: int, ev: TeEvent, out: list[object]) -> None:
        graph = self.graph
        if graph is None or ev.transition_id != graph.transition_id:
            self.count("foreign_events")
            return
        st = self.states.get(ev.action_id)
        if st is None or st.state != FIRED:
            self.count("stray_events")
            return
        action = st.synapse.action
        target = action.target_rc if ev.target_rc is None else ev.target_rc
        st.chained = False
        if result_confirms(action.on_fail, ev.rc, ev.op_status, target):
            st.state = CONFIRMED
            st.deadline_ms = None
            return
        st.state = FAILED
        st.deadline_ms = None
        self.failures += 1
        self._drop_chained_after(action.id)
        out.append(Log("warn", f"transition {graph.transition_id}: action {action.id} ({action.operation_key} on "
                               f"{action.on_node}) failed: rc={ev.rc} status={ev.op_status}, wanted rc={target}"))
        self.abort(st.synapse.priority + 1, "restart", f"{action.operation_key} on {action.on_node} failed", out)

    def abort(self, priority: int, action: str, reason: str, out: list[object]) -> None:
        if self.graph is None:
            return
        priority = min(priority, INFINITY)
        if action in COMPLETION_ORDER and COMPLETION_ORDER.index(action) > COMPLETION_ORDER.index(self.completion):
            self.completion = action
        if priority > self.abort_priority:
            self.abort_priority = priority
            self.abort_reason = reason
            out.append(Aborted(self.graph.transition_id, priority, reason))
            out.append(Log("info", f"transition {self.graph.transition_id} aborted: {reason}"))
            recall = [st for st in self.by_synapse
                      if st.state == FIRED and st.chained and not st.recalled and st.synapse.priority < priority]
            for st in recall:
                st.recalled = True
            if recall and self.client is not None:
                out.append(Send(self.client, TeRecall(self.graph.transition_id,
                                                      tuple(st.synapse.action.id for st in recall))))

    def _drop_chained_after(self, failed_id: int) -> None:
        """The node drops what its chain holds behind a failed action (directly or not): so do we."""
        gone = {failed_id}
        changed = True
        while changed:
            changed = False
            for st in self.by_synapse:
                if st.state == FIRED and st.chained and any(i in gone for i in st.chain_inputs):
                    gone.add(st.synapse.action.id)
                    st.unfire()
                    changed = True
        if len(gone) > 1:
            self.count("chained_dropped")

    def _recalled(self, msg: TeRecalled, out: list[object]) -> None:
        if self.graph is None or msg.transition_id != self.graph.transition_id:
            self.count("foreign_events")
            return
        for action_id in msg.action_ids:
            st = self.states.get(action_id)
            if st is not None and st.state == FIRED and st.chained:
                st.unfire()
                self.count("chained_recalled")

    def _node_lost(self, node: str, out: list[object]) -> None:
        graph = self.graph
        if graph is None:
            return
        for st in self.by_synapse:
            action = st.synapse.action
            if action.pseudo or st.state not in (PENDING, FIRED):
                continue
            if action.operation != "stonith" and (
                    node in action.downed or (action.on_node_uuid in action.downed and action.on_node == node)):
                # a shutdown: the node leaving is its confirmation (a fencing waits for the fencer:
                # a node that only looks gone is what fencing is for)
                if st.state == FIRED:
                    st.state = CONFIRMED  # the node it takes down is gone: done
                    st.deadline_ms = None
                continue
            if action.on_node == node or action.router_node == node:
                if action.operation == "stonith":
                    continue  # fencing a node that left is what it is for
                if st.state == FIRED:
                    out.append(self._lost(action, f"node {node} left"))
                st.state = FAILED
                st.deadline_ms = None
                self.failures += 1
        self.abort(INFINITY, "restart", f"node {node} left", out)

    def _lost(self, action: GraphAction, reason: str) -> object:
        assert self.client is not None and self.graph is not None
        return Send(self.client, TeActionLost(self.graph.transition_id, action.to_wire(), reason))

    def _expire(self, now_ms: int, out: list[object]) -> None:
        graph = self.graph
        if graph is None:
            return
        for st in self.by_synapse:
            if st.state == FIRED and st.deadline_ms is not None and st.deadline_ms <= now_ms:
                action = st.synapse.action
                st.state = FAILED
                st.deadline_ms = None
                self.failures += 1
                out.append(Log("error", f"transition {graph.transition_id}: action {action.id} "
                                        f"({action.operation_key} on {action.on_node}) timed out"))
                if self.client is not None:
                    out.append(self._lost(action, "timed out"))
                self.abort(INFINITY, "restart", f"action {action.operation_key} lost", out)

    # -- firing --------------------------------------------------------------------------------------
    def _ready(self, syn: Synapse) -> bool:
        for needed in syn.inputs:
            st = self.states.get(needed)
            if st is None:
                return False
            if st.state == FAILED and syn.priority < INFINITY:
                return False
            if st.state not in (CONFIRMED, FAILED):
                return False
        return True

    def _pass(self, now_ms: int, out: list[object]) -> None:
        graph = self.graph
        if graph is None or self.client is None:
            return
        limit = graph.batch_limit if graph.batch_limit > 0 else self.default_batch_limit
        progress = True
        while progress:
            progress = False
            in_flight = self.in_flight()
            for st in self.by_synapse:
                if st.state != PENDING:
                    continue
                syn = st.synapse
                action = syn.action
                if not action.pseudo and syn.priority < self.abort_priority:
                    continue
                if not self._ready(syn):
                    continue
                if not action.pseudo and in_flight >= limit:
                    break
                if not action.pseudo and not self._migration_allowed(graph, action):
                    continue
                out.append(Fired(graph.transition_id, action.id, action.pseudo, self.abort_priority, syn.priority))
                if action.pseudo:
                    st.state = CONFIRMED
                    progress = True
                    continue
                st.state = FIRED
                timeout = action.timeout_ms
                if action.operation == "stonith":
                    # the fencer's delays come on top of the device's time (priority-fencing-delay)
                    timeout = graph.stonith_timeout_ms + _ms_attr(action.attrs.get("CRM_meta_priority_fencing_delay")) * 1000
                if _is_true(action.attrs.get("CRM_meta_op_no_wait")):
                    # te_rsc_command: an action nobody waits for (probe_again) is confirmed
                    # as soon as it is sent
                    out.append(Send(self.client, TeInvoke(graph.transition_id, action.to_wire())))
                    st.state = CONFIRMED
                    progress = True
                    continue
                st.deadline_ms = now_ms + timeout + action.start_delay_ms + graph.cluster_delay_ms
                in_flight += 1
                chain = self._chain(st, limit - in_flight) if chainable(action) else []
                for follower in chain:
                    out.append(Fired(graph.transition_id, follower.synapse.action.id, False, self.abort_priority,
                                     follower.synapse.priority))
                in_flight += len(chain)
                out.append(Send(self.client, TeInvoke(graph.transition_id, action.to_wire(), tuple(
                    {"action": f.synapse.action.to_wire(), "after": list(f.chain_inputs)} for f in chain))))
        if self.in_flight() == 0 and not any(st.state == PENDING and self._could_fire(st) for st in self.by_synapse):
            self._finish(out)
            if self.graph is not None:  # a graph that waited for this one starts now
                self._pass(now_ms, out)

    def _chain(self, head: SynapseState, room: int) -> list[SynapseState]:
        """The pending actions on head's node that wait only for head, for each other and for
        confirmed actions (at most room of them, listed in synapse order), fired with it as its
        chain. Only what waits for a member can join, so the search follows `dependents` from
        head instead of reading the whole graph for every action fired."""
        assert self.graph is not None
        node = head.synapse.action.router_node or head.synapse.action.on_node
        members = {head.synapse.action.id}
        chain: list[SynapseState] = []
        frontier = [head.synapse.action.id]
        while frontier and len(chain) < room:
            for st in self.dependents.get(frontier.pop(0), ()):
                if len(chain) >= room:
                    break
                syn = st.synapse
                action = syn.action
                if st.state != PENDING or syn.priority < self.abort_priority or not chainable(action) \
                        or (action.router_node or action.on_node) != node:
                    continue
                inputs = [self.states.get(i) for i in syn.inputs]
                if any(i is None or (i.state != CONFIRMED and i.synapse.action.id not in members) for i in inputs):
                    continue  # (seen again when the input it still lacks joins, if it does)
                within = tuple(i.synapse.action.id for i in inputs if i is not None and i.synapse.action.id in members)
                st.state = FIRED
                st.chained = True
                st.chain_inputs = within
                # its timer: its own time on top of the latest of what it waits for
                st.deadline_ms = max(self.states[i].deadline_ms or 0 for i in within) + action.timeout_ms \
                    + action.start_delay_ms
                members.add(action.id)
                chain.append(st)
                frontier.append(action.id)
        if chain:
            self.count("chained")
            chain.sort(key=lambda st: st.index)
        return chain

    def _migration_allowed(self, graph: Graph, action: GraphAction) -> bool:
        """migration-limit (controld's allowed_on_node): a migrate_to or migrate_from waits while
        its source or target node already runs that many migration steps."""
        limit = graph.migration_limit
        if limit <= 0 or action.operation not in MIGRATION_OPS or action.router_node:
            return True
        jobs: dict[str, int] = {}
        for st in self.by_synapse:
            other = st.synapse.action
            if st.state == FIRED and other.operation in MIGRATION_OPS and not other.router_node:
                for node in _migration_nodes(other):
                    jobs[node] = jobs.get(node, 0) + 1
        return all(jobs.get(node, 0) < limit for node in _migration_nodes(action))

    def _could_fire(self, st: SynapseState) -> bool:
        syn = st.synapse
        if not syn.action.pseudo and syn.priority < self.abort_priority:
            return False
        return self._ready(syn)

    def _finish(self, out: list[object]) -> None:
        graph = self.graph
        assert graph is not None
        unconfirmed = [st for st in self.by_synapse if st.state in (PENDING, FAILED)]
        if self.abort_priority > 0:
            status = "terminated"
        elif unconfirmed:
            status = "stopped"
        else:
            status = "complete"
        nxt = self.completion
        if (self.failures or unconfirmed) and COMPLETION_ORDER.index(nxt) < COMPLETION_ORDER.index("restart"):
            nxt = "restart"
        reason = self.abort_reason or (f"{len(unconfirmed)} actions not confirmed" if unconfirmed else "")
        out.append(Log("info", f"transition {graph.transition_id} {status} "
                               f"({sum(1 for st in self.by_synapse if st.state == CONFIRMED)}/{len(self.by_synapse)} "
                               f"confirmed); next: {nxt}"))
        if self.client is not None:
            out.append(Send(self.client, TeDone(graph.transition_id, status, nxt, reason, self.failures)))
        queued = self.queued
        self._drop()
        if queued is not None:
            self._begin(queued, out)

    def _drop(self) -> None:
        self.graph = None
        self.by_synapse = []
        self.states = {}
        self.dependents = {}
        self.queued = None


def _is_true(text: Optional[str]) -> bool:
    """crm_is_true."""
    return text is not None and text.strip().lower() in ("true", "on", "yes", "y", "1")


def _ms_attr(text: object) -> int:
    try:
        return max(0, int(str(text)))
    except ValueError:
        return 0
