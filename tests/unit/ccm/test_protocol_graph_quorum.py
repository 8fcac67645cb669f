"""The ccm wire format, the group computation and the quorum rule."""

from __future__ import annotations

import random

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccm import graph, protocol
from ccm.quorum import QuorumPolicy


def state(**kw) -> protocol.State:
    base = dict(incarnation=3, ts_ms=12345, generation=7, view_instance=12,
                view_members=(("node1", 1), ("node2", 3)), proposal_instance=0, proposal_members=(),
                ack_instance=11, max_instance=16, rows={"node2": (3, 4, {"node1": 1}, ("node3",))},
                promises=(("node2", "node1", 12, 12000),))
    base.update(kw)
    return protocol.State(**base)


def test_round_trip():
    original = state()
    assert protocol.decode(protocol.encode(original)) == original


@pytest.mark.parametrize("payload", [
    b"", b"\xc1", msgpack.packb([2, 1]), msgpack.packb({"a": 1}),
    msgpack.packb([1, -1, 0, 0, 0, [], 0, [], 0, 0, [], []]),
    msgpack.packb([1, 1, 0, 0, 0, ["node1"], 0, [], 0, 0, [], []]),
    msgpack.packb([1, 1, 0, 0, 0, [], 0, [], 0, 0, [["n", 1, 1]], []]),
    msgpack.packb([1, 1, 0, 0, 0, [], 0, [], 0, 0, [], [["a", "b", 1, "x"]]]),
    msgpack.packb([1, 1, 0, 0, 0, [], 0, [], 0, 0, [], [["", "b", 1, 1]]]),
])
def test_garbage_is_a_protocol_error(payload):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(payload)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise_anything_else(data):
    try:
        protocol.decode(data)
    except protocol.ProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-3, 3), st.text(max_size=3), st.lists(st.integers(0, 2), max_size=3),
                          st.none()), min_size=12, max_size=12))
def test_wrong_shapes_never_raise_anything_else(items):
    items[0] = 1
    try:
        protocol.decode(msgpack.packb(items))
    except protocol.ProtocolError:
        pass


# -- groups ------------------------------------------------------------------------------------

KEY = graph.rank_key({f"node{i}": i for i in range(1, 8)})


def rows_from(edges: dict[str, list[str]], incs: dict[str, int] | None = None) -> dict:
    incs = incs or {}
    return {n: (incs.get(n, 1), 1, {h: incs.get(h, 1) for h in heard}, ()) for n, heard in edges.items()}


def test_everyone_connected_is_one_group_in_rank_order():
    edges = {f"node{i}": [f"node{j}" for j in range(1, 5) if j != i] for i in range(1, 5)}
    assert graph.partition(rows_from(edges), KEY) == [tuple((f"node{i}", 1) for i in range(1, 5))]


def test_one_way_link_drops_the_lower_ranked_end():
    edges = {"node1": ["node2", "node3", "node4"], "node2": ["node3", "node4"],  # node2 does not hear node1
             "node3": ["node1", "node2", "node4"], "node4": ["node1", "node2", "node3"]}
    groups = graph.partition(rows_from(edges), KEY)
    assert groups == [(("node1", 1), ("node3", 1), ("node4", 1)), (("node2", 1),)]


def test_two_islands():
    edges = {"node1": ["node2"], "node2": ["node1"], "node3": ["node4", "node5"], "node4": ["node3", "node5"],
             "node5": ["node3", "node4"]}
    groups = graph.partition(rows_from(edges), KEY)
    assert sorted(groups) == [(("node1", 1), ("node2", 1)), (("node3", 1), ("node4", 1), ("node5", 1))]


def test_a_stale_incarnation_is_no_connection():
    edges = {"node1": ["node2"], "node2": ["node1"]}
    rows = rows_from(edges)
    rows["node1"] = (1, 1, {"node2": 1}, ())
    rows["node2"] = (2, 1, {"node1": 1}, ())  # node2 restarted; node1 still lists its old incarnation
    assert sorted(graph.partition(rows, KEY)) == [(("node1", 1),), (("node2", 2),)]


def test_groups_do_not_depend_on_row_order():
    rng = random.Random(5)
    names = [f"node{i}" for i in range(1, 8)]
    for _ in range(50):
        heard = {a: [b for b in names if b != a and rng.random() < 0.7] for a in names}
        rows = rows_from(heard)
        expected = graph.partition(rows, KEY)
        items = list(rows.items())
        rng.shuffle(items)
        assert graph.partition(dict(items), KEY) == expected
        for group in expected:  # every group is a clique of mutual hearing
            for a, _ in group:
                for b, _ in group:
                    assert a == b or (b in heard[a] and a in heard[b])


# -- quorum ------------------------------------------------------------------------------------

def test_strict_majority_of_configured_votes():
    assert QuorumPolicy.for_nodes(("a", "b", "c")).votes_needed(False) == 2
    assert QuorumPolicy.for_nodes(("a", "b", "c", "d")).votes_needed(True) == 3
    assert QuorumPolicy.for_nodes(("a", "b", "c", "d", "e")).votes_needed(True) == 3
    assert QuorumPolicy.for_nodes(("a", "b", "c")).vote("z") == 0


def test_two_node_needs_one_vote_after_both_were_seen():
    policy = QuorumPolicy.for_nodes(("a", "b"))
    assert policy.two_node
    assert policy.votes_needed(False) == 2 and policy.votes_needed(True) == 1
    assert QuorumPolicy.for_nodes(("a", "b"), two_node=False).votes_needed(True) == 2


def test_a_tie_on_connections_drops_the_most_troubled_node():
    """node1 is lossy: its edge to node2 broke, its edge to node3 holds. node1 and node2 both keep
    one connection; node1's states came late to node2 and node3 and theirs to node1."""
    edges = {"node1": ["node3"], "node2": ["node3"], "node3": ["node1", "node2"]}
    rows = rows_from(edges)
    assert graph.partition(rows, KEY) == [(("node1", 1), ("node3", 1)), (("node2", 1),)]  # the rank alone
    troubled = {"node1": ("node2", "node3"), "node2": ("node1",), "node3": ("node1",)}
    rows = {n: (inc, ver, hears, troubled[n]) for n, (inc, ver, hears, _) in rows.items()}
    assert graph.partition(rows, KEY) == [(("node2", 1), ("node3", 1)), (("node1", 1),)]
    # one bad link (node1-node2) counts for both ends: the rank decides, as without troubles
    rows = {n: (inc, ver, hears, {"node1": ("node2",), "node2": ("node1",)}.get(n, ()))
            for n, (inc, ver, hears, _) in rows.items()}
    assert graph.partition(rows, KEY) == [(("node1", 1), ("node3", 1)), (("node2", 1),)]


def test_troubles_never_outweigh_connections_but_between_two_majorities():
    """node4 hears nobody; node1 has the most troubles but the most connections: node4 goes (the
    troubles-first clique, {node4}, is no majority)."""
    edges = {"node1": ["node2", "node3"], "node2": ["node1", "node3"], "node3": ["node1", "node2"], "node4": []}
    rows = {n: (inc, ver, hears, ("node2", "node3") if n == "node1" else ())
            for n, (inc, ver, hears, _) in rows_from(edges).items()}
    assert graph.partition(rows, KEY) == [(("node1", 1), ("node2", 1), ("node3", 1)), (("node4", 1),)]


def with_troubles(rows: dict, troubled: dict[str, tuple[str, ...]]) -> dict:
    return {n: (inc, ver, hears, troubled.get(n, ())) for n, (inc, ver, hears, _) in rows.items()}


FIVE = [f"node{i}" for i in range(1, 6)]


def test_two_lossy_nodes_of_five_leave_the_healthy_majority_together():
    """node1 and node2 drop packets; node3 lost its edges to both, each of them only its edge to
    node3. Connections alone keep the larger clique {1, 2, 4, 5} and split the healthy node3 off
    alone, without quorum; {3, 4, 5} is a majority too, and everything it leaves out is more
    troubled than what it takes in."""
    cut = {("node1", "node3"), ("node3", "node1"), ("node2", "node3"), ("node3", "node2")}
    edges = {a: [b for b in FIVE if b != a and (a, b) not in cut] for a in FIVE}
    rows = rows_from(edges)
    assert graph.partition(rows, KEY) == [(("node1", 1), ("node2", 1), ("node4", 1), ("node5", 1)),
                                          (("node3", 1),)]
    late = {"node1": ("node2", "node3", "node4", "node5"), "node2": ("node1", "node3", "node4", "node5"),
            "node3": ("node1", "node2"), "node4": ("node1", "node2"), "node5": ("node1", "node2")}
    assert graph.partition(with_troubles(rows, late), KEY) == [
        (("node3", 1), ("node4", 1), ("node5", 1)), (("node1", 1), ("node2", 1))]
    # node3 as troubled as the lossy nodes: nothing says it is the healthy one; connections decide
    late.update(node3=("node1", "node2", "node4", "node5"), node4=("node1", "node2", "node3"),
                node5=("node1", "node2", "node3"))
    assert graph.partition(with_troubles(rows, late), KEY)[0] == (
        ("node1", 1), ("node2", 1), ("node4", 1), ("node5", 1))


def test_a_stale_trouble_never_breaks_up_the_majority_of_a_clean_cut():
    """A clean 3 | 2 cut has one majority clique: whoever carries troubles, it is the first group."""
    for troubled in FIVE:
        edges = {a: [b for b in FIVE if b != a and (a in FIVE[:3]) == (b in FIVE[:3])] for a in FIVE}
        rows = with_troubles(rows_from(edges), {troubled: tuple(n for n in FIVE if n != troubled)})
        assert graph.partition(rows, KEY) == [tuple((n, 1) for n in FIVE[:3]), tuple((n, 1) for n in FIVE[3:])]


def test_troubles_only_choose_among_majorities_and_groups_stay_cliques():
    """Random rows and troubles: the groups cover every node once, each a clique; a first group
    other than the connections-first clique is a strict majority whose dropped nodes are all more
    troubled than the ones it took in; with no troubles the two peels are the same."""
    rng = random.Random(11)
    chosen = 0
    for _ in range(400):
        names = FIVE + ["node6", "node7"][:rng.randrange(3)]
        heard = {a: [b for b in names if b != a and rng.random() < 0.8] for a in names}
        late = {a: tuple(b for b in names if b != a and rng.random() < 0.3) for a in names}
        rows = with_troubles(rows_from(heard), late)
        groups = graph.partition(rows, KEY)
        assert sorted(m for g in groups for m, _ in g) == sorted(names)
        for group in groups:
            for a, _ in group:
                for b, _ in group:
                    assert a == b or (b in heard[a] and a in heard[b])
        order, _, adjacency, troubles = graph.connectivity(rows, KEY)
        everyone = (1 << len(order)) - 1
        before = {order[i] for i in graph.bits(graph.peel(everyone, adjacency, troubles, troubles_first=False))}
        first = {m for m, _ in groups[0]}
        if first != before:
            chosen += 1
            assert 2 * len(first) > len(names)
            by_name = dict(zip(order, troubles))
            if before - first:  # (a larger clique that drops nobody needs no comparison)
                assert min(by_name[n] for n in before - first) > max(by_name[n] for n in first - before)
        calm = [0] * len(order)
        assert graph.peel(everyone, adjacency, calm, troubles_first=True) == \
            graph.peel(everyone, adjacency, calm, troubles_first=False)
    assert chosen >= 5  # the draw does reach the choice between two majorities


def test_troubles_travel_as_a_thirteenth_item_and_bad_ones_are_refused():
    """A ccm from before troubles reads the first 12 items and ignores the rest (rolling upgrade);
    its states, without the item, decode with no troubles."""
    items = msgpack.unpackb(protocol.encode(state()), raw=False)
    assert len(items) == 13 and items[12] == [["node2", ["node3"]]] and len(items[10][0]) == 4
    assert len(msgpack.unpackb(protocol.encode(state(rows={"node2": (3, 4, {}, ())})), raw=False)) == 12
    assert protocol.decode(msgpack.packb(items[:12], use_bin_type=True)).rows["node2"][3] == ()
    for bad in (7, [7], [["node2"]], [["node2", "node3"]], [["node2", [""]]], [["node9", ["node3"]]]):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode(msgpack.packb(items[:12] + [bad], use_bin_type=True))
