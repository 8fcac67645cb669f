"""Real messaging daemons on loopback (no root needed): liveness, generations, cluster messages
through the local API, cl_status, the serial medium over a socat pty pair,
and configuration errors."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from core.ipc import Client, next_request_id
from core.messages.hbapi import ClusterMessage, NodeStatusEvent, SendCluster, SignOn
from netns import wait_for
from nodes import TestNode

PORT_BASE = 17000 + (os.getpid() % 500) * 4


def ucast_cluster(tmp_path, count: int, port: int, **kw) -> list[TestNode]:
    names = [f"node{i}" for i in range(1, count + 1)]
    nodes = []
    for i, name in enumerate(names, start=1):
        node = TestNode(name, str(tmp_path / name))
        peers = [f"ucast lo 127.0.0.{20 + j}" for j in range(1, count + 1) if j != i]
        node.write_config(names, [f"udpport {port}", f"bind_address 127.0.0.{20 + i}"] + peers, **kw)
        nodes.append(node)
    return nodes


@pytest.fixture
def cluster3(tmp_path):
    nodes = ucast_cluster(tmp_path, 3, PORT_BASE)
    for node in nodes:
        node.start()
    yield nodes
    for node in nodes:
        node.stop()


def cl_status(node: TestNode, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "messaging.cl_status", "--rundir", f"{node.root}/run", *args],
                          capture_output=True, text=True, timeout=20)


def test_three_nodes_are_active_to_each_other_and_cl_status_says_so(cluster3):
    a, b, c = cluster3
    assert wait_for(lambda: all(x.status_of(y.name) == "active" for x in cluster3 for y in cluster3), 10)
    listed = cl_status(a, "listnodes")
    assert listed.returncode == 0 and listed.stdout.split() == ["node1", "node2", "node3"]
    assert cl_status(a, "nodestatus", "node2").stdout.strip() == "active"
    assert cl_status(a, "hbstatus").stdout.strip() == "Heartbeat is running on this machine."
    assert cl_status(a, "listhblinks", "node3").stdout.split() == ["lo"]
    assert cl_status(a, "hblinkstatus", "node3", "lo").stdout.strip() == "up"
    assert cl_status(a, "hbparameter", "-p", "keepalive").stdout.strip() == "100ms"
    assert cl_status(a, "rscstatus").stdout.strip() == "none"
    assert cl_status(a, "nodetype", "normal").stdout.split() == ["node1", "node2", "node3"]


def test_hang_and_kill_give_dead_and_restart_gives_a_new_generation(cluster3):
    a, b, c = cluster3
    assert wait_for(lambda: a.status_of("node3") == "active", 10)
    gen_before = a.query("node", node="node3")["generation"]
    c.proc.send_signal(signal.SIGSTOP)
    try:
        assert wait_for(lambda: a.status_of("node3") == "dead" and b.status_of("node3") == "dead", 5)
    finally:
        c.proc.send_signal(signal.SIGCONT)
    assert wait_for(lambda: a.status_of("node3") == "active", 5)
    c.stop(signal.SIGKILL)
    assert wait_for(lambda: a.status_of("node3") == "dead", 5)
    assert cl_status(a, "nodestatus", "node3").returncode == 1
    c.start()
    assert wait_for(lambda: a.status_of("node3") == "active", 10)
    assert a.query("node", node="node3")["generation"] == gen_before + 1
    assert "Heartbeat restart on node node3" in a.log_text()


def test_cluster_messages_reach_every_signed_on_client_once_in_order(cluster3):
    a, b, c = cluster3
    assert wait_for(lambda: all(x.status_of(y.name) == "active" for x in cluster3 for y in cluster3), 10)
    receivers = []
    for node in (b, c):
        client = Client(node.paths, "messaging")
        client.request(SignOn(next_request_id(), "testclient", os.getpid(), ["demo"], events=False))
        receivers.append(client)
    sender = Client(a.paths, "messaging")
    try:
        for i in range(50):
            payload = (b"%03d" % i) * (1 + 400 * (i % 7))  # some need several fragments
            sender.request(SendCluster(next_request_id(), "demo", payload))
        for client in receivers:
            got = []
            deadline = time.monotonic() + 10
            while len(got) < 50 and time.monotonic() < deadline:
                msg = client.recv(200)
                if isinstance(msg, ClusterMessage):
                    got.append(msg)
            assert [m.payload[:3] for m in got] == [b"%03d" % i for i in range(50)]
            assert all(m.source == "node1" and m.msgtype == "demo" for m in got)
            assert client.recv(300) is None  # nothing twice
        assert cl_status(a, "clientstatus", "node2", "testclient", "500").stdout.strip() == "online"
        assert cl_status(a, "clientstatus", "node2", "nosuchclient", "500").stdout.strip() == "offline"
    finally:
        for client in receivers + [sender]:
            client.close()


def test_events_are_pushed_to_signed_on_clients(cluster3):
    a, b, c = cluster3
    assert wait_for(lambda: a.status_of("node2") == "active", 10)
    watcher = Client(a.paths, "messaging")
    try:
        watcher.request(SignOn(next_request_id(), "watcher", os.getpid(), [], events=True))
        b.stop(signal.SIGKILL)
        deadline = time.monotonic() + 5
        seen = None
        while time.monotonic() < deadline and seen is None:
            msg = watcher.recv(200)
            if isinstance(msg, NodeStatusEvent) and msg.node == "node2" and msg.status == "dead":
                seen = msg
        assert seen is not None and seen.previous == "active"
    finally:
        watcher.close()


def test_serial_medium_over_a_pty_pair(tmp_path):
    if shutil.which("socat") is None:
        pytest.skip("socat not installed")
    ttys = tmp_path / "tty"
    ttys.mkdir()
    socat = subprocess.Popen(["socat", f"pty,raw,echo=0,link={ttys}/a", f"pty,raw,echo=0,link={ttys}/b"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nodes = []
    try:
        assert wait_for(lambda: (ttys / "a").exists() and (ttys / "b").exists(), 5)
        for name, tty in (("node1", "a"), ("node2", "b")):
            node = TestNode(name, str(tmp_path / name))
            node.write_config(["node1", "node2"], ["baud 115200", f"serial {ttys}/{tty}"],
                              keepalive="200ms", deadtime="1", warntime="600ms", initdead="2")
            node.start()
            nodes.append(node)
        assert wait_for(lambda: nodes[0].status_of("node2") == "active" and nodes[1].status_of("node1") == "active", 10)
        assert nodes[0].query("links", node="node2") == [{"node": "node2", "link": f"{ttys}/a", "status": "up"}]
    finally:
        for node in nodes:
            node.stop()
        socat.kill()
        socat.wait(5)


@pytest.mark.parametrize("mutate,needle", [
    (lambda root: open(f"{root}/etc/ha.cf", "a").write("bogus_directive 1\n"), "unknown directive 'bogus_directive'"),
    (lambda root: open(f"{root}/etc/ha.cf", "a").write("keepalive 1x\n"), "keepalive: bad time value"),
    (lambda root: open(f"{root}/etc/ha.cf", "a").write("bcast nosuchif0\n"), "bcast: unknown interface 'nosuchif0'"),
    (lambda root: os.chmod(f"{root}/etc/authkeys", 0o644), "authkeys must be mode 600"),
    (lambda root: open(f"{root}/etc/authkeys", "w").write("auth 3\n1 sha1 x\n"), "no key with index 3"),
])
def test_bad_configuration_exits_2_with_one_file_line_message(tmp_path, mutate, needle):
    node = TestNode("node1", str(tmp_path / "node1"))
    node.write_config(["node1", "node2"], [f"udpport {PORT_BASE + 2}", "bind_address 127.0.0.20", "ucast lo 127.0.0.29"])
    mutate(node.root)
    proc = node.start()
    assert proc.wait(20) == 2
    err = open(f"{node.root}/log/stderr").read().strip().splitlines()
    assert len(err) == 1 and needle in err[0] and err[0].startswith(f"{node.root}/etc/"), err
    assert not os.path.exists(f"{node.root}/run/messaging.sock")


def test_node_not_in_node_list_is_refused(tmp_path):
    node = TestNode("node7", str(tmp_path / "node7"))
    node.write_config(["node1", "node2"], ["udpport 17999", "bind_address 127.0.0.20", "ucast lo 127.0.0.29"])
    assert node.start().wait(20) == 2
    assert "this node (node7) is not in the node list" in open(f"{node.root}/log/stderr").read()


def test_realtime_on_runs_messaging_at_a_realtime_priority(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("real-time scheduling needs root (CAP_SYS_NICE)")
    node = TestNode("node1", str(tmp_path / "node1"))
    node.write_config(["node1"], [f"udpport {PORT_BASE + 1}", "bind_address 127.0.0.20", "ucast lo 127.0.0.29"],
                      extra="realtime on\n")
    with open(f"{node.root}/etc/ha.cf") as handle:
        text = handle.read().replace("realtime off\n", "")
    with open(f"{node.root}/etc/ha.cf", "w") as handle:
        handle.write(text)
    node.start()
    try:
        assert wait_for(lambda: node.status_of("node1") == "active", 10)
        assert os.sched_getscheduler(node.proc.pid) == os.SCHED_RR
        log = node.log_text()
        # locking ~20 MB needs CAP_IPC_LOCK or a big RLIMIT_MEMLOCK: either it worked or it said why
        assert "cannot lock memory" in log or "cannot set real-time" not in log
    finally:
        node.stop()


def test_ping_node_on_loopback_is_shown_as_a_ping_node(tmp_path):
    node = TestNode("node1", str(tmp_path / "node1"))
    node.write_config(["node1"], [f"udpport {PORT_BASE + 1}", "bind_address 127.0.0.20", "ucast lo 127.0.0.29"],
                      extra="ping 127.0.0.1\nping_group loops 127.0.0.2 127.0.0.3\n")
    node.start()
    try:
        assert wait_for(lambda: node.status_of("127.0.0.1") == "ping" and node.status_of("loops") == "ping", 10)
        assert cl_status(node, "nodetype", "ping").stdout.split() == ["127.0.0.1", "loops"]
        assert cl_status(node, "listnodes", "-p").stdout.split() == ["127.0.0.1", "loops"]
        assert cl_status(node, "listnodes", "-n").stdout.split() == ["node1"]
    finally:
        node.stop()
