"""The messaging daemon (what users call `heartbeat`): the shell around `messaging.machine`.

It owns the I/O: the media sockets and serial ports, the ICMP socket for ping nodes, the
persisted generation and uuid (the watchdog device is the launcher's: core.watchdog), and the local API socket `messaging.sock`
(ROUTER) through which cl_status, ccm, crmd and other clients query, sign on, send cluster
messages and receive events. What to do with any of it is decided by `messaging.process` (the
protocol and the API as one core), which `core.driver.Driver` steps for every packet, frame and
timer.
"""

from __future__ import annotations

import os
import random
import sys
from typing import Any, Optional

from core.clock import monotonic_ms
from core.config.load import read_authkeys
from core.daemon import DaemonContext, run_daemon
from core.driver import Driver, wall_offset_ms
from core.realtime import make_realtime
from messaging import state
from messaging.events import (LoadAverage, LocalLinkState, PacketIn, PingReply, ReloadKeys, SendPing, Shutdown,
                              Transmit)
from messaging.icmp import Pinger
from messaging.machine import HeartbeatMachine, MachineConfig
from messaging.media import LinkMonitor, link_is_up, open_media
from messaging.process import MessagingProcess

HOUSEKEEPING_MS = 1000


class MessagingService:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.log = ctx.log
        config = ctx.config
        self.config = config
        self.keys = read_authkeys(ctx.paths.authkeys)
        self.generation = state.next_generation(ctx.paths.state_file("hb_generation"), config.hbgenmethod)
        self.uuid = state.node_uuid(ctx.paths.state_file("hb_uuid"), ctx.paths.node_name, config.uuidfrom)
        machine = HeartbeatMachine(
            MachineConfig.from_hacf(config, ctx.paths.node_name, self.uuid, self.generation),
            self.keys, random.Random(), monotonic_ms(), wall_offset_ms())
        self.machine = machine
        self.core = MessagingProcess(machine, os.getpid(), {k: v for k, v in reversed(config.parameters)})
        self.media = open_media(config, machine.count)
        self.pinger: Optional[Pinger] = None
        if config.ping_nodes or config.ping_groups:
            self.pinger = Pinger(machine.count)
        self.driver = Driver(ctx, self.core, serve="messaging",
                             handlers={Transmit: self.transmit, SendPing: self.send_ping})
        loop = ctx.loop
        for medium in self.media:
            loop.add_reader(medium, lambda m=medium: self.on_medium(m))
        if self.pinger is not None:
            loop.add_reader(self.pinger, self.on_ping)
        self.link_monitor: Optional[LinkMonitor] = None
        try:
            self.link_monitor = LinkMonitor()
            loop.add_reader(self.link_monitor, self.on_link_event)
        except OSError as exc:
            self.log.warn(f"no link events (rtnetlink: {exc.strerror or exc}): interface states are polled "
                          f"every {HOUSEKEEPING_MS} ms")
        if config.realtime:
            for warning in make_realtime(config.rtprio):
                self.log.warn(warning)
        self.log.info(f"pyheartbeat messaging starting on {ctx.paths.node_name}: generation "
                      f"{self.generation}, media {', '.join(m.name for m in self.media)}")
        self.driver.start()
        self.housekeeping()

    def transmit(self, effect: Transmit) -> None:
        for medium in self.media:
            medium.send(effect.packet)

    def send_ping(self, effect: SendPing) -> None:
        if self.pinger is not None:
            self.pinger.send(effect.addresses)

    # -- media, pings, housekeeping ----------------------------------------------------------
    def on_medium(self, medium: Any) -> None:
        for data in medium.receive():
            self.driver.feed(PacketIn(medium.name, data))

    def on_ping(self) -> None:
        assert self.pinger is not None
        for address in self.pinger.receive():
            self.driver.feed(PingReply(address))

    def on_link_event(self) -> None:
        assert self.link_monitor is not None
        self.link_monitor.drain()
        self.check_links()

    def check_links(self) -> None:
        for name in dict.fromkeys(m.name for m in self.media):
            up = link_is_up(name)
            if up is not None:
                self.driver.feed(LocalLinkState(name, up))

    def housekeeping(self) -> None:
        self.check_links()
        try:
            with open("/proc/loadavg", encoding="ascii") as handle:
                self.driver.feed(LoadAverage(handle.read()))
        except OSError:
            pass
        self.ctx.loop.set_timer("housekeeping", monotonic_ms() + HOUSEKEEPING_MS, self.housekeeping)

    # -- lifecycle ---------------------------------------------------------------------------
    def reload(self) -> None:
        """SIGHUP (`heartbeat -r`, systemctl reload): re-read authkeys. The core decides when the
        sending key may change (messaging.keyring); a bad file keeps the keys in use."""
        self.log.info("SIGHUP: authkeys reloaded" if self._reload_keys() else "SIGHUP: authkeys unchanged")

    def _reload_keys(self) -> bool:
        try:
            keys = read_authkeys(self.ctx.paths.authkeys)
        except Exception as exc:  # a bad new key file must not take the node down
            self.log.error(f"authkeys not reloaded: {exc}")
            return False
        if keys == self.machine.keys:
            return False
        self.keys = keys
        self.driver.feed(ReloadKeys(keys))
        return True

    def shutdown(self) -> None:
        self.driver.feed(Shutdown())
        self.log.info(f"{self.ctx.paths.node_name} messaging shutdown complete")
        for medium in self.media:
            medium.close()
        if self.pinger is not None:
            self.pinger.close()
        if self.link_monitor is not None:
            self.link_monitor.close()
        self.driver.close()


def build(ctx: DaemonContext) -> MessagingService:
    return MessagingService(ctx)


def main(argv: Optional[list[str]] = None) -> int:
    return run_daemon("messaging", build, argv, log_ident="heartbeat")


if __name__ == "__main__":
    sys.exit(main())
