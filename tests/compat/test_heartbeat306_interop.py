"""A pyheartbeat node and a real Heartbeat 3.0.6 node (Debian package `heartbeat`) hear each
other as `active`, both ways, over bcast on one bridge; then each sees the other die.

The real daemon runs isolated as in shared/anchors/heartbeat: its own network, mount and UTS
namespaces, with per-node directories bind-mounted over /etc/ha.d, /run, /var/lib/heartbeat and
/var/log.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from netns import bridge_with_namespaces, need_root, sh, wait_for

HEARTBEAT = "/usr/libexec/heartbeat/heartbeat"
pytestmark = [pytest.mark.compat, pytest.mark.lab]

HACF = """\
logfile /var/log/ha-log
use_logd no
keepalive 200ms
deadtime 1
warntime 500ms
initdead 3
bcast eth0
auto_failback on
node realnode
node pynode
crm off
"""


def _real_node(root: str, ns: str) -> subprocess.Popen:
    for sub in ("etc_ha.d", "run", "varlib", "varlog"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    sh("cp", "-a", "/etc/ha.d/.", os.path.join(root, "etc_ha.d"))
    sh("cp", "-a", "/var/lib/heartbeat/.", os.path.join(root, "varlib"))
    for sub in ("heartbeat/ccm", "heartbeat/crm", "resource-agents", "lock"):
        os.makedirs(os.path.join(root, "run", sub), exist_ok=True)
    with open(os.path.join(root, "etc_ha.d", "ha.cf"), "w") as handle:
        handle.write(HACF)
    with open(os.path.join(root, "etc_ha.d", "haresources"), "w") as handle:
        handle.write("")
    keys = os.path.join(root, "etc_ha.d", "authkeys")
    with open(keys, "w") as handle:
        handle.write("auth 1\n1 sha1 interop-secret\n")
    os.chmod(keys, 0o600)
    script = textwrap.dedent(f"""\
        hostname realnode
        mount --bind {root}/etc_ha.d /etc/ha.d
        mount --bind {root}/run /run
        mount --bind {root}/varlib /var/lib/heartbeat
        mount --bind {root}/varlog /var/log
        {HEARTBEAT}
        sleep 600
    """)
    return subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "--mount", "--uts", "--propagation", "private",
                             "bash", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _real_cl_status(holder: subprocess.Popen, *args: str) -> str:
    """cl_status run inside the real node's namespaces (mount namespace of the holder shell)."""
    children = sh("pgrep", "-P", str(holder.pid), check=False).stdout.split()
    target = children[0] if children else str(holder.pid)
    result = sh("nsenter", "-t", target, "-m", "-u", "-n", "cl_status", *args, check=False)
    return result.stdout.strip()


def _py_node(root: str, ns: str) -> subprocess.Popen:
    etc = os.path.join(root, "etc")
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "ha.cf"), "w") as handle:
        handle.write(HACF.replace("/var/log/ha-log", f"{root}/ha-log") + "realtime off\n")
    keys = os.path.join(etc, "authkeys")
    with open(keys, "w") as handle:
        handle.write("auth 1\n1 sha1 interop-secret\n")
    os.chmod(keys, 0o600)
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "messaging", "--confdir", etc,
                             "--rundir", f"{root}/run", "--statedir", f"{root}/state", "--node-name", "pynode"],
                            stdout=subprocess.DEVNULL, stderr=open(f"{root}/stderr", "w"))


def _py_status(root: str, node: str) -> str:
    result = sh(sys.executable, "-m", "messaging.cl_status", "--rundir", f"{root}/run", "nodestatus", node, check=False)
    return result.stdout.strip()


def test_pyheartbeat_and_heartbeat306_hear_each_other_as_active(tmp_path):
    need_root()
    if not os.path.exists(HEARTBEAT) or shutil.which("nsenter") is None:
        pytest.skip("Debian package heartbeat not installed")
    real_root, py_root = str(tmp_path / "real"), str(tmp_path / "py")
    with bridge_with_namespaces("hbi", "198.18.20", ["real", "py"]):
        real = _real_node(real_root, "hbi-real")
        py = _py_node(py_root, "hbi-py")
        try:
            assert wait_for(lambda: _py_status(py_root, "realnode") == "active", 20), \
                f"pyheartbeat sees realnode as {_py_status(py_root, 'realnode')!r}"
            assert wait_for(lambda: _real_cl_status(real, "nodestatus", "pynode") == "active", 20), \
                f"heartbeat 3.0.6 sees pynode as {_real_cl_status(real, 'nodestatus', 'pynode')!r}"
            assert "eth0" in _real_cl_status(real, "listhblinks", "pynode")
            # our node goes away: the real one declares it dead within its deadtime (+ margin)
            py.send_signal(signal.SIGKILL)
            py.wait(10)
            assert wait_for(lambda: _real_cl_status(real, "nodestatus", "pynode") == "dead", 10)
        finally:
            for proc in (py, real):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
