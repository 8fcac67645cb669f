"""tengine, the transition engine daemon: the shell around `tengine.machine.TeMachine`.

It serves `tengine.sock`; its one client is the node's crmd, which hands it graphs while it is
the DC. All decisions are the core's; the shell only moves frames and timers.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

from core.daemon import DaemonContext, run_daemon
from core.driver import Driver
from tengine.machine import Aborted, Fired, TeMachine


class TengineService:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.core = TeMachine(os.getpid())
        ignore = lambda _effect: None  # noqa: E731  (observations for the simulator)
        self.driver = Driver(ctx, self.core, serve="tengine", handlers={Fired: ignore, Aborted: ignore})
        self.driver.start()

    def reload(self) -> None:
        self.ctx.log.info("SIGHUP: nothing to reload")

    def shutdown(self) -> None:
        self.driver.close()


def build(ctx: DaemonContext) -> TengineService:
    return TengineService(ctx)


def main(argv: Optional[list[str]] = None) -> int:
    return run_daemon("tengine", build, argv)


if __name__ == "__main__":
    sys.exit(main())
