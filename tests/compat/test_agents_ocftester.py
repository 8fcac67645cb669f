"""Every agent we ship passes Debian's ocf-tester (resource-agents 4.12), installed the way
`hb lrm install-agents` installs it."""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

from agents.install import PROVIDER, install
from lrmd.testing import LoopFs, NetLab

OCF_TESTER = shutil.which("ocf-tester") or "/usr/sbin/ocf-tester"
pytestmark = [pytest.mark.compat,
              pytest.mark.skipif(not os.path.exists(OCF_TESTER), reason="ocf-tester not installed"),
              pytest.mark.skipif(os.geteuid() != 0, reason="ocf-tester's checks need root")]


@pytest.fixture(scope="module")
def agents_dir():
    # ocf-tester runs `meta-data` as user nobody, so the agents must sit in a directory anyone
    # can search (pytest's own tmp dirs are private to root)
    root = tempfile.mkdtemp(prefix="lrt-ocf.", dir="/tmp")
    try:
        os.chmod(root, 0o755)
        install(root)
        yield pathlib.Path(root) / "resource.d" / PROVIDER
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ocf_tester(agent, instance, params, rsctmp, netns=None):
    argv = [OCF_TESTER, "-n", instance]
    for key, value in params.items():
        argv += ["-o", f"{key}={value}"]
    argv.append(str(agent))
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HA_RSCTMP": str(rsctmp), "LC_ALL": "C"}
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd="/")
    assert proc.returncode == 0 and "passed all tests" in proc.stdout, proc.stdout + proc.stderr
    return proc.stdout


def test_dummy_passes_ocf_tester(agents_dir, tmp_path):
    out = ocf_tester(agents_dir / "Dummy", "dummy1", {"fake": "abc"}, tmp_path)
    assert "does not support the reload" not in out and "migrate action" not in out


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_daemon_agent_passes_ocf_tester_with_an_http_check(agents_dir, tmp_path):
    port = _free_port()
    pidfile = tmp_path / "web.pid"
    command = f"python3 -m http.server {port} --bind 127.0.0.1 --directory {tmp_path}"
    try:
        ocf_tester(agents_dir / "daemon", "web", {"command": command, "pidfile": str(pidfile),
                                                  "http_url": f"http://127.0.0.1:{port}/",
                                                  "check_timeout": "2"}, tmp_path)
    finally:
        if pidfile.exists():
            try:
                os.killpg(int(pidfile.read_text().split()[0]), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


@pytest.mark.lab
@pytest.mark.parametrize("name,params", [
    ("IPaddr2", {"ip": "198.19.200.100", "cidr_netmask": "24", "nic": "lrt0", "iflabel": "t",
                 "arp_count": "2", "arp_interval": "10"}),
    ("IPaddr2", {"ip": "198.19.200.101", "arp_count": "1"}),
    ("IPaddr", {"ip": "198.19.200.102/24/lrt0", "arp_count": "1"}),
])
def test_ip_agents_pass_ocf_tester_in_a_namespace(agents_dir, tmp_path, name, params):
    with NetLab() as net:
        ns = net.add_node("a", "198.19.200.1/24")
        ocf_tester(agents_dir / name, "vip", params, tmp_path, netns=ns)
        assert not any(a.startswith(params["ip"].split("/")[0] + "/") for a in net.addresses("a"))


@pytest.mark.lab
@pytest.mark.skipif(not shutil.which("losetup") or not shutil.which("mkfs.ext4"), reason="no losetup/mkfs.ext4")
def test_filesystem_passes_ocf_tester_on_a_loop_device(agents_dir, tmp_path):
    fs = LoopFs(str(tmp_path))
    try:
        ocf_tester(agents_dir / "Filesystem", "fs", {"device": fs.device, "directory": fs.mountpoint,
                                                      "fstype": "ext4"}, tmp_path)
        assert not fs.mounted()
    finally:
        fs.close()
