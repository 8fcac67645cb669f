"""One seeded run of the whole stack: start N nodes, let the cluster place its resources, inject
random faults, heal, and check the CRM invariants after every step and the settled state at the
end (sim.crm has the invariants).

Timeline (keepalive 100 ms, deadtime 500 ms):
  0 .. 100 ms          nodes start at random times
  until 2500 ms        the cluster forms (quorum comes one lease after start) and starts resources
  2500 .. 6500 ms      1-4 faults, overlapping
  heal = 6500 ms       links restored, hung nodes resumed, crashed nodes restarted (p = 0.8)
  heal + bound         settled: one view of the running nodes, the DC idle, every CIB replica
                       identical, nothing left to schedule, every resource where the CIB says
  then                 still settled 1000 ms later, with no action run in between

Fault kinds: crash (a node; restarted later, at heal, or never), partition (2 or 3 sides),
oneway (some directed links cut), loss (10-60 %), pause (a node hangs 50 ms .. 3 s), proc (one
daemon crashes and is respawned 1 s later, as the launcher does), rscdie (a running resource
dies; its monitor finds it), startfail (the next start of a resource on a node fails),
stophang (with fencing only: the next stop of a resource on a node hangs until the lrmd kills it).
nic (a node's NIC loses its carrier: every link cut, and the node sees its own interface down).
Two-node clusters get only crash, proc (not of the lrmd or crmd when NIC failures are planned
too: a node cut off while one of them is down cannot stop what it runs in time, the case fencing
covers),
rscdie, startfail and nic: both halves of a two-node
cluster split by the network between them keep quorum, and only fencing (a later issue) keeps
them from both running a resource; a node that loses its own NIC or its own messaging or ccm
stops what it runs first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol

from sim import agents
from sim import fencing as simfence
from sim.checkers import Violation
from sim.cluster import Timing
from sim.crm import (WATCHDOG_FENCING_MS, crash_daemon, crm_cluster, crmd_of, request_admin, request_stop, set_nic,
                     settle_problem)
from sim.membership import plan_network_fault
from sim.network import Network
from sim.trace import Trace

FAULT_KINDS = ("crash", "partition", "oneway", "loss", "pause", "proc", "rscdie", "startfail", "nic", "stophang",
               "stop", "admin")
FENCING_ONLY_KINDS = ("stophang",)  # a node that cannot stop what it runs: only fencing gets it off
TWO_NODE_KINDS = ("crash", "proc", "rscdie", "startfail", "nic", "stop", "admin")
START_WINDOW_MS = 100
FORM_MS = 2500
FAULT_WINDOW_MS = 4000
STABLE_MS = 1000
CHECK_EVERY_MS = 50
RESOURCES = ("ip", "svc", "db", "mail")


class Rng(Protocol):
    def random(self) -> float: ...

    def randint(self, a: int, b: int) -> int: ...

    def choice(self, seq): ...

    def sample(self, population, k: int): ...

    def shuffle(self, x) -> None: ...


def bound_ms(timing: Timing, fencing: bool = False, watchdog_nodes: int = 0) -> int:
    """How long after heal the cluster must be settled: the membership bound (deadtime + 2 x
    deadtime), a join round, the restart of a crashed daemon (1 s), a monitor interval (1 s) to
    notice a resource that died meanwhile, and a few transitions of agent runs; with fencing, a
    hung stop's timeout (2 s + the kill grace) and a fencing (its delay, up to 1 s, the device).
    With watchdog fencing (`watchdog_nodes`: the cluster's size) each fencing takes
    stonith-watchdog-timeout, one after the other, and every other node may need one: a whole
    cluster stopped and started again with some nodes left down fences those it never saw
    (startup-fencing), 11.5 s after heal at 5 nodes (seeds 20623, 30203, 10119)."""
    watchdog = max(0, watchdog_nodes - 2) * WATCHDOG_FENCING_MS
    return 3 * timing.deadtime_ms + 4000 + (4000 if fencing else 0) + watchdog


@dataclass
class CrmRunResult:
    seed: int
    nodes: int
    mode: str
    ok: bool
    faults: list[str]
    violation: Optional[str] = None
    settled_ms: Optional[int] = None  # after heal
    transitions: int = 0
    invokes: int = 0
    steps: int = 0
    trace: str = ""
    placement: dict = field(default_factory=dict)
    fenced: int = 0  # nodes powered off by a (simulated) fence device
    starts_checked: int = 0  # starts the "never two owners" check looked at

    def line(self) -> str:
        status = "ok" if self.ok else "VIOLATION"
        settled = f"settled {self.settled_ms} ms after heal" if self.settled_ms is not None else "not settled"
        fenced = f", {self.fenced} fenced" if "+" in self.mode else ""
        return (f"seed {self.seed} nodes {self.nodes} {self.mode} {status}: {settled}; {self.transitions} transitions, "
                f"{self.invokes} actions{fenced}, {self.steps} steps; faults: {'; '.join(self.faults) or 'none'}")


def plan_faults(cluster, rng: Rng, kinds: tuple[str, ...], start_ms: int, heal_ms: int, timing: Timing,
                fencing: bool = False) -> list[str]:
    names = cluster.names
    described: list[str] = []
    if not fencing:
        kinds = tuple(k for k in kinds if k not in FENCING_ONLY_KINDS)
    if len(names) == 2 and not fencing:
        kinds = tuple(k for k in kinds if k in TWO_NODE_KINDS)
    if not kinds:
        return described
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(kinds)
        start = rng.randint(start_ms, heal_ms - 200)
        end = min(heal_ms, start + rng.randint(100, 3 * timing.deadtime_ms))
        network_fault = plan_network_fault(cluster, rng, kind, start, end, partition_span=(200, 2500, heal_ms))
        if network_fault is not None:
            described.append(network_fault)
        elif kind == "crash":
            victim = rng.choice(names)
            choice = rng.random()
            restart: Optional[int] = end if choice < 0.5 else (heal_ms if choice < 0.8 else None)
            described.append(f"crash {victim} at {start}, restart {restart if restart is not None else 'never'}")
            cluster.at(start, lambda v=victim: cluster.crash(v))
            if restart is not None:
                cluster.at(restart, lambda v=victim: cluster.nodes[v].up or cluster.start(v))
        elif kind == "pause":
            victim = rng.choice(names)
            end = min(heal_ms, start + rng.randint(50, 3000))
            described.append(f"pause {victim} at {start}-{end}")
            cluster.at(start, lambda v=victim: cluster.pause(v))
            cluster.at(end, lambda v=victim: cluster.resume(v))
        elif kind == "proc":
            victim = rng.choice(names)
            # (a node that loses its messaging or ccm stops what it runs before the others, which
            # see it dead, take over: two-node clusters too)
            pname = rng.choice(cluster.stack.processes)  # (stonithd too when the cluster fences)
            if len(names) == 2 and pname in ("lrmd", "crmd") and "nic" in kinds and not fencing:
                # a node cut off while its lrmd or crmd is down cannot stop what it runs before its
                # peer takes over: two faults at once that only fencing covers in a two-node cluster
                pname = "tengine"
            described.append(f"{pname} of {victim} crashes at {start}")
            cluster.at(start, lambda v=victim, p=pname: crash_daemon(cluster, v, p))
        elif kind == "nic":
            victim = rng.choice(names)
            end = min(heal_ms, start + rng.randint(100, 3 * timing.deadtime_ms))
            described.append(f"NIC of {victim} down at {start}-{end}")
            cluster.at(start, lambda v=victim: set_nic(cluster, v, False))
            cluster.at(end, lambda v=victim: set_nic(cluster, v, True))
        elif kind == "rscdie":
            rsc = rng.choice(RESOURCES)
            described.append(f"{rsc} dies wherever it runs at {start}")

            def die(r: str = rsc) -> None:
                for node in agents.active_nodes(cluster, r):
                    agents.kill_resource(cluster, node, r)
            cluster.at(start, die)
        elif kind == "stop":
            # graceful stops (`hb -k`): one node, or several within a few hundred ms (a whole
            # cluster stopped at once: DC changes while stops are under way)
            victims = rng.sample(names, rng.randint(1, len(names)))
            offsets = [rng.randint(0, 300) for _ in victims]
            described.append("graceful stop of " + ", ".join(f"{v} at {start + o}" for v, o in zip(victims, offsets)))
            for victim, offset in zip(victims, offsets):
                cluster.at(start + offset, lambda v=victim: request_stop(cluster, v))
        elif kind == "admin":
            # an operator's tool sets permanent node attributes, on the DC of the moment or on
            # another node, one or a few within a second (while the other faults go on)
            count = rng.randint(1, 3)
            for index in range(count):
                at = min(heal_ms - 1, start + rng.randint(0, 1000))
                origin = None if rng.random() < 0.5 else rng.choice(names)
                target = rng.choice(names)
                described.append(f"tool on {origin or 'the DC'} sets an attribute of {target} at {at}")
                cluster.at(at, lambda o=origin, t=target: request_admin(cluster, o, t))
        elif kind == "stophang":
            victim = rng.choice(names)
            rsc = rng.choice(RESOURCES)
            described.append(f"the next stop of {rsc} on {victim} hangs (planted at {start})")
            cluster.at(start, lambda v=victim, r=rsc: agents.hang_next(cluster, v, r, "stop"))
        elif kind == "startfail":
            victim = rng.choice(names)
            rsc = rng.choice(RESOURCES)
            rc = rng.choice((1, 5, 6))
            described.append(f"the next start of {rsc} on {victim} fails with rc {rc} (planted at {start})")
            cluster.at(start, lambda v=victim, r=rsc, c=rc: agents.fail_next(cluster, v, r, "start", c))
    return described


def heal_all(cluster, rng: Rng, restart_probability: float = 0.8) -> None:
    for node in cluster.nodes.values():
        if node.state.get("nic_down"):
            set_nic(cluster, node.name, True)
    cluster.network.heal()
    cluster.trace.add(cluster.now_ms, "-", "HEAL: network restored")
    for node in cluster.nodes.values():
        if node.up and node.paused:
            cluster.resume(node.name)
    for node in cluster.nodes.values():
        if not node.up and rng.random() < restart_probability:
            cluster.start(node.name)


def run_crm_seed(seed: int, nodes: int, rng: Rng, kinds: tuple[str, ...] = FAULT_KINDS, mode: str = "",
                 timing: Timing = Timing(), trace_limit: int = 4000, keep_trace: bool = False,
                 crmd_factory=None, tengine_factory=None, verbose: bool = False, fencing: bool = False,
                 stonith_factory=None, watchdog: bool = False, watchdog_factory=None) -> CrmRunResult:
    """rng: a fresh random.Random(seed). mode: crm | haresources ('' = by seed). fencing: stonithd
    and a simulated fence device on every node; every fault kind in two-node clusters too.
    watchdog: no fence device but watchdog fencing (stonith-watchdog-timeout; a simulated watchdog
    per node fed by the launcher's core; crm mode, three nodes or more)."""
    mode = mode or ("haresources" if seed % 3 == 2 else "crm")
    if watchdog:
        mode, fencing = "crm", True
    names = [f"node{i}" for i in range(1, nodes + 1)]
    trace = Trace(trace_limit)
    network = Network(names, rng)
    extra = {}
    if crmd_factory is not None:
        extra["crmd_factory"] = crmd_factory
    if tengine_factory is not None:
        extra["tengine_factory"] = tengine_factory
    if stonith_factory is not None:
        extra["stonith_factory"] = stonith_factory
    if watchdog_factory is not None:
        extra["watchdog_factory"] = watchdog_factory
    cluster, checker = crm_cluster(names, rng, timing, network, trace, mode=mode, fencing=fencing and not watchdog,
                                   watchdog=watchdog, **extra)
    cluster.verbose = verbose
    heal_ms = FORM_MS + FAULT_WINDOW_MS
    for name in names:
        cluster.at(rng.randint(0, START_WINDOW_MS), lambda n=name: cluster.nodes[n].up or cluster.start(n))
    faults = plan_faults(cluster, rng, kinds, FORM_MS, heal_ms, timing, fencing=fencing)
    for text in faults:
        trace.add(0, "-", f"planned: {text}")
    result = CrmRunResult(seed, nodes, mode + ("+watchdog" if watchdog else "+fencing" if fencing else ""), True,
                          faults)
    deadline = heal_ms + bound_ms(timing, fencing, nodes if watchdog else 0)
    try:
        cluster.run_until(heal_ms - 1)
        cluster.at(heal_ms, lambda: heal_all(cluster, rng))
        now = heal_ms
        settled_at: Optional[int] = None
        invokes_then = 0
        problem: Optional[str] = "not checked"
        while True:
            now += CHECK_EVERY_MS
            cluster.run_until(now)
            problem = settle_problem(cluster)
            if problem is None:
                if settled_at is None:
                    settled_at, invokes_then = now, checker.invokes
                elif now - settled_at >= STABLE_MS:
                    if checker.invokes != invokes_then:
                        raise Violation(f"flapping: {checker.invokes - invokes_then} actions ran after "
                                        f"the cluster had settled at {settled_at - heal_ms} ms after heal")
                    break
            else:
                settled_at = None
                if now >= deadline:
                    raise Violation(f"not settled {deadline - heal_ms} ms after heal: {problem}")
        result.settled_ms = settled_at - heal_ms
        result.placement = agents.where(cluster)
    except Violation as exc:
        result.ok = False
        result.violation = f"at {cluster.now_ms} ms: {exc}"
        trace.add(cluster.now_ms, "-", f"VIOLATION {exc}")
        result.trace = trace.render()
    if keep_trace and not result.trace:
        result.trace = trace.render()
    result.fenced = len([f for f in simfence.devices(cluster).fenced_log if f[3] != "on"]) if fencing else 0
    result.starts_checked = checker.starts_checked
    result.transitions = checker.transitions
    result.invokes = checker.invokes
    result.steps = cluster.steps
    return result


def dc_names(cluster) -> list[str]:
    out = []
    for name in cluster.names:
        crmd = crmd_of(cluster, name)
        if crmd is not None and crmd.is_dc:
            out.append(name)
    return out
