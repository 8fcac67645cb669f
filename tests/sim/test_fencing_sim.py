"""Fencing in the simulator: stonithd on every node with a simulated fence device (out of band,
like a PDU). Stories (a hung node, a two-node race, a device that fails), and broken cores the
"never two owners" checker must catch."""

from __future__ import annotations

import random
from typing import Optional

import pytest

from core.messages.te import TeEvent
from core.sansio import Send
from crmd.machine import CrmdMachine
from sim import agents
from sim import fencing as simfence
from sim.cluster import Timing
from sim.crm import crm_cluster, crmd_of
from sim.crmrun import run_crm_seed
from stonithd.machine import DeviceExited, RunDevice, StonithMachine
from core.agentproc import AgentExit
from core.watchdog import StackWatchdog
from tests.sim.test_crm_sim import run_until_true, settled

TIMING = Timing()


def fenced_cluster(names: list[str], seed: int = 7, mode: str = "crm", watchdog: bool = False, **kwargs):
    rng = random.Random(seed)
    cluster, checker = crm_cluster(names, rng, TIMING, mode=mode, fencing=not watchdog, watchdog=watchdog, **kwargs)
    for name in names:
        cluster.start(name)
    run_until_true(cluster, lambda: settled(cluster) and bool(agents.where(cluster).get("svc")), 8000, "formed")
    return cluster, checker


def holder(cluster, rsc: str) -> str:
    (node,) = agents.where(cluster)[rsc]
    return node


@pytest.mark.parametrize("mode", ["crm", "haresources"])
def test_a_hung_node_is_fenced_before_its_resources_start_elsewhere(mode):
    cluster, checker = fenced_cluster(["node1", "node2", "node3"], mode=mode)
    victim = holder(cluster, "svc")
    paused_at = cluster.now_ms
    cluster.pause(victim)  # its resources keep running: only fencing makes moving them safe
    run_until_true(cluster, lambda: any(n != victim for n in agents.where(cluster).get("svc", [])), 6000,
                   "svc taken over")
    fenced_at = simfence.last_fenced(cluster, victim)
    assert fenced_at is not None and fenced_at > paused_at
    starts = [t for t, rsc, op, rc in agents.world(cluster.nodes[holder(cluster, "svc")]).history
              if rsc == "svc" and op == "start" and rc == 0]
    assert starts and min(s for s in starts if s > paused_at) > fenced_at
    assert checker.starts_checked > 0
    # the fenced node reboots (reset) and rejoins without its old resources
    run_until_true(cluster, lambda: cluster.nodes[victim].up and settled(cluster), 8000, "rejoined")


def test_two_node_split_exactly_one_survives_and_keeps_or_takes_everything():
    for seed in range(5):
        cluster, _ = fenced_cluster(["node1", "node2"], seed=seed)
        simfence.devices(cluster).boot_ms = (60_000, 60_000)  # stays off for the test
        cluster.network.cut("node1", "node2", True)
        cluster.network.cut("node2", "node1", True)
        start = cluster.now_ms
        run_until_true(cluster, lambda: len(simfence.devices(cluster).fenced_log) >= 1, 6000, "a fencing")
        cluster.run_until(cluster.now_ms + 4000)
        shots = [(t, ex, target) for t, ex, target, op in simfence.devices(cluster).fenced_log if t >= start]
        assert len(shots) == 1, f"seed {seed}: {shots}"  # never both, never neither
        survivor = shots[0][1]
        assert cluster.nodes[survivor].up and not cluster.nodes[shots[0][2]].up
        where = agents.where(cluster)
        assert all(nodes == [survivor] for rsc, nodes in where.items()), where


def test_a_failing_device_is_retried_and_resources_stay_put_meanwhile():
    cluster, _ = fenced_cluster(["node1", "node2", "node3"])
    victim = holder(cluster, "svc")
    simfence.devices(cluster).fail_next = 12  # more than one operation tries (retries, every node)
    cluster.pause(victim)

    def given_up() -> bool:
        return any(r["state"] == "failed" and r["final"] for n in cluster.names if n != victim
                   for r in cluster.nodes[n].procs["stonithd"].core.history)
    run_until_true(cluster, given_up, 6000, "a fencing given up")
    assert agents.where(cluster)["svc"] == [victim]  # not fenced yet: not moved
    run_until_true(cluster, lambda: simfence.last_fenced(cluster, victim) is not None, 15_000, "fenced at last")
    run_until_true(cluster, lambda: holder(cluster, "svc") != victim if agents.where(cluster).get("svc") else False,
                   5000, "moved after the fencing")
    dc = next(c for n in cluster.names if (c := crmd_of(cluster, n)) is not None and c.is_dc)
    assert dc.counters.get("nodes_fenced", 0) >= 1


def test_without_a_device_nothing_of_a_lost_node_is_started():
    cluster, _ = fenced_cluster(["node1", "node2", "node3"])
    # the device stops working for good: the lost node's resources must stay put
    simfence.devices(cluster).fail_next = 10_000
    victim = holder(cluster, "svc")
    cluster.pause(victim)
    cluster.run_until(cluster.now_ms + 8000)
    assert agents.where(cluster)["svc"] == [victim]


# -- broken cores -------------------------------------------------------------------------------------
class LyingFencer(StonithMachine):
    """Reports every fencing as done without powering anything off."""

    def _job_go(self, now_ms, job, out):
        if job.purpose == "fence":
            self.jobs.pop(job.job_id, None)
            rec = {"id": job.op_id, "target": job.target_name, "action": job.action, "origin": job.origin,
                   "requester": "", "executor": self.me, "device": job.device_id, "state": "done",
                   "final": job.last, "reason": "", "created_s": 0, "completed_s": 0}
            self._publish_attempt(now_ms, rec, out)
            return
        super()._job_go(now_ms, job, out)


class ConfirmsFencingAtOnce(CrmdMachine):
    """Tells its engine a fencing succeeded as soon as it asked for it."""

    def _fence_action(self, now_ms, tid, action, out):
        out.append(Send("tengine", TeEvent(tid, action.id, action.on_node or "", action.target_rc, 0,
                                           action.target_rc)))


class FeedsAlways(StackWatchdog):
    """Feeds the watchdog whatever the stack does (heartbeat's old way: fed by one process)."""

    def problem(self, now_ms):
        return None


def first_violation(seeds: range, nodes: int, kinds: tuple[str, ...], expected: str = "",
                    **factories) -> Optional[str]:
    """The first violation (containing `expected`) over the seeds."""
    for seed in seeds:
        result = run_crm_seed(seed, nodes, random.Random(seed), kinds, mode="crm", fencing=True, **factories)
        if not result.ok and expected in (result.violation or ""):
            return result.violation
    return None


@pytest.mark.parametrize("factory, kinds", [
    (dict(stonith_factory=LyingFencer), ("pause",)),
    (dict(crmd_factory=ConfirmsFencingAtOnce), ("pause",)),
], ids=["lying-fencer", "no-wait"])
def test_the_two_owners_checker_catches_a_broken_core(factory, kinds):
    violation = first_violation(range(1, 60), 3, kinds, "two owners", **factory)
    assert violation is not None, "no seed exposed the broken core"
    assert "two owners" in violation, violation


def test_the_correct_cores_pass_the_same_seeds():
    assert first_violation(range(1, 40), 3, ("pause",)) is None
    assert first_violation(range(1, 30), 3, ("partition", "stophang", "pause"), watchdog=True) is None


@pytest.mark.parametrize("factory, safe", [(StackWatchdog, True), (FeedsAlways, False)],
                         ids=["fed-while-healthy", "broken-always-fed"])
def test_watchdog_fencing_a_minority_node_that_cannot_stop_resets_itself(factory, safe):
    """Three nodes, no fence device, stonith-watchdog-timeout: the node holding svc is cut off and
    its stop of svc hangs (it cannot give svc up). It lost quorum, so crmd asks for self-fencing,
    its launcher stops feeding the watchdog and the node is reset; the others count it as fenced
    after stonith-watchdog-timeout and only then start svc. A launcher that feeds whatever happens
    (the broken core) leaves it running svc: the checker sees two owners."""
    from sim.checkers import Violation

    cluster, checker = fenced_cluster(["node1", "node2", "node3"], seed=3, watchdog=True, watchdog_factory=factory)
    victim = holder(cluster, "svc")
    others = [n for n in cluster.names if n != victim]
    agents.hang_next(cluster, victim, "svc", "stop")
    for other in others:
        cluster.network.cut(victim, other, True)
        cluster.network.cut(other, victim, True)
    if safe:
        run_until_true(cluster, lambda: agents.where(cluster).get("svc", [victim]) != [victim], 15_000,
                       "svc moved")
        assert simfence.last_fenced(cluster, victim) is not None  # its watchdog reset it
        assert checker.starts_checked > 0
    else:
        with pytest.raises(Violation, match="two owners"):
            cluster.run_until(cluster.now_ms + 15_000)
    assert first_violation(range(1, 12), 2, ("partition", "nic", "pause")) is None
