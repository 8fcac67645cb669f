"""assign_best_node reads only the first node of pcmk__sort_nodes' order. `_first_sorted`
takes the first part of the sort key (the score, an unavailable node's as -INFINITY) for
every node and the whole key only for the nodes tied on the best one; this compares it with
the least of the whole keys, with ties on the score, on the resource count, the preferred
node, unavailable nodes and both key kinds (placement-strategy default and minimal)."""

from __future__ import annotations

import datetime as _dt
import itertools

from core.cib.scores import INFINITY
from core.cib.xmltree import parse_xml
from pengine import assign, engine

NOW = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)
UNAMES = ("d", "b", "c", "a", "e")


def _cib() -> str:
    nodes = "".join(f'<node id="{i}" uname="{u}"/>' for i, u in enumerate(UNAMES, 1))
    states = "".join(
        f'<node_state id="{i}" uname="{u}" in_ccm="true" crmd="online" join="member" '
        f'expected="member"/>' for i, u in enumerate(UNAMES, 1) if u != "c")  # c is offline
    return (f'<cib epoch="1" have-quorum="1"><configuration><crm_config/><nodes>{nodes}</nodes>'
            f'<resources/></configuration><status>{states}</status></cib>')


def test_the_first_node_is_the_one_of_the_least_whole_key() -> None:
    ws = engine.unpack_cib(parse_xml(_cib(), "t"), NOW)
    assert not ws.node_by_uname["c"].available()
    for node, count in zip(ws.nodes, (2, 0, 1, 0, 2)):
        node.num_resources = count
    checked = 0
    for strategy in ("default", "minimal"):
        ws.placement_strategy = strategy
        for scores in itertools.product((-INFINITY, -1, 0, 10, INFINITY), repeat=4):
            for order in (ws.nodes[:4], ws.nodes[1:][::-1]):
                items = list(zip(order, scores))
                for preferred in (None, ws.nodes[0], ws.nodes[3]):
                    first = min(assign._sort_keys(ws, items, preferred))
                    # outside assign_resources and inside it (the available nodes taken once)
                    for available in (None, frozenset(n for n in ws.nodes if n.available())):
                        ws.assigning_available = available
                        assert assign._first_sorted(ws, items, preferred) == \
                            (first[5], first[6])
                        checked += 1
        assert assign._first_sorted(ws, [], None) is None
    assert checked > 7000
