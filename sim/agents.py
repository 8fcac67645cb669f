"""Simulated resource agents: what the lrmd's `RunAgent` effects do to the (simulated) world.

Every node has a set of resources actually running on it: the ground truth the CRM checkers
compare with what the cluster believes. An agent run takes a few milliseconds and then exits the
way an OCF agent would: `start` makes the resource run (0), `stop` makes it stop (0), `monitor`
says 0 if it runs and 7 if not. The scenario can make a resource die (its next monitor says 7),
make the next run of an operation fail with a given rc, or make an agent hang until the lrmd
kills it. A node crash takes every resource on it down; a hung node's resources keep running
(that is what fencing is for). Everything random comes from the cluster's seeded RNG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lrmd import machine as lm
from lrmd.ocf import AgentExit

if TYPE_CHECKING:
    from sim.cluster import Cluster, SimNode, SimProcess

KILL_SIGNAL = 9


@dataclass
class World:
    """The resources running on one node, and the faults the scenario planted."""

    running: set[str] = field(default_factory=set)
    fail_next: dict[tuple[str, str], int] = field(default_factory=dict)  # (rsc, operation) -> rc
    hang_next: set[tuple[str, str]] = field(default_factory=set)
    runs: dict[int, tuple[int, str, str]] = field(default_factory=dict)  # run id -> (lrmd incarnation, rsc, op)
    history: list[tuple[int, str, str, int]] = field(default_factory=list)  # (time, rsc, op, rc)


def world(node: "SimNode") -> World:
    w = node.state.get("agents")
    if w is None:
        w = node.state["agents"] = World()
    return w


def run_agent(cluster: "Cluster", node: "SimNode", proc: "SimProcess", effect: lm.RunAgent) -> None:
    w = world(node)
    key = (effect.rsc_id, effect.operation)
    incarnation = proc.incarnation
    w.runs[effect.run_id] = (incarnation, effect.rsc_id, effect.operation)
    if key in w.hang_next:
        w.hang_next.discard(key)
        cluster.trace.add(cluster.now_ms, node.name, f"agent {effect.rsc_id} {effect.operation} hangs")
        return  # exits only when the lrmd kills it
    if effect.operation == "meta-data":
        delay = 1
    elif effect.operation == "monitor":
        delay = cluster.rng.randint(1, 5)
    else:
        delay = cluster.rng.randint(2, 25)
    epoch = node.epoch

    def finish() -> None:
        if not node.up or node.epoch != epoch or effect.run_id not in w.runs:
            return
        rc = _outcome(cluster, node, w, effect)
        _exit(cluster, node, w, effect.run_id, _dialect(effect.rsc_class, effect.operation, rc))
    cluster.at(cluster.now_ms + delay, finish)


def _outcome(cluster: "Cluster", node: "SimNode", w: World, effect: lm.RunAgent) -> int:
    rsc, op = effect.rsc_id, effect.operation
    planted = w.fail_next.pop((rsc, op), None)
    if op == "start":
        if planted is not None and planted != 0:
            rc = planted
        else:
            for observer in cluster.observers:
                started = getattr(observer, "resource_started", None)
                if started is not None:
                    started(cluster, node, rsc, effect.rsc_class)
            w.running.add(rsc)
            rc = 0
    elif op == "stop":
        if planted is not None and planted != 0:
            rc = planted
        else:
            w.running.discard(rsc)
            rc = 0
    elif op in ("monitor", "status"):
        rc = 0 if rsc in w.running else 7
        if planted is not None:
            rc = planted
    else:
        rc = 0 if planted is None else planted
    w.history.append((cluster.now_ms, rsc, op, rc))
    for observer in cluster.observers:
        changed = getattr(observer, "agents_changed", None)
        if changed is not None:
            changed(cluster, node)
    return rc


def _dialect(rsc_class: str, operation: str, rc: int) -> AgentExit:
    """The exit an agent of this class gives for an OCF result (LSB status says 3 for stopped,
    heartbeat scripts print running/stopped)."""
    if operation == "meta-data":
        return AgentExit(exit_code=0, stdout="<resource-agent/>")
    if operation in ("monitor", "status"):
        if rsc_class == "lsb":
            return AgentExit(exit_code={0: 0, 7: 3}.get(rc, 4))
        if rsc_class == "heartbeat":
            return AgentExit(exit_code=0, stdout={0: "running", 7: "stopped"}.get(rc, "stopped"))
    if rsc_class == "heartbeat" and rc not in (0,):
        return AgentExit(exit_code=1)
    return AgentExit(exit_code=rc)


def _exit(cluster: "Cluster", node: "SimNode", w: World, run_id: int, result: AgentExit) -> None:
    incarnation, _, _ = w.runs.pop(run_id, (0, "", ""))
    proc = node.procs.get("lrmd")
    if proc is None or not proc.up or proc.incarnation != incarnation:
        return  # the lrmd that started it is gone: nobody waits for this exit
    cluster.deliver(node, proc, lm.AgentExited(run_id, result))


def signal_agent(cluster: "Cluster", node: "SimNode", proc: "SimProcess", effect: lm.SignalAgent) -> None:
    w = world(node)
    if effect.run_id not in w.runs:
        return
    epoch = node.epoch

    def die() -> None:
        if node.up and node.epoch == epoch and effect.run_id in w.runs:
            _exit(cluster, node, w, effect.run_id, AgentExit(signal=15 if effect.signal == "TERM" else KILL_SIGNAL))
    cluster.at(cluster.now_ms + 1, die)


def kill_resource(cluster: "Cluster", name: str, rsc: str) -> bool:
    """The resource dies on its own (its next monitor fails)."""
    node = cluster.nodes[name]
    w = world(node)
    if rsc not in w.running:
        return False
    w.running.discard(rsc)
    cluster.trace.add(cluster.now_ms, name, f"resource {rsc} dies")
    for observer in cluster.observers:
        changed = getattr(observer, "agents_changed", None)
        if changed is not None:
            changed(cluster, node)
    return True


def node_crashed(node: "SimNode") -> None:
    w = world(node)
    w.running.clear()
    w.runs.clear()
    w.hang_next.clear()


def active_nodes(cluster: "Cluster", rsc: str) -> list[str]:
    return sorted(n.name for n in cluster.nodes.values() if n.up and rsc in world(n).running)


def where(cluster: "Cluster") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for n in cluster.nodes.values():
        if not n.up:
            continue
        for rsc in world(n).running:
            out.setdefault(rsc, []).append(n.name)
    return {k: sorted(v) for k, v in out.items()}


def fail_next(cluster: "Cluster", name: str, rsc: str, op: str, rc: int) -> None:
    world(cluster.nodes[name]).fail_next[(rsc, op)] = rc


def hang_next(cluster: "Cluster", name: str, rsc: str, op: str) -> None:
    world(cluster.nodes[name]).hang_next.add((rsc, op))

