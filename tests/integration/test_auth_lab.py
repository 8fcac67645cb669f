"""Sealed heartbeats on a real 3-node namespace lab (`hb lab up --auth aes-256-gcm`): membership
forms, a resource group fails over when its node's link is cut and returns when it heals, what
crosses the wire is sealed, and packets captured from the segment (in the client namespace) and
injected again into a live node are dropped and counted as replays, changing nothing."""

from __future__ import annotations

import json
import os
import sys

import pytest

from core.ipc import Client, next_request_id
from core.messages.hbapi import Query
from crmlab import BENCH_SVC, PORT, answer, wait_answer
from lab import plan
from lab.lab import Lab, wait_until
from lab.plan import LabSpec
import labs
from labs import running_lab

pytestmark = [pytest.mark.lab]
if os.geteuid() != 0:
    if os.environ.get("CI"):
        raise RuntimeError("CI runs as root: the namespace lab tests must run there")
    pytestmark.append(pytest.mark.skip(reason="the namespace lab needs root"))

SPEC = LabSpec(name="tseal", nodes=3, subnet="198.19.143.0/24", auth="aes-256-gcm",
               haresources=("node1 IPaddr2::{vip}/24/eth0 tcpsvc::%d" % PORT,), scripts=(BENCH_SVC,))
ALL = ["node1", "node2", "node3"]

CAPTURE = r"""
import json, socket, sys
port, count, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.settimeout(5)
got = []
while len(got) < count:
    data, (src, _) = s.recvfrom(65536)
    got.append([src, data.hex()])
json.dump(got, open(path, "w"))
"""

INJECT = r"""
import json, socket, sys
port, target, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = 0
for src, data in json.load(open(path)):
    if src != target:
        s.sendto(bytes.fromhex(data), (target, port))
        sent += 1
print(sent)
"""


@pytest.fixture(scope="module")
def lab():
    with running_lab(SPEC) as lab:
        yield lab


def query(lab: Lab, node: str, what: str, **args):
    client = Client(lab.paths(node), "messaging")
    try:
        return client.request(Query(next_request_id(), what, args), 2000)
    finally:
        client.close()


def test_every_node_holds_an_aes_key_and_membership_forms(lab):
    for node in lab.nodes:
        with open(os.path.join(lab.paths(node).confdir, "authkeys")) as handle:
            assert "1 aes-256-gcm " in handle.read()
    labs.wait_agreed(lab, ALL, ALL, True, 30)
    for node in ALL:
        auth = query(lab, node, "auth")
        assert (auth["method"], auth["sending_key"]) == ("aes-256-gcm", 1)


def test_the_group_fails_over_and_back(lab):
    labs.wait_agreed(lab, ALL, ALL, True, 30)
    wait_answer(lab, "node1", 40)
    lab.fail("node1", "link")
    vip = plan.vip(lab.spec)
    wait_until(lambda: answer(lab, vip) in ("node2", "node3"), 20, "node2 or node3 to take the group over",
               lambda: answer(lab, vip))
    lab.heal("node1")
    wait_answer(lab, "node1", 30)  # auto_failback on
    labs.wait_agreed(lab, ALL, ALL, True, 30)


def test_a_capture_injected_again_is_dropped_and_counted(lab, tmp_path):
    labs.wait_agreed(lab, ALL, ALL, True, 30)
    path = os.path.join(lab.spec.root, "capture.json")
    done = lab.exec("client", [sys.executable, "-c", CAPTURE, str(lab.spec.udpport), "40", path],
                    capture=True, timeout_s=30)
    assert done.returncode == 0, done.stderr
    with open(path) as handle:
        captured = json.load(handle)
    packets = [bytes.fromhex(data) for _, data in captured]
    assert all(p.startswith(b"PHB\x01") for p in packets)
    assert not any(name.encode() in p for p in packets for name in ALL + ["status"])
    target = plan.address(lab.spec, "node2")
    nodes_before = query(lab, "node2", "nodes")
    before = query(lab, "node2", "counters")
    done = lab.exec("client", [sys.executable, "-c", INJECT, str(lab.spec.udpport), target, path],
                    capture=True, timeout_s=30)
    assert done.returncode == 0, done.stderr
    sent = int(done.stdout.strip())
    assert sent > 10
    wait_until(lambda: query(lab, "node2", "counters").get("dropped_replayed", 0)
                    - before.get("dropped_replayed", 0) >= sent, 5, "the replays to be counted")
    after = query(lab, "node2", "counters")
    assert after.get("dropped_replayed", 0) - before.get("dropped_replayed", 0) == sent
    assert [(n["name"], n["status"], n["generation"]) for n in query(lab, "node2", "nodes")] == \
        [(n["name"], n["status"], n["generation"]) for n in nodes_before]


def test_heartbeat_r_rolls_a_new_key_out_without_a_membership_change(lab):
    labs.wait_agreed(lab, ALL, ALL, True, 30)
    instance = labs.ccm_view(lab, "node1")["instance"]
    for i, node in enumerate(ALL):
        path = os.path.join(lab.paths(node).confdir, "authkeys")
        with open(path) as handle:
            old = next(line for line in handle if line.startswith("1 "))
        with open(path, "w") as handle:
            handle.write(f"auth 2\n{old}2 chacha20-poly1305 rotated-secret-0123456789abcdef\n")
        done = lab.exec(node, [sys.executable, "-m", "core.launcher", "-r"], capture=True, timeout_s=20)
        assert done.returncode == 0, done.stderr
        wait_until(lambda n=node: query(lab, n, "auth")["held"] == [1, 2], 10, f"{node} to reload its keys")
        if i < len(ALL) - 1:
            assert query(lab, node, "auth")["sending_key"] == 1
    wait_until(lambda: all(query(lab, n, "auth")["sending_key"] == 2 for n in ALL), 10, "every node to send with key 2",
               lambda: {n: query(lab, n, "auth") for n in ALL})
    assert all(query(lab, n, "auth")["method"] == "chacha20-poly1305" for n in ALL)
    labs.wait_agreed(lab, ALL, ALL, True, 10)
    assert labs.ccm_view(lab, "node1")["instance"] == instance, "the rollout changed the membership"
    for node in ALL:
        counters = query(lab, node, "counters")
        assert counters.get("dropped_unknown_key", 0) == 0 and counters.get("dropped_bad_seal", 0) == 0
