"""`hb check-config`: validate ha.cf, authkeys and haresources as the daemons would, print the
warnings, and exit 2 with `file:line: what is wrong` on the first error."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

from core import paths as pathmod
from core.config.load import read_authkeys, read_haresources
from core.config.stonith import hacf_device_ids
from core.daemon import load_config
from core.errors import ConfigError


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="hb check-config", description=__doc__)
    pathmod.add_arguments(parser)
    parser.add_argument("--no-host", action="store_true", help="do not check interfaces of this host")
    args = parser.parse_args(argv)
    paths = pathmod.from_args(args)
    try:
        config = load_config(paths, check_host=not args.no_host)
        keys = read_authkeys(paths.authkeys)
        devices = hacf_device_ids(config, paths.ha_cf)
        groups = ()
        if os.path.exists(paths.haresources):
            groups = read_haresources(paths.haresources, config.nodes)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for warning in config.warnings:
        print(warning, file=sys.stderr)
    print(f"{paths.ha_cf}: {len(config.nodes)} nodes, {len(config.media)} media, keepalive "
          f"{config.keepalive_ms} ms, deadtime {config.deadtime_ms} ms, initdead {config.initdead_ms} ms")
    verb = "sealing" if keys.active_key.sealing else "signing"
    print(f"{paths.authkeys}: {verb} with key {keys.active} ({keys.active_key.method})"
          + (f", {len(keys.keys)} keys accepted" if len(keys.keys) > 1 else ""))
    if any(k.sealing for k in keys.keys) and config.autojoin != "none":
        print(f"{paths.authkeys}: sealed packets are only accepted from nodes listed in {paths.ha_cf} "
              f"(autojoin {config.autojoin} nodes cannot be told apart)", file=sys.stderr)
    if keys.active_key.method == "crc":
        print(f"{paths.authkeys}: key {keys.active} (crc) authenticates nothing: anyone on the network can "
              "forge packets", file=sys.stderr)
    if groups:
        print(f"{paths.haresources}: {len(groups)} resource groups")
    if devices:
        print(f"{paths.ha_cf}: fence devices " + ", ".join(f"{i} ({t})" for i, t in devices))
    elif not config.crm_enabled:
        print(f"{paths.ha_cf}: no STONITH device: shared data is not protected against a node that only looks dead")
    return 0
