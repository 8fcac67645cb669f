"""core.ipc.requests: a request is decoded from its frame's buffer and handed over without a
reference kept by the reader, so that a large message's zmq buffer can go before the core's
step (the pengine daemon receives 175 MB CIBs at 32 nodes / 10,000 resources)."""

from __future__ import annotations

import sys

import zmq

from core import ipc, wire
from core.messages.common import PingRequest
from core.messages.pe import PeSchedule


def _pair(name: str) -> tuple[zmq.Context, zmq.Socket, zmq.Socket]:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.bind(f"inproc://{name}")
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(f"inproc://{name}")
    return ctx, router, dealer


def _wait(sock: zmq.Socket) -> None:
    assert sock.poll(5000, zmq.POLLIN), "nothing arrived within 5 s"


def test_the_reader_keeps_no_reference_to_the_frame_it_hands_over() -> None:
    ctx, router, dealer = _pair("ipc-requests-release")
    try:
        cib = b"<cib>" + b"x" * 1_000_000 + b"</cib>"
        dealer.send(wire.encode(PeSchedule(1, 7, cib)))
        dealer.send(b"not msgpack")
        dealer.send(wire.encode(PingRequest(2)))
        _wait(router)
        garbage: list[Exception] = []
        reader = ipc.requests(router, garbage.append)
        identity, msg, frame = next(reader)
        assert isinstance(msg, PeSchedule) and msg.cib == cib and msg.transition_id == 7
        # this name and getrefcount's argument: neither the suspended reader nor a cached
        # copy of the payload holds it
        assert sys.getrefcount(frame) == 2
        frame = None
        _wait(router)
        rest = list(reader)
        assert [type(m) for _, m, _ in rest] == [PingRequest] and len(garbage) == 1
        assert rest[0][0] == identity
    finally:
        dealer.close(0)
        router.close(0)
        ctx.term()
