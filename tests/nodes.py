"""Start real pyheartbeat messaging daemons for tests: per-node directories, loopback ucast or
other media, and clean-up of every process by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

from core.ipc import Client, DaemonUnavailable, next_request_id
from core.messages.hbapi import Query
from core.paths import resolve

BASE = """\
logfile {root}/log/ha-log
debugfile {root}/log/ha-debug
use_logd no
keepalive {keepalive}
deadtime {deadtime}
warntime {warntime}
initdead {initdead}
auto_failback on
realtime off
"""


@dataclass
class TestNode:
    __test__ = False
    name: str
    root: str
    proc: Optional[subprocess.Popen] = None

    @property
    def paths(self):
        return resolve(f"{self.root}/etc", f"{self.root}/run", f"{self.root}/state", self.name)

    def write_config(self, nodes: list[str], media: list[str], keepalive="100ms", deadtime="500ms",
                     warntime="300ms", initdead="2", extra: str = "", secret: str = "test-secret",
                     authkeys: Optional[str] = None) -> None:
        """authkeys: the whole authkeys text (default: `auth 1` / `1 sha1 <secret>`)."""
        for sub in ("etc", "run", "state", "log"):
            os.makedirs(f"{self.root}/{sub}", exist_ok=True)
        text = BASE.format(root=self.root, keepalive=keepalive, deadtime=deadtime, warntime=warntime, initdead=initdead)
        text += "".join(f"{line}\n" for line in media) + f"node {' '.join(nodes)}\n" + extra
        with open(f"{self.root}/etc/ha.cf", "w") as handle:
            handle.write(text)
        keys = f"{self.root}/etc/authkeys"
        with open(keys, "w") as handle:
            handle.write(authkeys if authkeys is not None else f"auth 1\n1 sha1 {secret}\n")
        os.chmod(keys, 0o600)

    def start(self, prefix: tuple[str, ...] = ()) -> subprocess.Popen:
        err = open(f"{self.root}/log/stderr", "a")
        self.proc = subprocess.Popen([*prefix, sys.executable, "-m", "messaging", "--confdir", f"{self.root}/etc",
                                      "--rundir", f"{self.root}/run", "--statedir", f"{self.root}/state",
                                      "--node-name", self.name], stdout=err, stderr=err)
        return self.proc

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 10) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)

    def query(self, what: str, timeout_ms: int = 1000, **args):
        client = Client(self.paths, "messaging")
        try:
            return client.request(Query(next_request_id(), what, args), timeout_ms)
        finally:
            client.close()

    def status_of(self, node: str) -> Optional[str]:
        try:
            return self.query("node", node=node)["status"]
        except (DaemonUnavailable, RuntimeError):
            return None

    def log_text(self) -> str:
        try:
            with open(f"{self.root}/log/ha-log") as handle:
                return handle.read()
        except OSError:
            return ""
