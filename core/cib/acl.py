"""CIB access control lists as Pacemaker defines them, without I/O.

    <acls>
      <acl_target id="alice"><role id="observer"/></acl_target>     (a user; `name` wins over `id`)
      <acl_group id="ops"><role id="operator"/></acl_group>         (a Unix group's members)
      <acl_role id="observer">
        <acl_permission id="o1" kind="read" xpath="/cib"/>
        <acl_permission id="o2" kind="write" xpath="//nvpair[@name='target-role']"/>
        <acl_permission id="o3" kind="deny" reference="secret-params"/>
        <acl_permission id="o4" kind="write" object-type="primitive" attribute="description"/>
      </acl_role>
    </acls>

What applies, the way Pacemaker's lib/common/acl.c does it (so a CIB written for Pacemaker means
the same here):

- A permission selects elements by `xpath`, or `reference` (= `//*[@id='REF']`), or
  `object-type` (= `//TYPE`), optionally with `attribute` (= `//TYPE[@ATTR]`): the permission is
  on the whole element either way. Every matched element gets the kinds of every permission that
  matched it (its *flags*).
- Checking an element for read or write walks from the element up to the root: the first
  element whose flags allow the access (write implies read) grants it, the first with `deny` on
  the way refuses it, and nothing on the way refuses it (default deny). A user with no
  permissions at all may do nothing.
- A query's answer is filtered: subtrees matched by `deny` are pruned first, then every element
  that is not itself readable keeps only its `id` and is dropped unless something below it is
  readable (the scaffolding that leads to what the user may see).
- A change is allowed when every element it creates is writable in the new document (or is bare
  *scaffolding*: no attribute but `id`, outside `acls`), every element it removes is writable,
  and every element whose attributes it changes is writable.

`enable-acl` (crm_config) switches all this on. Unlike Pacemaker, where a disabled ACL system
lets every haclient member change everything, here a non-root user may then only read (changes
need root): see docs/security.md. The xpath dialect is the part of XPath 1.0 that ACLs use:
absolute paths of `/` and `//` steps, names or `*`, and predicates on attributes (`@a`, `@a='v'`,
`@a!="v"`, joined by `and` / `or`). A permission outside it makes the user's ACLs fail closed
(every access refused, with the reason) rather than silently match nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional

from core.cib.xmltree import XNode

READ, WRITE, DENY = "read", "write", "deny"
KINDS = (READ, WRITE, DENY)
FALSY = ("false", "no", "off", "0", "n", "f")
# root attributes the CIB itself maintains: a change to them is no change of the user's
SYSTEM_ROOT_ATTRS = frozenset({"epoch", "num_updates", "crm-debug-origin", "cib-last-written",
                               "update-origin", "update-client", "update-user", "have-quorum", "dc-uuid",
                               "crm_feature_set", "validate-with", "admin_epoch"})


class XPathError(ValueError):
    """An xpath outside the supported dialect."""


# -- the xpath subset ----------------------------------------------------------------------------
Pred = Callable[[XNode], bool]
_NAME = r"[A-Za-z_][\w.\-]*"
_COND = re.compile(rf"\s*@({_NAME})\s*(?:(=|!=)\s*(?:'([^']*)'|\"([^\"]*)\"))?\s*$")
_STEP = re.compile(rf"({_NAME}|\*)((?:\[[^\]]*\])*)$")


def _condition(text: str, xpath: str) -> Pred:
    ors = [part for part in re.split(r"\s+or\s+", text.strip())]
    alts: list[list[Pred]] = []
    for alt in ors:
        conds: list[Pred] = []
        for cond in re.split(r"\s+and\s+", alt.strip()):
            m = _COND.match(cond)
            if m is None:
                raise XPathError(f"unsupported predicate [{text}] in {xpath!r}")
            name, op, v1, v2 = m.group(1), m.group(2), m.group(3), m.group(4)
            value = v1 if v1 is not None else v2
            if op is None:
                conds.append(lambda n, a=name: n.get(a) is not None)
            elif op == "=":
                conds.append(lambda n, a=name, v=value: n.get(a) == v)
            else:
                conds.append(lambda n, a=name, v=value: n.get(a) is not None and n.get(a) != v)
        alts.append(conds)
    return lambda n: any(all(c(n) for c in conds) for conds in alts)


@dataclass(frozen=True)
class _Step:
    descendant: bool
    name: str
    preds: tuple[Pred, ...]

    def accepts(self, node: XNode) -> bool:
        return (self.name == "*" or node.tag == self.name) and all(p(node) for p in self.preds)


def compile_xpath(xpath: str) -> tuple[_Step, ...]:
    text = xpath.strip()
    if not text.startswith("/"):
        raise XPathError(f"xpath must be absolute (start with /): {xpath!r}")
    steps: list[_Step] = []
    i = 0
    while i < len(text):
        descendant = text.startswith("//", i)
        i += 2 if descendant else 1
        j, depth = i, 0
        while j < len(text) and (depth or text[j] != "/"):
            depth += {"[": 1, "]": -1}.get(text[j], 0)
            j += 1
        m = _STEP.match(text[i:j])
        if m is None:
            raise XPathError(f"unsupported step {text[i:j]!r} in {xpath!r}")
        preds = tuple(_condition(p, xpath) for p in re.findall(r"\[([^\]]*)\]", m.group(2)))
        steps.append(_Step(descendant, m.group(1), preds))
        i = j
    if not steps:
        raise XPathError(f"empty xpath {xpath!r}")
    return tuple(steps)


def _descendants(node: XNode) -> Iterator[XNode]:
    for child in node:
        yield child
        yield from _descendants(child)


def select(root: XNode, steps: tuple[_Step, ...]) -> list[XNode]:
    """The elements of the document `root` that the compiled xpath selects, in document order."""
    context: list[XNode] = []
    first = True
    for step in steps:
        found: list[XNode] = []
        seen: set[int] = set()
        if first:
            pool: Iterable[XNode] = [root, *_descendants(root)] if step.descendant else [root]
            candidates = [pool]
        else:
            candidates = [(_descendants(c) if step.descendant else iter(c)) for c in context]
        for pool in candidates:
            for node in pool:
                if id(node) not in seen and step.accepts(node):
                    seen.add(id(node))
                    found.append(node)
        context, first = found, False
    return context


# -- the ACLs of a user --------------------------------------------------------------------------
@dataclass(frozen=True)
class Permission:
    kind: str
    xpath: str
    where: str  # "acl_permission <id>" for messages


@dataclass(frozen=True)
class UserAcl:
    """The permissions that apply to one user, or why that user's ACLs cannot be used."""

    user: str
    permissions: tuple[Permission, ...]
    problems: tuple[str, ...] = ()


def enabled(root: XNode) -> bool:
    """The `enable-acl` cluster property (false unless set true, as Pacemaker)."""
    value = None
    config = root.find("configuration")
    crm_config = config.find("crm_config") if config is not None else None
    for props in crm_config.findall("cluster_property_set") if crm_config is not None else []:
        for nv in props.findall("nvpair"):
            if nv.get("name") == "enable-acl":
                value = nv.get("value")
    return value is not None and value.strip().lower() not in FALSY and value.strip() != ""


def _permission_xpath(perm: XNode) -> Optional[str]:
    xpath, ref = perm.get("xpath"), perm.get("reference")
    tag, attr = perm.get("object-type"), perm.get("attribute")
    if xpath:
        return xpath
    if ref is None and tag is None:
        return None
    base = f"//{tag or '*'}"
    if ref is not None and attr is not None:
        return f"{base}[@id='{ref}' and @{attr}]"
    if ref is not None:
        return f"{base}[@id='{ref}']"
    if attr is not None:
        return f"{base}[@{attr}]"
    return base


def _collect(acls: XNode, entry: XNode, out: list[Permission], problems: list[str], depth: int = 0) -> None:
    for child in entry:
        if child.tag == "acl_permission":
            kind = (child.get("kind") or "").strip()
            where = f"acl_permission {child.get('id') or '?'}"
            xpath = _permission_xpath(child)
            if kind not in KINDS:
                problems.append(f"{where}: kind must be read, write or deny, not {kind!r}")
            elif xpath is None:
                problems.append(f"{where}: needs xpath, reference or object-type")
            else:
                out.append(Permission(kind, xpath, where))
        elif child.tag == "role" and depth < 4:
            ref = child.get("id")
            for role in acls.findall("acl_role"):
                if ref is not None and role.get("id") == ref:
                    _collect(acls, role, out, problems, depth + 1)
                    break
            else:
                problems.append(f"{entry.tag} {entry.get('id')}: no acl_role {ref!r}")


def user_acl(root: XNode, user: str, groups: Iterable[str]) -> UserAcl:
    """The permissions of `user` (a member of `groups`) in the CIB `root`."""
    acls = None
    config = root.find("configuration")
    if config is not None:
        acls = config.find("acls")
    perms: list[Permission] = []
    problems: list[str] = []
    member_of = set(groups)
    for entry in acls if acls is not None else []:
        name = entry.get("name") or entry.get("id")
        if entry.tag in ("acl_target", "acl_user") and name == user:
            _collect(acls, entry, perms, problems)  # type: ignore[arg-type]
        elif entry.tag == "acl_group" and name in member_of:
            _collect(acls, entry, perms, problems)  # type: ignore[arg-type]
    for perm in perms:
        try:
            compile_xpath(perm.xpath)
        except XPathError as exc:
            problems.append(f"{perm.where}: {exc}")
    return UserAcl(user, tuple(perms), tuple(problems))


# -- evaluating them on a document ---------------------------------------------------------------
class Marked:
    """A document with every element's ACL flags and its parent, for one user."""

    def __init__(self, root: XNode, acl: UserAcl) -> None:
        self.root = root
        self.acl = acl
        self.flags: dict[int, set[str]] = {}
        self.parent: dict[int, Optional[XNode]] = {id(root): None}
        stack = [root]
        while stack:
            node = stack.pop()
            for child in node:
                self.parent[id(child)] = node
                stack.append(child)
        self.usable = bool(acl.permissions) and not acl.problems
        for perm in acl.permissions if self.usable else ():
            for node in select(root, compile_xpath(perm.xpath)):
                self.flags.setdefault(id(node), set()).add(perm.kind)

    def allows(self, node: XNode, kind: str) -> bool:
        """read or write on `node`: the first element up the tree that says something decides."""
        if not self.usable:
            return False
        current: Optional[XNode] = node
        while current is not None:
            flags = self.flags.get(id(current), set())
            if DENY in flags:
                return False
            if kind in flags or (kind == READ and WRITE in flags):
                return True
            current = self.parent.get(id(current))
        return False

    def denied(self, node: XNode) -> bool:
        return DENY in self.flags.get(id(node), set())

    def path(self, node: XNode) -> str:
        steps = []
        current: Optional[XNode] = node
        while current is not None:
            ident = current.get("id")
            steps.append(f"{current.tag}[@id='{ident}']" if ident is not None else current.tag)
            current = self.parent.get(id(current))
        return "/" + "/".join(reversed(steps))


def _own_readable(marked: Marked, node: XNode) -> bool:
    flags = marked.flags.get(id(node), set())
    return DENY not in flags and (READ in flags or WRITE in flags)


def _purge(marked: Marked, node: XNode, denied_top: bool = False) -> Optional[XNode]:
    """A copy of node with only what is readable (None when nothing is)."""
    if _own_readable(marked, node) and not denied_top:
        kept = XNode(node.tag, node.attrs())
        for child in node:
            if marked.denied(child):
                sub = _purge(marked, child, denied_top=True)
            else:
                sub = _purge_inherited(marked, child)
            if sub is not None:
                kept.append(sub)
        return kept
    bare = XNode(node.tag, {"id": node.get("id")} if node.get("id") is not None else {})
    any_child = False
    for child in node:
        sub = _purge(marked, child, denied_top=marked.denied(child))
        if sub is not None:
            bare.append(sub)
            any_child = True
    return bare if any_child else None


def _purge_inherited(marked: Marked, node: XNode) -> Optional[XNode]:
    """Below a readable element everything is readable but what `deny` matched."""
    kept = XNode(node.tag, node.attrs())
    for child in node:
        sub = _purge(marked, child, denied_top=True) if marked.denied(child) else _purge_inherited(marked, child)
        if sub is not None:
            kept.append(sub)
    return kept


def filter_read(root: XNode, acl: UserAcl) -> Optional[XNode]:
    """What `acl`'s user may see of the document `root` (None: nothing at all)."""
    marked = Marked(root, acl)
    if not marked.usable:
        return None
    return _purge(marked, root, denied_top=marked.denied(root))


def refusal(acl: UserAcl) -> str:
    """Why a user gets nothing at all ("" when the user has usable permissions)."""
    if acl.problems:
        return f"the ACLs of user {acl.user} cannot be used: " + "; ".join(acl.problems)
    if not acl.permissions:
        return f"user {acl.user} has no ACLs (no acl_target or acl_group gives it a role)"
    return ""


def _key(node: XNode, index: int) -> tuple[str, str]:
    ident = node.get("id")
    return (node.tag, ident) if ident is not None else (node.tag, f"#{index}")


def _keyed(node: XNode) -> dict[tuple[str, str], XNode]:
    counts: dict[str, int] = {}
    out: dict[tuple[str, str], XNode] = {}
    for child in node:
        n = counts.get(child.tag, 0)
        counts[child.tag] = n + 1
        out[_key(child, n)] = child
    return out


def _scaffolding(node: XNode, marked: Marked) -> bool:
    if set(node.keys) - {"id"}:
        return False
    return "/acls[" not in marked.path(node) and "/acls/" not in marked.path(node)


def check_write(old: XNode, new: XNode, acl: UserAcl) -> list[str]:
    """Every part of the change old -> new that `acl`'s user may not make (empty: allowed)."""
    why = refusal(acl)
    if why:
        return [why]
    before, after = Marked(old, acl), Marked(new, acl)
    problems: list[str] = []

    def created(node: XNode) -> None:
        if not _scaffolding(node, after) and not after.allows(node, WRITE):
            problems.append(f"may not create {after.path(node)}")
            return
        for child in node:
            created(child)

    def walk(a: XNode, b: XNode) -> None:
        changed = sorted(name for name in set(a.keys) | set(b.keys)
                         if a.get(name) != b.get(name) and not (a is old and name in SYSTEM_ROOT_ATTRS))
        if changed and not before.allows(a, WRITE):
            problems.append(f"may not change {', '.join(changed)} of {before.path(a)}")
        ka, kb = _keyed(a), _keyed(b)
        for key, child in ka.items():
            if key not in kb:
                if not before.allows(child, WRITE):
                    problems.append(f"may not delete {before.path(child)}")
            else:
                walk(child, kb[key])
        for key, child in kb.items():
            if key not in ka:
                created(child)

    if old.tag != new.tag:
        return [f"may not replace the whole document <{old.tag}> by <{new.tag}>"]
    walk(old, new)
    return problems
