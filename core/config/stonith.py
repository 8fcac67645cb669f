"""The fence devices ha.cf declares, as every daemon names them: `stonith_host` lines are
`stonith_host-1`, `stonith_host-2`, ... in file order, the `stonith` line is `stonith-1`.
stonithd runs them (stonithd.devices.from_hacf); crmd declares them in a haresources CIB."""

from __future__ import annotations

import re

from core.config.hacf import HaConfig
from core.errors import ConfigError

_TYPE = re.compile(r"^(external/[A-Za-z_][A-Za-z0-9_-]*|fence_[A-Za-z0-9_-]+|meatware)\Z")


def hacf_device_ids(config: HaConfig, path: str = "ha.cf") -> list[tuple[str, str]]:
    """(id, device type) of each device, in the order stonithd registers them; a type this stack
    cannot run (cluster-glue's compiled-in plugins) is a configuration error."""
    found = [(f"stonith_host-{n}", words[1]) for n, words in enumerate(config.stonith_hosts, 1) if len(words) >= 2]
    if config.stonith is not None:
        found.append(("stonith-1", config.stonith[0]))
    for _, dtype in found:
        if not _TYPE.match(dtype):
            raise ConfigError(path, None, f"stonith device type {dtype!r}: this stack runs external/* plugins, "
                                          "fence_* agents and meatware (cluster-glue's compiled-in plugins are not "
                                          "supported)")
    return found
