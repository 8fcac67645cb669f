"""`crm_attribute` and `crm_standby`: node attributes and cluster options, as Pacemaker 2.1.5's
tools read and set them.

    crm_attribute -N NODE -n NAME [-v VALUE | -D | -G] [-l reboot|forever] [-q] [-d DEFAULT]
    crm_attribute [--type crm_config|rsc_defaults|op_defaults] -n NAME [-v VALUE | -D | -G]
    crm_standby [-N NODE] [-v on|off | -D | -G] [-l reboot|forever] [-q]

Where an attribute lives (Pacemaker's rules): `-l reboot` / `--type status` is the node's
transient attributes in the status section (gone when the node leaves); `-l forever` / `--type
nodes` is the node's entry in the configuration (kept). A node attribute without -l is `forever`
(with -N) and on this node when -N is missing; without -N and -l it is a cluster option
(`crm_config`, in the property set `cib-bootstrap-options` when created). `-G` (the default
command) prints `scope=SECTION  name=NAME value=VALUE` (just the value with -q).

Changes go to the DC through the local crmd: transient attributes as node-attribute requests
(Pacemaker sends those to its attribute manager: nothing is printed), everything else as CIB
changes (`cibadmin` would make the same). With `CIB_file=FILE` the file is changed instead.

crm_standby is Pacemaker's wrapper around crm_attribute for the `standby` attribute: it sets the
`forever` entry, reports the `forever` entry if there is one (else the transient one, default
`off`), and without -l deletes both.

Exit status (Pacemaker's): 0 done; 64 bad command line; 102 cluster not reachable; 105 no such
node or attribute; 109 several attributes match (give --id).
"""

from __future__ import annotations

import argparse
import io
import sys
from typing import Optional, TextIO

from core import paths as pathmod
from core.cib.xmltree import XNode, to_xml
from tools.crmtool import (EX_MULTIPLE, EX_NOSUCH, EX_OK, EX_USAGE, CibAccess, LiveCib, Output,
                           Parser, ToolError, UsageError, cib_access, console, parse_command_line)

PROG = "crm_attribute"
STANDBY = "crm_standby"
LIFETIMES = {"reboot": "status", "forever": "nodes"}
TYPES = ("crm_config", "rsc_defaults", "op_defaults", "nodes", "status")
OPTION_SET = {"crm_config": "cluster_property_set", "rsc_defaults": "meta_attributes",
              "op_defaults": "meta_attributes"}
NO_SUCH_ATTRIBUTE = "Error performing operation: No such device or address"

EPILOG = """\
Examples:
  crm_attribute --node myhost --name location --update office     set (kept over reboots)
  crm_attribute --node myhost --name location --query             read it
  crm_attribute --node myhost --name location --delete            delete it
  crm_attribute --node myhost --name standby --update on --lifetime reboot
  crm_attribute --type crm_config --name cluster-delay --query --quiet
  crm_attribute --type crm_config --name no-quorum-policy --update ignore

The CIB is this node's cluster's (see --rundir/--node-name), or the file CIB_file names."""


def build_parser() -> Parser:
    p = Parser(prog=PROG, add_help=False, epilog=EPILOG,
               formatter_class=argparse.RawDescriptionHelpFormatter,
               description="query and update Pacemaker cluster options and node attributes")
    p.add_argument("-?", "-h", "--help", action="store_true", help="show this help")
    p.add_argument("--version", action="store_true", help="show the version")
    p.add_argument("-V", "--verbose", action="count", default=0, help="(accepted, no effect)")
    p.add_argument("-q", "-Q", "--quiet", action="store_true", help="print only the value")
    s = p.add_argument_group("selecting attributes")
    s.add_argument("-n", "--name", "--attr-name", dest="name", metavar="NAME",
                   help="the attribute or option (all of them for a query when omitted)")
    s.add_argument("-i", "--id", "--attr-id", dest="attr_id", metavar="XML_ID",
                   help="(advanced) the nvpair with this XML id")
    s.add_argument("-s", "--set-name", metavar="NAME",
                   help="(advanced) only in the attribute set with this XML id")
    c = p.add_argument_group("commands")
    c.add_argument("-G", "--query", "--get-value", dest="command", action="store_const",
                   const="query", help="print the value (the default)")
    c.add_argument("-v", "--update", "--attr-value", dest="value", metavar="VALUE",
                   help="set the value")
    c.add_argument("-D", "--delete", "--delete-attr", dest="command", action="store_const",
                   const="delete", help="delete the attribute")
    a = p.add_argument_group("additional options")
    a.add_argument("-d", "--default", metavar="VALUE", help="what a query prints when unset")
    a.add_argument("-l", "--lifetime", metavar="LIFETIME", help="reboot or forever")
    a.add_argument("-N", "--node", "-U", "--node-uname", dest="node", metavar="NODE",
                   help="a node attribute of NODE (instead of a cluster option)")
    a.add_argument("-t", "--type", metavar="SECTION",
                   help="crm_config, rsc_defaults, op_defaults, nodes or status")
    pathmod.add_arguments(p)
    return p


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The options; -G/-v/-D are one command, the last one given wins (as in crm_attribute)."""
    ns = build_parser().parse_args(argv)
    last = None
    for arg in argv:
        word = arg.split("=", 1)[0]
        if word in ("-G", "--query", "--get-value"):
            last = "query"
        elif word in ("-D", "--delete", "--delete-attr"):
            last = "delete"
        elif word in ("-v", "--update", "--attr-value") or (arg.startswith("-v") and len(arg) > 2):
            last = "update"
    ns.command = last or "query"
    return ns


def section_of(ns: argparse.Namespace) -> str:
    """set_type(): the CIB section the attribute is in."""
    kind = ns.lifetime if ns.lifetime is not None else ns.type
    if kind is None:
        return "nodes" if ns.node is not None else "crm_config"
    kind = LIFETIMES.get(kind.lower(), kind)
    if kind not in TYPES:
        if kind == "tickets":
            raise UsageError("tickets are not supported by this implementation")
        raise UsageError(f"'{kind}' is not a lifetime (reboot, forever) or a section "
                         f"({', '.join(TYPES)})")
    return kind


# ------------------------------------------------------------------------------------------------
# finding attributes in a CIB

def node_id(cib: XNode, uname: str) -> Optional[str]:
    """query_node_uuid: the id of the node called uname (configuration first, then status)."""
    config = cib.find("configuration")
    nodes = config.find("nodes") if config is not None else None
    for node in nodes.findall("node") if nodes is not None else []:
        if node.get("uname") == uname:
            return node.get("id")
    status = cib.find("status")
    for state in status.findall("node_state") if status is not None else []:
        if state.get("uname") == uname:
            return state.get("id")
    return None


def in_nodes_section(cib: XNode, nid: str) -> bool:
    config = cib.find("configuration")
    nodes = config.find("nodes") if config is not None else None
    return nodes is not None and any(n.get("id") == nid for n in nodes.findall("node"))


def _containers(cib: XNode, section: str, nid: Optional[str]) -> list[XNode]:
    """The elements whose attribute sets hold the attribute (find_attr's xpath base)."""
    config = cib.find("configuration")
    if section == "status":
        status = cib.find("status")
        return [s for s in (status.findall("node_state") if status is not None else [])
                if s.get("id") == nid]
    holder = config.find(section) if config is not None else None
    if holder is None:
        return []
    if section == "nodes":
        return [n for n in holder.findall("node") if n.get("id") == nid]
    return [holder]


def set_tag(section: str) -> str:
    if section == "status":
        return "transient_attributes"
    if section == "nodes":
        return "instance_attributes"
    return OPTION_SET[section]


def find_attrs(cib: XNode, section: str, nid: Optional[str], name: Optional[str],
               attr_id: Optional[str] = None, set_name: Optional[str] = None) -> list[XNode]:
    """Every nvpair that find_attr matches: in the section's attribute sets (of the node), with
    this name and/or id, in the named set."""
    found: list[XNode] = []
    for container in _containers(cib, section, nid):
        for attr_set in container.iter(set_tag(section)):
            if attr_set is container:
                continue
            if set_name is not None and attr_set.get("id") != set_name:
                continue
            for pair in attr_set.iter("nvpair"):
                if attr_id is not None and pair.get("id") != attr_id:
                    continue
                if name is not None and pair.get("name") != name:
                    continue
                if pair not in found:
                    found.append(pair)
    return found


def attribute_line(section: str, attr_id: Optional[str], name: Optional[str],
                   value: Optional[str]) -> str:
    """crm_attribute's text output for one attribute."""
    scope = f"scope={section}" if section else ""
    instance = f"id={attr_id}" if attr_id else ""
    named = f"name={name}" if name else ""
    return f"{scope} {instance} {named} value={value if value is not None else '(null)'}"


def sanitize_id(text: str) -> str:
    """crm_xml_sanitize_id: `:` and `#` (clone instances, private attributes) become dots."""
    return text.replace(":", ".").replace("#", ".")


def creation_xml(section: str, nid: Optional[str], uname: Optional[str], name: str, value: str,
                 attr_id: Optional[str], set_name: Optional[str]) -> XNode:
    """cib__update_node_attr's new nvpair, wrapped in the elements it goes in (named the way
    Pacemaker names them: set `cib-bootstrap-options`, `<section>-options` or
    `<section>-<node id>`, nvpair `<set>-<name>`)."""
    if set_name is None:
        if section == "crm_config":
            set_name = "cib-bootstrap-options"
        elif nid is not None:
            set_name = f"{section}-{nid}"
        else:
            set_name = f"{section}-options"
    pair = XNode("nvpair", {"id": attr_id or sanitize_id(f"{set_name}-{name}"), "name": name,
                            "value": value})
    top = XNode(section)
    if section == "status":
        state = top.sub("node_state", {"id": nid or ""})
        attrs = state.sub("transient_attributes", {"id": nid or ""})
        attrs.sub("instance_attributes", {"id": set_name}).append(pair)
    elif section == "nodes":
        node = top.sub("node", {"id": nid or "", "uname": uname or ""})
        node.sub("instance_attributes", {"id": set_name}).append(pair)
    else:
        top.sub(OPTION_SET[section], {"id": set_name}).append(pair)
    return top


# ------------------------------------------------------------------------------------------------
# the command

class Multiple(ToolError):
    """Several nvpairs match: listed, and --id must say which."""


def _multiples(output: Output, name: Optional[str], found: list[XNode]) -> None:
    output.info(f"Multiple attributes match name={name}")
    for pair in found:
        output.info(f"  Value: {pair.get('value')} \t(id={pair.get('id')})")
    raise Multiple("Please choose from one of the matches below and supply the 'id' with "
                   "--attr-id", EX_MULTIPLE)


def execute(ns: argparse.Namespace, access: CibAccess, output: Output, local_node: str) -> None:
    section = section_of(ns)
    if ns.command == "delete" and ns.name is None and ns.attr_id is None:
        raise UsageError("Error: must specify attribute name or pattern to delete")
    if ns.command == "update" and ns.name is None and ns.attr_id is None:
        raise UsageError("-v needs the attribute's name (-n NAME)")
    cib = access.query()
    nid: Optional[str] = None
    uname: Optional[str] = None
    if section in ("nodes", "status"):
        uname = ns.node if ns.node is not None else local_node
        nid = node_id(cib, uname)
        if nid is None:
            raise ToolError(f"Could not map name={uname} to a UUID", EX_NOSUCH)
    found = find_attrs(cib, section, nid, ns.name, ns.attr_id, ns.set_name)
    through_attrd = section == "status" and isinstance(access, LiveCib)

    if ns.command == "query":
        if not found:
            if ns.default is not None:
                _print(output, ns, section, ns.name, ns.default)
                return
            raise ToolError(NO_SUCH_ATTRIBUTE, EX_NOSUCH)
        for pair in found:
            _print(output, ns, section, pair.get("name"), pair.get("value"))
        return

    if ns.command == "update":
        name = ns.name or ns.attr_id or ""
        if through_attrd:
            assert isinstance(access, LiveCib) and uname is not None
            access.node_attr(uname, name, ns.value, "reboot")
            return
        if len(found) > 1:
            _multiples(output, ns.name, found)
        if found:
            pair = XNode("nvpair", {"id": found[0].get("id") or "", "name": found[0].get("name") or name,
                                    "value": ns.value})
            access.update("modify", to_xml(pair, indent=None), section, PROG)
            return
        if section == "nodes" and isinstance(access, LiveCib) and nid is not None \
                and not in_nodes_section(cib, nid) and ns.attr_id is None and ns.set_name is None:
            assert uname is not None  # a node the cluster knows, not yet in the CIB's nodes
            access.node_attr(uname, name, ns.value, "forever")
            return
        xml = creation_xml(section, nid, uname, name, ns.value, ns.attr_id, ns.set_name)
        access.update("modify", to_xml(xml, indent=None), section, PROG)
        return

    # delete
    if through_attrd:
        assert isinstance(access, LiveCib) and uname is not None
        access.node_attr(uname, ns.name or ns.attr_id or "", None, "reboot")
        return
    if not found:
        return  # nothing to delete is what was wanted
    if len(found) > 1 and ns.attr_id is None:
        _multiples(output, ns.name, found)
    pair = found[0]
    access.update("delete", to_xml(XNode("nvpair", {"id": pair.get("id") or ""}), indent=None),
                  section, PROG)
    kind = "attribute" if nid is not None else "option"
    output.info(f"Deleted {section} {kind}: id={pair.get('id')}"
                f"{' set=' + ns.set_name if ns.set_name else ''}"
                f"{' name=' + ns.name if ns.name else ''}")


def _print(output: Output, ns: argparse.Namespace, section: str, name: Optional[str],
           value: Optional[str]) -> None:
    if ns.quiet:
        if value is not None:
            output.line(value)
        return
    output.line(attribute_line(section, ns.attr_id, name, value))


def run(argv: list[str], out: TextIO, err: TextIO, environ: Optional[dict[str, str]] = None) -> int:
    parser = build_parser()
    ns, code = parse_command_line(parser, parse_args, argv, out, err, PROG)
    if ns is None:
        return code
    paths = pathmod.from_args(ns)
    output = Output(out, err, ns.quiet)
    try:
        execute(ns, cib_access(paths, environ), output, paths.node_name)
    except UsageError as exc:
        err.write(f"{PROG}: {exc}\n")
        return EX_USAGE
    except ToolError as exc:
        err.write(f"{PROG}: {exc}\n")
        return exc.code
    return EX_OK


def main(argv: Optional[list[str]] = None) -> int:
    return run(list(sys.argv[1:] if argv is None else argv), sys.stdout, sys.stderr)


def main_console() -> None:
    console(main)


# ------------------------------------------------------------------------------------------------
# crm_standby

STANDBY_USAGE = """\
Usage: crm_standby <command> [options]

Common options:
 --help                 Display this text, then exit
 --version              Display version information, then exit
 -V, --verbose          Specify multiple times to increase debug output
 -q, --quiet            Print only the standby status (if querying)

Commands:
 -G, --query            Query the current value of standby mode (on/off)
 -v, --update=VALUE     Update the value of standby mode (on/off)
 -D, --delete           Let standby mode use default value

Additional Options:
 -N, --node=NODE        Operate on the named node instead of the current one
 -l, --lifetime=VALUE   Until when should the setting take effect
                        (valid values: reboot, forever)
 -i, --id=VALUE         (Advanced) XML ID used to identify standby attribute"""


def standby_parser() -> Parser:
    p = Parser(prog=STANDBY, add_help=False)
    p.add_argument("--help", action="store_true")
    p.add_argument("--version", action="store_true")
    p.add_argument("-V", "--verbose", action="append_const", dest="passed", const="-V")
    p.add_argument("-q", "--quiet", "-Q", action="append_const", dest="passed", const="-q")
    p.add_argument("-G", "--query", "--get-value", dest="op", action="store_const", const="g")
    p.add_argument("-v", "--update", "--attr-value", dest="value")
    p.add_argument("-D", "--delete", "--delete-attr", dest="op", action="store_const", const="d")
    p.add_argument("-N", "--node", "-U", "--uname", dest="node")
    p.add_argument("-l", "--lifetime")
    p.add_argument("-i", "--id", "--attr-id", dest="attr_id")
    pathmod.add_arguments(p)
    return p


def standby_run(argv: list[str], out: TextIO, err: TextIO,
                environ: Optional[dict[str, str]] = None) -> int:
    """What Pacemaker's crm_standby script does, calling crm_attribute in-process."""
    try:
        ns = standby_parser().parse_args(argv)
    except UsageError as exc:  # getopt's complaint, then the script's usage on stdout
        err.write(f"{STANDBY}: {exc}\n")
        out.write(f"\n{STANDBY_USAGE}\n")
        return 1
    if ns.help:
        out.write("crm_standby - Query, enable, or disable standby mode for a node\n\n"
                  f"Nodes in standby mode may not host cluster resources.\n\n{STANDBY_USAGE}\n\n")
        return EX_OK
    if ns.version:
        return run(["--version"], out, err, environ)
    op = ns.op
    for arg in argv:  # the last of -G/-v/-D wins, as getopt hands them to the script in order
        word = arg.split("=", 1)[0]
        if word in ("-G", "--query", "--get-value"):
            op = "g"
        elif word in ("-D", "--delete", "--delete-attr"):
            op = "d"
        elif word in ("-v", "--update", "--attr-value") or (arg.startswith("-v") and len(arg) > 2):
            op = "u"
    paths = pathmod.from_args(ns)
    target = ns.node or paths.node_name
    base = ["-N", target, "-n", "standby", *(ns.passed or [])]
    for flag, value in (("--confdir", ns.confdir), ("--rundir", ns.rundir),
                        ("--statedir", ns.statedir), ("--node-name", ns.node_name)):
        if value is not None:
            base += [flag, value]
    if ns.attr_id is not None:
        base += ["--id", ns.attr_id]
    command = {"g": ["--query"], "u": ["--update", ns.value or ""], "d": ["--delete"]}
    op = op or "g"
    if ns.lifetime is not None:
        return run(base + command[op] + ["--lifetime", ns.lifetime], out, err, environ)
    if op == "g":
        # the forever entry if there is one, else the transient one (off when unset)
        silent = io.StringIO()
        if run(base + ["--query", "-l", "forever"], silent, io.StringIO(), environ) == EX_OK:
            return run(base + ["--query", "-l", "forever"], out, err, environ)
        return run(base + ["--query", "-l", "reboot", "-d", "off"], out, err, environ)
    if op == "u":
        return run(base + command["u"] + ["-l", "forever"], out, err, environ)
    run(base + ["--delete", "-l", "forever"], out, err, environ)
    run(base + ["--delete", "-l", "reboot"], out, err, environ)
    return EX_OK


def standby_main(argv: Optional[list[str]] = None) -> int:
    return standby_run(list(sys.argv[1:] if argv is None else argv), sys.stdout, sys.stderr)


def standby_console() -> None:
    console(standby_main)


if __name__ == "__main__":
    main_console()
