"""The legacy heartbeat resource scripts (/etc/ha.d/resource.d/<Name> arg... {start|stop|status}),
as haresources uses them: positional arguments become OCF parameters of our agents.

    IPaddr     ip[/cidr[/nic[/broadcast]]]
    IPaddr2    ip[/cidr[/nic[/broadcast]]]
    Filesystem device directory [fstype [options]]

`status` prints "running" or "stopped" (heartbeat judges status by these words) and exits 0 or 3.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

from agents import ocfagent as ocf

USAGE = {
    "IPaddr": "ip[/cidr[/nic[/broadcast]]]",
    "IPaddr2": "ip[/cidr[/nic[/broadcast]]]",
    "Filesystem": "device directory [fstype [options]]",
}


def _positional(name: str, args: list[str]) -> dict[str, str]:
    if name in ("IPaddr", "IPaddr2"):
        if len(args) != 1:
            raise ValueError
        return {"ip": args[0]}
    if name == "Filesystem":
        if not 2 <= len(args) <= 4:
            raise ValueError
        keys = ("device", "directory", "fstype", "options")
        return {k: v for k, v in zip(keys, args)}
    raise ValueError


def _agent(name: str) -> tuple[object, dict[str, Callable]]:
    if name == "IPaddr":
        from agents.ipaddr2 import IPADDR_HANDLERS, IPADDR_SPEC
        return IPADDR_SPEC, IPADDR_HANDLERS
    if name == "IPaddr2":
        from agents.ipaddr2 import IPADDR2_HANDLERS, IPADDR2_SPEC
        return IPADDR2_SPEC, IPADDR2_HANDLERS
    from agents.filesystem import HANDLERS, SPEC
    return SPEC, HANDLERS


def main(name: str, argv: list[str]) -> int:
    if not argv or argv[-1] in ("usage", "help") or name not in USAGE:
        print(f"usage: {name} {USAGE.get(name, '...')} {{start|stop|status|monitor}}")
        return 0 if argv and argv[-1] in ("usage", "help") else 1
    action, args = argv[-1], argv[:-1]
    if action == "meta-data":
        spec, handlers = _agent(name)
        return ocf.run(spec, handlers, ["meta-data"])  # type: ignore[arg-type]
    try:
        params = _positional(name, args)
    except ValueError:
        print(f"usage: {name} {USAGE[name]} {{start|stop|status|monitor}}", file=sys.stderr)
        return 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCF_RESKEY_")}
    env.update({f"OCF_RESKEY_{k}": v for k, v in params.items()})
    env.setdefault("OCF_ROOT", "/usr/lib/ocf")
    env["OCF_RESOURCE_INSTANCE"] = f"{name}_{args[0].split('/')[0]}".replace("/", "_")
    env.setdefault("OCF_RESKEY_CRM_meta_timeout", "60000")
    spec, handlers = _agent(name)
    ocf_action = "monitor" if action in ("status", "monitor") else action
    if ocf_action not in ("start", "stop", "monitor"):
        print(f"{name}: unknown action {action}", file=sys.stderr)
        return 1
    rc = ocf.run(spec, handlers, [ocf_action], env=env)  # type: ignore[arg-type]
    if ocf_action == "monitor":
        if rc == ocf.OCF_SUCCESS:
            print("running")
            return 0
        print("stopped" if rc == ocf.OCF_NOT_RUNNING else f"ERROR: rc {rc}")
        return 3 if rc == ocf.OCF_NOT_RUNNING else 1
    if rc != ocf.OCF_SUCCESS:
        print(f"ERROR: {name} {action} failed (rc {rc})", file=sys.stderr)
        return 1
    return 0
