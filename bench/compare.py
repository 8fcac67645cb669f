"""Side by side: the same failures against pyheartbeat, Heartbeat 3.0.6, Pacemaker + Corosync and
keepalived, on the same lab, seen by the same client-side observer.

    .venv/bin/python bench/compare.py --runs 5 --default-runs 2 [--json out.json]
    .venv/bin/python bench/compare.py --stacks ours,pacemaker --faults link,kill --profiles fast --runs 3

Topology (lab/lab.py, `run_stack=False`): two node namespaces (subnet + 11, + 12) and a client
(+ 50) on one bridge. The group is a floating address (VIP = subnet + 100) and a TCP service
(bench/svc/tcpsvc, answering "NODE ADDR") on port 8080:

* ours: pyheartbeat, `crm yes`, group `web` (ocf:pyheartbeat:IPaddr2 + the heartbeat-class
  tcpsvc), stickiness 100, fencing by the lab's power switch (external/lab, stonith-action off:
  a fenced node stays off until the benchmark powers it on), as bench/fence.py runs it;
* heartbeat: Debian's Heartbeat 3.0.6, haresources `node1 IPaddr2::VIP/24/eth0 tcpsvc::8080`,
  auto_failback on (lab/heartbeat306.py); no fencing (v1 has no device for namespaces);
* pacemaker: Debian's Pacemaker 2.1.5 + Corosync 3.1.7 (lab/pacemaker.py), group g_web =
  ocf:heartbeat:IPaddr2 + lsb:tcpsvc (a wrapper in the node's /etc/init.d), stickiness 100,
  two_node quorum, stonith-enabled=false: no fence agent of Pacemaker's can power a lab
  namespace off, and fence_dummy would report success without stopping anything, which would
  only add its delay and hide nothing; so, like Heartbeat 3.0.6 and keepalived here, Pacemaker
  runs without fencing;
* keepalived: Debian's keepalived 2.2.7, VRRP for the address only (lab/keepalived.py); the
  service runs on both nodes all the time (listening on all addresses), so whoever holds the VIP
  answers. It has no planned move.

Profiles: `fast` = each stack's fastest stable timings (ours and Heartbeat keepalive 100 ms,
deadtime 300 ms, warntime 200 ms, initdead 2 s; corosync udpu token 300 ms, Pacemaker dc-deadtime
2 s; keepalived VRRPv3 advert_int 0.01), `default` = the documented defaults (keepalive 2 s,
deadtime 30 s, warntime 10 s, initdead 120 s; corosync knet token 3000 ms, dc-deadtime 20 s;
keepalived VRRPv2 advert_int 1). Default-timing runs are slow (30 s deadtimes), so they are few
(--default-runs, 2 unless told).

A run of a stack is one session: a fresh lab (namespaces, bridge, client) and fresh nodes, the
observer (lab/vipwatch.py in the client namespace: ARP every 10 ms, a TCP connect every 10 ms)
started first, then both nodes started at once; then the faults one after the other, each on the
node that holds the group once the cluster is settled (members agree, the group runs on one
node, the address is on one node only, the service has answered undisturbed for a second plus a
random part of a keepalive), and a recovery after each: the failed node "rebooted" (every
process of its namespace killed, the addresses its resources took gone, its link up, its stack
started again; ours: the lab's power switch powers it on). The runs alternate between stacks, so
load on the shared machine falls on all alike.

Faults and what is measured (ms, on the observer's clock):
* cold:      both nodes started at once -> first answer through the VIP;
* link:      the holder's cable pulled (lab.fail link) -> first answer from the other node;
* kill:      the holder's cluster stack killed -9, its services and VIP left running (ours:
             lab.fail kill; heartbeat: the master control process's tree; pacemaker: corosync's
             and pacemakerd's trees; keepalived: its tree) -> first answer from the other node;
* power:     the holder powered off (lab.power_off: link down, every process killed, its
             addresses gone) -> first answer from the other node;
* partition: the nodes cut from each other (both links up; iptables in the namespaces) until the
             other node claims the address (or one is fenced, or deadtime + 15 s), then healed:
             the longest time without an answer from the cut until the service has answered
             undisturbed for 6 s (15 s with default timings) after the heal;
* move:      a planned move of the group to the other node with the stack's own command (ours and
             pacemaker `crm_resource --move`, heartbeat `hb_standby` on the holder) -> the longest
             time without an answer until the new node answers (plus 1.5 s).
Double-owner moments: the observer's conflicts (two MACs answering ARP for the VIP in one 10 ms
round; consecutive rounds are one) from the fault to the end of its window (+1 s).

Printed: one table, a line per fault and profile; per stack n, median and p99 outage and the
double-owner count over the runs, and the ratio ours / theirs of the medians.

Needs root; heartbeat, resource-agents, pacemaker, pacemaker-cli-utils, corosync, keepalived,
socat (a stack whose packages are missing is reported as not run). Run `make -s bytecode` first.
Labs: cmpou, cmphb, cmppm, cmpka on 198.18.200-203.0/24 (swept before each session).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Callable, ContextManager, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from failover import SERVICE, HeartbeatDriver, RunError, Setup  # noqa: E402
from lab import compare_report as report  # noqa: E402
from lab import heartbeat306, host, keepalived, network, pacemaker, plan, stack  # noqa: E402
from lab import state as statemod  # noqa: E402
from lab.cibs import web_group_cib  # noqa: E402
from lab.lab import Lab, sweep  # noqa: E402
from lab.plan import LabError, LabSpec  # noqa: E402
from lab.vipwatch import VipWatch, VipWatchError  # noqa: E402
from tools import crmclient  # noqa: E402

STACKS = ("ours", "heartbeat", "pacemaker", "keepalived")
FAULTS = ("cold", "link", "kill", "power", "move", "partition")  # the order a session runs them in
PROFILES = ("fast", "default")
LABS = {"ours": ("cmpou", "198.18.200.0/24"), "heartbeat": ("cmphb", "198.18.201.0/24"),
        "pacemaker": ("cmppm", "198.18.202.0/24"), "keepalived": ("cmpka", "198.18.203.0/24")}
PORT = 8080
TAIL_S = 1.0  # a fault's window goes on this long after its end (to see a double owner appear)
MOVE_QUIET_S = 1.5
# after a recovery the next fault waits until the rebooted node has been up this long, whatever
# the client sees: Heartbeat 3.0.6 takes 2 s longer to declare a node dead in the first seconds
# after it rejoined (a failback's standby handshake), and every stack gets the same quiet time
REJOIN_QUIET_S = 6.0
POLL_S = 0.1
# ours and pacemaker: the group prefers node1 by more than its stickiness, so it starts there and
# goes back once node1 is back (500: more than the group's stickiness, 100 per member), as heartbeat's auto_failback on and keepalived's preempt do: every
# fault hits node1 the same way under every stack
PREFER_NODE1 = '<rsc_location id="{rsc}-prefers-node1" rsc="{rsc}" node="node1" score="500"/>'


@dataclass(frozen=True)
class Profile:
    """One timing profile for every stack."""

    name: str
    keepalive_ms: int
    deadtime_ms: int
    warntime_ms: int
    initdead_ms: int
    pcmk: pacemaker.Timings
    ka: keepalived.Timings
    heal_quiet_s: float  # after a partition heals, the service must answer undisturbed this long
    detect_s: float  # the slowest stack's failure detection, for timeouts

    def describe(self) -> str:
        return (f"{self.name}: ours/heartbeat keepalive {self.keepalive_ms} ms, deadtime {self.deadtime_ms} ms, "
                f"warntime {self.warntime_ms} ms, initdead {self.initdead_ms} ms; {self.pcmk.describe()}; "
                f"keepalived {self.ka.describe()}")


PROFILE_SETS = {
    # deadtime 300 ms: a node is declared dead after as long as corosync's token 300 ms. Both
    # heartbeats hold it: a sender stalled for less than deadtime - keepalive (200 ms) is not
    # missed, the tolerance bench/detect.py's load phase measures (keepalive 50 / deadtime 250,
    # two busy loops on both cores, 90 s: 0 false deaths); the Heartbeat anchors stopped at 500.
    "fast": Profile("fast", 100, 300, 200, 2000, pacemaker.Timings.fast(), keepalived.Timings.fast(), 6.0, 2.0),
    "default": Profile("default", 2000, 30000, 10000, 120000, pacemaker.Timings(), keepalived.Timings(), 15.0, 31.0),
}


class Unsupported(Exception):
    """The stack has no such operation (keepalived: no planned move)."""


# -- the stacks ------------------------------------------------------------------------------------

class StackDriver:
    """One stack on a lab whose nodes run nothing yet (LabSpec.run_stack=False): what the
    session asks of it. Faults that are the same for every stack (link, partition, power) are
    done by the session through the lab; the driver kills its own stack and reboots a node."""

    name = ""
    preferred = "node1"  # where the group starts and goes back to by itself

    def __init__(self, lab: Lab, profile: Profile, workdir: str) -> None:
        self.lab = lab
        self.profile = profile
        self.workdir = workdir

    @classmethod
    def lab_spec(cls, profile: Profile, workdir: str) -> LabSpec:
        name, subnet = LABS[cls.name]
        return LabSpec(name=name, nodes=2, subnet=subnet, keepalive_ms=profile.keepalive_ms,
                       deadtime_ms=profile.deadtime_ms, warntime_ms=profile.warntime_ms,
                       initdead_ms=profile.initdead_ms, run_stack=False)

    def start(self) -> None:
        raise NotImplementedError

    def healthy(self) -> tuple[bool, str]:
        """(settled, what is not) as the stack itself sees it."""
        raise NotImplementedError

    def kill_stack(self, node: str) -> Optional[float]:
        """Kill the node's cluster stack (-9), leaving its services and addresses; returns the
        monotonic ms of the first signal when that is later than the call (None: at the call)."""
        raise NotImplementedError

    def power_off(self, node: str) -> None:
        self.lab.power_off(node)

    def move(self, source: str, target: str) -> subprocess.Popen:
        raise Unsupported(f"{self.name} has no planned move")

    def after_move(self, source: str, target: str) -> None:
        pass

    def heal_network(self) -> None:
        """Undo partitions and cut links; a powered-off node stays off (`reboot` starts it: the
        lab's own power-on would start our stack there)."""
        for node in self.lab.nodes:
            if "off" not in self.lab.state.nodes[node].faults:
                self.lab.heal(node)

    def reboot(self, node: str) -> None:
        """What a reset does to a node: every process of its namespace killed, the addresses its
        resources took gone, its links up, its stack started again."""
        lab, spec = self.lab, self.lab.spec
        ns = plan.namespace(spec, node)
        procs = [p for p in host.netns_pids(ns) if p[0] != os.getpid()]
        host.signal_all(procs, signal.SIGKILL)
        if not host.wait_gone(procs, 10.0):
            raise RunError(f"{node}: processes {[p for p, _ in procs if host.alive(*p)]} would not die")
        self._reaped(node)
        network.flush_taken_addresses(spec, node)
        network.set_node_iface(spec, node, up=True)
        network.set_link(spec, node, up=True)
        s = lab.state.nodes[node]
        s.faults = [f for f in s.faults if f == "partition"]
        lab.save()
        self.start_node(node)

    def _reaped(self, node: str) -> None:
        """The node's processes are gone: forget or reap what the driver tracked."""

    def start_node(self, node: str) -> None:
        raise NotImplementedError

    def recover(self, fault: str, target: str) -> None:
        """Bring the cluster back after fault on target (the session then waits until it is
        settled): reboot a failed node; a partition and a move are over by themselves."""
        if fault in ("link", "kill", "power"):
            self.reboot(target)  # first: a cut-off node must not meet its peer again still holding the group
        self.heal_network()

    def cleanup(self) -> list[str]:
        raise NotImplementedError

    def diagnostics(self) -> str:
        return ""


class OursDriver(StackDriver):
    """pyheartbeat with the CIB and the lab's power switch (stonith-action off)."""

    name = "ours"

    @classmethod
    def lab_spec(cls, profile: Profile, workdir: str) -> LabSpec:
        cib_path = os.path.join(workdir, "cib.xml")
        with open(cib_path, "w", encoding="utf-8") as handle:
            handle.write(web_group_cib({"no-quorum-policy": "stop", "stonith-action": "off",
                                        "stonith-timeout": "20s"}, stickiness=100, port=PORT,
                                       constraints=PREFER_NODE1.format(rsc="web")))
        base = super().lab_spec(profile, workdir)
        return LabSpec(**{**base.to_dict(), "crm": True, "cib": cib_path, "stonith": "lab",
                          "scripts": (SERVICE,), "extra_hacf": (), "haresources": ()})

    def _locked(self) -> ContextManager[None]:
        """The lab's lock: the power switch (run by a node's stonithd) changes the state file too."""
        return statemod.locked(self.lab.spec.root)

    def start(self) -> None:
        for node in self.lab.nodes:
            self.lab.start_node(node, wait=False)

    def start_node(self, node: str) -> None:
        self.lab.start_node(node, wait=False)

    def healthy(self) -> tuple[bool, str]:
        states = {}
        for node in self.lab.nodes:
            try:
                states[node] = crmclient.status(self.lab.paths(node), timeout_ms=1000)
            except (crmclient.CrmUnavailable, crmclient.CrmError) as exc:
                return False, f"{node}: crmd: {exc}"
        views = {s.get("view") for s in states.values()}
        if len(views) != 1 or None in views or 0 in views:
            return False, f"views {views}"
        if not all(s.get("joined") for s in states.values()):
            return False, "not all joined"
        if not any(s.get("role") == "dc" and s.get("state") == "idle" for s in states.values()):
            return False, "no idle DC"
        holders = [n for n, s in states.items() if "vip" in (s.get("active") or [])]
        if len(holders) != 1:
            return False, f"group on {holders}"
        return True, ""

    def kill_stack(self, node: str) -> Optional[float]:
        with self._locked():
            self.lab.refresh()
            self.lab.fail(node, "kill")
        return None

    def power_off(self, node: str) -> None:
        with self._locked():
            self.lab.refresh()
            self.lab.power_off(node)

    def partition(self) -> None:
        with self._locked():
            self.lab.refresh()
            self.lab.partition(list(self.lab.nodes))

    def link(self, node: str) -> None:
        with self._locked():
            self.lab.refresh()
            self.lab.fail(node, "link")

    def heal_network(self) -> None:
        with self._locked():
            self.lab.refresh()
            self.lab.heal_all()  # powers a fenced node on (its stack starts), links up, cuts gone

    def recover(self, fault: str, target: str) -> None:
        self.heal_network()

    def move(self, source: str, target: str) -> subprocess.Popen:
        argv = ["crm_resource", "--move", "-r", "web", "-N", target]
        return subprocess.Popen(self.lab.exec_argv(source, argv), env=stack.node_env(self.lab.spec, source),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)

    def after_move(self, source: str, target: str) -> None:
        done = self.lab.exec(source, ["crm_resource", "--clear", "-r", "web"], capture=True, timeout_s=30)
        if done.returncode != 0:
            raise RunError(f"crm_resource --clear: exit {done.returncode}: {(done.stdout + done.stderr).strip()}")

    def cleanup(self) -> list[str]:
        self.lab.refresh()
        return [p for node in self.lab.nodes for p in self.lab.stop_node(node)]

    def diagnostics(self) -> str:
        return "".join(stack.log_tail(self.lab.spec, node) for node in self.lab.nodes)


class HeartbeatStack(StackDriver):
    """Debian's Heartbeat 3.0.6 (bench/failover.py's HeartbeatDriver: haresources, auto_failback on)."""

    name = "heartbeat"

    def __init__(self, lab: Lab, profile: Profile, workdir: str) -> None:
        super().__init__(lab, profile, workdir)
        self.driver = HeartbeatDriver(lab, Setup(port=PORT))
        self.cluster = self.driver.cluster

    def start(self) -> None:
        self.cluster.start()

    def start_node(self, node: str) -> None:
        hb = self.cluster.node(node)
        hb.reset_run()
        hb.start()

    def healthy(self) -> tuple[bool, str]:
        for node in self.cluster.nodes:
            if not node.alive():
                return False, f"{node.name} is not running"
        views = {n.name: self.cluster.view(n.name) for n in self.cluster.nodes}
        want = {n.name: "active" for n in self.cluster.nodes}
        if any(v != want for v in views.values()):
            return False, f"views {views}"
        # after a failback the two nodes hand the group over in a standby handshake that ends a
        # second or two after node1 answers; a fault in that window meets a node in transition
        rsc = {n.name: n.cl_status("rscstatus") for n in self.cluster.nodes}
        if any(v not in ("all", "local", "none") for v in rsc.values()):
            return False, f"resources {rsc}"
        return True, ""

    def kill_stack(self, node: str) -> None:
        """SIGKILL heartbeat's own processes (the master control process and what it forked: its
        FIFO reader, read and write children, resource scripts running right now); the service
        (socat, detached by tcpsvc) and the VIP stay, as in the anchor's kill -9."""
        hb = self.cluster.node(node)
        master = hb.master
        if master is None or not host.alive(*master):
            raise RunError(f"{node}: heartbeat is not running")
        host.signal_all([master], signal.SIGSTOP)
        first = time.monotonic_ns() / 1e6
        frozen: set[tuple[int, int]] = {master}
        for _ in range(50):
            found = set(host.tree(*master)) | {(c, s) for p, _ in frozen for c in host.descendants(p)
                                               for s in [host.start_time(c)] if s is not None}
            new = found - frozen
            if not new:
                break
            host.signal_all(new, signal.SIGSTOP)
            frozen |= new
        host.signal_all(frozen, signal.SIGKILL)
        if not host.wait_gone(frozen, 10.0):
            raise RunError(f"{node}: heartbeat's processes would not die")
        return first

    def move(self, source: str, target: str) -> subprocess.Popen:
        hb = self.cluster.node(source)
        pid = hb.master_pid()
        if pid is None:
            raise RunError(f"{source}: heartbeat is not running")
        argv = ["nsenter", "-t", str(pid), "-m", "-u", "-n", "/usr/share/heartbeat/hb_standby", "all"]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                text=True)

    def after_move(self, source: str, target: str) -> None:
        # back to the preferred node (auto_failback does not undo a standby): the session waits for it
        pid = self.cluster.node(source).master_pid()
        if pid is None:
            raise RunError(f"{source}: heartbeat is not running")
        done = subprocess.run(["nsenter", "-t", str(pid), "-m", "-u", "-n", "/usr/share/heartbeat/hb_takeover", "all"],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RunError(f"hb_takeover on {source}: exit {done.returncode}: {(done.stdout + done.stderr).strip()}")

    def cleanup(self) -> list[str]:
        return self.driver.cleanup()

    def diagnostics(self) -> str:
        return self.driver.diagnostics()


class PacemakerStack(StackDriver):
    """Pacemaker 2.1 + Corosync 3 (lab/pacemaker.py)."""

    name = "pacemaker"

    def __init__(self, lab: Lab, profile: Profile, workdir: str) -> None:
        super().__init__(lab, profile, workdir)
        self.cluster = pacemaker.cluster_for_lab(lab, SERVICE, PORT, profile.pcmk,
                                                 constraints=PREFER_NODE1.format(rsc=pacemaker.GROUP))

    def start(self) -> None:
        self.cluster.start()

    def start_node(self, node: str) -> None:
        pm = self.cluster.node(node)
        pm.reset_state()
        pm.start()

    def _reaped(self, node: str) -> None:
        self.cluster.node(node).hard_stop()

    def healthy(self) -> tuple[bool, str]:
        views = {n.name: n.status() for n in self.cluster.nodes}
        names = [n.name for n in self.cluster.nodes]
        if not all(v is not None and v.settled(names) for v in views.values()):
            return False, f"crm_mon: {views}"
        dcs = {v.dc for v in views.values() if v is not None}
        if len(dcs) != 1:
            return False, f"DCs {dcs}"
        dc = next(iter(dcs))
        assert dc is not None
        try:
            done = self.cluster.node(dc).tool([f"{pacemaker.SBIN}/crmadmin", "-q", "-S", dc], timeout_s=5)
        except subprocess.TimeoutExpired:
            return False, "crmadmin timed out"
        state = (done.stdout + done.stderr).strip()
        if "S_IDLE" not in state:
            return False, f"DC {dc}: {state}"
        return True, ""

    def kill_stack(self, node: str) -> Optional[float]:
        if not self.cluster.node(node).kill_stack():
            raise RunError(f"{node}: corosync/pacemaker would not die")
        return self.cluster.node(node).killed_at_ms

    def move(self, source: str, target: str) -> subprocess.Popen:
        argv = self.cluster.node(source).tool_argv([f"{pacemaker.SBIN}/crm_resource", "--move", "-r",
                                                    pacemaker.GROUP, "-N", target])
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                text=True, env={"PATH": pacemaker.TOOL_PATH, "LANG": "C"})

    def after_move(self, source: str, target: str) -> None:
        done = self.cluster.node(source).tool([f"{pacemaker.SBIN}/crm_resource", "--clear", "-r", pacemaker.GROUP],
                                              timeout_s=30)
        if done.returncode != 0:
            raise RunError(f"crm_resource --clear: exit {done.returncode}: {(done.stdout + done.stderr).strip()}")

    def cleanup(self) -> list[str]:
        return self.cluster.cleanup()

    def diagnostics(self) -> str:
        return self.cluster.diagnostics()


class KeepalivedStack(StackDriver):
    """keepalived (VRRP), the address only; the service always runs on both nodes."""

    name = "keepalived"

    def __init__(self, lab: Lab, profile: Profile, workdir: str) -> None:
        super().__init__(lab, profile, workdir)
        self.cluster = keepalived.cluster_for_lab(lab, SERVICE, PORT, profile.ka)

    def start(self) -> None:
        self.cluster.start()

    def start_node(self, node: str) -> None:
        self.cluster.node(node).start()

    def healthy(self) -> tuple[bool, str]:
        down = [n.name for n in self.cluster.nodes if not n.running()]
        return (not down, f"keepalived not running on {down}" if down else "")

    def kill_stack(self, node: str) -> Optional[float]:
        if not self.cluster.node(node).kill_stack():
            raise RunError(f"{node}: keepalived would not die")
        return self.cluster.node(node).killed_at_ms

    def _reaped(self, node: str) -> None:
        self.cluster.node(node).kill_stack()  # reaps the process we started

    def cleanup(self) -> list[str]:
        return self.cluster.cleanup()

    def diagnostics(self) -> str:
        return self.cluster.diagnostics()


DRIVERS: dict[str, type[StackDriver]] = {"ours": OursDriver, "heartbeat": HeartbeatStack,
                                         "pacemaker": PacemakerStack, "keepalived": KeepalivedStack}


def missing(stack_name: str) -> list[str]:
    """Why a stack cannot run on this machine (empty: it can)."""
    if stack_name == "ours":
        return [] if host.is_root() else ["needs root (network namespaces)"]
    if stack_name == "heartbeat":
        return heartbeat306.missing(resources=True) + (
            [] if os.path.exists("/usr/share/heartbeat/hb_standby") else ["hb_standby missing: apt-get install heartbeat"])
    if stack_name == "pacemaker":
        return pacemaker.missing()
    return keepalived.missing()


# -- one session: a fresh lab, the stack started cold, then every fault ----------------------------

class Session:
    """A lab with one stack on it and the observer in the client namespace."""

    def __init__(self, driver: StackDriver, watch: VipWatch, log: Callable[[str], None]) -> None:
        self.driver = driver
        self.lab = driver.lab
        self.watch = watch
        self.log = log
        spec = self.lab.spec
        self.addresses = {plan.address(spec, n): n for n in self.lab.nodes}
        self.macs = {n: _mac(spec, n) for n in self.lab.nodes}
        self.recovered_at = 0.0  # time.monotonic() of the last recovery

    def node_of(self, answer: Optional[str]) -> Optional[str]:
        return report.node_of_answer(answer, self.addresses)

    def events(self) -> list[dict]:
        return self.watch.events()

    def vip_holders(self) -> list[str]:
        """Nodes whose eth0 carries the VIP (from the host: `ip -n NS -j addr`)."""
        vip = plan.vip(self.lab.spec)
        out = []
        for node in self.lab.nodes:
            done = host.run(["ip", "-n", plan.namespace(self.lab.spec, node), "-j", "addr", "show", "dev", plan.IFACE],
                            check=False)
            try:
                entries = json.loads(done.stdout or "[]")
            except ValueError:
                continue
            if any(info.get("local") == vip for e in entries for info in e.get("addr_info", [])):
                out.append(node)
        return out

    def wait_answer(self, after_ms: float, want: Callable[[Optional[str]], bool], timeout_s: float,
                    what: str) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            got = report.first_answer(self.events(), after_ms, lambda a: want(self.node_of(a)))
            if got is not None:
                return got
            if not self.watch.running():
                raise RunError(f"the observer stopped: {self.watch.log_tail()}")
            if time.monotonic() >= deadline:
                state = report.tcp_state(self.events())
                raise RunError(f"no {what} within {timeout_s:g} s (the client sees {state[0]} {state[1] or ''})")
            time.sleep(0.02)

    def wait_settled(self, timeout_s: float, settle_s: float = 1.0) -> str:
        """Wait until the stack is settled and the client has been answered undisturbed for
        settle_s (by the preferred node, when the stack has one); then a random part of a
        keepalive more, so the fault falls at a random phase of the heartbeat. Returns the node
        that answers (the holder)."""
        deadline = time.monotonic() + timeout_s
        why = ""
        while True:
            state, answer, since = report.tcp_state(self.events())
            holder = self.node_of(answer)
            now_ms = time.monotonic_ns() / 1e6
            if time.monotonic() - self.recovered_at < REJOIN_QUIET_S:
                why = f"less than {REJOIN_QUIET_S:g} s since the recovery"
            elif state != "up" or holder is None:
                why = f"the client sees the service {state}"
            elif since is not None and now_ms - since < settle_s * 1000:
                why = "the service's answers changed less than a second ago"
            elif self.driver.preferred and holder != self.driver.preferred:
                why = f"{holder} answers, waiting for {self.driver.preferred}"
            else:
                ok, why = self.driver.healthy()
                if ok:
                    holders = self.vip_holders()
                    if holders == [holder]:
                        time.sleep(random.uniform(0, self.driver.profile.keepalive_ms / 1000))
                        state, answer, _ = report.tcp_state(self.events())
                        if state == "up" and self.node_of(answer) == holder:
                            return holder
                        why = "the answer changed during the last wait"
                    else:
                        why = f"the VIP is on {holders}, {holder} answers"
            if time.monotonic() >= deadline:
                raise RunError(f"the cluster did not settle within {timeout_s:g} s: {why}")
            time.sleep(POLL_S)

    # the faults: each returns a result row (without stack/profile/run)
    def cold(self) -> dict:
        t0 = time.monotonic_ns() / 1e6
        self.driver.start()
        timeout = 60.0 + self.driver.profile.initdead_ms / 1000
        got = self.wait_answer(t0, lambda n: n is not None, timeout, "answer after the cold start")
        end = float(got["mono_ms"])
        return self._row("cold", end - t0, t0, end, first=self.node_of(got.get("answer")))

    def failover(self, fault: str, holder: str) -> dict:
        other = next(n for n in self.lab.nodes if n != holder)
        t0 = time.monotonic_ns() / 1e6
        if fault == "link":
            if isinstance(self.driver, OursDriver):
                self.driver.link(holder)
            else:
                self.lab.fail(holder, "link")
        elif fault == "kill":
            t0 = max(t0, self.driver.kill_stack(holder) or t0)
        elif fault == "power":
            self.driver.power_off(holder)
        else:
            raise AssertionError(fault)
        acted = time.monotonic_ns() / 1e6
        timeout = self.driver.profile.detect_s + 30.0
        got = self.wait_answer(t0, lambda n: n == other, timeout, f"answer from {other}")
        end = float(got["mono_ms"])
        time.sleep(TAIL_S)
        return self._row(fault, end - t0, t0, end, target=holder, fault_ms=round(acted - t0, 1),
                         gap_ms=round(report.longest_gap(self.events(), t0, end), 1))

    def partition(self, holder: str) -> dict:
        other = next(n for n in self.lab.nodes if n != holder)
        t0 = time.monotonic_ns() / 1e6
        if isinstance(self.driver, OursDriver):
            self.driver.partition()
        else:
            self.lab.partition(list(self.lab.nodes))
        # split until the other side claims the address, or a node is fenced, or long enough
        deadline = time.monotonic() + self.driver.profile.deadtime_ms / 1000 + 15.0
        claimed = "no claim"
        while time.monotonic() < deadline:
            if report.arp_owner_seen(self.events(), t0, self.macs[other]):
                claimed = f"{other} claimed the VIP"
                break
            if isinstance(self.driver, OursDriver):
                self.lab.refresh()  # the power switch records a fenced node there
            off = [n for n in self.lab.nodes if "off" in self.lab.state.nodes[n].faults]
            if off:
                claimed = f"{'+'.join(off)} fenced"
                break
            time.sleep(0.02)
        split_ms = time.monotonic_ns() / 1e6 - t0
        time.sleep(1.0)  # both sides act on the split
        healed = time.monotonic_ns() / 1e6
        self.driver.heal_network()
        end = self._wait_quiet(healed, self.driver.profile.heal_quiet_s, 90.0, "the heal")
        time.sleep(TAIL_S)
        gap = report.longest_gap(self.events(), t0, end)
        return self._row("partition", gap, t0, end, target=holder, split=claimed, split_ms=round(split_ms, 1),
                         heal_at_ms=round(healed - t0, 1))

    def move(self, holder: str) -> dict:
        other = next(n for n in self.lab.nodes if n != holder)
        t0 = time.monotonic_ns() / 1e6
        proc = self.driver.move(holder, other)
        try:
            got = self.wait_answer(t0, lambda n: n == other, 30.0, f"answer from {other} after the move")
            end = max(float(got["mono_ms"]), self._wait_quiet(float(got["mono_ms"]), MOVE_QUIET_S, 30.0, "the move"))
        finally:
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate(timeout=5)
        if proc.returncode != 0:
            raise RunError(f"the move command exited {proc.returncode}: {(out or '').strip()[-300:]}")
        time.sleep(TAIL_S)
        gap = report.longest_gap(self.events(), t0, end)
        return self._row("move", gap, t0, end, target=holder, to_new_ms=round(float(got["mono_ms"]) - t0, 1))

    def _wait_quiet(self, after_ms: float, quiet_s: float, timeout_s: float, what: str) -> float:
        """Wait until the service has answered undisturbed for quiet_s, at least quiet_s after
        after_ms; returns the end of the window (now)."""
        deadline = time.monotonic() + timeout_s
        while True:
            now_ms = time.monotonic_ns() / 1e6
            state, _answer, since = report.tcp_state(self.events())
            if (state == "up" and now_ms - after_ms >= quiet_s * 1000 and since is not None
                    and now_ms - since >= quiet_s * 1000):
                return now_ms
            if time.monotonic() >= deadline:
                raise RunError(f"the service did not answer undisturbed for {quiet_s:g} s within {timeout_s:g} s "
                               f"of {what} (it is {state})")
            time.sleep(0.05)

    def _row(self, fault: str, outage_ms: float, t0: float, end: float, **detail: object) -> dict:
        window_end = end + TAIL_S * 1000
        conflicts = report.conflicts_between(self.events(), t0, window_end)
        return {"fault": fault, "outage_ms": round(outage_ms, 1), "conflicts": len(conflicts),
                "conflict_detail": conflicts, **detail}


def _mac(spec: LabSpec, node: str) -> str:
    done = host.run(["ip", "-n", plan.namespace(spec, node), "-j", "link", "show", "dev", plan.IFACE])
    return json.loads(done.stdout)[0]["address"]


def one_session(stack_name: str, profile: Profile, run: int, faults: list[str],
                log: Callable[[str], None]) -> list[dict]:
    """A fresh lab with the stack, every fault of the list in order; rows for each (a fault that
    failed has `error`, the ones after it `not_run`). The lab and everything in it are gone when
    this returns."""
    rows: list[dict] = []
    base = {"stack": stack_name, "profile": profile.name, "run": run}
    workdir = tempfile.mkdtemp(prefix=f"pyhb-compare-{stack_name}-")
    cls = DRIVERS[stack_name]
    spec = cls.lab_spec(profile, workdir)
    for line in sweep(spec.name):
        log(f"  swept: {line}")
    problems: list[str] = []
    lab: Optional[Lab] = None
    driver: Optional[StackDriver] = None
    watch: Optional[VipWatch] = None
    todo = list(faults)
    try:
        lab = Lab.up(spec)
        driver = cls(lab, profile, workdir)
        watch = VipWatch.start(plan.namespace(lab.spec, "client"), plan.IFACE, plan.vip(lab.spec), PORT,
                               os.path.join(workdir, "vipwatch.jsonl"), tcp_timeout_ms=250)
        session = Session(driver, watch, log)
        settle_timeout = 90.0 + profile.initdead_ms / 1000 * (stack_name == "ours")
        current = "cold"
        try:
            row = session.cold()  # always: it starts the stack
            if "cold" in todo:
                rows.append({**base, **row})
                log(_progress(rows[-1]))
                todo.remove("cold")
            for fault in [f for f in FAULTS if f in todo]:
                current = fault
                if fault == "move" and stack_name == "keepalived":
                    rows.append({**base, "fault": fault, "unsupported": "keepalived has no planned move"})
                    todo.remove(fault)
                    continue
                holder = session.wait_settled(settle_timeout)
                if fault in ("link", "kill", "power"):
                    row = session.failover(fault, holder)
                elif fault == "partition":
                    row = session.partition(holder)
                else:
                    row = session.move(holder)
                rows.append({**base, **row})
                log(_progress(rows[-1]))
                todo.remove(fault)
                if todo:
                    current = f"recovery after {fault}"
                    if fault == "move":
                        driver.after_move(holder, next(n for n in lab.nodes if n != holder))
                    else:
                        driver.recover(fault, holder)
                    session.recovered_at = time.monotonic()
        except (RunError, LabError, VipWatchError, subprocess.TimeoutExpired, OSError) as exc:
            detail = driver.diagnostics() if driver is not None else ""
            conflicts = report.conflicts_between(watch.events(), 0, float("inf")) if watch else []
            log(f"  {stack_name} {profile.name} run {run}: {current}: FAILED: {exc}")
            if current in todo:
                rows.append({**base, "fault": current, "error": str(exc), "diagnostics": detail[-4000:],
                             "conflicts": 0, "session_conflicts": len(conflicts)})
                todo.remove(current)
            for fault in todo:
                rows.append({**base, "fault": fault, "not_run": f"session ended at {current}: {exc}"})
            todo = []
    except (LabError, VipWatchError, RunError) as exc:
        log(f"  {stack_name} {profile.name} run {run}: the session could not start: {exc}")
        for fault in todo:
            rows.append({**base, "fault": fault, "error": f"session did not start: {exc}"})
    finally:
        if watch is not None:
            try:
                watch.stop()
            except VipWatchError as exc:
                problems.append(str(exc))
        if driver is not None:
            problems += driver.cleanup()
        if lab is not None:
            problems += lab.down()
        shutil.rmtree(workdir, ignore_errors=True)
        if problems:
            log(f"  cleanup problems: {'; '.join(problems)}")
    if problems:
        raise RunError(f"cleanup left things behind: {'; '.join(problems)}")
    return rows


def _progress(row: dict) -> str:
    extra = {k: v for k, v in row.items() if k in ("target", "gap_ms", "split", "to_new_ms", "first", "fault_ms")}
    return (f"  {row['stack']:<10} {row['profile']:<7} run {row['run']:>2} {row['fault']:<9} "
            f"outage {row['outage_ms']:8.1f} ms  double owner {row['conflicts']}  {extra}")


# -- main --------------------------------------------------------------------------------------------

def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per stack with the fast profile (default 5)")
    parser.add_argument("--default-runs", type=int, default=None, metavar="N",
                        help="runs per stack with the default profile (default: --runs, at most 2)")
    parser.add_argument("--stacks", default=",".join(STACKS), help=f"comma list of {', '.join(STACKS)}")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma list of {', '.join(FAULTS)}")
    parser.add_argument("--profiles", default=",".join(PROFILES), help="comma list of fast, default")
    parser.add_argument("--json", metavar="FILE", help="also write every run and the table as JSON")
    args = parser.parse_args(argv)

    def pick(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
        chosen = [w.strip() for w in text.split(",") if w.strip()]
        bad = [w for w in chosen if w not in allowed]
        if bad or not chosen:
            parser.error(f"--{what}: {', '.join(bad) or 'nothing given'}: want a comma list of {', '.join(allowed)}")
        return [w for w in allowed if w in chosen]

    stacks = pick(args.stacks, STACKS, "stacks")
    faults = pick(args.faults, FAULTS, "faults")
    profiles = pick(args.profiles, PROFILES, "profiles")
    if args.runs < 1 or (args.default_runs is not None and args.default_runs < 1):
        parser.error("--runs / --default-runs: want at least 1")
    runs = {"fast": args.runs, "default": args.default_runs if args.default_runs is not None else min(args.runs, 2)}
    if os.geteuid() != 0:
        print("bench/compare.py needs root (network namespaces)", file=sys.stderr)
        return 2
    rows: list[dict] = []
    skipped: dict[str, str] = {}
    for name in stacks:
        why = missing(name)
        if why:
            skipped[name] = "; ".join(dict.fromkeys(why))
            print(f"{name}: not run: {skipped[name]}", flush=True)
    started = time.monotonic()
    print(f"bench/compare.py: {os.cpu_count()} CPUs; stacks {', '.join(stacks)}; faults {', '.join(faults)}; "
          + "; ".join(f"{p}: {runs[p]} runs" for p in profiles), flush=True)
    for p in profiles:
        print("  " + PROFILE_SETS[p].describe(), flush=True)

    def log(text: str) -> None:
        print(text, flush=True)

    for p in profiles:
        profile = PROFILE_SETS[p]
        for run in range(1, runs[p] + 1):
            for name in stacks:  # alternate: every stack once per run
                if name in skipped:
                    continue
                try:
                    rows += one_session(name, profile, run, faults, log)
                except RunError as exc:  # cleanup failed: stop before the next lab trips over it
                    log(f"ABORTED: {exc}")
                    skipped[name] = str(exc)
    for name, why in skipped.items():
        for p in profiles:
            for fault in faults:
                rows.append({"stack": name, "profile": p, "run": 0, "fault": fault, "not_run": why})
    wall_s = time.monotonic() - started
    table = report.render_table(rows, stacks, faults, profiles)
    print(f"\noutage (ms) per fault: median and p99 over n runs; dbl = double-owner moments (two MACs answering "
          f"ARP for the VIP) summed over the runs; ratio = ours / theirs (median).\n"
          f"fast: {runs['fast']} runs, default: {runs['default']} runs per stack (default timings are slow: "
          f"30 s deadtimes, so few runs).")
    print(table)
    failures = [r for r in rows if r.get("error")]
    for r in failures:
        print(f"  FAILED {r['stack']} {r['profile']} run {r['run']} {r['fault']}: {r['error'].splitlines()[0][:200]}")
    for name, why in skipped.items():
        print(f"  NOT RUN {name}: {why}")
    print(f"wall time {wall_s / 60:.1f} min")
    if args.json:
        out = {"profiles": {p: asdict(PROFILE_SETS[p]) for p in profiles}, "runs": runs, "stacks": stacks,
               "faults": faults, "rows": rows, "table": table, "wall_s": round(wall_s, 1),
               "cells": {"/".join(k): c.to_dict() for k, c in report.cells(rows).items()}}
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=1, default=str)
    return 1 if failures or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
