"""`cibadmin`: read and change the CIB, as Pacemaker 2.1.5's cibadmin does.

    cibadmin -Q [-o SECTION] [--local] [-n]               print the CIB (or one section)
    cibadmin -C [-o SECTION] (-x FILE | -X XML | -p)      create an object
    cibadmin -M [-c] [-o SECTION] (-x | -X | -p)          change an object (found by tag and id)
    cibadmin -R [-o SECTION] (-x | -X | -p)               replace the whole CIB or one section
    cibadmin -D [-o SECTION] (-x | -X | -p)               delete the objects matching tag + attributes

Changes go to the local crmd, which has the DC carry them out (`tools.crmclient`); with
`CIB_file=FILE` they are made to that file instead (`tools.crmtool.FileCib`). Like cibadmin,
success prints nothing (a query prints the XML) and exits 0.

Before anything is sent the input must parse (`core.cib.xmltree.parse_xml`: a malformed file is
reported as `file:line: ...`, exit 78). A replace (of the whole CIB or of a section) and a create
are also validated here against the current configuration (`core.cib.validate`), so a bad CIB is
refused with every new problem as `file:line: error: <element id="...">: what is wrong` and
nothing changes; a whole CIB older than the cluster's (lower admin_epoch/epoch) is refused as
Pacemaker refuses it. Deleting something that is not there succeeds, as in Pacemaker.

Exit status (Pacemaker's): 0 done; 3 option not supported here; 64 bad command line; 78 input
does not parse or the result would not validate; 102 cluster not reachable; 103 replacement
older than the CIB; 105 no such object or section; 108 the object already exists; 1 other
refusals (the message says why).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Optional, TextIO

from core import paths as pathmod
from core.cib.validate import Problem, validate
from core.cib.xmltree import XNode, parse_xml, to_xml
from core.errors import ConfigError
from tools.crmtool import (EX_CONFIG, EX_DISCONNECT, EX_EXISTS, EX_NOSUCH, EX_OK, EX_OLD,
                           EX_UNIMPLEMENTED, EX_USAGE, CibAccess, Parser, ToolError, UsageError,
                           cib_access, console, parse_command_line)

PROG = "cibadmin"
OPS = {"Q": "query", "C": "create", "M": "modify", "R": "replace", "D": "delete"}
SECTION_WORDS = ("configuration, nodes, resources, constraints, crm_config, rsc_defaults, "
                 "op_defaults, acls, fencing-topology, tags, alerts, status")
# Pacemaker's options this implementation does not carry out (said so, exit 3)
UNSUPPORTED = {
    "upgrade": "-u/--upgrade", "erase": "-E/--erase", "bump": "-B/--bump", "patch": "-P/--patch",
    "delete_all": "-d/--delete-all", "empty": "-a/--empty", "md5_sum": "-5/--md5-sum",
    "md5_sum_versioned": "-6/--md5-sum-versioned", "xpath": "-A/--xpath",
    "node_path": "-e/--node-path", "show_access": "-S/--show-access", "user": "-U/--user",
    "host": "-N/--node", "no_bcast": "-b/--no-bcast",
}
# what `Call failed: ...` says for each exit code (the errno texts Pacemaker prints)
CALL_FAILED = {EX_CONFIG: "Update does not conform to the configured schema",
               EX_NOSUCH: "No such device or address", EX_EXISTS: "File exists",
               EX_OLD: "Update was older than existing configuration"}
# where a created object goes when no -o is given (the crmd guesses the same way)
DEFAULT_SECTION = {"primitive": "resources", "group": "resources", "clone": "resources",
                   "master": "resources", "bundle": "resources", "template": "resources",
                   "node": "nodes", "cluster_property_set": "crm_config"}
CONFIG_SECTIONS = ("crm_config", "nodes", "resources", "constraints", "rsc_defaults",
                   "op_defaults", "alerts", "fencing-topology", "acls", "tags")

EPILOG = f"""\
sections for -o: {SECTION_WORDS}

Examples:
  cibadmin --query --local                         the CIB of this node
  cibadmin --query --scope crm_config              just the cluster options
  cibadmin --create --scope resources --xml-text '<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>'
  cibadmin --delete --xml-text '<primitive id="old"/>'
  cibadmin --replace --scope constraints --xml-file constraints.xml
  cibadmin --query > local.xml; $EDITOR local.xml; cibadmin --replace --xml-file local.xml

The CIB is this node's cluster's (see --rundir/--node-name), or the file CIB_file names.
Not supported here (exit 3): --upgrade, --erase, --bump, --patch, --delete-all, --empty,
--md5-sum, --md5-sum-versioned, --xpath, --node-path, --show-access, --user, --node, --no-bcast."""


def build_parser() -> Parser:
    p = Parser(prog=PROG, add_help=False, epilog=EPILOG,
               formatter_class=argparse.RawDescriptionHelpFormatter,
               description="query and edit the Pacemaker configuration")
    p.add_argument("-?", "-h", "--help", action="store_true", help="show this help")
    p.add_argument("--version", action="store_true", help="show the version")
    p.add_argument("-V", "--verbose", action="count", default=0, help="(accepted, no effect)")
    g = p.add_argument_group("commands")
    g.add_argument("-Q", "--query", dest="op", action="store_const", const="query",
                   help="print the CIB (or the section -o names)")
    g.add_argument("-C", "--create", dest="op", action="store_const", const="create",
                   help="create an object (fails if one with its id exists)")
    g.add_argument("-M", "--modify", dest="op", action="store_const", const="modify",
                   help="change an object found by tag and id (fails if it does not exist "
                        "unless -c)")
    g.add_argument("-R", "--replace", dest="op", action="store_const", const="replace",
                   help="replace the whole CIB, or the section -o names")
    g.add_argument("-D", "--delete", dest="op", action="store_const", const="delete",
                   help="delete the objects whose tag and attributes all match")
    for flag, long, dest in (("-u", "--upgrade", "upgrade"), ("-E", "--erase", "erase"),
                             ("-B", "--bump", "bump"), ("-P", "--patch", "patch"),
                             ("-d", "--delete-all", "delete_all"), ("-a", "--empty", "empty"),
                             ("-5", "--md5-sum", "md5_sum"),
                             ("-6", "--md5-sum-versioned", "md5_sum_versioned"),
                             ("-e", "--node-path", "node_path"), ("-b", "--no-bcast", "no_bcast")):
        g.add_argument(flag, long, dest=dest, action="store_true", help=argparse.SUPPRESS)
    g.add_argument("-S", "--show-access", dest="show_access", nargs="?", const="auto",
                   help=argparse.SUPPRESS)
    d = p.add_argument_group("data")
    d.add_argument("-x", "--xml-file", metavar="FILE", help="the XML is in FILE")
    d.add_argument("-X", "--xml-text", metavar="XML", help="the XML is this text")
    d.add_argument("-p", "--xml-pipe", action="store_true", help="the XML is on standard input")
    d.add_argument("-o", "--scope", metavar="SECTION", help="the section to work on")
    d.add_argument("-A", "--xpath", help=argparse.SUPPRESS)
    a = p.add_argument_group("additional options")
    a.add_argument("-l", "--local", action="store_true",
                   help="(queries always answer from this node's replica)")
    a.add_argument("-s", "--sync-call", action="store_true",
                   help="(every call waits for the DC's answer)")
    a.add_argument("-f", "--force", action="store_true", help="(accepted)")
    a.add_argument("-c", "--allow-create", action="store_true",
                   help="with -M: create the object if it does not exist")
    a.add_argument("-n", "--no-children", action="store_true",
                   help="with -Q: the element without its children")
    a.add_argument("-t", "--timeout", type=int, default=30, metavar="SECONDS",
                   help="how long to wait for the cluster's answer (default 30)")
    a.add_argument("-U", "--user", help=argparse.SUPPRESS)
    a.add_argument("-N", "--node", dest="host", help=argparse.SUPPRESS)
    pathmod.add_arguments(p)
    return p


# ------------------------------------------------------------------------------------------------
# input

class InputError(ToolError):
    """The input cannot be read or does not parse: said as it is, not as a refused call."""


def read_input(ns, stdin: TextIO) -> tuple[str, str, str]:
    """(XML text, origin for file:line messages, source as cibadmin names it)."""
    if ns.xml_file is not None:
        try:
            with open(ns.xml_file, encoding="utf-8") as handle:
                return handle.read(), ns.xml_file, ns.xml_file
        except OSError as exc:
            raise InputError(f"{PROG}: {ns.xml_file}: {exc.strerror or exc}\n"
                             f"Couldn't parse input from {ns.xml_file}.", EX_CONFIG) from None
    if ns.xml_text is not None:
        return ns.xml_text, "<xml-text>", "input string"
    if ns.xml_pipe:
        return stdin.read(), "<stdin>", "STDIN"
    raise UsageError(f"-{ns.flag} needs the XML: -x FILE, -X TEXT or -p (standard input)")


def parse_input(text: str, origin: str, source: str) -> XNode:
    try:
        return parse_xml(text, origin)
    except ConfigError as exc:
        raise InputError(f"{PROG}: {exc}\nCouldn't parse input from {source}.", EX_CONFIG) from None


# ------------------------------------------------------------------------------------------------
# checks made here, before anything is sent

_AT_LINE = re.compile(r" at line \d+")


def _key(problem: Problem) -> tuple[str, str]:
    """What makes two problems the same one, wherever the element is written."""
    return problem.element, _AT_LINE.sub("", problem.message)


def _as_cib(config: XNode) -> XNode:
    root = XNode("cib")
    root.append(config)
    return root


def new_problems(before_config: XNode, after: XNode) -> list[Problem]:
    """Errors the changed CIB `after` has that the current configuration does not have: the DC
    refuses a change for those only (problems a configuration already has do not block
    unrelated changes), and those are the ones worth the user's attention."""
    old = {_key(p) for p in validate(_as_cib(before_config)) if p.severity == "error"}
    return [p for p in validate(after) if p.severity == "error" and _key(p) not in old]


def trial(config: XNode, op: str, node: XNode, section: Optional[str]) -> Optional[XNode]:
    """The whole CIB as it would be after a create or replace of `node` (None when the change is
    not one to simulate here: the crmd reports those)."""
    if op == "replace" and node.tag == "cib":
        return node
    if op == "replace" and node.tag == "configuration" and section in (None, "configuration"):
        return _as_cib(node)
    new_config = config.copy()
    if op == "replace":
        target = section or node.tag
        if target not in CONFIG_SECTIONS or node.tag != target:
            return None
        new_config.children = [node if c.tag == target else c for c in new_config.children]
        if new_config.find(target) is None:
            new_config.append(node)
        return _as_cib(new_config)
    if op == "create":
        target = section or DEFAULT_SECTION.get(node.tag) or \
            ("constraints" if node.tag.startswith("rsc_") else None)
        if target not in CONFIG_SECTIONS or node.tag in CONFIG_SECTIONS:
            return None
        ident = node.get("id")
        if ident is not None and any(n.get("id") == ident for n in config.iter()):
            return None  # the crmd refuses it as existing (108), not as invalid
        holder = new_config.find(target)
        if holder is None:
            holder = new_config.sub(target)
        holder.append(node)
        return _as_cib(new_config)
    return None


def check_locally(access: CibAccess, op: str, node: XNode, section: Optional[str],
                  origin: str) -> None:
    """Refuse here (ToolError) what the DC would refuse, with the input's own line numbers; and
    a whole CIB older than the cluster's, as Pacemaker's replace does."""
    if op not in ("replace", "create"):
        return
    config = access.query("configuration")
    after = trial(config, op, node, section)
    if after is None:
        return
    problems = new_problems(config, after)
    if problems:
        raise ToolError("\n".join(p.format(origin) for p in problems), EX_CONFIG)
    if op == "replace" and node.tag == "cib" and node.get("epoch") is not None:
        current = access.version()[:2]
        given = (_int(node.get("admin_epoch")), _int(node.get("epoch")))
        if given < current:
            raise ToolError(f"{origin}: the replacement is admin_epoch {given[0]}, epoch {given[1]}; "
                            f"the CIB is already at {current[0]}.{current[1]} (query it again, "
                            f"then edit that copy)", EX_OLD)


def _int(value: Optional[str]) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


_INCREMENT = re.compile(r"^(?P<name>[A-Za-z_][\w-]*)(?:\+\+|\+=(?P<step>-?\d+))$")


def expand_increments(node: XNode, access: CibAccess) -> bool:
    """`<cib admin_epoch="admin_epoch++"/>` (or `+=N`): Pacemaker adds to the current value of
    the attribute the value names (cibadmin's own example of raising admin_epoch). Returns
    whether anything was expanded."""
    current: Optional[XNode] = None
    changed = False
    for name, value in node.attrs().items():
        match = _INCREMENT.match(value)
        if match is None or match.group("name") != name:
            continue
        if current is None:
            current = access.query()
        step = int(match.group("step")) if match.group("step") is not None else 1
        node.set(name, str(_int(current.get(name)) + step))
        changed = True
    return changed


def matches(access: CibAccess, node: XNode, section: Optional[str]) -> bool:
    """Whether anything in scope has the tag and every attribute of `node` (what -D deletes)."""
    try:
        scope = access.query(section or "configuration")
    except ToolError as exc:
        if exc.code != EX_NOSUCH:
            raise
        return False  # no such section: nothing in it either
    want = node.attrs()
    return any(n is not scope and n.tag == node.tag and all(n.get(k) == v for k, v in want.items())
               for n in scope.iter(node.tag))


# ------------------------------------------------------------------------------------------------
# the command

def report(err: TextIO, exc: ToolError) -> int:
    """Print a failure as cibadmin does: connection failures plainly, refused calls as
    `Call failed: <reason>` followed by the details (each problem with its file:line)."""
    message = str(exc)
    if isinstance(exc, InputError):
        err.write(message + "\n")
    elif exc.code == EX_DISCONNECT:
        err.write(f"{message}\nInit failed, could not perform requested operations\n")
    elif exc.code in CALL_FAILED:
        err.write(f"Call failed: {CALL_FAILED[exc.code]}\n")
        if message:
            err.write(message.rstrip("\n") + "\n")
    else:
        err.write(f"Call failed: {message}\n")
    return exc.code


def query(access: CibAccess, ns, out: TextIO) -> int:
    root = access.query(ns.scope)
    if ns.no_children:
        root = XNode(root.tag, root.attrs())
    out.write(to_xml(root, indent="  "))
    return EX_OK


def change(access: CibAccess, ns, stdin: TextIO) -> int:
    text, origin, source = read_input(ns, stdin)
    node = parse_input(text, origin, source)
    op = ns.op
    section = ns.scope
    if op == "delete":
        if not matches(access, node, section):
            return EX_OK  # nothing to delete is what was wanted (Pacemaker says OK too)
        access.update("delete", text, section, origin)
        return EX_OK
    check_locally(access, op, node, section, origin)
    if op == "modify" and node.tag == "cib" and expand_increments(node, access):
        text = to_xml(node, indent=None)
    try:
        access.update(op, text, section, origin)
    except ToolError as exc:
        if not (op == "modify" and ns.allow_create and exc.code == EX_NOSUCH):
            raise
        access.update("create", text, section, origin)
    return EX_OK


def run(argv: list[str], out: TextIO, err: TextIO, stdin: TextIO,
        environ: Optional[dict[str, str]] = None) -> int:
    parser = build_parser()
    ns, code = parse_command_line(parser, parser.parse_args, argv, out, err, PROG)
    if ns is None:
        return code
    for dest, name in UNSUPPORTED.items():
        if getattr(ns, dest, None):
            err.write(f"{PROG}: {name} is not supported by this implementation\n")
            return EX_UNIMPLEMENTED
    if ns.op is None:
        err.write(f"{PROG}: say what to do: -Q (query), -C (create), -M (modify), -R (replace) "
                  f"or -D (delete)\n{parser.format_usage()}")
        return EX_USAGE
    ns.flag = {v: k for k, v in OPS.items()}[ns.op]
    access = cib_access(pathmod.from_args(ns), environ, timeout_ms=max(1, ns.timeout) * 1000)
    try:
        if ns.op == "query":
            return query(access, ns, out)
        return change(access, ns, stdin)
    except UsageError as exc:
        err.write(f"{PROG}: {exc}\n{parser.format_usage()}")
        return EX_USAGE
    except ToolError as exc:
        return report(err, exc)


def main(argv: Optional[list[str]] = None) -> int:
    return run(list(sys.argv[1:] if argv is None else argv), sys.stdout, sys.stderr, sys.stdin)


def main_console() -> None:
    console(main)


if __name__ == "__main__":
    main_console()
