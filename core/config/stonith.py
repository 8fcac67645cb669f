"""The fence devices ha.cf declares, as every daemon names them: `stonith_host` lines are
`stonith_host-1`, `stonith_host-2`, ... in file order, the `stonith` line is `stonith-1`.
stonithd runs them (stonithd.devices.from_hacf); crmd declares them in a haresources CIB."""

from __future__ import annotations

from core.config.hacf import HaConfig


def hacf_device_ids(config: HaConfig) -> list[tuple[str, str]]:
    """(id, device type) of each device, in the order stonithd registers them."""
    found = [(f"stonith_host-{n}", words[1]) for n, words in enumerate(config.stonith_hosts, 1) if len(words) >= 2]
    if config.stonith is not None:
        found.append(("stonith-1", config.stonith[0]))
    return found
