"""A seeded generator of random CIBs dense in orderings between clones, promotable clones and groups.

Why: tests/pengine/cibgen.py orders random pairs of resources with the default actions (start
then start), sometimes `first-action="promote"`. The orderings of a Heartbeat 2 style cluster
are mostly between clones and what depends on them (a DRBD-like promotable clone promoted
before a filesystem group starts, demoted after it stops; a clone of a storage agent started
before its users, interleaved or not), and the graph's edges come from each pair of actions:
promote, demote, start and stop on either side, the clone's `interleave`, `ordered`, the
order's `kind` and `symmetrical` (whose inverse order pairs the opposite actions). This
generator reuses cibgen's model and replaces its random pairs by 2-5 orders between its
clones, promotable clones and groups, each with a first and a then action the resources can
take (tags `order-<first>-<then>`), `kind` and `symmetrical` drawn (tags `order-kind`,
`order-asymmetric`), `interleave` and `ordered` on clones (tags `clone-interleave`,
`clone-ordered`), and a colocation along some orders (tag `order-with-colocation`); half the
cases are calm (every node online but one lost at most, tag `calm`), so that the orders' edges
are not drowned by recoveries.

`generate(seed)` is pure and deterministic like cibgen's, with its own seed space.

    python tests/pengine/ordersgen.py SEED [OUT.xml]   # print the features, write the CIB
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # tests/pengine: no package
from notifymigrategen import cibgen  # noqa: E402  (cibgen loaded once, as "pengine_cibgen")


class _OrdersGen(cibgen._Gen):
    """cibgen's model with orders between clones, promotable clones and groups."""

    CALM_CASES = True

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.clone_meta: dict[str, dict[str, str]] = {}

    def make_resources(self) -> None:
        super().make_resources()
        r = self.rnd
        # at least two of the kinds that orders here are about
        extra = 0
        while sum(1 for n in self.top if self.kind[n] in ("clone", "promotable", "group")) < 2:
            kind = r.choice(["clone", "promotable", "group"])
            name = f"o{extra}"
            extra += 1
            if kind == "group":
                self.members[name] = [self.primitive(f"{name}m{j}") for j in range(2)]
            else:
                self.members[name] = [self.primitive(f"{name}p", kind == "promotable")]
                self.clone_max[name] = len(self.nodes)
            self.top.append(name)
            self.kind[name] = kind
            self.features.add(kind)
        for name in self.top:
            if self.kind[name] in ("clone", "promotable"):
                meta: dict[str, str] = {}
                if self.chance(0.5, "clone-interleave"):
                    meta["interleave"] = "true"
                if self.chance(0.15, "clone-ordered"):
                    meta["ordered"] = "true"
                self.clone_meta[name] = meta

    def xml_resources(self) -> str:
        text = super().xml_resources()
        for name, meta in self.clone_meta.items():
            for key, value in meta.items():
                head = f'<clone id="{name}"><meta_attributes id="{name}-meta">'
                start = text.index(head) + len(head)
                if f'name="{key}"' in text[start:text.index("</meta_attributes>", start)]:
                    continue  # cibgen set it already
                pair = f'<nvpair id="{name}-meta-o-{key}" name="{key}" value="{value}"/>'
                text = text[:start] + pair + text[start:]
        return text

    def actions(self, name: str) -> list[str]:
        if self.kind[name] == "promotable":
            return ["start", "stop", "promote", "demote"]
        return ["start", "stop"]

    def xml_constraints(self) -> str:
        # cibgen's constraints are drawn first (the same random stream), then these
        text = super().xml_constraints()
        r = self.rnd
        candidates = [n for n in self.top if self.kind[n] in ("clone", "promotable", "group")]
        others = [n for n in self.top if n not in candidates]
        out = []
        for n in range(r.randint(2, 5)):
            first = r.choice(candidates)
            then = r.choice([c for c in candidates + others if c != first])
            first_action = r.choice(self.actions(first))
            then_action = r.choice(self.actions(then)) if r.random() < 0.6 else "start"
            self.features.add(f"order-{first_action}-{then_action}")
            extra = f' first-action="{first_action}" then-action="{then_action}"'
            if self.chance(0.25, "order-kind"):
                extra += f' kind="{r.choice(["Optional", "Serialize", "Mandatory"])}"'
            if self.chance(0.2, "order-asymmetric"):
                extra += ' symmetrical="false"'
            out.append(f'<rsc_order id="xord{n}" first="{first}" then="{then}"{extra}/>')
            if self.chance(0.3, "order-with-colocation"):
                role = ""
                if self.kind[first] == "promotable" and first_action == "promote":
                    role = ' with-rsc-role="Promoted"'
                out.append(f'<rsc_colocation id="xcol{n}" rsc="{then}" with-rsc="{first}" '
                           f'score="INFINITY"{role}/>')
        return text + "".join(out)


generate = cibgen.generator(_OrdersGen)


if __name__ == "__main__":
    sys.exit(cibgen.main(sys.argv[1:], generate, __doc__))
