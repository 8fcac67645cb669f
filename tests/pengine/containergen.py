"""A seeded generator of random CIBs with resources inside containers (the `container`
meta-attribute).

Why: cibgen.py never names a container. A resource whose `container` meta-attribute names
another resource (a VM, a chroot, a service that hosts it) is placed with it, started after it
and stopped before it, and its failure restarts the container instead of itself (on-fail's
default becomes `restart-container`); the container's migration threshold counts its fillers'
failures. This generator reuses cibgen's whole model and adds:

- `container` on primitives, on group members and on a clone's primitive, naming a top-level
  primitive, a group, a group member or a clone (tag `container`, and `container-of-<kind>`);
  now and then an unknown id or the resource's own (tag `container-odd`);
- `container` on a whole group or clone, which its members and instances inherit (tags
  `container-group`, `container-clone`);
- on-fail=restart-container on fillers and on resources with no container, where it means
  the default (tag `restart-container`);
- an orphan's history entry naming its container (`<lrm_resource container=...>`, tag
  `orphan-filler`), as the controller records it for a resource removed from the
  configuration.

`generate(seed)` is pure and deterministic like cibgen's, with its own seed space.

    python tests/pengine/containergen.py SEED [OUT.xml]   # print the features, write the CIB
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # tests/pengine: no package
from notifymigrategen import cibgen  # noqa: E402  (cibgen loaded once, as "pengine_cibgen")


class _ContainerGen(cibgen._Gen):
    """cibgen's model plus containers and their fillers."""

    CALM_CASES = True

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.group_container: dict[str, str] = {}  # group or clone id -> its container
        self.orphan: tuple[str, str] | None = None  # (orphan id, its container)

    def make_resources(self) -> None:
        super().make_resources()
        r = self.rnd
        # what a container may be: a top-level resource or a group member
        hosts = [name for name in self.top]
        hosts += [p.rid for name in self.top if self.kind[name] == "group"
                  for p in self.members[name][:1]]
        if len(hosts) < 2:
            return
        for name in self.top:
            kind = self.kind[name]
            if kind in ("group", "clone", "promotable") and \
                    self.chance(0.2, "container-group" if kind == "group" else "container-clone"):
                host = r.choice([h for h in hosts if not h.startswith(name)] or [name])
                self.group_container[name] = host
                continue
            for p in self.members[name]:
                if not self.chance(0.35, "container"):
                    continue
                others = [h for h in hosts if h != name and not h.startswith(name)]
                if not others:
                    continue
                if self.chance(0.06, "container-odd"):
                    p.meta["container"] = r.choice(["nosuch", p.rid])
                    continue
                host = r.choice(others)
                self.features.add(f"container-of-{self.kind.get(host, 'member')}")
                p.meta["container"] = host
                if self.chance(0.25, "restart-container"):
                    p.on_fail = "restart-container"
        for p in self.prims:
            if "container" not in p.meta and p.on_fail is None and \
                    self.chance(0.03, "restart-container"):
                p.on_fail = "restart-container"
        if self.chance(0.15, "orphan-filler"):
            self.orphan = ("gone", r.choice(hosts))

    def xml_resources(self) -> str:
        text = super().xml_resources()
        for name, host in self.group_container.items():
            head = f'<{"group" if self.kind[name] == "group" else "clone"} id="{name}">'
            pair = f'<nvpair id="{name}-cmeta-container" name="container" value="{host}"/>'
            block = f'<meta_attributes id="{name}-meta">'
            if head + block in text:  # into the set cibgen wrote (other generators look for it)
                text = text.replace(head + block, head + block + pair, 1)
            else:
                text = text.replace(head, f'{head}<meta_attributes id="{name}-cmeta">{pair}'
                                    "</meta_attributes>", 1)
        return text

    def xml_status(self) -> str:
        text = super().xml_status()
        if self.orphan is None:
            return text
        rid, host = self.orphan
        online = [i for i, node in enumerate(self.nodes, 1) if self.state[node] == "online"]
        if not online:
            return text
        i = self.rnd.choice(online)
        orphan = cibgen.Prim(rid)
        entry = (f'<lrm_resource id="{rid}" class="ocf" provider="pacemaker" type="Dummy" '
                 f'container="{host}">'
                 + self.op(orphan, f"{rid}_last_0", "start", 0, 0, 0, 2)
                 + self.op(orphan, f"{rid}_monitor_10000", "monitor", 10000, 0, 0, 3)
                 + "</lrm_resource>")
        return cibgen.add_history_entry(text, str(i), entry)


generate = cibgen.generator(_ContainerGen)


if __name__ == "__main__":
    sys.exit(cibgen.main(sys.argv[1:], generate, __doc__))
