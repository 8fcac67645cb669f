"""bench/compare.py's figures: outages, gaps and double owners read from an observer's event log,
and the table with its ratios (lab/compare_report.py, pure)."""

from __future__ import annotations

from lab import compare_report as r

ADDR = {"198.18.200.11": "node1", "198.18.200.12": "node2"}


def up(ms: float, answer: str, **extra: object) -> dict:
    return {"ev": "tcp_up", "mono_ms": ms, "answer": answer, **extra}


def down(ms: float, last_ok: float | None) -> dict:
    return {"ev": "tcp_down", "mono_ms": ms, "last_ok": {"mono_ms": last_ok} if last_ok is not None else None}


EVENTS = [
    up(100, "node1 198.18.200.11"),
    down(1300, 1000),                       # nothing answers from 1000 ...
    up(1800, "node2 198.18.200.12"),        # ... to 1800: 800 ms
    up(5000, "node1 198.18.200.11"),        # a handover without a gap
    {"ev": "conflict", "mono_ms": 5010, "round": {"mono_ms": 5000}, "macs": ["a", "b"]},
    {"ev": "conflict_end", "mono_ms": 5400, "last_round": {"mono_ms": 5390}, "rounds": 40, "macs": ["a", "b"]},
    down(9000, 8800),                       # still down at the end
]


def test_node_of_answer_trusts_the_address_then_the_name():
    assert r.node_of_answer("node2 198.18.200.12", ADDR) == "node2"
    assert r.node_of_answer("pmn1 198.18.200.11", ADDR) == "node1"
    assert r.node_of_answer("node1 none", ADDR) == "node1"
    assert r.node_of_answer("stranger 10.0.0.1", ADDR) is None
    assert r.node_of_answer(None, ADDR) is None


def test_gaps_are_clipped_to_the_window_and_an_ongoing_outage_runs_to_its_end():
    assert r.down_intervals(EVENTS) == [(1000.0, 1800.0), (8800.0, None)]
    assert r.longest_gap(EVENTS, 0, 10000) == 1200.0       # 8800 -> 10000, still down
    assert r.longest_gap(EVENTS, 1500, 4000) == 300.0      # only the end of the first outage
    assert r.longest_gap(EVENTS, 2000, 8000) == 0.0        # the handover at 5000 left no gap


def test_first_answer_from_a_node_after_the_fault():
    got = r.first_answer(EVENTS, 1200, lambda a: r.node_of_answer(a, ADDR) == "node2")
    assert got is not None and got["mono_ms"] == 1800
    assert r.first_answer(EVENTS, 2000, lambda a: r.node_of_answer(a, ADDR) == "node2") is None


def test_double_owner_episodes_overlapping_the_window():
    assert len(r.conflicts_between(EVENTS, 4000, 6000)) == 1
    assert len(r.conflicts_between(EVENTS, 5200, 5300)) == 1   # inside the episode
    assert r.conflicts_between(EVENTS, 5500, 9000) == []
    ongoing = EVENTS[:5]  # no conflict_end yet: still two owners
    assert r.conflicts_between(ongoing, 7000, 8000)[0]["end_ms"] is None


def test_tcp_state_is_the_last_transition():
    assert r.tcp_state(EVENTS) == ("down", None, 9000.0)
    assert r.tcp_state(EVENTS[:4]) == ("up", "node1 198.18.200.11", 5000.0)
    assert r.tcp_state([]) == ("unknown", None, None)


def rows() -> list[dict]:
    out = []
    for run, (a, b) in enumerate([(700, 1000), (800, 1100), (900, 1200)], 1):
        out.append({"stack": "ours", "profile": "fast", "run": run, "fault": "link", "outage_ms": a, "conflicts": 0})
        out.append({"stack": "heartbeat", "profile": "fast", "run": run, "fault": "link", "outage_ms": b,
                    "conflicts": 1})
    out.append({"stack": "heartbeat", "profile": "fast", "run": 4, "fault": "link", "error": "no answer"})
    out.append({"stack": "ours", "profile": "fast", "run": 1, "fault": "move", "outage_ms": 80, "conflicts": 0})
    out.append({"stack": "keepalived", "profile": "fast", "run": 1, "fault": "move", "unsupported": "no move"})
    return out


def test_cells_medians_p99_and_failures():
    cells = r.cells(rows())
    ours, hb = cells[("link", "fast", "ours")], cells[("link", "fast", "heartbeat")]
    assert (ours.n, ours.median, ours.p99, ours.conflicts) == (3, 800, 900, 0)
    assert (hb.n, hb.median, hb.p99, hb.conflicts, hb.failed) == (3, 1100, 1200, 3, 1)
    assert r.ratio(ours, hb) == 800 / 1100
    assert r.ratio(ours, cells[("move", "fast", "keepalived")]) is None
    assert r.percentile([5, 1, 3], 50) == 3 and r.percentile([5, 1, 3], 99) == 5


def test_the_table_has_a_line_per_fault_and_profile_with_ratio_and_unsupported_cells():
    text = r.render_table(rows(), ["ours", "heartbeat", "keepalived"], ["link", "move"], ["fast"])
    lines = text.splitlines()
    assert lines[0].split("|")[1].strip() == "ours"
    link = next(line for line in lines if line.startswith("link"))
    assert "3/4" in link and "0.73" in link  # a failed run shows in n; ratio 800/1100
    move = next(line for line in lines if line.startswith("move"))
    assert "not supported" in move and "80" in move
