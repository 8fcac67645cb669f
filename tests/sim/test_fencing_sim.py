"""Fencing in the simulator: stonithd on every node with a simulated fence device (out of band,
like a PDU). Stories (a hung node, a two-node race, a device that fails), and broken cores the
"never two owners" checker must catch."""

from __future__ import annotations

import random
from typing import Optional

import pytest

from core.graph import GraphAction
from core.messages.te import TeEvent
from core.messages import stonith as st
from core.sansio import Recv, Send
from crmd.machine import CrmdMachine
from sim import agents
from sim import fencing as simfence
from sim.cluster import Timing
from sim.crm import crm_cluster, crmd_of
from sim.crmrun import run_crm_seed
from stonithd.machine import DeviceExited, RunDevice, StonithMachine
from core.agentproc import AgentExit
from core.watchdog import StackWatchdog
from tests.sim.test_crm_sim import WireCheck, run_until_true, settled

TIMING = Timing()


def fenced_cluster(names: list[str], seed: int = 7, mode: str = "crm", watchdog: bool = False, **kwargs):
    rng = random.Random(seed)
    cluster, checker = crm_cluster(names, rng, TIMING, mode=mode, fencing=not watchdog, watchdog=watchdog, **kwargs)
    for name in names:
        cluster.start(name)
    run_until_true(cluster, lambda: settled(cluster) and bool(agents.where(cluster).get("svc")), 8000, "formed")
    return cluster, checker


def shots_since(cluster, start: int) -> list[str]:
    """The targets the fence device shot (not powered on) since `start`, in order."""
    return [target for t, _ex, target, op in simfence.devices(cluster).fenced_log if t >= start and op != "on"]


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


@pytest.mark.parametrize("mode, seed", [("crm", 7), ("crm", 11), ("haresources", 7)])
def test_a_dc_that_hangs_is_fenced_ahead_of_its_successors_join_and_only_once(mode, seed):
    """The DC hangs: its successor asks for the fencing while its join round still collects
    (the schedule after the join would come a round later), the schedule after the join takes
    that request over instead of firing a second one, and the node is fenced exactly once before
    anything it ran starts elsewhere."""
    cluster, checker = fenced_cluster(["node1", "node2", "node3", "node4"], seed=seed, mode=mode)
    wire_check = WireCheck()  # (the fencing-ahead snapshot goes to the engine as bytes too)
    cluster.observers.append(wire_check)
    old_dc = next(n for n in cluster.names if crmd_of(cluster, n).is_dc)
    paused_at = cluster.now_ms
    cluster.pause(old_dc)
    succ = {}

    def asked_and_joined() -> bool:
        for name in cluster.names:
            crmd = crmd_of(cluster, name) if name != old_dc else None
            if crmd is None or not crmd.is_dc:
                continue
            if old_dc in crmd.fencing and "asked" not in succ:
                succ["asked"] = (name, cluster.now_ms, crmd.round.phase if crmd.round else "none")
            if crmd.round is not None and crmd.round.phase == "done" and "joined" not in succ:
                succ["joined"] = (name, cluster.now_ms)
        return "asked" in succ and "joined" in succ
    run_until_true(cluster, asked_and_joined, 6000, "the successor fenced and joined", step_ms=1)
    name, asked_at, phase = succ["asked"]
    assert phase == "collecting" and asked_at < succ["joined"][1], succ
    successor = crmd_of(cluster, name)
    assert successor.counters.get("fencing_ahead", 0) == 1, successor.counters
    run_until_true(cluster, lambda: settled(cluster) and simfence.last_fenced(cluster, old_dc) is not None
                   and cluster.nodes[old_dc].up, 15_000, "fenced, rebooted and settled")
    shots = [(t, target) for t, _ex, target, op in simfence.devices(cluster).fenced_log
             if t >= paused_at and op != "on"]
    assert shots == [(shots[0][0], old_dc)], shots
    assert checker.starts_checked > 0
    assert wire_check.seen.get("PeSchedule", 0) >= 2, wire_check.seen


def test_a_node_fenced_in_this_view_is_not_fenced_again_while_it_stays_out():
    """Once a node outside the view was fenced, a later graph's fencing of it (one computed
    before the record of that fencing reached the engine) is confirmed at once, without a second
    shot; once the node is back in a view, fencing it is a real request again."""
    cluster, _ = fenced_cluster(["node1", "node2", "node3"])
    dc_name = next(n for n in cluster.names if crmd_of(cluster, n).is_dc)
    dc = crmd_of(cluster, dc_name)
    victim = next(n for n in cluster.names if n != dc_name)
    cluster.pause(victim)
    run_until_true(cluster, lambda: simfence.last_fenced(cluster, victim) is not None
                   and victim in dc.fenced_in_view, 6000, "fenced")
    assert victim not in dc.view.members
    action = GraphAction(id=1, kind="crm_event", operation="stonith", operation_key=f"stonith-{victim}-reboot",
                         on_node=victim, attrs={"CRM_meta_stonith_action": "reboot"})
    out: list = []
    dc._fence_action(cluster.now_ms, 999, action, out)
    assert [type(e.msg).__name__ for e in out if isinstance(e, Send)] == ["TeEvent"], out
    assert dc.counters.get("fenced_already") == 1 and victim not in dc.fencing
    assert victim in dc.fenced_out  # (seen fenced in a quorate view)
    run_until_true(cluster, lambda: victim in dc.view.members, 8000, "back in the view")
    assert victim not in dc.fenced_in_view and victim not in dc.fenced_out


def test_a_lost_node_heard_again_before_its_fencing_was_asked_is_not_fenced_but_joined():
    """A graph fences two lost nodes one after the other; the partition heals while the first
    fencing runs, so messaging hears the second again before its fencing is asked. stonithd
    gives up a fencing whose target comes back before its device runs; the DC does the same for
    one that came back before it asked (within settle_ms): the action fails, the node joins and
    its own history says what it runs. Past settle_ms still outside the view, it is fenced."""
    cluster, _ = fenced_cluster(["node1", "node2", "node3"])
    dc_name = next(n for n in cluster.names if crmd_of(cluster, n).is_dc)
    dc = crmd_of(cluster, dc_name)
    victim = next(n for n in cluster.names if n != dc_name)
    for other in cluster.names:
        if other != victim:
            cluster.network.cut(victim, other, True)
            cluster.network.cut(other, victim, True)
    run_until_true(cluster, lambda: victim not in dc.view.members, 4000, "the victim left the view")
    cluster.run_until(cluster.now_ms + 1)
    for other in cluster.names:
        if other != victim:
            cluster.network.cut(victim, other, False)
            cluster.network.cut(other, victim, False)
    run_until_true(cluster, lambda: victim in dc.alive, 2000, "heard again", step_ms=1)
    assert victim not in dc.view.members
    action = GraphAction(id=1, kind="crm_event", operation="stonith", operation_key=f"stonith-{victim}-reboot",
                         on_node=victim, attrs={"CRM_meta_stonith_action": "reboot"})
    out: list = []
    dc._fence_action(cluster.now_ms, 999, action, out)
    events = [e.msg for e in out if isinstance(e, Send)]
    assert [type(m).__name__ for m in events] == ["TeEvent"] and events[0].rc != 0, out
    assert dc.counters.get("fencing_target_back") == 1 and victim not in dc.fencing
    # past settle_ms, a node still outside the view is fenced all the same
    out = []
    dc._fence_action(dc.heard_again_ms[victim] + dc.config.settle_ms, 1000, action, out)
    assert any(isinstance(e, Send) and type(e.msg).__name__ == "StFence" for e in out), out
    dc.fencing.pop(victim, None)


def split_two_of_five(seed: int):
    """Five nodes formed, then split node1, node2 | node3, node4, node5; a fenced node stays off.
    Returns (cluster, the majority, when the split began)."""
    cluster, _ = fenced_cluster(["node1", "node2", "node3", "node4", "node5"], seed=seed)
    simfence.devices(cluster).boot_ms = (60_000, 60_000)
    majority = ["node3", "node4", "node5"]
    for x in ("node1", "node2"):
        for y in majority:
            cluster.network.cut(x, y, True)
            cluster.network.cut(y, x, True)
    return cluster, majority, cluster.now_ms


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_healed_partition_does_not_fence_the_same_node_twice(seed):
    """Five nodes split 2 | 3; the majority's DC fences node1, and node2 (the minority's other
    node) comes back to the majority at once. Being first in ha.cf order it becomes the DC, with
    the replica of the minority it came from, where node1 is still a member. The members tell it
    at their join that node1 was fenced (they saw it while quorate, and node1 was in none of their
    views since): node1 is recorded as fenced, not shot a second time."""
    cluster, majority, start = split_two_of_five(seed)

    def shots() -> list[tuple[int, str]]:
        return [(t, target) for t, _ex, target, op in simfence.devices(cluster).fenced_log
                if t >= start and op != "on"]
    run_until_true(cluster, lambda: ("node1" in [t for _, t in shots()]), 6000, "node1 fenced", step_ms=1)
    for y in majority:
        cluster.network.cut("node2", y, False)
        cluster.network.cut(y, "node2", False)
    run_until_true(cluster, lambda: crmd_of(cluster, "node2").is_dc and settled(cluster), 15_000, "node2 leads")
    cluster.run_until(cluster.now_ms + 2000)
    assert [t for _, t in shots()] == ["node1"], shots()
    assert set(agents.where(cluster)["svc"]) <= {"node2", "node3", "node4", "node5"}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_dc_from_the_other_side_of_a_partition_waits_for_its_members_before_fencing_ahead(seed):
    """As above, but node1 falls silent for node2's messaging while the members from the
    majority have not answered node2's join yet (found by the fault campaign: 5 nodes, seed 8102,
    a 2 | 3 partition that healed while the majority's fencing of node2 waited for its device's
    delay). node2's replica still shows node1 in the membership and nothing outside its view is
    heard any more, so a new DC fencing ahead of its join would shoot node1 a second time: the
    members that knew of the fencing had not said so yet. A new DC waits for the answers of the
    members that come from another partition before it fences ahead."""
    cluster, majority, start = split_two_of_five(seed)
    devices = simfence.devices(cluster)
    run_until_true(cluster, lambda: "node1" in shots_since(cluster, start), 6000, "node1 fenced", step_ms=1)
    devices.hang_next = 1  # the majority's fencing of node2 (next) hangs: node2 comes back meanwhile
    for y in majority:
        cluster.network.cut("node2", y, False)
        cluster.network.cut(y, "node2", False)
    node2 = crmd_of(cluster, "node2")
    run_until_true(cluster, lambda: node2.is_dc and node2.round is not None and node2.round.full
                   and set(majority) <= set(node2.view.members), 3000, "node2 the DC of the merged view", step_ms=1)
    devices.hang_next = 0  # (a fencing that starts from now on is carried out)
    for y in majority:  # their answers to node2's join are held back (a slow link) ...
        cluster.network.cut(y, "node2", True)
    run_until_true(cluster, lambda: "node1" not in node2.alive, 2 * TIMING.deadtime_ms, "node1 silent for node2",
                   step_ms=1)
    cluster.run_until(cluster.now_ms + 50)  # ... while nothing else holds node2's fencing ahead back
    for y in majority:
        cluster.network.cut(y, "node2", False)
    run_until_true(cluster, lambda: settled(cluster), 15_000, "settled")
    cluster.run_until(cluster.now_ms + 2000)
    assert shots_since(cluster, start) == ["node1"], shots_since(cluster, start)
    assert set(agents.where(cluster)["svc"]) <= {"node2", "node3", "node4", "node5"}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("nodes", [2, 3])
def test_a_dc_fenced_while_still_a_member_is_not_fenced_again_by_its_successor(seed, nodes):
    """An operator fences the DC through another node's device (the same holds for a DC fencing
    itself after a stop failure): the notice reaches the others while ccm still counts the DC
    a member, and the DC is gone before it records anything. The view that then drops that life
    is a view it was fenced in: the successor records it as fenced at its join and does not shoot
    it a second time (Pacemaker's stonith clean-up list, which a new DC writes). And the survivors
    replace it at once, as Pacemaker's controllers take a fenced peer as lost."""
    names = [f"node{i}" for i in range(1, nodes + 1)]
    cluster, checker = fenced_cluster(names, seed=seed)
    simfence.devices(cluster).boot_ms = (60_000, 60_000)  # stays off
    cluster.run_until(cluster.now_ms + 2 * TIMING.deadtime_ms + 100)  # (every life older than settle_ms)
    dc = next(n for n in cluster.names if crmd_of(cluster, n).is_dc)
    other = next(n for n in cluster.names if n != dc)
    start = cluster.now_ms
    cluster.deliver(cluster.nodes[other], cluster.nodes[other].procs["stonithd"],
                    Recv(b"operator", st.StFence(77, dc, "reboot", 0, 0, "operator")))

    run_until_true(cluster, lambda: dc in shots_since(cluster, start), 4000, "the DC fenced", step_ms=1)
    fenced_at = simfence.last_fenced(cluster, dc)
    survivors = [n for n in cluster.names if n != dc]
    # ccm is told of the fencing (`CcmFenced`): the survivors' view drops that life at once,
    # not after two deadtimes of silence and their promises to it running out
    new_dc_at = run_until_true(cluster, lambda: any(crmd_of(cluster, n).is_dc for n in survivors), 2000,
                               "a new DC", step_ms=1)
    assert new_dc_at - fenced_at < TIMING.deadtime_ms // 2, (fenced_at, new_dc_at)
    # and its resources start elsewhere at once: messaging still hears the fenced node until its
    # deadtime, which must not hold the new DC's schedule back as a node about to join would
    back_at = run_until_true(cluster, lambda: bool(set(agents.where(cluster).get("svc") or ()) & set(survivors)),
                             3000, "svc on a survivor", step_ms=1)
    assert back_at - fenced_at < TIMING.deadtime_ms // 2, (fenced_at, back_at)
    run_until_true(cluster, lambda: settled(cluster), 15_000, "settled")
    cluster.run_until(cluster.now_ms + 3000)
    assert shots_since(cluster, start) == [dc], shots_since(cluster, start)
    successor = next(crmd_of(cluster, n) for n in survivors if crmd_of(cluster, n).is_dc)
    assert successor.counters.get("fenced_before_view_loss", 0) == 1, successor.counters
    assert agents.where(cluster).get("svc") and set(agents.where(cluster)["svc"]) <= set(survivors)


def test_a_fencing_notice_for_a_life_that_joined_after_the_device_began_is_not_taken_for_it():
    """A node reset quickly may be back, as a new life in the view, before the notice of its
    fencing arrives: that life runs on, so the notice does not mark it fenced (its history would
    be recorded as gone when it next leaves) nor drop it from ccm's membership. Only a life
    (a messaging generation) heard since before the device began (device_ms and settle_ms before
    the notice) is."""
    cluster, _ = fenced_cluster(["node1", "node2", "node3"])
    cluster.run_until(cluster.now_ms + 2 * TIMING.deadtime_ms + 100)
    crmd = crmd_of(cluster, "node1")
    target = "node3"
    now = cluster.now_ms
    rec = {"target": target, "state": "done", "action": "reboot", "device_ms": 200}
    for since, taken in ((now - 50, False), (now - 200 - crmd.config.settle_ms + 1, False),
                         (now - 200 - crmd.config.settle_ms - 1, True)):
        crmd.life_since_ms[target] = (crmd.life_since_ms[target][0], since)
        crmd.fenced_members.pop(target, None)
        out: list = []
        crmd._fence_notice(now, dict(rec), out)
        told = [e for e in out if isinstance(e, Send) and type(e.msg).__name__ == "CcmFenced"]
        assert (target in crmd.fenced_members) == taken and bool(told) == taken, (since, out)
    crmd.fenced_members.pop(target, None)
    crmd.life_since_ms[target] = (crmd.life_since_ms[target][0], now - 10_000)
    out = []
    crmd._fence_notice(now, {"target": target, "state": "done", "action": "reboot"}, out)  # no device_ms
    assert target not in crmd.fenced_members


def test_a_fencing_by_our_own_stonithd_dates_the_device_exactly():
    """Our own stonithd's record says when its run completed on this machine's wall clock: the
    device began device_ms before that, and a life first heard before then is the one it ended,
    however young (found by the fault campaign: an operator fenced the holder from the other
    node a second after that node had fenced it, and its life, younger than settle_ms, was fenced
    twice). A life first heard after the device began is not; a completion outside the last
    settle_ms (the wall clock was set) falls back to the rule for another node's record."""
    cluster, _ = fenced_cluster(["node1", "node2", "node3"])
    cluster.run_until(cluster.now_ms + 2 * TIMING.deadtime_ms + 100)
    crmd = crmd_of(cluster, "node1")
    target = "node3"
    now = cluster.now_ms
    completed = now - 5  # (the notice's local trip)
    rec = {"target": target, "state": "done", "action": "reboot", "device_ms": 200, "executor": "node1",
           "completed_ms": completed + crmd.wall_offset_ms}
    for since, executor, completed_ms, taken in (
            (completed - 201, "node1", completed, True),
            (completed - 199, "node1", completed, False),
            (completed - 201, "node2", completed, False),  # another node's run: settle_ms before now
            (completed - 201, "node1", now + 1000, False),  # a wall clock set meanwhile
            (completed - 201, "node1", now - crmd.config.settle_ms - 1, False)):
        crmd.life_since_ms[target] = (crmd.life_since_ms[target][0], since)
        crmd.fenced_members.pop(target, None)
        out: list = []
        crmd._fence_notice(now, dict(rec, executor=executor, completed_ms=completed_ms + crmd.wall_offset_ms), out)
        told = [e for e in out if isinstance(e, Send) and type(e.msg).__name__ == "CcmFenced"]
        assert (target in crmd.fenced_members) == taken and bool(told) == taken, (since, executor, completed_ms)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_node_fenced_again_soon_after_it_came_back_is_fenced_once(seed):
    """Two nodes; an operator fences the DC from the other node, and that node again as soon as it
    is back in a view and settled. The second notice comes from the survivor's own stonithd: it
    dates the device exactly and the young life is taken as fenced, so the survivor does not
    shoot it a third time when messaging loses it."""
    cluster, checker = fenced_cluster(["node1", "node2"], seed=seed)
    boot_ms = TIMING.deadtime_ms + 300  # (back after the survivor's messaging lost it)
    simfence.devices(cluster).boot_ms = (boot_ms, boot_ms)
    cluster.run_until(cluster.now_ms + 2 * TIMING.deadtime_ms + 100)
    start = cluster.now_ms
    target = next(n for n in cluster.names if crmd_of(cluster, n).is_dc)
    other = next(n for n in cluster.names if n != target)
    for round_ in (1, 2):
        before = len(shots_since(cluster, start))
        cluster.deliver(cluster.nodes[other], cluster.nodes[other].procs["stonithd"],
                        Recv(b"operator", st.StFence(80 + round_, target, "reboot", 0, 0, "operator")))
        run_until_true(cluster, lambda: len(shots_since(cluster, start)) > before, 4000, "fenced", step_ms=1)
        run_until_true(cluster, lambda: settled(cluster) and all(
            (c := crmd_of(cluster, n)) is not None and c.view is not None and len(c.view.members) == 2
            for n in cluster.names), 15_000, "both back")
    cluster.run_until(cluster.now_ms + 3000)
    assert len(shots_since(cluster, start)) == 2, shots_since(cluster, start)


def test_a_member_fenced_and_back_in_a_view_is_fenced_again_when_lost_again():
    """The record of a fencing that outran ccm holds for that life only: a node fenced while a
    member that comes back (a newer ccm incarnation in a view) and is lost again is fenced again."""
    cluster, _ = fenced_cluster(["node1", "node2", "node3"])
    simfence.devices(cluster).boot_ms = (300, 300)  # back at once
    dc_name = next(n for n in cluster.names if crmd_of(cluster, n).is_dc)
    dc = crmd_of(cluster, dc_name)
    victim = next(n for n in cluster.names if n != dc_name)
    start = cluster.now_ms
    cluster.deliver(cluster.nodes[dc_name], cluster.nodes[dc_name].procs["stonithd"],
                    Recv(b"operator", st.StFence(78, victim, "reboot", 0, 0, "operator")))

    run_until_true(cluster, lambda: victim in shots_since(cluster, start), 4000, "fenced", step_ms=1)
    run_until_true(cluster, lambda: settled(cluster) and victim in dc.view.members
                   and dc.member_incarnations.get(victim, 0) > 0 and victim not in dc.fenced_members,
                   15_000, "back in a view")
    cluster.pause(victim)
    run_until_true(cluster, lambda: shots_since(cluster, start).count(victim) == 2, 8000, "fenced again")


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("daemon", ["ccm", "messaging"])
def test_a_holder_that_loses_ccm_or_messaging_serves_until_it_is_fenced(daemon, seed):
    """With fencing by a device, a node whose ccm or messaging dies keeps what it runs: the
    others fence it before they start any of it elsewhere, so stopping at once would only leave
    the service down for their detection, the fencing and the starts. The "never two owners"
    checker runs throughout; the service is down only from the fencing to its start elsewhere."""
    cluster, checker = fenced_cluster(["node1", "node2", "node3"], seed=seed)
    simfence.devices(cluster).boot_ms = (60_000, 60_000)  # stays off
    victim = holder(cluster, "svc")
    crashed_at = cluster.now_ms
    cluster.crash_process(victim, daemon)
    cluster.run_until(cluster.now_ms + 50)
    assert crmd_of(cluster, victim).counters.get("kept_until_fenced") == 1
    assert agents.where(cluster)["svc"] == [victim]
    gone_at = run_until_true(cluster, lambda: victim not in agents.where(cluster).get("svc", []), 8000,
                             "svc gone from the victim", step_ms=1)
    fenced_at = simfence.last_fenced(cluster, victim)
    assert fenced_at is not None and fenced_at >= crashed_at and gone_at >= fenced_at, (crashed_at, fenced_at, gone_at)
    back_at = run_until_true(cluster, lambda: bool(agents.where(cluster).get("svc")), 3000, "svc elsewhere")
    assert back_at - fenced_at < 1000
    assert checker.starts_checked > 0


def test_fencings_a_member_reports_count_only_where_a_quorate_partition_alone_runs_resources():
    """Two nodes (both halves keep quorum) or no-quorum-policy=ignore: a partition without quorum
    may run resources, so a member's word that a node was fenced and not seen since proves
    nothing about what that node ran later."""
    from crmd import fencing
    from crmd.cib import Cib
    base = '<cib><configuration><crm_config><cluster_property_set id="o">{}</cluster_property_set>' \
           '</crm_config><nodes/><resources/><constraints/></configuration><status/></cib>'
    stop = Cib.from_xml(base.format(""))
    ignore = Cib.from_xml(base.format('<nvpair id="o1" name="no-quorum-policy" value="ignore"/>'))
    assert fencing.claims_hold(stop, 3) and fencing.claims_hold(stop, 5)
    assert not fencing.claims_hold(stop, 2) and not fencing.claims_hold(ignore, 3)


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


class SaysItsWatchdogTookNoTime(StonithMachine):
    """Reports a watchdog fencing as if its device had run for no time (the wait for
    stonith-watchdog-timeout is when the target reset itself)."""

    def _publish_attempt(self, now_ms, rec, out):
        super()._publish_attempt(now_ms, dict(rec, device_ms=0), out)


class RecordsEveryFencedNodeDown(CrmdMachine):
    """A DC that records a fenced node as down even when the life it hears began after the
    fencing (the node reset quickly and joined again with its own history)."""

    def _life_since_fencing(self, now_ms, target, rec):
        found = super()._life_since_fencing(now_ms, target, rec)
        return None if found is True else found


@pytest.mark.parametrize("factory, expected", [
    (dict(stonith_factory=SaysItsWatchdogTookNoTime), "split brain"),
    (dict(crmd_factory=RecordsEveryFencedNodeDown), "history has not reached the DC's CIB"),
], ids=["watchdog-wait-as-device-time", "new-life-not-down"])
def test_a_node_back_before_its_watchdog_fencing_completes_stays_a_member(factory, expected):
    """Five nodes, watchdog fencing: node5's ccm dies, the DC fences it (by watchdog: counted done
    after stonith-watchdog-timeout), node5 resets itself, restarts and joins as a new life before
    that time is up. When the fencing completes, that life is not the one it ended: ccm must not
    drop it (with the wait counted as no device time, it did, while node5 kept the quorum it had
    been promised: split brain), and the DC must not record it down (its history was wiped and
    never sent again). `hb sim crm --nodes 5 --seed 20671 --fencing watchdog`."""
    kinds = ("crash", "partition", "oneway", "loss", "pause", "proc", "rscdie", "startfail", "nic", "stophang",
             "stop", "admin")
    result = run_crm_seed(20671, 5, random.Random(20671), kinds, watchdog=True, **factory)
    assert not result.ok and expected in (result.violation or ""), result.violation
    assert run_crm_seed(20671, 5, random.Random(20671), kinds, watchdog=True).ok


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


def test_a_dc_whose_stop_failed_while_stopping_fences_itself_once_its_peer_stopped():
    """Both nodes stop gracefully; the DC's stop of ip hangs and times out, so the DC must be
    fenced; its peer, asked to run the device, stops meanwhile. The DC's stonithd tried the
    departed peer again and waited out the attempt's deadline (beyond the settle bound, the DC
    still waiting to stop); now it runs the device on itself at once."""
    result = run_crm_seed(80752, 2, random.Random(80752), mode="crm", fencing=True, keep_trace=True)
    assert result.ok, result.violation
    assert result.fenced == 1
    assert "8537 ms  node1    FENCE reset node1" in result.trace  # 11 ms after node2 left
