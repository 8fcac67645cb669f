"""The nodes of a run grouped by their value of a node attribute, lower-cased as colocations
compare them: an index kept on the working set for the run.

Why: a colocation merges a resource's node scores into a table by attribute value (for each
node of the table, the resource's best score on an available node with the same value). At 32
nodes / 10,000 resources the chains of group members make 8,300 such merges a transition, and
taking every value of every node of the resource's table each time was 32 look-ups and
lower-casings per merge, most of them for nodes that a mandatory colocation has pinned at
-INFINITY and that the merge then skips. With the index a merge reads only the nodes that
share a value with a node it updates (with `#uname`, the default, that node alone).

Node attributes are final once the status is unpacked (unpack_nodes and the transient
attributes are the only writers); every reader is a scheduling step after that, so the index
is built at the first merge of a run and read until the run ends.
"""

from __future__ import annotations

from pengine.model import Node, WorkingSet


def value_groups(ws: WorkingSet, attr: str) -> dict[Node, tuple[Node, ...]]:
    """Each node of ws -> the nodes (itself included, in ws.nodes order) whose value of attr,
    lower-cased, is the same as its own (nodes without the attribute form one group, as the
    scan they replace keys them all by None)."""
    groups = ws.node_value_groups.get(attr)
    if groups is None:
        by_value: dict[object, list[Node]] = {}
        for node in ws.nodes:
            value = node.attrs.get(attr)
            by_value.setdefault(None if value is None else value.lower(), []).append(node)
        groups = {}
        for members in by_value.values():
            shared = tuple(members)
            for node in members:
                groups[node] = shared
        ws.node_value_groups[attr] = groups
    return groups
