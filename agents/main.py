"""Entry point of every installed agent: `run(name, argv)` imports only the agent asked for."""

from __future__ import annotations

import importlib

# installed name -> (module, function); "legacy:<Name>" are the heartbeat-class scripts
OCF_AGENTS: dict[str, tuple[str, str]] = {
    "Dummy": ("agents.dummy", "main"),
    "IPaddr2": ("agents.ipaddr2", "main"),
    "IPaddr": ("agents.ipaddr2", "main_ipaddr"),
    "Filesystem": ("agents.filesystem", "main"),
    "daemon": ("agents.daemon", "main"),
}
LEGACY_SCRIPTS = ("IPaddr", "IPaddr2", "Filesystem")
# run by the lrmd itself, never installed as OCF agents: the `stonith` class (fence devices)
INTERNAL_AGENTS: dict[str, tuple[str, str]] = {"stonith-device": ("agents.stonithdevice", "main")}


def load(name: str) -> None:
    """Import agent `name` now (the lrmd does before it forks a copy of itself to run it, so the
    copy starts with the code loaded and the lrmd keeps only the agents its node uses)."""
    if name.startswith("legacy:"):
        from agents import legacy  # noqa: F401
        return
    importlib.import_module((OCF_AGENTS.get(name) or INTERNAL_AGENTS[name])[0])


def run(name: str, argv: list[str]) -> int:
    if name.startswith("legacy:"):
        from agents import legacy

        return legacy.main(name.split(":", 1)[1], argv)
    module, function = OCF_AGENTS.get(name) or INTERNAL_AGENTS[name]
    return int(getattr(importlib.import_module(module), function)(argv))
