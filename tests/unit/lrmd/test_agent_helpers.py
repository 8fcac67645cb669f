"""Pure parts of our agents: meta-data, parameter parsing, legacy IP syntax, findif, ARP frames,
/proc/mounts parsing."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import ipspec, mounts
from agents.metadata import ParamError, metadata_xml, parse_time_ms, resolve_params
from agents.main import OCF_AGENTS

DTD_DIR = "/usr/share/resource-agents"


def _spec(name):
    import importlib

    module = importlib.import_module(OCF_AGENTS[name][0])
    return getattr(module, "SPEC", None) or getattr(module, "IPADDR_SPEC" if name == "IPaddr" else "IPADDR2_SPEC")


@pytest.mark.parametrize("name", sorted(OCF_AGENTS))
def test_metadata_is_well_formed_and_lists_required_actions(name):
    spec = _spec(name)
    root = ET.fromstring(metadata_xml(spec).split("\n", 2)[2])
    assert root.tag == "resource-agent" and root.get("name") == spec.name
    actions = {a.get("name") for a in root.find("actions")}
    assert {"start", "stop", "monitor", "meta-data", "validate-all"} <= actions
    assert [p.get("name") for p in root.find("parameters")] == [p.name for p in spec.params]


@pytest.mark.compat
@pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint not installed")
@pytest.mark.parametrize("name", sorted(OCF_AGENTS))
def test_metadata_validates_against_ra_api_dtd(name):
    proc = subprocess.run(["xmllint", "--noout", "--valid", "-"], input=metadata_xml(_spec(name)),
                          text=True, capture_output=True, cwd=DTD_DIR, timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_resolve_params_applies_defaults_and_checks_types():
    spec = _spec("Dummy")
    assert resolve_params(spec, {})["fake"] == "dummy"
    assert resolve_params(spec, {"op_sleep": "3", "x": "y"})["x"] == "y"
    with pytest.raises(ParamError):
        resolve_params(spec, {"op_sleep": "three"})
    with pytest.raises(ParamError):
        resolve_params(_spec("IPaddr2"), {})


@settings(deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["", "s", "ms", "min", "h"]))
def test_time_values(value, unit):
    factor = {"": 1000, "s": 1000, "ms": 1, "min": 60_000, "h": 3_600_000}[unit]
    assert parse_time_ms(f"{value}{unit}") == value * factor


ips = st.ip_addresses(v=4).map(str)
ifnames = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)


@settings(deadline=None)
@given(ips, st.integers(1, 32), ifnames, ips)
def test_legacy_ip_form_round_trips(ip, prefix, nic, bcast):
    assert ipspec.parse_legacy(f"{ip}/{prefix}/{nic}/{bcast}") == ipspec.LegacyIp(ip, str(prefix), nic, bcast)
    assert ipspec.parse_legacy(f"{ip}/{prefix}/{bcast}") == ipspec.LegacyIp(ip, str(prefix), "", bcast)
    assert ipspec.parse_legacy(f"{ip}/{prefix}") == ipspec.LegacyIp(ip, str(prefix))
    assert ipspec.parse_legacy(ip) == ipspec.LegacyIp(ip)


@settings(deadline=None)
@given(st.integers(1, 32))
def test_netmask_forms_agree(prefix):
    dotted = str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask)
    assert ipspec.prefix_len(str(prefix)) == ipspec.prefix_len(dotted) == prefix


@pytest.mark.parametrize("bad", ["0", "33", "255.0.255.0", "x", "-1"])
def test_bad_netmasks_are_rejected(bad):
    with pytest.raises(ParamError):
        ipspec.prefix_len(bad)


@pytest.mark.parametrize("bad", ["1.2.3", "::1", "224.0.0.1", "0.0.0.0", "a.b.c.d"])
def test_bad_service_addresses_are_rejected(bad):
    with pytest.raises(ParamError):
        ipspec.check_ipv4(bad)


def test_find_interface_prefers_the_most_specific_connected_route():
    routes = [ipspec.Route("0.0.0.0", 0, "eth0", gateway="10.0.0.1"),
              ipspec.Route("10.0.0.0", 8, "eth0"),
              ipspec.Route("10.1.0.0", 16, "eth1"),
              ipspec.Route("10.1.2.0", 24, "eth2", gateway="10.1.0.1"),
              ipspec.Route("10.1.3.3", 32, "eth3", table=255)]
    assert ipspec.find_interface("10.1.2.3", routes) == ("eth1", 16)
    assert ipspec.find_interface("10.9.9.9", routes) == ("eth0", 8)
    assert ipspec.find_interface("10.1.2.3", routes, nic="eth0") == ("eth0", 8)
    assert ipspec.find_interface("192.168.1.1", routes) is None


def test_labels():
    assert ipspec.make_label("eth0", "vip") == "eth0:vip"
    with pytest.raises(ParamError):
        ipspec.make_label("eth0", "averyverylonglabel")
    assert ipspec.free_alias_label("eth0", ["eth0", "eth0:0", "eth0:1"]) == "eth0:2"
    assert ipspec.broadcast_for("10.0.0.5", 24) == "10.0.0.255"
    assert ipspec.broadcast_for("10.0.0.5", 32) is None
    assert ipspec.broadcast_for("10.0.0.5", 24, "-") is None


@settings(deadline=None)
@given(st.binary(min_size=6, max_size=6), ips, st.booleans())
def test_gratuitous_arp_frames(mac, ip, reply):
    frame = ipspec.arp_frame(mac, ip, reply)
    assert len(frame) == 60
    fields = ipspec.parse_arp_frame(frame)
    assert fields["dst"] == "ff:ff:ff:ff:ff:ff"
    assert fields["oper"] == (2 if reply else 1)
    assert fields["sha"] == mac.hex(":") and fields["spa"] == fields["tpa"] == ip


paths = st.lists(st.text(alphabet=st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)),
                         min_size=1, max_size=8), min_size=1, max_size=4).map(lambda p: "/" + "/".join(p))


@settings(deadline=None)
@given(paths, paths)
def test_proc_mounts_escapes_round_trip(device, mountpoint):
    line = f"{mounts.escape(device)} {mounts.escape(mountpoint)} ext4 rw,relatime 0 0\n"
    (entry,) = mounts.parse_mounts("rootfs / rootfs rw 0 0\n" + line)[1:]
    assert (entry.device, entry.mountpoint) == (device, mountpoint)
    assert mounts.find_mount(mounts.parse_mounts(line), mountpoint + "/") == entry


def test_under():
    assert mounts.under("/mnt/data/x", "/mnt/data")
    assert mounts.under("/mnt/data", "/mnt/data/")
    assert not mounts.under("/mnt/database", "/mnt/data")
