"""`hb simulate --json`: placement after the transition (cloned primitives as sorted node lists,
null when stopped) and the transition's start/stop/promote/demote actions with clone instance
numbers folded into the primitive id."""

from __future__ import annotations

import io
import json
import pathlib

from pengine.simulate import run

CASES = pathlib.Path(__file__).resolve().parent / "cases"


def _json(name: str, *args: str) -> dict:
    out = io.StringIO()
    assert run(["-x", str(CASES / f"{name}.xml"), "--json", *args], stdout=out) == 0
    return json.loads(out.getvalue())


def test_clone_instances_fold_into_the_primitive():
    result = _json("clone-with-group", "-i", "base_monitor_10000@node2=1")
    assert result["placement"] == {"base": ["node1", "node2", "node3"], "db": "node2",
                                   "web": "node2"}
    assert result["actions"] == ["base_start_node2", "base_stop_node2", "db_start_node2",
                                 "db_stop_node2", "web_start_node2", "web_stop_node2"]


def test_promotion_is_an_action_and_probes_and_monitors_are_not():
    result = _json("promotable-scores")
    assert "st_promote_node2" in result["actions"]
    assert not any("monitor" in a for a in result["actions"])
    assert result["actions"] == sorted(result["actions"])
    assert result["placement"]["vip"] == "node2"


def test_stopped_is_null():
    result = _json("no-quorum-stop", "-d", "node3", "-q", "false")
    assert result["placement"] == {"A": None, "B": None, "C": None}
    assert result["actions"] == ["A_stop_node1", "B_stop_node2"]
