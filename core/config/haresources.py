"""haresources: the resource groups of a non-CRM (or translated) cluster, one line per group.

    node1 198.18.0.100 Filesystem::/dev/sdb1::/data::ext4 \\
          httpd
    node2 IPaddr2::198.18.0.101/24/eth0 tomcat

The first word is the preferred node; the rest are resources started in order (stopped in
reverse). `Name::a::b` calls resource script `Name` with arguments a, b; a bare IP address means
`IPaddr::addr`. A backslash at the end of a line continues it; `#` starts a comment.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional

from core.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9_.+-]+\Z")


@dataclass(frozen=True)
class ResourceSpec:
    name: str  # the script / agent name, e.g. IPaddr2
    args: tuple[str, ...]
    text: str  # as written, e.g. IPaddr2::198.18.0.100/24/eth0


@dataclass(frozen=True)
class ResourceGroup:
    node: str
    resources: tuple[ResourceSpec, ...]
    line: int


def _is_ip(word: str) -> bool:
    try:
        ipaddress.ip_address(word.split("/")[0])
    except ValueError:
        return False
    return "/" not in word or word.count("/") <= 3


def parse_resource(word: str, path: str, line: int) -> ResourceSpec:
    if _is_ip(word) and "::" not in word:
        return ResourceSpec("IPaddr", (word,), word)
    name, *args = word.split("::")
    if not name or not _NAME.match(name):
        raise ConfigError(path, line, f"bad resource name {word!r}")
    return ResourceSpec(name, tuple(args), word)


def parse_haresources(text: str, path: str = "haresources",
                      nodes: Optional[tuple[str, ...]] = None) -> tuple[ResourceGroup, ...]:
    """One ResourceGroup per logical line; `nodes` (when given) must contain each group's node."""
    groups: list[ResourceGroup] = []
    pending: list[str] = []
    start_line = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        body = raw.split("#", 1)[0].rstrip()
        continued = body.endswith("\\")
        if continued:
            body = body[:-1]
        if not pending:
            start_line = number
        pending.extend(body.split())
        if continued:
            continue
        if pending:
            groups.append(_group(pending, path, start_line, nodes))
        pending = []
    if pending:
        groups.append(_group(pending, path, start_line, nodes))
    return tuple(groups)


def _group(words: list[str], path: str, line: int, nodes: Optional[tuple[str, ...]]) -> ResourceGroup:
    node = words[0].lower()
    if nodes is not None and node not in nodes:
        raise ConfigError(path, line, f"node {words[0]!r} is not in ha.cf's node list")
    if len(words) < 2:
        raise ConfigError(path, line, f"node {words[0]} has no resources")
    resources = tuple(parse_resource(word, path, line) for word in words[1:])
    return ResourceGroup(node=node, resources=resources, line=line)
