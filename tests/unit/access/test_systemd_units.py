"""The systemd units keep the privileges docs/security.md's table gives each daemon, no more."""

from __future__ import annotations

import pathlib

UNITS = pathlib.Path(__file__).resolve().parents[3] / "systemd"
STRICT = ("ccm", "pengine", "tengine", "crmd", "logd", "messaging")
UNRESTRICTED = ("lrmd", "respawn")  # agents and respawned programs: documented why


def settings(name: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (UNITS / f"pyheartbeat-{name}.service").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            found[key.strip()] = value.strip()
    return found


def caps(name: str) -> set[str]:
    return set(settings(name).get("CapabilityBoundingSet", "ALL").split())


def test_the_daemons_without_agents_run_confined():
    for name in STRICT:
        s = settings(name)
        assert s.get("NoNewPrivileges") == "yes" and s.get("ProtectSystem") == "strict", name
        assert s.get("ProtectHome") == "yes" and s.get("PrivateTmp") == "yes", name
        assert "CAP_CHOWN" in caps(name), name  # the sockets go to root:haclient
    s = settings("stonithd")
    assert s.get("NoNewPrivileges") == "yes" and s.get("ProtectSystem") == "full" and "ProtectHome" not in s


def test_network_capabilities_only_where_a_daemon_needs_them():
    for name in STRICT + ("stonithd",):
        assert "CAP_NET_ADMIN" not in caps(name), name
        assert ("CAP_NET_RAW" in caps(name)) == (name in ("messaging", "stonithd")), name
    assert {"CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_NICE", "CAP_IPC_LOCK"} <= caps("messaging")
    for name in ("ccm", "pengine", "tengine", "crmd", "logd"):
        assert caps(name) == {"CAP_CHOWN"}, name
        assert settings(name).get("RestrictAddressFamilies") == "AF_UNIX", name


def test_the_agents_daemons_are_left_whole_on_purpose():
    for name in UNRESTRICTED:
        s = settings(name)
        assert "CapabilityBoundingSet" not in s and "ProtectSystem" not in s and "NoNewPrivileges" not in s, name


def test_haclient_comes_from_sysusers():
    assert "g haclient -" in (UNITS / "pyheartbeat.sysusers.conf").read_text()
