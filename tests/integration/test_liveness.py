"""Liveness and delivery of the messaging layer on real hosts (namespace lab, root only): three
nodes all active to each other, a link cut seen as `dead` within deadtime + 2 keepalives and
healed back to `active`, a restart seen as a new generation, a message to all delivered exactly
once and in order while one link loses 20% of its packets, and packets signed with the wrong key
rejected."""

from __future__ import annotations

import os
import statistics
import time

import pytest

from core.ipc import Client, next_request_id
from core.messages.hbapi import ClusterMessage, NodeStatusEvent, SendCluster, SignOn
from core.stack import module_present
from lab import observe, plan
from lab.lab import Lab, wait_until
from lab.plan import LabSpec
from labs import running_lab

pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(os.geteuid() != 0, reason="the namespace lab needs root"),
              pytest.mark.skipif(not module_present("messaging.daemon"), reason="no messaging daemon in this build")]

KEEPALIVE_MS = 100
DEADTIME_MS = 1000  # ten heartbeats: 20% loss on a link cannot fake a death during the test
SPEC = LabSpec(name="tliv", nodes=3, subnet="198.18.6.0/24", keepalive_ms=KEEPALIVE_MS, deadtime_ms=DEADTIME_MS)


@pytest.fixture(scope="module")
def lab():
    with running_lab(SPEC) as lab:
        yield lab


@pytest.fixture
def healthy(lab):
    lab.wait_all_see("active", timeout_s=20)
    yield lab
    lab.heal_all()


def counters(lab: Lab, node: str) -> dict[str, int]:
    return observe.query(lab.paths(node), "counters")


def test_three_nodes_are_active_to_each_other(healthy):
    lab = healthy
    for node in lab.nodes:
        assert lab.view(node) == {"node1": "active", "node2": "active", "node3": "active"}
        links = observe.query(lab.paths(node), "links")
        assert {(l["node"], l["link"], l["status"]) for l in links if l["node"] != node} == \
            {(n, "eth0", "up") for n in lab.nodes if n != node}


def test_link_cut_is_dead_within_deadtime_plus_two_keepalives_and_heals(healthy):
    lab = healthy
    latencies = []
    for _ in range(3):
        lab.wait_all_see("active", timeout_s=20)
        watchers = [observe.Events(lab.paths(n)) for n in ("node1", "node2")]
        try:
            cut_ms = time.monotonic_ns() // 1_000_000
            lab.fail("node3", "link")
            for watcher in watchers:
                got = watcher.wait_for(lambda e: isinstance(e, NodeStatusEvent) and e.node == "node3"
                                       and e.status == "dead", timeout_ms=DEADTIME_MS * 5)
                assert got is not None, "no dead event for node3"
                latencies.append(got[1] - cut_ms)
            assert lab.view("node1")["node3"] == "dead"
            lab.wait_view(["node3"], "node1", "dead", timeout_s=5)  # and the cut node sees the others go
            lab.heal("node3")
            for watcher in watchers:
                assert watcher.wait_for(lambda e: isinstance(e, NodeStatusEvent) and e.node == "node3"
                                        and e.status == "active", timeout_ms=10_000) is not None
        finally:
            for watcher in watchers:
                watcher.close()
    # the last heartbeat heard may be up to one keepalive older than the cut
    assert min(latencies) >= DEADTIME_MS - KEEPALIVE_MS - 20, latencies
    assert statistics.median(latencies) <= DEADTIME_MS + 2 * KEEPALIVE_MS, latencies


def test_restart_gives_a_new_generation(healthy):
    lab = healthy
    before = observe.query(lab.paths("node1"), "node", {"node": "node3"})["generation"]
    lab.restart_node("node3")
    wait_until(lambda: (v := observe.query(lab.paths("node1"), "node", {"node": "node3"}))["status"] == "active"
               and v["generation"] > before, 20, "node1 to see node3 back with a new generation")
    assert observe.query(lab.paths("node3"), "hbstatus")["generation"] > before


def test_message_to_all_arrives_once_and_in_order_despite_loss(healthy):
    lab = healthy
    count = 300
    receivers = {}
    for node in ("node2", "node3"):
        client = Client(lab.paths(node), "messaging")
        client.request(SignOn(request_id=next_request_id(), client="labtest", pid=os.getpid(),
                              msgtypes=["labtest"], events=False))
        receivers[node] = client
    sender = Client(lab.paths("node1"), "messaging")
    before = counters(lab, "node2")
    lab.set_loss("node2", 20)
    try:
        for i in range(count):
            sender.request(SendCluster(request_id=next_request_id(), msgtype="labtest",
                                       payload=i.to_bytes(4, "big"), dest=None), timeout_ms=10_000)
        got: dict[str, list[int]] = {n: [] for n in receivers}
        deadline = time.monotonic() + 60
        while any(len(v) < count for v in got.values()) and time.monotonic() < deadline:
            for node, client in receivers.items():
                msg = client.recv(50)
                while msg is not None:
                    if isinstance(msg, ClusterMessage):
                        assert msg.source == "node1" and msg.msgtype == "labtest"
                        got[node].append(int.from_bytes(msg.payload, "big"))
                    msg = client.recv(0)
    finally:
        lab.heal("node2")
        sender.close()
        for client in receivers.values():
            client.close()
    for node, seen in got.items():
        assert seen == list(range(count)), f"{node}: {len(seen)} messages, first differences " \
            f"{[(i, s) for i, s in enumerate(seen) if s != i][:5]}"
    after = counters(lab, "node2")
    assert after.get("retransmits_received", 0) > before.get("retransmits_received", 0), \
        "no retransmissions: the loss did not bite"


def test_packets_with_the_wrong_key_are_rejected(healthy):
    lab = healthy
    keys = os.path.join(lab.paths("node3").confdir, "authkeys")
    good = open(keys).read()
    lab.stop_node("node3")
    lab.wait_view(["node1", "node2"], "node3", "dead", timeout_s=10)
    before = counters(lab, "node1").get("dropped_bad_auth", 0)
    with open(keys, "w") as handle:
        handle.write(plan.render_authkeys("0wrongkey0"))
    try:
        lab.start_node("node3")
        wait_until(lambda: counters(lab, "node1").get("dropped_bad_auth", 0) >= before + 10, 10,
                   "node1 to reject node3's packets")
        assert lab.view("node1")["node3"] == "dead" and lab.view("node2")["node3"] == "dead"
        assert lab.view("node3")["node1"] != "active"
        assert counters(lab, "node3").get("dropped_bad_auth", 0) > 0
    finally:
        with open(keys, "w") as handle:
            handle.write(good)
    assert lab.exec("node3", ["heartbeat", "-r"]).returncode == 0  # SIGHUP: authkeys reloaded
    lab.wait_all_see("active", timeout_s=20)


@pytest.mark.parametrize("media, third", [("mcast", 2), ("ucast", 3)])
def test_other_media_carry_heartbeats(media, third):
    lab = Lab.up(LabSpec(name=f"tliv{media[0]}", nodes=2, subnet=f"198.18.{third}.0/24", media=media,
                         keepalive_ms=KEEPALIVE_MS, deadtime_ms=DEADTIME_MS))
    try:
        lab.wait_all_see("active", timeout_s=20)
        links = observe.query(lab.paths("node1"), "links", {"node": "node2"})
        assert [(l["link"], l["status"]) for l in links] == [("eth0", "up")]
        lab.fail("node2", "link")
        lab.wait_view(["node1"], "node2", "dead", timeout_s=10)
    finally:
        assert lab.down() == []
