"""crmd, the cluster resource manager daemon: the shell around `crmd.machine.CrmdMachine`.

At start it reads what the core needs from disk: the CIB replica (`<statedir>/cib.xml` with its
MD5 in `cib.xml.sig`; a file edited by hand while the cluster was down is taken, see
`crmd.startup`) or, with `crm off`, the CIB derived from haresources and ha.cf; and its
incarnation counter. It serves `crmd.sock` (`core.messages.crm`) and writes the replica back
(atomically, then its signature) whenever the configuration changes.

SIGTERM does not stop crmd at once: the core first has the DC move this node's resources away
(`Stop` -> ... -> `Stopped`); a second SIGTERM stops it immediately.
"""

from __future__ import annotations

import os
import random
import sys
from typing import Optional

from core.config.load import read_haresources
from core.config.stonith import hacf_device_ids
from core.daemon import DaemonContext, run_daemon
from core.driver import Driver
from core.errors import ConfigError
from core.paths import ocf_roots
from core.sansio import Stop, Stopped
from core.statefile import read_number, write_durably
from crmd.cib import CibError
from crmd.derive import from_haresources
from crmd import standby  # noqa: F401  (used by the machine on a takeover: loaded before the fork)
from crmd.machine import INCARNATION_FILE, CibChanged, CrmdConfig, CrmdMachine, RoleChanged, SaveCib
from crmd.startup import QUORATE_SUFFIX, SIG_SUFFIX, file_digest, initial_cib, initial_mark, mark_text

CIB_FILE = "cib.xml"


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def provider_for(roots: list[str]):
    """Our own OCF agents where they are installed, heartbeat's otherwise."""
    def pick(rsc_type: str) -> str:
        for root in roots:
            if os.access(os.path.join(root, "resource.d", "pyheartbeat", rsc_type), os.X_OK):
                return "pyheartbeat"
        return "heartbeat"
    return pick


def _version() -> str:
    try:
        from importlib.metadata import version
        return f"pyheartbeat-{version('pyheartbeat')}"
    except Exception:  # not installed as a distribution (running from a source tree)
        return "pyheartbeat"


class CrmdService:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        paths, config = ctx.paths, ctx.config
        self.cib_path = paths.state_file(CIB_FILE)
        text, sig = _read(self.cib_path), _read(self.cib_path + SIG_SUFFIX)
        derived = None
        groups: tuple = ()
        mode = "crm" if config.crm_enabled else "haresources"
        if mode == "haresources":
            resources = read_haresources(paths.haresources, tuple(config.nodes)) \
                if os.path.exists(paths.haresources) else ()
            try:
                devices = hacf_device_ids(config)
                derived, groups, warnings = from_haresources(
                    resources, config.auto_failback, config.nodes, provider_for(ocf_roots()), paths.haresources,
                    stonith_devices=devices, connectivity=bool(config.ping_nodes or config.ping_groups))
            except ValueError as exc:
                raise ConfigError(paths.haresources, None, str(exc)) from None
            for warning in warnings:
                ctx.log.warn(warning)
        try:
            cib, notes = initial_cib(self.cib_path, text, sig, derived)
        except CibError as exc:
            raise ConfigError(self.cib_path, None, f"the CIB cannot be used: {exc}") from None
        for note in notes:
            ctx.log.info(note)
        self.core = CrmdMachine(CrmdConfig(
            node=paths.node_name, nodes=tuple(config.nodes), pid=os.getpid(), cib=cib,
            deadtime_ms=config.deadtime_ms, incarnation_floor=read_number(paths.state_file(INCARNATION_FILE)),
            mode=mode, groups=groups, version=_version(), watchdog=bool(config.watchdog),
            cib_quorate=initial_mark(cib, text, _read(self.cib_path + QUORATE_SUFFIX))), random.Random())
        ignore = lambda _effect: None  # noqa: E731
        self.driver = Driver(ctx, self.core, serve="crmd", handlers={
            SaveCib: self.save_cib, RoleChanged: ignore, CibChanged: ignore, Stopped: self.stopped})
        ctx.log.info(f"crmd starting on {paths.node_name} ({'CIB' if mode == 'crm' else 'haresources'} mode), "
                     f"CIB {'.'.join(map(str, cib.version))}")
        self.stopping = False
        self.driver.start()

    def save_cib(self, effect: SaveCib) -> None:
        write_durably(self.cib_path, effect.xml.encode("utf-8"))
        write_durably(self.cib_path + SIG_SUFFIX, (file_digest(effect.xml) + "\n").encode("ascii"))
        write_durably(self.cib_path + QUORATE_SUFFIX, mark_text(effect.quorate).encode("ascii"))

    def request_stop(self) -> None:
        """SIGTERM: hand the resources over first; a second SIGTERM stops at once."""
        if self.stopping:
            self.ctx.log.warn("second SIGTERM: stopping now")
            self.ctx.loop.stop()
            return
        self.stopping = True
        self.driver.feed(Stop())

    def stopped(self, _effect: Stopped) -> None:
        self.ctx.loop.stop()

    def reload(self) -> None:
        self.ctx.log.info("SIGHUP: nothing to reload (the CIB changes through cibadmin)")

    def shutdown(self) -> None:
        self.driver.close()


def build(ctx: DaemonContext) -> CrmdService:
    return CrmdService(ctx)


def main(argv: Optional[list[str]] = None) -> int:
    return run_daemon("crmd", build, argv)


if __name__ == "__main__":
    sys.exit(main())
