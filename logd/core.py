"""ha-logd's logic as a sans-I/O core: frames from the local daemons in, lines to write out.

    core = LogdCore(node="node1", pid=1234)
    core.step(now_ms, WallClock(offset_ms))                     # wall time = now_ms + offset_ms
    effects = core.step(now_ms, Frame(parts=(data,)))           # -> [Write(...)]
    effects = core.step(now_ms, Tick())                         # when next_deadline_ms() is due
    effects = core.step(now_ms, Stop())                         # on the way out: a last summary

Each valid `LogRecord` becomes one `Write` per line of its text (a multi-line text keeps the
heartbeat line shape on every line). Anything else on the socket (not msgpack, a wrong signature,
another message type, an unknown level, a multipart frame) is garbage: it is counted, the first
one is reported at once, later ones in one summary line at most every `report_interval_ms`, and
logd carries on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from core import wire
from core.errors import WireError
from core.messages.log import LEVELS, LogRecord
from core.sansio import Stop, Tick, WallClock

MAX_TEXT_CHARS = 16_384
REPORT_INTERVAL_MS = 10_000


@dataclass(frozen=True)
class Frame:
    parts: tuple[bytes, ...]


Input = Union[Frame, Tick, Stop, WallClock]


@dataclass(frozen=True)
class Write:
    """One line for the sinks (logfile/debugfile/syslog), in heartbeat's line shape."""

    ts_s: float
    node: str
    daemon: str
    pid: int
    level: str
    text: str


@dataclass
class Counters:
    records: int = 0
    lines: int = 0
    garbage: int = 0
    garbage_reported: int = 0


@dataclass
class LogdCore:
    node: str
    pid: int
    daemon: str = "logd"
    report_interval_ms: int = REPORT_INTERVAL_MS
    counters: Counters = field(default_factory=Counters)
    wall_offset_ms: int = 0
    _last_report_ms: Optional[int] = None
    _last_reason: str = ""

    def step(self, now_ms: int, event: Input) -> list[Write]:
        if isinstance(event, Frame):
            return self._frame(now_ms, event)
        if isinstance(event, Tick):
            return self._report(now_ms) if self._report_due(now_ms) else []
        if isinstance(event, WallClock):
            self.wall_offset_ms = event.offset_ms
            return []
        if isinstance(event, Stop):
            out = self._report(now_ms) if self._unreported else []
            c = self.counters
            out.append(self._own(now_ms, "info", f"logd is shutting down: {c.records} records written, "
                                                 f"{c.garbage} garbage frames dropped"))
            return out
        raise AssertionError(f"unknown input {event!r}")

    def next_deadline_ms(self) -> Optional[int]:
        if not self._unreported or self._last_report_ms is None:
            return None
        return self._last_report_ms + self.report_interval_ms

    # -- internals ---------------------------------------------------------------------
    @property
    def _unreported(self) -> int:
        return self.counters.garbage - self.counters.garbage_reported

    def _report_due(self, now_ms: int) -> bool:
        deadline = self.next_deadline_ms()
        return deadline is not None and now_ms >= deadline

    def _frame(self, now_ms: int, event: Frame) -> list[Write]:
        try:
            record = _validate(event.parts)
        except WireError as exc:
            self.counters.garbage += 1
            self._last_reason = str(exc)
            if self._last_report_ms is None or self._report_due(now_ms):
                return self._report(now_ms)
            return []
        self.counters.records += 1
        lines = _lines(record.text)
        self.counters.lines += len(lines)
        daemon = "_".join(record.daemon.split()) or "?"
        node = "_".join(record.node.split()) or "?"
        return [Write(record.ts_s, node, daemon, record.pid, record.level, line) for line in lines]

    def _report(self, now_ms: int) -> list[Write]:
        count = self._unreported
        self.counters.garbage_reported = self.counters.garbage
        self._last_report_ms = now_ms
        total = self.counters.garbage
        noun = "frame" if count == 1 else "frames"
        return [self._own(now_ms, "warn", f"dropped {count} garbage {noun} from local clients "
                                          f"(last: {self._last_reason}); {total} so far")]

    def _own(self, now_ms: int, level: str, text: str) -> Write:
        return Write((now_ms + self.wall_offset_ms) / 1000.0, self.node, self.daemon, self.pid, level, text)


def _validate(parts: tuple[bytes, ...]) -> LogRecord:
    if len(parts) != 1:
        raise WireError(f"multipart message of {len(parts)} frames")
    msg = wire.decode(parts[0])
    if not isinstance(msg, LogRecord):
        raise WireError(f"{wire.tag_of(msg)} is not a log record")
    if msg.level not in LEVELS:
        raise WireError(f"unknown level {msg.level[:20]!r}")
    return msg


def _lines(text: str) -> list[str]:
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS] + f"... [{len(text) - MAX_TEXT_CHARS} more characters cut]"
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines
