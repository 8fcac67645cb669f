"""One seeded membership run: start N nodes (staggered), inject random faults for a while, heal
everything, and check the invariants after every step and convergence at the end.

Timeline of a run (keepalive 100 ms, deadtime 500 ms):
  0 .. 100 ms                      nodes start at random times
  100 .. 900 ms                    1-4 faults (kinds below), overlapping, random durations
  heal = 900 ms                    links restored, hung nodes resumed, crashed nodes restarted
                                   (each with probability 0.8; the others stay down)
  heal + deadtime + bound          every running node must report one view of exactly the running
  (bound = 2 x deadtime)           nodes, with the quorum the votes give
  then                             nothing may change for 500 ms (more than a lease: no
                                   flapping); the run ends after those 500 ms

Fault kinds (`--faults`): partition (2 or 3 sides), oneway (some directed links cut: A hears B,
B does not hear A), loss (10-60% on some links), crash (restart later, at heal, or never), pause
(a hung node, 50 ms .. 3 x deadtime), ccmhang (only the node's ccm hangs; its messaging
runs on), jitter (0-80 ms extra latency: reordering), dup
(duplicated packets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol

from sim.checkers import Violation
from sim.cluster import Cluster, Timing
from sim.network import Network
from sim.trace import Trace

FAULT_KINDS = ("partition", "oneway", "loss", "crash", "pause", "ccmhang", "jitter", "dup")
START_WINDOW_MS = 100
FAULT_WINDOW_MS = 800
STABLE_MS = 500
CHECK_EVERY_MS = 25


class Rng(Protocol):
    def random(self) -> float: ...

    def randint(self, a: int, b: int) -> int: ...

    def choice(self, seq): ...

    def sample(self, population, k: int): ...

    def shuffle(self, x) -> None: ...


def bound_ms(timing: Timing) -> int:
    """How long after heal + deadtime every node must agree on the merged view (with its quorum).
    Detection takes up to a deadtime; the rest is the messaging layer recovering what was lost
    around the heal (a retransmission can wait for two request rounds, in each direction of a
    promise's round trip) and a few ccm round trips: observed at most 994 ms after heal in
    100,000 seeds; the bound checked is two deadtimes."""
    return 2 * timing.deadtime_ms


@dataclass
class RunResult:
    seed: int
    nodes: int
    ok: bool
    faults: list[str]
    violation: Optional[str] = None
    converged_ms: Optional[int] = None  # after heal
    views: int = 0
    steps: int = 0
    packets: int = 0
    trace: str = ""
    extra: dict = field(default_factory=dict)

    def line(self) -> str:
        status = "ok" if self.ok else "VIOLATION"
        converged = f"converged {self.converged_ms} ms after heal" if self.converged_ms is not None else "not converged"
        return (f"seed {self.seed} nodes {self.nodes} {status}: {converged}; {self.views} views installed, "
                f"{self.steps} steps, {self.packets} packets; faults: {'; '.join(self.faults) or 'none'}")


def plan_network_fault(cluster: Cluster, rng: Rng, kind: str, start: int, end: int,
                       partition_span: Optional[tuple[int, int, int]] = None) -> Optional[str]:
    """Schedule a partition (2 or 3 sides), one-way cuts or loss from start to end; returns its
    description, or None for a kind that is not a network fault. partition_span (low, high,
    latest): a partition lasts low..high ms instead, ending by `latest` (drawn after its sides)."""
    names = cluster.names
    network = cluster.network
    if kind == "partition" and len(names) >= 2:
        shuffled = list(names)
        rng.shuffle(shuffled)
        sides = 2 if len(names) < 4 or rng.random() < 0.7 else 3
        cuts = sorted(rng.sample(range(1, len(names)), sides - 1))
        groups = [shuffled[i:j] for i, j in zip([0] + cuts, cuts + [len(names)])]
        if partition_span is not None:
            low, high, latest = partition_span
            end = min(latest, start + rng.randint(low, high))
        cluster.at(start, lambda g=groups: network.partition(g))
        cluster.at(end, lambda g=groups: _unpartition(network, g))
        return f"partition {' | '.join(','.join(sorted(g)) for g in groups)} at {start}-{end}"
    links = [(a, b) for a in names for b in names if a != b]
    if kind == "oneway":
        chosen = rng.sample(links, rng.randint(1, max(1, len(links) // 3)))
        cluster.at(start, lambda c=chosen: [network.cut(a, b) for a, b in c])
        cluster.at(end, lambda c=chosen: [network.cut(a, b, False) for a, b in c])
        return f"oneway {' '.join(f'{a}->{b}' for a, b in chosen)} cut at {start}-{end}"
    if kind == "loss":
        chosen = rng.sample(links, rng.randint(1, len(links)))
        loss = rng.randint(10, 60) / 100
        cluster.at(start, lambda c=chosen, p=loss: _set(network, c, "loss", p))
        cluster.at(end, lambda c=chosen: _set(network, c, "loss", 0.0))
        return f"loss {loss:.2f} on {len(chosen)} links at {start}-{end}"
    return None


def plan_faults(cluster: Cluster, rng: Rng, kinds: tuple[str, ...], heal_ms: int, timing: Timing) -> list[str]:
    """Schedule random faults in the fault window; returns their descriptions."""
    names = cluster.names
    network = cluster.network
    described: list[str] = []
    if not kinds:
        return described
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(kinds)
        start = rng.randint(START_WINDOW_MS, heal_ms - 100)
        end = min(heal_ms, start + rng.randint(100, 3 * timing.deadtime_ms))
        network_fault = plan_network_fault(cluster, rng, kind, start, end)
        if network_fault is not None:
            described.append(network_fault)
        elif kind == "crash":
            victim = rng.choice(names)
            choice = rng.random()
            if choice < 0.5:
                restart: Optional[int] = end
            elif choice < 0.8:
                restart = heal_ms
            else:
                restart = None
            described.append(f"crash {victim} at {start}, restart {restart if restart is not None else 'never'}")
            cluster.at(start, lambda v=victim: cluster.crash(v))
            if restart is not None:
                cluster.at(restart, lambda v=victim: cluster.nodes[v].up or cluster.start(v))
        elif kind == "pause":
            victim = rng.choice(names)
            end = min(heal_ms, start + rng.randint(50, 3 * timing.deadtime_ms))
            described.append(f"pause {victim} at {start}-{end}")
            cluster.at(start, lambda v=victim: cluster.pause(v))
            cluster.at(end, lambda v=victim: cluster.resume(v))
        elif kind == "ccmhang":
            victim = rng.choice(names)
            end = min(heal_ms, start + rng.randint(50, 3 * timing.deadtime_ms))
            described.append(f"ccm of {victim} hangs at {start}-{end}")
            cluster.at(start, lambda v=victim: cluster.pause_ccm(v))
            cluster.at(end, lambda v=victim: cluster.resume_ccm(v))
        elif kind == "jitter":
            victim = rng.choice(names)
            extra = rng.randint(5, 80)
            links = [(victim, b) for b in names if b != victim] + [(a, victim) for a in names if a != victim]
            described.append(f"jitter +{extra} ms around {victim} at {start}-{end}")
            cluster.at(start, lambda c=links, e=extra: _set(network, c, "latency_max_ms", 3 + e))
            cluster.at(end, lambda c=links: _set(network, c, "latency_max_ms", 3))
        elif kind == "dup":
            p = rng.randint(5, 50) / 100
            described.append(f"duplicate {p:.2f} everywhere at {start}-{end}")
            everything = list(network.links)
            cluster.at(start, lambda c=everything, q=p: _set(network, c, "duplicate", q))
            cluster.at(end, lambda c=everything: _set(network, c, "duplicate", 0.0))
    return described


def _set(network: Network, links, attribute: str, value) -> None:
    for key in links:
        setattr(network.links[key], attribute, value)


def _unpartition(network: Network, groups: list[list[str]]) -> None:
    side = {name: i for i, group in enumerate(groups) for name in group}
    for (src, dst), link in network.links.items():
        if side.get(src) != side.get(dst):
            link.cut = False


def heal_all(cluster: Cluster, rng: Rng, restart_probability: float = 0.8) -> None:
    cluster.network.heal()
    cluster.trace.add(cluster.now_ms, "-", "HEAL: network restored")
    for node in cluster.nodes.values():
        if node.up and node.paused:
            cluster.resume(node.name)
        for proc in list(node.procs.values()):
            if node.up and proc.up and proc.paused:
                cluster.resume_process(node.name, proc.name)
    for node in cluster.nodes.values():
        if not node.up and rng.random() < restart_probability:
            cluster.start(node.name)


def _convergence(cluster: Cluster, names: list[str]) -> Optional[str]:
    running = cluster.running()
    nodes = len(names)
    votes = sum(1 for name in running if name in names)
    expect = votes > nodes // 2
    if nodes == 2:
        # two_node + wait_for_all: quorum with one vote, once both were seen since start
        expect = all(cluster.checker.seen_full.get(name) == inc for name, inc in running.items()) and votes >= 1
    return cluster.checker.convergence_problem(running, expect)


def run_seed(seed: int, nodes: int, rng: Rng, kinds: tuple[str, ...] = FAULT_KINDS, timing: Timing = Timing(),
             trace_limit: int = 3000, keep_trace: bool = False, ccm_factory=None) -> RunResult:
    """rng: a fresh random.Random(seed) (passed in: this module imports no randomness)."""
    names = [f"node{i}" for i in range(1, nodes + 1)]
    trace = Trace(trace_limit)
    network = Network(names, rng)
    cluster = Cluster(names, rng, timing, network, trace) if ccm_factory is None else \
        Cluster(names, rng, timing, network, trace, ccm_factory=ccm_factory)
    heal_ms = START_WINDOW_MS + FAULT_WINDOW_MS
    for name in names:
        cluster.at(rng.randint(0, START_WINDOW_MS), lambda n=name: cluster.nodes[n].up or cluster.start(n))
    faults = plan_faults(cluster, rng, kinds, heal_ms, timing)
    for text in faults:
        trace.add(0, "-", f"planned: {text}")
    deadline = heal_ms + timing.deadtime_ms + bound_ms(timing)
    result = RunResult(seed, nodes, True, faults)
    try:
        cluster.run_until(heal_ms - 1)
        cluster.at(heal_ms, lambda: heal_all(cluster, rng))
        converged_at: Optional[int] = None
        problem: Optional[str] = "not checked"
        now = heal_ms
        while now < deadline + STABLE_MS:
            now += CHECK_EVERY_MS
            cluster.run_until(now)
            problem = _convergence(cluster, names)
            if problem is None:
                converged_at = cluster.checker.last_change_ms
                if now - converged_at >= STABLE_MS:
                    break
            elif now >= deadline:
                raise Violation(f"convergence: {deadline - heal_ms} ms after heal: {problem}")
        assert converged_at is not None
        if converged_at > deadline:
            raise Violation(f"flapping: views changed at {converged_at} ms, later than "
                            f"{deadline - heal_ms} ms after heal")
        result.converged_ms = max(0, converged_at - heal_ms)
    except Violation as exc:
        result.ok = False
        result.violation = f"at {cluster.now_ms} ms: {exc}"
        trace.add(cluster.now_ms, "-", f"VIOLATION {exc}")
        result.trace = trace.render()
    if keep_trace and not result.trace:
        result.trace = trace.render()
    result.views = cluster.checker.installs
    result.steps = cluster.steps
    result.packets = network.sent
    return result
