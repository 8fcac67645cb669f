"""Quorum: a strict majority of the configured votes (one per ha.cf `node`).

The two-node case follows heartbeat's `twonodes` quorum plugin and corosync's `two_node: 1`
(which implies `wait_for_all`): with exactly two configured nodes, one vote is enough, but only
after this node has once been in a view with both nodes since it started. Both halves of a split
two-node cluster then keep quorum; what stops them from both running the resources is fencing
(STONITH, a later part of the stack), exactly as in heartbeat and corosync.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuorumPolicy:
    nodes: tuple[str, ...]  # configured, one vote each
    two_node: bool

    @classmethod
    def for_nodes(cls, nodes: tuple[str, ...], two_node: bool | None = None) -> "QuorumPolicy":
        if two_node is None:
            two_node = len(nodes) == 2
        return cls(tuple(nodes), bool(two_node) and len(nodes) == 2)

    @property
    def total_votes(self) -> int:
        return len(self.nodes)

    def votes_needed(self, seen_all: bool) -> int:
        """Votes a view needs; two-node: 1 once both nodes were seen together (wait_for_all)."""
        if self.two_node:
            return 1 if seen_all else 2
        return self.total_votes // 2 + 1

    def vote(self, name: str) -> int:
        return 1 if name in self.nodes else 0
