"""A core's connection to one local daemon it depends on, as a small sans-I/O state machine.

Every client daemon (ccm of messaging; crmd of messaging, ccm, lrmd, pengine, tengine) needs the
same things, which used to be blocking calls in the shells:

- requests are correlated messages: `request()` returns the `Send` effect and remembers the
  request id with a deadline; `take_reply()` matches a `Reply`, `expired()` lists the requests
  that got none in time;
- the daemon may not run yet, may die, or may restart (and forget that we signed on): the session
  sends a `PingRequest` every `poll_ms` (a new one even if the last is unanswered: it may have
  gone out while the daemon was down); every daemon answers it with its pid. No answer to
  anything for `silent_ms`, or an answer with another pid than the one we signed on with, means
  the daemon is gone or restarted: `lost` is reported once and the owner signs on again.

The session decides nothing about what a reply means; the owning core does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from core.messages.common import PingRequest, Reply
from core.sansio import Send

DEFAULT_POLL_MS = 1000
DEFAULT_TIMEOUT_MS = 2000


@dataclass
class Pending:
    tag: str
    deadline_ms: int
    context: Any = None


class Session:
    """The client end of one daemon's control socket (`server` is its socket name)."""

    def __init__(self, server: str, next_id: Callable[[], int], poll_ms: int = DEFAULT_POLL_MS,
                 timeout_ms: int = DEFAULT_TIMEOUT_MS, silent_ms: Optional[int] = None,
                 answers_in_order: bool = False) -> None:
        """answers_in_order: the daemon answers every request before reading the next (the
        policy engine, the transition engine, the lrmd): then a request older than an answered
        ping got lost (it went out while the daemon was down) and is reported as expired at once,
        instead of after its whole timeout."""
        self.server = server
        self.answers_in_order = answers_in_order
        self.next_id = next_id
        self.poll_ms = poll_ms
        self.timeout_ms = timeout_ms
        self.silent_ms = silent_ms if silent_ms is not None else max(3 * poll_ms, timeout_ms)
        self.pending: dict[int, Pending] = {}
        self.server_pid: Optional[int] = None  # the pid we signed on with (None: not connected)
        self.up = False
        self.last_heard_ms: Optional[int] = None
        self.next_poll_ms: Optional[int] = None
        self.poll_id: Optional[int] = None

    # -- requests -----------------------------------------------------------------------------------
    def request(self, now_ms: int, make: Callable[[int], Any], tag: str, context: Any = None,
                timeout_ms: Optional[int] = None) -> Send:
        """make(request_id) -> the request message; returns the effect that sends it."""
        request_id = self.next_id()
        self.pending[request_id] = Pending(tag, now_ms + (timeout_ms or self.timeout_ms), context)
        return Send(self.server, make(request_id))

    def take_reply(self, now_ms: int, reply: Reply) -> Optional[Pending]:
        """The pending request this reply answers (removed), or None for a stale or unknown one."""
        self.last_heard_ms = now_ms
        if reply.request_id == self.poll_id:
            self.poll_id = None
            if self.answers_in_order:
                for rid, pending in self.pending.items():
                    if rid < reply.request_id:
                        pending.deadline_ms = now_ms  # lost: expired() reports it
            return Pending("ping", now_ms, reply.result)
        return self.pending.pop(reply.request_id, None)

    def heard(self, now_ms: int) -> None:
        """Any message from the daemon (an event) shows it is alive."""
        self.last_heard_ms = now_ms

    def expired(self, now_ms: int) -> list[Pending]:
        gone = [rid for rid, p in self.pending.items() if p.deadline_ms <= now_ms]
        return [self.pending.pop(rid) for rid in gone]

    def outstanding(self, tag: str) -> bool:
        return any(p.tag == tag for p in self.pending.values())

    # -- connection state ---------------------------------------------------------------------------
    def connected(self, now_ms: int, pid: Optional[int]) -> None:
        """We signed on (or first reached a daemon that needs no sign-on); pid as it answered."""
        self.up = True
        self.server_pid = pid
        self.last_heard_ms = now_ms
        self.next_poll_ms = now_ms + self.poll_ms

    def start_polling(self, now_ms: int) -> None:
        """For a daemon that needs no sign-on: poll it from now on (its pid is learnt from the
        first answer)."""
        if not self.up:
            self.connected(now_ms, None)

    def reset(self) -> None:
        """Forget everything outstanding (the daemon went away; replies to old requests are stale)."""
        self.pending.clear()
        self.up = False
        self.server_pid = None
        self.poll_id = None
        self.next_poll_ms = None

    def check(self, now_ms: int) -> tuple[list[Send], Optional[str]]:
        """Poll the daemon when due; returns (effects, why it is lost or None)."""
        if not self.up:
            return [], None
        assert self.last_heard_ms is not None
        if now_ms - self.last_heard_ms >= self.silent_ms:
            why = f"{self.server} did not answer for {now_ms - self.last_heard_ms} ms"
            self.reset()
            return [], why
        effects: list[Send] = []
        if self.next_poll_ms is not None and now_ms >= self.next_poll_ms:
            # a ping still unanswered was lost (the daemon was down when it went out): ask again,
            # so that a restarted daemon is recognised by its new pid at the next poll
            self.poll_id = self.next_id()
            effects.append(Send(self.server, PingRequest(self.poll_id)))
            self.next_poll_ms = now_ms + self.poll_ms
        return effects, None

    def ping_answer(self, result: Any) -> Optional[str]:
        """Why the daemon must be considered restarted, from a ping answer (None: same process)."""
        pid = result.get("pid") if isinstance(result, dict) else None
        if self.server_pid is not None and pid is not None and pid != self.server_pid:
            return f"{self.server} restarted (pid {self.server_pid} -> {pid})"
        if self.server_pid is None and pid is not None:
            self.server_pid = pid
        return None

    def next_deadline_ms(self) -> Optional[int]:
        best = self.next_poll_ms if self.up else None
        if self.up and self.last_heard_ms is not None:
            lost_at = self.last_heard_ms + self.silent_ms
            best = lost_at if best is None else min(best, lost_at)
        for p in self.pending.values():
            if best is None or p.deadline_ms < best:
                best = p.deadline_ms
        return best


class IdSource:
    """Request ids for one core (unique per process; replies are matched per session anyway)."""

    def __init__(self, start: int = 1) -> None:
        self.value = start - 1

    def __call__(self) -> int:
        self.value += 1
        return self.value
