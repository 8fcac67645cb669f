"""One node's replica of the CIB, and the edits that change it.

Versions are Pacemaker's triple `(admin_epoch, epoch, num_updates)`, compared in that order: a
change under /cib/configuration (or a whole new CIB) is `epoch + 1, num_updates = 0`, any other
change (status, root attributes) `num_updates + 1`.

Replication works on *edits*: every change the DC makes is a short list of edits, applied to its
own copy, broadcast with the version before and after and the digest of the result, and applied
to every replica in the same order. Edits name elements by path (`(tag, id)` steps from the root,
id None for singletons such as `configuration` or `lrm`), so applying them is deterministic: the
same edits on the same CIB give the same document, which the digest proves. A replica whose
version is not the diff's `from` version, or whose digest disagrees after applying, asks for the
whole CIB instead (hb2's "Requesting re-sync from peer").

    ("set", path, {name: value or None})     set or remove attributes (None removes)
    ("put", path, xml)                       replace the element at path, or add it at the end
    ("del", path)                            remove the element at path (absent: nothing)
    ("root", xml)                            replace the whole CIB (its version comes with it)

Missing parents of a `set` or `put` target are created as bare `<tag id=...>` elements, on every
replica alike. The digest is the MD5 of the document without the attributes that change without
a change of content (`cib-last-written`, `update-origin`, ...), written without indentation.

The replica is written whole after nearly every change (for the digest, and for the copy the
policy engine reads), while a change touches one branch. The replica keeps the text of its
unchanged subtrees (`core.cib.xmltree.SubtreeTexts`) and forgets, for every edit, the elements
along the edit's path and whatever the edit removes or replaces; every change goes through
`apply` or `replace`, so nothing else can make a kept text stale.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from core.cib.xmltree import SubtreeTexts, XNode, parse_xml, to_xml
from core.errors import ConfigError

Version = tuple[int, int, int]
Path = tuple[tuple[str, Optional[str]], ...]
Edit = tuple  # see the module docstring

VOLATILE_ROOT_ATTRS = ("crm-debug-origin", "cib-last-written", "update-origin", "update-client",
                       "update-user")
FEATURE_SET = "3.16.2"
SECTIONS = ("configuration", "status")
CONFIG_SECTIONS = ("crm_config", "nodes", "resources", "constraints", "rsc_defaults", "op_defaults",
                   "alerts", "fencing-topology", "acls", "tags")


class CibError(Exception):
    """A request that cannot be applied (bad XML, unknown element, id clash): nothing changed."""


def _int(value: Optional[str]) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def version_of(root: XNode) -> Version:
    return (_int(root.get("admin_epoch")), _int(root.get("epoch")), _int(root.get("num_updates")))


def empty_cib(validate_with: str = "pacemaker-3.0") -> XNode:
    root = XNode("cib", {"admin_epoch": "0", "epoch": "0", "num_updates": "0", "validate-with": validate_with,
                         "crm_feature_set": FEATURE_SET})
    config = root.sub("configuration")
    for section in ("crm_config", "nodes", "resources", "constraints"):
        config.sub(section)
    root.sub("status")
    return root


def normalize(root: XNode) -> XNode:
    """Give a CIB the sections every reader expects (an edited file may lack some)."""
    if root.tag != "cib":
        raise CibError(f"the root element is <{root.tag}>, not <cib>")
    config = root.find("configuration")
    if config is None:
        config = XNode("configuration")
        root.children = [config] + list(root.children)
    for section in ("crm_config", "nodes", "resources", "constraints"):
        if config.find(section) is None:
            config.sub(section)
    if root.find("status") is None:
        root.sub("status")
    for name in ("admin_epoch", "epoch", "num_updates"):
        if root.get(name) is None:
            root.set(name, "0")
    return root


def _compact(root: XNode) -> str:
    return to_xml(root, indent=None)


def document_digest(root: XNode, write: Callable[[XNode], str] = _compact) -> str:
    """MD5 of the compact text of `root` without its volatile attributes (`write` gives that
    text; a replica passes one that reuses the text of unchanged subtrees)."""
    saved = [(name, root.get(name)) for name in VOLATILE_ROOT_ATTRS if root.get(name) is not None]
    for name, _ in saved:
        root.set(name, None)
    try:
        text = write(root)
    finally:
        for name, value in saved:
            root.set(name, value)
    return hashlib.md5(text.encode()).hexdigest()


# -- paths -----------------------------------------------------------------------------------------
def path_of(*steps: tuple[str, Optional[str]]) -> Path:
    return tuple(steps)


def _match(node: XNode, tag: str, ident: Optional[str]) -> bool:
    return node.tag == tag and (ident is None or node.get("id") == ident)


def _child(node: XNode, tag: str, ident: Optional[str]) -> Optional[XNode]:
    for child in node.children:
        if _match(child, tag, ident):
            return child
    return None


def walk(root: XNode, path: Sequence[Sequence[Any]]) -> Iterator[XNode]:
    """The elements on `path` below `root`, in order, as far as they exist."""
    node: Optional[XNode] = root
    for tag, ident in path:
        node = _child(node, tag, ident)  # type: ignore[arg-type]
        if node is None:
            return
        yield node


def resolve(root: XNode, path: Sequence[Sequence[Any]]) -> Optional[XNode]:
    """The element at `path`, or None when any step is missing."""
    found = list(walk(root, path))
    if len(found) < len(path):
        return None
    return found[-1] if found else root


def _ensure(root: XNode, path: Sequence[Sequence[Any]]) -> XNode:
    node = root
    for tag, ident in path:
        nxt = _child(node, tag, ident)
        if nxt is None:
            nxt = node.sub(tag, {"id": ident} if ident is not None else None)
        node = nxt
    return node


def touches_config(edits: Iterable[Edit]) -> bool:
    for edit in edits:
        if edit[0] == "root":
            return True
        path = edit[1]
        if path and path[0][0] == "configuration":
            return True
    return False


# -- the replica -----------------------------------------------------------------------------------
class Cib:
    def __init__(self, root: XNode) -> None:
        self.root = normalize(root)
        self._digest: Optional[str] = None
        self._texts = SubtreeTexts()

    @classmethod
    def from_xml(cls, text: str, where: str = "<cib>") -> "Cib":
        try:
            root = parse_xml(text, where)
        except ConfigError as exc:
            raise CibError(str(exc)) from None
        return cls(root)

    @property
    def version(self) -> Version:
        return version_of(self.root)

    def digest(self) -> str:
        """`document_digest` of the replica, written with the kept texts of unchanged subtrees."""
        if self._digest is None:
            self._digest = document_digest(self.root, self._compact)
        return self._digest

    def _compact(self, root: XNode) -> str:
        return "".join(self._texts.write(root)) + "\n"

    def xml(self, indent: Optional[str] = None) -> str:
        if indent is None:
            return self._compact(self.root)
        return to_xml(self.root, indent=indent)

    def section(self, name: str) -> XNode:
        """A section to read; a missing one reads as empty (and is not added: reading never
        changes the replica, whose digest and version must stay those of the DC's copy)."""
        if name in SECTIONS:
            node = self.root.find(name)
        elif name in CONFIG_SECTIONS:
            config = self.root.find("configuration")
            node = config.find(name) if config is not None else None
        else:
            raise CibError(f"unknown CIB section {name!r}")
        return node if node is not None else XNode(name)

    def config_copy(self) -> XNode:
        """The document with an empty status section (what is written to disk)."""
        root = XNode(self.root.tag, self.root.attrs())
        for child in self.root.children:
            root.append(XNode("status") if child.tag == "status" else child.copy())
        return root

    # -- changing it ---------------------------------------------------------------------------------
    def apply(self, edits: Sequence[Edit], bump: bool = True) -> Version:
        """Apply edits in order and (bump) advance the version; returns the new version."""
        config = touches_config(edits)
        for edit in edits:
            self._apply_one(edit)
        if bump and not any(e[0] == "root" for e in edits):
            admin, epoch, updates = self.version
            if config:
                epoch, updates = epoch + 1, 0
            else:
                updates += 1
            self.root.set("epoch", str(epoch))
            self.root.set("num_updates", str(updates))
            self.root.set("admin_epoch", str(admin))
        self._digest = None
        return self.version

    def _forget_along(self, path: Sequence[Sequence[Any]]) -> None:
        """Forget the kept text of the root and of every existing element on `path`."""
        self._texts.forget(self.root)
        for node in walk(self.root, path):
            self._texts.forget(node)

    def _apply_one(self, edit: Edit) -> None:
        kind = edit[0]
        if kind == "root":
            self.root = normalize(parse_xml(edit[1], "<cib>"))
            self._texts.clear()
        elif kind == "set":
            self._forget_along(edit[1])
            node = self._reach(edit[1], True)
            for name, value in edit[2].items():
                node.set(name, value)
        elif kind == "put":
            path = edit[1]
            new = parse_xml(edit[2], "<cib edit>")
            tag, ident = path[-1]
            if new.tag != tag or (ident is not None and new.get("id") != ident):
                raise CibError(f"put at {_show(path)} of a <{new.tag} id={new.get('id')}>")
            self._forget_along(path[:-1])
            parent = self._reach(path[:-1], True)
            children = parent.children
            for i, child in enumerate(children):
                if _match(child, tag, ident):
                    if not isinstance(children, list):
                        parent.children = children = list(children)
                    self._texts.forget_subtree(child, len(path))
                    children[i] = new
                    return
            parent.append(new)
        elif kind == "del":
            path = edit[1]
            parent = self._reach(path[:-1], False)
            if parent is None:
                return
            tag, ident = path[-1]
            for child in list(parent.children):
                if _match(child, tag, ident):
                    self._forget_along(path[:-1])
                    self._texts.forget_subtree(child, len(path))
                    parent.remove(child)
                    return
        else:
            raise CibError(f"unknown edit {kind!r}")

    def _reach(self, path: Sequence[Sequence[Any]], create: bool) -> Optional[XNode]:
        """The element at `path` that an edit changes (made when missing, with `create`)."""
        return _ensure(self.root, path) if create else resolve(self.root, path)

    def replace(self, root: XNode) -> None:
        self.root = normalize(root)
        self._digest = None
        self._texts.clear()


def _shallow(node: XNode) -> XNode:
    copy = XNode(node.tag, line=node.line)
    copy.idx, copy.vals, copy.text = node.idx, node.vals, node.text
    copy.children = list(node.children)
    return copy


class Overlay(Cib):
    """A replica as it would be after some edits, the replica itself unchanged.

    Why: a new DC asks its policy engine about fencing before its join round has made the
    round's edits (crmd/machine.py `_maybe_fence_ahead`); a copy of the whole CIB would cost its
    size in time and memory (175 MB at 10,000 resources) on the failover's path. Here every edit
    copies only the elements on its path (shallow: attributes and the list of children); all
    else is shared with the replica and written from the replica's kept texts, none of which is
    changed or added to. Edits of the whole root are not for an overlay.
    """

    def __init__(self, base: Cib) -> None:
        super().__init__(_shallow(base.root))
        self._base_texts = base._texts
        self._copied = {id(self.root)}

    def _reach(self, path: Sequence[Sequence[Any]], create: bool) -> Optional[XNode]:
        node = self.root
        for tag, ident in path:
            children = node.children
            for i, child in enumerate(children):
                if _match(child, tag, ident):
                    if id(child) not in self._copied:
                        child = children[i] = _shallow(child)
                        self._copied.add(id(child))
                    break
            else:
                if not create:
                    return None
                child = node.sub(tag, {"id": ident} if ident is not None else None)
                self._copied.add(id(child))
            node = child
        return node

    def _apply_one(self, edit: Edit) -> None:
        if edit[0] == "root":
            raise CibError("an overlay takes no edit of the whole document")
        super()._apply_one(edit)

    def xml(self, indent: Optional[str] = None) -> str:
        if indent is not None:
            return to_xml(self.root, indent=indent)
        return "".join(self._base_texts.write(self.root, keep=False)) + "\n"


def _show(path: Sequence[Sequence[Any]]) -> str:
    return "/" + "/".join(f"{t}[{i}]" if i is not None else str(t) for t, i in path)


def wire_edits(edits: Sequence[Edit]) -> list:
    """Edits as plain lists (msgpack has no tuples)."""
    out = []
    for edit in edits:
        if edit[0] == "root":
            out.append(["root", edit[1]])
        elif edit[0] == "set":
            out.append(["set", [list(s) for s in edit[1]], dict(edit[2])])
        elif edit[0] == "put":
            out.append(["put", [list(s) for s in edit[1]], edit[2]])
        else:
            out.append(["del", [list(s) for s in edit[1]]])
    return out


def from_wire(edits: Sequence[Any]) -> list[Edit]:
    """Edits received from the DC, checked for shape (a malformed diff is refused, not applied)."""
    out: list[Edit] = []
    for edit in edits:
        if not isinstance(edit, (list, tuple)) or not edit or edit[0] not in ("root", "set", "put", "del"):
            raise CibError(f"malformed edit {edit!r:.80}")
        kind = edit[0]
        if kind == "root":
            if len(edit) != 2 or not isinstance(edit[1], str):
                raise CibError("malformed root edit")
            out.append(("root", edit[1]))
            continue
        path = edit[1]
        if not isinstance(path, (list, tuple)) or not all(
                isinstance(s, (list, tuple)) and len(s) == 2 and isinstance(s[0], str)
                and (s[1] is None or isinstance(s[1], str)) for s in path):
            raise CibError(f"malformed path in {kind} edit")
        steps = tuple((s[0], s[1]) for s in path)
        if kind == "set" and len(edit) == 3 and isinstance(edit[2], dict):
            out.append(("set", steps, dict(edit[2])))
        elif kind == "put" and len(edit) == 3 and isinstance(edit[2], str) and steps:
            out.append(("put", steps, edit[2]))
        elif kind == "del" and len(edit) == 2 and steps:
            out.append(("del", steps))
        else:
            raise CibError(f"malformed {kind} edit")
    return out
