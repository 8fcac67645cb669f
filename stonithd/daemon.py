"""stonithd, the fencing daemon: the shell around `stonithd.machine.StonithMachine`.

At start it reads ha.cf's devices (`stonith`, `stonith_host`; a parameter file relative to the
configuration directory). It serves `stonithd.sock` (`core.messages.stonith`), signs on to
messaging for the stonithds' cluster messages, and runs the device programs the core asks for
with the same runner as the lrmd (`core.agentrun`: own session, pidfd, output capped; fence
agents get their `name=value` lines on stdin). Every decision is the core's.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from typing import Optional

from core.agentproc import AgentExit
from core.agentrun import AgentRunner
from core.daemon import DaemonContext, run_daemon
from core.driver import Driver
from core.sansio import Stopped
from stonithd import locate, plugins
from stonithd.devices import from_hacf
from stonithd.machine import DeviceExited, RunDevice, SignalDevice, StonithConfig, StonithMachine

_SIGNALS = {"TERM": signal.SIGTERM, "KILL": signal.SIGKILL}
_BASE_ENV = ("PATH", "LANG", "LC_ALL", "TZ")


def _read_in(confdir: str):
    def read(path: str) -> str:
        with open(path if os.path.isabs(path) else os.path.join(confdir, path), encoding="utf-8") as handle:
            return handle.read()
    return read


class StonithService:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        paths, config = ctx.paths, ctx.config
        hacf = from_hacf(config.stonith, config.stonith_hosts, _read_in(paths.confdir), paths.ha_cf)
        deadtime = config.deadtime_ms
        self.core = StonithMachine(StonithConfig(
            node=paths.node_name, nodes=tuple(config.nodes), pid=os.getpid(), hacf_devices=tuple(hacf),
            query_timeout_ms=max(500, min(3000, 2 * deadtime))), random.Random())
        self.runner = AgentRunner(ctx.loop)
        self.pgids: dict[int, int] = {}
        self.env = {k: v for k, v in os.environ.items() if k in _BASE_ENV}
        self.env.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        self.env.update(paths.environ())
        self.env["HA_LOGTAG"] = "stonithd"
        self.env["PYHB_PYTHON"] = sys.executable  # for the devices this project ships (external/lab)
        self.driver = Driver(ctx, self.core, serve="stonithd", handlers={
            RunDevice: self._run, SignalDevice: self._signal, Stopped: lambda _e: ctx.loop.stop()})
        ctx.log.info(f"stonithd starting on {paths.node_name}: {len(hacf)} device(s) from ha.cf"
                     + "".join(f"; {d.id} {d.type}" for d in hacf))
        self.driver.start()

    def _run(self, effect: RunDevice) -> None:
        run_id = effect.run_id

        def exited(result: AgentExit) -> None:
            self.pgids.pop(run_id, None)
            self.driver.feed(DeviceExited(run_id, result))

        def later(result: AgentExit) -> None:
            self.ctx.loop.set_timer(f"device-exit-{run_id}", 0, lambda: exited(result))

        try:
            plugin = locate.find(effect.device.type)
            inv = plugins.invocation(plugin, effect.op, effect.device.params, effect.host, list(effect.agent_params))
        except (locate.LocateError, ValueError) as exc:
            later(AgentExit(exec_error=str(exc), exec_errno_class="missing"))
            return
        env = dict(self.env)
        env.update(inv.env)
        pid = self.runner.spawn(inv.argv, env, later, stdin=inv.stdin.encode() if inv.stdin is not None else None)
        if pid is not None:
            self.pgids[run_id] = pid
            self.ctx.log.debug(f"device {effect.device.id}: {' '.join(inv.argv)} (pid {pid})")

    def _signal(self, effect: SignalDevice) -> None:
        pgid = self.pgids.get(effect.run_id)
        if pgid is not None:
            self.runner.signal_group(pgid, _SIGNALS[effect.signal])

    def reload(self) -> None:
        self.ctx.log.info("SIGHUP: nothing to reload (devices come from ha.cf at start and from the CIB)")

    def shutdown(self) -> None:
        self.driver.close()
        self.runner.close()


def build(ctx: DaemonContext) -> StonithService:
    return StonithService(ctx)


def main(argv: Optional[list[str]] = None) -> int:
    return run_daemon("stonithd", build, argv)


if __name__ == "__main__":
    sys.exit(main())
