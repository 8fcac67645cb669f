"""Records for ha-logd. `level` is one of debug, info, notice, warn, error, crit."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from core.sansio import LOG_LEVELS as LEVELS
from core.wire import message


@message("log.record")
class LogRecord:
    ts_s: float
    node: str
    daemon: str
    pid: int
    level: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)
