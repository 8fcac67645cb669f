"""Key rotation without downtime: the sending key changes only when every live node holds it."""

from core.config.authkeys import parse_authkeys
from messaging import keyring, seal
from messaging.events import NodeStatusChanged, PacketIn, ReloadKeys, Transmit
from messaging.packet import Fields, encode

from harness import Net

SECRET = "0123456789abcdef0123456789abcdef"
OLD = parse_authkeys("auth 1\n1 sha1 old-secret\n")
BOTH = parse_authkeys(f"auth 2\n1 sha1 old-secret\n2 aes-256-gcm {SECRET}\n")
NEW = parse_authkeys(f"auth 2\n2 aes-256-gcm {SECRET}\n")


def test_choice_rule():
    keys = BOTH
    assert keyring.choose_sending_key(keys, 1, []) == 2
    assert keyring.choose_sending_key(keys, 1, [frozenset({1, 2}), frozenset({2})]) == 2
    assert keyring.choose_sending_key(keys, 1, [frozenset({1, 2}), frozenset({1})]) == 1
    assert keyring.choose_sending_key(keys, None, [frozenset({1})]) == 1
    assert keyring.choose_sending_key(keys, 2, [frozenset({3})]) == 2  # nobody can hear us anyway


def test_advertisement_only_when_it_matters():
    assert not keyring.advertises(OLD)
    assert keyring.advertises(BOTH) and keyring.advertises(NEW)
    assert keyring.advertisement(BOTH) == "1,2"
    assert keyring.parse_advertisement("1,2") == frozenset({1, 2})
    for bad in (None, "", "x", "0", "16", "1,,2"):
        assert keyring.parse_advertisement(bad) is None


def test_a_classic_single_key_node_sends_heartbeat_306_status_fields():
    net = Net(["node1", "node2"], keys=OLD)
    net.run_for(500)
    packet = net.of_type("node1", Transmit)[-1].packet
    assert b"(0)keys=" not in packet


def deaths(net: Net) -> list:
    return [e for name in net.names for e in net.of_type(name, NodeStatusChanged)
            if e.status == "dead" and e.node != name]


def sending(net: Net, name: str) -> int:
    return net.nodes[name].machine.sending_key


def test_rolling_a_new_sealing_key_one_node_at_a_time_without_downtime():
    net = Net(["node1", "node2", "node3"], keys=OLD)
    net.run_for(1500)
    for name in ("node1", "node2"):
        net.inject(name, ReloadKeys(BOTH))
        net.run_for(700)
        assert sending(net, name) == 1, "a peer does not hold key 2 yet"
    assert not any(seal.is_sealed(e.packet) for e in net.of_type("node1", Transmit))
    net.inject("node3", ReloadKeys(BOTH))
    net.run_for(700)
    assert [sending(net, n) for n in net.names] == [2, 2, 2]
    recent = [e.packet for n in net.names for e in net.of_type(n, Transmit)[-3:]]
    assert all(seal.is_sealed(p) for p in recent)
    for name in net.names:  # second step: drop the old key
        net.inject(name, ReloadKeys(NEW))
        net.run_for(500)
    net.run_for(1000)
    assert not deaths(net)
    assert all(net.status(a, b) == "active" for a in net.names for b in net.names)
    assert all(net.nodes[n].machine.counters.get("dropped_unknown_key", 0) == 0 for n in net.names)
    assert net.nodes["node1"].machine.auth_view()["peers"] == {"node2": [2], "node3": [2]}


def test_a_peer_that_does_not_advertise_keeps_us_on_the_key_it_signs_with():
    net = Net(["node1", "node2"], keys=OLD)
    net.run_for(1000)
    net.inject("node1", ReloadKeys(BOTH))
    net.run_for(2000)
    assert sending(net, "node1") == 1
    assert net.status("node2", "node1") == "active"
    assert "key 2 waits until every live node holds it" in " ".join(net.logs("node1"))


def test_dead_peers_do_not_hold_the_switch_back_and_a_returning_old_node_is_heard_again():
    net = Net(["node1", "node2", "node3"], keys=OLD)
    net.run_for(1500)
    net.crash("node3")
    net.run_for(1000)
    for name in ("node1", "node2"):
        net.inject(name, ReloadKeys(BOTH))
    net.run_for(500)
    assert sending(net, "node1") == 2
    net.restart("node3")  # still only the old key: it cannot read key 2 ...
    net.run_for(2000)
    assert sending(net, "node1") == 1  # ... so the others go back to key 1 for it
    net.run_for(1500)
    assert all(net.status(a, b) == "active" for a in net.names for b in net.names)


def test_removing_the_sending_key_on_reload_falls_back_to_a_held_one():
    net = Net(["node1", "node2"], keys=BOTH)
    net.run_for(1000)
    assert sending(net, "node1") == 2
    net.inject("node1", ReloadKeys(OLD))
    assert sending(net, "node1") == 1


def test_sealed_heartbeat_advertises_keys_inside_the_seal():
    net = Net(["node1", "node2"], keys=BOTH)
    net.run_for(500)
    status = net.of_type("node1", Transmit)[-1].packet
    assert seal.is_sealed(status) and b"keys" not in status
    opened = seal.Sealer(BOTH, "linux-ha").open(status, ["node1"])
    assert opened.fields.text("keys") == "1,2"


def test_a_forged_advertisement_needs_a_key():
    """The `keys` field is inside the authenticated message: without a key nobody can pin us."""
    net = Net(["node1", "node2"], keys=BOTH)
    net.run_for(500)
    wrong = parse_authkeys("auth 1\n1 sha1 guessed\n")
    fields = Fields().add("t", "status").add("st", "active").add("keys", "9").add("src", "node2")
    fields.add("seq", "ffff").add("hg", "1").add("ts", format(1_700_000 + 1, "x"))
    net.inject("node1", PacketIn("eth0", encode(fields, wrong.key(1))))
    assert net.nodes["node1"].machine.counters.get("dropped_bad_auth") == 1
    assert sending(net, "node1") == 2
