"""Simulated fence devices: what stonithd's `RunDevice` effects do to the simulated cluster.

The device is out of band, like a PDU or a management board: it reaches its target whatever the
network between the nodes does. `off` powers the target off (the node crashes: its processes
and the resources it ran are gone), `reset` does that and powers it on again after a boot
time, `on` powers it on. `gethosts` lists every node; `status`, `getconfignames` and `metadata`
answer at once. A run takes a few to a few tens of milliseconds. The scenario can make a device
fail its next runs (rc 1) or hang until stonithd kills it. Every fencing is recorded
(`fenced_log`) for the checkers and the trace. Everything random comes from the cluster's RNG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from core.agentproc import AgentExit
from stonithd.machine import DeviceExited, RunDevice, SignalDevice

if TYPE_CHECKING:
    from sim.cluster import Cluster, SimNode, SimProcess

SIM_DEVICE = "external/sim"


@dataclass
class Devices:
    """Cluster-wide device state: planted failures, running device runs, what was fenced."""

    fail_next: int = 0  # the next N fencing runs fail
    hang_next: int = 0  # the next N fencing runs hang
    boot_ms: tuple[int, int] = (800, 2000)
    runs: dict[tuple[str, int], int] = field(default_factory=dict)  # (node, run id) -> stonithd incarnation
    fenced_log: list[tuple[int, str, str, str]] = field(default_factory=list)  # (time, executor, target, action)
    power_off: set[str] = field(default_factory=set)  # nodes powered off and not (yet) back


def devices(cluster: "Cluster") -> Devices:
    state = getattr(cluster, "fence_devices", None)
    if state is None:
        state = Devices()
        cluster.fence_devices = state  # type: ignore[attr-defined]
    return state


def run_device(cluster: "Cluster", node: "SimNode", proc: "SimProcess", effect: RunDevice) -> None:
    dev = devices(cluster)
    key = (node.name, effect.run_id)
    dev.runs[key] = proc.incarnation
    fencing = effect.op in ("reset", "off", "on")
    if fencing and dev.hang_next > 0:
        dev.hang_next -= 1
        cluster.trace.add(cluster.now_ms, node.name, f"fence device {effect.device.id} {effect.op} "
                                                     f"{effect.host} hangs")
        return
    fail = False
    if fencing and dev.fail_next > 0:
        dev.fail_next -= 1
        fail = True
    delay = cluster.rng.randint(5, 40) if fencing else cluster.rng.randint(1, 5)
    epoch = node.epoch

    def finish() -> None:
        if key not in dev.runs:
            return
        target = effect.host or ""
        if fencing and not fail:
            _act(cluster, node.name, target, effect.op)
        if not node.up or node.epoch != epoch:
            dev.runs.pop(key, None)
            return  # the executor fenced itself (or died meanwhile)
        if effect.op == "gethosts":
            result = AgentExit(exit_code=0, stdout=" ".join(cluster.names) + "\n")
        else:
            result = AgentExit(exit_code=1 if fail else 0, stderr="simulated device failure\n" if fail else "")
        _exit(cluster, node, key, result)
    cluster.at(cluster.now_ms + delay, finish)


def _act(cluster: "Cluster", executor: str, target: str, op: str) -> None:
    dev = devices(cluster)
    if target not in cluster.nodes:
        return
    dev.fenced_log.append((cluster.now_ms, executor, target, op))
    cluster.trace.add(cluster.now_ms, executor, f"FENCE {op} {target}")
    if op in ("off", "reset"):
        cluster.crash(target)
        dev.power_off.add(target)
        for observer in cluster.observers:
            fenced = getattr(observer, "node_fenced", None)
            if fenced is not None:
                fenced(cluster, target)
        if op == "reset":
            boot = cluster.rng.randint(*dev.boot_ms)
            cluster.at(cluster.now_ms + boot, lambda: _power_on(cluster, target))
    elif op == "on":
        _power_on(cluster, target)


def _power_on(cluster: "Cluster", target: str) -> None:
    dev = devices(cluster)
    dev.power_off.discard(target)
    if not cluster.nodes[target].up:
        cluster.start(target)


def _exit(cluster: "Cluster", node: "SimNode", key: tuple[str, int], result: AgentExit) -> None:
    dev = devices(cluster)
    incarnation = dev.runs.pop(key, None)
    proc = node.procs.get("stonithd")
    if incarnation is None or proc is None or not proc.up or proc.incarnation != incarnation:
        return
    cluster.deliver(node, proc, DeviceExited(key[1], result))


def signal_device(cluster: "Cluster", node: "SimNode", proc: "SimProcess", effect: SignalDevice) -> None:
    dev = devices(cluster)
    key = (node.name, effect.run_id)
    if key not in dev.runs:
        return
    epoch = node.epoch

    def die() -> None:
        if node.up and node.epoch == epoch and key in dev.runs:
            _exit(cluster, node, key, AgentExit(signal=15 if effect.signal == "TERM" else 9))
    cluster.at(cluster.now_ms + 1, die)


def node_crashed(cluster: "Cluster", name: str) -> None:
    dev = devices(cluster)
    for key in [k for k in dev.runs if k[0] == name]:
        dev.runs.pop(key, None)


def last_fenced(cluster: "Cluster", target: str) -> Optional[int]:
    times = [t for t, _, node, op in devices(cluster).fenced_log if node == target and op != "on"]
    return max(times) if times else None


# -- the node's watchdog (the launcher's core.watchdog feeds it) ----------------------------------
def watchdog_fed(cluster: "Cluster", node: "SimNode", proc: "SimProcess", effect: object) -> None:
    """A feed: the node's watchdog device is (re)armed for `timeout_ms`; not fed again by then, it
    resets the node (powered off, booted again)."""
    timeout_ms = int(node.state.get("watchdog_timeout_ms") or 0)
    if not timeout_ms:
        return
    node.state["watchdog_fed_ms"] = cluster.now_ms
    epoch = node.epoch
    fed = cluster.now_ms

    def check() -> None:
        if not node.up or node.epoch != epoch or node.state.get("watchdog_fed_ms") != fed:
            return  # fed again meanwhile (or the node is gone already)
        cluster.trace.add(cluster.now_ms, node.name, f"WATCHDOG not fed for {timeout_ms} ms: reset")
        _act(cluster, "watchdog", node.name, "reset")
    cluster.at(cluster.now_ms + timeout_ms, check)


def watchdog_disarmed(cluster: "Cluster", node: "SimNode", proc: "SimProcess", effect: object) -> None:
    node.state["watchdog_fed_ms"] = None
