"""A seeded generator of small CIBs dense in colocations, for judging node scores.

    python tests/pengine/colocgen.py SEED [OUT.xml]

Why: tests/pengine/cibgen.py covers every feature, so a given rule of colocation scoring meets
few of its cases; the way scores travel along colocation chains (through groups' first and
last members, clones, promotable roles, roll-backs, influence=false, unmanaged resources) is
best judged on clusters made of little else. Each CIB has 2-4 nodes, 1-3 groups of 1-3
members (one in seven unmanaged), 1-3 primitives, maybe an anonymous clone and a promotable
clone (one in five unmanaged), 1-6 colocations between random pairs with random scores, roles
and influence, up to 4 scored locations, a stickiness default, and resources found running
(promoted or not) by probes. `bench/pengine_generated.py --source coloc --scores` compares
`hb simulate` with crm_simulate on them, scores included.
"""

from __future__ import annotations

import random
import sys

SCORES = ("INFINITY", "-INFINITY", "100", "-100", "500", "5000", "10", "-5000")
ROLES = ("Promoted", "Unpromoted")


def _probe(rid: str, agent: str, rc: int) -> str:
    """A probe of rid that found it running (rc 0) or promoted (rc 8)."""
    return (f'<lrm_resource id="{rid}" class="ocf" provider="pacemaker" type="{agent}">'
            f'<lrm_rsc_op id="{rid}_last_0" operation_key="{rid}_monitor_0" operation="monitor" '
            'crm-debug-origin="colocgen" crm_feature_set="3.16.1" transition-key="1:1:7:x" '
            f'transition-magic="0:{rc};1:1:7:x" call-id="1" rc-code="{rc}" op-status="0" '
            'interval="0" last-rc-change="1700000000" exec-time="0" queue-time="0"/>'
            "</lrm_resource>")


def _primitive(rid: str, agent: str = "Dummy") -> str:
    return f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="{agent}"/>'


class _Gen:
    """One seed's cluster, built in the order the random numbers are drawn."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.nodes = [f"node{i}" for i in range(1, self.rnd.randint(2, 4) + 1)]
        self.resources: list[str] = []
        self.ids: list[str] = []
        self.promotable: set[str] = set()
        self.history: dict[str, list[str]] = {node: [] for node in self.nodes}
        self.features: set[str] = set()

    def groups(self) -> None:
        rnd = self.rnd
        for g in range(rnd.randint(1, 3)):
            gid = f"g{g}"
            members = [f"g{g}m{i}" for i in range(rnd.randint(1, 3))]
            meta = ""
            if rnd.random() < 0.15:
                meta = (f'<meta_attributes id="{gid}-m"><nvpair id="{gid}-m1" name="is-managed" '
                        'value="false"/></meta_attributes>')
                self.features.add("unmanaged")
            self.resources.append(f'<group id="{gid}">{meta}'
                                  + "".join(_primitive(m) for m in members) + "</group>")
            self.ids.append(gid)
            self.features.add("group" if len(members) > 1 else "group-of-one")
            if rnd.random() < 0.5:
                node = rnd.choice(self.nodes)
                for member in members:
                    if rnd.random() < 0.8:
                        self.history[node].append(_probe(member, "Dummy", 0))

    def primitives(self) -> None:
        for p in range(self.rnd.randint(1, 3)):
            pid = f"p{p}"
            self.resources.append(_primitive(pid))
            self.ids.append(pid)
            if self.rnd.random() < 0.5:
                self.history[self.rnd.choice(self.nodes)].append(_probe(pid, "Dummy", 0))

    def clones(self) -> None:
        rnd = self.rnd
        if rnd.random() < 0.6:
            self.resources.append(
                '<clone id="c0"><meta_attributes id="c0-m"><nvpair id="c0-m1" name="clone-max" '
                f'value="{rnd.randint(1, len(self.nodes))}"/></meta_attributes>'
                f'{_primitive("c0p")}</clone>')
            self.ids.append("c0")
            self.features.add("clone")
            for node in self.nodes:
                if rnd.random() < 0.4:
                    self.history[node].append(_probe("c0p", "Dummy", 0))
        if rnd.random() < 0.7:
            unmanaged = ""
            if rnd.random() < 0.2:
                unmanaged = '<nvpair id="s0-m3" name="is-managed" value="false"/>'
                self.features.add("unmanaged")
            self.resources.append(
                '<clone id="s0"><meta_attributes id="s0-m"><nvpair id="s0-m1" name="promotable" '
                f'value="true"/><nvpair id="s0-m2" name="clone-max" '
                f'value="{rnd.randint(1, len(self.nodes))}"/>{unmanaged}</meta_attributes>'
                f'{_primitive("s0p", "Stateful")}</clone>')
            self.ids.append("s0")
            self.promotable.add("s0")
            self.features.add("promotable")
            for node in self.nodes:
                draw = rnd.random()
                if draw < 0.3:
                    self.history[node].append(_probe("s0p", "Stateful", 0))
                elif draw < 0.45:
                    self.history[node].append(_probe("s0p", "Stateful", 8))

    def constraints(self) -> str:
        rnd = self.rnd
        out = []
        for c in range(rnd.randint(1, 6)):
            dependent, primary = rnd.sample(self.ids, 2)
            extra = ""
            if dependent in self.promotable and rnd.random() < 0.6:
                extra += f' rsc-role="{rnd.choice(ROLES)}"'
                self.features.add("role-colocation")
            if primary in self.promotable and rnd.random() < 0.6:
                extra += f' with-rsc-role="{rnd.choice(ROLES)}"'
                self.features.add("role-colocation")
            if rnd.random() < 0.15:
                extra += ' influence="false"'
                self.features.add("influence-false")
            out.append(f'<rsc_colocation id="col{c}" rsc="{dependent}" with-rsc="{primary}" '
                       f'score="{rnd.choice(SCORES)}"{extra}/>')
        for c in range(rnd.randint(0, 4)):
            out.append(f'<rsc_location id="loc{c}" rsc="{rnd.choice(self.ids)}" '
                       f'node="{rnd.choice(self.nodes)}" score="{rnd.choice(SCORES)}"/>')
        return "".join(out)

    def status(self) -> str:
        out = []
        for i, node in enumerate(self.nodes, 1):
            attrs = ""
            if self.rnd.random() < 0.7:
                attrs = (f'<nvpair id="{node}-ms" name="master-s0p" '
                         f'value="{self.rnd.choice((5, 10, 20))}"/>')
            out.append(f'<node_state id="{i}" uname="{node}" in_ccm="true" crmd="online" '
                       f'join="member" expected="member"><transient_attributes id="{i}">'
                       f'<instance_attributes id="st-{i}">{attrs}</instance_attributes>'
                       f'</transient_attributes><lrm id="{i}"><lrm_resources>'
                       f'{"".join(self.history[node])}</lrm_resources></lrm></node_state>')
        return "".join(out)

    def build(self) -> str:
        self.groups()
        self.primitives()
        self.clones()
        constraints = self.constraints()
        stickiness = self.rnd.choice(("0", "0", "50", "100", "INFINITY"))
        status = self.status()
        nodes = "".join(f'<node id="{i}" uname="{n}"/>' for i, n in enumerate(self.nodes, 1))
        return ('<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" have-quorum="1" '
                'epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config>'
                '<cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" '
                'value="false"/></cluster_property_set></crm_config>'
                f'<nodes>{nodes}</nodes><resources>{"".join(self.resources)}</resources>'
                f'<constraints>{constraints}</constraints><rsc_defaults>'
                '<meta_attributes id="rd"><nvpair id="rd1" name="resource-stickiness" '
                f'value="{stickiness}"/></meta_attributes></rsc_defaults></configuration>'
                f'<status>{status}</status></cib>')


def generate(seed: int) -> tuple[str, set[str]]:
    """The CIB of one seed and the feature tags it exercises."""
    gen = _Gen(seed)
    text = gen.build()
    return text, gen.features | {"colocgen"}


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    text, _ = generate(int(argv[0]))
    if len(argv) == 2:
        with open(argv[1], "w", encoding="utf-8") as out:
            out.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
