"""The logging client every daemon uses.

Records go to ha-logd over a ZeroMQ PUSH socket (`logd.sock`) when `use_logd` is on. The socket
has ZMQ_IMMEDIATE set, so while logd is down (or its queue is full) a send fails at once and the
record is written directly to the configured files/syslog instead: a record is never dropped and
logging never blocks a daemon.

    log = Logger("heartbeat", paths, config)
    log.info("Link %s:%s up.", node, link)
    log.warn("node %s: is dead", node, event="node_dead", node=node)
"""

from __future__ import annotations

import os
from typing import Any, Optional

import zmq

from core import wire
from core.clock import wall_s
from core.logsink import Sinks
from core.messages.log import LogRecord
from core.paths import NodePaths


class Logger:
    def __init__(self, daemon: str, paths: NodePaths, use_logd: bool = True,
                 logfile: Optional[str] = None, debugfile: Optional[str] = None,
                 facility: Optional[str] = None, debug_level: int = 0,
                 ctx: Optional[zmq.Context] = None) -> None:
        self.daemon = daemon
        self.node = paths.node_name
        self.pid = os.getpid()
        self.debug_level = debug_level
        self.direct = Sinks(logfile, debugfile, facility, debug_level, daemon)
        self.sent_to_logd = 0
        self.written_directly = 0
        self._sock: Optional[zmq.Socket] = None
        self._logd_path = paths.socket_path("logd")
        if use_logd:
            self._sock = (ctx or zmq.Context.instance()).socket(zmq.PUSH)
            self._sock.setsockopt(zmq.IMMEDIATE, 1)
            self._sock.setsockopt(zmq.SNDHWM, 10_000)
            self._sock.setsockopt(zmq.LINGER, 500)
            self._sock.connect(paths.endpoint("logd"))

    @classmethod
    def from_config(cls, daemon: str, paths: NodePaths, config: Any) -> "Logger":
        """config: a HaConfig (or None for stderr-only logging before the config is read)."""
        if config is None:
            return cls(daemon, paths, use_logd=False)
        return cls(daemon, paths, use_logd=config.use_logd, logfile=config.logfile,
                   debugfile=config.debugfile, facility=config.logfacility,
                   debug_level=config.debug)

    def wait_for_logd(self, timeout_ms: int) -> bool:
        """Wait (bounded) until the connection to logd is up, so that the next record goes to logd
        rather than straight to the files (a new PUSH socket is not connected at once). For
        short-lived tools such as ha_logger; False when logd is not running."""
        if self._sock is None or not os.path.exists(self._logd_path):
            return False
        return bool(self._sock.poll(timeout_ms, zmq.POLLOUT))

    def log(self, level: str, text: str, *args: Any, **fields: Any) -> None:
        if args:
            text = text % args
        if level == "debug" and self.debug_level <= 0 and self.direct.debugfile is None and self._sock is None:
            return
        ts = wall_s()
        if self._sock is not None:
            record = LogRecord(ts_s=ts, node=self.node, daemon=self.daemon, pid=self.pid,
                               level=level, text=text, fields=_plain(fields))
            try:
                self._sock.send(wire.encode(record), zmq.NOBLOCK)
                self.sent_to_logd += 1
                return
            except zmq.Again:
                pass
        self.written_directly += 1
        self.direct.emit(ts, self.node, self.daemon, self.pid, level, text)

    def debug(self, text: str, *args: Any, **fields: Any) -> None:
        self.log("debug", text, *args, **fields)

    def info(self, text: str, *args: Any, **fields: Any) -> None:
        self.log("info", text, *args, **fields)

    def notice(self, text: str, *args: Any, **fields: Any) -> None:
        self.log("notice", text, *args, **fields)

    def warn(self, text: str, *args: Any, **fields: Any) -> None:
        self.log("warn", text, *args, **fields)

    def error(self, text: str, *args: Any, **fields: Any) -> None:
        self.log("error", text, *args, **fields)

    def crit(self, text: str, *args: Any, **fields: Any) -> None:
        self.log("crit", text, *args, **fields)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.direct.close()


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    """Keep only msgpack-friendly values in structured fields."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, (str, int, float, bool, type(None), bytes)):
            out[key] = value
        elif isinstance(value, (list, tuple)):
            out[key] = [v if isinstance(v, (str, int, float, bool)) else str(v) for v in value]
        else:
            out[key] = str(value)
    return out
