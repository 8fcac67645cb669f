"""A colocation's merge reads, for each node of the table it updates, the resource's best
score on an available node with the same value of the colocation's node attribute.
`assign._add_matching_scores` reads those nodes from the run's index of nodes by lower-cased
value (`pengine/nodegroups.py`) instead of a table of every value built for each merge; these
tests compare it with that table (`assign._best_scores_by_value`, which it still uses for a
node the index does not hold), with values shared by several nodes, differing in case, absent,
unavailable nodes and every factor kind; and `assign.apply_coloc_to_weights`, which reads the
nodes of the primary's node's value from the same index, with the values compared node by
node."""

from __future__ import annotations

import copy
import datetime as _dt
import itertools

from core.cib.scores import INFINITY, add_scores
from core.cib.xmltree import parse_xml
from pengine import assign, engine
from pengine import model as m
from pengine.nodegroups import value_groups

NOW = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)
NODES = [("1", "a", "east"), ("2", "b", "East"), ("3", "c", "west"), ("4", "d", None),
         ("5", "e", None), ("6", "f", "west")]


def _cib() -> str:
    nodes = []
    for ident, uname, site in NODES:
        attrs = ("" if site is None else
                 f'<instance_attributes id="n{ident}-a"><nvpair id="n{ident}-s" name="site" '
                 f'value="{site}"/></instance_attributes>')
        nodes.append(f'<node id="{ident}" uname="{uname}">{attrs}</node>')
    states = "".join(
        f'<node_state id="{ident}" uname="{uname}" in_ccm="true" crmd="online" join="member" '
        f'expected="member"/>' for ident, uname, _ in NODES if uname != "c")  # c is offline
    return (f'<cib epoch="1" have-quorum="1"><configuration><crm_config/><nodes>{"".join(nodes)}'
            f'</nodes><resources><primitive id="r" class="ocf" provider="pacemaker" '
            f'type="Dummy"/></resources></configuration><status>{states}</status></cib>')


def _scanned(nodes: dict, rsc, attr, factor: float, only_positive: bool) -> dict:
    """The merge with the table of every value (the rule as written before the index)."""
    key = attr or "#uname"
    best = assign._best_scores_by_value(rsc, key)
    result = dict(nodes)
    saved = rsc.ws.node_value_groups
    rsc.ws.node_value_groups = {key: {}}  # an index holding no node: every node is scanned
    try:
        assign._add_matching_scores(result, rsc, attr, factor, only_positive)
    finally:
        rsc.ws.node_value_groups = saved
    assert best is not None
    return result


def test_value_groups_are_the_nodes_of_each_lower_cased_value() -> None:
    ws = engine.unpack_cib(parse_xml(_cib(), "t"), NOW)
    groups = value_groups(ws, "site")
    by_name = {node.uname: sorted(other.uname for other in group)
               for node, group in groups.items()}
    assert by_name == {"a": ["a", "b"], "b": ["a", "b"], "c": ["c", "f"], "d": ["d", "e"],
                       "e": ["d", "e"], "f": ["c", "f"]}
    assert all(len(value_groups(ws, "#uname")[node]) == 1 for node in ws.nodes)


def test_a_merge_through_the_index_is_the_merge_through_the_table_of_values() -> None:
    ws = engine.unpack_cib(parse_xml(_cib(), "t"), NOW)
    rsc = ws.rsc_by_id["r"]
    assert not ws.node_by_uname["c"].available()
    scores = (-INFINITY, -300, 0, 5, 1000, INFINITY)
    tables = 0
    for attr in (None, "site", "#uname"):
        for allowed in itertools.islice(itertools.product(scores, repeat=len(NODES)), 0, None, 97):
            rsc.allowed = dict(zip(ws.nodes, allowed))
            for before in ((0, 0, 0, 0, 0, 0), (-INFINITY, 7, 0, -INFINITY, -5, 2),
                           (m.INFINITY_HACK, 3, -2, 0, 1, -INFINITY)):
                for factor in (1.0, -1.0, 0.5, -0.25, 0.001):
                    for only_positive in (False, True):
                        start = dict(zip(ws.nodes, before))
                        expected = _scanned(start, rsc, attr, factor, only_positive)
                        # outside assign_resources and inside it (available nodes taken once)
                        for available in (None, frozenset(n for n in ws.nodes
                                                          if n.available())):
                            nodes = dict(start)
                            ws.node_value_groups = {}
                            ws.assigning_available = available
                            assign._add_matching_scores(nodes, rsc, attr, factor, only_positive)
                            ws.assigning_available = None
                            assert nodes == expected, (attr, allowed, before, factor)
                            tables += 1
    assert tables > 1000


def _applied_by_comparing(dependent, primary, con) -> dict:
    """pcmk__apply_coloc_to_weights as Pacemaker writes it: values compared per node."""
    attribute = con.node_attribute or "#id"
    value = None
    if primary.allocated_to is not None:
        value = primary.allocated_to.attrs.get(attribute)
    elif con.score < 0:
        return dependent.allowed
    work = dict(dependent.allowed)
    lvalue = value.lower() if value is not None else None
    for node in work:
        if primary.allocated_to is None:
            work[node] = add_scores(-con.score, work[node])
            continue
        nval = node.attrs.get(attribute)
        # pcmk__str_eq(casei): two missing values are equal
        if (nval.lower() if nval is not None else None) == lvalue:
            if con.score < INFINITY:
                work[node] = add_scores(con.score, work[node])
        elif con.score >= INFINITY:
            work[node] = add_scores(-con.score, work[node])
    if con.score <= -INFINITY or con.score >= INFINITY or assign.any_available(work):
        return work
    return dependent.allowed


def test_a_colocation_applied_through_the_index_is_the_one_compared_node_by_node() -> None:
    ws = engine.unpack_cib(parse_xml(_cib(), "t"), NOW)
    dependent = ws.rsc_by_id["r"]
    primary = copy.copy(dependent)
    con = m.Colocation.__new__(m.Colocation)
    scores = (-INFINITY, -300, 0, 5, INFINITY)
    checked = 0
    for attr in (None, "site", "#uname", "absent"):
        con.node_attribute = attr
        for where in (None, *ws.nodes):
            primary.allocated_to = where
            for score in (-INFINITY, -50, 0, 50, INFINITY):
                con.score = score
                for allowed in itertools.islice(itertools.product(scores, repeat=len(NODES)),
                                                0, None, 211):
                    dependent.allowed = dict(zip(ws.nodes, allowed))
                    expected = _applied_by_comparing(dependent, primary, con)
                    assign.apply_coloc_to_weights(dependent, primary, con)
                    assert dependent.allowed == expected, (attr, where, score, allowed)
                    checked += 1
    assert checked > 2000
