"""Drive several messaging cores on a manual clock over an in-memory network (per-link loss,
delay and cuts from one seeded RNG). Used by the unit tests; the whole-cluster simulator in
`sim/` does the same for more daemons."""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Optional

from core.config.authkeys import parse_authkeys
from messaging.events import Deliver, Log, PacketIn, Tick, Transmit
from messaging.machine import HeartbeatMachine, MachineConfig

KEYS = parse_authkeys("auth 1\n1 sha1 test-secret\n")


@dataclass
class Node:
    name: str
    machine: HeartbeatMachine
    effects: list = field(default_factory=list)
    up: bool = True


class Net:
    def __init__(self, names, seed=1, keepalive_ms=100, deadtime_ms=500, warntime_ms=300,
                 initdead_ms=1000, links=("eth0",), keys=KEYS, ping_nodes=(), absent=(), **config):
        self.rng = random.Random(seed)
        self.now_ms = 0
        self.names = list(names)
        self.links = links
        self.params = dict(keepalive_ms=keepalive_ms, deadtime_ms=deadtime_ms, warntime_ms=warntime_ms,
                           initdead_ms=initdead_ms, deadping_ms=deadtime_ms, **config)
        self.keys = {name: keys for name in names}
        self.ping_nodes = ping_nodes
        self.nodes: dict[str, Node] = {}
        self.generation = {name: 1 for name in names}
        self.loss: dict[tuple[str, str, str], float] = {}  # (src, dst, link) -> probability
        self.cut: set[tuple[str, str, str]] = set()
        self.delay_ms = (1, 3)
        self.queue: list = []
        self._seq = 0
        self.paused: dict[str, list] = {}
        for name in names:
            if name not in absent:
                self.start(name)

    def start(self, name: str) -> None:
        config = MachineConfig(node=name, uuid=name.encode().ljust(16, b"\0"), generation=self.generation[name],
                               nodes=tuple(self.names), local_links=self.links, ping_nodes=self.ping_nodes,
                               **self.params)
        machine = HeartbeatMachine(config, self.keys[name], random.Random(self.rng.random()), self.now_ms, 1_700_000_000)
        self.nodes[name] = Node(name, machine)
        self._apply(name, machine.step(self.now_ms, Tick()))

    def crash(self, name: str) -> None:
        self.nodes[name].up = False

    def restart(self, name: str) -> None:
        self.generation[name] += 1
        self.start(name)

    def _apply(self, name: str, effects: list) -> None:
        node = self.nodes[name]
        node.effects.extend(effects)
        for effect in effects:
            if isinstance(effect, Transmit):
                for other in self.names:
                    if other == name:
                        continue
                    for link in self.links:
                        key = (name, other, link)
                        if key in self.cut or self.rng.random() < self.loss.get(key, 0.0):
                            continue
                        due = self.now_ms + self.rng.randint(*self.delay_ms)
                        self._seq += 1
                        heapq.heappush(self.queue, (due, self._seq, other, link, effect.packet))

    def inject(self, name: str, event) -> list:
        effects = self.nodes[name].machine.step(self.now_ms, event)
        self._apply(name, effects)
        return effects

    def run_for(self, duration_ms: int) -> None:
        end = self.now_ms + duration_ms
        for _ in range(1_000_000):
            deadlines = [n.machine.next_deadline_ms() for n in self.nodes.values() if n.up and n.name not in self.paused]
            deadlines = [d for d in deadlines if d is not None]
            candidates = deadlines + ([self.queue[0][0]] if self.queue else [])
            nxt = min(candidates) if candidates else end
            if nxt > end:
                self.now_ms = end
                return
            self.now_ms = max(self.now_ms, nxt)
            while self.queue and self.queue[0][0] <= self.now_ms:
                _, _, dst, link, data = heapq.heappop(self.queue)
                if dst in self.paused:
                    self.paused[dst].append(PacketIn(link, data))
                elif dst in self.nodes and self.nodes[dst].up:
                    self._apply(dst, self.nodes[dst].machine.step(self.now_ms, PacketIn(link, data)))
            for node in self.nodes.values():
                deadline = node.machine.next_deadline_ms()
                if node.up and node.name not in self.paused and deadline is not None and deadline <= self.now_ms:
                    self._apply(node.name, node.machine.step(self.now_ms, Tick()))
        raise AssertionError("simulation did not finish")

    def pause(self, name: str) -> None:
        """The process stops (SIGSTOP): packets to it wait in its socket buffer."""
        self.paused[name] = []

    def resume(self, name: str, timers_first: bool = True) -> None:
        backlog = self.paused.pop(name)
        machine = self.nodes[name].machine
        if timers_first:
            self._apply(name, machine.step(self.now_ms, Tick()))
        for event in backlog:
            self._apply(name, machine.step(self.now_ms, event))

    def status(self, observer: str, node: str) -> Optional[str]:
        view = self.nodes[observer].machine.node_view(node)
        return view["status"] if view else None

    def of_type(self, name: str, kind) -> list:
        return [e for e in self.nodes[name].effects if isinstance(e, kind)]

    def logs(self, name: str) -> list[str]:
        return [e.text for e in self.of_type(name, Log)]

    def delivered(self, name: str) -> list[Deliver]:
        return self.of_type(name, Deliver)
