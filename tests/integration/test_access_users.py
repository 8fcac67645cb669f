"""Who may talk to the daemons, with real users created for the test (root only; under CI it
must run): the sockets' owner and mode, the credentials a daemon sees for a user's process, and
the tools run as a haclient member with CIB ACLs, as a member without ACLs, as a stranger, and as
root against a running two-node cluster on loopback (crm yes, enable-acl true).

Users and groups are created with useradd/groupadd and removed in `finally` (tests/users.py);
tools run in a forked child that dropped to the user's uid/gids, so the daemons see that user's
kernel credentials exactly as they would see a login shell's."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
import time

import pytest
import zmq

from core import ipc, wire
from core.messages.common import PingRequest
from core.paths import resolve
from users import need_root, run_as, temporary_users

PREFIX = f"phbac{os.getpid() % 10000}"


@pytest.fixture
def world_dir():
    """A directory other users can reach (pytest's tmp_path is 0700 root)."""
    base = tempfile.mkdtemp(prefix="phb-access-")
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _connect_and_ping(endpoint: str) -> int:
    ctx = zmq.Context()  # a fresh context: the parent's does not survive the fork
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    sock.send(wire.encode(PingRequest(7)))
    time.sleep(0.3)
    sock.close(0)
    ctx.term()
    return 0


def _raw_connect(path: str) -> int:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except PermissionError as exc:
        print(f"refused: {exc.strerror}")
        return 13
    finally:
        s.close()
    return 0


def test_sockets_are_root_haclient_0660_and_daemons_see_the_users_credentials(world_dir):
    need_root()
    paths = resolve(f"{world_dir}/etc", f"{world_dir}/run", f"{world_dir}/state", "node1")
    with temporary_users(PREFIX, {"m": ["haclient"], "s": []}) as users:
        ipc._group = None  # the group may have been created just now
        router = ipc.bind_router(paths, "accesstest")
        try:
            haclient = __import__("grp").getgrnam("haclient").gr_gid
            sock_stat = os.stat(paths.socket_path("accesstest"))
            run_stat = os.stat(paths.rundir)
            assert stat.S_IMODE(sock_stat.st_mode) == 0o660 and (sock_stat.st_uid, sock_stat.st_gid) == (0, haclient)
            assert stat.S_IMODE(run_stat.st_mode) == 0o750 and (run_stat.st_uid, run_stat.st_gid) == (0, haclient)

            member = users["m"]
            done = run_as(member, lambda: _connect_and_ping(paths.endpoint("accesstest")))
            assert done.returncode == 0, done
            assert router.poll(5000, zmq.POLLIN)
            identity, frame = ipc.recv_router_frame(router)
            creds = ipc.peer_creds(frame)
            assert creds is not None
            assert (creds.uid, creds.gid, creds.user) == (member.uid, member.gid, member.name)
            assert haclient in creds.groups and "haclient" in creds.group_names
            assert creds.pid > 0 and creds.pid != os.getpid()

            stranger = run_as(users["s"], lambda: _raw_connect(paths.socket_path("accesstest")))
            assert (stranger.returncode, stranger.stdout) == (13, "refused: Permission denied\n")
            assert run_as(member, lambda: _raw_connect(paths.socket_path("accesstest"))).returncode == 0
        finally:
            router.close(0)
            ipc.remove_socket(paths, "accesstest")


# ------------------------------------------------------------------------------------------------
# a running cluster, and the tools as users

import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from agents.install import install as install_agents  # noqa: E402
from core.cib.xmltree import parse_xml  # noqa: E402
from core.daemon import pid_alive, read_pidfile  # noqa: E402
from nodes import TestNode  # noqa: E402
from tools import cibadmin, crm_attribute, crm_mon, crm_resource, crmclient, hb_standby  # noqa: E402,F401
from messaging import cl_status  # noqa: E402
from logd import ha_logger  # noqa: E402
from ccm import cli as ccm_cli  # noqa: E402

PORT = 20600 + (os.getpid() % 200) * 2
ADDRESSES = {"node1": "127.0.0.90", "node2": "127.0.0.91"}
DAEMONS = ("messaging", "ccm", "lrmd", "pengine", "tengine", "crmd")
WAIT_S = 40.0

ACL_CIB = """\
<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.7">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith" name="stonith-enabled" value="false"/>
        <nvpair id="opt-acl" name="enable-acl" value="true"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
      <primitive id="d1" class="ocf" provider="pyheartbeat" type="Dummy">
        <instance_attributes id="d1-params"><nvpair id="d1-secret" name="secret" value="hunter2"/></instance_attributes>
        <meta_attributes id="d1-meta"><nvpair id="d1-role" name="target-role" value="Started"/></meta_attributes>
      </primitive>
    </resources>
    <constraints/>
    <acls>
      <acl_target id="{observer}"><role id="observer"/></acl_target>
      <acl_role id="observer">
        <acl_permission id="obs-read" kind="read" xpath="/cib"/>
        <acl_permission id="obs-role" kind="write" xpath="//nvpair[@name='target-role']"/>
        <acl_permission id="obs-secret" kind="deny" reference="d1-params"/>
      </acl_role>
    </acls>
  </configuration>
  <status/>
</cib>
"""


def _path_env(node: TestNode) -> dict[str, str]:
    return dict(node.paths.environ())


def _start(node: TestNode, ocf_root: str) -> subprocess.Popen:
    err = open(f"{node.root}/log/launcher.err", "a")
    try:
        return subprocess.Popen([sys.executable, "-m", "core.launcher", "--confdir", f"{node.root}/etc",
                                 "--rundir", f"{node.root}/run", "--statedir", f"{node.root}/state",
                                 "--node-name", node.name],
                                stdout=err, stderr=err, env=dict(os.environ, PYHB_OCF_ROOTS=ocf_root))
    finally:
        err.close()


def _stop(procs: list[subprocess.Popen], nodes: list[TestNode]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    for node in nodes:
        for daemon in DAEMONS:
            pid = read_pidfile(node.paths.pidfile(daemon))
            if pid and pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"{daemon} of {node.name} (pid {pid}) outlived its launcher")


def _idle(nodes: list[TestNode]) -> bool:
    states = []
    for n in nodes:
        try:
            states.append(crmclient.status(n.paths, timeout_ms=1000))
        except (crmclient.CrmUnavailable, crmclient.CrmError):
            return False
    if not all(s.get("joined") and s.get("quorum") for s in states) or len({s.get("dc") for s in states}) != 1:
        return False
    dc = next((s for s in states if s.get("role") == "dc"), {})
    return dc.get("state") == "idle" and sorted(dc.get("members", [])) == sorted(n.name for n in nodes)


def _wait(cond, what: str, nodes: list[TestNode]) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    tails = "\n".join(f"--- {n.name}\n" + "\n".join(n.log_text().splitlines()[-20:]) for n in nodes)
    pytest.fail(f"timed out waiting until {what}\n{tails}")


@pytest.fixture(scope="module")
def acl_cluster():
    """Two nodes on loopback (crm yes, enable-acl true), three users: an observer in haclient
    with an ACL role, a haclient member without ACLs, and a stranger."""
    need_root()
    base = tempfile.mkdtemp(prefix="phb-acl-")
    os.chmod(base, 0o755)
    procs: list[subprocess.Popen] = []
    nodes: list[TestNode] = []
    try:
        with temporary_users(PREFIX, {"obs": ["haclient"], "mem": ["haclient"], "out": []}) as users:
            ocf_root = f"{base}/ocf"
            install_agents(ocf_root)
            nodes = [TestNode(name, f"{base}/{name}") for name in ADDRESSES]
            for node in nodes:
                peers = [a for n, a in ADDRESSES.items() if n != node.name]
                node.write_config(list(ADDRESSES), [f"udpport {PORT}", f"bind_address {ADDRESSES[node.name]}",
                                                    *[f"ucast lo {p}" for p in peers]], extra="crm yes\n")
                hacf = Path(node.paths.ha_cf)
                hacf.write_text(hacf.read_text().replace("use_logd no", "use_logd yes"))  # logd checks too
                os.chmod(node.root, 0o755)
                os.chmod(f"{node.root}/etc", 0o755)
                Path(node.paths.state_file("cib.xml")).write_text(ACL_CIB.replace("{observer}", users["obs"].name))
            procs = [_start(node, ocf_root) for node in nodes]
            _wait(lambda: _idle(nodes), "both nodes joined", nodes)
            yield nodes, users
    finally:
        _stop(procs, nodes)
        shutil.rmtree(base, ignore_errors=True)


def _tool(user, node: TestNode, main, *argv: str):
    return run_as(user, lambda: main(list(argv)), env=_path_env(node))


def test_read_only_tools_work_for_haclient_members(acl_cluster):
    nodes, users = acl_cluster
    for who in (users["obs"], users["mem"]):
        hb = _tool(who, nodes[0], cl_status.main, "hbstatus")
        assert hb.returncode == 0 and "running" in hb.stdout, hb
        listed = _tool(who, nodes[1], ccm_cli.crm_node_main, "-l")
        assert listed.returncode == 0 and "node1" in listed.stdout and "node2" in listed.stdout, listed
        quorum = _tool(who, nodes[1], ccm_cli.crm_node_main, "-q")
        assert (quorum.returncode, quorum.stdout) == (0, "1\n"), quorum


def test_a_stranger_cannot_even_reach_the_sockets(acl_cluster):
    nodes, users = acl_cluster
    hb = _tool(users["out"], nodes[0], cl_status.main, "hbstatus")
    assert hb.returncode != 0 and "permission denied" in hb.stderr and "haclient" in hb.stderr, hb
    q = _tool(users["out"], nodes[0], cibadmin.main, "-Q")
    assert q.returncode == 4 and "permission denied" in q.stderr, q
    for main, argv in [(cl_status.status_main, []), (ccm_cli.crm_node_main, ["-l"]), (ccm_cli.main, []),
                       (crm_mon.main, ["-1"]), (hb_standby.standby_main, [])]:
        got = _tool(users["out"], nodes[0], main, *argv)
        assert got.returncode not in (0, 70, 71) and "permission denied: cannot reach" in got.stderr, (argv, got)


def test_cib_queries_are_filtered_by_the_users_acls(acl_cluster):
    nodes, users = acl_cluster
    seen = _tool(users["obs"], nodes[1], cibadmin.main, "-Q")
    assert seen.returncode == 0, seen
    root = parse_xml(seen.stdout)
    assert "hunter2" not in seen.stdout and 'id="d1-params"' not in seen.stdout
    assert 'name="target-role"' in seen.stdout and root.find("status") is not None
    whole = _tool(None, nodes[1], cibadmin.main, "-Q")
    assert whole.returncode == 0 and "hunter2" in whole.stdout
    as_root_trying = run_as(None, lambda: cibadmin.main(["-Q"]),
                            env={**_path_env(nodes[1]), "CIB_user": users["obs"].name})
    assert as_root_trying.returncode == 0 and "hunter2" not in as_root_trying.stdout  # CIB_user, as Pacemaker
    none = _tool(users["mem"], nodes[0], cibadmin.main, "-Q")
    assert none.returncode == 4 and "has no ACLs" in none.stderr, none
    mon = _tool(users["obs"], nodes[0], crm_mon.main, "-1")
    assert mon.returncode == 0 and "d1" in mon.stdout, mon


def test_changes_need_root_or_an_acl_that_allows_them(acl_cluster):
    nodes, users = acl_cluster
    obs, mem = users["obs"], users["mem"]
    stop = _tool(obs, nodes[1], cibadmin.main, "-M", "-X",
                 '<nvpair id="d1-role" name="target-role" value="Stopped"/>')
    assert (stop.returncode, stop.stderr) == (0, ""), stop
    _wait(lambda: 'value="Stopped"' in crmclient.query_cib(nodes[0].paths, "resources")["xml"],
          "the observer's target-role change reached the DC's CIB", nodes)
    retype = _tool(obs, nodes[1], cibadmin.main, "-M", "-X", '<primitive id="d1" description="mine"/>')
    assert retype.returncode == 4 and "permission denied: user " + obs.name in retype.stderr, retype
    assert "may not change description of /cib/configuration/resources/primitive[@id='d1']" in retype.stderr
    ban = _tool(obs, nodes[0], crm_resource.main, "--ban", "-r", "d1", "-N", "node1")
    assert ban.returncode == 4 and "may not create" in ban.stderr, ban
    standby = _tool(obs, nodes[0], hb_standby.standby_main)
    assert standby.returncode != 0 and "permission denied" in standby.stderr, standby
    attr = _tool(mem, nodes[0], crm_attribute.main, "-N", "node1", "-n", "color", "-v", "red")
    assert attr.returncode == 4 and "has no ACLs" in attr.stderr, attr
    # refused at the socket (no ACL can allow it): the lrmd's and messaging's changes
    assert "permission denied" in _lrm_exec_as(obs, nodes[0])
    assert "refused" in nodes[0].log_text() and obs.name in nodes[0].log_text()
    # root still may do everything
    back = _tool(None, nodes[0], cibadmin.main, "-M", "-X", '<primitive id="d1" description="root was here"/>')
    assert back.returncode == 0, back


def _lrm_exec_as(user, node: TestNode) -> str:
    from core.messages.lrm import ListResources
    from core.messages.hbapi import SetResourceStatus

    def ask() -> int:
        client = ipc.Client(node.paths, "lrmd", ctx=zmq.Context())
        try:
            client.request(ListResources(ipc.next_request_id()), 3000)  # read-only: allowed
            hb = ipc.Client(node.paths, "messaging", ctx=client.sock.context)
            try:
                hb.request(SetResourceStatus(ipc.next_request_id(), "all"), 3000)
            except RuntimeError as exc:
                print(exc)
            return 0
        finally:
            client.close()
    got = run_as(user, ask, env=_path_env(node))
    assert got.returncode == 0, got
    return got.stdout


def test_with_acls_disabled_members_read_everything_and_change_nothing(acl_cluster):
    nodes, users = acl_cluster
    obs = users["obs"]
    off = _tool(None, nodes[0], cibadmin.main, "-M", "-X", '<nvpair id="opt-acl" name="enable-acl" value="false"/>')
    assert off.returncode == 0, off
    try:
        _wait(lambda: 'value="false"' in crmclient.query_cib(nodes[1].paths, "crm_config")["xml"],
              "enable-acl false on node2", nodes)
        seen = _tool(obs, nodes[1], cibadmin.main, "-Q")
        assert seen.returncode == 0 and "hunter2" in seen.stdout, seen
        change = _tool(obs, nodes[1], cibadmin.main, "-M", "-X",
                       '<nvpair id="d1-role" name="target-role" value="Started"/>')
        assert change.returncode == 4 and "ACLs are disabled (enable-acl is not true)" in change.stderr, change
        nothing = _tool(users["mem"], nodes[0], cibadmin.main, "-Q", "-o", "resources")
        assert nothing.returncode == 0 and "hunter2" in nothing.stdout, nothing
    finally:
        on = _tool(None, nodes[0], cibadmin.main, "-M", "-X", '<nvpair id="opt-acl" name="enable-acl" value="true"/>')
        assert on.returncode == 0, on


def test_only_root_may_write_the_cluster_log_through_logd(acl_cluster):
    nodes, users = acl_cluster
    forged = f"crmd forged-{os.getpid()}"
    member = _tool(users["obs"], nodes[0], ha_logger.main, "-t", "crmd", forged)
    assert member.returncode == 0, member  # PUSH: the client cannot know; logd drops it
    honest = f"root-line-{os.getpid()}"
    assert _tool(None, nodes[0], ha_logger.main, honest).returncode == 0
    _wait(lambda: honest in nodes[0].log_text() and "refused log records from uid "
          f"{users['obs'].uid}" in nodes[0].log_text(), "logd wrote root's line and refused the member's", nodes)
    assert forged not in nodes[0].log_text()
