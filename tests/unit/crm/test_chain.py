"""What a node does with the chain its DC sends with an action (crmd/chain.py): it runs each
held action once everything it waits for has succeeded on the node, judged as the transition
engine judges, drops what waits for a failure, drops what the engine recalls, and forgets the
chains of a DC it no longer follows."""

from __future__ import annotations

import pytest

from crmd.chain import ChainError, Chains, parse_then


def wire(action_id: int, op: str = "start", on_fail: str = "") -> dict:
    attrs = {"CRM_meta_on_fail": on_fail} if on_fail else {}
    return {"id": action_id, "kind": "rsc_op", "operation": op, "operation_key": f"r{action_id}_{op}_0",
            "on_node": "node2", "rsc_id": f"r{action_id}", "attrs": attrs}


def group_chain(book: Chains, dc: str = "node1", head_on_fail: str = "") -> None:
    """a (1) -> b (2) -> c (3), and b's monitor (4) after b, all on node2."""
    then = [{"key": f"k{i}", "action": wire(i, "monitor" if i == 4 else "start"), "after": after}
            for i, after in ((2, [1]), (3, [2]), (4, [2]))]
    book.hold(dc, 7, 1, head_on_fail, parse_then(then))


def ids(held) -> list[int]:
    return [h.action_id for h in held]


def test_each_held_action_runs_once_what_it_waits_for_succeeded_here():
    book = Chains()
    group_chain(book)
    assert len(book) == 3
    ready, dropped = book.result("node1", 7, 1, 0, 0, 0)
    assert (ids(ready), dropped) == ([2], [])
    assert ready[0].key == "k2" and ready[0].action["operation_key"] == "r2_start_0"
    ready, _ = book.result("node1", 7, 2, 0, 0, 0)
    assert ids(ready) == [3, 4], "in the order the engine listed them"
    assert book.result("node1", 7, 2, 0, 0, 0) == ([], []), "a result counts once"
    assert len(book) == 0 and book.by_transition == {}


def test_a_failure_drops_everything_held_behind_it_directly_or_not():
    book = Chains()
    group_chain(book)
    ready, dropped = book.result("node1", 7, 1, 1, 0, 0)  # a returned rc 1
    assert ready == [] and sorted(dropped) == [2, 3, 4]
    assert book.by_transition == {}


def test_a_probe_that_finds_the_resource_stopped_succeeds_and_one_that_finds_it_running_fails():
    book = Chains()
    book.hold("node1", 7, 1, "", parse_then([{"key": "k2", "action": wire(2), "after": [1]}]))
    assert ids(book.result("node1", 7, 1, 7, 0, 7)[0]) == [2]
    book.hold("node1", 8, 1, "", parse_then([{"key": "k2", "action": wire(2), "after": [1]}]))
    assert book.result("node1", 8, 1, 0, 0, 7) == ([], [2])


def test_on_fail_ignore_and_a_timeout_are_judged_as_the_engine_judges():
    book = Chains()
    group_chain(book, head_on_fail="ignore")
    assert ids(book.result("node1", 7, 1, 1, 4, 0)[0]) == [2]
    book = Chains()
    group_chain(book)
    assert book.result("node1", 7, 1, 0, 2, 0)[1] == [2, 3, 4], "rc 0 but timed out (status 2): failed"


def test_recalled_actions_that_have_not_begun_are_dropped_and_named():
    book = Chains()
    group_chain(book)
    book.result("node1", 7, 1, 0, 0, 0)  # b (2) begins
    assert book.recall("node1", 7, (2, 3, 4)) == [3, 4]
    assert book.by_transition == {}
    assert book.recall("node1", 7, (3,)) == []


def test_the_chains_of_a_dc_the_node_no_longer_follows_are_void():
    book = Chains()
    group_chain(book, dc="node1")
    assert book.recall("node3", 7, (2,)) == [], "another DC cannot recall them"
    assert book.result("node3", 7, 1, 0, 0, 0) == ([], []), "nor run them: the new DC decides anew"
    assert book.by_transition == {}
    group_chain(book, dc="node1")
    assert book.void_other_dcs("node3") == 3 and len(book) == 0


def test_a_malformed_chain_is_refused_whole():
    for then in ([{"action": wire(2)}], [{"action": {"kind": "rsc_op"}, "after": [1]}], [5], "x"):
        with pytest.raises(ChainError):
            parse_then(then)


def test_a_recall_from_a_view_not_installed_yet_waits_for_the_chain_it_recalls():
    """The chain's action is held for view 48 while the recall of the same view is taken at once:
    what it found nothing of is left out of the chain when that comes; kept for the DC that
    sent it only, and forgotten once view 48 is installed and read."""
    book = Chains()
    assert book.recall("node1", 7, (4,), ahead_view=48) == []
    then = [{"key": f"k{i}", "action": wire(i, "monitor" if i == 4 else "start"), "after": after}
            for i, after in ((2, [1]), (3, [2]), (4, [2]))]
    assert book.hold("node2", 7, 1, "", parse_then(then)) == [], "another DC's recall"
    book.void_other_dcs("node1")
    assert book.hold("node1", 7, 1, "", parse_then(then)) == [4]
    assert sorted(h.action_id for h in book.by_transition[7].held) == [2, 3]
    book.forget_early(48)
    assert book.early == {}
    book.recall("node1", 9, (5,))  # in an installed view: nothing is kept
    assert book.early == {}
