"""ha-logd, the shell: a PULL socket `logd.sock` in the node's run directory receives `LogRecord`
frames from every local daemon; `logd.core` validates them and the lines go to `logfile`,
`debugfile` and syslog (`logfacility`) through `core.logsink`, in heartbeat's line shape.

    logd --confdir /etc/ha.d --rundir /run/pyheartbeat --node-name node1

Only root and logd's own uid may log through the socket (core/access.py: `log.record` is no
read-only request): a frame from anybody else (a haclient member's `ha_logger`) is dropped,
counted (`refused`) and reported in at most one line per REFUSAL_REPORT_MS, so nobody can forge
a daemon's log lines. logd writes its own lines straight to the sinks (never through its own socket). SIGHUP re-reads
ha.cf (a new logfile, debug level or facility takes effect; files are reopened, so rotation works
with or without it). On SIGTERM it drains what is already queued before it exits.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

import zmq

from core import access, ipc
from core.clock import monotonic_ms, wall_s
from core.daemon import DaemonContext, load_config, run_daemon
from core.errors import ConfigError
from core.driver import Driver
from core.ipc import bind_pull, remove_socket
from core.logsink import Sinks
from core.sansio import Stop
from logd.core import Frame, LogdCore, Write

BATCH = 512  # frames handled per wake-up before timers get a turn
DRAIN_LIMIT = 100_000  # frames written at most on the way out
REFUSAL_REPORT_MS = 10_000


def _sinks(config) -> Sinks:
    return Sinks(config.logfile, config.debugfile, config.logfacility, config.debug, "logd")


class LogdService:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.sinks = _sinks(ctx.config)
        self.core = LogdCore(node=ctx.paths.node_name, pid=os.getpid())
        self.sock = bind_pull(ctx.paths, "logd")
        self.policy = access.Policy(os.geteuid(), ipc.haclient_gid()[0])
        self.refused = 0
        self.refused_reported = (0, 0)  # (when, count at that time)
        self.driver = Driver(ctx, self.core, handlers={Write: self.write})
        ctx.loop.add_reader(self.sock, self.on_readable)
        self.driver.start()
        self.write(Write(wall_s(), self.core.node, "logd", self.core.pid, "info",
                         f"logd started on {ctx.paths.endpoint('logd')}"))

    def write(self, w: Write) -> None:
        self.sinks.emit(w.ts_s, w.node, w.daemon, w.pid, w.level, w.text)

    def receive(self, limit: int) -> int:
        handled = 0
        while handled < limit:
            try:
                frames = self.sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            handled += 1
            creds = ipc.peer_creds(frames[-1], lookup=False) if frames else None
            if creds is not None and not access.privileged(creds, self.policy):
                self._refuse(creds)
                continue
            self.driver.feed(Frame(parts=tuple(f.bytes for f in frames)))
        return handled

    def _refuse(self, creds: access.Creds) -> None:
        self.refused += 1
        when, count = self.refused_reported
        now = monotonic_ms()
        if now - when >= REFUSAL_REPORT_MS:
            self.write(Write(wall_s(), self.core.node, "logd", self.core.pid, "warn",
                             f"logd.sock: refused log records from uid {creds.uid} (pid {creds.pid}): only root "
                             f"may log through logd ({self.refused - count} refused since the last report)"))
            self.refused_reported = (now, self.refused)

    def on_readable(self) -> None:
        self.receive(BATCH)

    def reload(self) -> None:
        try:
            config = load_config(self.ctx.paths)
        except ConfigError as exc:
            self.write(Write(wall_s(), self.core.node, "logd", self.core.pid, "error",
                             f"reload failed, keeping the old configuration: {exc}"))
            return
        self.sinks.close()
        self.ctx.config = config
        self.sinks = _sinks(config)
        self.write(Write(wall_s(), self.core.node, "logd", self.core.pid, "info", "configuration reloaded"))

    def shutdown(self) -> None:
        self.receive(DRAIN_LIMIT)
        self.driver.feed(Stop())
        self.driver.close()
        self.sock.close(0)
        remove_socket(self.ctx.paths, "logd")
        self.sinks.close()


def build(ctx: DaemonContext) -> LogdService:
    return LogdService(ctx)


def main(argv: Optional[list[str]] = None) -> int:
    return run_daemon("logd", build, argv)


if __name__ == "__main__":
    sys.exit(main())
