"""Every kind of CIB object with bad attribute values, created through `cibadmin -C` in a running
two-node `crm yes` cluster on loopback (test_crm_tools' cluster, no root): each is either taken
(and deleted again) or refused with one clear error, and nothing already running is lost: no
daemon of either node restarts, and d1 and d2 keep running where they ran."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re

from core.daemon import read_pidfile

_SPEC = importlib.util.spec_from_file_location("crm_tools_cluster",
                                               pathlib.Path(__file__).with_name("test_crm_tools.py"))
crmtools = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(crmtools)  # its cluster fixture and tool helpers (not its tests)
crm, located, tool = crmtools.crm, crmtools.located, crmtools.tool

BAD_VALUES = ["", "INFINITY+1", "x" * 2000, "a b <&"]
# one object of each kind, with {v} where the attribute under test goes
OBJECTS = {
    "resources": ['<primitive id="{i}" class="ocf" provider="pyheartbeat" type="Dummy"/>',
                  '<group id="{i}"><primitive id="{i}-p" class="ocf" provider="pyheartbeat" type="Dummy"/></group>',
                  '<clone id="{i}"><primitive id="{i}-p" class="ocf" provider="pyheartbeat" type="Dummy"/></clone>',
                  '<primitive id="{i}" class="ocf" provider="pyheartbeat" type="Dummy">'
                  '<operations><op id="{i}-op" name="monitor" interval="10s" timeout="20s"/></operations>'
                  '<meta_attributes id="{i}-m"><nvpair id="{i}-n" name="target-role" value="Stopped"/>'
                  '</meta_attributes></primitive>'],
    "constraints": ['<rsc_location id="{i}" rsc="d1" node="node1" score="10"/>',
                    '<rsc_colocation id="{i}" rsc="d1" with-rsc="d2" score="0"/>',
                    '<rsc_order id="{i}" first="d1" then="d2" kind="Optional"/>'],
    "crm_config": ['<cluster_property_set id="{i}"><nvpair id="{i}-n" name="no-quorum-policy" value="stop"/>'
                   '</cluster_property_set>'],
}
ATTRIBUTE = re.compile(r' ([a-z-]+)="([^"]*)"')
CLEAR = re.compile(r"^(Call failed: .+|cibadmin: .+|.+:\d+: (error|warning): <[a-z_]+( id=\"[^\"]*\")?>: .+)$")


# every bad value for every attribute with PYHB_CIB_FUZZ=full (about 240 inputs, 1-2 min);
# by default each attribute gets two of them, rotating, so every value meets every object kind
FULL = os.environ.get("PYHB_CIB_FUZZ") == "full"


def variants(template: str):
    """The template with each attribute but the first id in turn set to bad values."""
    spots = [m for m in ATTRIBUTE.finditer(template) if not (m.group(1) == "id" and m.start() == template.index(" id="))]
    for k, spot in enumerate(spots):
        chosen = BAD_VALUES if FULL or spot.group(1) == "id" else \
            [BAD_VALUES[(2 * k) % len(BAD_VALUES)], BAD_VALUES[(2 * k + 1) % len(BAD_VALUES)]]
        for value in chosen:
            escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
            yield spot.group(1), value, template[:spot.start(2)] + escaped + template[spot.end(2):]


def test_cib_objects_with_bad_attributes_are_refused_clearly_and_nothing_running_is_lost(crm):  # noqa: F811
    node1, node2 = crm
    where = {rsc: located(node1, rsc) for rsc in ("d1", "d2")}
    pids = {(n.name, d): read_pidfile(n.paths.pidfile(d)) for n in crm for d in crmtools.DAEMONS}
    tried = taken = refused = 0
    unclear = []
    for section, templates in OBJECTS.items():
        for t, template in enumerate(templates):
            for n, (attribute, value, xml) in enumerate(variants(template)):
                ident = f"fz{t}x{n}"
                xml = xml.replace("{i}", ident)
                tried += 1
                done = tool(node1 if n % 2 else node2, "cibadmin", "-C", "-o", section, "-X", xml)
                if attribute == "id" and (not value or " " in value):
                    assert done.returncode != 0, f"an unusable id was taken: {xml[:200]}"
                if done.returncode == 0:
                    taken += 1
                    tag = xml[1:xml.index(" ")]
                    gone = tool(node1, "cibadmin", "-D", "-o", section, "-X", f'<{tag} id="{ident}"/>')
                    assert gone.returncode == 0, gone.stderr
                    continue
                refused += 1
                lines = done.stderr.splitlines()
                if not lines or not all(CLEAR.match(line) for line in lines) or "Traceback" in done.stderr:
                    unclear.append((attribute, xml[:120], done.returncode, done.stderr[-400:]))
    print(f"\nCIB objects tried {tried}: taken {taken}, refused {refused}, unclear {len(unclear)}")
    assert unclear == []
    assert tried > (200 if FULL else 60)
    now = {(n.name, d): read_pidfile(n.paths.pidfile(d)) for n in crm for d in crmtools.DAEMONS}
    assert now == pids, "a daemon restarted"
    crmtools.wait_until(lambda: {rsc: located(node1, rsc) for rsc in ("d1", "d2")} == where,
                        "d1 and d2 running where they ran", show=lambda: crmtools.logs(crm))
    assert all(len(nodes) == 1 for nodes in where.values())
