"""core.wire's parts: a request's large bytes field travels as frames of its own after the
msgpack frame, and the receiver copies them into the field one at a time, dropping each as it
goes, so that a 175 MB CIB is in the pengine's memory once (not as zmq's buffer and msgpack's
copy of it)."""

from __future__ import annotations

import msgpack
import pytest
import zmq

from core import ipc, wire
from core.errors import WireError
from core.messages.pe import PePrime, PeSchedule

CIB = bytes(range(256)) * ((3 * wire.PART_BYTES) // 256) + b"<tail/>"  # 3 parts and a bit


def test_a_large_bytes_field_goes_as_parts_and_comes_back_whole() -> None:
    frames = wire.encode_parts(PeSchedule(1, 7, CIB))
    assert len(frames) == 1 + 4 and len(frames[0]) < 100  # the frame holds a marker, not the CIB
    assert all(len(part) == wire.PART_BYTES for part in frames[1:-1])
    parts = [bytes(part) for part in frames[1:]]
    msg = wire.decode_parts(bytes(frames[0]), parts)
    assert msg == PeSchedule(1, 7, CIB) and parts == []


def test_small_messages_stay_one_frame() -> None:
    assert wire.encode_parts(PePrime(b"<cib/>")) == [wire.encode(PePrime(b"<cib/>"))]


class _Piece:
    """A part that knows how many of its list's parts are alive when it is read."""

    alive = 0

    def __init__(self, data: bytes, seen: list[int]) -> None:
        self.data, self.seen = data, seen
        _Piece.alive += 1

    @property
    def buffer(self) -> memoryview:
        self.seen.append(_Piece.alive)
        return memoryview(self.data)

    def __del__(self) -> None:
        _Piece.alive -= 1


def test_each_part_is_dropped_once_copied() -> None:
    frames = wire.encode_parts(PePrime(CIB))
    seen: list[int] = []
    parts = [_Piece(bytes(part), seen) for part in frames[1:]]
    assert wire.decode_parts(frames[0], parts) == PePrime(CIB)
    assert seen == [4, 3, 2, 1] and _Piece.alive == 0  # the list held the only reference


@pytest.mark.parametrize("cut", ["fewer", "more", "none", "longer"])
def test_parts_that_do_not_add_up_are_refused(cut: str) -> None:
    frames = wire.encode_parts(PePrime(CIB))
    head, parts = bytes(frames[0]), [bytes(part) for part in frames[1:]]
    if cut == "fewer":
        parts.pop()
    elif cut == "more":
        parts.append(b"x")
    elif cut == "none":
        parts = []
    else:
        parts[-1] += b"x"
    with pytest.raises(WireError):
        wire.decode_parts(head, parts)


def test_a_marker_where_text_is_declared_is_refused() -> None:
    frame = msgpack.packb(["PHB1", "pe.schedule", {"request_id": 1, "transition_id": 1,
                                                   "cib": wire.parts_marker(3)}], use_bin_type=True)
    with pytest.raises(WireError):
        wire.decode_parts(frame, [b"abc", b"d"])
    with pytest.raises(WireError):
        wire.decode(frame)


def test_a_router_reads_a_request_sent_as_parts() -> None:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.bind("inproc://wire-parts")
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect("inproc://wire-parts")
    try:
        dealer.send_multipart(wire.encode_parts(PeSchedule(3, 9, CIB)))
        frames = wire.encode_parts(PePrime(CIB))
        dealer.send_multipart(frames[:-1])  # a part short: garbage, and the next one is read
        dealer.send_multipart(wire.encode_parts(PePrime(b"<cib/>")))
        assert router.poll(5000, zmq.POLLIN)
        garbage: list[Exception] = []
        got = []
        for _ in range(50):
            got += [msg for _, msg, _ in ipc.requests(router, garbage.append)]
            if len(got) + len(garbage) == 3:
                break
            router.poll(100, zmq.POLLIN)
        assert got == [PeSchedule(3, 9, CIB), PePrime(b"<cib/>")] and len(garbage) == 1
    finally:
        dealer.close(0)
        router.close(0)
        ctx.term()
