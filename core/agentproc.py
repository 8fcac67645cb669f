"""What every daemon that runs programs (lrmd's agents, stonithd's fence devices) shares, as pure
values: how a run ended (`AgentExit`) and the timeout rule (`KillClock`).

The timeout rule (cluster-glue's lrmd): a run has a deadline `timeout_ms` after it started. At the
deadline the shell TERMs the program's whole process group; `kill_grace_ms` later it KILLs it;
after another `kill_grace_ms` the core stops waiting (the run counts as timed out either way, and
a late exit of an abandoned run is ignored). One rule for agents and fence devices, so a hung
fence device is treated exactly like a hung resource agent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

DEFAULT_KILL_GRACE_MS = 5_000
TERM, KILL, ABANDON = "TERM", "KILL", "ABANDON"


@dataclass(frozen=True)
class AgentExit:
    """How a program run ended, as the shell saw it."""

    exit_code: Optional[int] = None  # None when killed by a signal or never started
    signal: Optional[int] = None
    exec_error: Optional[str] = None  # e.g. "not installed", "not executable"
    exec_errno_class: str = ""  # "missing" | "permission" | "format" | "other"
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False


class KillClock:
    """The deadline of one run: running -> terminating -> killing -> abandoned."""

    __slots__ = ("deadline_ms", "phase", "kill_grace_ms")

    def __init__(self, started_ms: int, timeout_ms: int, kill_grace_ms: int = DEFAULT_KILL_GRACE_MS) -> None:
        self.deadline_ms = started_ms + max(1, timeout_ms)
        self.phase = "running"
        self.kill_grace_ms = max(1, kill_grace_ms)

    @property
    def timed_out(self) -> bool:
        return self.phase != "running"

    def due(self, now_ms: int) -> Optional[str]:
        """At or past the deadline: what to do now (TERM, KILL, or ABANDON: stop waiting), and
        the next deadline is set; before it: None."""
        if now_ms < self.deadline_ms:
            return None
        self.deadline_ms = now_ms + self.kill_grace_ms
        if self.phase == "running":
            self.phase = "terminating"
            return TERM
        if self.phase == "terminating":
            self.phase = "killing"
            return KILL
        self.phase = "abandoned"
        return ABANDON

    def finished(self, result: AgentExit) -> AgentExit:
        """The result of an exit seen after the deadline counts as a timeout."""
        if self.timed_out and not result.timed_out:
            return replace(result, timed_out=True)
        return result
