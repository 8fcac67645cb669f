"""The simulated network: one broadcast medium between N nodes, with per directed link latency
(min..max ms, uniform: jitter makes packets overtake each other), loss, duplication and cuts.
Everything random comes from the cluster's seeded RNG, so a seed replays exactly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Rng(Protocol):
    def random(self) -> float: ...

    def randint(self, a: int, b: int) -> int: ...


@dataclass
class Link:
    latency_min_ms: int = 1
    latency_max_ms: int = 3
    loss: float = 0.0
    duplicate: float = 0.0
    cut: bool = False


class Network:
    def __init__(self, names: list[str], rng: Rng, latency_ms: tuple[int, int] = (1, 3),
                 duplicate: float = 0.0) -> None:
        self.names = list(names)
        self.rng = rng
        self.baseline = (latency_ms, duplicate)
        self.links: dict[tuple[str, str], Link] = {}
        for src in self.names:
            for dst in self.names:
                if src != dst:
                    self.links[(src, dst)] = Link(latency_ms[0], latency_ms[1], 0.0, duplicate)
        self.peers = {src: [(dst, self.links[(src, dst)]) for dst in self.names if dst != src] for src in self.names}
        self.sent = 0
        self.dropped = 0

    def plan(self, src: str) -> list[tuple[str, int]]:
        """Where one packet sent by src now arrives: [(dst, delay_ms), ...] (duplicates repeat)."""
        rng = self.rng
        out = []
        for dst, link in self.peers[src]:
            self.sent += 1
            if link.cut or (link.loss and rng.random() < link.loss):
                self.dropped += 1
                continue
            out.append((dst, rng.randint(link.latency_min_ms, link.latency_max_ms)))
            if link.duplicate and rng.random() < link.duplicate:
                out.append((dst, rng.randint(link.latency_min_ms, link.latency_max_ms)))
        return out

    # -- faults --------------------------------------------------------------------------------
    def cut(self, src: str, dst: str, cut: bool = True) -> None:
        self.links[(src, dst)].cut = cut

    def partition(self, groups: list[list[str]]) -> None:
        side = {name: i for i, group in enumerate(groups) for name in group}
        for (src, dst), link in self.links.items():
            if side.get(src, -1) != side.get(dst, -2):
                link.cut = True

    def heal(self) -> None:
        (low, high), duplicate = self.baseline
        for link in self.links.values():
            link.cut = False
            link.loss = 0.0
            link.latency_min_ms, link.latency_max_ms = low, high
            link.duplicate = duplicate

    def describe_faults(self) -> str:
        cut = sorted(f"{s}->{d}" for (s, d), link in self.links.items() if link.cut)
        lossy = sorted(f"{s}->{d}:{link.loss:.2f}" for (s, d), link in self.links.items() if link.loss)
        return f"cut [{' '.join(cut)}] loss [{' '.join(lossy)}]"
