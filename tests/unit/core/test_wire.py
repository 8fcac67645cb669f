from typing import Optional

import msgpack
import pytest
from hypothesis import given, strategies as st

from core import wire
from core.errors import WireError
from core.messages.hbapi import ClusterMessage, NodeStatusEvent, Query, SignOn
from core.messages.log import LogRecord


def test_roundtrip_of_every_field_kind():
    msgs = [
        SignOn(1, "ccm", 123, ["ccm", "crmd"], True),
        Query(2, "links", {"node": "node2"}),
        ClusterMessage("ccm", "node1", b"\x00\xffpayload", None, 7, 99),
        LogRecord(1.5, "node1", "heartbeat", 10, "info", "hello", {"k": 1}),
    ]
    for msg in msgs:
        assert wire.decode(wire.encode(msg)) == msg


@pytest.mark.parametrize("frame", [
    b"", b"\xc1", msgpack.packb(["XXXX", "hb.query", {}]), msgpack.packb(["PHB1", "nope", {}]),
    msgpack.packb(["PHB1", "hb.query", []]), msgpack.packb(["PHB1", "hb.query", {"what": "x"}]),
    msgpack.packb(["PHB1", "hb.query", {"request_id": "1", "what": "x"}]),
    msgpack.packb(["PHB1", "hb.query", {"request_id": True, "what": "x"}]),
    msgpack.packb(["PHB1", "hb.signon", {"request_id": 1, "client": "c", "pid": 1, "msgtypes": "notalist"}]),
])
def test_bad_frames_raise_wire_error(frame):
    with pytest.raises(WireError):
        wire.decode(frame)


def test_optional_fields_accept_none_and_defaults_apply():
    frame = msgpack.packb(["PHB1", "hb.node_status", {"node": "n", "status": "dead", "node_type": "normal"}])
    event = wire.decode(frame)
    assert isinstance(event, NodeStatusEvent) and event.generation == 0 and event.previous == ""


@given(st.binary(max_size=300))
def test_garbage_never_escapes_as_another_exception(data):
    try:
        wire.decode(data)
    except WireError:
        pass


@given(st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.text(max_size=5) | st.binary(max_size=5),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
                    max_leaves=20))
def test_wellformed_envelopes_with_random_bodies_never_crash(body):
    for tag in ("hb.query", "hb.signon", "hb.send", "log.record", "reply"):
        try:
            wire.decode(msgpack.packb(["PHB1", tag, body], use_bin_type=True))
        except WireError:
            pass
