"""Finding fence device programs on this machine (used by stonithd's shell and the `stonith` tool).

External plugins are looked for in the stack's own directory first (`stonithd/external`: the
devices this project ships, `external/ssh` and `external/lab`), then cluster-glue's; fence agents
in /usr/sbin and /sbin. `PYHB_STONITH_EXTERNAL_DIRS` and `PYHB_FENCE_AGENT_DIRS` (colon-separated)
replace those lists. Like cluster-glue, an external plugin writable by group or others is refused.
"""

from __future__ import annotations

import os

from stonithd import plugins
from stonithd.plugins import EXTERNAL, FENCE, Plugin

OWN_EXTERNAL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "external")
EXTERNAL_DIRS = (OWN_EXTERNAL_DIR, "/usr/lib/stonith/plugins/external", "/usr/lib64/stonith/plugins/external")
FENCE_DIRS = ("/usr/sbin", "/sbin")
BAD_CONFIG, UNKNOWN_TYPE = "badconfig", "unknown"


class LocateError(Exception):
    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why  # BAD_CONFIG | UNKNOWN_TYPE


def dirs(variable: str, default: tuple[str, ...]) -> list[str]:
    value = os.environ.get(variable)
    return [d for d in value.split(":") if d] if value else list(default)


def _runnable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _listdir(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


def list_types() -> list[str]:
    found: set[str] = set()
    for directory in dirs("PYHB_STONITH_EXTERNAL_DIRS", EXTERNAL_DIRS):
        for name in _listdir(directory):
            if _runnable(os.path.join(directory, name)) and plugins.kind_of(f"external/{name}") == EXTERNAL:
                found.add(f"external/{name}")
    for directory in dirs("PYHB_FENCE_AGENT_DIRS", FENCE_DIRS):
        for name in _listdir(directory):
            if plugins.kind_of(name) == FENCE and _runnable(os.path.join(directory, name)):
                found.add(name)
    return sorted(found)


def find(type_name: str) -> Plugin:
    kind = plugins.kind_of(type_name)
    if kind == EXTERNAL:
        where, name = dirs("PYHB_STONITH_EXTERNAL_DIRS", EXTERNAL_DIRS), type_name[len("external/"):]
    elif kind == FENCE:
        where, name = dirs("PYHB_FENCE_AGENT_DIRS", FENCE_DIRS), type_name
    else:
        raise LocateError(f"invalid device type '{type_name}': this stack runs external/* plugins and fence_* "
                          "agents", UNKNOWN_TYPE)
    for directory in where:
        path = os.path.join(directory, name)
        if _runnable(path):
            if kind == EXTERNAL and os.stat(path).st_mode & 0o022:
                raise LocateError(f"{path} is writable by group or others: cluster-glue refuses to run it, so do we",
                                  BAD_CONFIG)
            return Plugin(type_name, kind, path)
    raise LocateError(f"invalid device type '{type_name}': no executable {name} in {', '.join(where)}", UNKNOWN_TYPE)
