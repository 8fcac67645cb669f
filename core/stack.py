"""Which daemons make up a node's stack, in start order (stopped in reverse).

A daemon is part of the stack only once its package provides `<package>/daemon.py` with a
`main(argv)`; the launcher and the systemd units are generated from this one table.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from core.config import HaConfig


@dataclass(frozen=True)
class DaemonSpec:
    name: str  # process and socket name
    module: str  # module with main(argv) -> int
    crm_only: bool  # only with `crm yes` / `pacemaker respawn`
    description: str
    stop_wait_s: float = 15.0  # how long the launcher waits for it to stop before SIGKILL


STACK: tuple[DaemonSpec, ...] = (
    DaemonSpec("logd", "logd.daemon", False, "ha-logd: cluster event logging"),
    DaemonSpec("messaging", "messaging.daemon", False, "heartbeat messaging layer"),
    DaemonSpec("ccm", "ccm.daemon", False, "consensus cluster membership"),
    # the resource layer runs whatever `crm` says: with `crm off` crmd derives its CIB from
    # haresources, so lrmd, pengine, tengine and crmd are part of every stack
    DaemonSpec("lrmd", "lrmd.daemon", False, "local resource manager"),
    DaemonSpec("stonithd", "stonithd.daemon", False, "fencing daemon"),
    DaemonSpec("pengine", "pengine.daemon", False, "policy engine"),
    DaemonSpec("tengine", "tengine.daemon", False, "transition engine"),
    # crmd hands its node's resources over before it stops (up to its shutdown escalation)
    DaemonSpec("crmd", "crmd.daemon", False, "cluster resource manager", stop_wait_s=150.0),
)


def module_present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def daemons_for(config: HaConfig) -> list[DaemonSpec]:
    chosen = []
    for spec in STACK:
        if spec.name == "logd" and not config.use_logd:
            continue
        if spec.crm_only and not config.crm_enabled:
            continue
        if module_present(spec.module):
            chosen.append(spec)
    return chosen
