"""A seeded generator of CIBs under validate-with="none", carrying values the schema refuses.

Why: with a schema, crm_simulate refuses a CIB whose attributes the schema types (an order kind,
a boolean, a score, a role, a primitive's class) and so does `hb simulate`; with
validate-with="none" Pacemaker checks nothing and its unpacking decides: a default, a warning,
the object ignored, or the value used as written. The issue asks that such values be handled as
Pacemaker handles them, never a hard error where Pacemaker proceeds. tests/pengine/cibgen.py only
puts invalid values where nvpairs allow text; this generator takes its CIB for the same seed,
switches the schema off and rewrites a few typed attributes, each drawn from a list of what a
hand-edited CIB gets wrong (tags in brackets):

- primitives: no provider on an ocf one [prim-no-provider], the class in another case
  [prim-class-case], an unknown class [prim-unknown-class], no type [prim-no-type], no class
  [prim-no-class];
- orders: a kind in another case or unknown [order-kind], `symmetrical` not a boolean
  [order-symmetrical], `first-action`/`then-action` unknown [order-action];
- scores of constraints that are not scores ("12abc", "abc", "", "-INFINITYx") [score-junk];
- a constraint without one of its resources, a location without its node [constraint-missing];
- roles of colocations and locations in another case, legacy or unknown [role-junk];
- a location's `resource-discovery` unknown [discovery-junk];
- a colocation's `influence` not a boolean [influence-junk];
- operations: `on-fail` unknown or in another case [op-on-fail-junk], a role [op-role-junk],
  an interval that is not one [op-interval-junk], `enabled` not a boolean [op-enabled-junk],
  a name in another case [op-name-case];
- a ticket constraint's `loss-policy` or `rsc-role` unknown or in another case [ticket-junk].

`generate(seed)` is pure and deterministic; seed N starts from cibgen's seed N, whose own output
is unaffected. The heartbeat class is not drawn: crm_simulate 2.1.5 cannot record its actions
and `hb simulate` does on purpose (docs/pengine.md).

    python tests/pengine/schemalessgen.py SEED [OUT.xml]   # print the features, write the CIB
"""

from __future__ import annotations

import pathlib
import random
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # tests/pengine: no package
from notifymigrategen import cibgen  # noqa: E402  (cibgen loaded once, as "pengine_cibgen")

_JUNK_SCORES = ("12abc", "abc", "", "-INFINITYx", "+100", " 50", "1e3")
_ROLES = ("started", "STARTED", "master", "Slave", "promoted", "Unpromoted", "bogus", "Stopped")
_KINDS = ("mandatory", "OPTIONAL", "Serialize", "bogus", "")
_BOOLEANS = ("maybe", "yes", "1", "TRUE", "", "off")
_ACTIONS = ("begin", "Start", "promote", "demoted", "")


def _mutate(root: ET.Element, rnd: random.Random, features: set[str]) -> None:
    def chance(p: float, tag: str) -> bool:
        hit = rnd.random() < p
        if hit:
            features.add(tag)
        return hit

    root.set("validate-with", "none")
    prims = [p for p in root.iter("primitive") if p.get("class") != "stonith"]
    if prims and chance(0.3, "prim-no-provider"):
        ocf = [p for p in prims if p.get("class") == "ocf"]
        if ocf:
            rnd.choice(ocf).attrib.pop("provider", None)
    if prims and chance(0.2, "prim-class-case"):
        prim = rnd.choice(prims)
        prim.set("class", rnd.choice((str.upper, str.capitalize))(prim.get("class") or "ocf"))
    if prims and chance(0.2, "prim-unknown-class"):
        rnd.choice(prims).set("class", rnd.choice(("bogus", "nagios", "systemd", "service")))
    if prims and chance(0.1, "prim-no-type"):
        rnd.choice(prims).attrib.pop("type", None)
    if prims and chance(0.1, "prim-no-class"):
        rnd.choice(prims).attrib.pop("class", None)

    orders = list(root.iter("rsc_order"))
    colocations = list(root.iter("rsc_colocation"))
    locations = [loc for loc in root.iter("rsc_location")]
    for order in orders:
        if chance(0.2, "order-kind"):
            order.attrib.pop("score", None)
            order.set("kind", rnd.choice(_KINDS))
        if chance(0.1, "order-symmetrical"):
            order.set("symmetrical", rnd.choice(_BOOLEANS))
        if chance(0.1, "order-action"):
            order.set(rnd.choice(("first-action", "then-action")), rnd.choice(_ACTIONS))
    for con in orders + colocations + locations:
        if con.get("score") is not None and chance(0.1, "score-junk"):
            con.set("score", rnd.choice(_JUNK_SCORES))
        if chance(0.04, "constraint-missing"):
            attr = {"rsc_order": ("first", "then"), "rsc_colocation": ("rsc", "with-rsc"),
                    "rsc_location": ("rsc", "node")}[con.tag]
            con.attrib.pop(rnd.choice(attr), None)
    for col in colocations:
        if chance(0.12, "role-junk"):
            col.set(rnd.choice(("rsc-role", "with-rsc-role")), rnd.choice(_ROLES))
        if chance(0.08, "influence-junk"):
            col.set("influence", rnd.choice(_BOOLEANS))
    for loc in locations:
        if chance(0.08, "role-junk"):
            loc.set("role", rnd.choice(_ROLES))
        if chance(0.08, "discovery-junk"):
            loc.set("resource-discovery", rnd.choice(("sometimes", "NEVER", "Exclusive", "")))
    for op in root.iter("op"):
        if chance(0.05, "op-on-fail-junk"):
            op.set("on-fail", rnd.choice(("bogus", "Block", "RESTART", "ignore ", "")))
        if chance(0.04, "op-role-junk"):
            op.set("role", rnd.choice(_ROLES))
        if chance(0.03, "op-interval-junk"):
            op.set("interval", rnd.choice(("10x", "", "-5s", "P1D", "1m30s")))
        if chance(0.03, "op-enabled-junk"):
            op.set("enabled", rnd.choice(_BOOLEANS))
        if chance(0.02, "op-name-case"):
            op.set("name", (op.get("name") or "monitor").capitalize())
    for ticket in root.iter("rsc_ticket"):
        if chance(0.3, "ticket-junk"):
            ticket.set(rnd.choice(("loss-policy", "rsc-role")),
                       rnd.choice(("bogus", "Fence", "STOP", "demote", "Master", "")))


def generate(seed: int) -> tuple[str, set[str]]:
    """The CIB of one seed and the feature tags it exercises (cibgen's and this one's)."""
    text, features = cibgen.generate(seed)
    root = ET.fromstring(text)
    features = set(features) | {"schema-none"}
    _mutate(root, random.Random(seed * 7919 + 104729), features)
    return ET.tostring(root, encoding="unicode") + "\n", features


def main(argv: list[str]) -> int:
    return cibgen.main(argv, generate, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
