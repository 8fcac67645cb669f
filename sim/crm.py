"""The whole stack in the simulator: messaging, ccm, lrmd (with simulated agents), pengine, tengine
and crmd on every node, built and wired as their shells build and wire them; the CRM invariants
checked after every step.

Invariants (`CrmChecker`):
- one DC per view: two nodes never both act as DC of the same agreed view;
- no split brain: a primitive is never running on two nodes whose crmds act as members of
  quorate partitions, in views where the newer excludes the other (two quorate partitions);
- no action from an aborted graph: once crmd told its transition engine to stop a graph (an
  abort at INFINITY, or a cancel), the engine invokes no further action of that graph;
- with fencing (stonithd and a simulated fence device on every node): never two owners - no
  resource starts on a node while another node that is up (running, or hung) still runs it,
  i.e. while its last holder is neither fenced (powered off) nor confirmed stopped (fence
  devices themselves excepted: they need quorum only, as in Pacemaker);
- settled (checked by the runner after the last fault): within the stated bound every node
  asked to stop gracefully has stopped (request_stop), every running node is in one view with
  all its daemons running (none waiting for its restart), the DC is idle, every member joined
  with a CIB identical to the DC's (digest), the DC's CIB marks as cut off (`pyhb-isolated`, a
  standby) exactly the nodes whose crmd is cut off, every tool request a crmd still running got
  is answered (request_admin) and every change answered ok without "may be lost" is in the DC's
  CIB, every node's own operation history is the one the DC's CIB records for it (no result
  still on its way), the policy engine schedules nothing for the DC's CIB, and every resource
  runs exactly where the CIB says it runs (the placement the policy engine computes).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from core.cib import dates
from core.cib.xmltree import XNode, parse_xml, to_xml
from core.config.haresources import parse_haresources
from core import wire
from core.cib.status import transition_key
from core.graph import GraphAction, GraphError
from core.messages import crm as crm_msgs
from core.messages import lrm as lrm_msgs
from core.messages.hbapi import ClusterMessage
from core.messages.te import TeAbort, TeCancel, TeGraph, TeInvoke, TeRecall, TeSignOn
from core.sansio import Recv, Send, Stop, Stopped
from crmd.derive import from_haresources
from crmd import requests as rq
from crmd.machine import (INCARNATION_FILE, ISOLATED_ATTR, CibChanged, CrmdConfig, CrmdMachine, RoleChanged,
                          SaveCib)
from crmd.startup import initial_cib, initial_mark
from lrmd import machine as lm
from lrmd.process import LrmProcess, Published, ShellRequest, restart_inputs
from messaging.events import LocalLinkState, Shutdown
from pengine import engine
from pengine.process import PengineProcess, SaveInput, Scheduled
from pengine.placement import placement, transition_actions
from sim import agents
from sim.checkers import Violation
from sim.cluster import LINK, Cluster, SimNode, SimProcess, SubRng, WALL_BASE_S
from sim.stacks import MembershipStack
from sim import fencing as simfence
from stonithd.devices import Device
from stonithd.machine import RunDevice, SignalDevice, StonithConfig, StonithMachine
from tengine.machine import Aborted, Fired, TeMachine
from core.watchdog import Feed, MagicClose, StackWatchdog
from core.watchdog import Started as WdStarted

WATCHDOG_MS = 1000  # the simulated watchdog device's timeout (watchdog fencing runs)
WATCHDOG_STALE_MS = 1500  # how long the launcher lets a daemon be silent before it stops feeding
# stonith-watchdog-timeout above the device timeout + the stale window + a feed period + margin
WATCHDOG_FENCING_MS = 3500
CRM_PROCESSES = ("messaging", "ccm", "lrmd", "pengine", "tengine", "crmd")
FENCING_PROCESSES = ("messaging", "ccm", "lrmd", "stonithd", "pengine", "tengine", "crmd")


class CrmStack(MembershipStack):
    processes = CRM_PROCESSES

    def __init__(self, cib_xml: str, mode: str = "crm", groups: tuple = (),
                 crmd_factory: Callable[..., CrmdMachine] = CrmdMachine,
                 tengine_factory: Callable[..., TeMachine] = TeMachine, ccm_factory: Any = None,
                 fencing: bool = False, hacf_devices: tuple[Device, ...] = (),
                 stonith_factory: Callable[..., StonithMachine] = StonithMachine, watchdog_ms: int = 0,
                 watchdog_factory: Callable[..., StackWatchdog] = StackWatchdog) -> None:
        super().__init__(ccm_factory)
        self.processes = FENCING_PROCESSES if fencing else CRM_PROCESSES
        self.watchdog_ms = watchdog_ms  # > 0: each node's launcher feeds a watchdog of this timeout
        self.watchdog_factory = watchdog_factory
        if watchdog_ms:
            self.processes = ("watchdog",) + self.processes
        self.fencing = fencing
        self.hacf_devices = hacf_devices
        self.stonith_factory = stonith_factory
        self.cib_xml = cib_xml
        self.mode = mode
        self.groups = groups
        self.crmd_factory = crmd_factory
        self.tengine_factory = tengine_factory

    def started(self, cluster: Cluster, node: SimNode, proc: SimProcess) -> None:
        """What the shells do right after start: lrmd registers and probes its saved resources;
        messaging reads its interface's state (down while the node's NIC is); the launcher's
        watchdog learns a daemon was (re)started."""
        launcher = node.procs.get("watchdog")
        if proc.name != "watchdog" and launcher is not None and launcher.up:
            cluster.deliver(node, launcher, WdStarted(proc.name))
        if proc.name == "messaging" and node.state.get("nic_down") and proc.up:
            cluster.deliver(node, proc, LocalLinkState(LINK, False))
        if proc.name == "lrmd":
            inputs, _ = restart_inputs(list(node.disk.get("lrmd.resources") or []))
            for item in inputs:
                if proc.up:
                    cluster.deliver(node, proc, item)

    def handlers(self) -> dict[type, Callable[[Cluster, SimNode, SimProcess, Any], None]]:
        return {lm.RunAgent: agents.run_agent, lm.SignalAgent: agents.signal_agent,
                lm.SaveResources: _save_resources, Published: _ignore, ShellRequest: _shell_request,
                SaveInput: _save_input, Scheduled: _scheduled, Fired: _ignore, Aborted: _ignore,
                SaveCib: _save_cib, RoleChanged: _role, CibChanged: _ignore, Stopped: _stopped,
                RunDevice: simfence.run_device, SignalDevice: simfence.signal_device,
                Feed: simfence.watchdog_fed, MagicClose: simfence.watchdog_disarmed}

    def build(self, cluster: Cluster, node: SimNode, proc: SimProcess, local_ms: int) -> Any:
        name = proc.name
        if name in ("messaging", "ccm"):
            return super().build(cluster, node, proc, local_ms)
        if name == "lrmd":
            core = LrmProcess(lm.LrmMachine(max_children=4, kill_grace_ms=1000), proc.incarnation)
            return core
        if name == "pengine":
            return PengineProcess(proc.incarnation, save=False)
        if name == "tengine":
            return self.tengine_factory(proc.incarnation)
        if name == "watchdog":  # the launcher's part that feeds the node's watchdog
            node.state["watchdog_timeout_ms"] = self.watchdog_ms
            daemons = tuple(p for p in self.processes if p != "watchdog")
            return self.watchdog_factory(daemons, feed_ms=250, stale_ms=WATCHDOG_STALE_MS, grace_ms=3000)
        if name == "stonithd":
            return self.stonith_factory(StonithConfig(node=node.name, nodes=tuple(cluster.names), pid=proc.incarnation,
                                                      hacf_devices=self.hacf_devices, kill_grace_ms=500,
                                                      query_timeout_ms=2 * cluster.timing.deadtime_ms),
                                        SubRng(cluster.rng.randint(0, 2**31)))
        if name == "crmd":
            disk = node.disk.get("cib.xml")
            text = disk if disk is not None else self.cib_xml
            cib, _notes = initial_cib("cib.xml", text, node.disk.get("cib.xml.sig") if disk is not None else None)
            mark = initial_mark(cib, text, node.disk.get("cib.xml.quorate"))
            incarnation = int(node.disk.get(INCARNATION_FILE, 0))
            return self.crmd_factory(CrmdConfig(node=node.name, nodes=tuple(cluster.names), pid=proc.incarnation,
                                                cib=cib, deadtime_ms=cluster.timing.deadtime_ms,
                                                incarnation_floor=incarnation, mode=self.mode, groups=self.groups,
                                                shutdown_escalation_ms=20_000, watchdog=bool(self.watchdog_ms),
                                                cib_quorate=mark),
                                     SubRng(cluster.rng.randint(0, 2**31)))
        raise AssertionError(f"no process {name} in the CRM stack")


def _ignore(cluster: Cluster, node: SimNode, proc: SimProcess, effect: Any) -> None:
    return None


def _save_resources(cluster: Cluster, node: SimNode, proc: SimProcess, effect: lm.SaveResources) -> None:
    node.disk["lrmd.resources"] = list(effect.resources)


def _shell_request(cluster: Cluster, node: SimNode, proc: SimProcess, effect: ShellRequest) -> None:
    from core.messages.common import Reply
    rid = getattr(effect.request, "request_id", 0)
    cluster.inject(node, proc, [Send(effect.client, Reply(rid, False, None, "agent listings are not simulated"))])


def _save_input(cluster: Cluster, node: SimNode, proc: SimProcess, effect: SaveInput) -> None:
    node.state["pe_input"] = effect.xml


def _scheduled(cluster: Cluster, node: SimNode, proc: SimProcess, effect: Scheduled) -> None:
    if effect.actions:
        cluster.trace.add(cluster.now_ms, node.name, f"transition {effect.transition_id}: {effect.actions} actions: "
                                                     f"{'; '.join(s.strip() for s in effect.summary) or '-'}")


def _save_cib(cluster: Cluster, node: SimNode, proc: SimProcess, effect: SaveCib) -> None:
    from crmd.startup import file_digest, mark_text
    node.disk["cib.xml"] = effect.xml
    node.disk["cib.xml.sig"] = file_digest(effect.xml)
    node.disk["cib.xml.quorate"] = mark_text(effect.quorate)


def _role(cluster: Cluster, node: SimNode, proc: SimProcess, effect: RoleChanged) -> None:
    cluster.trace.add(cluster.now_ms, node.name, f"crmd: {effect.role} of view {effect.view} (DC {effect.dc})")


def _stopped(cluster: Cluster, node: SimNode, proc: SimProcess, effect: Stopped) -> None:
    node.state["crmd_stopped"] = True
    if _stop_asked(node) is not None:
        # the launcher's stop goes on as the crmd has handed over (core/launcher.py): ccm signs
        # off, messaging tells the peers it leaves (t=shutdone), then everything exits
        cluster.trace.add(cluster.now_ms, node.name, "crmd stopped cleanly; the rest of the stack stops")
        cluster.at(cluster.now_ms + 1, lambda: _stop_the_rest(cluster, node.name, node.epoch))


def request_stop(cluster: Cluster, name: str) -> None:
    """A graceful stop of a node's stack (`hb -k`, `systemctl stop`): its crmd is told to stop
    (it asks the DC to move everything off the node and waits for its ShutdownOk), the rest of
    the stack follows once the crmd is done (_stopped). A node that is down, or whose crmd is,
    is not stopped again; a paused node gets the request when it resumes (a pending SIGTERM)."""
    node = cluster.nodes[name]
    proc = node.procs.get("crmd")
    if not node.up or proc is None or not proc.up or _stop_asked(node) is not None:
        return
    node.state["stop_asked"] = (node.epoch, cluster.now_ms)
    cluster.trace.add(cluster.now_ms, name, "STOP requested (graceful)")
    cluster.deliver(node, proc, Stop())


def crash_daemon(cluster: Cluster, name: str, pname: str) -> None:
    """A daemon of node `name` dies (kill -9) and the launcher restarts it, unless it is the
    crmd of a node being stopped: the launcher stops one daemon at a time, crmd first, and goes
    on with the rest when it exits (core/launcher.py `stop_all`; the others are still restarted
    meanwhile, core/supervise.py)."""
    node = cluster.nodes[name]
    stopping_crmd = pname == "crmd" and _stop_asked(node) is not None
    cluster.crash_process(name, pname, respawn=not stopping_crmd)
    if stopping_crmd and node.up:
        cluster.trace.add(cluster.now_ms, name, "the crmd being stopped died: the rest of the stack stops")
        cluster.at(cluster.now_ms + 1, lambda: _stop_the_rest(cluster, name, node.epoch))


def _stop_asked(node: SimNode) -> Optional[int]:
    """When this incarnation of the node was asked to stop (None: not asked, or it went down and
    came back since)."""
    asked = node.state.get("stop_asked")
    return asked[1] if asked is not None and asked[0] == node.epoch else None


def _stop_the_rest(cluster: Cluster, name: str, epoch: int) -> None:
    node = cluster.nodes[name]
    if not node.up or node.epoch != epoch:
        return
    for pname, event in (("ccm", Stop()), ("messaging", Shutdown())):
        proc = node.procs.get(pname)
        if proc is not None and proc.up:
            cluster.deliver(node, proc, event)
    # (the packets messaging sent are on the network already: they arrive after it exits)
    cluster.crash(name, how="STOPPED (clean shutdown)")


# -- an operator's tool -------------------------------------------------------------------------------
ADMIN_CLIENT = b"admin-tool"  # the local client identity tool requests come from (crm_attribute, say)


@dataclass
class AdminRequest:
    """A tool's request to one node's crmd: set a permanent attribute of `target` (a change of
    the configuration, as crm_attribute --lifetime forever makes), and what the crmd answered."""
    node: str
    epoch: int  # the node's incarnation (a crash breaks the tool's connection: no answer due)
    crmd: int  # the crmd process's incarnation
    at_ms: int
    target: str
    name: str
    value: str
    answer: Optional[bool] = None  # ok / refused or failed; None: not answered yet
    durable: bool = False  # ok, and not "may be lost" (made without a majority: a warning says so)


def admin_requests(cluster: Cluster) -> dict[int, AdminRequest]:
    requests = getattr(cluster, "admin_requests", None)
    if requests is None:
        requests = cluster.admin_requests = {}  # type: ignore[attr-defined]
    return requests


def request_admin(cluster: Cluster, name: Optional[str], target: str) -> None:
    """An operator sets a permanent node attribute with a tool on node `name` (None: on the node
    that is DC at the moment, else the first running node): the tool's request reaches that
    node's crmd over its local socket. A node that is down, or whose crmd is, gets none; a paused
    node reads it when it resumes."""
    if name is None:
        name = next((n for n in cluster.names if (c := crmd_of(cluster, n)) is not None and c.is_dc), None) or \
            next((n for n in cluster.names if crmd_of(cluster, n) is not None), None)
        if name is None:
            return
    node = cluster.nodes[name]
    proc = node.procs.get("crmd")
    if not node.up or proc is None or not proc.up:
        return
    requests = admin_requests(cluster)
    rid = len(requests) + 1
    request = AdminRequest(name, node.epoch, proc.incarnation, cluster.now_ms, target, f"sim-admin-{rid}", str(rid))
    requests[rid] = request
    cluster.trace.add(cluster.now_ms, name, f"TOOL sets {request.name}={request.value} on {target} (forever)")
    cluster.deliver(node, proc, Recv(ADMIN_CLIENT, crm_msgs.NodeAttr(rid, target, request.name, request.value,
                                                                     "forever")))


def _admin_answered(cluster: Cluster, node: SimNode, proc: SimProcess, msg: Any) -> None:
    request = admin_requests(cluster).get(getattr(msg, "request_id", 0))
    if request is None or request.node != node.name or request.epoch != node.epoch or request.crmd != proc.incarnation:
        return
    request.answer = bool(msg.ok)
    warning = msg.result.get("warning") if isinstance(msg.result, dict) else None
    request.durable = request.answer and not warning
    said = ("ok, may be lost" if warning else "ok") if msg.ok else f"failed: {msg.error}"
    cluster.trace.add(cluster.now_ms, node.name, f"TOOL answered for {request.name}: {said}")


def _permanent_attr(cib: Any, node: str, name: str) -> Optional[str]:
    node_id = rq.node_ids(cib).get(node, node)
    base = rq.CONFIG + (("nodes", None), ("node", node_id), ("instance_attributes", f"nodes-{node_id}"))
    found = rq._nvpair(cib, base, name)
    return None if found is None else found.get("value")


def admin_problem(cluster: Cluster, dc_cib: Any) -> Optional[str]:
    """A tool's request that a crmd still running has not answered (its client would wait out
    its own timeout), or None; raises Violation for a change a crmd answered ok for, without
    saying that it may be lost, that the settled DC's CIB does not hold."""
    for request in admin_requests(cluster).values():
        node = cluster.nodes[request.node]
        proc = node.procs.get("crmd")
        if request.answer is None:
            if node.up and node.epoch == request.epoch and proc is not None and proc.up and \
                    proc.incarnation == request.crmd:
                return (f"the tool's request at {request.at_ms} ms to {request.node} ({request.name} on "
                        f"{request.target}) has no answer")
        elif request.durable and _permanent_attr(dc_cib, request.target, request.name) != request.value:
            raise Violation(f"{request.node}'s crmd answered ok at {request.at_ms} ms or later for {request.name}="
                            f"{request.value} on {request.target}, and the settled DC's CIB does not hold it")
    return None


def stop_problem(cluster: Cluster) -> Optional[str]:
    """A node asked to stop that has not (its crmd still waits for its shutdown to be handed
    over), or None."""
    waiting = sorted((_stop_asked(node), node.name) for node in cluster.nodes.values()
                     if node.up and _stop_asked(node) is not None)
    if not waiting:
        return None
    return "; ".join(f"{name} was asked to stop at {at} ms and has not stopped" for at, name in waiting)


# -- the checker ---------------------------------------------------------------------------------------
@dataclass
class CrmChecker:
    cluster: Cluster
    roles: dict[str, tuple[int, str]] = field(default_factory=dict)  # node -> (view, role)
    current_graph: dict[tuple[str, int], int] = field(default_factory=dict)  # (node, tengine) -> transition
    aborted: set[tuple[str, int, int]] = field(default_factory=set)  # (node, tengine, transition)
    dirty: bool = False  # something the split-brain check depends on changed
    invokes: int = 0
    transitions: int = 0
    fencing: bool = False  # the cluster fences: check "never two owners" at every start
    fence_devices: set[str] = field(default_factory=set)  # class stonith resources seen starting
    starts_checked: int = 0
    # chains (tengine/machine.py): (node, DC, transition, action) -> the key its node runs it with;
    # keys a node was told to drop before it began them, and keys it began
    chain_keys: dict[tuple[str, str, int, int], str] = field(default_factory=dict)
    recalled_keys: set[tuple[str, str]] = field(default_factory=set)
    begun_keys: set[tuple[str, str]] = field(default_factory=set)
    chained_recalls: int = 0

    def on_effect(self, cluster: Cluster, node: SimNode, proc: SimProcess, effect: Any) -> None:
        kind = type(effect)
        if kind is RoleChanged:
            if effect.role == "dc":
                for other, (view, role) in self.roles.items():
                    if other != node.name and role == "dc" and view == effect.view and \
                            cluster.process_running(cluster.nodes[other], "crmd"):
                        raise Violation(f"two DCs in view {effect.view}: {other} and {node.name}")
            self.roles[node.name] = (effect.view, effect.role)
        elif kind is Send and proc.name == "tengine" and type(effect.msg) is TeInvoke:
            self.invokes += 1
            tid = effect.msg.transition_id
            if (node.name, proc.incarnation, tid) in self.aborted:
                raise Violation(f"{node.name}: the transition engine fired action "
                                f"{effect.msg.action.get('operation_key')} of transition {tid} after it was aborted")
        elif kind is Send and effect.dest == ADMIN_CLIENT and proc.name == "crmd":
            _admin_answered(cluster, node, proc, effect.msg)
        elif kind is Send and proc.name == "crmd" and type(effect.msg) is lrm_msgs.Execute:
            key = (node.name, effect.msg.user_data.partition("|")[0])
            if key in self.recalled_keys:
                raise Violation(f"{node.name}: crmd began {effect.msg.rsc_id}_{effect.msg.operation} ({key[1]}) "
                                "after its DC had recalled it from the node's chain before it began")
            self.begun_keys.add(key)

    def _chain_sent(self, dc: SimNode, proc: SimProcess, msg: TeInvoke) -> None:
        """The DC's crmd got an action with a chain: note the keys its node will run them with."""
        uuid = getattr(proc.core, "te_uuid", "")
        for item in msg.then:
            try:
                action = GraphAction.from_wire(item["action"])
            except (GraphError, KeyError, TypeError):
                continue
            where = action.router_node or action.on_node or ""
            self.chain_keys[(where, dc.name, msg.transition_id, action.id)] = \
                transition_key(action.id, msg.transition_id, action.target_rc, uuid)

    def _chain_recalled(self, node: str, dc: str, tid: int, action_ids: tuple[int, ...]) -> None:
        """node is told to drop these chained actions: those it has not begun must never begin."""
        for action_id in action_ids:
            key = self.chain_keys.get((node, dc, tid, action_id))
            if key is not None and (node, key) not in self.begun_keys:
                self.recalled_keys.add((node, key))
                self.chained_recalls += 1

    def on_deliver(self, cluster: Cluster, node: SimNode, proc: SimProcess, event: Any) -> None:
        """What the transition engine was told, in the order it was told (not the order crmd
        said it: an abort sent right after a graph reaches the engine after the graph)."""
        if proc.name == "crmd" and type(event) is Recv:
            msg = event.msg
            if type(msg) is TeInvoke and msg.then:
                self._chain_sent(node, proc, msg)
            elif type(msg) is TeRecall:  # the DC's own chains are dropped there and then
                self._chain_recalled(node.name, node.name, msg.transition_id, tuple(msg.action_ids))
            elif type(msg) is ClusterMessage and b"crmd.lrm_recall" in msg.payload:
                try:
                    recall = wire.decode(msg.payload)
                except wire.WireError:
                    return
                if type(recall) is crm_msgs.LrmRecall:
                    self._chain_recalled(node.name, msg.source, recall.transition_id, tuple(recall.action_ids))
            return
        if proc.name != "tengine" or type(event) is not Recv:
            return
        msg = event.msg
        kind = type(msg)
        key = (node.name, proc.incarnation)
        if kind is TeSignOn:
            # a (restarted) crmd numbers its transitions from 1 again: what the engine was told
            # about the previous crmd's transitions no longer applies
            self.current_graph.pop(key, None)
            self.aborted = {a for a in self.aborted if a[:2] != key}
        elif kind is TeGraph:
            self.current_graph[key] = msg.transition_id
            self.transitions += 1
        elif kind is TeAbort and msg.priority >= 1_000_000:
            tid = self.current_graph.get(key)
            if tid is not None:
                self.aborted.add(key + (tid,))
        elif kind is TeCancel:
            self.aborted.add(key + (msg.transition_id,))

    def resource_started(self, cluster: Cluster, node: SimNode, rsc: str, rsc_class: str = "") -> None:
        """A start succeeded on `node`: with fencing, no other node that is up still runs it.
        Fence devices (class stonith) are exempt: they need quorum, not fencing, to start
        (Pacemaker's requires=quorum: a device must start where it is needed), and a device
        running twice harms nothing."""
        if rsc_class == "stonith":
            self.fence_devices.add(rsc)
        if not self.fencing or rsc in self.fence_devices:
            return
        self.starts_checked += 1
        others = [n.name for n in cluster.nodes.values() if n.up and n.name != node.name
                  and rsc in agents.world(n).running]
        if others:
            raise Violation(f"two owners: {rsc} started on {node.name} while {', '.join(others)} still runs it "
                            "(neither fenced nor confirmed stopped)")

    def node_crashed(self, cluster: Cluster, node: SimNode) -> None:
        simfence.node_crashed(cluster, node.name)
        agents.node_crashed(node)
        self.roles.pop(node.name, None)
        self.check_resources(cluster)

    def after_cascade(self, cluster: Cluster) -> None:
        """A node's processes have handled an input and all it caused: their beliefs are
        consistent again (mid-way, a ccm may have told its crmd nothing yet)."""
        if self.dirty:
            self.dirty = False
            self.check_resources(cluster)

    def node_started(self, cluster: Cluster, node: SimNode) -> None:
        self.roles.pop(node.name, None)

    def agents_changed(self, cluster: Cluster, node: SimNode) -> None:
        self.dirty = True

    def running_changed(self, cluster: Cluster, node: SimNode) -> None:
        if not cluster.process_running(node, "crmd"):
            self.roles.pop(node.name, None)
        self.dirty = True

    def check_resources(self, cluster: Cluster) -> None:
        """A resource runs on two nodes whose crmds both act as part of a quorate partition, in
        views where the newer excludes the other node: two quorate partitions run it. (A crmd
        acts on what its ccm told it; with correct cores that is ccm's own verdict, whose leases
        end the old partition's quorum before the new one has it. A crmd that did not run for
        longer than its stall bound acts on nothing until it has seen the stall.)"""
        quorate = {}
        for name in cluster.names:
            node = cluster.nodes[name]
            if not (cluster.process_running(node, "crmd") and cluster.process_running(node, "ccm")):
                continue
            crmd = crmd_of(cluster, name)
            if crmd is not None and crmd.view is not None and crmd.quorate_at(cluster.now_ms):
                quorate[name] = crmd.view
        if len(quorate) < 2:
            return
        for rsc, nodes in agents.where(cluster).items():
            if self.fencing and rsc in self.fence_devices:
                continue
            holders = [n for n in nodes if n in quorate]
            for i, a in enumerate(holders):
                for b in holders[i + 1:]:
                    va, vb = quorate[a], quorate[b]
                    if va.instance == vb.instance:
                        continue
                    (old, vo), (new, vn) = ((a, va), (b, vb)) if va.instance < vb.instance else ((b, vb), (a, va))
                    if old not in vn.members:
                        raise Violation(f"split brain: {rsc} runs on {a} and {b}, in two quorate partitions "
                                        f"({new} in view {vn.instance}, {old} in view {vo.instance})")

    def view_changed(self, cluster: Cluster, node: SimNode) -> None:
        self.dirty = True


def set_nic(cluster: Cluster, name: str, up: bool) -> None:
    """The node's network card loses (or regains) its carrier: every link to and from it is cut
    and its messaging daemon sees its own interface go down, as the shell reads it from the
    kernel."""
    node = cluster.nodes[name]
    node.state["nic_down"] = not up
    for other in cluster.names:
        if other != name and (not up or not cluster.nodes[other].state.get("nic_down")):
            cluster.network.cut(name, other, not up)  # (a peer whose own NIC is down stays cut off)
            cluster.network.cut(other, name, not up)
    cluster.trace.add(cluster.now_ms, name, f"NIC {'up' if up else 'down'}")
    proc = node.procs.get("messaging")
    if node.up and proc is not None and proc.up:
        cluster.deliver(node, proc, LocalLinkState(LINK, up))


def crmd_of(cluster: Cluster, name: str) -> Optional[CrmdMachine]:
    node = cluster.nodes[name]
    proc = node.procs.get("crmd")
    if not cluster.process_running(node, "crmd") or proc is None:
        return None
    return proc.core


def settle_problem(cluster: Cluster) -> Optional[str]:
    """None when the cluster is settled (see the module docstring), else what is not yet."""
    stopping = stop_problem(cluster)
    if stopping is not None:
        return stopping
    running = [n for n in cluster.names if cluster.process_running(cluster.nodes[n], "crmd")
               and cluster.process_running(cluster.nodes[n], "ccm")]
    if not running:
        return None
    from sim.membership import _convergence
    membership = _convergence(cluster, cluster.names)
    if membership is not None:
        return f"membership: {membership}"
    crmds = {n: crmd_of(cluster, n) for n in running}
    views = {n: c.view for n, c in crmds.items() if c is not None}
    if len(views) != len(running) or any(v is None for v in views.values()):
        return "not every crmd has a view"
    instances = {v.instance for v in views.values() if v is not None}
    if len(instances) != 1:
        return f"crmds are in different views {sorted(instances)}"
    view = next(iter(views.values()))
    assert view is not None
    if sorted(view.members) != sorted(running):
        return f"view {view.instance} holds {list(view.members)}, running nodes are {running}"
    dc = crmds.get(view.dc)
    if dc is None:
        return f"the DC {view.dc} does not run"
    if not dc.is_dc or dc.fsa != "idle" or dc.need_pe or (dc.round is not None and dc.round.phase != "done"):
        return f"the DC {view.dc} is busy ({dc.fsa}{', needs the policy engine' if dc.need_pe else ''})"
    digest = dc.cib.digest()
    for name, crmd in crmds.items():
        assert crmd is not None
        if name != view.dc and not crmd.joined:
            return f"{name} has not joined the DC"
        if crmd.cib.digest() != digest:
            return f"{name}'s CIB {crmd.cib.version} differs from the DC's {dc.cib.version}"
        if crmd.exec_waiting or any(ctx.interval_ms == 0 for ctx in crmd.running.values()):
            return f"{name} still runs actions"
        if not crmd.lrm_ready:
            # (reconnected to a restarted lrmd, its history not read yet: what the lrmd lost, the
            # recurring monitors, is about to be restarted)
            return f"{name}'s crmd has not read its lrmd's history yet"
        node = cluster.nodes[name]
        down = sorted(p for p, proc in node.procs.items() if not proc.up and proc.restart_due)
        if down:
            # (a daemon its launcher is about to restart: what crmd knows of it is stale, e.g.
            # recurring monitors the dead lrmd no longer runs)
            return f"{name}'s {', '.join(down)} is down, to be restarted"
        for session in (crmd.messaging, crmd.ccm, crmd.lrmd, crmd.tengine):
            proc = node.procs.get(session.server)
            if proc is None or not session.up or session.server_pid != proc.incarnation:
                return f"{name}'s crmd has not caught up with its {session.server} (restarted?)"
    ids = rq.node_ids(dc.cib)
    for name, crmd in crmds.items():
        assert crmd is not None
        marked = rq.transient_attrs(dc.cib, ids.get(name, name)).get(ISOLATED_ATTR) is not None
        if marked != crmd.isolated:
            return (f"{name} is {'' if crmd.isolated else 'not '}cut off, but the DC's CIB "
                    f"{'marks' if marked else 'does not mark'} it so "
                    f"(its standby {'stays' if marked else 'is missing'})")
    admin = admin_problem(cluster, dc.cib)
    if admin is not None:
        return admin
    now = dates.from_epoch(WALL_BASE_S + cluster.now_ms // 1000)
    cib = parse_xml(dc.cib.xml(), "<DC CIB>")
    recorded = _histories(cib)
    for name, crmd in crmds.items():
        assert crmd is not None
        if _history_of(crmd.lrm.element()) != recorded.get(name, frozenset()):
            # (a result or a whole history still on its way to the DC: the replicas agree with
            # each other, not yet with what this node's lrmd did)
            return f"{name}'s history has not reached the DC's CIB yet"
    ws = engine.schedule(cib, now, ws=_unpack(cib, now))
    pending = transition_actions(ws)
    if pending:
        return f"the policy engine still wants {', '.join(pending)}"
    truth = agents.where(cluster)
    unknowable = _unfenceable(ws, running)
    for rsc, nodes in placement(ws).items():
        want = sorted(nodes) if isinstance(nodes, list) else ([nodes] if nodes else [])
        want = [n for n in want if n not in unknowable]
        have = truth.get(rsc, [])
        if want != have:
            return f"{rsc} runs on {have or 'no node'}, the CIB says {want or 'nowhere'}"
    for rsc, nodes in truth.items():
        if rsc not in placement(ws):
            return f"{rsc} runs on {nodes} but is not in the CIB"
    return None


def _unfenceable(ws: Any, running: list[str]) -> set[str]:
    """Nodes outside the settled partition that it has not fenced and cannot fence now (no
    quorum): what the CIB last recorded of them stays there, blocked, since only fencing would
    tell (Pacemaker keeps an unclean node's resources so too: "blocked"). The partition's own
    nodes, and a node the policy engine still means to fence, are compared as before."""
    assert ws.graph is not None
    fencing = {syn.action.node.uname for syn in ws.graph.synapses
               if syn.action.task == "stonith" and syn.action.node is not None}
    return {node.uname for node in ws.nodes
            if node.unclean and node.uname not in running and node.uname not in fencing}


def _history_of(lrm: Optional[XNode]) -> frozenset[tuple[str, ...]]:
    """A node's operation history as comparable facts: (resource, entry, call id, rc, status)."""
    if lrm is None:
        return frozenset()
    return frozenset((rsc.get("id") or "", op.get("id") or "", op.get("call-id") or "",
                      op.get("rc-code") or "", op.get("op-status") or "")
                     for rsc in lrm.iter("lrm_resource") for op in rsc.iter("lrm_rsc_op"))


def _histories(cib: XNode) -> dict[str, frozenset[tuple[str, ...]]]:
    """Per node name, the history the CIB records for it."""
    out: dict[str, frozenset[tuple[str, ...]]] = {}
    for state in cib.iter("node_state"):
        lrms = [child for child in state.children if child.tag == "lrm"]
        out[state.get("uname") or ""] = _history_of(lrms[0] if lrms else None)
    return out


def _unpack(cib: XNode, now: _dt.datetime) -> Any:
    return engine.unpack_cib(cib, now)


# -- configurations the runs use ---------------------------------------------------------------------------
def scenario_cib(nodes: list[str], monitor_ms: int = 1000, fencing: bool = False, watchdog: bool = False) -> str:
    """A CIB with a group (address + service, preferring the first node), a pair with order and
    colocation, migration thresholds and stickiness; with fencing, stonith enabled and one
    simulated fence device (static host list, a random delay against fence races)."""
    mon = f'<operations><op id="{{rid}}-mon" name="monitor" interval="{monitor_ms}ms" timeout="5s"/></operations>'

    def prim(rid: str, klass: str, rtype: str, provider: str = "", meta: str = "") -> str:
        prov = f' provider="{provider}"' if provider else ""
        return f'<primitive id="{rid}" class="{klass}"{prov} type="{rtype}">{meta}{mon.format(rid=rid)}</primitive>'

    threshold = '<meta_attributes id="{rid}-meta"><nvpair id="{rid}-mt" name="migration-threshold" value="2"/></meta_attributes>'
    second = nodes[1] if len(nodes) > 1 else nodes[0]
    fence = (f'<primitive id="fence-sim" class="stonith" type="{simfence.SIM_DEVICE}">'
             '<instance_attributes id="fence-sim-params">'
             f'<nvpair id="fence-sim-hosts" name="pcmk_host_list" value="{" ".join(nodes)}"/>'
             '<nvpair id="fence-sim-delay" name="pcmk_delay_max" value="1s"/>'
             '</instance_attributes>' + mon.format(rid="fence-sim") + '</primitive>')
    return (
        '<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.0" crm_feature_set="3.16.2">'
        '<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">'
        f'<nvpair id="o-stonith" name="stonith-enabled" value="{"true" if fencing else "false"}"/>'
        '<nvpair id="o-stonith-timeout" name="stonith-timeout" value="5s"/>'
        + (f'<nvpair id="o-swt" name="stonith-watchdog-timeout" value="{WATCHDOG_FENCING_MS}ms"/>' if watchdog else '')
        + '<nvpair id="o-quorum" name="no-quorum-policy" value="stop"/>'
        '</cluster_property_set></crm_config><nodes/><resources>'
        + (fence if fencing and not watchdog else '')
        + '<group id="web">' + prim("ip", "ocf", "IPaddr2", "heartbeat") + prim("svc", "lsb", "svc") + '</group>'
        + prim("db", "ocf", "Dummy", "pacemaker", threshold.format(rid="db"))
        + prim("mail", "ocf", "Dummy", "pacemaker")
        + '</resources><constraints>'
        f'<rsc_location id="web-pref" rsc="web" node="{nodes[0]}" score="100"/>'
        f'<rsc_location id="db-pref" rsc="db" node="{second}" score="50"/>'
        '<rsc_colocation id="mail-with-db" rsc="mail" with-rsc="db" score="INFINITY"/>'
        '<rsc_order id="db-then-mail" first="db" then="mail"/>'
        '</constraints><rsc_defaults><meta_attributes id="rsc-options">'
        '<nvpair id="rsc-stickiness" name="resource-stickiness" value="50"/>'
        '</meta_attributes></rsc_defaults>'
        # with fencing, a stop that hangs fails (and gets its node fenced) after 2 s, not 20
        + ('<op_defaults><meta_attributes id="op-options"><nvpair id="op-timeout" name="timeout" value="2s"/>'
           '</meta_attributes></op_defaults>' if fencing else '')
        + '</configuration><status/></cib>')


def haresources_setup(nodes: list[str], auto_failback: str = "on", monitor_ms: int = 1000,
                      fencing: bool = False) -> tuple[str, tuple]:
    """(CIB, groups) for haresources mode, derived as the crmd shell derives them (monitors made
    frequent enough for the simulated time)."""
    lines = [f"{nodes[0]} IPaddr2::198.18.0.100/24/eth0 svc"]
    if len(nodes) > 1:
        lines.append(f"{nodes[1]} Dummy::a Dummy::b")
    groups = parse_haresources("\n".join(lines) + "\n", "haresources", tuple(nodes))
    root, info, _ = from_haresources(groups, auto_failback, nodes,
                                     stonith_devices=[("stonith_host-1", simfence.SIM_DEVICE)] if fencing else ())
    for op in root.iter("op"):
        op.set("interval", f"{monitor_ms}ms")
        op.set("timeout", "5s")
    if fencing:
        # as in crm mode: a stop that hangs fails (and gets its node fenced) after 2 s, not the
        # default 20 s, which no settle bound of a run allows for
        config = root.find("configuration")
        assert config is not None
        config.sub("op_defaults").sub("meta_attributes", {"id": "op-options"}).sub(
            "nvpair", {"id": "op-timeout", "name": "timeout", "value": "2s"})
    return to_xml(root, indent=None), info


def crm_cluster(names: list[str], rng: Any, timing: Any, network: Any = None, trace: Any = None,
                mode: str = "crm", auto_failback: str = "on", fencing: bool = False, watchdog: bool = False,
                **kwargs: Any) -> tuple[Cluster, CrmChecker]:
    """fencing: stonithd on every node and a simulated fence device (in the CIB in crm mode; an
    ha.cf `stonith_host * external/sim` line, found by its host list, in haresources mode)."""
    if mode == "haresources":
        cib, groups = haresources_setup(names, auto_failback, fencing=fencing)
        hacf = (Device("stonith_host-1", simfence.SIM_DEVICE, {"pcmk_delay_max": "1s"}, "ha.cf", ("*",)),) \
            if fencing else ()
        stack = CrmStack(cib, "haresources", groups, fencing=fencing, hacf_devices=hacf, **kwargs)
    else:
        stack = CrmStack(scenario_cib(names, fencing=fencing or watchdog, watchdog=watchdog),
                         fencing=fencing or watchdog, watchdog_ms=WATCHDOG_MS if watchdog else 0, **kwargs)
    cluster = Cluster(names, rng, timing, network, trace, stack=stack)
    checker = CrmChecker(cluster, fencing=fencing or watchdog)
    cluster.observers.append(checker)
    return cluster, checker




