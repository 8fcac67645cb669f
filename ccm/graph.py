"""Who can form a view with whom: the connectivity graph and its deterministic split into groups.

Every node publishes a *row*: the nodes it hears (messaging says alive, and their ccm state of the
current incarnation arrived), each with the incarnation it heard. Rows travel in every state
message and are relayed (the newest (incarnation, version) of each origin wins), so nodes on both
ends of a one-way link still learn each other's rows through third nodes.

Two nodes are *connected* when each one's row lists the other's current incarnation. A view must
be a clique of connected nodes. `partition` splits all known nodes into cliques with a rule that
depends only on the rows, never on who computes it: repeatedly take the remaining nodes, drop
the node with the fewest connections inside them until the rest is a clique; that clique is a
group; repeat with the dropped nodes. Nodes that hold the same rows therefore compute the same
groups and the same leader (the highest-ranked node of the group), which is what keeps one-way
links from making views flap.

Ties among the nodes with the fewest connections go first to the node with the most *troubles*,
then to the lowest-ranked (latest in the configured node order). A row also lists the nodes whose
states lately came in late to its origin (`CcmMachine`: a gap of more than two beats, which on
messaging's in-order delivery means a loss and its resend); a node's troubles are the entries of
its own list plus the lists that name it. One set of connections cannot tell a lossy node from
its healthy peer: when node1's links drop packets and only its edge to node2 breaks, node1 and
node2 both keep one connection (to node3). Their troubles can: node1's states come late to
node2 and node3 and theirs to node1 (4), node2 has only the node1 pair (2). Without them the
healthy, lower-ranked node2 was split off alone, lost quorum and stopped its resources, while
the lossy node1 stayed with node3. Equal troubles (a single bad link: both ends count it; a clean
cut: nobody does) leave the rank to decide, as before.

Connections still come first, with one exception: the choice between two majorities. With two
lossy nodes of five, the healthy node3 can lose its edges to both (two connections gone) while
each lossy node lost only its edge to node3 (one gone): the fewest-connections rule keeps the
larger clique {1, 2, 4, 5} and leaves the healthy node3 alone, without quorum, although
{3, 4, 5} is a majority too. So each group is also peeled a second way, *troubles first*
(among the nodes missing an edge inside the group, drop the most troubled, then the one with
fewest connections, then the lowest-ranked), and that clique is taken instead when it holds a
strict majority of all known nodes and every node it leaves out is more troubled than every
node it brings in. A clean split has one majority clique only, so a stale trouble flag there
changes nothing: troubles never break up the majority side, they only choose between two.
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
    names, inc, adjacency, troubles = connectivity(rows, key)
    count = len(names)
    remaining = (1 << count) - 1
    groups: list[tuple[Member, ...]] = []
    while remaining:
        group = peel(remaining, adjacency, troubles, troubles_first=False)
        other = peel(remaining, adjacency, troubles, troubles_first=True)
        if _prefer(other, group, troubles, count):
            group = other
        groups.append(tuple((names[i], inc[i]) for i in bits(group)))
        remaining &= ~group
    return groups


def connectivity(rows: dict[str, Row], key: Callable[[str], tuple[int, str]]
                 ) -> tuple[list[str], list[int], list[int], list[int]]:
    """The nodes in rank order, their incarnations, each one's connections as a bit set over
    that order, and each one's troubles."""
    names = sorted(rows, key=key)
    index = {name: i for i, name in enumerate(names)}
    inc = [rows[name][0] for name in names]
    count = len(names)
    adjacency = [0] * count
    troubles = [0] * count
    for i, name in enumerate(names):
        for other in rows[name][3]:
            j = index.get(other)
            if j is not None and j != i:
                troubles[i] += 1
                troubles[j] += 1
    for i, name in enumerate(names):
        hears = rows[name][2]
        for other, other_inc in hears.items():
            j = index.get(other)
            if j is None or j == i or inc[j] != other_inc:
                continue
            back = rows[other][2].get(name)
            if back == inc[i]:
                adjacency[i] |= 1 << j
    return names, inc, adjacency, troubles


def peel(group: int, adjacency: list[int], troubles: list[int], troubles_first: bool) -> int:
    """Drop nodes from `group` (a bit set) one at a time until the rest is a clique.

    Connections first: the node with the fewest connections inside the group, then the most
    troubled, then the lowest-ranked (largest index). Troubles first: among the nodes missing an
    edge inside the group, the most troubled, then the fewest connections, then the lowest-ranked.
    """
    while True:
        members = bits(group)
        size = len(members)
        worst, worst_key, clique = -1, None, True
        for i in members:
            degree = bin(adjacency[i] & group).count("1")
            if degree != size - 1:
                clique = False
            elif troubles_first:
                continue  # a node connected to all the others is never the one dropped
            key = (-troubles[i], degree, -i) if troubles_first else (degree, -troubles[i], -i)
            if worst_key is None or key < worst_key:
                worst, worst_key = i, key
        if clique:
            return group
        group &= ~(1 << worst)


def _prefer(other: int, group: int, troubles: list[int], count: int) -> bool:
    """Whether the troubles-first clique replaces the connections-first one: it must be a strict
    majority of all `count` known nodes, and every node it drops must be more troubled than
    every node it takes in."""
    if other == group or 2 * bin(other).count("1") <= count:
        return False
    dropped, taken = bits(group & ~other), bits(other & ~group)
    if not taken:
        return False
    return min(troubles[i] for i in dropped) > max(troubles[j] for j in taken) if dropped else True


def bits(mask: int) -> list[int]:
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
