"""The `heartbeat` launcher: starts the stack, restarts a daemon that dies, supervises respawn
entries, stops everything; refuses bad configuration before starting anything."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
import time

from core.daemon import pid_alive, read_pidfile
from core.stack import STACK, module_present
from netns import wait_for
from nodes import TestNode

PORT = 18000 + (os.getpid() % 500) * 2
ROOT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def launcher(node: TestNode, *extra: str) -> subprocess.Popen:
    err = open(f"{node.root}/log/launcher.err", "a")
    return subprocess.Popen([sys.executable, "-m", "core.launcher", "--confdir", f"{node.root}/etc", "--rundir",
                             f"{node.root}/run", "--statedir", f"{node.root}/state", "--node-name", node.name, *extra],
                            stdout=err, stderr=err)


def test_launcher_runs_supervises_and_stops_the_stack(tmp_path):
    marker = tmp_path / "respawn-runs"
    script = tmp_path / "respawned.sh"
    script.write_text(f"#!/bin/sh\necho run >> {marker}\nexec sleep 30\n")
    script.chmod(0o755)
    node = TestNode("node1", str(tmp_path / "node1"))
    node.write_config(["node1"], [f"udpport {PORT}", "bind_address 127.0.0.40", "ucast lo 127.0.0.41"],
                      extra=f"respawn {pwd.getpwuid(os.getuid()).pw_name} {script}\n")
    proc = launcher(node)
    try:
        assert wait_for(lambda: node.status_of("node1") == "active", 10)
        first = read_pidfile(f"{node.root}/run/messaging.pid")
        assert first and pid_alive(first)
        assert wait_for(lambda: marker.exists() and marker.read_text().count("run") == 1, 5)
        os.kill(first, signal.SIGKILL)
        assert wait_for(lambda: (read_pidfile(f"{node.root}/run/messaging.pid") or first) != first, 10)
        assert wait_for(lambda: node.status_of("node1") == "active", 10)
        status = subprocess.run([sys.executable, "-m", "core.launcher", "--rundir", f"{node.root}/run", "-s"],
                                capture_output=True, text=True, timeout=10)
        assert status.returncode == 0 and "heartbeat OK" in status.stdout
        stop = subprocess.run([sys.executable, "-m", "core.launcher", "--rundir", f"{node.root}/run", "-k"],
                              capture_output=True, text=True, timeout=60)
        assert stop.returncode == 0
        assert proc.wait(30) == 0
        assert not pid_alive(read_pidfile(f"{node.root}/run/messaging.pid") or 0)
        assert "Child messaging" in node.log_text() or "restarting" in node.log_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_launcher_refuses_bad_configuration_and_starts_nothing(tmp_path):
    node = TestNode("node1", str(tmp_path / "node1"))
    node.write_config(["node1"], [f"udpport {PORT + 1}", "bcast nosuch0"])
    proc = launcher(node)
    assert proc.wait(20) == 2
    err = open(f"{node.root}/log/launcher.err").read().strip()
    assert err.endswith("bcast: unknown interface 'nosuch0'") and len(err.splitlines()) == 1
    assert not os.path.exists(f"{node.root}/run/heartbeat.pid")


def test_every_daemon_of_the_stack_has_a_systemd_unit():
    for spec in STACK:
        if not module_present(spec.module):
            continue
        unit = os.path.join(ROOT_DIR, "systemd", f"pyheartbeat-{spec.name}.service")
        assert os.path.exists(unit), unit
        text = open(unit).read()
        package = spec.module.split(".")[0]
        assert "Type=notify" in text and f"-m {package}" in text
        assert os.path.exists(os.path.join(ROOT_DIR, package, "__main__.py")), f"python -m {package} must work"
        assert f"pyheartbeat-{spec.name}.service" in open(os.path.join(ROOT_DIR, "systemd", "heartbeat.target")).read()


def test_daemon_tells_systemd_it_is_ready_and_feeds_the_watchdog(tmp_path):
    node = TestNode("node1", str(tmp_path / "node1"))
    node.write_config(["node1"], [f"udpport {PORT + 1}", "bind_address 127.0.0.40", "ucast lo 127.0.0.41"])
    notify_path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)
    sock.settimeout(10)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="400000")
    proc = subprocess.Popen([sys.executable, "-m", "messaging", "--confdir", f"{node.root}/etc", "--rundir",
                             f"{node.root}/run", "--statedir", f"{node.root}/state", "--node-name", "node1"], env=env)
    try:
        seen = [sock.recv(256).decode() for _ in range(3)]
        assert "READY=1" in seen and "WATCHDOG=1" in seen
    finally:
        proc.terminate()
        proc.wait(10)
        sock.close()


def test_the_launcher_feeds_the_watchdog_while_the_stack_answers_and_disarms_it_on_stop(tmp_path):
    fake = tmp_path / "watchdog"
    fake.write_bytes(b"")
    node = TestNode("node1", str(tmp_path / "node1"))
    node.write_config(["node1"], [f"udpport {PORT + 2}", "bind_address 127.0.0.42", "ucast lo 127.0.0.43"],
                      extra=f"watchdog {fake}\n")
    proc = launcher(node)
    try:
        assert wait_for(lambda: fake.stat().st_size >= 8, 15)  # fed every 250 ms once all answer
        crmd = read_pidfile(f"{node.root}/run/crmd.pid")
        assert crmd
        os.kill(crmd, signal.SIGSTOP)  # a hung crmd: the feeding stops after the health window
        time.sleep(4.0)
        size = fake.stat().st_size
        time.sleep(1.0)
        assert fake.stat().st_size == size, "fed while crmd hangs"
        os.kill(crmd, signal.SIGCONT)
        assert wait_for(lambda: fake.stat().st_size > size, 5)
        stop = subprocess.run([sys.executable, "-m", "core.launcher", "--rundir", f"{node.root}/run", "-k"],
                              capture_output=True, text=True, timeout=180)
        assert stop.returncode == 0
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert fake.read_bytes().endswith(b"V")
