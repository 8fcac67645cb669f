"""`hb`: the one command-line entry point, with subcommands. Each subcommand lives in the package
that owns it and is imported only when used, so `hb` starts fast and a missing part of the stack
is reported plainly instead of pretended.
"""

from __future__ import annotations

import gc
import sys

TYPE_CHECKING = False  # typing's own flag: collections.abc would load collections (hb start-up)
if TYPE_CHECKING:
    from collections.abc import Callable

# subcommand -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "status": ("messaging.cl_status", "status_main", "every node and link as this node sees them (--json)"),
    "cl_status": ("messaging.cl_status", "main", "heartbeat's cl_status subcommands"),
    "logger": ("logd.ha_logger", "main", "send a line to the cluster log (ha_logger)"),
    "check-config": ("core.checkconfig", "main", "validate ha.cf, authkeys and haresources"),
    "lab": ("lab.cli", "main", "network-namespace lab of cluster nodes"),
    "demo": ("lab.demo", "main", "bring up a lab, show a failure and a recovery, tear down"),
    "cts": ("lab.cts", "main", "a CTS-style fault campaign on a lab, audited after every fault"),
    "membership": ("ccm.cli", "main", "show the agreed cluster membership and quorum"),
    "sim": ("sim.cli", "main", "deterministic whole-cluster simulator"),
    "lrm": ("lrmd.cli", "main", "talk to the local resource manager (lrmadmin)"),
    "simulate": ("tools.simulate", "main", "run the policy engine on a CIB (crm_simulate)"),
    "haresources2cib": ("pengine.haresources2cib", "main", "translate haresources into a CIB"),
    "crm_mon": ("tools.crm_mon", "main", "cluster status as Pacemaker's crm_mon shows it"),
    "cibadmin": ("tools.cibadmin", "main", "query and change the CIB (Pacemaker's cibadmin)"),
    "crm_resource": ("tools.crm_resource", "main", "list, locate, move, ban, clear, clean up resources"),
    "crm_attribute": ("tools.crm_attribute", "main", "node attributes and cluster options"),
    "crm_standby": ("tools.crm_attribute", "standby_main", "put a node in standby or take it out"),
    "hb_standby": ("tools.hb_standby", "standby_main", "this node gives up resources (Heartbeat 2)"),
    "hb_takeover": ("tools.hb_standby", "takeover_main", "this node takes resources (back)"),
    "stonith": ("tools.stonith_admin", "main", "fencing: fence, history, list, confirm (stonith_admin)"),
}

# Commands that need only the standard library and this source tree (no pyzmq, msgpack, ...):
# the `hb` script written by core/entryscript.py starts them without the interpreter's `site`
# step. tests/unit/core/test_entryscript.py checks that each really imports nothing else.
STANDALONE = frozenset({"simulate", "haresources2cib"})


def needs_site(args: list[str]) -> bool:
    """Does `hb ARGS` need site-packages on sys.path (see core/entryscript.py)?"""
    return not args or args[0] not in STANDALONE


def _available(module: str) -> bool:
    """Is `module` part of this build? Looked up by the import system's own finders, without
    importing `importlib.util` (milliseconds of every `hb` start-up) or the module itself."""
    package, _, _ = module.rpartition(".")
    try:
        path = __import__(package, fromlist=["_"]).__path__ if package else None
    except ModuleNotFoundError:
        return False
    return any(finder.find_spec(module, path) is not None for finder in sys.meta_path
               if hasattr(finder, "find_spec"))


def usage() -> str:
    lines = ["usage: hb COMMAND [ARGS...]", "", "commands:"]
    for name, (module, _, text) in COMMANDS.items():
        if _available(module):
            lines.append(f"  {name:<16} {text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    entry = COMMANDS.get(name)
    if entry is None:
        print(f"hb: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, function_name, _ = entry
    if not _available(module_name):
        print(f"hb: {name} is not part of this build yet", file=sys.stderr)
        return 2
    # importing creates only objects that live as long as the process (code, functions,
    # classes): the cyclic collector, run every few hundred allocations, would find nothing
    collecting = gc.isenabled()
    gc.disable()
    try:
        __import__(module_name)
    finally:
        if collecting:
            gc.enable()
    function: Callable[[list[str]], int] = getattr(sys.modules[module_name], function_name)
    return int(function(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
