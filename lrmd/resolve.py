"""Where the agent of a resource is and how to call it (the lrmd shell's file-system side).

`Resolver.plan()` turns (class, provider, type, operation, params) into an argv and a few extra
environment values, or an exec error with a class (`missing`, `permission`) that the core maps
to an OCF result. Listing of providers and types for `hb lrm` lives here too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Optional

from lrmd.ocf import agent_action, heartbeat_args, ocf_agent_path


@dataclass(frozen=True)
class Plan:
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    error: Optional[str] = None
    error_class: str = ""


def python_agent_argv(name: str) -> list[str]:
    """argv prefix that runs our Python agent `name` with this interpreter."""
    from agents.install import agent_argv

    return agent_argv(name)


class Resolver:
    def __init__(self, ocf_roots: list[str], lsb_dir: str, heartbeat_dirs: list[str]) -> None:
        assert ocf_roots
        self.ocf_roots = ocf_roots
        self.lsb_dir = lsb_dir
        self.heartbeat_dirs = heartbeat_dirs

    def find_ocf(self, provider: str, rsc_type: str) -> Optional[tuple[str, str]]:
        for root in self.ocf_roots:
            path = ocf_agent_path(root, provider, rsc_type)
            if os.path.exists(path):
                return root, path
        return None

    def script_path(self, rsc_class: str, rsc_type: str) -> Optional[str]:
        dirs = [self.lsb_dir] if rsc_class == "lsb" else self.heartbeat_dirs
        for directory in dirs:
            path = os.path.join(directory, rsc_type)
            if os.path.isfile(path):
                return path
        return None

    def is_init_script(self, rsc_type: str) -> bool:
        return "/" not in rsc_type and " " not in rsc_type and self.script_path("lsb", rsc_type) is not None

    def plan(self, rsc_class: str, provider: str, rsc_type: str, operation: str,
             params: Mapping[str, str]) -> Plan:
        action = agent_action(rsc_class, operation)
        if rsc_class == "ocf":
            found = self.find_ocf(provider, rsc_type)
            if found is None:
                return Plan(error=f"ocf:{provider}:{rsc_type} is not installed (searched "
                                  f"{', '.join(self.ocf_roots)})", error_class="missing")
            root, path = found
            return Plan([path, action], {"OCF_ROOT": root})
        if rsc_class in ("lsb", "heartbeat"):
            path = self.script_path(rsc_class, rsc_type)
            if path is None:
                where = self.lsb_dir if rsc_class == "lsb" else ", ".join(self.heartbeat_dirs)
                return Plan(error=f"{rsc_class}:{rsc_type} is not installed (searched {where})",
                            error_class="missing")
            args = heartbeat_args(params) if rsc_class == "heartbeat" else []
            return Plan([path, *args, action])
        if rsc_class == "service":
            env: dict[str, str] = {}
            if self.is_init_script(rsc_type):
                env["OCF_RESKEY_init_script"] = os.path.join(self.lsb_dir, rsc_type)
            elif "command" not in params:
                env["OCF_RESKEY_command"] = rsc_type
            return Plan(python_agent_argv("daemon") + [operation], env)
        if rsc_class == "stonith":  # fence devices: agents.stonithdevice
            return Plan(python_agent_argv("stonith-device") + [operation], {"PYHB_STONITH_TYPE": rsc_type})
        return Plan(error=f"unknown class {rsc_class}", error_class="other")

    # -- listings ------------------------------------------------------------------------------
    def providers(self, rsc_type: Optional[str] = None) -> list[str]:
        found: set[str] = set()
        for root in self.ocf_roots:
            base = os.path.join(root, "resource.d")
            for provider in _listdir(base):
                if not os.path.isdir(os.path.join(base, provider)):
                    continue
                if rsc_type is None or os.path.exists(os.path.join(base, provider, rsc_type)):
                    found.add(provider)
        return sorted(found)

    def types(self, rsc_class: str, provider: Optional[str] = None) -> list[str]:
        found: set[str] = set()
        if rsc_class == "ocf":
            for root in self.ocf_roots:
                base = os.path.join(root, "resource.d")
                for prov in ([provider] if provider else _listdir(base)):
                    found.update(_executables(os.path.join(base, prov)))
        elif rsc_class in ("lsb", "service"):
            found.update(_executables(self.lsb_dir))
        elif rsc_class == "heartbeat":
            for directory in self.heartbeat_dirs:
                found.update(_executables(directory))
        return sorted(found)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _executables(directory: str) -> list[str]:
    out = []
    for name in _listdir(directory):
        path = os.path.join(directory, name)
        if not name.startswith(".") and os.path.isfile(path) and os.access(path, os.X_OK):
            out.append(name)
    return out
