"""`heartbeat`: start a node's whole stack without systemd and keep it running.

Like heartbeat 2's master control process, the launcher validates the configuration (any error:
one `file:line:` line, exit 2, nothing started), then forks each daemon of the stack and every
`respawn` entry of ha.cf, restarts what dies (with back-off, see `core.supervise`) and stops
everything in reverse order on SIGTERM. Daemons are forked, not exec'ed: the interpreter and the
shared libraries imported here are shared copy-on-write by all of them, which keeps a node's memory
small.

    heartbeat [--confdir D --rundir R --statedir S --node-name N]   run in the foreground
    heartbeat -d                                                     detach (daemonize)
    heartbeat -k                                                     stop the running stack
    heartbeat -s                                                     status (exit 0 running, 3 not)
    heartbeat -r                                                     reload (SIGHUP to every daemon)
    heartbeat --check                                                validate the configuration only
    heartbeat --respawn-only                                         only ha.cf respawn entries
                                                                     (the daemons run as systemd units)
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import pwd
import signal
import sys
import time
from typing import Optional

from core import paths as pathmod
from core.clock import monotonic_ms
from core.config.load import read_authkeys, read_haresources
from core.config.stonith import hacf_device_ids
from core.daemon import load_config, pid_alive, read_pidfile, release_pidfile, take_pidfile
from core.errors import ConfigError
from core.logsink import Sinks
from core.loop import Loop
from core.paths import NodePaths
from core.procname import set_process_name
from core.stack import DaemonSpec, daemons_for
from core.sansio import Log, Recv, Send, Stop, Tick
from core.supervise import Supervisor
from core.watchdog import Feed, MagicClose, StackWatchdog, Started, for_stack

STOP_WAIT_S = 15.0


def validate(paths: NodePaths, quiet: bool = False) -> "tuple[object, list[str]]":
    config = load_config(paths)
    read_authkeys(paths.authkeys)
    hacf_device_ids(config, paths.ha_cf)  # fence devices this stack can run
    if not config.crm_enabled and os.path.exists(paths.haresources):
        read_haresources(paths.haresources, config.nodes)
    return config, list(config.warnings)  # type: ignore[attr-defined]


class Launcher:
    def __init__(self, paths: NodePaths, config, argv_common: list[str], respawn_only: bool = False) -> None:
        self.respawn_only = respawn_only
        self.paths = paths
        self.config = config
        self.argv_common = argv_common
        self.log = Sinks(config.logfile, config.debugfile, config.logfacility, config.debug, "heartbeat")
        self.loop = Loop()
        self.supervisor = Supervisor()
        self.specs: dict[str, DaemonSpec] = {}
        self.respawns: dict[str, object] = {}
        self.order: list[str] = []
        self.watchdog: Optional[StackWatchdog] = None  # ha.cf `watchdog`: fed while the stack is healthy
        self.watchdog_fd: Optional[int] = None
        self.bus = None  # core.driver.Bus, made when the watchdog first pings a daemon

    def say(self, level: str, text: str) -> None:
        self.log.emit(time.time(), self.paths.node_name, "heartbeat", os.getpid(), level, text)

    def setup(self) -> None:
        # no collection while the daemons' code is imported: a collection frees objects between
        # the long-lived ones, and every child filling those holes would copy the page
        gc.disable()
        for spec in [] if self.respawn_only else daemons_for(self.config):
            # import every daemon's code here, once: after the fork all children share these pages
            module = importlib.import_module(spec.module)
            warm = getattr(module, "warm", None)
            if callable(warm):
                warm()  # first-use costs paid once, before the fork: shared, and not on a failover
            self.specs[spec.name] = spec
            self.supervisor.add(spec.name)
            self.order.append(spec.name)
        for index, entry in enumerate(self.config.respawns):
            name = f"respawn{index + 1}:{os.path.basename(entry.command[0])}"
            self.respawns[name] = entry
            self.supervisor.add(name, respawn_entry=True)
            self.order.append(name)

    def start_all(self) -> None:
        now = monotonic_ms()
        for name in self.order:
            self.spawn(name, now)

    def spawn(self, name: str, now_ms: int) -> None:
        pid = os.fork()
        if pid == 0:
            self._child(name)  # never returns
        self.supervisor.started(name, pid, now_ms)
        self.say("info", f"Starting child process {name} [pid {pid}]")
        if self.watchdog is not None and name in self.watchdog.daemons:
            self._watchdog_step(Started(name))

    # -- the watchdog (core.watchdog decides; this feeds the device and carries the pings) -----------
    def open_watchdog(self) -> None:
        if not self.config.watchdog:
            return
        # (with --respawn-only the daemons are systemd units: they answer on the same sockets)
        names = tuple(spec.name for spec in daemons_for(self.config) if spec.name != "logd")
        if not names:
            return
        try:
            self.watchdog_fd = os.open(self.config.watchdog, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            self.say("error", f"Cannot open watchdog device {self.config.watchdog}: {exc.strerror}")
            return
        timeout_s = _watchdog_timeout_s(self.watchdog_fd)
        self.watchdog = for_stack(names, int(getattr(self.config, "deadtime_ms", 0) or 0), timeout_s)
        self.say("info", f"Watchdog {self.config.watchdog} opened"
                 + (f" (timeout {timeout_s} s)" if timeout_s else "")
                 + f"; fed every {self.watchdog.feed_ms} ms while {', '.join(names)} answer")

    def _watchdog_step(self, event: object) -> None:
        watchdog = self.watchdog
        if watchdog is None:
            return
        for effect in watchdog.step(monotonic_ms(), event):
            if isinstance(effect, Send):
                self._bus().send(effect.dest, effect.msg)
            elif isinstance(effect, Feed):
                self._write_watchdog(b"\0")
            elif isinstance(effect, MagicClose):
                self._write_watchdog(b"V")  # magic close: a clean stop disarms the watchdog
                if self.watchdog_fd is not None:
                    os.close(self.watchdog_fd)
                    self.watchdog_fd = None
            elif isinstance(effect, Log):
                self.say(effect.level, effect.text)
        deadline = watchdog.next_deadline_ms()
        self.loop.set_timer("watchdog", deadline, lambda: self._watchdog_step(Tick()))

    def _bus(self):
        """The daemons' sockets, as every daemon reaches the others (core.driver.Bus)."""
        if self.bus is None:
            from types import SimpleNamespace

            from core.driver import Bus

            quiet = SimpleNamespace(debug=lambda _text: None)
            # name: the Bus's spool names its files by daemon (core.spool); the launcher
            # sends no large field, but every Bus has one
            self.bus = Bus(SimpleNamespace(paths=self.paths, loop=self.loop, log=quiet,  # type: ignore[arg-type]
                                           name="launcher"),
                           lambda recv: self._watchdog_step(recv), serve=None)
        return self.bus

    def _write_watchdog(self, data: bytes) -> None:
        if self.watchdog_fd is None:
            return
        try:
            os.write(self.watchdog_fd, data)
        except OSError as exc:
            self.say("error", f"watchdog {self.config.watchdog}: write failed: {exc.strerror}")

    def _child(self, name: str) -> None:
        code = 1
        try:
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
                signal.signal(signum, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            if self.watchdog_fd is not None:
                os.close(self.watchdog_fd)  # only the launcher holds the watchdog open
            os.environ.update(self.paths.environ())
            if name in self.specs:
                gc.enable()  # what the imported code holds stays frozen (see run)
                set_process_name(f"hb-{name}"[:15])
                module = importlib.import_module(self.specs[name].module)
                code = int(module.main(self.argv_common) or 0)
            else:
                self._exec_respawn(self.respawns[name])
        except SystemExit as exc:
            code = int(exc.code or 0) if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)

    def _exec_respawn(self, entry) -> None:
        for key, value in self.config.env:
            os.environ[key] = value
        if os.getuid() == 0:
            try:
                user = pwd.getpwnam(entry.user)
            except KeyError:
                print(f"respawn: unknown user {entry.user}", file=sys.stderr)
                os._exit(100)
            os.initgroups(user.pw_name, user.pw_gid)  # the user's groups, not root's (0) kept from us
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
        os.execvp(entry.command[0], list(entry.command))

    def reap(self) -> None:
        now = monotonic_ms()
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            child = self.supervisor.exited(pid, code, now)
            if child is None or self.supervisor.stopping or child.name in self.supervisor.stopped:
                continue
            how = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
            if child.given_up:
                self.say("info", f"Child {child.name} {how}; not restarting it (status 100)")
            else:
                self.say("error", f"Child {child.name} [pid {pid}] {how}; restarting in "
                         f"{child.restart_due_ms - now} ms")
        # unreachable

    def tick(self) -> None:
        now = monotonic_ms()
        for name in self.supervisor.due(now):
            self.spawn(name, now)
        self.rearm()

    def rearm(self) -> None:
        self.loop.set_timer("supervise", self.supervisor.next_deadline_ms(), self.tick)

    def forward(self, signum: int) -> None:
        for child in self.supervisor.running():
            try:
                os.kill(child.pid, signum)  # type: ignore[arg-type]
            except ProcessLookupError:
                pass

    def stop_all(self) -> None:
        """Stop the daemons one at a time, in reverse start order (crmd first: it hands its
        resources over, which needs the others); those not yet stopped are still restarted if
        they die meanwhile (core.supervise)."""
        self.say("info", "Heartbeat shutdown in progress.")
        for name in reversed(self.order):
            self.supervisor.stop(name)
            child = self.supervisor.children[name]
            if child.pid is None:
                continue
            try:
                os.kill(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            spec = self.specs.get(name)
            self._wait_for(child, spec.stop_wait_s if spec is not None else STOP_WAIT_S)
        self.supervisor.stopping = True
        self.say("info", f"{self.paths.node_name} Heartbeat shutdown complete.")

    def _wait_for(self, child, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        while child.pid is not None and time.monotonic() < deadline:
            self.reap()
            now = monotonic_ms()
            for name in self.supervisor.due(now):  # (a daemon not yet stopped died: it comes back)
                self.spawn(name, now)
            if child.pid is not None:
                time.sleep(0.02)
        if child.pid is not None:
            self.say("warn", f"Child {child.name} [pid {child.pid}] did not stop; killing it")
            try:
                os.kill(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(child.pid, 0)
            child.pid = None

    def run(self) -> int:
        self.setup()
        self.loop.on_signal(signal.SIGCHLD, lambda _s: (self.reap(), self.rearm()))
        self.loop.on_signal(signal.SIGTERM, lambda _s: self.loop.stop())
        self.loop.on_signal(signal.SIGINT, lambda _s: self.loop.stop())
        self.loop.on_signal(signal.SIGHUP, lambda _s: self.forward(signal.SIGHUP))
        self.say("info", f"Heartbeat (pyheartbeat) starting on {self.paths.node_name}; "
                 f"daemons: {', '.join(self.order)}")
        gc.freeze()  # the children's collectors never walk (so never copy) what they share
        self.open_watchdog()
        self.start_all()
        gc.enable()
        self.rearm()
        self._watchdog_step(Tick())
        try:
            self.loop.run()
        finally:
            self._watchdog_step(Stop())
            self.stop_all()
            if self.bus is not None:
                self.bus.close()
            self.loop.close()
        return 0


def _watchdog_timeout_s(fd: Optional[int]) -> int:
    """The device's timeout (WDIOC_GETTIMEOUT), 0 when it does not say (not a watchdog device)."""
    if fd is None:
        return 0
    import array
    import fcntl

    buf = array.array("i", [0])
    try:
        fcntl.ioctl(fd, 0x80045707, buf, True)  # WDIOC_GETTIMEOUT = _IOR('W', 7, int)
    except OSError:
        return 0
    return max(0, buf[0])


def _daemonize() -> None:
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def _stop(paths: NodePaths) -> int:
    pid = read_pidfile(paths.pidfile("heartbeat"))
    if not pid or not pid_alive(pid):
        print("heartbeat is not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_S * 4
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        print(f"heartbeat [pid {pid}] did not stop", file=sys.stderr)
        return 1
    return 0


def _status(paths: NodePaths) -> int:
    pid = read_pidfile(paths.pidfile("heartbeat"))
    if pid and pid_alive(pid):
        print(f"heartbeat OK [pid {pid} et al] is running on {paths.node_name}...")
        return 0
    print("heartbeat is stopped. No process")
    return 3


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="heartbeat", description="start and supervise a pyheartbeat node")
    pathmod.add_arguments(parser)
    parser.add_argument("-d", "--daemonize", action="store_true", help="detach from the terminal")
    parser.add_argument("-k", "--kill", action="store_true", help="stop the running stack")
    parser.add_argument("-s", "--status", action="store_true", help="is the stack running?")
    parser.add_argument("-r", "--reload", action="store_true", help="reload the configuration")
    parser.add_argument("--check", action="store_true", help="validate the configuration and exit")
    parser.add_argument("--respawn-only", action="store_true",
                        help="supervise only ha.cf respawn entries (daemons run as systemd units)")
    args = parser.parse_args(argv)
    paths = pathmod.from_args(args)
    if args.kill:
        return _stop(paths)
    if args.status:
        return _status(paths)
    if args.reload:
        pid = read_pidfile(paths.pidfile("heartbeat"))
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGHUP)
            return 0
        print("heartbeat is not running", file=sys.stderr)
        return 3
    try:
        config, warnings = validate(paths)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for warning in warnings:
        print(warning, file=sys.stderr)
    if args.check:
        return 0
    common = ["--confdir", paths.confdir, "--rundir", paths.rundir, "--statedir", paths.statedir,
              "--node-name", paths.node_name]
    if args.daemonize:
        _daemonize()
    paths.ensure_dirs()
    pidfile = paths.pidfile("respawn" if args.respawn_only else "heartbeat")
    other = take_pidfile(pidfile)
    if other is not None:
        print(f"heartbeat: already running [pid {other}]", file=sys.stderr)
        return 1
    try:
        return Launcher(paths, config, common, args.respawn_only).run()
    finally:
        release_pidfile(pidfile)


if __name__ == "__main__":
    sys.exit(main())
