"""Fence device programs in the two shapes people have, as pure descriptions: what to run for an
operation, and what its exit status and output mean. Nothing here runs anything.

cluster-glue `external/*` plugins (lib/plugins/stonith/README.external): `PLUGIN OP [HOST]` with
OP one of `gethosts`, `on|off|reset HOST`, `status`, `getconfignames`, `getinfo-xml` (and other
`getinfo-*`); the device parameters come as environment variables named as `getconfignames`
lists them; exit 0 is success.

fence-agents `fence_*` programs (fence-agents doc/FenceAgentAPI.md): `name=value` lines on stdin,
`action=` on|off|reboot|status|list|monitor|metadata; the target as `nodename=` and, where the
agent has such a parameter, `port=` (or `plug=`, or what `pcmk_host_argument` names); exit 0 is
success, and for `status` 0 means on, 2 off, anything else an error; `list` prints `port[,alias]`
lines.

The operations callers use are the same for both (`OPERATIONS`); `reset` is a fence agent's
`reboot`, `gethosts` its `list`, `status` (of the device) its `monitor`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from core.cib.xmltree import parse_xml
from core.errors import ConfigError

EXTERNAL = "external"
FENCE = "fence"
OPERATIONS = ("reset", "on", "off", "status", "gethosts", "getconfignames", "metadata", "target-status")
TARGET_OPS = ("reset", "on", "off", "target-status")
_FENCE_ACTION = {"reset": "reboot", "on": "on", "off": "off", "status": "monitor", "gethosts": "list",
                 "getconfignames": "metadata", "metadata": "metadata", "target-status": "status"}
_EXTERNAL_OP = {"reset": "reset", "on": "on", "off": "off", "status": "status", "gethosts": "gethosts",
                "getconfignames": "getconfignames", "metadata": "getinfo-xml"}
# parameters Pacemaker keeps for itself: never handed to a device program
_PACEMAKER_PARAM = re.compile(r"^pcmk_|^priority$|^provides$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*\Z")


@dataclass(frozen=True)
class Plugin:
    """A device type as users write it (`external/ssh`, `fence_ipmilan`) and its program."""

    type_name: str
    kind: str  # EXTERNAL | FENCE
    path: str


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    env: dict[str, str]  # added to the caller's environment
    stdin: Optional[str]  # None: /dev/null


@dataclass(frozen=True)
class Outcome:
    ok: bool
    hosts: list[str] = field(default_factory=list)  # gethosts
    names: list[str] = field(default_factory=list)  # getconfignames
    power: Optional[str] = None  # target-status: "on" | "off"
    detail: str = ""  # what the program printed
    rc: int = 0


def kind_of(type_name: str) -> Optional[str]:
    """EXTERNAL, FENCE, or None for a type this stack does not run (cluster-glue's compiled-in
    plugins such as `apcmaster`)."""
    if type_name.startswith("external/") and _NAME.match(type_name[len("external/"):]):
        return EXTERNAL
    if type_name.startswith("fence_") and _NAME.match(type_name):
        return FENCE
    return None


def device_params(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if not _PACEMAKER_PARAM.match(k)}


def host_argument(params: dict[str, str], agent_params: list[str]) -> Optional[str]:
    """The parameter a fence agent gets the target in, besides `nodename`: `pcmk_host_argument`
    when set (`none`: no such parameter), else `port`, else `plug`, as far as the agent has it."""
    chosen = params.get("pcmk_host_argument")
    if chosen is not None:
        return None if chosen == "none" else chosen
    for name in ("port", "plug"):
        if name in agent_params:
            return name
    return None


def invocation(plugin: Plugin, op: str, params: dict[str, str], host: Optional[str] = None,
               agent_params: Optional[list[str]] = None) -> Invocation:
    """What to run for `op` (one of OPERATIONS). `host` is the target of reset/on/off and
    target-status; `agent_params`, a fence agent's own parameter names (from its metadata), say
    whether it takes the target as `port` or `plug`."""
    if op not in OPERATIONS:
        raise ValueError(f"unknown stonith operation {op!r}")
    if (op in TARGET_OPS) != (host is not None):
        raise ValueError(f"{op}: {'a target is needed' if op in TARGET_OPS else 'no target is taken'}")
    own = device_params(params)
    if plugin.kind == EXTERNAL:
        if op == "target-status":
            raise ValueError("external plugins cannot report one host's power state")
        argv = [plugin.path, _EXTERNAL_OP[op]] + ([host] if host is not None else [])
        return Invocation(argv, dict(own), None)
    action = _FENCE_ACTION[op]
    lines = [f"action={action}"]
    if host is not None:
        lines.append(f"nodename={host}")
        target_param = host_argument(params, agent_params or [])
        if target_param is not None and target_param not in own:
            own = {**own, target_param: host}
    lines += [f"{k}={v}" for k, v in own.items() if k not in ("action", "nodename")]
    return Invocation([plugin.path], {}, "\n".join(lines) + "\n")


def interpret(plugin: Plugin, op: str, rc: int, stdout: str) -> Outcome:
    """What an exit status and output mean for `op`."""
    text = stdout.strip()
    if op == "target-status":
        if rc == 0:
            return Outcome(True, power="on", detail=text)
        if rc == 2:
            return Outcome(True, power="off", detail=text)
        return Outcome(False, detail=text, rc=rc)
    if rc != 0:
        return Outcome(False, detail=text, rc=rc)
    if op == "gethosts":
        if plugin.kind == EXTERNAL:
            hosts = [w for line in text.splitlines() for w in line.split()]
        else:
            hosts = [line.split(",")[0].strip() for line in text.splitlines() if line.strip()]
        return Outcome(True, hosts=[h for h in hosts if h], detail=text)
    if op == "getconfignames":
        if plugin.kind == EXTERNAL:
            return Outcome(True, names=text.split(), detail=text)
        return Outcome(True, names=metadata_params(text), detail=text)
    return Outcome(True, detail=text)


def metadata_params(xml: str) -> list[str]:
    """A fence agent's parameter names, from its metadata, without the deprecated ones and
    those every agent has for the fencer (action) or for debugging."""
    try:
        root = parse_xml(xml, "<metadata>")
    except ConfigError:
        return []
    names: list[str] = []
    for param in root.iter("parameter"):
        name = param.get("name") or ""
        if not name or name in ("action", "help", "version", "verbose", "verbose_level", "debug",
                                "debug_file", "quiet") or param.get("deprecated") == "1":
            continue
        if name not in names:
            names.append(name)
    return names


def positional_params(names: list[str], words: list[str]) -> dict[str, str]:
    """cluster-glue's `-p "v1 v2 ..."`: values in the order of the device's config names; the
    last name takes the rest of the words (a host list)."""
    if not names:
        raise ValueError("this device type names no parameters, so -p cannot be used")
    if len(words) < len(names):
        raise ValueError(f"-p needs {len(names)} values ({' '.join(names)}), got {len(words)}")
    values = words[:len(names) - 1] + [" ".join(words[len(names) - 1:])]
    return dict(zip(names, values))
