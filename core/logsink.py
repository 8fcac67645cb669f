"""Where log records end up: heartbeat's line shape in `logfile`/`debugfile`, and syslog.

    Nov 26 07:52:21 node1 heartbeat: [3689]: info: Link node2:eth0 up.

Used by ha-logd and, when logd is down or not configured, by every daemon directly, so a record
is never lost. `format_line` is pure; `FileSink` appends and reopens after rotation.
"""

from __future__ import annotations

import os
import time
from typing import Optional

LEVEL_WORDS = {"debug": "debug", "info": "info", "notice": "notice", "warn": "WARN",
               "error": "ERROR", "crit": "CRIT"}
SYSLOG_PRIORITY = {"debug": 7, "info": 6, "notice": 5, "warn": 4, "error": 3, "crit": 2}
FACILITY_CODES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
    "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18,
    "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}


MILLISECONDS = os.environ.get("PYHB_LOG_MS", "") not in ("", "0", "no", "off")


def format_line(ts_s: float, node: str, daemon: str, pid: int, level: str, text: str) -> str:
    """heartbeat's line shape; with PYHB_LOG_MS=1 (the lab sets it) the time has milliseconds,
    for timelines of a failover across daemons."""
    stamp = time.strftime("%b %d %H:%M:%S", time.localtime(ts_s))
    if MILLISECONDS:
        stamp += f".{int(ts_s * 1000) % 1000:03d}"
    word = LEVEL_WORDS.get(level, level)
    return f"{stamp} {node} {daemon}: [{pid}]: {word}: {text}"


class FileSink:
    """Appends lines to a file, reopening when the file was rotated or removed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: Optional[int] = None
        self._ino: Optional[int] = None

    def _open(self) -> int:
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self._fd = fd
        self._ino = os.fstat(fd).st_ino
        return fd

    def write(self, line: str) -> None:
        fd = self._fd
        if fd is not None:
            try:
                if os.stat(self.path).st_ino != self._ino:
                    self.close()
                    fd = None
            except FileNotFoundError:
                self.close()
                fd = None
        if fd is None:
            fd = self._open()
        os.write(fd, (line + "\n").encode("utf-8", "replace"))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Sinks:
    """The configured destinations: logfile (info and up, debug too when debug > 0), debugfile
    (everything), syslog facility (info and up). With none configured, stderr."""

    def __init__(self, logfile: Optional[str], debugfile: Optional[str], facility: Optional[str],
                 debug_level: int = 0, ident: str = "heartbeat") -> None:
        self.logfile = FileSink(logfile) if logfile else None
        self.debugfile = FileSink(debugfile) if debugfile else None
        self.facility = facility if facility and facility != "none" else None
        self.debug_level = debug_level
        self.ident = ident
        self._syslog_opened = False

    @property
    def empty(self) -> bool:
        return self.logfile is None and self.debugfile is None and self.facility is None

    def emit(self, ts_s: float, node: str, daemon: str, pid: int, level: str, text: str) -> None:
        line = format_line(ts_s, node, daemon, pid, level, text)
        if self.debugfile is not None:
            self._safe_write(self.debugfile, line)
        if level == "debug" and self.debug_level <= 0:
            return
        if self.logfile is not None:
            self._safe_write(self.logfile, line)
        if self.facility is not None and level != "debug":
            self._syslog(daemon, pid, level, text)
        if self.empty:
            os.write(2, (line + "\n").encode("utf-8", "replace"))

    def _safe_write(self, sink: FileSink, line: str) -> None:
        try:
            sink.write(line)
        except OSError as exc:
            os.write(2, f"cannot write {sink.path}: {exc.strerror}: {line}\n".encode("utf-8", "replace"))

    def _syslog(self, daemon: str, pid: int, level: str, text: str) -> None:
        import syslog

        facility = FACILITY_CODES.get(self.facility or "daemon", 3) << 3
        syslog.openlog(daemon, 0, facility)
        syslog.syslog(facility | SYSLOG_PRIORITY.get(level, 6), f"[{pid}]: {LEVEL_WORDS.get(level, level)}: {text}")

    def close(self) -> None:
        for sink in (self.logfile, self.debugfile):
            if sink is not None:
                sink.close()
