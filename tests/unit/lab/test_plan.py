"""The lab's plan: names fit Linux's limits, addresses stay in 198.18.0.0/15, every generated
ha.cf is accepted by the real parser, and partitions become the right drop rules."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.config import parse_authkeys, parse_hacf
from core.stack import daemons_for
from lab import plan
from lab.plan import LabError, LabSpec

names = st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)
subnets = st.builds(lambda third, prefix: f"198.{18 + third // 256}.{third % 256}.0/{prefix}",
                    st.integers(0, 511), st.integers(20, 26)).filter(
    lambda s: ipaddress.ip_network(s, strict=False).with_prefixlen == s)


def spec(**kw) -> LabSpec:
    return plan.validate(LabSpec(**kw))


@given(names, st.integers(1, plan.MAX_NODES), subnets)
def test_names_fit_and_addresses_stay_in_the_lab_space(name, nodes, subnet):
    s = spec(name=name, nodes=nodes, subnet=subnet)
    everything = plan.node_names(s) + ["client"]
    links = [plan.bridge(s)] + [plan.host_veth(s, n) for n in everything]
    assert all(len(link) <= 15 for link in links) and len(set(links)) == len(links)
    assert len(set(plan.namespaces(s))) == nodes + 1
    addrs = [ipaddress.ip_address(plan.address(s, n)) for n in everything]
    assert len(set(addrs)) == len(addrs)
    net = ipaddress.ip_network(subnet)
    for addr in addrs:
        assert addr in net and addr in plan.LAB_SPACE
        assert addr not in (net.network_address, net.broadcast_address)
    assert ipaddress.ip_address(plan.mcast_group(s)).is_multicast


def test_the_documented_layout():
    s = spec(name="phb", nodes=3)
    assert plan.namespace(s, "node2") == "phb-node2" and plan.namespace(s, "client") == "phb-client"
    assert plan.bridge(s) == "phbbr" and plan.host_veth(s, "node3") == "phbn3" and plan.host_veth(s, "client") == "phbcl"
    assert plan.address(s, "node1") == "198.18.0.11" and plan.address(s, "client") == "198.18.0.50"
    assert s.root == "/tmp/pyhb-lab-phb" and s.udpport == 694
    assert plan.node_dirs(s, "node1") == {k: f"/tmp/pyhb-lab-phb/node1/{k}" for k in ("etc", "run", "state", "log")}
    lo = spec(name="phb", nodes=3, mode="loopback", media="ucast")
    assert plan.address(lo, "node3") == "127.0.0.13" and 1024 < lo.udpport < 65536


@pytest.mark.parametrize("bad, message", [
    (dict(name="toolongname"), "lab name"),
    (dict(name="Phb"), "lab name"),
    (dict(subnet="10.0.0.0/24"), "198.18.0.0/15"),
    (dict(subnet="198.20.0.0/24"), "198.18.0.0/15"),
    (dict(subnet="198.18.0.0/27"), "too small"),
    (dict(subnet="198.18.0.1/24"), "host bits"),
    (dict(nodes=0), "--nodes"),
    (dict(nodes=plan.MAX_NODES + 1), "--nodes"),
    (dict(keepalive_ms=500, deadtime_ms=500), "deadtime"),
    (dict(mode="loopback", media="bcast"), "loopback mode has no bcast"),
    (dict(media="serial"), "media"),
    (dict(nodes=1, media="ucast"), "at least 2 nodes"),
    (dict(mode="vm"), "mode"),
])
def test_bad_specs_are_refused_with_a_reason(bad, message):
    with pytest.raises(LabError, match=message):
        spec(**bad)


@given(st.integers(2, 8), st.sampled_from(["bcast", "mcast", "ucast", "loopback"]),
       st.integers(10, 400), st.integers(2, 10), st.booleans())
def test_every_generated_hacf_is_valid_for_its_node(nodes, media, keepalive, factor, realtime):
    mode = "loopback" if media == "loopback" else "netns"
    s = spec(nodes=nodes, mode=mode, media="ucast" if mode == "loopback" else media,
             keepalive_ms=keepalive, deadtime_ms=keepalive * factor, realtime=realtime)
    interfaces = {"lo"} if mode == "loopback" else {"lo", "eth0"}
    for node in plan.node_names(s):
        config = parse_hacf(plan.render_hacf(s, node), f"{node}/ha.cf", node_name=node, interfaces=interfaces)
        assert config.nodes == tuple(plan.node_names(s))
        assert (config.keepalive_ms, config.deadtime_ms) == (keepalive, keepalive * factor)
        assert config.initdead_ms >= 2 * config.deadtime_ms and config.udpport == s.udpport
        assert config.use_logd and config.logfile.startswith(plan.node_dir(s, node))
        assert config.realtime == realtime and not config.crm_enabled
        assert "logd" in [d.name for d in daemons_for(config)]
        peers = {plan.address(s, p) for p in plan.node_names(s) if p != node}
        if config.media[0].kind == "ucast":
            assert {m.peer for m in config.media} == peers
            assert plan.address(s, node) not in {m.peer for m in config.media}
        else:
            assert [m.kind for m in config.media] == [media]
        if mode == "loopback":
            assert config.bind_address == plan.address(s, node) and all(m.dev == "lo" for m in config.media)


def test_extra_hacf_lines_and_times_are_passed_through():
    s = spec(nodes=2, warntime_ms=300, initdead_ms=5000, debug=1, extra_hacf=("ping 198.18.0.50",))
    config = parse_hacf(plan.render_hacf(s, "node1"), node_name="node1", interfaces={"eth0"})
    assert (config.warntime_ms, config.initdead_ms, config.debug) == (300, 5000, 1)
    assert config.ping_nodes == ("198.18.0.50",)


def test_authkeys_are_sha1_with_the_secret():
    keys = parse_authkeys(plan.render_authkeys("abc123"))
    assert keys.active_key.method == "sha1" and keys.active_key.secret == b"abc123"


@pytest.mark.parametrize("method", plan.AUTH_METHODS)
def test_every_authkeys_method_can_be_given_to_a_lab(method):
    s = plan.validate(spec(auth=method))
    keys = parse_authkeys(plan.render_authkeys("a" * 40, s.auth))
    assert keys.active_key.method == method
    assert LabSpec.from_dict(s.to_dict()).auth == method


def test_an_unknown_auth_method_is_refused():
    with pytest.raises(plan.LabError, match="--auth 'blowfish'"):
        plan.validate(spec(auth="blowfish"))


def test_spec_survives_the_state_file_round_trip():
    s = spec(nodes=4, extra_hacf=("debug 1",), warntime_ms=200)
    assert LabSpec.from_dict(s.to_dict()) == s


def test_groups_and_the_rest():
    s = spec(nodes=5)
    assert plan.parse_groups(s, ["node1,node2,node3", "node4,node5"]) == [["node1", "node2", "node3"], ["node4", "node5"]]
    assert plan.parse_groups(s, ["node2"]) == [["node2"], ["node1", "node3", "node4", "node5"]]
    for words, message in ((["node1,node2,node3,node4,node5"], "two groups"), (["node1", "node1"], "two groups"),
                           (["node9"], "no node"), ([","], "empty")):
        with pytest.raises(LabError, match=message):
            plan.parse_groups(s, words)


@given(st.integers(2, 8), st.data())
def test_cut_pairs_are_symmetric_and_only_across_groups(n, data):
    nodes = [f"node{k}" for k in range(1, n + 1)]
    labels = data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    groups = [[x for x, g in zip(nodes, labels) if g == label] for label in sorted(set(labels))]
    pairs = plan.cut_pairs(groups)
    for a in nodes:
        for b in nodes:
            across = labels[nodes.index(a)] != labels[nodes.index(b)]
            assert ((a, b) in pairs) == across and ((a, b) in pairs) == ((b, a) in pairs)


def test_filter_rules():
    s = spec(nodes=3)
    cuts = plan.cut_pairs([["node1"], ["node2", "node3"]])
    assert plan.filter_rules(s, "node1", cuts) == [
        ["-A", "PYHBLAB-IN", "-s", "198.18.0.12", "-j", "DROP"], ["-A", "PYHBLAB-IN", "-s", "198.18.0.13", "-j", "DROP"]]
    assert plan.filter_rules(s, "node2", cuts) == [["-A", "PYHBLAB-IN", "-s", "198.18.0.11", "-j", "DROP"]]
    lossy = plan.filter_rules(s, "node3", set(), 20)
    assert [r[1] for r in lossy] == ["PYHBLAB-IN", "PYHBLAB-OUT"] and all("0.2000" in r for r in lossy)
    assert plan.filter_rules(s, "node3", set(), 0) == []


def test_hb_lab_up_auth_option_reaches_the_spec():
    from lab import cli

    args = cli.build_parser().parse_args(["up", "--mode", "loopback", "--auth", "chacha20-poly1305"])
    assert cli.spec_from_args(args).auth == "chacha20-poly1305"
    assert cli.spec_from_args(cli.build_parser().parse_args(["up", "--mode", "loopback"])).auth == "sha1"
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["up", "--auth", "rot13"])
