"""stonith: try a fence device by hand, in cluster-glue's shape.

    stonith [-svh] -L
    stonith [-svh] -t TYPE -n
    stonith [-svh] -t TYPE -m
    stonith [-svh] -t TYPE {-p PARAMS | -F FILE | -E | name=value...} -lS
    stonith [-svh] -t TYPE {-p PARAMS | -F FILE | -E | name=value...} -T {reset|on|off} NODE

TYPE is a cluster-glue external plugin (`external/ssh`: the programs in this stack's
stonithd/external, then /usr/lib/stonith/plugins/external) or a fence-agents program (`fence_ipmilan`: the `fence_*`
programs in /usr/sbin); cluster-glue's compiled-in plugins (apcmaster, ...) are not run. How
each is called is `stonithd.plugins`. Exit status as cluster-glue's: 0 done, 1 a bad command
line or configuration, 5 the operation failed, 6 it timed out, 8 an unknown device type.
Unlike cluster-glue, what went wrong is said on stderr (unless -s).

`PYHB_STONITH_EXTERNAL_DIRS` and `PYHB_FENCE_AGENT_DIRS` (colon-separated) replace the
directories searched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Optional, TextIO

from stonithd import locate, plugins
from stonithd.plugins import EXTERNAL, FENCE, Outcome, Plugin

TIMEOUT_S = 120  # cluster-glue's external plugins have no timeout; a hung device must not hang us

S_OK, S_BADCONFIG, S_RESETFAIL, S_TIMEOUT, S_OOPS = 0, 1, 5, 6, 8

USAGE = """usage:
\t stonith [-svh] -L
\t stonith [-svh] -t stonith-device-type -n
\t stonith [-svh] -t stonith-device-type -m
\t stonith [-svh] -t stonith-device-type {-p stonith-device-parameters | -F stonith-device-parameters-file | -E | name=value...} -lS
\t stonith [-svh] -t stonith-device-type {-p stonith-device-parameters | -F stonith-device-parameters-file | -E | name=value...} -T {reset|on|off} nodename

where:
\t-L\tlist supported stonith device types
\t-l\tlist hosts controlled by this stonith device
\t-S\treport stonith device status
\t-s\tsilent
\t-v\tverbose
\t-n\toutput the config names of stonith-device-parameters
\t-m\tdisplay meta-data of the stonith device type
\t-h\tdisplay this help
"""


class Failed(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def list_types() -> list[str]:
    return locate.list_types()


def find(type_name: str) -> Plugin:
    try:
        return locate.find(type_name)
    except locate.LocateError as exc:
        raise Failed(str(exc), S_BADCONFIG if exc.why == locate.BAD_CONFIG else S_OOPS) from None


def run(plugin: Plugin, op: str, params: dict[str, str], host: Optional[str] = None,
        agent_params: Optional[list[str]] = None, timeout_s: float = TIMEOUT_S) -> tuple[Outcome, str]:
    """Run one operation; (what it means, its stderr)."""
    inv = plugins.invocation(plugin, op, params, host, agent_params)
    env = dict(os.environ)
    env.setdefault("PYHB_PYTHON", sys.executable)  # for the devices this project ships (external/lab)
    env.update(inv.env)
    try:
        proc = subprocess.Popen(inv.argv, env=env, stdin=subprocess.PIPE if inv.stdin is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    except OSError as exc:
        raise Failed(f"cannot run {plugin.path}: {exc}", S_OOPS) from None
    try:
        out, err = proc.communicate(inv.stdin, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise Failed(f"{plugin.type_name} {op}{' ' + host if host else ''}: no answer within {timeout_s:g} s",
                     S_TIMEOUT) from None
    return plugins.interpret(plugin, op, proc.returncode, out), err


def _why(outcome: Outcome, err: str) -> str:
    """What the program said (its output, else the last line of its stderr), and its status."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    said = outcome.detail or (lines[-1].strip() if lines else "")
    return f"{said or 'no reason given'} (exit status {outcome.rc})"


def config_names(plugin: Plugin) -> list[str]:
    outcome, err = run(plugin, "getconfignames", {})
    if not outcome.ok:
        raise Failed(f"{plugin.type_name} cannot name its parameters: {_why(outcome, err)}", S_OOPS)
    return outcome.names


def _parse(argv: list[str]) -> dict:
    opts: dict = {"silent": False, "verbose": False, "list_types": False, "type": None, "names": False,
                  "meta": False, "p": None, "F": None, "E": False, "pairs": {}, "list_hosts": False,
                  "status": False, "T": None, "node": None, "help": False}
    flags = {"s": "silent", "v": "verbose", "L": "list_types", "n": "names", "m": "meta", "E": "E",
             "l": "list_hosts", "S": "status", "h": "help"}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word.startswith("-") and len(word) > 1:
            letters = word[1:]
            for j, letter in enumerate(letters):
                if letter in flags:
                    opts[flags[letter]] = True
                    continue
                if letter in "tpFTc":
                    value = letters[j + 1:]
                    if not value:
                        i += 1
                        if i >= len(argv):
                            raise Failed(f"option -{letter} needs a value", S_BADCONFIG)
                        value = argv[i]
                    if letter == "t":
                        opts["type"] = value
                    elif letter in "pF":
                        opts[letter] = value
                    elif letter == "T":
                        opts["T"] = value
                    else:
                        raise Failed("-c is not supported", S_BADCONFIG)
                    break
                raise Failed(f"unknown option -{letter}", S_BADCONFIG)
        elif "=" in word:
            name, value = word.split("=", 1)
            opts["pairs"][name] = value
        elif opts["T"] is not None and opts["node"] is None:
            opts["node"] = word
        else:
            raise Failed(f"unexpected argument {word!r}", S_BADCONFIG)
        i += 1
    return opts


def _params(plugin: Plugin, opts: dict) -> dict[str, str]:
    given = [k for k in ("p", "F") if opts[k] is not None] + (["E"] if opts["E"] else []) + \
        (["pairs"] if opts["pairs"] else [])
    if not given:
        raise Failed("Must specify either -p option, -F option, -E option, or name=value style arguments",
                     S_BADCONFIG)
    if len(given) > 1:
        raise Failed("give the device parameters one way only (-p, -F, -E or name=value)", S_BADCONFIG)
    if opts["pairs"]:
        return dict(opts["pairs"])
    names = config_names(plugin)
    if opts["E"]:
        return {n: os.environ[n] for n in names if n in os.environ}
    if opts["p"] is not None:
        words = opts["p"].split()
    else:
        try:
            with open(opts["F"], encoding="utf-8") as handle:
                words = [w for line in handle if not line.lstrip().startswith("#") for w in line.split()]
        except OSError as exc:
            raise Failed(f"-F {opts['F']}: {exc.strerror}", S_BADCONFIG) from None
    try:
        return plugins.positional_params(names, words)
    except ValueError as exc:
        raise Failed(str(exc), S_BADCONFIG) from None


def execute(opts: dict, out: TextIO) -> int:
    if opts["list_types"]:
        for name in list_types():
            out.write(name + "\n")
        return S_OK
    if opts["type"] is None:
        raise Failed("no device type (-t)", S_BADCONFIG)
    plugin = find(opts["type"])
    if opts["names"]:
        out.write("".join(f"{n}  " for n in config_names(plugin)) + "\n")
        return S_OK
    if opts["meta"]:
        outcome, err = run(plugin, "metadata", {})
        if not outcome.ok:
            raise Failed(f"{plugin.type_name} gave no metadata: {_why(outcome, err)}", S_OOPS)
        out.write(outcome.detail + "\n")
        return S_OK
    if not (opts["list_hosts"] or opts["status"] or opts["T"]):
        raise Failed("nothing to do: give -l, -S or -T", S_BADCONFIG)
    params = _params(plugin, opts)
    if opts["status"]:
        outcome, err = run(plugin, "status", params)
        if not outcome.ok:
            raise Failed(f"device status: {_why(outcome, err)}", S_RESETFAIL)
        if opts["verbose"]:
            out.write(f"{plugin.type_name}: device is OK\n")
    if opts["list_hosts"]:
        outcome, err = run(plugin, "gethosts", params)
        if not outcome.ok:
            raise Failed(f"listing the hosts failed: {_why(outcome, err)}", S_RESETFAIL)
        for host in outcome.hosts:
            out.write(host + "\n")
    if opts["T"] is not None:
        op = opts["T"]
        if op not in ("reset", "on", "off"):
            raise Failed(f"-T {op}: want reset, on or off", S_BADCONFIG)
        if not opts["node"]:
            raise Failed(f"-T {op} needs the node name", S_BADCONFIG)
        agent_params = config_names(plugin) if plugin.kind == FENCE else None
        outcome, err = run(plugin, op, params, opts["node"], agent_params)
        if not outcome.ok:
            raise Failed(f"{op} of {opts['node']} failed: {_why(outcome, err)}",
                         S_RESETFAIL)
        if opts["verbose"]:
            out.write(f"{op} of {opts['node']} done\n")
    return S_OK


def main(argv: Optional[list[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    silent = "-s" in args
    try:
        opts = _parse(args)
        if opts["help"]:
            out.write(USAGE)
            return S_OK
        return execute(opts, out)
    except Failed as exc:
        if not silent:
            err.write(f"stonith: {exc}\n")
            if exc.code == S_BADCONFIG:
                err.write(USAGE)
        return exc.code


def main_console() -> None:
    from tools.crmtool import console
    console(main)


if __name__ == "__main__":
    main_console()
