"""haresources -> CIB: one group per line in order, preferred node, auto_failback as stickiness.

The translated CIB is run through our own engine: both nodes up places each group on its node;
after a failover to node1, node2 coming back gets its group back with auto_failback on and not
with auto_failback off.
"""

from __future__ import annotations

import io
import json
import pathlib
import shutil
import subprocess

import pytest

from core.cib.haresources import haresources_to_cib
from core.cib.xmltree import parse_xml, to_xml
from core.config.haresources import parse_haresources
from pengine import haresources2cib
from pengine.simulate import run

HARESOURCES = """\
node1 198.18.0.100/24/eth0 Filesystem::/dev/sdb1::/data::ext4 \\
      httpd
node2 IPaddr2::198.18.0.101/24/eth0 tomcat::8080
"""


def _simulate(cib: pathlib.Path, *args: str) -> dict:
    out = io.StringIO()
    assert run(["-x", str(cib), "--json", *args], stdout=out) == 0
    return json.loads(out.getvalue())


def _translate(tmp_path: pathlib.Path, auto_failback: str) -> pathlib.Path:
    src = tmp_path / "haresources"
    src.write_text(HARESOURCES)
    dst = tmp_path / f"cib-{auto_failback}.xml"
    assert haresources2cib.main([str(src), "-o", str(dst), "--auto-failback", auto_failback]) == 0
    return dst


def test_structure_groups_in_order_with_location_and_stickiness():
    groups = parse_haresources(HARESOURCES)
    cib, warnings = haresources_to_cib(groups, "off", ["node1", "node2"])
    assert warnings == []
    again = parse_xml(to_xml(cib))
    res = again.find("configuration").find("resources")
    assert [g.get("id") for g in res] == ["group_1", "group_2"]
    assert [p.get("id") for p in res.children[0]] == ["IPaddr_198_18_0_100", "Filesystem", "httpd"]
    assert [p.get("type") for p in res.children[1]] == ["IPaddr2", "tomcat"]
    ip = res.children[0].children[0]
    params = {nv.get("name"): nv.get("value") for nv in ip.find("instance_attributes")}
    assert params == {"ip": "198.18.0.100", "cidr_netmask": "24", "nic": "eth0"}
    tomcat = res.children[1].children[1]
    assert tomcat.get("class") == "heartbeat"
    assert [nv.get("value") for nv in tomcat.find("instance_attributes")] == ["8080"]
    exprs = [e.get("value") for e in again.iter("expression")]
    assert exprs == ["node1", "node2"]
    sticky = [nv.get("value") for nv in again.find("configuration").find("rsc_defaults").iter("nvpair")]
    assert sticky == ["INFINITY"]


def test_legacy_warns_and_too_many_arguments_is_an_error():
    _, warnings = haresources_to_cib(parse_haresources("n1 httpd\n"), "legacy")
    assert warnings and "legacy" in warnings[0]
    with pytest.raises(ValueError, match=r"haresources:2: .*Filesystem takes at most 4"):
        haresources_to_cib(parse_haresources("n1 httpd\nn1 Filesystem::a::b::c::d::e\n"))


def test_both_nodes_up_each_group_on_its_node(tmp_path):
    result = _simulate(_translate(tmp_path, "on"), "-u", "node1", "-u", "node2")
    assert result["placement"] == {"IPaddr_198_18_0_100": "node1", "Filesystem": "node1",
                                   "httpd": "node1", "IPaddr2_198_18_0_101": "node2",
                                   "tomcat": "node2"}


@pytest.mark.parametrize("auto_failback,back", [("on", True), ("off", False)])
def test_auto_failback(tmp_path, auto_failback, back):
    cib = _translate(tmp_path, auto_failback)
    failed_over = tmp_path / "after.xml"
    assert run(["-x", str(cib), "-u", "node1", "-S", "-O", str(failed_over)],
               stdout=io.StringIO()) == 0
    placement = _simulate(failed_over)["placement"]
    assert set(placement.values()) == {"node1"}
    result = _simulate(failed_over, "-u", "node2")
    expected = "node2" if back else "node1"
    assert result["placement"]["tomcat"] == expected
    assert result["placement"]["httpd"] == "node1"
    if back:
        assert "tomcat_stop_node1" in result["actions"] and "tomcat_start_node2" in result["actions"]
    else:
        assert result["actions"] == []


def _summary(text: str) -> set[str]:
    lines = text.split("Transition Summary:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return {" ".join(line.split()) for line in lines if line.strip()}


@pytest.mark.compat
@pytest.mark.skipif(shutil.which("crm_simulate") is None, reason="crm_simulate not installed")
def test_pacemaker_agrees_on_the_translation(tmp_path):
    cib = _translate(tmp_path, "on")
    args = ["-x", str(cib), "-u", "node1", "-u", "node2", "-S"]
    proc = subprocess.run(["crm_simulate", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    ours = io.StringIO()
    assert run(args, stdout=ours) == 0
    assert len(_summary(proc.stdout)) == 5
    assert _summary(ours.getvalue()) == _summary(proc.stdout)
