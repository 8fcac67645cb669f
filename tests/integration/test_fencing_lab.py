"""Fencing with real processes: a two-node namespace lab fenced by the lab's power switch
(`hb lab up --stonith lab`: external/lab powers a node off - link down, every process of its
namespace killed, the addresses it held gone - and boots it again). The client-side observer
watches the floating address throughout and fails the test if two nodes ever answer for it.

(a) node1's link is cut; (b) every cluster daemon of node1 is killed (-9) while its resources
stay up; (c) node1 hangs (SIGSTOP of all its processes, longer than deadtime); (d) both nodes
lose each other at once (a partition): exactly one is fenced. In each, node1 is fenced (powered
off: stonith-action=off, so it stays off until the test powers it on) before node2 starts the
group, and takes the group back only after it has booted and rejoined. Last, an operator's
`hb stonith fence --action reboot` of node2: it comes back by itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from core.daemon import read_pidfile
from crmlab import BENCH_SVC, PORT, answer, cib_status, fenced, wait_answer, wait_idle, watching
from labs import running_lab
from lab import plan
from lab.cibs import web_group_cib
from lab.lab import Lab, wait_until
from lab.plan import LabSpec
from tools import crmclient
from tools.stonith_admin import fence

pytestmark = [pytest.mark.lab]
if os.geteuid() != 0:
    if os.environ.get("CI"):
        raise RuntimeError("CI runs as root: the namespace lab tests must run there")
    pytestmark.append(pytest.mark.skip(reason="the namespace lab needs root"))

GROUP_ON_NODE1 = '<rsc_location id="web-on-1" rsc="web" node="node1" score="100"/>'
CIB = web_group_cib({"no-quorum-policy": "stop", "stonith-timeout": "20s", "stonith-action": "off"}, monitor="2s",
                    constraints=GROUP_ON_NODE1)


def mountpoints(pid) -> set[str]:
    with open(f"/proc/{pid}/mounts", encoding="utf-8") as handle:
        return {line.split()[1] for line in handle if len(line.split()) > 1}


def node_off(lab: Lab, node: str) -> bool:
    lab.refresh()
    return "off" in lab.state.nodes[node].faults


def recover(lab: Lab) -> None:
    """Power node1 on again (and undo any other fault); wait until both run, joined and idle,
    with the group back on node1 (its location preference)."""
    lab.refresh()
    lab.heal_all()
    wait_idle(lab, ["node1", "node2"], 40)
    wait_answer(lab, "node1", 20)


def takeover(lab: Lab, fault: str) -> None:
    count = len(fenced(lab, "node2", "node1"))
    if fault == "partition":
        lab.partition(["node1", "node2"])
    else:
        lab.fail("node1", fault)
    wait_answer(lab, "node2", 30)
    # node1 was powered off before node2 started the group (the observer saw no two owners)
    assert node_off(lab, "node1"), lab.state.nodes["node1"]
    # as a power cycle empties /run (a tmpfs): no pid file or agent state outlives it
    assert os.listdir(lab.paths("node1").rundir) == []
    done = fenced(lab, "node2", "node1")
    assert len(done) == count + 1, done
    assert answer(lab, plan.vip(lab.spec)) == "node2"
    assert not node_off(lab, "node2")


def test_a_node_that_only_looks_dead_is_fenced_before_its_resources_move(tmp_path):
    cib_file = tmp_path / "cib.xml"
    cib_file.write_text(CIB)
    spec = LabSpec(name="tfen", nodes=2, subnet="198.18.74.0/24", crm=True, cib=str(cib_file),
                   scripts=(BENCH_SVC,), stonith="lab")
    with running_lab(spec) as lab:
        with watching(lab):
            wait_answer(lab, "node1", 40)
            wait_idle(lab, ["node1", "node2"], 30)
            for fault in ("link", "kill", "hang"):
                takeover(lab, fault)
                recover(lab)
            # (d) the fence race: both lose each other at once; node2 shoots first (fencing node2
            # waits 1 s, node1 0 s: the lab switch's per-target delays), node1's request dies with it
            takeover(lab, "partition")
            lab.refresh()
            assert [n for n in lab.nodes if "off" in lab.state.nodes[n].faults] == ["node1"]
            st = crmclient.status(lab.paths("node2"))
            assert st["role"] == "dc", cib_status(lab)
            recover(lab)
            # an operator's reboot of the standby node: fenced, booted, rejoined, nothing moved.
            # node1's device boots it, from node1's mount namespace, where a file system is
            # mounted (as the holder's is): node2 boots without it, from the machine's mounts
            import io
            mnt = tmp_path / "node1-only"
            mnt.mkdir()
            holder_ns = f"/proc/{lab.pid('node1')}/ns/mnt"
            subprocess.run(["nsenter", f"--mount={holder_ns}", "--", "mount", "-t", "tmpfs", "tmpfs", str(mnt)],
                           check=True)
            out = io.StringIO()
            assert fence(lab.paths("node1"), "node2", "reboot", 20.0, 0.0, out) == 0, out.getvalue()
            wait_idle(lab, ["node1", "node2"], 40)
            lab.refresh()
            assert not node_off(lab, "node2")
            assert str(mnt) in mountpoints(lab.pid("node1"))
            assert str(mnt) not in mountpoints(lab.pid("node2"))
        assert answer(lab, plan.vip(lab.spec), PORT) == "node1"


def test_without_stonith_the_log_says_shared_data_is_not_protected():
    spec = LabSpec(name="tnost", nodes=2, subnet="198.18.75.0/24", haresources=(), run_stack=True)
    with running_lab(spec) as lab:
        lab.wait_all_see("active", timeout_s=20)
        log = os.path.join(plan.node_dirs(lab.spec, "node1")["log"], "ha-log")
        wait_until(lambda: "NOT protected" in open(log, encoding="utf-8", errors="replace").read(), 15,
                   "the warning in node1's log")


# -- the watchdog: three nodes, no fence device, watchdog fencing (SBD's idea) -------------------------
WATCHDOG_MS = 1000
CIB_WATCHDOG = web_group_cib({"no-quorum-policy": "stop", "stonith-timeout": "20s", "stonith-watchdog-timeout": "5s"},
                             monitor="2s", constraints=GROUP_ON_NODE1)


def powered_off(lab: Lab, node: str) -> bool:
    lab.refresh()
    return "off" in lab.state.nodes[node].faults


def test_watchdog_fencing_a_hung_or_cut_off_node_resets_itself_before_the_others_take_over(tmp_path):
    """The lab watchdog powers a node off when its launcher stops feeding it: when the node hangs
    (the launcher is stopped too), when its daemons are killed, when it loses quorum (crmd asks
    for self-fencing), when only its crmd hangs. The others count it as fenced after stonith-watchdog-timeout (5 s: more
    than the watchdog's 1 s + the launcher's 3 s health window + a feed period) and only then
    take over."""
    cib_file = tmp_path / "cib.xml"
    cib_file.write_text(CIB_WATCHDOG)
    spec = LabSpec(name="twdog", nodes=3, subnet="198.18.77.0/24", crm=True, cib=str(cib_file),
                   scripts=(BENCH_SVC,), watchdog_ms=WATCHDOG_MS)
    with running_lab(spec) as lab:
        nodes = ["node1", "node2", "node3"]
        with watching(lab):
            wait_answer(lab, "node1", 40)
            wait_idle(lab, nodes, 30)
            for how in ("hang", "kill", "partition", "crmd-hang"):
                if how == "partition":
                    lab.partition(["node1", "node2,node3"])
                elif how == "crmd-hang":
                    # only crmd hangs: the node stays in the membership, but its launcher stops
                    # feeding the watchdog once crmd has not answered for 3 s
                    os.kill(read_pidfile(lab.paths("node1").pidfile("crmd")), signal.SIGSTOP)
                else:
                    lab.fail("node1", how)
                wait_until(lambda: powered_off(lab, "node1"), 15, f"node1's watchdog to fire ({how})")
                wait_until(lambda: answer(lab, plan.vip(lab.spec)) in ("node2", "node3"), 30,
                           f"the group on a survivor ({how})")
                survivor = answer(lab, plan.vip(lab.spec))
                assert fenced(lab, survivor, "node1"), f"{survivor} has no record of fencing node1"
                lab.refresh()
                lab.heal_all()
                wait_idle(lab, nodes, 40)
                wait_answer(lab, "node1", 20)
        # a clean stop disarms the watchdog (the magic close): stopping a node does not power it off
        lab.stop_node("node3")
        time.sleep(2 * WATCHDOG_MS / 1000)
        assert not powered_off(lab, "node3")


# -- ipfail: connectivity to a ping node ---------------------------------------------------------------
def test_the_group_moves_to_the_node_that_still_reaches_the_ping_node():
    """haresources mode with a ping node (node3's address, no stack there): cut only node1's path to
    it; the group moves to node2 (its pingd is higher); restore it; the group returns (auto_failback
    on). The observer sees no moment with two owners."""
    spec = LabSpec(name="tping", nodes=3, subnet="198.18.79.0/24", scripts=(BENCH_SVC,), run_stack=False,
                   haresources=("node1 IPaddr2::{vip}/24/eth0 tcpsvc::%d" % PORT,),
                   extra_hacf=("ping 198.18.79.13",))
    with running_lab(spec) as lab:
        lab.start_node("node1")
        lab.start_node("node2")
        with watching(lab):
            wait_answer(lab, "node1", 40)
            wait_idle(lab, ["node1", "node2"], 30)
            lab.cut("node1", "node3")
            wait_answer(lab, "node2", 20)
            lab.heal("node1")
            wait_answer(lab, "node1", 20)
            wait_idle(lab, ["node1", "node2"], 30)
        lab.stop_node("node2")
        lab.stop_node("node1")
