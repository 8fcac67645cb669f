"""Authentic packets with arbitrary field values (a buggy or hostile peer holding the key) never
crash the messaging core; they are dropped, counted, or handled."""

import random

from hypothesis import given, settings, strategies as st

from messaging.events import PacketIn, Tick
from messaging.machine import HeartbeatMachine, MachineConfig
from messaging.packet import Fields, encode

from harness import KEYS

TYPES = ["status", "NS_rexmit", "NS_nak_rexmit", "NS_ackmsg", "shutdone", "hbapi-clstat", "query-cstatus",
         "respond-cstatus", "reqnodes", "pyhb:x", "pyhb:", "other"]
NAMES = ["t", "src", "seq", "hg", "st", "dt", "dest", "firstseq", "lastseq", "ackseq", "frag", "data", "cn", "cs",
         "qid", "protocol", "srcuuid"]


def machine():
    config = MachineConfig(node="node1", uuid=b"1" * 16, generation=5, nodes=("node1", "node2"), keepalive_ms=100,
                           deadtime_ms=500, warntime_ms=300, initdead_ms=1000, deadping_ms=500, local_links=("eth0",))
    m = HeartbeatMachine(config, KEYS, random.Random(0), 0, 1_700_000_000)
    m.step(0, Tick())
    return m


values = st.one_of(st.text(max_size=12), st.sampled_from(["0", "1", "ff", "-1", "1/0", "2/1", "0/0", "zz", "node1",
                                                          "node2", "99999999999999999999", " 5"]))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TYPES), st.lists(st.tuples(st.sampled_from(NAMES), values), max_size=8),
                          st.binary(max_size=30)), min_size=1, max_size=12))
def test_authentic_garbage_never_crashes_the_core(packets):
    m = machine()
    now = 0
    for msgtype, extra, blob in packets:
        fields = Fields().add("t", msgtype).add("src", "node2")
        for name, value in extra:
            fields.add(name, value)
        fields.add("data", blob)
        now += 7
        m.step(now, PacketIn("eth0", encode(fields, KEYS.active_key)))
        m.step(now, Tick())
    assert m.next_deadline_ms() is not None
