"""`hb haresources2cib`: translate a Heartbeat v1 haresources file into a CIB (what heartbeat's
haresources2cib.py did when a cluster switched to `crm yes`).

    hb haresources2cib [-c ha.cf] [-o cib.xml] [haresources]

Defaults: /etc/ha.d/haresources and /etc/ha.d/ha.cf (ha.cf gives auto_failback, the node list
and whether stonith is configured; without it auto_failback is taken as `on`). The translation
itself is the pure `core.cib.haresources.haresources_to_cib`; this module only reads and writes
files. Errors are printed as `file:line: what is wrong` and exit with status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

from core.cib.haresources import group_node_names, haresources_to_cib
from core.cib.xmltree import to_xml
from core.config.load import read_hacf, read_haresources
from core.errors import ConfigError

DEFAULT_HARESOURCES = "/etc/ha.d/haresources"
DEFAULT_HACF = "/etc/ha.d/ha.cf"


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="hb haresources2cib",
                                description="Translate haresources into a CIB.")
    p.add_argument("haresources", nargs="?", default=DEFAULT_HARESOURCES)
    p.add_argument("-c", "--hacf", help=f"ha.cf to read (default {DEFAULT_HACF} if present)")
    p.add_argument("-o", "--output", help="write the CIB here instead of standard output")
    p.add_argument("--auto-failback", choices=("on", "off", "legacy"),
                   help="override ha.cf's auto_failback")
    args = p.parse_args(argv)
    hacf_path = args.hacf or (DEFAULT_HACF if os.path.exists(DEFAULT_HACF) else None)
    try:
        nodes: tuple[str, ...] = ()
        auto_failback = "on"
        stonith = False
        if hacf_path:
            config = read_hacf(hacf_path)
            nodes = config.nodes
            auto_failback = config.auto_failback
            stonith = config.stonith is not None or bool(config.stonith_hosts)
        if args.auto_failback:
            auto_failback = args.auto_failback
        groups = read_haresources(args.haresources, nodes or None)
        cib, warnings = haresources_to_cib(groups, auto_failback, group_node_names(groups, nodes),
                                           stonith, args.haresources)
    except (ConfigError, ValueError) as exc:
        print(f"hb haresources2cib: {exc}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"hb haresources2cib: warning: {warning}", file=sys.stderr)
    text = to_xml(cib) + "\n"
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            print(f"hb haresources2cib: {args.output}: {exc.strerror}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
