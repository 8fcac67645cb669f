"""Lab: our IPaddr2 driven by real lrmds in two node namespaces, a client namespace on the same
bridge. The VIP is reachable, moves, the client's ARP cache follows the gratuitous ARP, stop
removes it. Addresses in 198.19.200.0/24 only; everything named lrt*; all torn down after."""

from __future__ import annotations

import os
import time

import pytest

from agents.install import install
from lrmd.testing import LrmdProcess, NetLab

pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")]

VIP = "198.19.200.100"


def _wait(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


@pytest.fixture
def lab(tmp_path):
    ocf_root = str(tmp_path / "ocf")
    install(ocf_root)
    net = NetLab()
    daemons = []
    try:
        net.add_node("a", "198.19.200.1/24")
        net.add_node("b", "198.19.200.2/24")
        net.add_node("c", "198.19.200.3/24")
        for node in ("a", "b"):
            lrmd = LrmdProcess(str(tmp_path / node), ocf_roots=[ocf_root], node=node, netns=net.nodes[node])
            daemons.append(lrmd)
            lrmd.start()
            lrmd.register("vip", "ocf", "IPaddr2", "pyheartbeat",
                          {"ip": VIP, "cidr_netmask": "24", "iflabel": "vip", "arp_count": "3",
                           "arp_interval": "50"})
        yield net, daemons[0], daemons[1]
    finally:
        for lrmd in daemons:
            lrmd.stop()
        net.close()


def test_vip_reachable_moves_with_gratuitous_arp_and_is_removed_by_stop(lab):
    net, node_a, node_b = lab
    assert node_a.run("vip", "monitor").rc == 7  # probe
    start = node_a.run("vip", "start")
    assert (start.rc, start.status) == (0, "done"), start
    assert f"{VIP}/24" in net.addresses("a")
    assert "lrt0:vip" in net.run("a", "ip", "-4", "addr", "show", "dev", "lrt0").stdout
    assert node_a.run("vip", "monitor").rc == 0
    assert net.run("c", "ping", "-c", "1", "-W", "2", VIP).returncode == 0
    assert net.neighbour("c", VIP) == net.mac("a")

    # move it: stop on a, start on b; the client does not send anything meanwhile
    assert node_a.run("vip", "stop").rc == 0
    assert f"{VIP}/24" not in net.addresses("a")
    assert node_b.run("vip", "start").rc == 0
    assert _wait(lambda: net.neighbour("c", VIP) == net.mac("b")), (
        f"client still maps {VIP} to {net.neighbour('c', VIP)}; a={net.mac('a')} b={net.mac('b')}")
    assert net.run("c", "ping", "-c", "1", "-W", "2", VIP).returncode == 0

    # link down on the holder: monitor says failed, not stopped
    net.run("b", "ip", "link", "set", "lrt0", "down")
    down = node_b.run("vip", "monitor")
    assert down.rc == 1 and "link is down" in down.exit_reason
    net.run("b", "ip", "link", "set", "lrt0", "up")
    assert _wait(lambda: node_b.run("vip", "monitor").rc == 0)

    assert node_b.run("vip", "stop").rc == 0
    assert f"{VIP}/24" not in net.addresses("b")
    assert node_b.run("vip", "monitor").rc == 7
    assert node_b.run("vip", "stop").rc == 0  # idempotent
    assert net.run("c", "ping", "-c", "1", "-W", "1", VIP).returncode != 0


def test_without_gratuitous_arp_the_client_cache_keeps_the_old_owner(lab):
    """The control experiment: the cache update above is the gratuitous ARP's doing."""
    net, node_a, node_b = lab
    assert node_a.run("vip", "start").rc == 0
    assert net.run("c", "ping", "-c", "1", "-W", "2", VIP).returncode == 0
    assert net.neighbour("c", VIP) == net.mac("a")
    assert node_a.run("vip", "stop").rc == 0
    node_b.register("vip", "ocf", "IPaddr2", "pyheartbeat",
                    {"ip": VIP, "cidr_netmask": "24", "arp_count": "0"})
    assert node_b.run("vip", "start").rc == 0
    assert not _wait(lambda: net.neighbour("c", VIP) == net.mac("b"), timeout_s=1.0)
    assert net.neighbour("c", VIP) == net.mac("a")
    assert node_b.run("vip", "stop").rc == 0


def test_nic_and_netmask_come_from_the_routing_table_and_legacy_ipaddr_uses_aliases(lab):
    net, node_a, _ = lab
    node_a.register("vip2", "ocf", "IPaddr2", "pyheartbeat", {"ip": "198.19.200.101", "arp_count": "1"})
    assert node_a.run("vip2", "start").rc == 0
    assert "198.19.200.101/24" in net.addresses("a")
    node_a.register("old", "ocf", "IPaddr", "pyheartbeat", {"ip": "198.19.200.102/24/lrt0", "arp_count": "1"})
    assert node_a.run("old", "start").rc == 0
    assert "lrt0:0" in net.run("a", "ip", "-4", "addr", "show", "dev", "lrt0").stdout
    assert node_a.run("old", "monitor").rc == 0
    for rsc in ("vip2", "old"):
        assert node_a.run(rsc, "stop").rc == 0
    node_a.register("bad", "ocf", "IPaddr2", "pyheartbeat", {"ip": "203.0.113.7"})
    bad = node_a.run("bad", "start")
    assert bad.rc == 2 and "no interface" in bad.exit_reason
    node_a.register("worse", "ocf", "IPaddr2", "pyheartbeat", {"ip": "300.1.1.1"})
    assert node_a.run("worse", "validate-all").rc == 6
