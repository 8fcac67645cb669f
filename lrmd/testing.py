"""A real lrmd in a scratch directory, for tests and bench/lrmd.py.

    with LrmdProcess(base_dir, ocf_roots=[...]) as lrmd:
        lrmd.register("d1", "ocf", "Dummy", provider="heartbeat")
        result = lrmd.run("d1", "start")          # -> core.messages.lrm.OpResult

Every wait is bounded; `stop()` ends the daemon by its pid (TERM, then KILL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any, Optional

from core.ipc import Client, next_request_id
from core.messages import lrm as api
from core.paths import resolve

HA_CF = "node {node}\nucast lo 127.0.0.1\nauto_failback off\ncrm yes\nuse_logd no\nlogfile {logfile}\n"


class LrmdProcess:
    def __init__(self, base: str, ocf_roots: Optional[list[str]] = None, node: str = "n1",
                 extra_args: Optional[list[str]] = None, stderr_path: Optional[str] = None,
                 netns: Optional[str] = None) -> None:
        self.base = base
        self.node = node
        self.confdir = os.path.join(base, "conf")
        self.rundir = os.path.join(base, "run")
        self.statedir = os.path.join(base, "state")
        self.logfile = os.path.join(base, "ha.log")
        self.ocf_roots = ocf_roots or ["/usr/lib/ocf"]
        self.extra_args = extra_args or []
        self.stderr_path = stderr_path or os.path.join(base, "lrmd.stderr")
        self.netns = netns  # run the daemon inside this network namespace
        self.proc: Optional[subprocess.Popen] = None
        self.client: Optional[Client] = None
        os.makedirs(self.confdir, exist_ok=True)
        with open(os.path.join(self.confdir, "ha.cf"), "w", encoding="ascii") as handle:
            handle.write(HA_CF.format(node=node, logfile=self.logfile))
        self.paths = resolve(self.confdir, self.rundir, self.statedir, node)

    @property
    def rsctmp(self) -> str:
        return os.path.join(self.rundir, "rsctmp")

    def argv(self) -> list[str]:
        argv = ["ip", "netns", "exec", self.netns] if self.netns else []
        argv += [sys.executable, "-m", "lrmd.daemon", "--confdir", self.confdir, "--rundir", self.rundir,
                "--statedir", self.statedir, "--node-name", self.node]
        for root in self.ocf_roots:
            argv += ["--ocf-root", root]
        return argv + self.extra_args

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYHB_", "OCF_", "HA_"))}
        env.update(self.paths.environ())
        return env

    def start(self, timeout_s: float = 15.0) -> "LrmdProcess":
        assert self.proc is None
        sock = self.paths.socket_path("lrmd")
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         env=self.env(), cwd="/")
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lrmd exited with {self.proc.returncode}: {self.stderr_tail()}")
            if os.path.exists(sock):
                try:
                    self.client = Client(self.paths, "lrmd")
                    self.client.request(api.Query(next_request_id(), "status"), 1000)
                    return self
                except Exception:
                    if self.client is not None:
                        self.client.close()
                    self.client = None
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"lrmd did not come up within {timeout_s}s: {self.stderr_tail()}")
            time.sleep(0.02)

    def stderr_tail(self) -> str:
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as handle:
                return handle.read()[-2000:]
        except OSError:
            return ""

    def stop(self, timeout_s: float = 15.0) -> Optional[int]:
        if self.client is not None:
            self.client.close()
            self.client = None
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return proc.returncode

    def __enter__(self) -> "LrmdProcess":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- requests --------------------------------------------------------------------------
    def request(self, msg: Any, timeout_ms: int = 5000) -> Any:
        assert self.client is not None, "lrmd is not started"
        return self.client.request(msg, timeout_ms)

    def register(self, rsc_id: str, rsc_class: str, rsc_type: str, provider: str = "",
                 params: Optional[dict[str, str]] = None) -> dict:
        return self.request(api.Register(next_request_id(), rsc_id, rsc_class, rsc_type, provider,
                                         dict(params or {})))

    def execute(self, rsc_id: str, operation: str, **kw: Any) -> int:
        return self.request(api.Execute(next_request_id(), rsc_id, operation, **kw))["call_id"]

    def wait_result(self, call_id: int, timeout_s: float = 30.0) -> api.OpResult:
        assert self.client is not None
        deadline = time.monotonic() + timeout_s
        held = []
        try:
            while time.monotonic() < deadline:
                event = self.client.recv(timeout_ms=int(max(1, (deadline - time.monotonic()) * 1000)))
                if isinstance(event, api.OpResult) and event.call_id == call_id:
                    return event
                if event is not None:
                    held.append(event)
            raise TimeoutError(f"no result for call {call_id} within {timeout_s}s")
        finally:
            self.client.pending_events[:0] = held

    def run(self, rsc_id: str, operation: str, timeout_s: float = 30.0, **kw: Any) -> api.OpResult:
        return self.wait_result(self.execute(rsc_id, operation, **kw), timeout_s)

    def events(self, call_id: int, duration_s: float) -> list[api.OpResult]:
        """All results of call_id that arrive within duration_s (keeps other events queued)."""
        assert self.client is not None
        deadline = time.monotonic() + duration_s
        found, held = [], []
        while time.monotonic() < deadline:
            event = self.client.recv(timeout_ms=int(max(1, (deadline - time.monotonic()) * 1000)))
            if isinstance(event, api.OpResult) and event.call_id == call_id:
                found.append(event)
            elif event is not None:
                held.append(event)
        self.client.pending_events[:0] = held
        return found

    def history(self, rsc_id: Optional[str] = None) -> dict:
        return self.request(api.History(next_request_id(), rsc_id))

    def status(self) -> dict:
        return self.request(api.Query(next_request_id(), "status"))


# -- network namespaces --------------------------------------------------------------------------
def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


class NetLab:
    """Small namespace lab: node namespaces, each with one veth `lrt0` plugged into a bridge that
    lives in its own switch namespace (nothing is added to the host's namespace). Names start
    with `lrt`; `close()` kills what still runs in the namespaces (by pid) and deletes them."""

    def __init__(self, tag: Optional[str] = None) -> None:
        self.tag = tag or f"{os.getpid() % 100000:x}"
        self.switch = f"lrt{self.tag}sw"
        self.nodes: dict[str, str] = {}  # short name -> namespace
        self._created: list[str] = []
        self._add_ns(self.switch)
        _ip("-n", self.switch, "link", "add", "lrtbr", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "lrtbr", "up")

    def _add_ns(self, name: str) -> None:
        _ip("netns", "add", name)
        self._created.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def add_node(self, short: str, cidr: Optional[str]) -> str:
        ns = f"lrt{self.tag}{short}"
        self._add_ns(ns)
        port = f"lrt{len(self.nodes)}p"
        _ip("-n", self.switch, "link", "add", port, "type", "veth", "peer", "name", "lrt0", "netns", ns)
        _ip("-n", self.switch, "link", "set", port, "master", "lrtbr")
        _ip("-n", self.switch, "link", "set", port, "up")
        _ip("-n", ns, "link", "set", "lrt0", "up")
        if cidr:
            _ip("-n", ns, "addr", "add", cidr, "dev", "lrt0")
        self.nodes[short] = ns
        return ns

    def mac(self, short: str) -> str:
        out = _ip("-n", self.nodes[short], "-o", "link", "show", "lrt0").stdout
        return out.split("link/ether", 1)[1].split()[0]

    def run(self, short: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.nodes[short], *argv], capture_output=True,
                              text=True, timeout=timeout)

    def addresses(self, short: str) -> list[str]:
        out = _ip("-n", self.nodes[short], "-4", "-o", "addr", "show", "dev", "lrt0").stdout
        return [line.split()[3] for line in out.splitlines()]

    def neighbour(self, short: str, ip: str) -> Optional[str]:
        out = _ip("-n", self.nodes[short], "neigh", "show", ip, "dev", "lrt0").stdout
        words = out.split()
        return words[words.index("lladdr") + 1] if "lladdr" in words else None

    def close(self) -> None:
        for ns in reversed(self._created):
            pids = _ip("netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            _ip("netns", "del", ns, check=False)
        self._created.clear()

    def __enter__(self) -> "NetLab":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- loop-device file systems --------------------------------------------------------------------
class LoopFs:
    """An ext4 file system on a loop device over a sparse file in `base`; `close()` unmounts
    whatever is still mounted from it, kills (by pid) processes using the mount point and
    detaches the loop device."""

    def __init__(self, base: str, size_mb: int = 16) -> None:
        self.image = os.path.join(base, "lrt-fs.img")
        self.mountpoint = os.path.join(base, "lrt-mnt")
        os.makedirs(self.mountpoint, exist_ok=True)
        with open(self.image, "wb") as handle:
            handle.truncate(size_mb * 1024 * 1024)
        self.device = subprocess.run(["losetup", "--find", "--show", self.image], capture_output=True,
                                     text=True, timeout=30, check=True).stdout.strip()
        try:
            subprocess.run(["mkfs.ext4", "-q", "-F", self.device], capture_output=True, timeout=60, check=True)
        except Exception:
            self.close()
            raise

    def mounted(self) -> bool:
        with open("/proc/mounts", encoding="utf-8") as handle:
            return any(line.split(" ")[1] == self.mountpoint for line in handle)

    def close(self) -> None:
        from agents.fsutil import users_of

        for _ in range(10):
            if not self.mounted():
                break
            for pid in users_of(self.mountpoint, exclude={os.getpid()}):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["umount", self.mountpoint], capture_output=True, timeout=30)
        if self.device:
            subprocess.run(["losetup", "-d", self.device], capture_output=True, timeout=30)
            self.device = ""
