"""A whole cluster in one process: every node runs its daemons' real sans-I/O cores (one per
process, built by a `Stack`), wired exactly as the shells wire them, on its own clock (a fixed
random offset from the global manual clock), over the simulated `Network` and a per-node local bus.

The local bus is ZeroMQ's semantics without sockets: `Send(dest=str)` reaches the daemon serving
that socket as `Recv(src=<sender's identity>)`; `Send(dest=bytes)` reaches the client process with
that identity as `Recv(src=<server name>)`. A message for a process that is down is lost (its
clients time out and sign on again, as they must in production); one for a hung process waits in
its socket buffer. Delivery inside a node is immediate and in order: each input is carried to the
end (every message it causes inside the node) before the next timed event.

Everything happens through one heap of timed events (packet arrivals, process timers, scripted
actions), popped in (time, sequence) order, so a run is a pure function of its seed.

Faults: a whole node can `crash` (every process and every resource it ran are gone; what was
`Persist`ed survives on its disk), `start`, `pause`/`resume` (the node hangs: no process runs,
packets wait; its resources keep running); one process can `crash_process` (the supervisor
restarts it `respawn_ms` later, as the launcher does), `pause_process`/`resume_process`. On resume
overdue timers run first, as `core.loop` does, then the backlog.

Observers (`sim.checkers`) see every effect (`on_effect`) and every local delivery (`on_deliver`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

from ccm.events import QuorumChanged, ViewChanged
from core.config.authkeys import AuthKeys, parse_authkeys
from core.messages.hbapi import ClusterMessage
from core.sansio import Log, PeerGone, Persist, Recv, Send, Tick, WallClock, WatchPid
from messaging.events import PacketIn, SendPing, Transmit
from sim.checkers import Checker
from sim.network import Network
from sim.trace import Trace

KEYS = parse_authkeys("auth 1\n1 sha1 simulated-cluster\n")
LINK = "eth0"
WALL_BASE_S = 1_700_000_000
PACKET, TIMER, ACTION = 0, 1, 2
CASCADE_LIMIT = 200_000  # inputs one event may cause inside a node: more is a ping-pong bug
DEFAULT_RESPAWN_MS = 1000



class _Gone:
    """A watched process ended: becomes `PeerGone(peer)` when its watcher steps it, unless the
    watcher placed a newer watch on that peer meanwhile (`Cluster.watch_serial`)."""

    __slots__ = ("peer", "key", "serial")

    def __init__(self, peer: object, key: tuple, serial: int) -> None:
        self.peer, self.key, self.serial = peer, key, serial

class Rng(Protocol):
    def random(self) -> float: ...

    def randint(self, a: int, b: int) -> int: ...


@dataclass(frozen=True)
class Timing:
    keepalive_ms: int = 100
    deadtime_ms: int = 500
    warntime_ms: int = 300
    initdead_ms: int = 1000


@dataclass
class SimProcess:
    name: str
    core: Any = None
    up: bool = False
    paused: bool = False
    incarnation: int = 0
    identity: bytes = b""
    wake_ms: Optional[int] = None  # global time of its pending timer event
    backlog: list = field(default_factory=list)
    restart_due: bool = False


@dataclass
class SimNode:
    name: str
    offset_ms: int
    up: bool = False
    paused: bool = False
    epoch: int = 0
    disk: dict = field(default_factory=dict)  # what was persisted: survives crashes
    procs: dict = field(default_factory=dict)  # name -> SimProcess, in start order
    state: dict = field(default_factory=dict)  # per-node simulation state of a stack (agents, ...)

    # -- the old single-stack attributes, still read by tests and tools ----------------------------
    @property
    def hb(self):
        proc = self.procs.get("messaging")
        return proc.core.machine if proc is not None and proc.up else None

    @property
    def ccm(self):
        proc = self.procs.get("ccm")
        return proc.core.machine if proc is not None and proc.up and proc.core is not None else None

    @property
    def generation(self) -> int:
        return int(self.disk.get("hb_generation", 0))

    @property
    def incarnation(self) -> int:
        return int(self.disk.get("ccm_incarnation", 0))


class Stack(Protocol):
    """What runs on each node: process names in start order, and how to build each core."""

    processes: tuple[str, ...]

    def build(self, cluster: "Cluster", node: SimNode, proc: SimProcess, local_ms: int) -> Any: ...

    def handlers(self) -> dict[type, Callable[["Cluster", SimNode, SimProcess, Any], None]]: ...


class Cluster:
    def __init__(self, names: list[str], rng: Rng, timing: Timing = Timing(), network: Optional[Network] = None,
                 trace: Optional[Trace] = None, keys: AuthKeys = KEYS, two_node: Optional[bool] = None,
                 ccm_factory: Optional[Callable[..., Any]] = None, stack: Optional[Stack] = None,
                 respawn_ms: int = DEFAULT_RESPAWN_MS) -> None:
        """ccm_factory: builds each node's ccm protocol core (tests pass deliberately broken
        variants to show the checkers catch them); stack: what runs on a node (default:
        messaging + ccm)."""
        from sim.stacks import MembershipObserver, MembershipStack, StateDecoder

        self.names = list(names)
        self.rng = rng
        self.timing = timing
        self.keys = keys
        self.network = network or Network(self.names, rng)
        self.trace = trace or Trace()
        self.two_node = two_node
        self.respawn_ms = respawn_ms
        self.verbose = False  # trace info lines too (hb sim crm --verbose)
        self.resuming = False  # a hung node's processes are running their overdue timers
        self.now_ms = 0
        self.nodes = {name: SimNode(name, rng.randint(0, 1_000_000)) for name in self.names}
        self.checker = Checker(self.names, two_node if two_node is not None else len(self.names) == 2)
        self.observers: list[Any] = [self.checker]
        self.stack: Stack = stack if stack is not None else MembershipStack(ccm_factory)
        self.handlers: dict[type, Callable[[Cluster, SimNode, SimProcess, Any], None]] = {
            Transmit: _transmit, SendPing: _ignore, ViewChanged: _view, QuorumChanged: _view}
        self.handlers.update(self.stack.handlers())
        self.observers.append(MembershipObserver(getattr(self.stack, "state_decoder", None) or StateDecoder()))
        self.heap: list = []
        self._seq = 0
        self.steps = 0
        self.watchers: dict[tuple[str, object], list[str]] = {}  # (node, identity or daemon name) -> watchers
        # (node, watched, watcher) -> how many watches the watcher placed on it: a PeerGone is
        # dropped if the watcher watched that peer again since it ended (core.driver drops the
        # event of a pidfd it replaced the same way), e.g. a paused crmd that learned of the new
        # ccm before it read the old one's end from its backlog
        self.watch_serial: dict[tuple[str, object, str], int] = {}

    # -- scheduling ------------------------------------------------------------------------------
    def _push(self, at_ms: int, kind: int, payload: object) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (at_ms, self._seq, kind, payload))

    def at(self, at_ms: int, action: Callable[[], None]) -> None:
        self._push(at_ms, ACTION, action)

    def run_until(self, end_ms: int) -> None:
        heap = self.heap
        while heap and heap[0][0] <= end_ms:
            at_ms, _, kind, payload = heapq.heappop(heap)
            self.now_ms = at_ms
            if kind == PACKET:
                dst, data = payload  # type: ignore[misc]
                node = self.nodes[dst]
                proc = node.procs.get("messaging")
                if node.up and proc is not None and proc.up:
                    self.deliver(node, proc, PacketIn(LINK, data))
            elif kind == TIMER:
                name, pname, epoch, incarnation = payload  # type: ignore[misc]
                node = self.nodes[name]
                proc = node.procs.get(pname)
                if (node.up and node.epoch == epoch and proc is not None and proc.up and not proc.paused
                        and not node.paused and proc.incarnation == incarnation and proc.wake_ms == at_ms):
                    proc.wake_ms = None
                    self.deliver(node, proc, Tick())
            else:
                payload()  # type: ignore[operator]
        self.now_ms = max(self.now_ms, end_ms)

    def local(self, node: SimNode) -> int:
        return self.now_ms + node.offset_ms

    def _rearm(self, node: SimNode, proc: SimProcess) -> None:
        if not proc.up or proc.paused or node.paused:
            return
        deadline = proc.core.next_deadline_ms()
        if deadline is None:
            proc.wake_ms = None
            return
        at_ms = max(self.now_ms, deadline - node.offset_ms)
        if proc.wake_ms != at_ms:
            proc.wake_ms = at_ms
            self._push(at_ms, TIMER, (node.name, proc.name, node.epoch, proc.incarnation))

    # -- the local bus ---------------------------------------------------------------------------
    def deliver(self, node: SimNode, proc: SimProcess, event: object) -> None:
        """Feed one input to a process and carry everything it causes inside the node."""
        work: list[tuple[SimProcess, object]] = [(proc, event)]
        touched: dict[str, SimProcess] = {}
        index = 0
        while index < len(work):
            target, item = work[index]
            index += 1
            assert index < CASCADE_LIMIT, f"{node.name}: local messages never end (last: {item!r})"
            if not target.up or not node.up:
                continue
            if target.paused or node.paused:
                target.backlog.append(item)
                continue
            if type(item) is _Gone:
                if self.watch_serial.get(item.key, 0) != item.serial:
                    continue  # watched again since: the shell would have dropped this pidfd's event
                item = PeerGone(item.peer)
            for observer in self.observers:
                on_deliver = getattr(observer, "on_deliver", None)
                if on_deliver is not None:
                    on_deliver(self, node, target, item)
            self.steps += 1
            effects = target.core.step(self.local(node), item)
            touched[target.name] = target
            for effect in effects:
                self._effect(node, target, effect, work)
        for touched_proc in touched.values():
            self._rearm(node, touched_proc)
        if not self.resuming:
            for observer in self.observers:  # invariants over several processes: once they all moved
                settled = getattr(observer, "after_cascade", None)
                if settled is not None:
                    settled(self)

    def inject(self, node: SimNode, proc: SimProcess, effects: list) -> None:
        """Carry out effects as if proc had produced them (a shell answering for its core)."""
        work: list = []
        for effect in effects:
            self._effect(node, proc, effect, work)
        for target, item in work:
            self.deliver(node, target, item)

    def _effect(self, node: SimNode, proc: SimProcess, effect: Any, work: list) -> None:
        kind = type(effect)
        for observer in self.observers:
            on_effect = getattr(observer, "on_effect", None)
            if on_effect is not None:
                on_effect(self, node, proc, effect)
        if kind is Send:
            dest = effect.dest
            if isinstance(dest, str):
                server = node.procs.get(dest)
                if server is not None and server.up:
                    work.append((server, Recv(proc.identity, effect.msg)))
            else:
                for client in node.procs.values():
                    if client.identity == dest:
                        if client.up:
                            work.append((client, Recv(proc.name, effect.msg)))
                        break
        elif kind is Log:
            if self.verbose or effect.level not in ("info", "debug"):
                self.trace.add(self.now_ms, node.name, f"{proc.name} {effect.level}: {effect.text}")
        elif kind is Persist:
            node.disk[effect.name] = effect.value
        elif kind is WatchPid:
            self.watchers.setdefault((node.name, effect.peer), []).append(proc.name)
            key = (node.name, effect.peer, proc.name)
            self.watch_serial[key] = self.watch_serial.get(key, 0) + 1
        else:
            handler = self.handlers.get(kind)
            assert handler is not None, f"{node.name}/{proc.name}: no simulator handler for {effect!r}"
            handler(self, node, proc, effect)

    # -- processes -------------------------------------------------------------------------------
    def start_process(self, node: SimNode, pname: str) -> None:
        proc = node.procs.setdefault(pname, SimProcess(pname))
        if proc.up:
            return
        proc.incarnation += 1
        proc.identity = f"{pname}#{proc.incarnation}".encode()
        proc.up, proc.paused, proc.backlog, proc.wake_ms, proc.restart_due = True, False, [], None, False
        local = self.local(node)
        proc.core = self.stack.build(self, node, proc, local)
        self.deliver(node, proc, WallClock(WALL_BASE_S * 1000 - node.offset_ms))  # clocks in sync (NTP)
        self.deliver(node, proc, Tick())
        started = getattr(self.stack, "started", None)
        if started is not None:
            started(self, node, proc)

    def crash_process(self, name: str, pname: str, respawn: bool = True) -> None:
        node = self.nodes[name]
        proc = node.procs.get(pname)
        if not node.up or proc is None or not proc.up:
            return
        self.trace.add(self.now_ms, name, f"CRASH process {pname}")
        self._process_down(node, proc)
        if respawn:
            proc.restart_due = True
            epoch = node.epoch

            def respawn_it() -> None:
                if node.up and node.epoch == epoch and not proc.up and proc.restart_due:
                    self.trace.add(self.now_ms, name, f"RESPAWN process {pname}")
                    self.start_process(node, pname)
                    self._running_changed(node)
            self.at(self.now_ms + self.respawn_ms, respawn_it)
        self._running_changed(node)

    def _process_down(self, node: SimNode, proc: SimProcess) -> None:
        identity = proc.identity
        proc.up, proc.paused, proc.backlog, proc.wake_ms, proc.core = False, False, [], None, None
        # watched as a client (by its identity) or as a daemon (by its name)
        for peer in (identity, proc.name):
            watchers = self.watchers.pop((node.name, peer), [])
            if not watchers:
                continue
            delay = self.rng.randint(1, 5)  # the shells watch a pidfd: told at once, give or take a wake-up
            epoch = node.epoch

            serials = {w: self.watch_serial.get((node.name, peer, w), 0) for w in watchers}

            def tell(peer=peer, watchers=watchers, serials=serials) -> None:
                if node.up and node.epoch == epoch:
                    for wname in watchers:
                        watcher = node.procs.get(wname)
                        if watcher is not None and watcher.up:
                            self.deliver(node, watcher, _Gone(peer, (node.name, peer, wname), serials[wname]))
            self.at(self.now_ms + delay, tell)

    def pause_process(self, name: str, pname: str) -> None:
        node = self.nodes[name]
        proc = node.procs.get(pname)
        if not node.up or proc is None or not proc.up or proc.paused:
            return
        proc.paused = True
        self.trace.add(self.now_ms, name, f"PAUSE process {pname}")
        self._running_changed(node)

    def resume_process(self, name: str, pname: str) -> None:
        node = self.nodes[name]
        proc = node.procs.get(pname)
        if not node.up or proc is None or not proc.up or not proc.paused:
            return
        proc.paused = False
        self.trace.add(self.now_ms, name, f"RESUME process {pname} ({len(proc.backlog)} inputs waiting)")
        if not node.paused:
            self._wake(node, proc)
        self._running_changed(node)

    def _wake(self, node: SimNode, proc: SimProcess) -> None:
        proc.wake_ms = None
        backlog, proc.backlog = proc.backlog, []
        self.deliver(node, proc, Tick())  # overdue timers first, as core.loop does
        for item in backlog:
            self.deliver(node, proc, item)
        self._rearm(node, proc)

    # -- node lifecycle and faults ---------------------------------------------------------------
    def start(self, name: str) -> None:
        node = self.nodes[name]
        assert not node.up
        node.epoch += 1
        node.up, node.paused = True, False
        self.trace.add(self.now_ms, name, "START")
        for observer in self.observers:
            started = getattr(observer, "node_started", None)
            if started is not None:
                started(self, node)
        for pname in self.stack.processes:
            self.start_process(node, pname)
        self._running_changed(node)

    def crash(self, name: str, how: str = "CRASH") -> None:
        """The node goes down at once, every process with it (`how`: what the trace says; a
        clean shutdown ends this way too, once its stack has said goodbye)."""
        node = self.nodes[name]
        if not node.up:
            return
        for proc in node.procs.values():
            if proc.up:
                proc.up, proc.paused, proc.backlog, proc.wake_ms, proc.core = False, False, [], None, None
        node.up, node.paused = False, False
        node.epoch += 1
        self.watchers = {k: v for k, v in self.watchers.items() if k[0] != name}
        self.watch_serial = {k: v for k, v in self.watch_serial.items() if k[0] != name}
        self.trace.add(self.now_ms, name, how)
        for observer in self.observers:
            crashed = getattr(observer, "node_crashed", None)
            if crashed is not None:
                crashed(self, node)
        self._running_changed(node)

    def pause(self, name: str) -> None:
        node = self.nodes[name]
        if not node.up or node.paused:
            return
        node.paused = True
        self.trace.add(self.now_ms, name, "PAUSE (hung)")
        self._running_changed(node)

    def resume(self, name: str) -> None:
        node = self.nodes[name]
        if not node.up or not node.paused:
            return
        node.paused = False
        waiting = sum(len(p.backlog) for p in node.procs.values())
        self.trace.add(self.now_ms, name, f"RESUME ({waiting} inputs waiting)")
        order = [node.procs[p] for p in self.stack.processes if p in node.procs]
        self.resuming = True  # they all resume at once: check invariants once all ran their timers
        try:
            for proc in order:  # every process runs its overdue timers before anything it missed
                if proc.up and not proc.paused:
                    proc.wake_ms = None
                    self.deliver(node, proc, Tick())
        finally:
            self.resuming = False
        for proc in order:
            if proc.up and not proc.paused:
                backlog, proc.backlog = proc.backlog, []
                for item in backlog:
                    self.deliver(node, proc, item)
                self._rearm(node, proc)
        self._running_changed(node)

    def pause_ccm(self, name: str) -> None:
        """Only the node's ccm process hangs (SIGSTOP): messaging keeps the node alive."""
        self.pause_process(name, "ccm")

    def resume_ccm(self, name: str) -> None:
        self.resume_process(name, "ccm")

    def process_running(self, node: SimNode, pname: str) -> bool:
        proc = node.procs.get(pname)
        return node.up and not node.paused and proc is not None and proc.up and not proc.paused

    def running(self) -> dict[str, int]:
        """Nodes whose membership stack runs (not crashed, not hung): name -> ccm incarnation."""
        out = {}
        for n in self.nodes.values():
            if self.process_running(n, "messaging") and self.process_running(n, "ccm"):
                machine = n.ccm
                if machine is not None:
                    out[n.name] = machine.inc
        return out

    def _running_changed(self, node: SimNode) -> None:
        running = self.process_running(node, "messaging") and self.process_running(node, "ccm") \
            and node.ccm is not None
        self.checker.set_running(node.name, running, self.now_ms)
        for observer in self.observers:
            changed = getattr(observer, "running_changed", None)
            if changed is not None:
                changed(self, node)


# -- effect handlers shared by every stack -------------------------------------------------------
def _transmit(cluster: Cluster, node: SimNode, proc: SimProcess, effect: Transmit) -> None:
    for dst, delay in cluster.network.plan(node.name):
        cluster._push(cluster.now_ms + delay, PACKET, (dst, effect.packet))


def _ignore(cluster: Cluster, node: SimNode, proc: SimProcess, effect: Any) -> None:
    return None


def _view(cluster: Cluster, node: SimNode, proc: SimProcess, effect: Any) -> None:
    info = effect.view
    if type(effect) is ViewChanged:
        cluster.trace.add(cluster.now_ms, node.name, f"VIEW {info.instance} {{{', '.join(info.members)}}} "
                          f"quorum={'yes' if info.quorum else 'no'}")
        cluster.checker.installed(node.name, info, cluster.now_ms)
    else:
        cluster.trace.add(cluster.now_ms, node.name, f"quorum {'gained' if info.quorum else 'lost'} "
                          f"in {info.instance}")
        cluster.checker.quorum_changed(node.name, info, cluster.now_ms)
    for observer in cluster.observers:
        changed = getattr(observer, "view_changed", None)
        if changed is not None:
            changed(cluster, node)


def is_ccm_state(event: object) -> bool:
    return type(event) is Recv and type(event.msg) is ClusterMessage and event.msg.msgtype == "ccm"  # type: ignore[attr-defined]


class SubRng:
    """A small deterministic generator for one core (a linear congruential sequence), so cores
    never share the cluster RNG's stream and never need the random module."""

    def __init__(self, seed: int) -> None:
        self.state = seed or 1

    def _next(self) -> int:
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return self.state >> 33

    def random(self) -> float:
        return self._next() / float(1 << 31)

    def randint(self, a: int, b: int) -> int:
        return a + self._next() % (b - a + 1)
