"""The invariants the simulator checks after every step of every node.

- agreement: two nodes that report the same instance report the same members (with incarnations);
  a node's instances only grow.
- validity: a view is installed by its leader only after the ack of every other member (that
  member's incarnation, this very instance) was delivered to the leader over the simulated
  network; any other member installs it only after a state carrying it as installed was delivered
  to it. So every member was up and connected both ways while the view was formed.
- one quorate partition: of the running nodes (not crashed, not hung) that report quorum, the one
  holding the newer view always has the other (same incarnation) in it: a newer quorate view never
  excludes a node that still believes it has quorum in an older one. Two-node clusters are exempt
  (both halves keep quorum by design, fencing decides); they are checked for wait_for_all instead:
  a node reports quorum only after it was once in a view with both nodes.
- convergence (checked by the runner): when the network has been healed for deadtime + bound,
  every running node reports one identical view holding exactly the running nodes, quorum as the
  votes say, and nothing changes any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ccm.events import ViewInfo


class Violation(Exception):
    pass


@dataclass
class Report:
    instance: int
    members: tuple[tuple[str, int], ...]
    quorum: bool
    incarnation: int


class Checker:
    def __init__(self, names: list[str], two_node: bool) -> None:
        self.names = names
        self.two_node = two_node
        self.views: dict[int, tuple[tuple[str, int], ...]] = {}
        self.reports: dict[str, Report] = {}
        self.running: set[str] = set()
        self.acks: dict[tuple[str, int], set[tuple[str, int]]] = {}
        self.delivered_views: dict[str, set[int]] = {}
        self.seen_full: dict[str, int] = {}  # node -> incarnation that has been in a full view
        self.installs = 0
        self.last_change_ms = 0

    # -- what the simulator tells us -----------------------------------------------------------
    def started(self, node: str) -> None:
        self.reports.pop(node, None)
        self.delivered_views[node] = set()

    def set_running(self, node: str, running: bool, now_ms: int) -> None:
        if running:
            self.running.add(node)
            self.check_quorum(now_ms)
        else:
            self.running.discard(node)
        self.last_change_ms = now_ms

    def delivered(self, receiver: str, source: str, state) -> None:
        """A ccm state from source reached receiver's ccm."""
        if state.ack_instance:
            self.acks.setdefault((receiver, state.ack_instance), set()).add((source, state.incarnation))
        if state.view_instance:
            self.delivered_views.setdefault(receiver, set()).add(state.view_instance)

    def installed(self, node: str, info: ViewInfo, now_ms: int) -> None:
        self.installs += 1
        members = tuple(zip(info.members, info.incarnations))
        known = self.views.get(info.instance)
        if known is None:
            self.views[info.instance] = members
        elif known != members:
            raise Violation(f"agreement: {node} installed instance {info.instance} as {_show(members)}, "
                            f"another node as {_show(known)}")
        previous = self.reports.get(node)
        if previous is not None and previous.incarnation == info.incarnation and previous.instance >= info.instance:
            raise Violation(f"agreement: {node} went from instance {previous.instance} to {info.instance}")
        if (node, info.incarnation) not in members:
            raise Violation(f"validity: {node} installed {info.instance} without itself: {_show(members)}")
        if info.leader == node:
            acks = self.acks.get((node, info.instance), set())
            missing = [m for m in members if m[0] != node and m not in acks]
            if missing:
                raise Violation(f"validity: leader {node} installed {info.instance} = {_show(members)} "
                                f"without an ack delivered from {_show(tuple(missing))}")
        elif info.instance not in self.delivered_views.get(node, ()):
            raise Violation(f"validity: {node} installed {info.instance} before any node's commit of it reached it")
        if len(members) == len(self.names):
            self.seen_full[node] = info.incarnation
        self.reports[node] = Report(info.instance, members, info.quorum, info.incarnation)
        self.last_change_ms = now_ms
        self.check_quorum(now_ms)

    def quorum_changed(self, node: str, info: ViewInfo, now_ms: int) -> None:
        report = self.reports.get(node)
        assert report is not None and report.instance == info.instance
        report.quorum = info.quorum
        self.last_change_ms = now_ms
        self.check_quorum(now_ms)

    # -- the invariants ------------------------------------------------------------------------
    def check_quorum(self, now_ms: int) -> None:
        quorate = [(node, r) for node, r in self.reports.items() if r.quorum and node in self.running]
        if self.two_node:
            for node, report in quorate:
                if self.seen_full.get(node) != report.incarnation:
                    raise Violation(f"two-node wait_for_all: {node} has quorum in {report.instance} "
                                    "before it was ever in a view with both nodes")
            return
        for i, (a, ra) in enumerate(quorate):
            for b, rb in quorate[i + 1:]:
                if ra.instance == rb.instance:
                    continue
                (old, ro), (new, rn) = ((a, ra), (b, rb)) if ra.instance < rb.instance else ((b, rb), (a, ra))
                if (old, ro.incarnation) not in rn.members:
                    raise Violation(f"split brain: {new} has quorum in {rn.instance} = {_show(rn.members)} "
                                    f"while {old}, not in it, has quorum in {ro.instance} = {_show(ro.members)}")

    def convergence_problem(self, running: dict[str, int], expect_quorum: bool) -> Optional[str]:
        """None if every running node (name -> incarnation) reports one view of exactly them."""
        want = sorted(running.items())
        instances = set()
        for node in sorted(running):
            report = self.reports.get(node)
            if report is None:
                return f"{node} reports no view"
            instances.add(report.instance)
            if sorted(report.members) != want:
                return (f"{node} reports {report.instance} = {_show(report.members)}, running nodes are "
                        f"{_show(tuple(want))}")
            if report.quorum != expect_quorum:
                return f"{node} reports quorum {report.quorum} in {report.instance}, expected {expect_quorum}"
        if len(instances) > 1:
            return f"nodes report different instances {sorted(instances)}"
        return None


def _show(members) -> str:
    return "{" + ", ".join(f"{name}#{inc}" for name, inc in members) + "}"
