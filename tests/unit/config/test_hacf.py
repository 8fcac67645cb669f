import pytest
from hypothesis import given, strategies as st

from core.config import parse_hacf, parse_time_ms
from core.config.timeparse import format_ms
from core.errors import ConfigError

BASE = """
keepalive 100ms
deadtime 500ms
warntime 300ms
initdead 2
udpport 694
bcast eth0
auto_failback on
node node1
node node2
"""


def parse(text, node="node1", interfaces=frozenset({"eth0", "eth1", "lo"})):
    return parse_hacf(text, "/etc/ha.d/ha.cf", node, set(interfaces))


def error_of(text, **kw):
    with pytest.raises(ConfigError) as info:
        parse(text, **kw)
    return str(info.value)


def test_fast_profile_is_parsed_with_times_in_ms():
    cfg = parse(BASE)
    assert (cfg.keepalive_ms, cfg.deadtime_ms, cfg.warntime_ms, cfg.initdead_ms) == (100, 500, 300, 2000)
    assert cfg.nodes == ("node1", "node2")
    assert cfg.media[0].kind == "bcast" and cfg.media[0].dev == "eth0" and cfg.media[0].port == 694
    assert cfg.auto_failback == "on"


def test_defaults_follow_heartbeat():
    cfg = parse("bcast eth0\nnode node1\nauto_failback off\n")
    assert cfg.keepalive_ms == 1000 and cfg.deadtime_ms == 30000
    assert cfg.warntime_ms == 15000 and cfg.initdead_ms == 30000 and cfg.deadping_ms == 30000
    assert cfg.udpport == 694 and cfg.realtime is True and cfg.crm == "off"


@pytest.mark.parametrize("deadtime,expected", [("5", 12000), ("8", 16000), ("20", 20000)])
def test_initdead_default_depends_on_deadtime(deadtime, expected):
    cfg = parse(f"bcast eth0\nnode node1\nauto_failback on\ndeadtime {deadtime}\nkeepalive 1\n")
    assert cfg.initdead_ms == expected


def test_unknown_directive_names_file_and_line():
    assert error_of(BASE + "frobnicate yes\n") == "/etc/ha.d/ha.cf:11: unknown directive 'frobnicate'"


def test_bad_time_is_an_error_with_its_line():
    assert error_of("keepalive 1xs\n" + BASE).startswith("/etc/ha.d/ha.cf:1: keepalive: bad time value")


def test_unknown_interface_is_an_error():
    assert error_of(BASE + "bcast eth9\n") == "/etc/ha.d/ha.cf:11: bcast: unknown interface 'eth9'"


def test_node_not_in_list_is_an_error():
    msg = error_of(BASE, node="node3")
    assert "this node (node3) is not in the node list" in msg and msg.startswith("/etc/ha.d/ha.cf:")


def test_autojoin_allows_unlisted_node():
    assert parse(BASE + "autojoin any\n", node="node3").autojoin == "any"


def test_no_media_is_an_error():
    assert "no heartbeat media" in error_of("node node1\nauto_failback on\n")


def test_deadtime_not_above_keepalive_is_an_error():
    assert "must be greater than keepalive" in error_of(BASE + "deadtime 100ms\n")


def test_initdead_below_deadtime_is_an_error():
    assert "initdead (300 ms) must not be less than deadtime" in error_of(BASE + "initdead 300ms\n")


def test_warnings_as_heartbeat_gives_them():
    cfg = parse("bcast eth0\nnode node1\nkeepalive 1\ndeadtime 1500ms\ninitdead 2\n")
    text = "\n".join(cfg.warnings)
    assert "less than 2 x keepalive" in text
    assert "less than 2 x deadtime" in text
    assert "no auto_failback given" in text


def test_media_forms():
    cfg = parse(BASE + "mcast eth1 239.0.0.1 694 1 0\nucast eth1 198.18.0.12\nserial /dev/ttyS0\n")
    kinds = [(m.kind, m.dev) for m in cfg.media]
    assert kinds == [("bcast", "eth0"), ("mcast", "eth1"), ("ucast", "eth1"), ("serial", "/dev/ttyS0")]
    mcast = cfg.media[1]
    assert (mcast.group, mcast.port, mcast.ttl, mcast.loop) == ("239.0.0.1", 694, 1, False)
    assert cfg.media[2].peer == "198.18.0.12"


def test_mcast_group_must_be_multicast():
    assert "not a multicast group" in error_of(BASE + "mcast eth0 10.0.0.1 694 1 0\n")


def test_udpport_after_media_applies_to_them():
    cfg = parse("bcast eth0\nnode node1\nauto_failback on\nudpport 7000\n")
    assert cfg.media[0].port == 7000


def test_every_heartbeat3_directive_is_accepted():
    text = BASE + """
logfile /var/log/ha-log
debugfile /var/log/ha-debug
logfacility local0
use_logd yes
conn_logd_time 60
crm respawn
deadping 20
baud 19200
hopfudge 1
stonith baytech /etc/ha.d/conf/stonith.baytech
stonith_host * baytech 10.0.0.3 mylogin mysecretpassword
watchdog /dev/watchdog
ping 198.18.0.1
ping_group group1 198.18.0.2 198.18.0.3
respawn hacluster /usr/lib/heartbeat/ipfail
apiauth ipfail gid=haclient uid=hacluster
uuidfrom file
hbgenmethod file
realtime on
debug 1
msgfmt netstring
compression bz2
compression_threshold 2
traditional_compression no
coredumps true
max_rexmit_delay 250
env FOO=bar
"""
    cfg = parse(text)
    assert cfg.crm == "respawn" and cfg.use_logd and cfg.logfacility == "local0"
    assert cfg.ping_nodes == ("198.18.0.1",)
    assert cfg.ping_groups == (("group1", ("198.18.0.2", "198.18.0.3")),)
    assert cfg.respawns[0].command == ("/usr/lib/heartbeat/ipfail",)
    assert cfg.apiauth[0].uids == ("hacluster",)
    assert any("compression is accepted but not implemented" in w for w in cfg.warnings)
    assert cfg.parameter("keepalive") == "100ms"
    assert cfg.env == (("FOO", "bar"),)


def test_comments_and_case():
    cfg = parse("# comment\nBCAST eth0   # trailing\nNode Node1\nauto_failback on\n")
    assert cfg.nodes == ("node1",)


@given(st.integers(min_value=1, max_value=10**7))
def test_time_roundtrip(value_ms):
    assert parse_time_ms(format_ms(value_ms)) == value_ms


@pytest.mark.parametrize("text,ms", [("2", 2000), ("1.5", 1500), ("100ms", 100), ("2s", 2000), ("250 ms", 250)])
def test_time_syntax(text, ms):
    assert parse_time_ms(text) == ms


@pytest.mark.parametrize("text", ["", "abc", "-1", "1h", "1.2.3"])
def test_bad_times(text):
    with pytest.raises(ValueError):
        parse_time_ms(text)


@given(st.text(max_size=200))
def test_parser_never_crashes_on_garbage(text):
    try:
        parse(text)
    except ConfigError as exc:
        assert str(exc).startswith("/etc/ha.d/ha.cf")


def test_cluster_name_and_clock_skew():
    config = parse(BASE)
    assert config.cluster == "linux-ha" and config.max_clock_skew_ms == 300_000
    config = parse(BASE + "cluster prod-db\nmax_clock_skew 30\n")
    assert config.cluster == "prod-db" and config.max_clock_skew_ms == 30_000
    assert parse(BASE + "max_clock_skew 0\n").max_clock_skew_ms == 0
    assert "ha.cf:11: max_clock_skew" in error_of(BASE + "max_clock_skew soon\n")
    assert "ha.cf:11: cluster" in error_of(BASE + "cluster " + "x" * 65 + "\n")
