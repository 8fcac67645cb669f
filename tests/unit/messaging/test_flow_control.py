"""Flow control after a partition, a restart and under a one-way link: client messages wait for
acknowledgements only from peers that can send them."""

from messaging.events import ClientSend

from harness import Net


def sent_bulk(net: Net, name: str) -> int:
    return len([d for d in net.delivered(name) if d.msgtype == "bulk"])


def long_uptime(names) -> Net:
    net = Net(names)
    net.run_for(1000)
    for i in range(300):  # node1 sends more than the 250-packet window, all acknowledged
        net.inject("node1", ClientSend(1000 + i, "warmup", b"w"))
        net.run_for(5)
    net.run_for(1000)
    assert net.nodes["node1"].machine.history.highest_sent > 300
    return net


def test_a_peer_back_from_a_partition_is_owed_nothing_sent_before():
    net = long_uptime(["node1", "node2", "node3"])
    net.cut = {(a, "node3", "eth0") for a in ("node1", "node2")} | {("node3", b, "eth0") for b in ("node1", "node2")}
    net.run_for(1500)
    assert net.status("node1", "node3") == "dead"
    net.cut = set()
    net.run_for(150)  # node3 is heard again, long before it acknowledges anything
    assert net.status("node1", "node3") != "dead"
    before = sent_bulk(net, "node2")
    net.inject("node1", ClientSend(1, "bulk", b"x"))
    assert not net.nodes["node1"].machine.queue
    net.run_for(50)
    assert sent_bulk(net, "node2") == before + 1


def test_a_restarted_peer_is_owed_nothing_sent_before():
    net = long_uptime(["node1", "node2"])
    net.crash("node2")
    net.run_for(1000)
    net.restart("node2")
    net.run_for(150)
    net.inject("node1", ClientSend(1, "bulk", b"x"))
    assert not net.nodes["node1"].machine.queue


def test_a_peer_that_cannot_hear_us_does_not_stop_our_messages():
    net = Net(["node1", "node2", "node3"])
    net.run_for(1000)
    net.cut = {("node1", "node2", "eth0")}  # node2 never hears node1; node1 hears node2
    for i in range(400):  # far more than the window's 250 packets
        net.inject("node1", ClientSend(i, "bulk", b"x"))
        net.run_for(10)
    net.run_for(1000)
    assert net.status("node1", "node2") == "active"
    assert not net.nodes["node1"].machine.queue
    assert sent_bulk(net, "node3") == 400
