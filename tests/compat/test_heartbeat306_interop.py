"""A pyheartbeat node and a real Heartbeat 3.0.6 node (Debian package `heartbeat`) hear each
other as `active`, both ways, over bcast on one bridge; then each sees the other die.

The real daemon runs isolated as in shared/anchors/heartbeat (lab/heartbeat306.py): its own
network, mount and UTS namespaces, with per-node directories bind-mounted over /etc/ha.d, /run,
/var/lib/heartbeat and /var/log. Under CI (`CI` set) a missing package or privilege fails the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from lab import heartbeat306
from lab.heartbeat306 import Heartbeat306Node
from netns import bridge_with_namespaces, sh, wait_for

pytestmark = [pytest.mark.compat, pytest.mark.lab]
SECRET = "interop-secret"

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


def _real_node(root: str, ns: str) -> Heartbeat306Node:
    return Heartbeat306Node("realnode", ns, root, HACF, SECRET)


def _py_node(root: str, ns: str, authkeys: str = f"auth 1\n1 sha1 {SECRET}\n") -> subprocess.Popen:
    etc = os.path.join(root, "etc")
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "ha.cf"), "w") as handle:
        handle.write(HACF.replace("/var/log/ha-log", f"{root}/ha-log") + "realtime off\n")
    keys = os.path.join(etc, "authkeys")
    with open(keys, "w") as handle:
        handle.write(authkeys)
    os.chmod(keys, 0o600)
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "messaging", "--confdir", etc,
                             "--rundir", f"{root}/run", "--statedir", f"{root}/state", "--node-name", "pynode"],
                            stdout=subprocess.DEVNULL, stderr=open(f"{root}/stderr", "w"))


def _py_status(root: str, node: str) -> str:
    result = sh(sys.executable, "-m", "messaging.cl_status", "--rundir", f"{root}/run", "nodestatus", node, check=False)
    return result.stdout.strip()


# our node also holds a sealing key and wants to send with it: the real node does not advertise
# keys and signs with key 1, so ours keeps sending Heartbeat's sha1 packets (messaging.keyring)
ROLLING = f"auth 2\n1 sha1 {SECRET}\n2 aes-256-gcm interop-sealing-secret-0123456789\n"


@pytest.mark.parametrize("authkeys", [f"auth 1\n1 sha1 {SECRET}\n", ROLLING], ids=["sha1", "sha1+aes-wanted"])
def test_pyheartbeat_and_heartbeat306_hear_each_other_as_active(tmp_path, authkeys):
    problems = heartbeat306.missing()
    if problems:
        (pytest.fail if os.environ.get("CI") else pytest.skip)("; ".join(problems))
    real_root, py_root = str(tmp_path / "real"), str(tmp_path / "py")
    with bridge_with_namespaces("hbi", "198.18.20", ["real", "py"]):
        real = _real_node(real_root, "hbi-real")
        py = None
        try:
            real.start()
            py = _py_node(py_root, "hbi-py", authkeys)
            assert wait_for(lambda: _py_status(py_root, "realnode") == "active", 20), \
                f"pyheartbeat sees realnode as {_py_status(py_root, 'realnode')!r}"
            assert wait_for(lambda: real.status_of("pynode") == "active", 20), \
                f"heartbeat 3.0.6 sees pynode as {real.status_of('pynode')!r}"
            assert "eth0" in real.cl_status("listhblinks", "pynode")
            auth = sh(sys.executable, "-m", "messaging.cl_status", "--rundir", f"{py_root}/run", "auth").stdout
            assert auth.startswith("sending with key 1 (sha1)"), auth
            # our node goes away: the real one declares it dead within its deadtime (+ margin)
            py.send_signal(signal.SIGKILL)
            py.wait(10)
            assert wait_for(lambda: real.status_of("pynode") == "dead", 10)
        finally:
            if py is not None and py.poll() is None:
                py.kill()
                py.wait(10)
            # SIGKILL every process of the real node (a graceful stop waits ~10 s for heartbeat's
            # resource transition), then its mounts and directory must be gone
            leftover = real.cleanup(graceful=False)
        assert leftover == []
