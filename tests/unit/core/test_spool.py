"""core.spool and core.wire's by-file marker: a request's large bytes field goes from one daemon
to another of the node as a file in the spool directory, which the receiver maps, unlinks at
once, and reads giving each part back, so that the 175 MB CIB the DC's crmd sends its pengine
is never resident whole in the pengine (it was, as zmq's frames and then as the field)."""

from __future__ import annotations

import os
import pathlib
import sys

import msgpack
import pytest
import zmq

from core import ipc, spool, wire
from core.errors import WireError
import core.messages.log  # noqa: F401  (log.record, a message with a text field)
from core.messages.hbapi import SendCluster
from core.messages.pe import PePrime, PeSchedule

CIB = bytes(range(256)) * ((3 * wire.PART_BYTES) // 256) + b"<tail/>"  # 3 MiB and a bit


def _rss_file_kb() -> int:
    """RssFile of this process (kB): file pages mapped and resident."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    raise AssertionError("no RssFile in /proc/self/status")


def test_a_spooled_field_is_read_back_and_its_file_is_gone(tmp_path: pathlib.Path) -> None:
    writer = spool.Spool(str(tmp_path / "spool"), "crmd")
    name = writer.write(CIB)
    assert name.startswith(f"crmd-{os.getpid()}-")
    mapped = spool.open_mapped(str(tmp_path / "spool"), name, len(CIB))
    assert os.listdir(tmp_path / "spool") == []  # unlinked on opening: nothing left behind
    assert isinstance(mapped, spool.Mapped) and mapped[:] == CIB
    # what the readers use of bytes
    assert mapped.startswith(CIB[5:9], 5) and not mapped.startswith(b"<tail", 0)
    assert mapped.count(b"\x00", 0, 1024) == CIB.count(b"\x00", 0, 1024)
    assert mapped.find(b"<tail/>") == CIB.find(b"<tail/>")


def test_released_pages_leave_the_resident_set(tmp_path: pathlib.Path) -> None:
    big = b"x" * (64 << 20)
    name = spool.Spool(str(tmp_path), "crmd").write(big)
    del big
    mapped = spool.open_mapped(str(tmp_path), name, 64 << 20)
    assert isinstance(mapped, spool.Mapped)
    before = _rss_file_kb()
    assert mapped.count(b"x", 0, len(mapped)) == 64 << 20  # every page read: resident
    read = _rss_file_kb()
    assert read - before > 48 << 10
    mapped.release_below(32 << 20)
    assert read - _rss_file_kb() > 24 << 10
    mapped.release(32 << 20, len(mapped))
    assert _rss_file_kb() - before < 8 << 10
    assert mapped[(48 << 20):(48 << 20) + 3] == b"xxx"  # read again from the page cache


@pytest.mark.parametrize("name", ["../crmd-1-1", "crmd-1-1/x", "passwd", ".crmd-1-1"])
def test_only_spool_names_are_opened(tmp_path: pathlib.Path, name: str) -> None:
    with pytest.raises(WireError):
        spool.open_mapped(str(tmp_path), name, 3)


def test_a_missing_or_short_file_is_a_wire_error(tmp_path: pathlib.Path) -> None:
    name = spool.Spool(str(tmp_path), "crmd").write(b"abc")
    with pytest.raises(WireError):
        spool.open_mapped(str(tmp_path), name, 4)
    with pytest.raises(WireError):
        spool.open_mapped(str(tmp_path), "crmd-1-99", 3)


def test_a_daemon_starting_removes_its_previous_lives_files_only(tmp_path: pathlib.Path) -> None:
    for name in ("crmd-1-1", "crmd-2-5", "pengine-1-1", "notes"):
        (tmp_path / name).write_bytes(b"x")
    writer = spool.Spool(str(tmp_path), "crmd")
    mine = writer.write(b"y")
    spool.Spool(str(tmp_path), "crmd")  # (the same process again: its own file is in flight)
    assert sorted(os.listdir(tmp_path)) == sorted([mine, "notes", "pengine-1-1"])


def test_a_large_bytes_field_goes_by_file_with_a_spool(tmp_path: pathlib.Path) -> None:
    writer = spool.Spool(str(tmp_path), "crmd")
    frames = wire.encode_parts(PeSchedule(1, 7, CIB), writer.write)
    assert len(frames) == 1 and len(frames[0]) < 100  # the name, not the CIB, nor parts
    msg = wire.decode_parts(frames[0], [], None,
                            lambda name, length: spool.open_mapped(str(tmp_path), name, length))
    assert isinstance(msg, PeSchedule) and isinstance(msg.cib, spool.Mapped)
    assert (msg.request_id, msg.transition_id, msg.cib[:]) == (1, 7, CIB)
    # small fields stay in the frame
    assert wire.encode_parts(PePrime(b"<cib/>"), writer.write) == [wire.encode(PePrime(b"<cib/>"))]
    assert os.listdir(tmp_path) == []


def test_a_receiver_without_a_spool_refuses_a_field_by_file(tmp_path: pathlib.Path) -> None:
    frames = wire.encode_parts(PePrime(CIB), spool.Spool(str(tmp_path), "crmd").write)
    with pytest.raises(WireError):
        wire.decode_parts(frames[0], [])
    with pytest.raises(WireError):
        wire.decode(frames[0])


def test_a_file_marker_where_text_is_declared_is_refused() -> None:
    frame = msgpack.packb(["PHB1", "log.record", {"ts_s": 1.0, "node": "a", "daemon": "crmd",
                                                  "pid": 1, "level": "info",
                                                  "text": wire.file_marker(3, "crmd-1-1")}],
                          use_bin_type=True)
    opened: list[str] = []
    with pytest.raises(WireError):
        wire.decode_parts(frame, [], None, lambda name, length: opened.append(name))
    assert opened == []  # refused before the file is touched (opening it removes it)


def test_a_router_reads_a_request_sent_by_file(tmp_path: pathlib.Path) -> None:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.bind("inproc://wire-spool")
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect("inproc://wire-spool")
    writer = spool.Spool(str(tmp_path), "crmd")
    try:
        dealer.send_multipart(wire.encode_parts(PeSchedule(3, 9, CIB), writer.write))
        assert router.poll(5000, zmq.POLLIN)
        reader = ipc.requests(
            router, pytest.fail,
            by_file=lambda frame, name, length: spool.open_mapped(str(tmp_path), name, length))
        _, msg, frame = next(reader)
        assert isinstance(msg.cib, spool.Mapped) and msg.cib[:] == CIB
        assert sys.getrefcount(frame) == 2  # (the opener given the frame is gone with it)
        assert list(reader) == [] and os.listdir(tmp_path) == []
    finally:
        dealer.close(0)
        router.close(0)
        ctx.term()


def test_only_fields_their_class_names_go_by_file(tmp_path: pathlib.Path) -> None:
    """A large bytes field whose readers take bytes (a cluster message's payload) still goes as
    parts; a file marker in its place is refused before the file is touched."""
    writer = spool.Spool(str(tmp_path), "crmd")
    frames = wire.encode_parts(SendCluster(1, "crmd", CIB), writer.write)
    assert len(frames) == 5 and os.listdir(tmp_path) == []
    frame = msgpack.packb(["PHB1", "hb.send", {"request_id": 1, "msgtype": "crmd",
                                              "payload": wire.file_marker(3, "crmd-1-1")}],
                          use_bin_type=True)
    opened: list[str] = []
    with pytest.raises(WireError):
        wire.decode_parts(frame, [], None, lambda name, length: opened.append(name))
    assert opened == []
