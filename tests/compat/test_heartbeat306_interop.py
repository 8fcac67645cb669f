"""A pyheartbeat node and a real Heartbeat 3.0.6 node (Debian package `heartbeat`) hear each
other as `active`, both ways, over bcast on one bridge; then each sees the other die. And over
all three UDP media at once (bcast, ucast and mcast, each on its own link) with each of
Heartbeat's authentication methods (sha1, md5, crc): every link is up both ways, and with one
link cut each side sees that link dead and the other node still active.

The real daemon runs isolated as in shared/anchors/heartbeat (lab/heartbeat306.py): its own
network, mount and UTS namespaces, with per-node directories bind-mounted over /etc/ha.d, /run,
/var/lib/heartbeat and /var/log. Under CI (`CI` set) a missing package or privilege fails the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

import pytest

from ciaware import missing
from lab import heartbeat306
from lab.heartbeat306 import Heartbeat306Node
from netns import bridge_with_namespaces, ns_run, sh, wait_for

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


def _py_node(root: str, ns: str, authkeys: str = f"auth 1\n1 sha1 {SECRET}\n", hacf: str = HACF) -> subprocess.Popen:
    etc = os.path.join(root, "etc")
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "ha.cf"), "w") as handle:
        handle.write(hacf.replace("/var/log/ha-log", f"{root}/ha-log") + "realtime off\n")
    keys = os.path.join(etc, "authkeys")
    with open(keys, "w") as handle:
        handle.write(authkeys)
    os.chmod(keys, 0o600)
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "messaging", "--confdir", etc,
                             "--rundir", f"{root}/run", "--statedir", f"{root}/state", "--node-name", "pynode"],
                            stdout=subprocess.DEVNULL, stderr=open(f"{root}/stderr", "w"))


def _py_status(root: str, node: str) -> str:
    return _py_cl_status(root, "nodestatus", node)


def _py_cl_status(root: str, *args: str) -> str:
    result = sh(sys.executable, "-m", "messaging.cl_status", "--rundir", f"{root}/run", *args, check=False)
    return result.stdout.strip()


# our node also holds a sealing key and wants to send with it: the real node does not advertise
# keys and signs with key 1, so ours keeps sending Heartbeat's sha1 packets (messaging.keyring)
ROLLING = f"auth 2\n1 sha1 {SECRET}\n2 aes-256-gcm interop-sealing-secret-0123456789\n"


@contextmanager
def _both_active(tmp_path, prefix: str, subnet: str | list[str], real_hacf: str, py_hacf: str, authkeys: str,
                 auth_method: str = "sha1") -> Iterator[tuple[Heartbeat306Node, subprocess.Popen, str]]:
    """A real Heartbeat 3.0.6 node and ours in namespaces `{prefix}-real` / `{prefix}-py`, each
    seeing the other `active`: yields (real node, our messaging process, our root). On the way
    out our process is killed, every process of the real node SIGKILLed (a graceful stop waits
    ~10 s for heartbeat's resource transition), and its mounts and directory must be gone."""
    problems = heartbeat306.missing()
    if problems:
        missing("; ".join(problems))
    real_root, py_root = str(tmp_path / "real"), str(tmp_path / "py")
    with bridge_with_namespaces(prefix, subnet, ["real", "py"]):
        real = Heartbeat306Node("realnode", f"{prefix}-real", real_root, real_hacf, SECRET, auth_method=auth_method)
        py = None
        try:
            real.start()
            py = _py_node(py_root, f"{prefix}-py", authkeys, py_hacf)
            assert wait_for(lambda: _py_status(py_root, "realnode") == "active", 20), \
                f"pyheartbeat sees realnode as {_py_status(py_root, 'realnode')!r}"
            assert wait_for(lambda: real.status_of("pynode") == "active", 20), \
                f"heartbeat 3.0.6 sees pynode as {real.status_of('pynode')!r}"
            yield real, py, py_root
        finally:
            if py is not None and py.poll() is None:
                py.kill()
                py.wait(10)
            leftover = real.cleanup(graceful=False)
        assert leftover == []


@pytest.mark.parametrize("authkeys", [f"auth 1\n1 sha1 {SECRET}\n", ROLLING], ids=["sha1", "sha1+aes-wanted"])
def test_pyheartbeat_and_heartbeat306_hear_each_other_as_active(tmp_path, authkeys):
    with _both_active(tmp_path, "hbi", "198.18.20", HACF, HACF, authkeys) as (real, py, py_root):
        assert "eth0" in real.cl_status("listhblinks", "pynode")
        auth = _py_cl_status(py_root, "auth")
        assert auth.startswith("sending with key 1 (sha1)"), auth
        # our node goes away: the real one declares it dead within its deadtime (+ margin)
        py.send_signal(signal.SIGKILL)
        py.wait(10)
        assert wait_for(lambda: real.status_of("pynode") == "dead", 10)


# three links, one medium each; the ucast line names the other node's address on eth1
MEDIA_HACF = HACF.replace("bcast eth0\n", "bcast eth0\nucast eth1 {peer}\nmcast eth2 239.0.0.43 694 1 0\n")
LINKS = ("eth0", "eth1", "eth2")  # bcast, ucast, mcast


def _links(status: Callable[[str], str]) -> list[str]:
    return [status(link) for link in LINKS]


@pytest.mark.parametrize("method", heartbeat306.AUTH_METHODS)
def test_every_medium_and_auth_method_with_heartbeat306(tmp_path, method):
    subnets = ["198.18.21", "198.18.22", "198.18.23"]
    with _both_active(tmp_path, "hbm", subnets, MEDIA_HACF.format(peer="198.18.22.12"),
                      MEDIA_HACF.format(peer="198.18.22.11"), heartbeat306.authkeys_text(method, SECRET),
                      method) as (real, _py, py_root):

        def real_sees(link: str) -> str:
            return real.cl_status("hblinkstatus", "pynode", link)

        def py_sees(link: str) -> str:
            return _py_cl_status(py_root, "hblinkstatus", "realnode", link)

        up = ["up"] * len(LINKS)
        assert wait_for(lambda: _links(real_sees) == up and _links(py_sees) == up, 10), \
            f"links: heartbeat 3.0.6 sees {_links(real_sees)}, pyheartbeat {_links(py_sees)}"
        assert _py_cl_status(py_root, "auth").startswith(f"sending with key 1 ({method})")
        # one link cut, then back: each medium alone was carrying heartbeats both ways
        cuts = LINKS if method == "sha1" else LINKS[1:2]
        for cut in cuts:
            ns_run("hbm-py", "ip", "link", "set", cut, "down")
            expected = ["dead" if link == cut else "up" for link in LINKS]
            assert wait_for(lambda: _links(real_sees) == expected and _links(py_sees) == expected, 10), \
                f"{cut} cut: heartbeat 3.0.6 sees {_links(real_sees)}, pyheartbeat {_links(py_sees)}"
            assert real.status_of("pynode") == "active" and _py_status(py_root, "realnode") == "active"
            ns_run("hbm-py", "ip", "link", "set", cut, "up")
            assert wait_for(lambda: _links(real_sees) == up and _links(py_sees) == up, 10), \
                f"{cut} back: heartbeat 3.0.6 sees {_links(real_sees)}, pyheartbeat {_links(py_sees)}"
