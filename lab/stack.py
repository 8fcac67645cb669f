"""One node's stack in the lab: its directories and config files, and the `heartbeat` launcher
started inside the node's namespace (or directly, on loopback) and stopped again.

    ip netns exec phb-node1 .venv/bin/heartbeat --confdir D/etc --rundir D/run --statedir D/state --node-name node1

The launcher's own output (tracebacks of daemons included) goes to `D/log/stack.out`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from typing import Optional

from core.config import parse_hacf
from core.errors import ConfigError
from core.paths import NodePaths
from core.stack import daemons_for
from lab import host, plan
from lab.plan import LabError, LabSpec

STOP_WAIT_S = 10.0
SOCKETS_WAITED_FOR = ("logd", "messaging")


def new_secret() -> str:
    return secrets.token_hex(20)


def node_paths(spec: LabSpec, node: str) -> NodePaths:
    dirs = plan.node_dirs(spec, node)
    return NodePaths(confdir=dirs["etc"], rundir=dirs["run"], statedir=dirs["state"], node_name=node)


def prepare(spec: LabSpec, node: str, secret: str) -> None:
    dirs = plan.node_dirs(spec, node)
    for d in dirs.values():
        os.makedirs(d, mode=0o750, exist_ok=True)
    with open(os.path.join(dirs["etc"], "ha.cf"), "w", encoding="utf-8") as handle:
        handle.write(plan.render_hacf(spec, node))
    keys = os.path.join(dirs["etc"], "authkeys")
    fd = os.open(keys, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(plan.render_authkeys(secret, spec.auth))
    os.chmod(keys, 0o600)
    if spec.haresources:
        with open(os.path.join(dirs["etc"], "haresources"), "w", encoding="utf-8") as handle:
            handle.write(plan.render_haresources(spec))
    if spec.cib:
        with open(spec.cib, encoding="utf-8") as handle:
            text = plan.expand(spec, handle.read())
        if spec.stonith:
            text = plan.with_stonith(spec, text)
        with open(os.path.join(dirs["state"], "cib.xml"), "w", encoding="utf-8") as handle:
            handle.write(text)  # no signature: taken as an edited CIB, at the next epoch
    if spec.scripts:
        scripts = os.path.join(dirs["etc"], "resource.d")
        os.makedirs(scripts, exist_ok=True)
        for source in spec.scripts:
            target = os.path.join(scripts, os.path.basename(source))
            shutil.copyfile(source, target)
            os.chmod(target, 0o755)


def install_agents(spec: LabSpec) -> None:
    """Our OCF agents, for every node of the lab (PYHB_OCF_ROOTS puts them first)."""
    from agents.install import install
    install(plan.ocf_root(spec))


def bin_dir() -> str:
    """The directory of the running interpreter (the venv's bin), unresolved."""
    return os.path.dirname(sys.executable)


def heartbeat_command() -> list[str]:
    script = os.path.join(bin_dir(), "heartbeat")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "core.launcher"]


def node_env(spec: LabSpec, node: Optional[str]) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = bin_dir() + os.pathsep + env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    if node is not None and node != "client":
        env.update(plan.node_environ(spec, node))
    env["PYHB_LAB"] = spec.name
    return env


def launcher_argv(spec: LabSpec, node: str, mounts_of: Optional[int] = None) -> list[str]:
    """The command that starts a node's stack: in its network namespace (netns mode), from the
    mount namespace of process `mounts_of` (the lab's anchor, lab.Lab) when given.

    Why the anchor: `ip netns exec` gives the new stack a copy of the mount namespace it is
    started from, and a node booted by the lab's power switch is started by its fencer, a process
    of another node: the copy held the fencer's mounts (the campaign's file system: the booted
    node's probe found it mounted, and the policy engine restarted it on its holder as active on
    two nodes, an outage the fault did not cause). Every node starts from the machine's mounts,
    as a booted machine starts from its own disks."""
    paths = node_paths(spec, node)
    argv = heartbeat_command() + ["--confdir", paths.confdir, "--rundir", paths.rundir,
                                  "--statedir", paths.statedir, "--node-name", node]
    if spec.mode != "netns":
        return argv
    argv = host.ns_argv(plan.namespace(spec, node), argv)
    if mounts_of is None:
        return argv
    return ["nsenter", f"--mount=/proc/{mounts_of}/ns/mnt", f"--wd={os.getcwd()}", "--"] + argv


def start(spec: LabSpec, node: str, mounts_of: Optional[int] = None) -> tuple[int, int]:
    log_dir = plan.node_dirs(spec, node)["log"]
    return host.spawn(launcher_argv(spec, node, mounts_of), node_env(spec, node),
                      os.path.join(log_dir, "stack.out"))


def check_configs(spec: LabSpec) -> None:
    """Refuse a lab whose generated ha.cf would not parse (a bad --hacf line), before anything
    is created. Interfaces are checked later, by each node's launcher inside its namespace."""
    for node in plan.node_names(spec):
        try:
            parse_hacf(plan.render_hacf(spec, node), f"{node}/ha.cf", node_name=node)
        except ConfigError as exc:
            raise LabError(str(exc)) from None


def expected_daemons(spec: LabSpec, node: str) -> list[str]:
    config = parse_hacf(plan.render_hacf(spec, node), node_name=node)
    return [d.name for d in daemons_for(config)]


def readiness(spec: LabSpec, node: str, pid: int, start_ticks: int) -> tuple[bool, str]:
    """(ready, what is missing): the launcher runs and every daemon of the stack has its pid file
    (with a live pid) and, for logd and messaging, its socket."""
    if not host.alive(pid, start_ticks):
        return False, f"the launcher [pid {pid}] is not running"
    paths = node_paths(spec, node)
    for name in expected_daemons(spec, node):
        try:
            with open(paths.pidfile(name), encoding="ascii") as handle:
                daemon_pid = int(handle.read().strip() or 0)
        except (OSError, ValueError):
            return False, f"{name} has no pid file yet"
        if not host.alive(daemon_pid):
            return False, f"{name} [pid {daemon_pid}] is not running"
        if name in SOCKETS_WAITED_FOR and not os.path.exists(paths.socket_path(name)):
            return False, f"{name} has no socket yet"
    return True, ""


def wait_ready(spec: LabSpec, nodes: dict[str, tuple[int, int]], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    pending = dict(nodes)
    detail = ""
    while pending:
        for node, (pid, start_ticks) in list(pending.items()):
            ok, detail = readiness(spec, node, pid, start_ticks)
            if ok:
                del pending[node]
            elif not host.alive(pid, start_ticks):
                raise LabError(f"{node}: {detail}")
        if not pending:
            return
        if time.monotonic() >= deadline:
            node = next(iter(pending))
            raise LabError(f"{node}: stack not ready within {timeout_s:.0f} s: {detail}")
        time.sleep(0.05)


def stop(spec: LabSpec, nodes: dict[str, tuple[Optional[int], Optional[int]]]) -> list[str]:
    """Stop the stacks of several nodes at once: `heartbeat -k` (bounded), then by PID. Returns
    problems (processes that would not die)."""
    trees: dict[str, list[tuple[int, int]]] = {}
    stoppers: list[subprocess.Popen] = []
    for node, (pid, start_ticks) in nodes.items():
        if pid is None:
            continue
        trees[node] = host.tree(pid, start_ticks)
        if not trees[node]:
            continue
        host.signal_all(trees[node], signal.SIGCONT)  # SIGCONT: a hung node must be able to act on SIGTERM
        paths = node_paths(spec, node)
        argv = heartbeat_command() + ["--rundir", paths.rundir, "--node-name", node, "-k"]
        stoppers.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         env=node_env(spec, node)))
    deadline = time.monotonic() + STOP_WAIT_S
    for proc in stoppers:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    problems = []
    for node, procs in trees.items():
        if not host.kill_all(procs, term_wait_s=max(0.5, deadline - time.monotonic())):
            problems.append(f"{node}: processes {[p for p, _ in procs if host.alive(p)]} would not die")
    return problems



def log_tail(spec: LabSpec, node: str, lines: int = 12) -> str:
    """The end of a node's stack.out, indented, for error messages ('' when empty)."""
    return host.file_tail(os.path.join(plan.node_dirs(spec, node)["log"], "stack.out"), lines)
