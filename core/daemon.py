"""What every daemon does around its core: read the shared configuration (exit 2 with one
`file:line: what is wrong` line if it is bad), take the pid file, set up logging and the loop,
handle SIGTERM/SIGINT (stop) and SIGHUP (reload), tell systemd it is ready, and feed the systemd
watchdog.

A daemon module provides `build(ctx) -> Service`; `run_daemon(name, build, argv)` does the rest.
"""

from __future__ import annotations

import argparse
import errno
import gc
import os
import signal
import socket
import sys
from dataclasses import dataclass
from typing import Callable, Optional, Protocol

from core import paths as pathmod
from core import sdnotify
from core.config import HaConfig
from core.config.load import read_hacf
from core.errors import ConfigError
from core.log import Logger
from core.loop import Loop
from core.paths import NodePaths

EXIT_CONFIG = 2
EXIT_RUNNING = 1


@dataclass
class DaemonContext:
    name: str
    paths: NodePaths
    config: HaConfig
    log: Logger
    loop: Loop
    args: argparse.Namespace


class Service(Protocol):
    def reload(self) -> None: ...

    def shutdown(self) -> None: ...


def host_interfaces() -> set[str]:
    return {name for _, name in socket.if_nameindex()}


def load_config(paths: NodePaths, check_host: bool = True) -> HaConfig:
    interfaces = host_interfaces() if check_host else None
    return read_hacf(paths.ha_cf, node_name=paths.node_name, interfaces=interfaces)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not running
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_pidfile(path: str) -> Optional[int]:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def take_pidfile(path: str) -> Optional[int]:
    """Write our pid; returns the pid of a live previous owner instead (and writes nothing)."""
    old = read_pidfile(path)
    if old and old != os.getpid() and pid_alive(old):
        return old
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as handle:
        handle.write(f"{os.getpid()}\n")
    os.replace(tmp, path)
    return None


def release_pidfile(path: str) -> None:
    if read_pidfile(path) == os.getpid():
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise


def parse_args(name: str, argv: Optional[list[str]],
               extra: Optional[Callable[[argparse.ArgumentParser], None]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=name, description=f"pyheartbeat {name} daemon")
    pathmod.add_arguments(parser)
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


def run_daemon(name: str, build: Callable[[DaemonContext], Service], argv: Optional[list[str]] = None,
               extra_args: Optional[Callable[[argparse.ArgumentParser], None]] = None,
               log_ident: Optional[str] = None) -> int:
    """log_ident: the program name in log lines (the messaging daemon logs as `heartbeat`)."""
    args = parse_args(name, argv, extra_args)
    paths = pathmod.from_args(args)
    try:
        config = load_config(paths)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    paths.ensure_dirs()
    pidfile = paths.pidfile(name)
    other = take_pidfile(pidfile)
    if other is not None:
        print(f"{name}: already running [pid {other}]", file=sys.stderr)
        return EXIT_RUNNING
    log = Logger.from_config(log_ident or name, paths, config)
    loop = Loop()
    ctx = DaemonContext(name=name, paths=paths, config=config, log=log, loop=loop, args=args)
    try:
        service = build(ctx)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        release_pidfile(pidfile)
        return EXIT_CONFIG
    # a service that needs time to stop (crmd hands its resources over first) says so with a
    # request_stop(); it stops the loop itself when done
    request_stop = getattr(service, "request_stop", None)
    loop.on_signal(signal.SIGTERM, lambda _signum: request_stop() if request_stop else loop.stop())
    loop.on_signal(signal.SIGINT, lambda _signum: request_stop() if request_stop else loop.stop())
    loop.on_signal(signal.SIGHUP, lambda _signum: service.reload())
    _arm_watchdog(loop)
    gc.collect()
    gc.freeze()  # keep start-up objects out of every later collection (and COW-shared after fork)
    sdnotify.notify("READY=1")
    try:
        loop.run()
    finally:
        sdnotify.notify("STOPPING=1")
        service.shutdown()
        log.close()
        loop.close()
        release_pidfile(pidfile)
    return 0


def _arm_watchdog(loop: Loop) -> None:
    interval = sdnotify.watchdog_interval_ms()
    if interval is None:
        return

    def feed() -> None:
        sdnotify.notify("WATCHDOG=1")
        loop.set_timer("sd-watchdog", loop.clock() + interval, feed)

    feed()
