"""A readable record of what happened in a simulated run: faults, node starts/crashes/pauses,
what each node's messaging layer concluded about peers, and every view and quorum change. The
last `limit` lines are kept; on a violation they are printed with the seed to replay the run."""

from __future__ import annotations

from collections import deque


class Trace:
    def __init__(self, limit: int = 3000, enabled: bool = True) -> None:
        self.lines: deque[str] = deque(maxlen=limit)
        self.enabled = enabled
        self.total = 0

    def add(self, now_ms: int, node: str, text: str) -> None:
        self.total += 1
        if self.enabled:
            self.lines.append(f"{now_ms:>7} ms  {node:<8} {text}")

    def render(self, last: int | None = None) -> str:
        lines = list(self.lines)
        if last is not None:
            lines = lines[-last:]
        skipped = self.total - len(lines)
        head = [f"... {skipped} earlier lines not shown"] if skipped > 0 else []
        return "\n".join(head + lines)
