"""The lab as one object, for the CLI, the demo, the tests and the benchmarks.

    lab = Lab.up(LabSpec(name="t1", nodes=3, subnet="198.18.3.0/24"))
    try:
        lab.wait_all_see("active", timeout_s=20)
        lab.fail("node3", "link")
        lab.wait_view(["node1", "node2"], "node3", "dead", timeout_s=5)
        lab.heal("node3")
    finally:
        lab.down()

`Lab.load(name=..., root=...)` picks up a lab another process brought up. Every change is saved
to the state file before the next step, so `down` removes what exists even after a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from typing import Callable, Iterable, Optional, Sequence

from core.paths import NodePaths
from lab import host, network, plan, stack
from lab import state as statemod
from lab.plan import LabError, LabSpec
from lab.state import LabState, NodeState

FAULTS = ("kill", "link", "hang", "partition")
READY_TIMEOUT_S = 30.0
POWER_OFF_ROUNDS = 10  # kill rounds of a power-off until no process of the node is left


def auto_mode() -> str:
    return "netns" if host.is_root() and host.have_tool("ip") else "loopback"


class Lab:
    def __init__(self, state: LabState) -> None:
        self.state = state

    @property
    def spec(self) -> LabSpec:
        return self.state.spec

    @property
    def nodes(self) -> list[str]:
        return plan.node_names(self.spec)

    # -- life cycle --------------------------------------------------------------------------
    @classmethod
    def up(cls, spec: LabSpec, ready_timeout_s: float = READY_TIMEOUT_S) -> "Lab":
        spec = plan.validate(spec)
        if spec.mode == "netns" and not host.is_root():
            raise LabError("netns mode needs root (or use --mode loopback)")
        if os.path.exists(statemod.state_path(spec.root)):
            raise LabError(f"lab {spec.name} is up already ({spec.root}); hb lab down --name {spec.name} first")
        if spec.mode == "netns":
            network.check_free(spec)
        stack.check_configs(spec)
        with statemod.locked(spec.root):
            lab = cls(LabState(spec=spec))
            lab.save()
            try:
                lab._bring_up(ready_timeout_s)
            except LabError as exc:
                logs = "".join(stack.log_tail(spec, node) for node in plan.node_names(spec))
                problems = lab._teardown()
                raise LabError(f"{exc}{logs}" + "".join(f"\ncleanup: {p}" for p in problems)) from None
            except BaseException:
                lab._teardown()
                raise
        return lab

    def _bring_up(self, ready_timeout_s: float) -> None:
        spec = self.spec
        if spec.mode == "netns":
            network.create(spec, self._record)
        secret = stack.new_secret()
        stack.install_agents(spec)
        if spec.mode == "netns":
            self._start_anchor()
        for node in self.nodes:
            stack.prepare(spec, node, secret)
            self.state.nodes[node] = NodeState()
        self.save()
        if spec.watchdog_ms:
            for node in self.nodes:
                self._start_watchdog(node)
        started = {}
        for node in self.nodes if spec.run_stack else ():  # run_stack=False: see LabSpec
            pid, start = stack.start(spec, node, self._anchor_pid())
            self.state.nodes[node].pid, self.state.nodes[node].start = pid, start
            self.save()
            started[node] = (pid, start)
        stack.wait_ready(spec, started, ready_timeout_s)
        self.state.ready = True
        self.save()

    def _record(self, kind: str, name: str) -> None:
        (self.state.netns if kind == "netns" else self.state.links).append(name)
        self.save()

    @classmethod
    def load(cls, name: Optional[str] = None, root: Optional[str] = None) -> "Lab":
        return cls(statemod.load(statemod.find_root(name, root)))

    def save(self) -> None:
        self.state.save()

    def refresh(self) -> None:
        """Read the state file again (another process changed it: the lab's power switch, run by a
        node's fencing daemon, powered a node off or on)."""
        self.state = statemod.load(self.spec.root)

    def down(self) -> list[str]:
        """Stop every stack and remove everything the lab created; returns problems (empty when
        everything is gone)."""
        with statemod.locked(self.spec.root):
            if os.path.exists(self.state.path):
                self.refresh()  # the power switch may have changed it since this object read it
            return self._teardown()

    def _start_watchdog(self, node: str) -> None:
        import sys

        path = plan.watchdog_path(self.spec, node)
        if not os.path.exists(path):
            os.mkfifo(path, 0o600)
        argv = [sys.executable, "-m", "lab.wdog", self.spec.root, node, path, str(self.spec.watchdog_ms)]
        log = os.path.join(plan.node_dirs(self.spec, node)["log"], "watchdog.out")
        pid, start = host.spawn(argv, stack.node_env(self.spec, None), log)
        self.state.nodes[node].wd_pid, self.state.nodes[node].wd_start = pid, start
        self.save()

    def _start_anchor(self) -> None:
        """A process that only waits, started here, in the machine's mount namespace: the nodes'
        stacks start from its mounts whoever starts them (lab.stack.launcher_argv). Its pid file
        lets `sweep` find it without the state file."""
        self.state.anchor = host.spawn(["sleep", "infinity"], dict(os.environ), anchor_log(self.spec.root))
        with open(os.path.join(self.spec.root, ANCHOR_PID), "w", encoding="ascii") as handle:
            handle.write(f"{self.state.anchor[0]}\n")
        self.save()

    def _anchor_pid(self) -> Optional[int]:
        anchor = self.state.anchor
        if anchor is None or not host.alive(anchor[0], anchor[1]):
            return None  # (a lab brought up before the anchor existed: as before)
        return anchor[0]

    def _teardown(self) -> list[str]:
        spec = self.spec
        wardens = [(s.wd_pid, s.wd_start) for s in self.state.nodes.values() if s.wd_pid is not None]
        problems: list[str] = []
        if wardens and not host.kill_all([(p, t) for p, t in wardens if t is not None], term_wait_s=2.0):
            problems.append("a lab watchdog would not die")
        if self.state.anchor is not None and not host.kill_all([self.state.anchor], term_wait_s=2.0):
            problems.append("the lab's mount anchor would not die")
        problems += stack.stop(spec, {n: (s.pid, s.start) for n, s in self.state.nodes.items()})
        if spec.mode == "netns":
            for ns in self.state.netns:  # anything else still running in our namespaces
                if ns in host.netns_list():
                    if not host.kill_all(host.netns_pids(ns), term_wait_s=2.0):
                        problems.append(f"{ns}: processes would not die")
            problems += network.destroy(spec, reversed(self.state.netns), reversed(self.state.links))
        if not problems:
            shutil.rmtree(spec.root, ignore_errors=True)
        return problems

    # -- nodes -------------------------------------------------------------------------------
    def paths(self, node: str) -> NodePaths:
        return stack.node_paths(self.spec, node)

    def pid(self, node: str) -> Optional[int]:
        s = self.state.nodes[node]
        return s.pid if s.pid is not None and host.alive(s.pid, s.start) else None

    def processes(self, node: str) -> list[tuple[int, int]]:
        s = self.state.nodes[node]
        return host.tree(s.pid, s.start) if s.pid is not None else []

    def start_node(self, node: str, ready_timeout_s: float = READY_TIMEOUT_S, wait: bool = True) -> None:
        plan.node_index(self.spec, node)
        if self.pid(node) is not None:
            raise LabError(f"{node}: the stack is running already [pid {self.pid(node)}]")
        pid, start = stack.start(self.spec, node, self._anchor_pid())
        self.state.nodes[node].pid, self.state.nodes[node].start = pid, start
        self.save()
        if wait:
            stack.wait_ready(self.spec, {node: (pid, start)}, ready_timeout_s)

    def stop_node(self, node: str) -> list[str]:
        s = self.state.nodes[node]
        problems = stack.stop(self.spec, {node: (s.pid, s.start)})
        s.pid = s.start = None
        self.save()
        return problems

    def restart_node(self, node: str) -> None:
        problems = self.stop_node(node)
        if problems:
            raise LabError("; ".join(problems))
        self.start_node(node)

    # -- faults ------------------------------------------------------------------------------
    def _need_netns(self, what: str) -> None:
        if self.spec.mode != "netns":
            raise LabError(f"{what} needs namespaces (netns mode, as root); this lab runs on loopback. "
                           "Use --how hang or --how kill")

    def fail(self, node: str, how: str) -> None:
        plan.node_index(self.spec, node)
        if how not in FAULTS:
            raise LabError(f"--how {how!r}: want one of {', '.join(FAULTS)}")
        faults = self.state.nodes[node].faults
        if how in faults:
            raise LabError(f"{node} is already failed by {how}")
        unfinished: Optional[str] = None
        if how == "link":
            self._need_netns("--how link")
            network.set_link(self.spec, node, up=False)
        elif how == "partition":
            self._need_netns("--how partition")
            self._set_cuts(set(self.state.cuts) | plan.cut_pairs([[node], [n for n in self.nodes if n != node]]))
        elif how == "hang":
            procs = self.processes(node)
            if not procs:
                raise LabError(f"{node}: the stack is not running")
            host.signal_all(procs, signal.SIGSTOP)
            # so the caller sees the node hung on return; the fault is recorded either way
            unfinished = None if host.wait_stopped(procs, True, 5.0) else "not every process stopped within 5 s"
        elif how == "kill":
            procs = self.processes(node)
            if not procs:
                raise LabError(f"{node}: the stack is not running")
            # frozen first, until the tree stops growing: a launcher forking a daemon as it is
            # killed would leave that child running, orphaned (what the node's services run,
            # outside the stack's tree, keeps running, as after a real crash of the stack)
            frozen: set[tuple[int, int]] = set()
            for _ in range(POWER_OFF_ROUNDS):
                new = [p for p in self.processes(node) if p not in frozen]
                if not new:
                    break
                host.signal_all(new, signal.SIGSTOP)
                frozen.update(new)
            host.signal_all(sorted(frozen), signal.SIGKILL)
            host.wait_gone(sorted(frozen), 5.0)
        if how != "partition":
            faults.append(how)
        self.save()
        if unfinished:
            raise LabError(f"{node}: --how {how}: {unfinished}")

    # -- the power switch (the `external/lab` fence device, lab.pdu) ---------------------------------
    def power_off(self, node: str) -> bool:
        """What a PDU does to a lab node: its link goes down, every process in its namespace is
        killed (the stack and the services it ran), the addresses it took over vanish (only its
        own stays, as after a boot), and its run directory empties (/run is a tmpfs: pid files,
        resource agents' state under HA_RSCTMP, a script resource's "running" mark do not
        outlive a power cycle; the state directory, like /var/lib, does). Returns False when it
        was off already."""
        self._need_netns("powering a node off")
        plan.node_index(self.spec, node)
        s = self.state.nodes[node]
        if "off" in s.faults:
            return False
        network.set_node_iface(self.spec, node, up=False)
        ns = plan.namespace(self.spec, node)
        # a launcher that is forking its daemons when the outlet goes off may fork one after the
        # list was read: that child would outlive the "power-off" (the campaign saw a node's old
        # lrmd keep the node's file system mounted after the node was fenced). Read and kill
        # again until nothing of the node is left (bounded: each round kills what it found).
        for _ in range(POWER_OFF_ROUNDS):
            procs = [p for p in host.netns_pids(ns) + self.processes(node) if p[0] != os.getpid()]
            if not procs:
                break
            host.signal_all(procs, signal.SIGKILL)
            host.wait_gone(procs, 5.0)
        else:
            raise LabError(f"{node}: processes kept appearing in its namespace after {POWER_OFF_ROUNDS} kill rounds")
        network.flush_taken_addresses(self.spec, node)
        rundir = self.paths(node).rundir
        if os.path.isdir(rundir):
            for name in os.listdir(rundir):
                path = os.path.join(rundir, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
        s.faults = [f for f in s.faults if f not in ("hang", "kill")] + ["off"]
        s.pid = s.start = None
        self.save()
        return True

    def power_on(self, node: str, ready_timeout_s: float = READY_TIMEOUT_S, wait: bool = True) -> bool:
        """The node boots: its interface comes back up and its stack starts (wait: until it is
        ready; the power switch does not wait, a PDU only switches the outlet on). Returns False
        when it was on already."""
        plan.node_index(self.spec, node)
        s = self.state.nodes[node]
        if "off" not in s.faults:
            return False
        s.faults.remove("off")
        network.set_node_iface(self.spec, node, up=True)
        self.save()
        self.start_node(node, ready_timeout_s, wait=wait)
        return True

    def partition(self, words: Sequence[str]) -> list[list[str]]:
        self._need_netns("a partition")
        groups = plan.parse_groups(self.spec, words)
        self._set_cuts(set(self.state.cuts) | plan.cut_pairs(groups))
        return groups

    def cut(self, a: str, b: str) -> None:
        """Cut the path between two lab hosts only (both ways), e.g. a node and its ping node. b
        may be `client`: the node then loses the clients' side (what a ping heuristic checks)
        and keeps its cluster links; the node drops what comes from the client, so neither a
        ping nor a TCP connection gets through (ARP still does)."""
        self._need_netns("a cut")
        plan.node_index(self.spec, a)
        if b == "client":
            self._set_cuts(set(self.state.cuts) | {(a, b)})
            return
        plan.node_index(self.spec, b)
        self._set_cuts(set(self.state.cuts) | {(a, b), (b, a)})

    def set_loss(self, node: str, percent: float) -> None:
        self._need_netns("packet loss")
        plan.node_index(self.spec, node)
        if not 0 <= percent <= 100:
            raise LabError(f"loss {percent}%: want 0..100")
        if percent:
            self.state.loss[node] = percent
        else:
            self.state.loss.pop(node, None)
        self._apply_filters([node])

    def _set_cuts(self, cuts: set[tuple[str, str]]) -> None:
        touched = {a for a, _ in set(self.state.cuts) ^ cuts}
        self.state.cuts = sorted(cuts)
        for node in self.nodes:
            cut = {b for a, b in cuts if a == node}
            faults = self.state.nodes[node].faults
            if cut and "partition" not in faults:
                faults.append("partition")
            if not cut and "partition" in faults:
                faults.remove("partition")
        self._apply_filters(sorted(touched))

    def _apply_filters(self, nodes: Iterable[str]) -> None:
        for node in nodes:
            rules = plan.filter_rules(self.spec, node, self.state.cuts, self.state.loss.get(node, 0.0))
            network.apply_filters(self.spec, node, rules)
        self.save()

    def heal(self, node: str, ready_timeout_s: float = READY_TIMEOUT_S) -> list[str]:
        """Undo every fault of one node (its partitions and packet loss included); returns what
        was healed."""
        plan.node_index(self.spec, node)
        s = self.state.nodes[node]
        healed = []
        if "off" in s.faults:
            self.power_on(node, ready_timeout_s)
            healed.append("off")
        if "link" in s.faults:
            network.set_link(self.spec, node, up=True)
            healed.append("link")
        if "hang" in s.faults:
            procs = self.processes(node)
            host.signal_all(procs, signal.SIGCONT)
            host.wait_stopped(procs, False, 5.0)
            healed.append("hang")
        if "kill" in s.faults:
            s.faults.remove("kill")
            s.pid = s.start = None
            self.save()
            self.start_node(node, ready_timeout_s)
            healed.append("kill")
        s.faults = [f for f in s.faults if f == "partition"]
        if any(node in pair for pair in self.state.cuts):
            self._set_cuts({p for p in self.state.cuts if node not in p})
            healed.append("partition")
        if node in self.state.loss:
            self.set_loss(node, 0)
            healed.append("loss")
        self.save()
        return healed

    def heal_all(self) -> dict[str, list[str]]:
        """Undo every fault of every node; returns what was healed per node."""
        was_cut = {a for a, _ in self.state.cuts}
        if was_cut:
            self._set_cuts(set())
        out = {}
        for node in self.nodes:
            healed = self.heal(node) + (["partition"] if node in was_cut else [])
            if healed:
                out[node] = healed
        return out

    # -- running things in a node ---------------------------------------------------------------
    def exec_argv(self, node: str, argv: Sequence[str]) -> list[str]:
        if node != "client":
            plan.node_index(self.spec, node)
        if self.spec.mode != "netns":
            if node == "client":
                raise LabError("a loopback lab has no client namespace")
            return list(argv)
        return host.ns_argv(plan.namespace(self.spec, node), argv)

    def exec(self, node: str, argv: Sequence[str], capture: bool = False,
             timeout_s: Optional[float] = None) -> subprocess.CompletedProcess:
        """Run argv inside the node (its namespace, with PYHB_* pointing at its directories)."""
        if not argv:
            raise LabError("exec: no command given")
        return subprocess.run(self.exec_argv(node, argv), env=stack.node_env(self.spec, node),
                              capture_output=capture, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)

    def answer(self, address: str, port: int) -> Optional[str]:
        """The node name a TCP service at address:port answers with (bench/svc/tcpsvc says "NAME
        ADDR"), asked from the client namespace; None: no answer."""
        argv = self.exec_argv("client", ["socat", "-T1", "-", f"TCP:{address}:{port},connect-timeout=0.5"])
        try:
            out = subprocess.run(argv, input="", capture_output=True, text=True, timeout=5).stdout.strip()
        except subprocess.TimeoutExpired:
            return None
        return out.split()[0] if out else None

    # -- what the nodes see ------------------------------------------------------------------
    def view(self, observer: str, timeout_ms: int = 1000) -> Optional[dict[str, str]]:
        from lab import observe  # (ZeroMQ and the message schema: only for the views; the power
        return observe.view(self.paths(observer), timeout_ms)  # switch and the watchdog start faster)

    def wait_view(self, observers: Iterable[str], subject: str, status: str, timeout_s: float) -> float:
        """Wait until every observer sees subject in status; returns the seconds it took."""
        observers = list(observers)
        return wait_until(lambda: all((self.view(o, 500) or {}).get(subject) == status for o in observers),
                          timeout_s, f"{', '.join(observers)} to see {subject} {status}",
                          lambda: {o: self.view(o, 500) for o in observers})

    def wait_all_see(self, status: str = "active", timeout_s: float = 30.0) -> float:
        """Wait until every running node sees every node (itself included) in status."""
        live = [n for n in self.nodes if self.pid(n) is not None]
        return wait_until(lambda: all(self.view(o, 500) == {n: status for n in self.nodes} for o in live),
                          timeout_s, f"every node to see every node {status}",
                          lambda: {o: self.view(o, 500) for o in live})

    def status(self) -> dict:
        spec = self.spec
        nodes = {}
        for node in self.nodes:
            s = self.state.nodes.get(node, NodeState())
            pid = self.pid(node)
            entry = {"address": plan.address(spec, node), "pid": pid, "faults": list(s.faults),
                     "running": pid is not None, "hung": bool(pid and host.stopped(pid)),
                     "cut_from": sorted(b for a, b in self.state.cuts if a == node),
                     "loss": self.state.loss.get(node, 0.0), "dir": plan.node_dir(spec, node)}
            if spec.mode == "netns":
                entry["namespace"] = plan.namespace(spec, node)
                entry["link_up"] = network.link_up(spec, node) if host.link_exists(plan.host_veth(spec, node)) else False
            entry["view"] = self.view(node, 300) if pid is not None and not entry["hung"] else None
            nodes[node] = entry
        out = {"name": spec.name, "mode": spec.mode, "root": spec.root, "ready": self.state.ready,
               "messaging": "messaging" in stack.expected_daemons(spec, self.nodes[0]),
               "spec": spec.to_dict(), "nodes": nodes}
        if spec.mode == "netns":
            out["client"] = {"namespace": plan.namespace(spec, "client"), "address": plan.address(spec, "client")}
        return out


ANCHOR_PID = "anchor.pid"


def anchor_log(root: str) -> str:
    return os.path.join(root, "anchor.out")


def anchors(root: str) -> list[tuple[int, int]]:
    """The lab's mount anchor if it runs: the pid its file names, writing to the lab's anchor log
    (so that a reused pid is never taken for it)."""
    pid = _pidfile(os.path.join(root, ANCHOR_PID))
    try:
        writes_to = os.readlink(f"/proc/{pid}/fd/1") if pid else ""
    except OSError:
        return []
    start = host.start_time(pid) if pid and writes_to.split(" (deleted)")[0] == anchor_log(root) else None
    return [(pid, start)] if pid and start is not None else []


def sweep(name: str, root: Optional[str] = None) -> list[str]:
    """Remove what a lab of this name left behind when its state file is gone or unreadable:
    processes of its node directories (found through their pid files, and checked to be running
    with that node's run directory), its mount anchor, everything inside its namespaces, the namespaces, its links
    and the root. Only names derived from the lab's own name are touched. Returns what it did."""
    root = root or plan.default_root(name)
    done: list[str] = []
    procs: list[tuple[int, int]] = []
    if os.path.isdir(root):
        for entry in sorted(os.listdir(root)):
            rundir = os.path.join(root, entry, "run")
            pid = _pidfile(os.path.join(rundir, "heartbeat.pid"))
            if pid and rundir in _cmdline(pid):
                procs += host.tree(pid)
        procs += anchors(root)
    namespaces = sorted(ns for ns in host.netns_list() if re.fullmatch(rf"{re.escape(name)}-(node\d+|client)", ns))
    for ns in namespaces:
        procs += host.netns_pids(ns)
    if procs:
        host.kill_all(procs, term_wait_s=2.0)
        done.append(f"stopped pids {sorted({p for p, _ in procs})}")
    links = sorted(ln for ln in os.listdir("/sys/class/net") if re.fullmatch(rf"{re.escape(name)}(br|n\d+|cl)", ln))
    problems = network.destroy(LabSpec(name=name), namespaces, [ln for ln in links if not ln.endswith("br")] +
                               [ln for ln in links if ln.endswith("br")])
    done += [f"removed netns {ns}" for ns in namespaces] + [f"removed link {ln}" for ln in links]
    done += [f"could not remove {p}" for p in problems]
    if os.path.isdir(root) and not problems:
        shutil.rmtree(root, ignore_errors=True)
        done.append(f"removed {root}")
    return done


def _pidfile(path: str) -> Optional[int]:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str,
               detail: Optional[Callable[[], object]] = None, interval_s: float = 0.05) -> float:
    """Poll predicate until it holds (returns the seconds it took) or raise LabError at the deadline."""
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() >= deadline:
            extra = f": {detail()}" if detail is not None else ""
            raise LabError(f"timed out after {timeout_s:g} s waiting for {what}{extra}")
        time.sleep(interval_s)

