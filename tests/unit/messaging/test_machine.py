"""The messaging core, driven on a manual clock over an in-memory network."""

import random

import pytest

from core.config.authkeys import parse_authkeys
from messaging.events import (ClientSend, ClientStatusAnswer, ClientStatusChanged, ClientStatusQuery,
                              LinkStatusChanged, LocalClient, NodeStatusChanged, PacketIn, PingReply,
                              SendPing, SendResult, Shutdown, Transmit)
from messaging.packet import decode

from harness import KEYS, Net


def test_two_nodes_become_active_to_each_other():
    net = Net(["node1", "node2"])
    net.run_for(1000)
    assert net.status("node1", "node2") == "active"
    assert net.status("node2", "node1") == "active"
    assert net.status("node1", "node1") == "active"
    assert "Link node2:eth0 up." in net.logs("node1")


def test_node_declared_dead_within_deadtime_plus_keepalive_after_silence():
    net = Net(["node1", "node2", "node3"])
    net.run_for(1000)
    net.crash("node3")
    crashed_at = net.now_ms
    net.run_for(2000)
    deaths = [e for e in net.of_type("node1", NodeStatusChanged) if e.node == "node3" and e.status == "dead"]
    assert len(deaths) == 1
    assert "node node3: is dead" in net.logs("node1")
    assert net.status("node2", "node3") == "dead"
    # the last packet left node3 at most one keepalive before the crash
    death_time = [e for e in net.nodes["node1"].effects].index(deaths[0])
    assert death_time >= 0
    links = [e for e in net.of_type("node1", LinkStatusChanged) if e.node == "node3"]
    assert links[-1].status == "dead"


def test_death_time_is_bounded():
    for seed in range(5):
        net = Net(["a", "b"], seed=seed)
        net.run_for(1000)
        net.crash("b")
        start = net.now_ms
        for _ in range(100):
            net.run_for(10)
            if net.status("a", "b") == "dead":
                break
        elapsed = net.now_ms - start
        assert 500 - 100 <= elapsed <= 500 + 2 * 100, elapsed


def test_never_heard_node_is_dead_after_initdead():
    net = Net(["node1", "node2"], initdead_ms=1500, absent=("node2",))
    net.run_for(1400)
    assert net.status("node1", "node2") == "init"
    net.run_for(300)
    assert net.status("node1", "node2") == "dead"
    assert net.status("node1", "node1") == "active"


def test_late_heartbeat_is_warned():
    net = Net(["node1", "node2"], warntime_ms=300, deadtime_ms=1000, initdead_ms=2000)
    net.run_for(1000)
    net.cut = {("node2", "node1", "eth0")}
    net.run_for(450)
    net.cut = set()
    net.run_for(300)
    assert any(line.startswith("Late heartbeat: Node node2: interval") for line in net.logs("node1"))
    assert net.status("node1", "node2") == "active"


def test_restart_gives_new_generation_and_is_noticed():
    net = Net(["node1", "node2"])
    net.run_for(1000)
    net.crash("node2")
    net.run_for(200)
    net.restart("node2")
    net.run_for(1500)
    assert net.nodes["node1"].machine.node_view("node2")["generation"] == 2
    assert any("Heartbeat restart on node node2" in line for line in net.logs("node1"))
    assert net.status("node1", "node2") == "active"


def test_a_restart_within_deadtime_is_reported_to_clients_with_its_generation():
    """A node back within its deadtime may say active from its first heartbeat: no status change,
    but a new life, which the clients must hear of (ccm drops the old life's state, crmd dates a
    fencing notice against it). Here node1 first hears node2's new life once node2 has heard
    node1 and says active: node1's clients still get node2's new generation."""
    for seed in range(4):
        net = Net(["node1", "node2"], seed=seed)
        net.run_for(1000)
        net.crash("node2")
        net.run_for(100)
        net.cut = {("node2", "node1", "eth0")}
        net.restart("node2")
        net.run_for(200)
        assert net.status("node2", "node2") == "active"
        net.cut = set()
        net.run_for(1000)
        assert net.status("node1", "node2") == "active"
        reports = [e for e in net.of_type("node1", NodeStatusChanged) if e.node == "node2"]
        assert reports and reports[-1].generation == 2 and reports[-1].status == "active", reports
        assert not any(e.status == "dead" for e in reports)


def test_replayed_packet_of_old_generation_is_dropped():
    net = Net(["node1", "node2"])
    net.run_for(500)
    old = next(e.packet for e in net.of_type("node2", Transmit))
    net.crash("node2")
    net.restart("node2")
    net.run_for(1000)
    before = dict(net.nodes["node1"].machine.counters)
    net.inject("node1", PacketIn("eth0", old))
    after = net.nodes["node1"].machine.counters
    assert after.get("dropped_old_generation", 0) == before.get("dropped_old_generation", 0) + 1


def test_replayed_packet_of_same_generation_is_a_duplicate_and_does_not_revive():
    net = Net(["node1", "node2"])
    net.run_for(800)
    captured = [e.packet for e in net.of_type("node2", Transmit)]
    net.crash("node2")
    net.run_for(1000)
    assert net.status("node1", "node2") == "dead"
    for data in captured:
        net.inject("node1", PacketIn("eth0", data))
    assert net.status("node1", "node2") == "dead"


def test_wrong_key_is_rejected_and_counted():
    net = Net(["node1", "node2"])
    net.keys["node2"] = parse_authkeys("auth 1\n1 sha1 other-secret\n")
    net.start("node2")
    net.run_for(1000)
    assert net.status("node1", "node2") != "active"
    assert net.nodes["node1"].machine.counters.get("dropped_bad_auth", 0) > 5
    assert any("dropped packet: bad_auth" in line for line in net.logs("node1"))


def _send_many(net, sender, count, size=40):
    for i in range(count):
        payload = (f"{sender}-{i}:".encode() + bytes(range(256)) * (size // 256 + 1))[:size]
        net.inject(sender, ClientSend(i, "test", payload))


@pytest.mark.parametrize("seed", range(6))
def test_messages_to_all_arrive_exactly_once_in_order_with_20_percent_loss(seed):
    net = Net(["node1", "node2", "node3"], seed=seed)
    net.run_for(1000)
    for key in [("node1", "node2", "eth0"), ("node2", "node1", "eth0"), ("node1", "node3", "eth0")]:
        net.loss[key] = 0.2
    for i in range(60):
        net.inject("node1", ClientSend(i, "test", f"m{i}".encode()))
        net.run_for(5)
    net.run_for(5000)
    for receiver in ("node2", "node3"):
        got = [d.payload.decode() for d in net.delivered(receiver) if d.source == "node1"]
        assert got == [f"m{i}" for i in range(60)], receiver
    assert net.nodes["node2"].machine.counters.get("retransmits_received", 0) > 0


def test_large_messages_are_fragmented_and_reassembled_under_loss():
    net = Net(["node1", "node2"], seed=3)
    net.run_for(1000)
    net.loss[("node1", "node2", "eth0")] = 0.2
    payloads = [random.Random(i).randbytes(5000 + 3000 * i) for i in range(4)]
    for i, payload in enumerate(payloads):
        net.inject("node1", ClientSend(i, "big", payload))
    net.run_for(8000)
    got = [d.payload for d in net.delivered("node2")]
    assert got == payloads


def test_node_directed_message_is_delivered_only_to_its_destination():
    net = Net(["node1", "node2", "node3"])
    net.run_for(1000)
    net.inject("node1", ClientSend(1, "hello", b"to-2", dest="node2"))
    net.run_for(200)
    assert [d.payload for d in net.delivered("node2")] == [b"to-2"]
    assert net.delivered("node3") == []


def test_send_to_unknown_node_is_refused():
    net = Net(["node1", "node2"])
    effects = net.inject("node1", ClientSend(7, "x", b"", dest="node9"))
    assert SendResult(7, "unknown node 'node9'") in effects


def test_one_of_two_links_dying_keeps_the_node_alive():
    net = Net(["node1", "node2"], links=("eth0", "eth1"))
    net.run_for(1000)
    net.cut = {("node2", "node1", "eth1"), ("node1", "node2", "eth1")}
    net.run_for(1500)
    assert net.status("node1", "node2") == "active"
    links = {row["link"]: row["status"] for row in net.nodes["node1"].machine.links_view("node2")}
    assert links == {"eth0": "up", "eth1": "dead"}
    assert "Link node2:eth1 dead." in net.logs("node1")


def test_shutdown_notice_makes_peer_dead_immediately():
    net = Net(["node1", "node2"], deadtime_ms=5000, initdead_ms=10000)
    net.run_for(1000)
    net.inject("node2", Shutdown())
    net.crash("node2")
    net.run_for(50)
    assert net.status("node1", "node2") == "dead"
    assert "Received shutdown notice from 'node2'." in net.logs("node1")


def test_client_join_and_remote_client_status_query():
    net = Net(["node1", "node2"])
    net.run_for(1000)
    net.inject("node2", LocalClient("ccm", True))
    net.run_for(100)
    assert ClientStatusChanged("node2", "ccm", "join") in net.of_type("node1", ClientStatusChanged)
    net.inject("node1", ClientStatusQuery(42, "node2", "ccm"))
    net.inject("node1", ClientStatusQuery(43, "node2", "crmd"))
    net.run_for(100)
    answers = {a.query_id: a.status for a in net.of_type("node1", ClientStatusAnswer)}
    assert answers == {42: "online", 43: "offline"}


def test_ping_nodes_follow_replies():
    net = Net(["node1", "node2"], ping_nodes=(("198.18.0.1", ("198.18.0.1",)), ("grp", ("198.18.0.2", "198.18.0.3"))))
    net.run_for(200)
    assert any(isinstance(e, SendPing) for e in net.nodes["node1"].effects)
    for _ in range(5):
        net.inject("node1", PingReply("198.18.0.1"))
        net.inject("node1", PingReply("198.18.0.3"))
        net.run_for(100)
    assert net.status("node1", "198.18.0.1") == "ping"
    assert net.status("node1", "grp") == "ping"
    net.run_for(800)
    assert net.status("node1", "grp") == "dead"
    assert net.nodes["node1"].machine.node_view("grp")["type"] == "ping"


def test_status_packets_look_like_heartbeats():
    net = Net(["node1", "node2"])
    net.run_for(1000)
    packet = net.of_type("node1", Transmit)[-1].packet
    fields = decode(packet, KEYS).fields
    assert fields.names()[:4] == ["t", "st", "dt", "protocol"]
    assert fields.text("dt") == format(500, "x")


def test_flow_control_holds_client_messages_until_acks_arrive():
    net = Net(["node1", "node2"])
    net.run_for(1000)
    net.cut = {("node2", "node1", "eth0")}  # node1 hears no acks (and soon no heartbeats) from node2
    for i in range(400):
        net.inject("node1", ClientSend(i, "bulk", b"x"))
    assert len(net.nodes["node1"].machine.queue) > 100
    net.cut = set()
    net.run_for(6000)
    got = [d for d in net.delivered("node2") if d.msgtype == "bulk"]
    assert len(got) == 400


def test_a_stalled_node_does_not_declare_its_peers_dead_when_it_wakes():
    net = Net(["node1", "node2"])
    net.run_for(1000)
    net.pause("node1")
    net.run_for(1200)  # node1 hangs for more than deadtime; node2 keeps sending
    net.resume("node1", timers_first=True)  # worst case: the timer runs before the backlog is read
    net.run_for(300)
    assert not [e for e in net.of_type("node1", NodeStatusChanged) if e.node == "node2" and e.status == "dead"]
    assert any("this node was stalled" in line for line in net.logs("node1"))
    assert net.status("node2", "node1") == "active"  # node2 saw it die and come back
    assert any(e.node == "node1" and e.status == "dead" for e in net.of_type("node2", NodeStatusChanged))
