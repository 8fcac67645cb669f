"""Real messaging daemons on loopback (no root) with sealed heartbeats: membership with
aes-256-gcm and chacha20-poly1305, a captured stream replayed into a live daemon (dropped and
counted, nothing changes), and a key rolled out with SIGHUP one node at a time without a death."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from netns import wait_for
from nodes import TestNode

PORT_BASE = 23000 + (os.getpid() % 500) * 4
SNIFFER = "127.0.0.99"  # node1 also sends to this address, where the test listens: the capture
SECRET = "aes-test-secret-0123456789abcdef"
SEALED = "auth 1\n1 {method} " + SECRET + "\n"
OLD = "auth 1\n1 sha1 old-secret\n"
BOTH = f"auth 2\n1 sha1 old-secret\n2 aes-256-gcm {SECRET}\n"


def address(i: int) -> str:
    return f"127.0.0.{40 + i}"


def cluster(tmp_path, port: int, authkeys: str, sniff: bool = False) -> list[TestNode]:
    names = ["node1", "node2", "node3"]
    nodes = []
    for i, name in enumerate(names, start=1):
        node = TestNode(name, str(tmp_path / name))
        media = [f"ucast lo {address(j)}" for j in range(1, 4) if j != i]
        if sniff and i == 1:
            media.append(f"ucast lo {SNIFFER}")
        node.write_config(names, [f"udpport {port}", f"bind_address {address(i)}", "cluster looptest"] + media,
                          authkeys=authkeys)
        nodes.append(node)
    return nodes


def cl_status(node: TestNode, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "messaging.cl_status", "--rundir", f"{node.root}/run", *args],
                          capture_output=True, text=True, timeout=20)


def all_active(nodes: list[TestNode]) -> bool:
    return all(a.status_of(b.name) == "active" for a in nodes for b in nodes)


def stop_all(nodes: list[TestNode]) -> None:
    for node in nodes:
        node.stop()


@pytest.mark.parametrize("method", ["aes-256-gcm", "chacha20-poly1305"])
def test_sealed_cluster_forms_and_a_replayed_capture_is_dropped_and_counted(tmp_path, method):
    port = PORT_BASE + (0 if method == "aes-256-gcm" else 1)
    nodes = cluster(tmp_path, port, SEALED.format(method=method), sniff=True)
    sniffer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sniffer.bind((SNIFFER, port))
        sniffer.settimeout(0.5)
        for node in nodes:
            node.start()
        assert wait_for(lambda: all_active(nodes), 20), [n.log_text()[-2000:] for n in nodes]
        auth = nodes[0].query("auth")
        assert auth["method"] == method and auth["sending_key"] == 1
        sniffer.setblocking(False)  # forget what was sent before node2 listened: node2 never had it
        try:
            while True:
                sniffer.recv(65536)
        except BlockingIOError:
            sniffer.settimeout(0.5)
        capture = []
        deadline = time.monotonic() + 5
        while len(capture) < 30 and time.monotonic() < deadline:
            try:
                capture.append(sniffer.recv(65536))
            except socket.timeout:
                continue
        assert len(capture) == 30
        assert all(p.startswith(b"PHB\x01") and b"node1" not in p and b"status" not in p for p in capture)
        time.sleep(0.3)  # every captured packet has reached node2 by now
        target = nodes[1]
        nodes_before = target.query("nodes")
        before = target.query("counters")
        for data in capture:
            sniffer.sendto(data, (address(2), port))
        time.sleep(0.5)
        after = target.query("counters")
        replayed = after.get("dropped_replayed", 0) - before.get("dropped_replayed", 0)
        assert replayed == len(capture), (before, after)
        assert after.get("messages_delivered", 0) == before.get("messages_delivered", 0)
        assert [(n["name"], n["status"], n["generation"]) for n in target.query("nodes")] == \
            [(n["name"], n["status"], n["generation"]) for n in nodes_before]
        assert "dropped packet: replayed" in target.log_text()
        shown = cl_status(target, "counters", "dropped_").stdout.splitlines()
        assert f"dropped_replayed\t{after['dropped_replayed']}" in shown
        assert cl_status(target, "auth").stdout.startswith(f"sending with key 1 ({method}), wanted 1, holding 1")
        status = json.loads(subprocess.run([sys.executable, "-m", "core.cli", "status", "--json", "--rundir",
                                            f"{target.root}/run"], capture_output=True, text=True,
                                           timeout=20).stdout)
        assert status["auth"]["method"] == method and status["drops"]["dropped_replayed"] >= replayed
    finally:
        sniffer.close()
        stop_all(nodes)


def test_a_new_key_is_rolled_out_with_sighup_without_a_death(tmp_path):
    nodes = cluster(tmp_path, PORT_BASE + 2, OLD)
    try:
        for node in nodes:
            node.start()
        assert wait_for(lambda: all_active(nodes), 20)
        for i, node in enumerate(nodes):
            keys = f"{node.root}/etc/authkeys"
            with open(keys, "w") as handle:
                handle.write(BOTH)
            os.chmod(keys, 0o600)
            node.proc.send_signal(signal.SIGHUP)
            if i < len(nodes) - 1:
                assert wait_for(lambda n=node: n.query("auth")["held"] == [1, 2], 10)
                time.sleep(0.5)
                assert node.query("auth")["sending_key"] == 1, "the others do not hold key 2 yet"
        assert wait_for(lambda: all(n.query("auth")["sending_key"] == 2 for n in nodes), 10)
        time.sleep(1.0)
        assert all_active(nodes)
        for node in nodes:
            assert " is dead" not in node.log_text()
            counters = node.query("counters")
            assert counters.get("dropped_unknown_key", 0) == 0 and counters.get("dropped_bad_seal", 0) == 0
        # a key file that others may read is refused on reload; the keys in use stay
        with open(f"{nodes[0].root}/etc/authkeys", "a") as handle:
            handle.write("3 aes-256-gcm another-secret-0123456789\n")
        os.chmod(f"{nodes[0].root}/etc/authkeys", 0o644)
        nodes[0].proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "authkeys not reloaded" in nodes[0].log_text(), 10)
        assert nodes[0].query("auth")["held"] == [1, 2]
    finally:
        stop_all(nodes)
