"""Who can form a view with whom: the connectivity graph and its deterministic split into groups.

Every node publishes a *row*: the nodes it hears (messaging says alive, and their ccm state of the
current incarnation arrived), each with the incarnation it heard. Rows travel in every state
message and are relayed (the newest (incarnation, version) of each origin wins), so nodes on both
ends of a one-way link still learn each other's rows through third nodes.

Two nodes are *connected* when each one's row lists the other's current incarnation. A view must
be a clique of connected nodes. `partition` splits all known nodes into cliques with a rule that
depends only on the graph, never on who computes it: repeatedly take the remaining nodes, drop
the node with the fewest connections inside them (ties: the lowest-ranked, i.e. latest in the
configured node order) until the rest is a clique; that clique is a group; repeat with the dropped
nodes. Nodes that hold the same rows therefore compute the same groups and the same leader (the
highest-ranked node of the group), which is what keeps one-way links from making views flap.
"""

from __future__ import annotations

from typing import Callable, Iterable

from ccm.protocol import Member, Row


def rank_key(order: dict[str, int]) -> Callable[[str], tuple[int, str]]:
    """Configured nodes in their ha.cf order, then others by name."""
    size = len(order)
    return lambda name: (order.get(name, size), name)


def partition(rows: dict[str, Row], key: Callable[[str], tuple[int, str]]) -> list[tuple[Member, ...]]:
    """Split the nodes with rows into groups (cliques), each sorted by rank; groups in the order found."""
    names = sorted(rows, key=key)
    index = {name: i for i, name in enumerate(names)}
    inc = [rows[name][0] for name in names]
    count = len(names)
    adjacency = [0] * count
    for i, name in enumerate(names):
        hears = rows[name][2]
        for other, other_inc in hears.items():
            j = index.get(other)
            if j is None or j == i or inc[j] != other_inc:
                continue
            back = rows[other][2].get(name)
            if back == inc[i]:
                adjacency[i] |= 1 << j
    remaining = (1 << count) - 1
    groups: list[tuple[Member, ...]] = []
    while remaining:
        group = remaining
        while True:
            worst, worst_degree, clique = -1, count + 1, True
            members = _bits(group)
            size = len(members)
            for i in members:
                degree = bin(adjacency[i] & group).count("1")
                if degree != size - 1:
                    clique = False
                # lowest degree loses; among equals the lowest-ranked (largest index)
                if degree <= worst_degree:
                    worst, worst_degree = i, degree
            if clique:
                break
            group &= ~(1 << worst)
        groups.append(tuple((names[i], inc[i]) for i in _bits(group)))
        remaining &= ~group
    return groups


def _bits(mask: int) -> list[int]:
    out = []
    i = 0
    while mask:
        if mask & 1:
            out.append(i)
        mask >>= 1
        i += 1
    return out


def group_of(groups: Iterable[tuple[Member, ...]], name: str) -> tuple[Member, ...]:
    for group in groups:
        for member, _ in group:
            if member == name:
                return group
    return ()
