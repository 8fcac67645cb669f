"""`hb sim membership`: one line per run, a summary, a replayable trace for one seed."""

from __future__ import annotations

import pytest

from sim.cli import main, parse_faults, parse_nodes


def test_one_line_per_run_and_a_summary(capsys):
    assert main(["membership", "--nodes", "2-4", "--seeds", "3", "--faults", "partition,crash"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:4] for line in lines[:3]] == [["seed", "0", "nodes", "2"], ["seed", "1", "nodes", "3"],
                                                       ["seed", "2", "nodes", "4"]]
    assert all(" ok: converged " in line for line in lines[:3])
    assert lines[3].startswith("3 runs, 0 violations")


def test_one_seed_with_its_trace(capsys):
    assert main(["membership", "--nodes", "5", "--seed", "77", "--trace"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("seed 77 nodes 5 ok")
    assert "START" in out and "messaging starts, generation 1" in out and "VIEW " in out and "HEAL: network restored" in out
    assert "1 runs, 0 violations" in out


def test_option_parsing():
    assert parse_nodes("3") == (3, 3) and parse_nodes("2-7") == (2, 7)
    assert parse_faults("none") == () and parse_faults("loss,pause") == ("loss", "pause")
    with pytest.raises(Exception):
        parse_faults("meteor")
    with pytest.raises(Exception):
        parse_nodes("1-3")
