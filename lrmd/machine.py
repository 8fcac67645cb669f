"""The lrmd's sans-I/O core: resources, per-resource operation queues, recurring monitors,
timeouts, result notification and history.

Theory of operation (after cluster-glue's lrmd.c):

- A resource has a FIFO queue of operations; only its head runs, so a resource never has two
  agent processes at once. Across resources at most `max_children` agents run together; the
  ready resources are served in the order their head operations were queued.
- A recurring operation (interval_ms > 0) stays registered after it ran: `interval_ms` after
  each completion it is queued again (behind whatever the resource has queued by then). A
  start delay postpones the first run the same way. Cancelling removes it; if it is running
  it finishes and is then reported as cancelled.
- Every run has a deadline (`timeout_ms` after it started). At the deadline the core asks the
  shell to TERM the agent's process group, `kill_grace_ms` later to KILL it, and after another
  `kill_grace_ms` it gives up waiting (the result is a timeout either way; a late exit of an
  abandoned run is ignored).
- Results go to the client that asked and to every signed-on client: always for one-shot ops;
  for recurring ones only when the rc changed, when it is a failure (rc != expected_rc), or when
  the op did not complete normally. History keeps, per resource, the latest result of every
  op key (operation + interval, what a restarted CRM needs) and a short list of recent results.
- Registering, changing and removing resources asks the shell to persist the resource table,
  so that a restarted lrmd knows its resources and can probe them.

Inputs are the frozen dataclasses below (`Register` ... `Tick`); `step(now_ms, input)` returns
effects (`Reply`, `RunAgent`, `SignalAgent`, `Publish`, `SaveResources`, `Log`).
`next_deadline_ms()` says when the shell must deliver the next `Tick`. Time is `now_ms` only.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Any, Optional

from core.messages.lrm import NOTIFY_CHANGED, NOTIFY_EVERYTIME, OpResult
from core.agentproc import DEFAULT_KILL_GRACE_MS, KILL, TERM, KillClock
from core.sansio import Log, Tick
from lrmd.ocf import (CANCELLED, DONE, ERROR, OCF_ERR_GENERIC, TIMEOUT, AgentExit, check_resource,
                      map_exit)

DEFAULT_MAX_CHILDREN = 4
RECENT_HISTORY = 20
METADATA_TIMEOUT_MS = 30_000
HISTORY_OUTPUT_CAP = 2048

Client = Optional[bytes]  # an opaque id the shell maps to a peer; None = the lrmd itself


# -- inputs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignOn:
    client: bytes
    request_id: int
    name: str


@dataclass(frozen=True)
class Register:
    client: Client
    request_id: int
    rsc_id: str
    rsc_class: str
    rsc_type: str
    provider: str = ""
    params: tuple[tuple[str, str], ...] = ()
    persist: bool = True


@dataclass(frozen=True)
class Unregister:
    client: Client
    request_id: int
    rsc_id: str


@dataclass(frozen=True)
class Execute:
    client: Client
    request_id: int
    rsc_id: str
    operation: str
    interval_ms: int = 0
    timeout_ms: int = 20_000
    start_delay_ms: int = 0
    params: Optional[tuple[tuple[str, str], ...]] = None
    meta: tuple[tuple[str, str], ...] = ()
    expected_rc: int = 0
    notify: str = ""
    user_data: str = ""


@dataclass(frozen=True)
class Cancel:
    client: Client
    request_id: int
    rsc_id: str
    operation: str = ""
    interval_ms: int = 0
    call_id: int = 0


@dataclass(frozen=True)
class GetMetadata:
    client: Client
    request_id: int
    rsc_class: str
    provider: str
    rsc_type: str


@dataclass(frozen=True)
class AgentExited:
    run_id: int
    result: AgentExit


# -- effects -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    client: Client
    request_id: int
    result: Any = None
    error: Optional[str] = None


@dataclass(frozen=True)
class RunAgent:
    run_id: int
    rsc_id: str
    rsc_class: str
    provider: str
    rsc_type: str
    operation: str
    params: tuple[tuple[str, str], ...]
    interval_ms: int
    timeout_ms: int
    meta: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SignalAgent:
    run_id: int
    signal: str  # "TERM" | "KILL": to the agent's whole process group


@dataclass(frozen=True)
class Publish:
    clients: tuple[bytes, ...]
    result: OpResult
    started_ms: int  # monotonic; turned into started_wall_s with the wall clock offset
    rc_changed_ms: int = 0  # monotonic: when the rc last changed (rc_changed_wall_s)


@dataclass(frozen=True)
class SaveResources:
    """Write the resource table (so that a restarted lrmd knows its resources and probes them)."""

    resources: tuple[dict, ...]


# -- state ---------------------------------------------------------------------------------------
class Op:
    __slots__ = ("call_id", "rsc_id", "operation", "interval_ms", "timeout_ms", "params", "meta",
                 "expected_rc", "notify", "client", "enqueued_ms", "seq", "due_ms", "last_rc",
                 "runs", "cancelled", "queued", "start_delay_ms", "user_data")

    def __init__(self, call_id: int, req: Execute, params: tuple[tuple[str, str], ...]) -> None:
        self.call_id = call_id
        self.rsc_id = req.rsc_id
        self.operation = req.operation
        self.interval_ms = req.interval_ms
        self.timeout_ms = req.timeout_ms
        self.start_delay_ms = req.start_delay_ms
        self.params = params
        self.meta = req.meta
        self.expected_rc = req.expected_rc
        self.notify = req.notify or (NOTIFY_CHANGED if req.interval_ms > 0 else NOTIFY_EVERYTIME)
        self.client = req.client
        self.user_data = req.user_data
        self.enqueued_ms = 0
        self.seq = 0
        self.due_ms: Optional[int] = None
        self.last_rc: Optional[int] = None
        self.runs = 0
        self.cancelled = False
        self.queued = False

    @property
    def key(self) -> str:
        return f"{self.operation}_{self.interval_ms}"


class Run:
    __slots__ = ("run_id", "op", "started_ms", "clock", "metadata_key")

    def __init__(self, run_id: int, op: Optional[Op], started_ms: int, timeout_ms: int,
                 kill_grace_ms: int, metadata_key: Optional[tuple[str, str, str]] = None) -> None:
        self.run_id = run_id
        self.op = op
        self.started_ms = started_ms
        self.clock = KillClock(started_ms, timeout_ms, kill_grace_ms)
        self.metadata_key = metadata_key

    @property
    def deadline_ms(self) -> int:
        return self.clock.deadline_ms


class Resource:
    __slots__ = ("rsc_id", "rsc_class", "provider", "rsc_type", "params", "queue", "running",
                 "recurring", "recent", "last", "deleting")

    def __init__(self, reg: Register) -> None:
        self.rsc_id = reg.rsc_id
        self.rsc_class = reg.rsc_class
        self.provider = reg.provider
        self.rsc_type = reg.rsc_type
        self.params = reg.params
        self.queue: deque[Op] = deque()
        self.running: Optional[Run] = None
        self.recurring: dict[int, Op] = {}
        self.recent: deque[dict] = deque(maxlen=RECENT_HISTORY)
        self.last: dict[str, dict] = {}
        self.deleting = False

    def describe(self) -> dict:
        return {"rsc_id": self.rsc_id, "rsc_class": self.rsc_class, "provider": self.provider,
                "rsc_type": self.rsc_type, "params": dict(self.params)}


# -- the machine ---------------------------------------------------------------------------------
class LrmMachine:
    def __init__(self, max_children: int = DEFAULT_MAX_CHILDREN,
                 kill_grace_ms: int = DEFAULT_KILL_GRACE_MS) -> None:
        assert max_children >= 1
        self.max_children = max_children
        self.kill_grace_ms = kill_grace_ms
        self.resources: dict[str, Resource] = {}
        self.subscribers: dict[bytes, str] = {}
        self.runs: dict[int, Run] = {}
        self.metadata_cache: dict[tuple[str, str, str], str] = {}
        self.metadata_waiters: dict[tuple[str, str, str], list[tuple[Client, int]]] = {}
        self.metadata_pending: deque[tuple[str, str, str]] = deque()
        self._ready: list[tuple[int, str]] = []  # (head op seq, rsc_id)
        self._timers: list[tuple[int, int, int]] = []  # (due_ms, seq, call_id)
        self._timed_ops: dict[int, Op] = {}
        self._next_call_id = 1
        self._next_run_id = 1
        self._seq = 0
        self.counters: dict[str, int] = {"runs": 0, "timeouts": 0, "exec_errors": 0,
                                         "published": 0, "stray_exits": 0}

    # -- public -------------------------------------------------------------------------------
    def step(self, now_ms: int, event: Any) -> list[Any]:
        out: list[Any] = []
        handler = _HANDLERS[type(event)]
        handler(self, now_ms, event, out)
        self._fire_due(now_ms, out)
        self._dispatch(now_ms, out)
        return out

    def next_deadline_ms(self) -> Optional[int]:
        best: Optional[int] = None
        while self._timers:
            due, _, call_id = self._timers[0]
            op = self._timed_ops.get(call_id)
            if op is not None and op.due_ms == due:
                best = due
                break
            heapq.heappop(self._timers)
        for run in self.runs.values():
            if best is None or run.deadline_ms < best:
                best = run.deadline_ms
        return best

    def running_count(self) -> int:
        return len(self.runs)

    def describe_resources(self) -> list[dict]:
        return [r.describe() for r in self.resources.values() if not r.deleting]

    def history(self, rsc_id: Optional[str] = None) -> dict[str, dict]:
        chosen = [self.resources[rsc_id]] if rsc_id in self.resources else (
            [] if rsc_id is not None else list(self.resources.values()))
        return {r.rsc_id: {"recent": list(r.recent), "last": list(r.last.values()),
                           "pending": [_pending(op) for op in r.queue]
                           + ([_pending(r.running.op)] if r.running and r.running.op else []),
                           "recurring": [_pending(op) for op in r.recurring.values()]}
                for r in chosen}

    # -- handlers -------------------------------------------------------------------------------
    def _on_signon(self, now_ms: int, ev: SignOn, out: list) -> None:
        self.subscribers[ev.client] = ev.name
        out.append(Reply(ev.client, ev.request_id, {"client": ev.name}))

    def _on_register(self, now_ms: int, ev: Register, out: list) -> None:
        problem = check_resource(ev.rsc_id, ev.rsc_class, ev.provider, ev.rsc_type, dict(ev.params))
        if problem:
            out.append(Reply(ev.client, ev.request_id, error=problem))
            return
        existing = self.resources.get(ev.rsc_id)
        if existing is not None and existing.deleting:
            # registered again while its removal waited for a running operation (an operator's
            # cleanup, then the next probe): the resource stays, with a fresh history. Refusing
            # it would fail every operation on it until the running one ended
            existing.deleting = False
            existing.recent.clear()
            existing.last.clear()
        if existing is None:
            rsc = Resource(ev)
            self.resources[ev.rsc_id] = rsc
        else:
            rsc = existing
            rsc.rsc_class, rsc.provider, rsc.rsc_type = ev.rsc_class, ev.provider, ev.rsc_type
            rsc.params = ev.params
        out.append(Reply(ev.client, ev.request_id, rsc.describe()))
        if ev.persist:
            out.append(self._persist())

    def _on_unregister(self, now_ms: int, ev: Unregister, out: list) -> None:
        rsc = self.resources.get(ev.rsc_id)
        if rsc is None or rsc.deleting:
            out.append(Reply(ev.client, ev.request_id, error=f"no such resource {ev.rsc_id}"))
            return
        for op in {id(op): op for op in list(rsc.recurring.values()) + list(rsc.queue)}.values():
            if not op.cancelled:
                self._cancel_op(now_ms, rsc, op, out)
        late = rsc.running is not None
        if late:
            rsc.deleting = True
        else:
            del self.resources[rsc.rsc_id]
        out.append(Reply(ev.client, ev.request_id, {"removed": ev.rsc_id, "late": late}))
        out.append(self._persist())

    def _on_execute(self, now_ms: int, ev: Execute, out: list) -> None:
        rsc = self.resources.get(ev.rsc_id)
        if rsc is None or rsc.deleting:
            out.append(Reply(ev.client, ev.request_id, error=f"no such resource {ev.rsc_id}"))
            return
        if ev.interval_ms < 0 or ev.timeout_ms <= 0 or ev.start_delay_ms < 0:
            out.append(Reply(ev.client, ev.request_id, error="interval, timeout and delay must be positive"))
            return
        if not ev.operation or any(c.isspace() for c in ev.operation):
            out.append(Reply(ev.client, ev.request_id, error=f"bad operation name {ev.operation!r}"))
            return
        if ev.notify not in ("", NOTIFY_CHANGED, NOTIFY_EVERYTIME):
            out.append(Reply(ev.client, ev.request_id, error=f"bad notify policy {ev.notify!r}"))
            return
        params = ev.params if ev.params is not None else rsc.params
        if ev.params is not None:
            problem = check_resource(rsc.rsc_id, rsc.rsc_class, rsc.provider, rsc.rsc_type, dict(params))
            if problem:
                out.append(Reply(ev.client, ev.request_id, error=problem))
                return
        op = Op(self._next_call_id, ev, params)
        self._next_call_id += 1
        out.append(Reply(ev.client, ev.request_id, {"call_id": op.call_id}))
        if op.interval_ms > 0:
            for old in list(rsc.recurring.values()):
                if old.key == op.key:
                    self._cancel_op(now_ms, rsc, old, out)
            rsc.recurring[op.call_id] = op
        if op.start_delay_ms > 0:
            self._arm(op, now_ms + op.start_delay_ms)
        else:
            self._enqueue(now_ms, rsc, op)

    def _on_cancel(self, now_ms: int, ev: Cancel, out: list) -> None:
        rsc = self.resources.get(ev.rsc_id)
        if rsc is None:
            out.append(Reply(ev.client, ev.request_id, error=f"no such resource {ev.rsc_id}"))
            return
        candidates = list(rsc.recurring.values()) + [op for op in rsc.queue if op.call_id not in rsc.recurring]
        if rsc.running is not None and rsc.running.op is not None and rsc.running.op not in candidates:
            candidates.append(rsc.running.op)

        def matches(op: Op) -> bool:
            if ev.call_id:
                return op.call_id == ev.call_id
            return op.operation == ev.operation and op.interval_ms == ev.interval_ms

        chosen = [op for op in candidates if matches(op) and not op.cancelled]
        if not chosen:
            out.append(Reply(ev.client, ev.request_id, error="no such operation"))
            return
        for op in chosen:
            self._cancel_op(now_ms, rsc, op, out)
        out.append(Reply(ev.client, ev.request_id, {"cancelled": [op.call_id for op in chosen]}))

    def _on_metadata(self, now_ms: int, ev: GetMetadata, out: list) -> None:
        key = (ev.rsc_class, ev.provider, ev.rsc_type)
        cached = self.metadata_cache.get(key)
        if cached is not None:
            out.append(Reply(ev.client, ev.request_id, cached))
            return
        problem = check_resource("metadata", ev.rsc_class, ev.provider, ev.rsc_type, {})
        if problem:
            out.append(Reply(ev.client, ev.request_id, error=problem))
            return
        waiters = self.metadata_waiters.setdefault(key, [])
        waiters.append((ev.client, ev.request_id))
        if len(waiters) == 1:
            self.metadata_pending.append(key)

    def _on_exit(self, now_ms: int, ev: AgentExited, out: list) -> None:
        run = self.runs.pop(ev.run_id, None)
        if run is None:
            self.counters["stray_exits"] += 1
            return
        if run.clock.timed_out:
            out.append(SignalAgent(run.run_id, "KILL"))  # leftovers of a timed-out op's group
        self._finish(now_ms, run, run.clock.finished(ev.result), out)

    def _on_tick(self, now_ms: int, ev: Tick, out: list) -> None:
        for run in list(self.runs.values()):
            what = run.clock.due(now_ms)
            if what is None:
                continue
            if what == TERM:
                self.counters["timeouts"] += 1
                out.append(Log("warn", f"{_run_name(run)} timed out; terminating its process group"))
                out.append(SignalAgent(run.run_id, "TERM"))
            elif what == KILL:
                out.append(SignalAgent(run.run_id, "KILL"))
            else:
                del self.runs[run.run_id]
                out.append(Log("error", f"{_run_name(run)} did not die after SIGKILL; abandoned"))
                self._finish(now_ms, run, AgentExit(timed_out=True, stderr="ocf-exit-reason:timed out "
                                                    "and could not be killed"), out)

    # -- internals ------------------------------------------------------------------------------
    def _persist(self) -> SaveResources:
        return SaveResources(tuple(self.describe_resources()))

    def _arm(self, op: Op, due_ms: int) -> None:
        op.due_ms = due_ms
        self._seq += 1
        self._timed_ops[op.call_id] = op
        heapq.heappush(self._timers, (due_ms, self._seq, op.call_id))

    def _fire_due(self, now_ms: int, out: list) -> None:
        while self._timers and self._timers[0][0] <= now_ms:
            due, _, call_id = heapq.heappop(self._timers)
            op = self._timed_ops.get(call_id)
            if op is None or op.due_ms != due:
                continue
            del self._timed_ops[call_id]
            op.due_ms = None
            rsc = self.resources.get(op.rsc_id)
            if rsc is None or op.cancelled:
                continue
            self._enqueue(now_ms, rsc, op)

    def _enqueue(self, now_ms: int, rsc: Resource, op: Op) -> None:
        if op.queued:
            return
        self._seq += 1
        op.seq = self._seq
        op.enqueued_ms = now_ms
        op.queued = True
        rsc.queue.append(op)
        if len(rsc.queue) == 1 and rsc.running is None:
            heapq.heappush(self._ready, (op.seq, rsc.rsc_id))

    def _dispatch(self, now_ms: int, out: list) -> None:
        while len(self.runs) < self.max_children and self.metadata_pending:
            key = self.metadata_pending.popleft()
            run = Run(self._new_run_id(), None, now_ms, METADATA_TIMEOUT_MS, self.kill_grace_ms, metadata_key=key)
            self.runs[run.run_id] = run
            out.append(RunAgent(run.run_id, "", key[0], key[1], key[2], "meta-data", (), 0,
                                METADATA_TIMEOUT_MS, ()))
        while len(self.runs) < self.max_children and self._ready:
            seq, rsc_id = heapq.heappop(self._ready)
            rsc = self.resources.get(rsc_id)
            if rsc is None or rsc.running is not None or not rsc.queue or rsc.queue[0].seq != seq:
                continue
            op = rsc.queue.popleft()
            op.queued = False
            if op.operation == "meta-data" and (rsc.rsc_class, rsc.provider, rsc.rsc_type) in self.metadata_cache:
                self._finish_cached_metadata(now_ms, rsc, op, out)
                continue
            run = Run(self._new_run_id(), op, now_ms, op.timeout_ms, self.kill_grace_ms)
            rsc.running = run
            self.runs[run.run_id] = run
            self.counters["runs"] += 1
            out.append(RunAgent(run.run_id, rsc.rsc_id, rsc.rsc_class, rsc.provider, rsc.rsc_type,
                                op.operation, op.params, op.interval_ms, op.timeout_ms, op.meta))

    def _new_run_id(self) -> int:
        run_id = self._next_run_id
        self._next_run_id += 1
        return run_id

    def _finish_cached_metadata(self, now_ms: int, rsc: Resource, op: Op, out: list) -> None:
        xml = self.metadata_cache[(rsc.rsc_class, rsc.provider, rsc.rsc_type)]
        run = Run(0, op, now_ms, op.timeout_ms, self.kill_grace_ms)
        self._record(now_ms, rsc, run, 0, DONE, "", 0, xml, "", out)
        self._after_run(now_ms, rsc, op)

    def _finish(self, now_ms: int, run: Run, result: AgentExit, out: list) -> None:
        if run.metadata_key is not None:
            self._finish_metadata(run, result, out)
            return
        op = run.op
        assert op is not None
        rsc = self.resources.get(op.rsc_id)
        assert rsc is not None and rsc.running is run, "a run outlived its resource"
        rsc.running = None
        mapped = map_exit(rsc.rsc_class, op.operation, result)
        if result.exec_error is not None:
            self.counters["exec_errors"] += 1
        if op.operation == "meta-data" and mapped.rc == 0 and mapped.status == DONE and result.stdout.strip():
            self.metadata_cache[(rsc.rsc_class, rsc.provider, rsc.rsc_type)] = result.stdout
        status = CANCELLED if op.cancelled else mapped.status
        self._record(now_ms, rsc, run, mapped.rc, status, mapped.reason, result.exit_code,
                     result.stdout, result.stderr, out)
        self._after_run(now_ms, rsc, op)

    def _after_run(self, now_ms: int, rsc: Resource, op: Op) -> None:
        if op.interval_ms > 0 and not op.cancelled and op.call_id in rsc.recurring:
            self._arm(op, now_ms + op.interval_ms)
        if rsc.deleting and rsc.running is None:
            del self.resources[rsc.rsc_id]
            return
        if rsc.queue and rsc.running is None:
            heapq.heappush(self._ready, (rsc.queue[0].seq, rsc.rsc_id))

    def _finish_metadata(self, run: Run, result: AgentExit, out: list) -> None:
        key = run.metadata_key
        assert key is not None
        mapped = map_exit(key[0], "meta-data", result)
        waiters = self.metadata_waiters.pop(key, [])
        if mapped.rc == 0 and mapped.status == DONE and result.stdout.strip():
            self.metadata_cache[key] = result.stdout
            for client, request_id in waiters:
                out.append(Reply(client, request_id, result.stdout))
        else:
            why = mapped.reason or f"rc {mapped.rc} ({mapped.status})"
            for client, request_id in waiters:
                out.append(Reply(client, request_id, error=f"meta-data failed: {why}"))

    def _record(self, now_ms: int, rsc: Resource, run: Run, rc: int, status: str, reason: str,
                exit_code: Optional[int], stdout: str, stderr: str, out: list) -> None:
        op = run.op
        assert op is not None
        op.runs += 1
        changed = op.last_rc is None or op.last_rc != rc
        failed = rc != op.expected_rc or status != DONE
        op.last_rc = rc
        exec_ms = max(0, now_ms - run.started_ms)
        queue_ms = max(0, run.started_ms - op.enqueued_ms) if op.enqueued_ms else 0
        record = {"call_id": op.call_id, "operation": op.operation, "interval_ms": op.interval_ms,
                  "rc": rc, "status": status, "exit_reason": reason, "exit_code": exit_code,
                  "started_ms": run.started_ms, "exec_ms": exec_ms, "queue_ms": queue_ms,
                  "runs": op.runs, "output": stdout[:HISTORY_OUTPUT_CAP], "user_data": op.user_data,
                  "expected_rc": op.expected_rc}
        previous = rsc.last.get(op.key)
        if previous is not None and previous["rc"] == rc and op.interval_ms > 0:
            record["rc_changed_ms"] = previous.get("rc_changed_ms", previous["started_ms"])
        else:
            record["rc_changed_ms"] = run.started_ms
        rsc.last[op.key] = record
        report = (op.notify == NOTIFY_EVERYTIME or op.interval_ms == 0 or changed or failed
                  or status == CANCELLED)
        if not report:
            return
        rsc.recent.append(record)
        clients = tuple(dict.fromkeys(([op.client] if op.client is not None else [])
                                      + list(self.subscribers)))
        self.counters["published"] += 1
        out.append(Publish(clients, OpResult(
            call_id=op.call_id, rsc_id=rsc.rsc_id, operation=op.operation,
            interval_ms=op.interval_ms, rc=rc, status=status, exit_reason=reason,
            exit_code=exit_code, output=stdout, stderr=stderr, exec_ms=exec_ms,
            queue_ms=queue_ms, rc_changed=changed, user_data=op.user_data), run.started_ms,
            record["rc_changed_ms"]))

    def _cancel_op(self, now_ms: int, rsc: Resource, op: Op, out: list) -> None:
        op.cancelled = True
        rsc.recurring.pop(op.call_id, None)
        self._timed_ops.pop(op.call_id, None)
        op.due_ms = None
        if rsc.running is not None and rsc.running.op is op:
            return  # reported as cancelled when it finishes
        if op.queued:
            rsc.queue.remove(op)
            op.queued = False
            if rsc.queue and rsc.running is None:
                heapq.heappush(self._ready, (rsc.queue[0].seq, rsc.rsc_id))
        clients = tuple(dict.fromkeys(([op.client] if op.client is not None else [])
                                      + list(self.subscribers)))
        out.append(Publish(clients, OpResult(
            call_id=op.call_id, rsc_id=rsc.rsc_id, operation=op.operation,
            interval_ms=op.interval_ms, rc=op.last_rc if op.last_rc is not None else OCF_ERR_GENERIC,
            status=CANCELLED, exit_reason="cancelled", rc_changed=False, user_data=op.user_data), now_ms, now_ms))


def _pending(op: Op) -> dict:
    return {"call_id": op.call_id, "operation": op.operation, "interval_ms": op.interval_ms,
            "timeout_ms": op.timeout_ms, "user_data": op.user_data}


def _run_name(run: Run) -> str:
    if run.op is None:
        return f"meta-data of {':'.join(run.metadata_key or ())}"
    return f"{run.op.rsc_id}_{run.op.key} (call {run.op.call_id})"


_HANDLERS = {
    SignOn: LrmMachine._on_signon,
    Register: LrmMachine._on_register,
    Unregister: LrmMachine._on_unregister,
    Execute: LrmMachine._on_execute,
    Cancel: LrmMachine._on_cancel,
    GetMetadata: LrmMachine._on_metadata,
    AgentExited: LrmMachine._on_exit,
    Tick: LrmMachine._on_tick,
}

__all__ = ["LrmMachine", "SignOn", "Register", "Unregister", "Execute", "Cancel", "GetMetadata",
           "AgentExited", "Tick", "Reply", "RunAgent", "SignalAgent", "Publish", "SaveResources", "Log",
           "ERROR", "TIMEOUT"]
