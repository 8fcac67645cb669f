"""The membership daemon (`ccm`): the shell around `ccm.process.CcmProcess`.

Everything ccm decides, including how it signs on to the messaging daemon and notices that
messaging restarted, is in the core; this shell reads the two state files the core persists
(`ccm_incarnation`, `ccm_instance`) at start and lets `core.driver.Driver` move frames, timers
and writes. It serves `ccm.sock` (`core.messages.ccm`).
"""

from __future__ import annotations

import os
import sys
from typing import Optional

from ccm.events import QuorumChanged, ViewChanged
from ccm.process import HORIZON_FILE, INCARNATION_FILE, INSTANCE_FILE, CcmProcess, CcmProcessConfig
from core.daemon import DaemonContext, run_daemon
from core.driver import Driver
from core.sansio import Stop
from core.statefile import read_number, read_text

BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"


class CcmService:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        paths, config = ctx.paths, ctx.config
        self.core = CcmProcess(CcmProcessConfig(
            node=paths.node_name, nodes=tuple(config.nodes), keepalive_ms=config.keepalive_ms,
            deadtime_ms=config.deadtime_ms, pid=os.getpid(),
            incarnation_floor=read_number(paths.state_file(INCARNATION_FILE)),
            instance_floor=read_number(paths.state_file(INSTANCE_FILE)),
            horizon=read_text(paths.state_file(HORIZON_FILE)), boot_id=read_text(BOOT_ID_FILE).strip()))
        ignore = lambda _effect: None  # noqa: E731  (view changes reach clients as MembershipEvents)
        self.driver = Driver(ctx, self.core, serve="ccm", handlers={ViewChanged: ignore, QuorumChanged: ignore})
        ctx.log.info(f"ccm starting on {paths.node_name}: nodes {', '.join(config.nodes)}")
        self.driver.start()

    def reload(self) -> None:
        self.ctx.log.info("SIGHUP: nothing to reload (the node list is read at start)")

    def shutdown(self) -> None:
        self.driver.feed(Stop())
        self.driver.close()
        self.ctx.log.info(f"{self.ctx.paths.node_name} ccm shutdown complete")


def build(ctx: DaemonContext) -> CcmService:
    return CcmService(ctx)


def main(argv: Optional[list[str]] = None) -> int:
    return run_daemon("ccm", build, argv)


if __name__ == "__main__":
    sys.exit(main())
