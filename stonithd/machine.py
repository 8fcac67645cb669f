"""The fencing daemon (stonithd) as a sans-I/O core: fencing operations, the query among the
stonithds, running fence devices with lrmd's timeout rule, the history.

Theory of operation (after Pacemaker's stonith-ng, daemons/fenced/)
-------------------------------------------------------------------
Devices. Every node knows the same devices: the CIB's class `stonith` primitives and fencing
levels (crmd sends them, `StDevices`), and ha.cf's `stonith`/`stonith_host` lines (a `stonith_host`
device only on the node it names). Which targets a device can fence is `stonithd.devices`'
targeting rule, evaluated on the node that would run it (a dynamic list is that node's answer).

An operation. A client (the DC's crmd; an operator's `hb stonith fence`) asks its stonithd, the
*origin*, to fence a target. A request for a target and action already in progress joins it.
1. Query: the origin asks every stonithd (`StcQuery`, its own answered directly) which of its
   devices can fence the target. It waits for the answer of every node messaging says is alive,
   at most `query_timeout_ms` (a node whose stonithd does not run does not hold fencing up).
   When the origin itself has a device for the target and no levels apply, the choice below
   begins with that device whatever the others answer: it goes on at once, and answers that
   come later order the candidates after it (`Op.early`).
2. Choose: without levels for the target, every (node, device) able to fence it is a candidate,
   in this order: a node other than the target, preferring the origin itself, then ha.cf order;
   the target itself last (never for `on`: a powered-off node cannot switch itself on). With
   levels, each level in index order is tried: all its devices must have a node able to run
   them, and all must succeed, in order.
3. Execute: the origin sends `StcExec` to the chosen node (or runs it itself). The executor waits
   the delay first (the requested one, e.g. priority-fencing-delay, plus pcmk_delay_base + a
   random part up to pcmk_delay_max: only on the operation's first attempt), then runs the device
   program under `core.agentproc.KillClock` (TERM at its timeout, KILL after the grace). A device
   that fails is tried again up to pcmk_<action>_retries times, then the next candidate or level.
   The origin gives an attempt up after 1.2 x the device timeout + the delay + 1 s (the executor
   died or was cut off).
4. Report: the executor broadcasts the outcome of each device run (`StcResult`); a success is the
   fencing of the target, and every stonithd records it in its history and tells its clients
   (`StNotify`) even if the origin is gone meanwhile. When every candidate failed the origin
   broadcasts the final failure. A target executing its own fencing (the last resort) that leaves
   the cluster during the attempt counts as fenced.

Manual confirmation (meatclient, `hb stonith confirm NODE`): the operator swears the node is
down; it is recorded as fenced by `manual`, everywhere, and an operation or a `meatware` device
run waiting for that node succeeds. A `meatware` device runs no program: it logs that an
operator must act and waits for the confirmation (or its timeout).

Inputs: `Recv` (local API and messaging), `PeerGone`, `DeviceExited`, `Tick`, `WallClock`,
`Stop`. Effects: `Send`, `RunDevice`, `SignalDevice`, `WatchPid`, `Log`, `Stopped`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from core import wire
from core.agentproc import ABANDON, DEFAULT_KILL_GRACE_MS, KILL, TERM, AgentExit, KillClock
from core.messages import stonith as st
from core.messages.common import PingRequest, Reply
from core.messages.hbapi import ClusterMessage, NodeStatusEvent, SendCluster, SignOn
from core.messages.hbapi import Query as HbQuery
from core.sansio import Log, PeerGone, RandomSource, Recv, Send, Stop, Stopped, Tick, WallClock, WatchPid
from core.session import IdSource, Session
from stonithd import plugins
from stonithd.devices import (DEFAULT_TIMEOUT_MS, FENCE, LIST_CACHE_MS, MANUAL, WATCHDOG, Device, Level, from_wire,
                              levels_for, name_positional)

CONNECT_RETRY_MS = 500
POLL_MS = 1000
REQUEST_TIMEOUT_MS = 2000
SILENT_MS = 5000
PREPARE_TIMEOUT_MS = 30_000  # getconfignames, metadata
HISTORY_MAX = 500
HISTORY_SYNC = 100  # records a (re)started stonithd gets from each peer
EXEC_SLACK_MS = 1000


@dataclass(frozen=True)
class StonithConfig:
    node: str
    nodes: tuple[str, ...]  # ha.cf order
    pid: int
    hacf_devices: tuple[Device, ...] = ()
    query_timeout_ms: int = 1500
    kill_grace_ms: int = DEFAULT_KILL_GRACE_MS


# -- shell inputs and effects --------------------------------------------------------------------
@dataclass(frozen=True)
class RunDevice:
    """Run a device program: `op` is one of `plugins.OPERATIONS`; the shell finds the program of
    `device.type`, builds the invocation (`plugins.invocation`) and feeds `DeviceExited`."""

    run_id: int
    device: Device
    op: str
    host: Optional[str]
    agent_params: tuple[str, ...]
    timeout_ms: int


@dataclass(frozen=True)
class SignalDevice:
    run_id: int
    signal: str  # TERM | KILL: to the program's process group


@dataclass(frozen=True)
class DeviceExited:
    run_id: int
    result: AgentExit


# -- state ---------------------------------------------------------------------------------------
@dataclass
class Candidate:
    node: str
    device: str
    timeout_ms: int
    retries: int


@dataclass
class Op:
    """An operation this node is the origin of."""

    id: str
    target: str
    action: str
    requester: str
    timeout_ms: int
    delay_ms: int
    created_ms: int
    created_s: int
    query_only: Optional[tuple[bytes, int]] = None  # StQuery: answer the tool, fence nothing
    phase: str = "query"  # query | exec | done
    query_deadline_ms: int = 0
    expected: set[str] = field(default_factory=set)
    replies: dict[str, list[dict]] = field(default_factory=dict)
    plan: list[list[Candidate]] = field(default_factory=list)  # alternatives; each: devices in order
    alt: int = 0  # which alternative
    step: int = 0  # which device of it
    tries: int = 0  # attempts of this device
    attempt: int = 0  # across the op (the delay is only for the first)
    exec_deadline_ms: Optional[int] = None
    exec_node: str = ""
    last_reason: str = ""
    early: bool = False  # began before every fencer answered: later answers extend the plan


@dataclass
class Job:
    """Device work on this node: a fencing attempt (for some origin) or a targeting check."""

    job_id: int
    purpose: str  # fence | check
    device_id: str
    op: str  # plugins operation
    target: Optional[str]
    origin: str = ""
    op_id: str = ""
    action: str = ""
    attempt: int = 0
    not_before_ms: int = 0
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    run_id: Optional[int] = None
    clock: Optional[KillClock] = None
    stage: str = "wait"  # wait | names | meta | run | manual
    waiting_check: Optional[tuple[str, str]] = None  # (origin, op_id) of the query it answers
    target_name: str = ""  # the node (job.target is the device's name for it)
    last: bool = True  # fence: a success completes the operation
    run_started_ms: int = 0  # when the device's current run began
    device_ms: int = 0  # how long the device's runs for this job took, start to exit


@dataclass
class Answer:
    """A query this node answers: checks still running, devices found able."""

    origin: str
    op_id: str
    target: str
    action: str
    pending: set[str] = field(default_factory=set)
    able: list[dict] = field(default_factory=list)


def op_record(op_id: str, target: str, action: str, origin: str, requester: str, executor: str,
              device: str, state: str, final: bool, reason: str, created_s: int, completed_ms: int) -> dict:
    """completed_ms: wall clock (ms since the epoch) when the outcome was known."""
    return {"id": op_id, "target": target, "action": action, "origin": origin, "requester": requester,
            "executor": executor, "device": device, "state": state, "final": final, "reason": reason,
            "created_s": created_s, "completed_s": completed_ms // 1000, "completed_ms": completed_ms}


class StonithMachine:
    def __init__(self, config: StonithConfig, rng: RandomSource) -> None:
        self.config = config
        self.me = config.node
        self.rng = rng
        self.ids = IdSource()
        self.messaging = Session("messaging", self.ids, POLL_MS, REQUEST_TIMEOUT_MS, SILENT_MS)
        self.retry_at: Optional[int] = 0
        self.wall_offset_ms = 0
        self.alive: set[str] = set()
        self.clients: dict[bytes, str] = {}
        self.cib_devices: list[Device] = []
        self.levels: list[Level] = []
        self.hacf: dict[str, Device] = {d.id: d for d in config.hacf_devices}
        self.enabled: Optional[bool] = None  # stonith-enabled, as crmd last said
        self.default_timeout_ms = DEFAULT_TIMEOUT_MS
        self.watchdog_timeout_ms = 0  # stonith-watchdog-timeout: > 0 enables watchdog fencing
        self.self_fence = False  # asked to fence ourselves: the launcher stops feeding the watchdog
        self.agent_params: dict[str, tuple[str, ...]] = {}  # fence agent type -> its parameter names
        self.lists: dict[str, tuple[int, list[str]]] = {}  # device -> (when, hosts) of its last list
        self.ops: dict[str, Op] = {}
        self.jobs: dict[int, Job] = {}
        self.runs: dict[int, int] = {}  # run id -> job id
        self.killing: dict[int, KillClock] = {}  # runs that timed out (already reported): being killed
        self.answers: dict[tuple[str, str], Answer] = {}
        self.history: list[dict] = []
        self.seq = 0
        self.warned_unprotected = False
        self.stopped = False
        self.counters: dict[str, int] = {}

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    # -- devices ------------------------------------------------------------------------------
    def devices(self) -> dict[str, Device]:
        found = {d.id: d for d in self.cib_devices}
        for dev in self.hacf.values():
            if dev.may_run_on(self.me):
                found.setdefault(dev.id, dev)
        if self.watchdog_timeout_ms > 0:
            found.setdefault(WATCHDOG, Device(WATCHDOG, WATCHDOG, {}, "cib"))
        return found

    def all_device_ids(self) -> list[str]:
        ids = [d.id for d in self.cib_devices] + list(self.hacf)
        if self.watchdog_timeout_ms > 0:
            ids.append(WATCHDOG)
        return list(dict.fromkeys(ids))

    # -- the surface -----------------------------------------------------------------------------
    def step(self, now_ms: int, event: object) -> list[object]:
        out: list[object] = []
        if self.stopped:
            return out
        if isinstance(event, Recv):
            self._recv(now_ms, event.src, event.msg, out)
        elif isinstance(event, DeviceExited):
            self._exited(now_ms, event, out)
        elif isinstance(event, PeerGone):
            if event.peer == "messaging":
                if self.messaging.server_pid is not None:
                    self.messaging.reset()
                    self._lost(now_ms, "its process ended", out)
            else:
                self.clients.pop(event.peer, None)  # type: ignore[arg-type]
        elif isinstance(event, WallClock):
            self.wall_offset_ms = event.offset_ms
        elif isinstance(event, Stop):
            self.stopped = True
            for job in self.jobs.values():
                if job.run_id is not None:
                    out.append(SignalDevice(job.run_id, TERM))
            out.append(Stopped())
            return out
        else:
            assert isinstance(event, Tick), f"stonithd got an unknown input {event!r}"
        self._time(now_ms, out)
        return out

    def next_deadline_ms(self) -> Optional[int]:
        if self.stopped:
            return None
        found = [self.retry_at] if self.retry_at is not None else []
        d = self.messaging.next_deadline_ms()
        if d is not None:
            found.append(d)
        for op in self.ops.values():
            if op.phase == "query":
                found.append(op.query_deadline_ms)
            elif op.phase == "exec" and op.exec_deadline_ms is not None:
                found.append(op.exec_deadline_ms)
        for clock in self.killing.values():
            found.append(clock.deadline_ms)
        for job in self.jobs.values():
            if job.stage == "wait":
                found.append(job.not_before_ms)
            elif job.clock is not None:
                found.append(job.clock.deadline_ms)
        return min(found) if found else None

    def wall_s(self, now_ms: int) -> int:
        return (now_ms + self.wall_offset_ms) // 1000

    def wall_ms(self, now_ms: int) -> int:
        return now_ms + self.wall_offset_ms

    # -- time ------------------------------------------------------------------------------------
    def _time(self, now_ms: int, out: list[object]) -> None:
        if self.retry_at is not None and now_ms >= self.retry_at:
            self.retry_at = None
            pid = self.config.pid
            out.append(self.messaging.request(now_ms, lambda rid: SignOn(rid, "stonithd", pid, [st.MSGTYPE], True),
                                              "signon"))
        for pending in self.messaging.expired(now_ms):
            if pending.tag == "signon":
                self.messaging.reset()
                self.retry_at = now_ms + CONNECT_RETRY_MS
        polls, lost = self.messaging.check(now_ms)
        out.extend(polls)
        if lost is not None:
            self._lost(now_ms, lost, out)
        for op in list(self.ops.values()):
            if op.phase == "query" and now_ms >= op.query_deadline_ms:
                missing = sorted(op.expected - set(op.replies))
                if missing:
                    out.append(Log("warn", f"fencing {op.target}: no answer from {', '.join(missing)}; "
                                           "going on without"))
                self._chosen(now_ms, op, out)
            elif op.phase == "exec" and op.exec_deadline_ms is not None and now_ms >= op.exec_deadline_ms:
                op.exec_deadline_ms = None
                self._attempt_failed(now_ms, op, f"{op.exec_node} did not report in time", out)
        for job in list(self.jobs.values()):
            if job.stage == "wait" and now_ms >= job.not_before_ms:
                self._job_go(now_ms, job, out)
            elif job.clock is not None:
                what = job.clock.due(now_ms)
                if what is None:
                    continue
                if job.stage == "manual":
                    self._job_done(now_ms, job, False, "no operator confirmed it in time", out)
                elif job.stage == "watchdog":
                    job.device_ms += now_ms - job.run_started_ms
                    self._job_done(now_ms, job, True, "stonith-watchdog-timeout passed", out)
                elif what == TERM and job.run_id is not None:
                    # a device that did not answer in time has failed now; it is killed meanwhile
                    # (TERM, KILL after the grace, as lrmd does) without holding the fencing up
                    out.append(Log("warn", f"{job.device_id} {job.op} timed out; terminating it"))
                    out.append(SignalDevice(job.run_id, TERM))
                    self.runs.pop(job.run_id, None)
                    self.killing[job.run_id] = job.clock
                    job.run_id = None
                    self._job_done(now_ms, job, False, f"timed out after {job.timeout_ms} ms", out)
        for run_id, clock in list(self.killing.items()):
            what = clock.due(now_ms)
            if what == KILL:
                out.append(SignalDevice(run_id, KILL))
            elif what == ABANDON:
                del self.killing[run_id]
                out.append(Log("error", f"device run {run_id} did not die after SIGKILL; abandoned"))

    def _lost(self, now_ms: int, why: str, out: list[object]) -> None:
        out.append(Log("warn", f"lost the messaging daemon ({why}); connecting again"))
        self.retry_at = now_ms + CONNECT_RETRY_MS
        self.alive.clear()

    # -- dispatch --------------------------------------------------------------------------------
    def _recv(self, now_ms: int, src: Any, msg: Any, out: list[object]) -> None:
        if isinstance(src, bytes):
            self._api(now_ms, src, msg, out)
            return
        if src != "messaging":
            return
        self.messaging.heard(now_ms)
        if isinstance(msg, Reply):
            pending = self.messaging.take_reply(now_ms, msg)
            if pending is None:
                if msg.request_id == self.messaging.poll_id:
                    why = self.messaging.ping_answer(msg.result)
                    if why is not None:
                        self.messaging.reset()
                        self._lost(now_ms, why, out)
                return
            if pending.tag == "signon":
                if not msg.ok:
                    self.retry_at = now_ms + CONNECT_RETRY_MS
                    return
                pid = msg.result.get("pid") if isinstance(msg.result, dict) else None
                self.messaging.connected(now_ms, pid)
                if isinstance(pid, int) and pid > 0:
                    out.append(WatchPid("messaging", pid))
                out.append(self.messaging.request(now_ms, lambda rid: HbQuery(rid, "nodes"), "nodes"))
                out.append(self._broadcast(st.StcHistoryWant()))  # what was fenced while we were away
            elif pending.tag == "nodes" and isinstance(msg.result, list):
                for entry in msg.result:
                    if isinstance(entry, dict) and entry.get("type") == "normal":
                        self._set_alive(str(entry.get("name")), str(entry.get("status")))
        elif isinstance(msg, NodeStatusEvent):
            if msg.node_type == "normal":
                self._node_status(now_ms, msg.node, msg.status, out)
        elif isinstance(msg, ClusterMessage) and msg.msgtype == st.MSGTYPE:
            if msg.source == self.me:
                return  # we act on our own messages when we send them
            try:
                inner = wire.decode(msg.payload)
            except wire.WireError as exc:
                self.count("bad_cluster_messages")
                out.append(Log("warn", f"dropped a bad stonithd message from {msg.source}: {exc}"))
                return
            self._peer(now_ms, msg.source, inner, out)

    def _set_alive(self, node: str, status: str) -> None:
        if status in ("up", "active", "init") and node != self.me:
            self.alive.add(node)
        else:
            self.alive.discard(node)

    def _node_status(self, now_ms: int, node: str, status: str, out: list[object]) -> None:
        was = node in self.alive
        self._set_alive(node, status)
        if not was and node in self.alive:
            self._target_back(now_ms, node, out)
            return
        if not was or node in self.alive:
            return
        for op in list(self.ops.values()):
            if op.phase == "query" and node in op.expected and node not in op.replies:
                op.expected.discard(node)
                self._query_progress(now_ms, op, out)
            elif op.phase == "exec" and op.exec_node == node:
                if node == op.target and op.action != "on":
                    # the target ran its own fencing and went away: it is down
                    self._fenced(now_ms, op.id, op.target, op.action, self.me, op.requester, node,
                                 self._current(op).device if self._current(op) else "", op.created_s,
                                 "the target left while fencing itself", out)
                else:
                    self._attempt_failed(now_ms, op, f"{node} left while fencing", out)

    def _target_back(self, now_ms: int, node: str, out: list[object]) -> None:
        """The node we are about to fence is heard again (it rebooted, or the cut healed) before
        its device ran: fencing it now would shoot a node that is rejoining (and, with a delay,
        could loop: fenced, back, fenced again). The operation is given up; the DC plans again
        with the node back in its membership (or fences anew if it is lost again). A device
        already running is left to finish."""
        reason = f"{node} came back before it was fenced"
        # a delay not over yet, or watchdog fencing (which only assumes the node reset itself: a
        # node heard again did not, or not yet) is given up; a device program already running
        # is left to finish (its outcome decides)
        cancellable = [job for job in self.jobs.values() if job.purpose == "fence" and job.target_name == node
                       and job.stage in ("wait", "watchdog")]
        cancelled_ops = {job.op_id for job in cancellable}
        for op in list(self.ops.values()):
            if op.query_only is not None or op.target != node or op.action == "on" or op.phase == "done":
                continue
            busy = any(job.op_id == op.id and job.op_id not in cancelled_ops for job in self.jobs.values())
            if op.phase == "exec" and (busy or (op.exec_node != self.me and op.id not in cancelled_ops)):
                continue
            self._final_failure(now_ms, op, reason, out)  # first: the attempts below then find no op
        for job in cancellable:
            self.jobs.pop(job.job_id, None)
            self._publish_attempt(now_ms, op_record(job.op_id, node, job.action, job.origin, "", self.me,
                                                    job.device_id, "failed", False, reason, 0,
                                                    self.wall_ms(now_ms)), out)

    def _broadcast(self, msg: Any) -> Send:
        return Send("messaging", SendCluster(self.ids(), st.MSGTYPE, wire.encode(msg), None))

    def _to(self, node: str, msg: Any) -> Send:
        return Send("messaging", SendCluster(self.ids(), st.MSGTYPE, wire.encode(msg), node))

    # -- local API ----------------------------------------------------------------------------------
    def _api(self, now_ms: int, ident: bytes, msg: Any, out: list[object]) -> None:
        def reply(result: Any = None, error: Optional[str] = None) -> None:
            out.append(Send(ident, Reply(msg.request_id, error is None, result, error)))

        if isinstance(msg, PingRequest):
            reply({"daemon": "stonithd", "pid": self.config.pid, "self_fence": self.self_fence})
        elif isinstance(msg, st.StSignOn):
            self.clients[ident] = msg.client
            reply({"node": self.me, "pid": self.config.pid})
            out.append(WatchPid(ident, msg.pid))
        elif isinstance(msg, st.StDevices):
            try:
                devices, levels = from_wire(msg.devices, msg.levels)
            except (KeyError, TypeError, ValueError) as exc:
                reply(error=f"bad device list: {exc}")
                return
            self.cib_devices = devices
            self.levels = levels
            timeout = msg.options.get("stonith_timeout_ms")
            if isinstance(timeout, int) and timeout > 0:
                self.default_timeout_ms = timeout
            watchdog = msg.options.get("watchdog_timeout_ms")
            self.watchdog_timeout_ms = watchdog if isinstance(watchdog, int) and watchdog > 0 else 0
            if self.watchdog_timeout_ms and len(self.config.nodes) <= 2:
                out.append(Log("error", "stonith-watchdog-timeout is set, but watchdog fencing needs three nodes or "
                                        "more (both halves of a two-node cluster keep quorum, so neither would "
                                        "reset itself): not used"))
            enabled = msg.options.get("enabled")
            self.enabled = bool(enabled) if enabled is not None else self.enabled
            self.lists.clear()
            reply(True)
            self._warn_unprotected(out)
        elif isinstance(msg, st.StFence):
            if msg.action not in st.ACTIONS:
                reply(error=f"unknown fencing action {msg.action!r} (want {', '.join(st.ACTIONS)})")
                return
            if not msg.target:
                reply(error="no target")
                return
            op = self._fence(now_ms, msg.target, msg.action, msg.timeout_ms, msg.delay_ms, msg.requester, out)
            reply({"op_id": op.id})
        elif isinstance(msg, st.StHistory):
            reply([r for r in self.history if not msg.target or r["target"] == msg.target])
        elif isinstance(msg, st.StQuery):
            self._new_op(now_ms, msg.target, "reboot", "query", 0, -1, out, query_only=(ident, msg.request_id))
        elif isinstance(msg, st.StConfirm):
            if not msg.target:
                reply(error="no target")
                return
            out.append(Log("crit", f"the operator confirmed that {msg.target} is down (manual fencing)"))
            op_id = self._new_id()
            self._fenced(now_ms, op_id, msg.target, "off", self.me, msg.requester or "manual", self.me, "manual",
                         self.wall_s(now_ms), "confirmed by the operator", out)
            reply({"op_id": op_id})
        else:
            reply(error=f"unknown request {type(msg).__name__}")

    def _warn_unprotected(self, out: list[object]) -> None:
        unprotected = self.enabled is False or not self.all_device_ids() or \
            (self.all_device_ids() == [WATCHDOG] and len(self.config.nodes) <= 2)
        if unprotected and not self.warned_unprotected:
            self.warned_unprotected = True
            why = "STONITH is disabled" if self.enabled is False else "No STONITH device configured"
            out.append(Log("warn", f"{why}: shared disks and data are NOT protected against a node that "
                                   "only looks dead (cut link, hung kernel, dead daemons)"))
        elif not unprotected:
            self.warned_unprotected = False

    # -- origin ------------------------------------------------------------------------------------
    def _new_id(self) -> str:
        self.seq += 1
        return f"{self.me}-{self.config.pid}-{self.seq}"

    def _fence(self, now_ms: int, target: str, action: str, timeout_ms: int, delay_ms: int, requester: str,
               out: list[object]) -> Op:
        for op in self.ops.values():
            if op.query_only is None and op.target == target and op.action == action and op.phase != "done":
                out.append(Log("info", f"fencing {target} ({action}) is already under way ({op.id}); "
                                       f"{requester or 'the request'} joins it"))
                return op
        return self._new_op(now_ms, target, action, requester, timeout_ms, delay_ms, out)

    def _new_op(self, now_ms: int, target: str, action: str, requester: str, timeout_ms: int, delay_ms: int,
                out: list[object], query_only: Optional[tuple[bytes, int]] = None) -> Op:
        op = Op(self._new_id(), target, action, requester, timeout_ms or self.default_timeout_ms, delay_ms,
                now_ms, self.wall_s(now_ms), query_only=query_only)
        op.query_deadline_ms = now_ms + self.config.query_timeout_ms
        op.expected = set(self.alive) | {self.me}
        self.ops[op.id] = op
        if query_only is None:
            out.append(Log("notice", f"fencing {target} ({action}) requested by {requester or 'a client'}: "
                                     f"operation {op.id}"))
        # (a tool's question only: "query", so that a target with watchdog fencing does not take
        # it for its fencing)
        query = st.StcQuery(op.id, self.me, target, action if query_only is None else "query")
        if self.alive:
            out.append(self._broadcast(query))
        self._answer_query(now_ms, self.me, query, out)
        return op

    def _on_query_reply(self, now_ms: int, sender: str, msg: st.StcQueryReply, out: list[object]) -> None:
        op = self.ops.get(msg.op_id)
        if op is None or not (op.phase == "query" or (op.phase == "exec" and op.early)):
            return
        op.replies[sender] = list(msg.devices)
        if op.phase == "exec":
            # begun early: the devices not tried yet are ordered again with this answer in
            fresh = self._plan(op)
            done = op.plan[:op.alt + 1]
            seen = {tuple((c.node, c.device) for c in alt) for alt in done}
            op.plan = done + [alt for alt in fresh if tuple((c.node, c.device) for c in alt) not in seen]
            return
        self._query_progress(now_ms, op, out)

    def _query_progress(self, now_ms: int, op: Op, out: list[object]) -> None:
        if op.phase != "query":
            return
        if op.expected <= set(op.replies):
            self._chosen(now_ms, op, out)
        elif op.query_only is None and self._first_is_ours(op):
            # what every answer would choose first is known already: a device of our own (as
            # Pacemaker's fencer begins with a verified device before the query timeout); the
            # other answers still count for what is tried if it fails
            op.early = True
            self.count("early_fencing")
            self._chosen(now_ms, op, out)

    def _first_is_ours(self, op: Op) -> bool:
        """Whatever the other fencers answer, the plan begins with a device on this node: without
        levels, `_plan` puts the origin's own devices (the watchdog apart) before any other
        node's, so when the plan made of the answers so far begins with one, no answer to come
        can change that first choice."""
        if op.target == self.me or self.me not in op.replies or levels_for(self.levels, op.target):
            return False
        plan = self._plan(op)
        return bool(plan) and plan[0][0].node == self.me and plan[0][0].device != WATCHDOG

    def _chosen(self, now_ms: int, op: Op, out: list[object]) -> None:
        if op.query_only is not None:
            ident, rid = op.query_only
            rows = [{"node": node, "device": d["id"], "can": True} for node, devs in sorted(op.replies.items())
                    for d in devs]
            out.append(Send(ident, Reply(rid, True, {"devices": rows, "asked": sorted(op.expected)})))
            del self.ops[op.id]
            return
        op.plan = self._plan(op)
        if not op.plan:
            self._final_failure(now_ms, op, "no device can fence it", out)
            return
        op.phase = "exec"
        op.alt = op.step = op.tries = 0
        self._exec(now_ms, op, out)

    def _plan(self, op: Op) -> list[list[Candidate]]:
        """The alternatives to try in order; each is a list of devices that must all succeed."""
        order = {n: i for i, n in enumerate(self.config.nodes)}

        def rank(node: str) -> tuple[int, int, int]:
            return (node == op.target, node != self.me, order.get(node, len(order)))

        able: dict[str, list[Candidate]] = {}  # device -> where it can run, best first
        for node in sorted(op.replies, key=rank):
            if node == op.target and op.action == "on":
                continue
            for dev in op.replies[node]:
                able.setdefault(dev["id"], []).append(
                    Candidate(node, dev["id"], int(dev.get("timeout_ms") or self.default_timeout_ms),
                              int(dev.get("retries", 2))))
        levels = levels_for(self.levels, op.target)
        if levels:
            plan = []
            for lv in levels:
                if all(d in able for d in lv.devices):
                    plan.append([able[d][0] for d in lv.devices])
            return plan
        # every (node, device) pair, best node first for each device, devices in configuration order
        ids = self.all_device_ids()
        pairs = [c for dev in sorted(able, key=lambda d: ids.index(d) if d in ids else len(ids)) for c in able[dev]]
        pairs.sort(key=lambda c: (c.device == WATCHDOG, rank(c.node)))  # watchdog fencing: the last resort
        return [[c] for c in pairs]

    def _current(self, op: Op) -> Optional[Candidate]:
        if op.alt < len(op.plan) and op.step < len(op.plan[op.alt]):
            return op.plan[op.alt][op.step]
        return None

    def _exec(self, now_ms: int, op: Op, out: list[object]) -> None:
        cand = self._current(op)
        assert cand is not None
        op.attempt += 1
        op.tries += 1
        delay = op.delay_ms if op.attempt == 1 else -1
        timeout = cand.timeout_ms
        op.exec_node = cand.node
        # the executor adds at most the device's pcmk_delay_max to the requested delay
        op.exec_deadline_ms = now_ms + max(0, delay) + timeout * 6 // 5 + EXEC_SLACK_MS + self._delay_room(op, cand)
        msg = st.StcExec(op.id, self.me, op.target, op.action, cand.device, timeout, delay,
                         op.step + 1 == len(op.plan[op.alt]))
        out.append(Log("info", f"fencing {op.target} ({op.action}): {cand.device} on {cand.node}, "
                               f"attempt {op.attempt}"))
        if cand.node == self.me:
            self._on_exec(now_ms, self.me, msg, out)
        else:
            out.append(self._to(cand.node, msg))

    def _delay_room(self, op: Op, cand: Candidate) -> int:
        dev = self.devices().get(cand.device)
        return dev.delay_range_ms(op.target)[1] if dev is not None else 0

    def _on_result(self, now_ms: int, sender: str, rec: dict, out: list[object]) -> None:
        """A device run's outcome (or an origin's final failure) from anywhere, ours included."""
        state = rec.get("state")
        op = self.ops.get(str(rec.get("id")))
        mine = op is not None and op.phase == "exec" and rec.get("origin") == self.me
        if mine and op is not None:
            rec = dict(rec, requester=op.requester, created_s=op.created_s)
        if rec.get("final"):
            self._record(rec, out)  # a fencing done, or an operation given up
        if state == "done" and rec.get("final"):
            # the target is fenced: whatever waits here to fence it (this operation, another
            # request, a manual device) is done as well
            self._target_fenced(now_ms, str(rec.get("target")), str(rec.get("action")), rec, out)
            return
        if not mine or op is None:
            return
        cand = self._current(op)
        if cand is None or rec.get("device") != cand.device or rec.get("executor") != op.exec_node:
            return
        op.exec_deadline_ms = None
        if state == "done":  # one device of a level: the next one
            op.step += 1
            op.tries = 0
            self._exec(now_ms, op, out)
            return
        if rec.get("final"):
            return
        self._attempt_failed(now_ms, op, str(rec.get("reason") or "failed"), out)

    def _attempt_failed(self, now_ms: int, op: Op, reason: str, out: list[object]) -> None:
        cand = self._current(op)
        op.last_reason = reason
        out.append(Log("warn", f"fencing {op.target} ({op.action}): "
                               f"{cand.device if cand else '?'} on {op.exec_node} failed: {reason}"))
        if cand is not None and op.tries <= cand.retries and self._can_run(cand.node):
            self._exec(now_ms, op, out)
            return
        op.tries = 0
        op.alt += 1  # a level fails with any of its devices: the next level (or candidate)
        op.step = 0
        # an executor that left meanwhile (stopped, or cut off) cannot run anything: trying it
        # again only waited out the attempt's deadline (1.2 x the device timeout) before the
        # next one, the target itself, last, among them (a DC whose stop failed fenced by the
        # peer that then stopped: hb sim crm --nodes 2 --seed 80752 --fencing on)
        while op.alt < len(op.plan) and not all(self._can_run(c.node) for c in op.plan[op.alt]):
            op.alt += 1
        if op.alt < len(op.plan):
            self._exec(now_ms, op, out)
            return
        self._final_failure(now_ms, op, reason, out)

    def _can_run(self, node: str) -> bool:
        """Whether `node` can still run a device for us: ourselves, or a node messaging has up."""
        return node == self.me or node in self.alive

    def _final_failure(self, now_ms: int, op: Op, reason: str, out: list[object]) -> None:
        op.phase = "done"
        self.ops.pop(op.id, None)
        rec = op_record(op.id, op.target, op.action, self.me, op.requester, "", "", "failed", True,
                        reason, op.created_s, self.wall_ms(now_ms))
        out.append(Log("error", f"fencing {op.target} ({op.action}) failed: {reason}"))
        if self.alive:
            out.append(self._broadcast(st.StcResult(rec)))
        self._record(rec, out)

    def _target_fenced(self, now_ms: int, target: str, action: str, rec: dict, out: list[object]) -> None:
        if action == "on":
            return
        for other in list(self.ops.values()):
            if other.query_only is None and other.target == target and other.action != "on":
                other.phase = "done"
                del self.ops[other.id]
                if other.id != rec.get("id"):
                    self._record(dict(rec, id=other.id, action=other.action, requester=other.requester,
                                      origin=self.me), out)
        for job in list(self.jobs.values()):
            if job.purpose == "fence" and job.target_name == target and job.stage == "manual":
                self.jobs.pop(job.job_id, None)  # its operation is done: nothing more to report

    def _fenced(self, now_ms: int, op_id: str, target: str, action: str, origin: str, requester: str,
                executor: str, device: str, created_s: int, reason: str, out: list[object]) -> None:
        rec = op_record(op_id, target, action, origin, requester, executor, device, "done", True, reason,
                        created_s, self.wall_ms(now_ms))
        if self.alive:
            out.append(self._broadcast(st.StcResult(rec)))
        self._on_result(now_ms, self.me, rec, out)

    def _record(self, rec: dict, out: list[object], notify: bool = True) -> None:
        key = (rec.get("id"), rec.get("state"), rec.get("device"), rec.get("executor"))
        for old in self.history[-HISTORY_SYNC:] if notify else self.history:
            if (old.get("id"), old.get("state"), old.get("device"), old.get("executor")) == key:
                return
        self.history.append(dict(rec))
        del self.history[:-HISTORY_MAX]
        if not notify:
            return
        if rec.get("state") == "done":
            out.append(Log("notice", f"{rec['target']} was fenced ({rec['action']}) by {rec['device']} on "
                                     f"{rec['executor']} for {rec['requester'] or rec['origin']}"))
        for ident in self.clients:
            out.append(Send(ident, st.StNotify(dict(rec))))

    # -- peers --------------------------------------------------------------------------------------
    def _peer(self, now_ms: int, sender: str, msg: Any, out: list[object]) -> None:
        if isinstance(msg, st.StcQuery):
            self._answer_query(now_ms, sender, msg, out)
        elif isinstance(msg, st.StcQueryReply):
            self._on_query_reply(now_ms, sender, msg, out)
        elif isinstance(msg, st.StcExec):
            self._on_exec(now_ms, sender, msg, out)
        elif isinstance(msg, st.StcResult):
            self._on_result(now_ms, sender, dict(msg.op), out)
        elif isinstance(msg, st.StcHistoryWant):
            if self.history:
                out.append(self._to(sender, st.StcHistory(self.history[-HISTORY_SYNC:])))
        elif isinstance(msg, st.StcHistory):
            for rec in msg.records:
                if isinstance(rec, dict) and rec.get("final"):
                    self._record(dict(rec), out, notify=False)
            self.history.sort(key=lambda r: int(r.get("completed_ms") or 0))
        else:
            self.count("unknown_peer_messages")

    def _answer_query(self, now_ms: int, sender: str, msg: st.StcQuery, out: list[object]) -> None:
        if msg.target == self.me and msg.action in ("reboot", "off") and self.watchdog_timeout_ms > 0 \
                and not self.self_fence:
            # the cluster fences this node, maybe by watchdog (it then counts it as fenced after
            # stonith-watchdog-timeout): the launcher stops feeding our watchdog, which resets us
            self.self_fence = True
            out.append(Log("crit", f"{msg.origin} is fencing this node ({msg.action}) and watchdog fencing is "
                                   "on: fencing ourselves (the watchdog will reset this node)"))
        ans = Answer(msg.origin, msg.op_id, msg.target, msg.action)
        key = (msg.origin, msg.op_id)
        self.answers[key] = ans
        for dev in self.devices().values():
            if dev.kind == WATCHDOG and (len(self.config.nodes) <= 2 or msg.target == self.me):
                continue  # (a node does not wait for its own watchdog; two nodes: never)
            check = dev.host_check()
            if check == "static-list":
                if dev.static_can(msg.target):
                    ans.able.append(self._able(dev, msg.action))
            elif check == "none":
                ans.able.append(self._able(dev, msg.action))
            elif check == "dynamic-list" and dev.kind != MANUAL:
                cached = self.lists.get(dev.id)
                if cached is not None and now_ms - cached[0] < LIST_CACHE_MS:
                    if msg.target in cached[1] or dev.alias(msg.target) in cached[1]:
                        ans.able.append(self._able(dev, msg.action))
                    continue
                ans.pending.add(dev.id)
                self._job(now_ms, Job(0, "check", dev.id, "gethosts", None, waiting_check=key,
                                      timeout_ms=dev.timeout_ms("list", self.default_timeout_ms)), out)
            elif check == "status" and dev.kind == FENCE:
                ans.pending.add(dev.id)
                self._job(now_ms, Job(0, "check", dev.id, "target-status", dev.alias(msg.target), waiting_check=key,
                                      timeout_ms=dev.timeout_ms("status", self.default_timeout_ms)), out)
        self._answer_progress(now_ms, key, out)

    def _able(self, dev: Device, action: str) -> dict:
        if dev.kind == WATCHDOG:
            return {"id": dev.id, "timeout_ms": self.watchdog_timeout_ms, "retries": 0}
        return {"id": dev.id, "timeout_ms": dev.timeout_ms(action, self.default_timeout_ms),
                "retries": dev.retries(action)}

    def _answer_progress(self, now_ms: int, key: tuple[str, str], out: list[object]) -> None:
        ans = self.answers.get(key)
        if ans is None or ans.pending:
            return
        del self.answers[key]
        reply = st.StcQueryReply(ans.op_id, ans.able)
        if ans.origin == self.me:
            self._on_query_reply(now_ms, self.me, reply, out)
        else:
            out.append(self._to(ans.origin, reply))

    def _on_exec(self, now_ms: int, sender: str, msg: st.StcExec, out: list[object]) -> None:
        dev = self.devices().get(msg.device)
        if dev is None:
            rec = op_record(msg.op_id, msg.target, msg.action, msg.origin, "", self.me, msg.device, "failed", False,
                            "no such device here", 0, self.wall_ms(now_ms))
            self._publish_attempt(now_ms, rec, out)
            return
        delay = 0
        if msg.delay_ms >= 0:
            base, top = dev.delay_range_ms(msg.target)
            delay = msg.delay_ms + base + (self.rng.randint(0, top - base) if top > base else 0)
            if delay:
                out.append(Log("info", f"fencing {msg.target} with {dev.id}: waiting {delay} ms first"))
        op = dev.device_action(msg.action)
        if op not in plugins.TARGET_OPS or op == "target-status":
            op = "reset"
        self._job(now_ms, Job(0, "fence", dev.id, op, dev.alias(msg.target), origin=msg.origin, op_id=msg.op_id,
                              action=msg.action, not_before_ms=now_ms + delay, timeout_ms=msg.timeout_ms,
                              target_name=msg.target, last=msg.last), out)

    # -- jobs: running devices ----------------------------------------------------------------------
    def _job(self, now_ms: int, job: Job, out: list[object]) -> None:
        self.seq += 1
        job.job_id = self.seq
        job.stage = "wait"
        self.jobs[job.job_id] = job
        if now_ms >= job.not_before_ms:
            self._job_go(now_ms, job, out)

    def _job_go(self, now_ms: int, job: Job, out: list[object]) -> None:
        dev = self.devices().get(job.device_id)
        if dev is None:
            self._job_done(now_ms, job, False, "the device is no longer configured", out)
            return
        if dev.kind == WATCHDOG:
            if job.purpose != "fence" or job.action == "on":
                self._job_done(now_ms, job, job.purpose != "fence", "a watchdog cannot power a node on", out)
                return
            job.stage = "watchdog"
            # (the wait is the "device's run": the target reset itself somewhere in it, so a life
            # of it first heard after it began is a new one, crmd's `_life_predates_fencing`;
            # counted as 0, a node reset and back within the wait was dropped from the
            # membership when the wait ended: hb sim crm --nodes 5 --seed 20671 --fencing watchdog)
            job.run_started_ms = now_ms
            job.clock = KillClock(now_ms, self.watchdog_timeout_ms, self.config.kill_grace_ms)
            out.append(Log("notice", f"watchdog fencing of {self._target_of(job)}: it counts as fenced in "
                                     f"{self.watchdog_timeout_ms} ms (stonith-watchdog-timeout), its watchdog "
                                     "having reset it by then"))
            return
        if dev.kind == MANUAL:
            if job.purpose != "fence":
                self._job_done(now_ms, job, True, "", out)
                return
            job.stage = "manual"
            job.clock = KillClock(now_ms, job.timeout_ms, self.config.kill_grace_ms)
            out.append(Log("crit", f"OPERATOR INTERVENTION REQUIRED to reset {self._target_of(job)}: make sure it "
                                   f"is down, then run `meatclient -c {self._target_of(job)}`"))
            return
        if dev.positional:
            job.stage = "names"
            self._run(now_ms, job, dev, "getconfignames", None, (), PREPARE_TIMEOUT_MS, out)
            return
        if dev.kind == FENCE and job.target is not None and dev.type not in self.agent_params:
            job.stage = "meta"
            self._run(now_ms, job, dev, "metadata", None, (), PREPARE_TIMEOUT_MS, out)
            return
        job.stage = "run"
        self._run(now_ms, job, dev, job.op, job.target, self.agent_params.get(dev.type, ()), job.timeout_ms, out)

    def _target_of(self, job: Job) -> str:
        return job.target_name or job.target or "?"

    def _run(self, now_ms: int, job: Job, dev: Device, op: str, host: Optional[str], agent_params: tuple[str, ...],
             timeout_ms: int, out: list[object]) -> None:
        self.seq += 1
        run_id = self.seq
        job.run_id = run_id
        job.clock = KillClock(now_ms, timeout_ms, self.config.kill_grace_ms)
        job.run_started_ms = now_ms
        self.runs[run_id] = job.job_id
        out.append(RunDevice(run_id, dev, op, host, agent_params, timeout_ms))

    def _exited(self, now_ms: int, ev: DeviceExited, out: list[object]) -> None:
        if self.killing.pop(ev.run_id, None) is not None:
            out.append(SignalDevice(ev.run_id, KILL))  # what the timed-out program left in its group
            return
        job_id = self.runs.pop(ev.run_id, None)
        job = self.jobs.get(job_id) if job_id is not None else None
        if job is None or job.clock is None:
            self.count("stray_exits")
            return
        result = job.clock.finished(ev.result)
        job.device_ms += now_ms - job.run_started_ms
        if result.timed_out:
            out.append(SignalDevice(ev.run_id, KILL))  # what the timed-out program left in its group
        dev = self.devices().get(job.device_id)
        if dev is None:
            self._job_done(now_ms, job, False, "the device is no longer configured", out)
            return
        if result.exec_error:
            self._job_done(now_ms, job, False, result.exec_error, out)
            return
        if result.timed_out:
            self._job_done(now_ms, job, False, f"timed out after {job.timeout_ms} ms", out)
            return
        rc = result.exit_code if result.exit_code is not None else 128 + (result.signal or 0)
        if job.stage == "names":
            outcome = plugins.interpret(dev.plugin(), "getconfignames", rc, result.stdout)
            if not outcome.ok or not outcome.names:
                self._job_done(now_ms, job, False, "getconfignames failed: its parameters cannot be named", out)
                return
            try:
                named = name_positional(dev, outcome.names)
            except ValueError as exc:
                self._job_done(now_ms, job, False, str(exc), out)
                return
            self.hacf[dev.id] = named
            self._job_go(now_ms, job, out)
            return
        if job.stage == "meta":
            outcome = plugins.interpret(dev.plugin(), "getconfignames", rc, result.stdout)
            self.agent_params[dev.type] = tuple(outcome.names)
            self._job_go(now_ms, job, out)
            return
        outcome = plugins.interpret(dev.plugin(), job.op, rc, result.stdout)
        detail = (outcome.detail or result.stderr.strip())[-300:]
        if job.op == "gethosts" and outcome.ok:
            self.lists[dev.id] = (now_ms, outcome.hosts)
        self._job_done(now_ms, job, outcome.ok, "" if outcome.ok else f"rc={rc} {detail}".strip(), out,
                       outcome=outcome)

    def _job_done(self, now_ms: int, job: Job, ok: bool, reason: str, out: list[object],
                  outcome: Optional[plugins.Outcome] = None) -> None:
        self.jobs.pop(job.job_id, None)
        if job.run_id is not None:
            self.runs.pop(job.run_id, None)
        if job.purpose == "check":
            key = job.waiting_check
            ans = self.answers.get(key) if key is not None else None
            if ans is None:
                return
            ans.pending.discard(job.device_id)
            dev = self.devices().get(job.device_id)
            if ok and dev is not None and outcome is not None:
                if job.op == "gethosts":
                    can = ans.target in outcome.hosts or dev.alias(ans.target) in outcome.hosts
                else:
                    can = outcome.power in ("on", "off")
                if can:
                    ans.able.append(self._able(dev, ans.action))
            elif not ok:
                out.append(Log("warn", f"{job.device_id}: {job.op} failed ({reason}); not used for {ans.target}"))
            self._answer_progress(now_ms, key, out)  # type: ignore[arg-type]
            return
        target = self._target_of(job)
        rec = op_record(job.op_id, target, job.action, job.origin, "", self.me, job.device_id,
                        "done" if ok else "failed", ok and job.last, reason, 0, self.wall_ms(now_ms))
        rec["device_ms"] = job.device_ms  # the device's own time (its runs, start to exit), delays apart
        self._publish_attempt(now_ms, rec, out)

    def _publish_attempt(self, now_ms: int, rec: dict, out: list[object]) -> None:
        if self.alive:
            out.append(self._broadcast(st.StcResult(rec)))
        self._on_result(now_ms, self.me, rec, out)
