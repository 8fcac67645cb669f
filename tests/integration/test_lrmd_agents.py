"""Our service (daemon) and Filesystem agents doing real work through the lrmd: failure
detection, health checks, killing the users of a busy mount, the legacy Filesystem script."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from agents.install import install
from lrmd.testing import LrmdProcess


@pytest.fixture
def lrmd(tmp_path):
    ocf_root = str(tmp_path / "ocf")
    hadir = tmp_path / "node" / "conf"
    install(ocf_root, str(hadir))  # legacy scripts land in <confdir>/resource.d, searched by default
    proc = LrmdProcess(str(tmp_path / "node"), ocf_roots=[ocf_root])
    try:
        yield proc.start()
    finally:
        proc.stop()


def _pid_of(pidfile):
    return int(open(pidfile).read().split()[0])


def _kill_group(pidfile):
    try:
        os.killpg(_pid_of(pidfile), signal.SIGKILL)
    except (OSError, ValueError, IndexError):
        pass


def test_service_class_runs_a_command_line_and_tells_failed_from_stopped(lrmd, tmp_path):
    pidfile = str(tmp_path / "svc.pid")
    lrmd.register("svc", "service", "sleep 600", "", {"pidfile": pidfile})
    try:
        assert lrmd.run("svc", "monitor").rc == 7
        assert lrmd.run("svc", "start").rc == 0
        pid = _pid_of(pidfile)
        assert open(f"/proc/{pid}/cmdline").read().split("\0")[0] == "sleep"
        assert os.getpgid(pid) == pid  # its own session, not the agent's or lrmd's group
        assert lrmd.run("svc", "monitor").rc == 0
        os.kill(pid, signal.SIGKILL)
        died = lrmd.run("svc", "monitor")
        assert died.rc == 1 and "died" in died.exit_reason
        assert lrmd.run("svc", "stop").rc == 0
        assert lrmd.run("svc", "monitor").rc == 7
    finally:
        _kill_group(pidfile)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_daemon_agent_health_check_gates_start_and_fails_monitor(lrmd, tmp_path):
    port, closed_port = _free_port(), _free_port()
    pidfile = str(tmp_path / "web.pid")
    server = f"{sys.executable} -m http.server {port} --bind 127.0.0.1 --directory {tmp_path}"
    lrmd.register("web", "ocf", "daemon", "pyheartbeat",
                  {"command": server, "pidfile": pidfile, "http_url": f"http://127.0.0.1:{port}/",
                   "check_timeout": "1"})
    lrmd.register("nothing", "ocf", "daemon", "pyheartbeat",
                  {"command": "sleep 600", "pidfile": str(tmp_path / "n.pid"), "tcp_port": str(closed_port),
                   "check_timeout": "1"})
    try:
        assert lrmd.run("web", "start").rc == 0  # returns once the URL answers
        assert lrmd.run("web", "monitor").rc == 0
        os.kill(_pid_of(pidfile), signal.SIGSTOP)  # hung: alive, but it does not answer
        try:
            hung = lrmd.run("web", "monitor")
            assert hung.rc == 1 and "health check" in hung.exit_reason
        finally:
            os.kill(_pid_of(pidfile), signal.SIGCONT)
        assert lrmd.run("web", "monitor").rc == 0
        assert lrmd.run("web", "stop").rc == 0
        bad = lrmd.run("nothing", "start", timeout_ms=3000, timeout_s=15)
        assert bad.rc == 1 and "health check" in bad.exit_reason and bad.status == "done"
        assert lrmd.run("nothing", "stop").rc == 0
        assert lrmd.run("nothing", "monitor").rc == 7
    finally:
        _kill_group(pidfile)
        _kill_group(str(tmp_path / "n.pid"))


@pytest.mark.lab
def test_filesystem_agent_mounts_probes_and_kills_users_on_stop(lrmd, loopfs):
    lrmd.register("fs", "ocf", "Filesystem", "pyheartbeat",
                  {"device": loopfs.device, "directory": loopfs.mountpoint, "fstype": "ext4",
                   "options": "noatime"})
    assert lrmd.run("fs", "monitor").rc == 7
    assert lrmd.run("fs", "start").rc == 0 and loopfs.mounted()
    assert lrmd.run("fs", "monitor", meta={"OCF_CHECK_LEVEL": "20"}).rc == 0
    user = subprocess.Popen(["sh", "-c", "trap '' TERM; exec 3<.; while :; do sleep 0.2; done"],
                            cwd=loopfs.mountpoint)
    try:
        stop = lrmd.run("fs", "stop", timeout_ms=30_000, timeout_s=60)
        assert stop.rc == 0 and not loopfs.mounted()
        assert user.wait(10) == -signal.SIGKILL  # ignored TERM, so it got KILL
    finally:
        if user.poll() is None:
            user.kill()
            user.wait(5)
    assert lrmd.run("fs", "monitor").rc == 7
    # something else mounted there: monitor reports a failure, not "stopped"
    subprocess.run(["mount", "-t", "tmpfs", "lrttmpfs", loopfs.mountpoint], check=True, timeout=30)
    wrong = lrmd.run("fs", "monitor")
    assert wrong.rc == 1 and "lrttmpfs" in wrong.exit_reason
    subprocess.run(["umount", loopfs.mountpoint], check=True, timeout=30)


@pytest.mark.lab
def test_legacy_filesystem_script_from_haresources(lrmd, loopfs):
    # haresources: Filesystem::/dev/loopN::/mnt::ext4
    lrmd.register("legacyfs", "heartbeat", "Filesystem", "",
                  {"1": loopfs.device, "2": loopfs.mountpoint, "3": "ext4"})
    assert [lrmd.run("legacyfs", op).rc for op in ("monitor", "start", "monitor", "stop", "monitor")] == [7, 0, 0, 0, 7]
    assert not loopfs.mounted()
