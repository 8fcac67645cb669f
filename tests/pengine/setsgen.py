"""A seeded generator of random CIBs dense in resource sets and cloned groups.

Why: tests/pengine/cibgen.py writes every order and colocation between two resources (a set
appears only in an `rsc_ticket`), and never clones a group. Resource sets are how most real
configurations of more than two resources are written (crm shell's `order o inf: a b c` and
`colocation c inf: a b c` are sets), and their rules differ from pairs in ways that show in the
graph: ordered and unordered sets (`sequential`), `require-all=false` (one of the first set is
enough), an action or role per set, colocation sets whose members are colocated with each other
in reverse order, several sets chained, a set's own score. This generator reuses cibgen's whole
model (nodes in every membership state, histories, quorum and fencing options) and adds:

- `rsc_order` with 1-3 resource sets of 1-3 distinct resources each: `sequential` and
  `require-all` drawn per set, `action` on some sets (promote/demote for promotable resources,
  start/stop otherwise), `kind` (Mandatory, Optional, Serialize) and `symmetrical` on the
  constraint (tags `order-set`, `order-set-multi`, `set-unordered`, `set-require-any`,
  `set-action`, `order-set-kind`, `order-set-asymmetric`);
- `rsc_colocation` with 1-3 sets: `sequential` and `role` per set, the score on the constraint
  (tags `colocation-set`, `colocation-set-multi`, `set-unordered`, `set-role`);
- `rsc_location` over a set (tag `location-set`);
- some groups wrapped in a clone (`interleave` drawn), ordered and colocated like the rest
  (tag `cloned-group`); their members' histories are cibgen's, on any node;
- a calm case half of the time (tag `calm`: nodes online but one lost at most), so that the
  sets' orderings are not drowned by recoveries.

A resource never appears twice in one constraint (Pacemaker asserts on a resource ordered or
colocated with itself). `generate(seed)` is pure and deterministic like cibgen's, with its own
seed space.

    python tests/pengine/setsgen.py SEED [OUT.xml]   # print the features, write the CIB
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # tests/pengine: no package
from notifymigrategen import cibgen  # noqa: E402  (cibgen loaded once, as "pengine_cibgen")


class _SetsGen(cibgen._Gen):
    """cibgen's model plus set constraints and cloned groups."""

    CALM_CASES = True

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.cloned_groups: dict[str, bool] = {}  # group id -> interleave

    def make_resources(self) -> None:
        super().make_resources()
        # at least three resources, so that sets have something to chain
        extra = 0
        while len(self.top) < 3:
            name = f"x{extra}"
            extra += 1
            self.members[name] = [self.primitive(name)]
            self.top.append(name)
            self.kind[name] = "primitive"
        for name in self.top:
            if self.kind[name] == "group" and self.chance(0.35, "cloned-group"):
                self.cloned_groups[name] = self.rnd.random() < 0.5

    def xml_resources(self) -> str:
        text = super().xml_resources()
        for name, interleave in self.cloned_groups.items():
            start = text.index(f'<group id="{name}">')
            end = text.index("</group>", start) + len("</group>")
            meta = ""
            if interleave:
                meta = (f'<meta_attributes id="{name}-clone-meta"><nvpair '
                        f'id="{name}-clone-meta-interleave" name="interleave" value="true"/>'
                        "</meta_attributes>")
            # the clone takes the group's name (the constraints' target); the group is renamed
            group = text[start:end].replace(f'<group id="{name}">', f'<group id="{name}-g">', 1)
            group = group.replace(f'id="{name}-meta"', f'id="{name}-g-meta"')
            group = group.replace(f'id="{name}-meta-', f'id="{name}-g-meta-')
            text = text[:start] + f'<clone id="{name}">{meta}{group}</clone>' + text[end:]
        return text

    def _set(self, cid: str, index: int, refs: list[str], attrs: str) -> str:
        body = "".join(f'<resource_ref id="{ref}"/>' for ref in refs)
        return f'<resource_set id="{cid}-s{index}"{attrs}>{body}</resource_set>'

    def _partition(self, count: int) -> list[list[str]]:
        """`count` sets of distinct top-level resources (1-3 each)."""
        r = self.rnd
        pool = list(self.top)
        r.shuffle(pool)
        sets = []
        for _ in range(count):
            if not pool:
                break
            size = min(len(pool), r.randint(1, 3))
            sets.append(pool[:size])
            pool = pool[size:]
        return sets

    def _promotable_only(self, refs: list[str]) -> bool:
        return all(self.kind[ref] == "promotable" for ref in refs)

    def order_set(self, cid: str) -> str:
        r = self.rnd
        sets = self._partition(r.choice([1, 2, 2, 3]))
        if len(sets) > 1:
            self.features.add("order-set-multi")
        out = []
        for index, refs in enumerate(sets):
            attrs = ""
            if self.chance(0.35, "set-unordered"):
                attrs += ' sequential="false"'
            if self.chance(0.2, "set-require-any"):
                attrs += ' require-all="false"'
            if self.chance(0.25, "set-action"):
                if self._promotable_only(refs):
                    attrs += f' action="{r.choice(["promote", "demote", "start"])}"'
                else:
                    attrs += f' action="{r.choice(["start", "stop"])}"'
            out.append(self._set(cid, index, refs, attrs))
        extra = ""
        if self.chance(0.3, "order-set-kind"):
            extra += f' kind="{r.choice(["Optional", "Serialize", "Mandatory"])}"'
        if self.chance(0.15, "order-set-asymmetric"):
            extra += ' symmetrical="false"'
        return f'<rsc_order id="{cid}"{extra}>{"".join(out)}</rsc_order>'

    def colocation_set(self, cid: str) -> str:
        r = self.rnd
        sets = self._partition(r.choice([1, 1, 2, 3]))
        if len(sets) > 1:
            self.features.add("colocation-set-multi")
        out = []
        for index, refs in enumerate(sets):
            attrs = ""
            if self.chance(0.3, "set-unordered"):
                attrs += ' sequential="false"'
            if self._promotable_only(refs) and self.chance(0.5, "set-role"):
                attrs += f' role="{r.choice(["Promoted", "Unpromoted", "Started"])}"'
            out.append(self._set(cid, index, refs, attrs))
        return f'<rsc_colocation id="{cid}" score="{self.score()}">{"".join(out)}</rsc_colocation>'

    def location_set(self, cid: str) -> str:
        refs = self._partition(1)[0]
        return (f'<rsc_location id="{cid}" node="{self.rnd.choice(self.nodes)}" '
                f'score="{self.score()}">{self._set(cid, 0, refs, "")}</rsc_location>')

    def xml_constraints(self) -> str:
        text = super().xml_constraints()
        r = self.rnd
        out = []
        for n in range(r.randint(1, 3)):
            draw = r.random()
            if draw < 0.5:
                self.features.add("order-set")
                out.append(self.order_set(f"oset{n}"))
            elif draw < 0.9:
                self.features.add("colocation-set")
                out.append(self.colocation_set(f"cset{n}"))
            else:
                self.features.add("location-set")
                out.append(self.location_set(f"lset{n}"))
        return text + "".join(out)


generate = cibgen.generator(_SetsGen)


if __name__ == "__main__":
    sys.exit(cibgen.main(sys.argv[1:], generate, __doc__))
