"""Replay protection in the messaging core: a captured stream sent again changes nothing, and
every dropped packet is counted by reason."""

import pytest

from core.config.authkeys import parse_authkeys
from messaging.events import ClientSend, Deliver, Log, PacketIn, Transmit, WallClock
from messaging.replay import ReplayWindow, timestamp_ok

from harness import Net

SECRET = "0123456789abcdef0123456789abcdef"
KEYSETS = {
    "sha1": parse_authkeys("auth 1\n1 sha1 test-secret\n"),
    "aes-256-gcm": parse_authkeys(f"auth 1\n1 aes-256-gcm {SECRET}\n"),
    "chacha20-poly1305": parse_authkeys(f"auth 1\n1 chacha20-poly1305 {SECRET}\n"),
}
SEALED = ("aes-256-gcm", "chacha20-poly1305")


def test_window_remembers_and_slides():
    window = ReplayWindow(size=8)
    assert window.check_and_mark(5) is None
    assert window.check_and_mark(5) == "replayed"
    assert window.check_and_mark(3) is None
    assert window.check_and_mark(3) == "replayed"
    assert window.check_and_mark(12) is None
    assert window.check_and_mark(4) == "outside_window"  # 12 - 4 >= 8
    assert window.check_and_mark(6) is None
    assert window.check_and_mark(6) == "replayed"
    assert window.check_and_mark(1000) is None
    assert window.check_and_mark(12) == "outside_window"
    assert window.bits < 1 << 8


def test_timestamp_bound():
    assert timestamp_ok(1000, 1_000_000, 0)
    assert timestamp_ok(1000, 1_000_000 + 60_000, 60_000)
    assert not timestamp_ok(1000, 1_000_000 + 62_000, 60_000)
    assert not timestamp_ok(1100, 1_000_000, 60_000)


def snapshot(net: Net, name: str):
    machine = net.nodes[name].machine
    return (machine.nodes_view(), machine.links_view(), len(net.delivered(name)),
            {k: v for k, v in machine.counters.items() if not k.startswith("dropped_") and k != "packets_received"},
            {n: (r.expected, r.highest, dict(r.missing)) for n, r in machine.receive.items()})


def captured(net: Net, *senders: str) -> list[bytes]:
    return [e.packet for name in senders for e in net.of_type(name, Transmit)]


def replay(net: Net, into: str, packets: list[bytes], link: str = "eth0") -> list:
    effects = []
    for data in packets:
        effects.extend(net.inject(into, PacketIn(link, data)))
    return effects


def drops(net: Net, name: str) -> dict:
    return {k: v for k, v in net.nodes[name].machine.counters.items() if k.startswith("dropped_")}


@pytest.mark.parametrize("method", sorted(KEYSETS))
def test_replaying_a_captured_stream_changes_nothing(method):
    net = Net(["node1", "node2", "node3"], keys=KEYSETS[method])
    net.run_for(1000)
    for i in range(30):
        net.inject("node2", ClientSend(i, "app", b"payload %d" % i))
    net.run_for(1000)
    stream = captured(net, "node2", "node3")
    assert len(stream) > 40
    before, drops_before = snapshot(net, "node1"), drops(net, "node1")
    effects = replay(net, "node1", stream)
    assert snapshot(net, "node1") == before
    assert all(isinstance(e, Log) for e in effects), effects
    assert not [e for e in effects if isinstance(e, Deliver)]
    after = drops(net, "node1")
    dropped = sum(after.values()) - sum(drops_before.values())
    if method in SEALED:
        assert dropped == len(stream)
    else:
        # signed unsequenced packets (NS_ackmsg) carry no number: only their ts bounds them, and
        # an old acknowledgement changes nothing
        assert dropped == len([p for p in stream if b"(0)seq=" in p])
    if method in SEALED:
        assert after.get("dropped_replayed", 0) - drops_before.get("dropped_replayed", 0) == len(stream)
    else:
        assert after.get("dropped_duplicate", 0) - drops_before.get("dropped_duplicate", 0) > 0
    # and the cluster carries on as before
    net.run_for(1000)
    assert net.status("node1", "node2") == "active" and net.status("node1", "node3") == "active"


@pytest.mark.parametrize("method", sorted(KEYSETS))
def test_a_dead_node_stays_dead_when_its_packets_are_replayed(method):
    net = Net(["node1", "node2", "node3"], keys=KEYSETS[method])
    net.run_for(1500)
    stream = captured(net, "node3")
    net.crash("node3")
    net.run_for(1000)
    assert net.status("node1", "node3") == "dead"
    links_before = net.nodes["node1"].machine.links_view("node3")
    effects = replay(net, "node1", stream[-20:])
    assert net.status("node1", "node3") == "dead"
    assert net.nodes["node1"].machine.links_view("node3") == links_before
    assert all(isinstance(e, Log) for e in effects)


@pytest.mark.parametrize("method", sorted(KEYSETS))
def test_a_restarted_receiver_refuses_a_capture_older_than_the_clock_skew(method):
    """A fresh node knows no generation or seq of its peers: only the timestamp bounds a replay."""
    net = Net(["node1", "node2"], keys=KEYSETS[method], max_clock_skew_ms=5_000)
    net.run_for(1000)
    stream = captured(net, "node2")
    net.crash("node2")
    net.run_for(6_500)
    net.crash("node1")
    net.restart("node1")
    effects = replay(net, "node1", stream)
    assert net.status("node1", "node2") == "init"
    assert drops(net, "node1").get("dropped_clock_skew", 0) == len(stream)
    assert not [e for e in effects if not isinstance(e, (Log, Transmit))]


def test_a_node_whose_clock_is_off_is_dropped_as_clock_skew_and_counted():
    net = Net(["node1", "node2"], keys=KEYSETS["aes-256-gcm"], max_clock_skew_ms=60_000)
    net.run_for(1000)
    net.inject("node2", WallClock(1_700_000_000 + 10 * 60_000))
    net.run_for(2000)
    assert drops(net, "node1").get("dropped_clock_skew", 0) > 10
    assert net.status("node1", "node2") == "dead"
    assert any("dropped packet: clock_skew" in line for line in net.logs("node1"))


def test_skew_check_can_be_turned_off():
    net = Net(["node1", "node2"], keys=KEYSETS["sha1"], max_clock_skew_ms=0)
    net.run_for(1000)
    net.inject("node2", WallClock(1_700_000_000 + 3_600_000))
    net.run_for(2000)
    assert net.status("node1", "node2") == "active"


@pytest.mark.parametrize("method", sorted(KEYSETS))
def test_copies_on_every_medium_are_not_replays(method):
    net = Net(["node1", "node2", "node3"], keys=KEYSETS[method], links=("eth0", "eth1"))
    net.run_for(3000)
    for name in net.names:
        counters = net.nodes[name].machine.counters
        assert not {k for k in counters if k.startswith("dropped_")}, counters
        assert all(row["status"] == "up" for row in net.nodes[name].machine.links_view())


@pytest.mark.parametrize("method", SEALED)
def test_a_copy_replayed_on_another_link_refreshes_nothing_it_did_not_already(method):
    """eth1 from node2 is cut; replaying node2's eth0 packets on eth1 once each may be counted
    as heard there, but the same packets again are dropped as replayed."""
    net = Net(["node1", "node2"], keys=KEYSETS[method], links=("eth0", "eth1"))
    net.run_for(1000)
    stream = captured(net, "node2")[-5:]
    replay(net, "node1", stream, link="eth1")
    before = drops(net, "node1").get("dropped_replayed", 0)
    replay(net, "node1", stream, link="eth1")
    assert drops(net, "node1").get("dropped_replayed", 0) == before + len(stream)


def test_every_packet_sent_to_a_node_is_accounted_for_by_the_counters():
    """packets_received = accepted + own + dropped_<reason> for the reasons of DROP_REASONS: what
    a fuzzing campaign relies on to count drops by reason."""
    from messaging.machine import DROP_REASONS

    net = Net(["node1", "node2"], keys=KEYSETS["aes-256-gcm"])
    net.run_for(1000)
    stream = captured(net, "node2")
    junk = [b"", b"PHB\x01", b"###\n", stream[0][:30], stream[0][:-1] + b"x", bytes(300)]
    counters = net.nodes["node1"].machine.counters
    before = dict(counters)
    replay(net, "node1", stream + junk)
    added = {k: counters.get(k, 0) - before.get(k, 0) for k in counters}
    dropped = {k: v for k, v in added.items() if k.startswith("dropped_") and v}
    assert set(dropped) <= {f"dropped_{r}" for r in DROP_REASONS}
    assert sum(dropped.values()) == added["packets_received"] == len(stream) + len(junk)
