"""ha-logd's core: valid records become lines, garbage is counted and reported without flooding."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import wire
from core.messages.common import PingRequest
from core.messages.log import LogRecord
from core.sansio import Stop, Tick, WallClock
from logd.core import REPORT_INTERVAL_MS, Frame, LogdCore, Write


def rec(text="hello", level="info", daemon="messaging", node="node2", pid=42, ts=1000.5) -> bytes:
    return wire.encode(LogRecord(ts_s=ts, node=node, daemon=daemon, pid=pid, level=level, text=text))


def frame(*parts: bytes) -> Frame:
    return Frame(parts=tuple(parts))


def test_a_record_becomes_one_line_with_its_own_origin():
    core = LogdCore(node="node1", pid=7)
    out = core.step(0, frame(rec()))
    assert out == [Write(1000.5, "node2", "messaging", 42, "info", "hello")]
    assert core.counters.records == 1 and core.counters.garbage == 0
    assert core.next_deadline_ms() is None


def test_multi_line_text_gives_one_line_each_and_drops_trailing_newlines():
    core = LogdCore(node="node1", pid=7)
    out = core.step(0, frame(rec("Traceback:\r\n  line 1\n  line 2\n\n")))
    assert [w.text for w in out] == ["Traceback:", "  line 1", "  line 2"]
    assert core.counters.lines == 3


def test_whitespace_in_names_cannot_break_the_line_shape():
    out = LogdCore(node="n", pid=1).step(0, frame(rec(daemon="my daemon", node=" ")))
    assert out[0].daemon == "my_daemon" and out[0].node == "?"


def test_huge_text_is_cut():
    out = LogdCore(node="n", pid=1).step(0, frame(rec("x" * 100_000)))
    assert len(out) == 1 and len(out[0].text) < 17_000 and out[0].text.endswith("more characters cut]")


def test_first_garbage_is_reported_at_once_then_summarised_per_interval():
    core = LogdCore(node="node1", pid=7)
    first = core.step(100, frame(b"\xc1garbage"))
    assert len(first) == 1 and first[0].level == "warn" and first[0].daemon == "logd"
    assert "dropped 1 garbage frame" in first[0].text and first[0].node == "node1" and first[0].pid == 7
    assert core.next_deadline_ms() is None  # nothing unreported
    for i in range(5):
        assert core.step(200 + i, frame(b"x" * i)) == []
    assert core.step(300, frame(rec())) != []  # good records still flow
    assert core.next_deadline_ms() == 100 + REPORT_INTERVAL_MS
    assert core.step(100 + REPORT_INTERVAL_MS - 1, Tick()) == []
    summary = core.step(100 + REPORT_INTERVAL_MS, Tick())
    assert len(summary) == 1 and "dropped 5 garbage frames" in summary[0].text and "6 so far" in summary[0].text
    assert core.next_deadline_ms() is None
    assert core.counters.garbage == 6 and core.counters.records == 1


def test_garbage_after_a_quiet_interval_is_reported_at_once():
    core = LogdCore(node="node1", pid=7)
    core.step(0, frame(b"junk"))
    assert len(core.step(REPORT_INTERVAL_MS + 5, frame(b"junk"))) == 1


def test_kinds_of_garbage():
    core = LogdCore(node="node1", pid=7)
    bad = [
        (b"", "not msgpack"),
        (msgpack.packb(["XXXX", "log.record", {}]), "signature"),
        (wire.encode(PingRequest(request_id=1)), "is not a log record"),
        (rec(level="shout"), "unknown level"),
        (msgpack.packb(["PHB1", "log.record", {"ts_s": 1.0}]), "missing field"),
    ]
    for i, (data, reason) in enumerate(bad):
        out = core.step(i * REPORT_INTERVAL_MS, frame(data))
        assert len(out) == 1 and reason in out[0].text, (reason, out)
    out = core.step(10 * REPORT_INTERVAL_MS, frame(rec(), rec()))
    assert "multipart" in out[0].text
    assert core.counters.garbage == len(bad) + 1 and core.counters.records == 0


def test_stopping_reports_what_is_unreported_and_the_totals():
    core = LogdCore(node="node1", pid=7)
    core.step(0, frame(rec()))
    core.step(1, frame(b"a"))
    core.step(2, frame(b"b"))
    core.step(3, WallClock(5000 - 3))
    out = core.step(3, Stop())
    assert out[1].ts_s == 5.0
    assert [w.level for w in out] == ["warn", "info"]
    assert "1 records written, 2 garbage frames dropped" in out[1].text


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=64), min_size=1, max_size=3))
def test_no_frame_can_crash_the_core(parts):
    core = LogdCore(node="node1", pid=7)
    out = core.step(0, Frame(parts=tuple(parts)))
    assert core.counters.records + core.counters.garbage == 1
    assert all(isinstance(w, Write) for w in out)


@given(st.text(max_size=200), st.sampled_from(["debug", "info", "notice", "warn", "error", "crit"]))
def test_every_valid_record_is_written_without_newlines(text, level):
    out = LogdCore(node="node1", pid=7).step(0, frame(rec(text, level=level)))
    assert out and all("\n" not in w.text and w.level == level for w in out)


def test_a_core_cannot_log_at_a_level_logd_would_drop():
    """logd counts a record of an unknown level as garbage and drops its line (crmd's quorum
    lapse said "warning" and was lost in the lab): a core's Log effect refuses it at once."""
    from core.sansio import Log

    with pytest.raises(ValueError, match="warning"):
        Log("warning", "quorum lapsed")
    assert Log("warn", "quorum lapsed").level == "warn"
