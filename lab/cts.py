"""`hb cts`: a CTS-style fault campaign against a namespace lab, audited after every fault.

    hb cts --nodes 3 --faults 40 --seed 7 [--mode cib|haresources] [--kinds k1,k2] [--json]

Pacemaker's and Heartbeat's Cluster Test Suites throw random faults at a real cluster and audit
it after each; Pacemaker's resource, controller-state, CIB and partition audits have been
switched off by an old bug for years. This campaign runs all of them, on a lab that runs what
users run: fencing with the lab's power switch, a group of a filesystem on a loop device + a
floating address + a TCP service, a clone, constraints (lab.cibs.campaign_cib), or the same
group as one haresources line.

One fault (lab.ctsplan lists the kinds):
1. the cluster is settled (below); the victim is chosen (the group's holder or another node);
2. the fault is injected, held as long as the kind says (a hang for some deadtimes, packet
   loss for 5 s, a node loss until the survivors have settled), then healed (link back, power
   on, constraints cleared, failures cleaned up);
3. the campaign waits until the cluster settles again, then audits.

Settled: every node that is powered on runs its stack and answers; all are in one view, joined
to one DC that is idle; all hold the same CIB version and digest; the client gets the TCP
service through the floating address.

Audits (each failure is a violation, counted and printed; the campaign goes on):
- continuous, from the client namespace (lab.vipwatch: ARP and TCP every 10 ms): never two
  nodes answering for the floating address;
- one DC per partition, and CIB digests equal (part of settling: a campaign that cannot settle
  within --settle-timeout is a violation);
- placement: `hb simulate --json` (the installed tool, as a user runs it) on the DC's CIB plans
  no action, and places every resource where the nodes say it runs;
- the filesystem is mounted on at most one node, and on the group's node;
- a fenced node that stays off runs nothing;
- no daemon restarted that the fault did not kill (or whose node was not fenced/restarted);
- no node's log has a Python traceback.

Outage: the client's longest time without an answer within the fault's window. For a node loss
that moved the group, it is compared with deadtime + the fencing's own time (the switch's delay
for that node + how long the device ran, start to exit, as the fencer recorded it: `device_ms`
in the fencing history; for a reboot that includes switching the outlet on again, which the
fencer waits for; <lab root>/pdu.jsonl if the record is missing) + the group's start times
(exec-time of the starts in the CIB's history) + 100 ms.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from typing import Callable, Optional

from lab import cibs, ctsplan, host, plan, stack
from lab import state as statemod
from lab.ctsplan import Fault, FaultResult, PlanError
from lab.lab import Lab, sweep
from lab.plan import LabError, LabSpec
from lab.vipwatch import VipWatch, summarize as summarize_watch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SVC_DIR = os.path.join(ROOT, "bench", "svc")
TCPSVC = os.path.join(SVC_DIR, "tcpsvc")
CTSRES = os.path.join(SVC_DIR, "ctsres")
PORT = 8080
# the group's members by agent type: their ids are the CIB's (fs, vip, svc) or what haresources
# translation named them
GROUP_TYPES = {"Filesystem": "fs", "IPaddr2": "vip", "tcpsvc": "svc"}
FS_MB = 16
HOLD_LOSS_S = 5.0


def timeline(t0_ms: float, deadtime_ms: float, fenced_ms: float, fence_ms: float,
             starts: list[tuple[float, float]], back_ms: float) -> dict[str, float]:
    """Where a failover's time went (ctsplan.SEGMENTS), from wall-clock instants: the fault
    (t0_ms), the fencing's completion (fenced_ms) and its own time (fence_ms: delay + device),
    the group's starts as (began, ran) in the order they began, the observer's first answer
    (back_ms). The segments add up to back_ms - t0_ms - deadtime_ms."""
    requested = fenced_ms - fence_ms
    out = {"detect": requested - t0_ms - deadtime_ms, "fencing": fence_ms,
           "to_first_start": starts[0][0] - fenced_ms}
    between = 0.0
    for (began, ran), (nxt, _) in zip(starts, starts[1:]):
        between += nxt - (began + ran)
    out["between_starts"] = between
    out["to_answer"] = back_ms - (starts[-1][0] + starts[-1][1])
    return {k: round(v, 1) for k, v in out.items()}


class CampaignError(Exception):
    """The campaign cannot go on (the lab did not come up, a fault could not be injected)."""


def now_ms() -> float:
    return time.time() * 1000


class Campaign:
    def __init__(self, opts: argparse.Namespace, log: Callable[[str], None]) -> None:
        self.opts = opts
        self.log = log
        self.lab: Optional[Lab] = None
        self.watch: Optional[VipWatch] = None
        self.loopdev = ""
        self.image = ""
        self.mountdir = ""
        self.log_offsets: dict[str, int] = {}
        self.pdu_mark = 0  # entries of the switch's journal before the current fault
        self.ids: dict[str, str] = {}  # fs, vip, svc -> the group members' resource ids

    # -- set-up and tear-down -----------------------------------------------------------------------
    def spec(self, workdir: str) -> LabSpec:
        o = self.opts
        common = dict(name=o.name, nodes=o.nodes, subnet=o.subnet, keepalive_ms=o.keepalive_ms,
                      deadtime_ms=o.deadtime_ms, initdead_ms=max(2000, 4 * o.deadtime_ms),
                      scripts=(TCPSVC, CTSRES), stonith="lab")
        if o.mode == "cib":
            cib_file = os.path.join(workdir, "cib.xml")
            with open(cib_file, "w", encoding="utf-8") as handle:
                handle.write(cibs.campaign_cib(self.loopdev, self.mountdir, PORT))
            return LabSpec(crm=True, cib=cib_file, **common)  # type: ignore[arg-type]
        line = (f"node1 IPaddr2::{{vip}}/24/eth0 Filesystem::{self.loopdev}::{self.mountdir}::ext4 "
                f"tcpsvc::{PORT}")
        return LabSpec(haresources=(line,), auto_failback="off", **common)  # type: ignore[arg-type]

    def make_disk(self, workdir: str) -> None:
        """A loop device with an ext4 file system: the 'shared disk' of the group."""
        for tool in ("losetup", "mkfs.ext4"):
            if shutil.which(tool) is None:
                raise CampaignError(f"{tool} is missing (apt-get install util-linux e2fsprogs)")
        self.image = os.path.join(workdir, "disk.img")
        with open(self.image, "wb") as handle:
            handle.truncate(FS_MB << 20)
        subprocess.run(["mkfs.ext4", "-q", "-F", self.image], check=True, capture_output=True)
        out = subprocess.run(["losetup", "--find", "--show", self.image], capture_output=True, text=True)
        if out.returncode != 0:
            raise CampaignError(f"losetup: {out.stderr.strip()}")
        self.loopdev = out.stdout.strip()
        self.mountdir = os.path.join(workdir, "mnt")
        os.makedirs(self.mountdir, exist_ok=True)

    def drop_disk(self) -> list[str]:
        problems = []
        if self.loopdev:
            out = subprocess.run(["losetup", "-d", self.loopdev], capture_output=True, text=True)
            if out.returncode != 0:
                problems.append(f"losetup -d {self.loopdev}: {out.stderr.strip()}")
            self.loopdev = ""
        return problems

    def up(self, workdir: str) -> Lab:
        for line in sweep(self.opts.name):
            self.log(f"swept: {line}")
        self.make_disk(workdir)
        spec = self.spec(workdir)
        self.lab = Lab.up(spec)
        spec = self.lab.spec  # (validated: its root is filled in)
        out = os.path.join(spec.root, "vipwatch.jsonl")
        self.watch = VipWatch.start(plan.namespace(spec, "client"), plan.IFACE, plan.vip(spec), PORT, out,
                                    tcp_timeout_ms=250)
        return self.lab

    def down(self) -> list[str]:
        problems: list[str] = []
        if self.watch is not None:
            try:
                self.watch.stop()
            except Exception as exc:  # the lab goes down whatever the observer did
                problems.append(f"observer: {exc}")
            self.watch = None
        if self.lab is not None:
            problems += self.lab.down()
            self.lab = None
        problems += self.drop_disk()
        return problems

    # -- what the cluster looks like -----------------------------------------------------------------
    def live_nodes(self) -> list[str]:
        lab = self._lab()
        lab.refresh()
        return [n for n in lab.nodes if "off" not in lab.state.nodes[n].faults and lab.pid(n) is not None]

    def statuses(self, nodes: list[str]) -> dict[str, Optional[dict]]:
        from tools import crmclient
        out: dict[str, Optional[dict]] = {}
        for node in nodes:
            try:
                out[node] = crmclient.status(self._lab().paths(node), timeout_ms=1000)
            except (crmclient.CrmUnavailable, crmclient.CrmError):
                out[node] = None
        return out

    def answer(self) -> Optional[str]:
        lab = self._lab()
        return lab.answer(plan.vip(lab.spec), PORT)

    def settled(self, nodes: list[str], without: tuple[str, ...] = ()) -> tuple[bool, object]:
        """(settled?, the picture): one view (of `nodes`, none of `without` in it), all joined, one
        idle DC, one CIB, the service answers from the node the CIB runs it on."""
        st = self.statuses(nodes)
        if any(s is None for s in st.values()):
            return False, {n: s and s.get("state") for n, s in st.items()}
        ss = [s for s in st.values() if s]
        picture = {n: {k: s.get(k) for k in ("role", "dc", "view", "state", "joined", "version")}
                   for n, s in st.items() if s}
        if len({s.get("view") for s in ss}) != 1 or not all(s.get("joined") for s in ss):
            return False, picture
        if any(set(without) & set(s.get("members") or ()) for s in ss):
            return False, dict(picture, members=[s.get("members") for s in ss])
        dcs = [n for n, s in st.items() if s and s.get("role") == "dc"]
        if len(dcs) != 1 or st[dcs[0]].get("state") != "idle":  # type: ignore[union-attr]
            return False, picture
        if len({s.get("dc") for s in ss}) != 1 or len({(tuple(s.get("version") or ()), s.get("digest"))
                                                         for s in ss}) != 1:
            return False, picture
        if any(s.get("stopping") for s in ss):
            return False, picture
        who = self.answer()
        runs = [n for n, s in st.items() if s and self.ids.get("svc", "svc") in (s.get("active") or [])]
        if who is None or runs != [who]:
            return False, dict(picture, answer=who, svc_on=runs)
        return True, picture

    def wait_settled(self, timeout_s: float, nodes: Optional[list[str]] = None,
                     without: tuple[str, ...] = ()) -> tuple[bool, object, float]:
        """Wait (bounded) until the live nodes (or `nodes`, without `without` in their view) have
        settled; (ok, picture, seconds)."""
        start = time.monotonic()
        picture: object = None
        while time.monotonic() - start < timeout_s:
            if not self.ids:
                self.ids = self.group_ids()
            ok, picture = self.settled(nodes if nodes is not None else self.live_nodes(), without)
            if ok:
                # settled twice, 300 ms apart: a DC that has just gone idle may plan again at once
                time.sleep(0.3)
                ok, picture = self.settled(nodes if nodes is not None else self.live_nodes(), without)
                if ok:
                    return True, picture, time.monotonic() - start
            time.sleep(0.2)
        return False, picture, time.monotonic() - start

    def group_ids(self) -> dict[str, str]:
        """fs, vip, svc -> resource ids, from the CIB of a node that answers ({} until one does)."""
        from core.cib.xmltree import parse_xml
        for node in self.live_nodes():
            text = self.cib_text(node)
            if text.startswith("<!--"):
                continue
            root = parse_xml(text, "<cib>")
            out = {}
            for prim in root.iter("primitive"):
                role = GROUP_TYPES.get(prim.get("type") or "")
                if role and role not in out:
                    out[role] = prim.get("id") or ""
            if len(out) == len(GROUP_TYPES):
                return out
        return {}

    def holder(self) -> str:
        return self.answer() or ""

    def node_of(self, rsc: str) -> str:
        for node, s in self.statuses(self.live_nodes()).items():
            if s and rsc in (s.get("active") or []):
                return node
        return ""

    def daemons(self) -> dict[tuple[str, str], int]:
        """(node, daemon) -> pid of every running daemon (process name hb-<daemon>)."""
        lab = self._lab()
        out = {}
        for node in lab.nodes:
            launcher = lab.pid(node)
            for pid, _start in lab.processes(node):
                try:
                    with open(f"/proc/{pid}/comm", encoding="ascii") as handle:
                        comm = handle.read().strip()
                    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
                        ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                # the launcher's children only: the lrmd runs our agents in forked copies of itself
                if comm.startswith("hb-") and ppid == launcher:
                    out[(node, comm[3:])] = pid
        return out

    def mounted_on(self) -> list[str]:
        """The nodes whose processes see the campaign's file system mounted."""
        lab = self._lab()
        out = []
        for node in lab.nodes:
            seen_ns: set[str] = set()
            for pid, _start in host.netns_pids(plan.namespace(lab.spec, node)):
                try:
                    ns = os.readlink(f"/proc/{pid}/ns/mnt")
                    if ns in seen_ns:
                        continue
                    seen_ns.add(ns)
                    with open(f"/proc/{pid}/mounts", encoding="utf-8") as handle:
                        if any(line.split()[1] == self.mountdir for line in handle if len(line.split()) > 1):
                            out.append(node)
                            break
                except OSError:
                    continue
        return out

    def tracebacks(self) -> list[str]:
        """New 'Traceback' lines in any node's logs since the last look."""
        lab = self._lab()
        found = []
        for node in lab.nodes:
            logdir = plan.node_dirs(lab.spec, node)["log"]
            for name in ("ha-log", "stack.out"):
                path = os.path.join(logdir, name)
                key = f"{node}/{name}"
                try:
                    with open(path, "rb") as handle:
                        handle.seek(self.log_offsets.get(key, 0))
                        data = handle.read()
                        self.log_offsets[key] = handle.tell()
                except OSError:
                    continue
                for line_no, line in enumerate(data.splitlines()):
                    if b"Traceback" in line:
                        tail = data.splitlines()[line_no:line_no + 12]
                        found.append(f"{key}: " + " | ".join(t.decode("utf-8", "replace").strip() for t in tail))
        return found

    def _lab(self) -> Lab:
        assert self.lab is not None
        return self.lab

    # -- tools, as an operator runs them on a node ---------------------------------------------------------
    def crm_resource(self, node: str, *args: str) -> str:
        from tools import crm_resource
        out, err = io.StringIO(), io.StringIO()
        paths = self._lab().paths(node)
        where = ["--confdir", paths.confdir, "--rundir", paths.rundir, "--statedir", paths.statedir,
                 "--node-name", paths.node_name]
        rc = crm_resource.run(list(args) + where, out, err)
        if rc != 0:
            raise CampaignError(f"crm_resource {' '.join(args)} on {node}: rc {rc}: {err.getvalue().strip()}")
        return out.getvalue()

    def cleanup(self, rsc: str) -> None:
        """crm_resource --cleanup -r rsc, from the first node that answers."""
        for node in self.live_nodes():
            try:
                self.crm_resource(node, "--cleanup", "-r", rsc)
                return
            except CampaignError as exc:
                self.log(f"  {exc}")

    # -- one fault ----------------------------------------------------------------------------------------
    def victim(self, fault: Fault, holder: str) -> str:
        live = self.live_nodes()
        if fault.kind in ("stop-fail", "slow-start"):
            flaky = self.node_of("flaky")
            return flaky or holder
        if fault.where == ctsplan.HOLDER and holder in live:
            return holder
        others = [n for n in live if n != holder] or live
        return others[fault.pick % len(others)]

    def run_fault(self, fault: Fault) -> FaultResult:
        lab = self._lab()
        watch = self.watch
        assert watch is not None
        holder = self.holder()
        victim = self.victim(fault, holder)
        result = FaultResult(fault, victim, holder)
        before = self.daemons()
        events_before = len(watch.events())
        pdu_before = self.pdu_mark = len(self.pdu_journal())
        t0 = now_ms()
        allowed: set[tuple[str, str]] = set()  # daemons the fault itself restarts
        restarted_nodes: set[str] = set()
        self.log(f"{fault.describe()}: victim {victim}, group on {holder}")
        try:
            restarted_nodes |= self.inject(fault, victim, holder, allowed, result)
        except (CampaignError, LabError, OSError) as exc:
            result.violations.append(f"could not inject: {exc}")
        with statemod.locked(lab.spec.root):
            lab.refresh()
            healed = lab.heal_all()
        if healed:
            result.notes.append(f"healed {healed}")
        # what an operator does after a resource failure: forget it (a start failure bans the
        # resource from its node until then)
        failed = {"monitor-fail": self.ids.get("svc", "svc"), "stop-fail": "flaky", "slow-start": "flaky"}.get(fault.kind)
        if failed:
            self.cleanup(failed)
        ok, picture, _took = self.wait_settled(self.opts.settle_timeout_s)
        result.settled_ms = round(now_ms() - t0, 1)
        if not ok:
            result.violations.append(f"did not settle within {self.opts.settle_timeout_s:g} s after healing: {picture}")
        self.audit(fault, result, t0, before, events_before, pdu_before, allowed, restarted_nodes)
        if result.violations or self.opts.keep_logs:
            result.notes.append(f"logs kept in {self.keep_logs(fault)}")
        return result

    def keep_logs(self, fault: Fault) -> str:
        """Every node's log as it was when a fault ended in a violation."""
        lab = self._lab()
        directory = os.path.dirname(self.evidence(f"fault{fault.index}.txt", fault.describe() + "\n"))
        for node in lab.nodes:
            source = os.path.join(plan.node_dirs(lab.spec, node)["log"], "ha-log")
            if os.path.exists(source):
                shutil.copyfile(source, os.path.join(directory, f"fault{fault.index}-{node}-ha-log"))
        return directory

    def inject(self, fault: Fault, victim: str, holder: str, allowed: set, result: FaultResult) -> set[str]:
        """Do the fault and hold it; returns the nodes whose whole stack the fault restarts."""
        lab, o, kind = self._lab(), self.opts, fault.kind
        root = lab.spec.root
        survivors = [n for n in self.live_nodes() if n != victim]
        if kind.startswith("kill-") and kind != "kill-stack":
            daemon = kind[len("kill-"):]
            pid = self.daemons().get((victim, daemon))
            if pid is None:
                raise CampaignError(f"{victim} runs no {daemon}")
            os.kill(pid, signal.SIGKILL)
            allowed.add((victim, daemon))
            # hold until the launcher has started it again (its first respawn waits 1 s), so the
            # next fault finds every daemon in place
            deadline = time.monotonic() + o.settle_timeout_s
            while time.monotonic() < deadline:
                now = self.daemons().get((victim, daemon))
                if now is not None and now != pid:
                    break
                if victim not in self.live_nodes():
                    break  # fenced meanwhile
                time.sleep(0.05)
            return set()
        if kind in ("kill-stack", "power-off", "link", "partition", "hang"):
            with statemod.locked(root):
                lab.refresh()
                if kind == "kill-stack":
                    lab.fail(victim, "kill")
                elif kind == "power-off":
                    lab.power_off(victim)
                elif kind == "link":
                    lab.fail(victim, "link")
                elif kind == "hang":
                    lab.fail(victim, "hang")
                else:
                    group = [victim] + ([n for n in survivors if n != victim][:1] if len(lab.nodes) >= 5 else [])
                    lab.partition([",".join(group)])
                    result.notes.append(f"partition {group} | rest")
                    result.lost_with = [n for n in group if n != victim]
                    survivors = [n for n in survivors if n not in group]
            if kind == "hang":
                time.sleep(fault.amount * o.deadtime_ms / 1000)
            else:
                # the survivors fence the victim and what was cut off with it (each reboots:
                # stonith-action reboot) or settle without them
                self.wait_lost(victim, survivors, result)
            return {victim}
        if kind == "loss":
            with statemod.locked(root):
                lab.refresh()
                lab.set_loss(victim, float(fault.amount))
            time.sleep(HOLD_LOSS_S)
            return set()
        if kind == "monitor-fail":
            pidfile = os.path.join(lab.paths(victim).rundir, f"tcpsvc-{PORT}.pid")
            with open(pidfile, encoding="ascii") as handle:
                os.kill(int(handle.read().split()[0]), signal.SIGKILL)
            self.wait_settled(o.settle_timeout_s)
            return set()
        if kind == "stop-fail":
            armed = os.path.join(lab.paths(victim).rundir, "ctsres-flaky.fail-stop")
            open(armed, "w").close()
            try:
                self.crm_resource(victim, "--ban", "-r", "flaky", "-N", victim)
                self.wait_lost(victim, survivors, result)
            finally:
                self._remove(armed)
                self._clear("flaky")
            return {victim}
        if kind == "slow-start":
            target = survivors[fault.pick % len(survivors)] if survivors else victim
            armed = os.path.join(lab.paths(target).rundir, "ctsres-flaky.slow-start")
            open(armed, "w").close()
            result.notes.append(f"flaky moved from {victim} to {target}, whose start hangs")
            try:
                self._move("flaky", target)
                self.wait_settled(o.settle_timeout_s)
            finally:
                self._remove(armed)
                self._clear("flaky")
            return set()
        if kind == "restart":
            with statemod.locked(root):
                lab.refresh()
                problems = lab.stop_node(victim)
            if problems:
                result.violations.append(f"graceful stop of {victim}: {'; '.join(problems)}")
            self.wait_settled(o.settle_timeout_s, survivors, (victim,))
            with statemod.locked(root):
                lab.refresh()
                lab.start_node(victim)
            return {victim}
        if kind == "standby":
            from tools import crmclient
            crmclient.node_attr(lab.paths(victim), victim, "standby", "on", lifetime="forever")
            self.wait_settled(o.settle_timeout_s)
            crmclient.node_attr(lab.paths(victim), victim, "standby", "off", lifetime="forever")
            return set()
        movers = [n for n in self.live_nodes() if n != holder] or survivors
        if kind == "move":
            target = movers[fault.pick % len(movers)]
            self._move("web", target)
            self.wait_settled(o.settle_timeout_s)
            self._clear("web")
            return set()
        if kind == "cib-change":
            # a move, and before its transition is done a change of the defaults and the move taken back
            target = movers[fault.pick % len(movers)]
            self._move("web", target)
            time.sleep(0.05)
            self._stickiness(target, 101 + fault.pick % 50)
            self._clear("web")
            self.wait_settled(o.settle_timeout_s)
            self._clear("web")  # (the first may have come before this node's replica had the move)
            self._stickiness(target, 100)
            return set()
        if kind == "fence":
            from tools.stonith_admin import fence
            out = io.StringIO()
            origin = survivors[0] if survivors else victim
            if fence(lab.paths(origin), victim, "reboot", 30.0, 0.0, out) != 0:
                result.violations.append(f"hb stonith fence {victim} from {origin} failed: {out.getvalue().strip()}")
            return {victim}
        if kind == "rogue-address":
            # behind the cluster's back: the audits must see two owners
            rogue = survivors[fault.pick % len(survivors)]
            address = f"{plan.vip(lab.spec)}/{plan.network(lab.spec).prefixlen}"
            lab.exec(rogue, ["ip", "addr", "add", address, "dev", plan.IFACE], capture=True, timeout_s=5)
            try:
                time.sleep(1.0)
            finally:
                lab.exec(rogue, ["ip", "addr", "del", address, "dev", plan.IFACE], capture=True, timeout_s=5)
            return set()
        raise CampaignError(f"no way to inject {kind}")

    def wait_lost(self, victim: str, survivors: list[str], result: FaultResult) -> None:
        """Hold a node loss until every lost node was fenced (the switch's journal has the victim
        and what a partition cut off with it, `result.lost_with`), or a survivor was (a two-node
        fence race: the victim shot first), or the survivors have settled without the lost nodes
        (bounded by --settle-timeout). Healing a partition after the first of its two fencings
        let the other node rejoin while the survivors were still fencing it: a failover with a
        rejoin in its middle, which the bound does not describe."""
        lost = {victim, *result.lost_with}
        deadline = time.monotonic() + self.opts.settle_timeout_s
        picture: object = None
        while time.monotonic() < deadline:
            cut = {entry.get("node") for entry in self.pdu_journal()[self.pdu_mark:]}
            if lost <= cut or cut - lost:
                return
            ok, picture = self.settled(survivors, tuple(sorted(lost)))
            if ok:
                return
            time.sleep(0.1)
        result.violations.append(f"{victim} was neither fenced nor left by {survivors} within "
                                 f"{self.opts.settle_timeout_s:g} s: {picture}")

    def _remove(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def _clear(self, rsc: str) -> None:
        for node in self.live_nodes():
            try:
                self.crm_resource(node, "--clear", "-r", rsc)
                return
            except CampaignError as exc:
                self.log(f"  {exc}")

    def _move(self, rsc: str, target: str) -> None:
        """crm_resource --move on the target node; a constraint left by an earlier move that this
        node's replica still shows is cleared first (bounded)."""
        for _ in range(10):
            try:
                self.crm_resource(target, "--move", "-r", rsc, "-N", target)
                return
            except CampaignError as exc:
                if "already exists" not in str(exc):
                    raise
                # (crm_resource says so when the resource is active there already, as this
                # node's replica shows it: an earlier transition may still be on its way)
                time.sleep(0.2)
        raise CampaignError(f"could not move {rsc} to {target}: crm_resource says it is there already")

    def _stickiness(self, node: str, value: int) -> None:
        from tools import crmclient
        xml = ('<rsc_defaults><meta_attributes id="rsc-options">'
               f'<nvpair id="rsc-stick" name="resource-stickiness" value="{value}"/></meta_attributes></rsc_defaults>')
        crmclient.update_cib(self._lab().paths(node), "modify", xml, "rsc_defaults")

    # -- audits ------------------------------------------------------------------------------------------
    def pdu_journal(self) -> list[dict]:
        path = os.path.join(self._lab().spec.root, "pdu.jsonl")
        try:
            with open(path, encoding="utf-8") as handle:
                return [json.loads(line) for line in handle if line.strip()]
        except (OSError, ValueError):
            return []

    def audit(self, fault: Fault, result: FaultResult, t0: float, before: dict, events_before: int,
              pdu_before: int, allowed: set, restarted_nodes: set[str]) -> None:
        lab = self._lab()
        assert self.watch is not None
        events = self.watch.events()[events_before:]
        seen = summarize_watch(events)
        for c in seen.conflicts:
            result.violations.append(f"two nodes answered for the address: {c}")
        if seen.outages:
            result.outage_ms = max(o[2] for o in seen.outages)
            result.down_ms = round(sum(o[2] for o in seen.outages), 1)
            result.recovered_ms = round(seen.outages[-1][1] * 1000 - t0, 1)
        if seen.ongoing_outage:
            result.violations.append(f"the service did not answer at the end: {seen.ongoing_outage}")
        result.holder_after = self.holder()
        cuts = [r for r in self.pdu_journal()[pdu_before:]]
        result.fenced = [r["node"] for r in cuts]
        # daemons that restarted without being killed, on nodes the fault left running
        after = self.daemons()
        touched = restarted_nodes | set(result.fenced)
        for key, pid in before.items():
            node, daemon = key
            if node in touched or key in allowed:
                continue
            if after.get(key) != pid:
                result.violations.append(f"{daemon} on {node} restarted (pid {pid} -> {after.get(key)})")
        for line in self.tracebacks():
            result.violations.append(f"traceback: {line}")
        lab.refresh()
        for node in lab.nodes:
            if "off" in lab.state.nodes[node].faults:
                left = host.netns_pids(plan.namespace(lab.spec, node))
                if left:
                    result.violations.append(f"{node} is powered off but runs {left}")
        mounts = self.mounted_on()
        if len(mounts) > 1 or (result.holder_after and mounts != [result.holder_after]):
            result.violations.append(f"the file system is mounted on {mounts}, the group runs on {result.holder_after}")
        result.violations += self.placement_audit(fault)
        self.bound(fault, result, t0, cuts)

    def evidence(self, name: str, text: str) -> str:
        """Keep what a violation was judged on (the lab's own directory goes with the lab)."""
        directory = self.opts.evidence or f"/tmp/hb-cts-{self.opts.name}-evidence"
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def placement_audit(self, fault: Fault) -> list[str]:
        """`hb simulate --json` on the DC's CIB: nothing left to do, everything where it runs."""
        from tools import crmclient
        live = self.live_nodes()
        st = self.statuses(live)
        dcs = [n for n, s in st.items() if s and s.get("role") == "dc"]
        if len(dcs) != 1:
            return [f"not one DC: {dcs}"]
        try:
            xml = crmclient.query_cib(self._lab().paths(dcs[0]), timeout_ms=3000)["xml"]
        except (crmclient.CrmUnavailable, crmclient.CrmError) as exc:
            return [f"CIB query on the DC {dcs[0]}: {exc}"]
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as handle:
            handle.write(xml)
            path = handle.name
        try:
            hb = os.path.join(os.path.dirname(sys.executable), "hb")
            argv = [hb] if os.path.exists(hb) else [sys.executable, "-m", "core.cli"]
            out = subprocess.run(argv + ["simulate", "--json", "-x", path], capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(path)
        if out.returncode != 0:
            return [f"hb simulate failed (rc {out.returncode}): {out.stderr.strip()[:300]}"]
        got = json.loads(out.stdout)
        problems = []
        if got["actions"]:
            kept = self.evidence(f"fault{fault.index}-cib.xml", xml)
            problems.append(f"settled, but hb simulate still plans {got['actions'][:8]} (CIB: {kept})")
        running: dict[str, set[str]] = {}
        for node, s in st.items():
            for rsc in (s or {}).get("active") or []:
                running.setdefault(rsc.split(":")[0], set()).add(node)
        for rsc, where in got["placement"].items():
            want = set(where if isinstance(where, list) else [where] if where else [])
            if rsc.startswith("fence-"):
                continue
            if want != running.get(rsc, set()):
                problems.append(f"{rsc}: the CIB places it on {sorted(want)}, the nodes run it on "
                                f"{sorted(running.get(rsc, set()))}")
        return problems

    def bound(self, fault: Fault, result: FaultResult, t0: float, cuts: list[dict]) -> None:
        """For a node loss that moved the group: the service is back (from the fault) within
        deadtime + fencing + starts + 100 ms. The fencing is every fencing the group's start
        waits for: the victim's, and in a partition of five nodes that of the node cut off with
        it (`lost_with`), each with its device's delay (the lab's switch: plan.fence_params)."""
        if fault.kind not in ctsplan.NODE_LOSS or result.victim != result.holder_before \
                or not result.holder_after or result.holder_after == result.victim or result.recovered_ms is None:
            return
        lab = self._lab()
        off = [r for r in cuts if r["node"] == result.victim]
        if not off:
            result.notes.append("no fencing recorded for the victim: no bound")
            return
        record = self.fence_record(result.holder_after, result.victim, t0)
        if record is not None:
            device_ms = float(record["device_ms"])
        else:  # a fencer without the record: the switch's own journal
            device_ms = off[0]["done_ms"] - off[0]["began_ms"]
        delay_ms = self.fence_delay_ms(result.victim)
        fence_ms = delay_ms + device_ms
        # the fencings run one after the other: the timeline's "fenced" is the last one's end
        fenced_ms = float(record["completed_ms"]) if record is not None else None
        for other in result.lost_with:
            # The group is ordered after the clone `base`, which runs on every node: its start
            # waits for the clone's instances on the lost nodes to stop, which happens with their
            # fencing, and fencings run one after the other (concurrent-fencing is false, as in
            # Pacemaker 2.1.5). A fencing a heal cut short counts for its device's delay alone.
            other_off = [r for r in cuts if r["node"] == other]
            other_record = self.fence_record(result.holder_after, other, t0)
            if other_record is not None:
                fence_ms += self.fence_delay_ms(other) + float(other_record["device_ms"])
                if fenced_ms is not None:
                    fenced_ms = max(fenced_ms, float(other_record["completed_ms"]))
            elif other_off:
                fence_ms += self.fence_delay_ms(other) + other_off[0]["done_ms"] - other_off[0]["began_ms"]
            else:
                fence_ms += self.fence_delay_ms(other)
        runs = self.start_runs(result.holder_after, t0)
        starts = {rsc: run[1] for rsc, run in runs.items()}
        if set(starts) != set(self.ids.values()):
            result.notes.append(f"the lrmd of {result.holder_after} shows only these starts since the fault: {starts}")
        result.parts = {"deadtime": float(lab.spec.deadtime_ms), "fencing": round(fence_ms, 1),
                        "starts": float(sum(starts.values()))}
        result.bound_ms = round(sum(result.parts.values()) + 100.0, 1)
        if record is not None and runs:
            assert fenced_ms is not None
            result.timeline = timeline(t0, float(lab.spec.deadtime_ms), fenced_ms, fence_ms,
                                       sorted(runs.values()), t0 + result.recovered_ms)
        if result.recovered_ms > result.bound_ms:
            result.notes.append(f"back after {result.recovered_ms} ms, beyond the bound {result.bound_ms} ms "
                                f"{result.parts}; timeline {result.timeline}")

    def cib_text(self, node: str) -> str:
        from tools import crmclient
        try:
            return crmclient.query_cib(self._lab().paths(node), timeout_ms=3000)["xml"]
        except (crmclient.CrmUnavailable, crmclient.CrmError) as exc:
            return f"<!-- {exc} -->"

    def fence_record(self, node: str, victim: str, since_ms: float) -> Optional[dict]:
        """The record of victim's fencing completed since since_ms (wall clock) in node's fencing
        history, with how long the fence device ran for it (`device_ms`: its runs from start to
        exit, as the fencer recorded them) and when it completed (`completed_ms`); None when the
        history has no such record."""
        from core.ipc import Client, DaemonUnavailable, next_request_id
        from core.messages import stonith as st
        client = Client(self._lab().paths(node), "stonithd")
        try:
            records = client.request(st.StHistory(next_request_id(), victim), 3000)
        except (DaemonUnavailable, RuntimeError, ValueError):
            return None
        finally:
            client.close()
        done = [r for r in records or [] if r.get("state") == "done" and r.get("device_ms") is not None
                and float(r.get("completed_ms") or 0) >= since_ms - 1000]
        return done[0] if done else None

    def fence_delay_ms(self, node: str) -> float:
        spec = self._lab().spec
        for item in plan.fence_params(spec).get("pcmk_delay_base", "").split(","):
            name, _, value = item.partition(":")
            if name == node:
                return float(value.rstrip("s")) * 1000
        return 0.0

    def start_runs(self, node: str, since_ms: float) -> dict[str, tuple[float, float]]:
        """The group's starts on node since the fault, from the node's lrmd (the CIB keeps only
        each resource's last operation, which a later probe may replace): per resource, when the
        last successful one began (wall ms) and how long it ran (exec-time, ms)."""
        from core.ipc import Client, DaemonUnavailable, next_request_id
        from core.messages import lrm as api
        client = Client(self._lab().paths(node), "lrmd")
        try:
            history = client.request(api.History(next_request_id(), None), 3000)
        except (DaemonUnavailable, RuntimeError, ValueError):
            return {}
        finally:
            client.close()
        out: dict[str, tuple[float, float]] = {}
        for rsc in self.ids.values():
            starts = [r for r in (history.get(rsc) or {}).get("recent") or []
                      if r.get("operation") == "start" and r.get("rc") == 0
                      and float(r.get("started_wall_s") or 0) * 1000 >= since_ms - 1000]
            if starts:
                out[rsc] = (float(starts[-1]["started_wall_s"]) * 1000, float(starts[-1].get("exec_ms") or 0))
        return out

    # -- the campaign --------------------------------------------------------------------------------------
    def run(self, faults: list[Fault]) -> dict:
        started = time.monotonic()
        results: list[FaultResult] = []
        with ExitStack() as stack_:
            workdir = tempfile.mkdtemp(prefix=f"pyhb-cts-{self.opts.name}-")
            stack_.callback(shutil.rmtree, workdir, True)
            stack_.callback(self._down_reporting)
            self.up(workdir)
            ok, picture, took = self.wait_settled(max(90.0, self.opts.settle_timeout_s))
            if not ok:
                raise CampaignError(f"the lab did not settle after start within {took:.0f} s: {picture}"
                                    + "".join(stack.log_tail(self._lab().spec, n) for n in self._lab().nodes))
            self.tracebacks()
            self.log(f"lab {self.opts.name} settled in {took:.1f} s; group on {self.holder()}")
            for fault in faults:
                result = self.run_fault(fault)
                results.append(result)
                self.log(f"  -> group on {result.holder_after or '-'}, outage {result.outage_ms:.0f} ms, "
                         f"settled {result.settled_ms:.0f} ms, fenced {result.fenced}"
                         + "".join(f"\n  VIOLATION {v}" for v in result.violations))
                if result.violations and self.opts.stop_on_violation:
                    break
        summary = ctsplan.summarize(results, self.opts.seed, time.monotonic() - started)
        summary["results"] = [r.to_dict() for r in results]
        summary["options"] = {k: v for k, v in vars(self.opts).items() if k not in ("kinds",)}
        return summary

    def _down_reporting(self) -> None:
        for problem in self.down():
            self.log(f"cleanup: {problem}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hb cts", description="a CTS-style fault campaign on a namespace lab")
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--faults", type=int, default=30)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mode", choices=ctsplan.MODES, default="cib")
    p.add_argument("--kinds", default="", help="comma-separated fault kinds (default: all that apply)")
    p.add_argument("--name", default="cts", help="lab name (1-6 letters/digits)")
    p.add_argument("--subnet", default="198.18.80.0/24")
    p.add_argument("--keepalive-ms", type=int, default=100)
    p.add_argument("--deadtime-ms", type=int, default=500)
    p.add_argument("--settle-timeout-s", type=float, default=60.0)
    p.add_argument("--stop-on-violation", action="store_true")
    p.add_argument("--keep-logs", action="store_true", help="keep every node's log after every fault, not only "
                   "after a violation")
    p.add_argument("--evidence", metavar="DIR", help="where logs and CIBs of violations go "
                   "(default /tmp/hb-cts-NAME-evidence)")
    p.add_argument("--json", metavar="FILE", help="write the summary and every fault's result as JSON ('-': stdout)")
    p.add_argument("--plan", action="store_true", help="print the fault sequence and exit")
    p.add_argument("-q", "--quiet", action="store_true")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        kinds = [k for k in args.kinds.split(",") if k] or None
        faults = ctsplan.make_plan(args.seed, args.faults, args.mode, args.nodes, kinds)
    except PlanError as exc:
        print(f"hb cts: {exc}", file=sys.stderr)
        return 2
    if args.plan:
        for f in faults:
            print(f.describe())
        return 0
    if os.geteuid() != 0:
        print("hb cts: needs root (namespaces, loop devices, packet filters)", file=sys.stderr)
        return 2

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # the campaign's ExitStack tears the lab down
    signal.signal(signal.SIGTERM, stop)

    def log(text: str) -> None:
        if not args.quiet:
            print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)
    try:
        summary = Campaign(args, log).run(faults)
    except (CampaignError, LabError) as exc:
        print(f"hb cts: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hb cts: interrupted; the lab is down", file=sys.stderr)
        return 130
    if args.json:
        text = json.dumps(summary, indent=1, sort_keys=True)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
    print(ctsplan.format_summary(summary))
    return 1 if summary["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
