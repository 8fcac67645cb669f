"""A seeded generator of random CIBs dense in node shutdowns, shutdown locks and fencing options.

Why: tests/pengine/cibgen.py never asks a node to shut down, never locks a resource to a node
that left cleanly, and sets no fencing option but stonith-enabled and stonith-action. A
graceful stop of a node (`hb standby`, `/etc/init.d/heartbeat stop`: the node's `shutdown`
attribute, then the scheduler's stops and `do_shutdown`) and the fencing of a lost node are the
two things an HA cluster does most, and their options change the graph: `shutdown-lock` keeps
a node's resources stopped until it returns (or the limit passes), `priority-fencing-delay`
delays the fencing of the node with the most important resources, `concurrent-fencing` orders
fencing actions, fence devices that provide unfencing add `on` actions for joining nodes. This
generator reuses cibgen's whole model and adds:

- online nodes with the transient `shutdown` attribute (tag `node-shutdown`);
- `shutdown-lock` and `shutdown-lock-limit` (tag `shutdown-lock`), and histories of nodes that
  left with `shutdown-lock` stamps on their resources, old and recent (tag `locked-history`);
- `priority-fencing-delay` with `priority` on resources (tag `priority-fencing-delay`),
  `concurrent-fencing` (tag `concurrent-fencing`), `stonith-timeout`, `stonith-max-attempts`;
- fence devices providing unfencing and resources requiring it (tag `unfencing`);
- `record-pending` on operations and pending histories (tag `record-pending`);
- `critical`, `restart-type` and `remove-after-stop` meta attributes where Pacemaker reads
  them (tag `meta-misc`).

`generate(seed)` is pure and deterministic like cibgen's, with its own seed space.

    python tests/pengine/lifecyclegen.py SEED [OUT.xml]   # print the features, write the CIB
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # tests/pengine: no package
from notifymigrategen import cibgen  # noqa: E402  (cibgen loaded once, as "pengine_cibgen")
_STAMP = cibgen._STAMP


class _LifecycleGen(cibgen._Gen):
    """cibgen's model plus shutdowns, shutdown locks and fencing options."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.shutting: set[str] = set()
        self.left: set[str] = set()
        self.lock = False
        self.unfencing = False

    def make_nodes(self) -> None:
        super().make_nodes()
        for node in self.nodes:
            if self.state[node] == "online" and self.chance(0.25, "node-shutdown"):
                self.shutting.add(node)
            elif self.state[node] == "offline":
                self.left.add(node)  # left cleanly: down and expected down
        # one node at least stays up
        if self.shutting and all(self.state[n] != "online" or n in self.shutting
                                 for n in self.nodes):
            self.shutting.discard(sorted(self.shutting)[0])

    def options(self) -> list[tuple[str, str]]:
        opts = super().options()
        r = self.rnd
        if self.chance(0.4, "shutdown-lock"):
            self.lock = True
            opts.append(("shutdown-lock", "true"))
            if r.random() < 0.5:
                opts.append(("shutdown-lock-limit", r.choice(["10m", "0", "3650d", "junk"])))
        if self.chance(0.3, "priority-fencing-delay"):
            opts.append(("priority-fencing-delay", r.choice(["5s", "60s", "0", "junk"])))
        if self.chance(0.3, "concurrent-fencing"):
            opts.append(("concurrent-fencing", r.choice(["true", "false"])))
        if self.chance(0.15, "stonith-timeout"):
            opts.append(("stonith-timeout", r.choice(["30s", "120s", "junk"])))
        if self.chance(0.1, "stonith-max-attempts"):
            opts.append(("stonith-max-attempts", r.choice(["1", "10"])))
        return opts

    def primitive(self, rid: str, stateful: bool = False):
        p = super().primitive(rid, stateful)
        r = self.rnd
        if self.chance(0.25, "resource-priority"):
            p.meta["priority"] = r.choice(["1", "10", "100"])
        if self.chance(0.08, "meta-misc"):
            p.meta[r.choice(["critical", "remove-after-stop"])] = r.choice(["true", "false"])
        if self.chance(0.1, "record-pending"):
            p.meta["record-pending"] = "true"
        return p

    def make_resources(self) -> None:
        super().make_resources()
        if self.kind.get("fencer") == "stonith" and self.chance(0.3, "unfencing"):
            self.unfencing = True
            for name in self.top:
                if self.rnd.random() < 0.3:
                    for p in self.members[name]:
                        p.meta["requires"] = "unfencing"

    def xml_resources(self) -> str:
        text = super().xml_resources()
        if self.unfencing:
            text = text.replace(
                '<primitive id="fencer" class="stonith" type="fence_dummy">',
                '<primitive id="fencer" class="stonith" type="fence_dummy"><meta_attributes '
                'id="fencer-meta"><nvpair id="fencer-meta-provides" name="provides" '
                'value="unfencing"/></meta_attributes>', 1)
        return text

    def xml_status(self) -> str:
        text = super().xml_status()
        r = self.rnd
        for i, node in enumerate(self.nodes, 1):
            start = text.find(f'<node_state id="{i}" ')
            if start < 0:
                continue
            end = text.index("</node_state>", start)
            section = text[start:end]
            if node in self.left:
                if self.lock and "<lrm_resource " in section:
                    self.features.add("locked-history")
                    stamp = r.choice([_STAMP, _STAMP + 10 ** 9])  # long ago, or in the future
                    section = section.replace("<lrm_resource ",
                                              f'<lrm_resource shutdown-lock="{stamp}" ')
            if node in self.shutting:
                pair = (f'<nvpair id="status-{i}-shutdown" name="shutdown" '
                        f'value="{_STAMP + r.randint(1, 100)}"/>')
                inner = f'<instance_attributes id="status-{i}">'
                if inner in section:
                    section = section.replace(inner, inner + pair, 1)
                else:
                    head_end = section.index(">") + 1
                    section = (section[:head_end] + f'<transient_attributes id="{i}">{inner}'
                               f"{pair}</instance_attributes></transient_attributes>"
                               + section[head_end:])
            text = text[:start] + section + text[end:]
        return text


generate = cibgen.generator(_LifecycleGen)


if __name__ == "__main__":
    sys.exit(cibgen.main(sys.argv[1:], generate, __doc__))
