"""A small, memory-lean XML tree for CIB documents, with a parser and a writer.

Why not `xml.etree.ElementTree`: a CIB's status section holds one `lrm_rsc_op` per resource
per node (320,000 of them for 32 nodes x 10,000 resources, 175 MB of text) and an ElementTree
`Element` keeps a full attribute dict per element (600+ MB for that document). An `XNode` keeps
its attribute *names* as one tuple shared by every element with the same names (all history
entries look alike) and its values as a plain tuple, itself shared by all elements whose values
are all equal (the same probe result recorded on every node). That document fits in ~130 MB and
parses in under three seconds with the C expat parser; parse_xml_file feeds it in chunks so its
175 MB of text are never held at once.

Everything is kept: element order, attribute order, unknown elements and attributes, text; so a
CIB read and written again keeps what this project does not understand (the engine reports
those features as unsupported instead of losing them).
"""

from __future__ import annotations

import gc
import sys

# xml.parsers.expat is this C module re-exported (`from pyexpat import *`) through two
# packages whose loading costs hb simulate's start-up 0.3 ms
import pyexpat as expat

from core.cib import historyscan
from core.ctools import call, deque, itemgetter
from core.errors import ConfigError

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

# names tuple -> {name: index}; shared by all nodes with the same attribute names
_INDEX: dict[tuple[str, ...], dict[str, int]] = {(): {}}
_EMPTY: tuple[str, ...] = ()
# the children of a parsed element without children (shared; replaced on first append)
_LEAF: tuple = ()
# (id of a shared name->index dict, names) -> getter of those values from a value tuple;
# those dicts live as long as _INDEX
_GETTERS: dict[tuple[int, tuple[str, ...]], Callable[[tuple], tuple]] = {}


def _index_for(keys: tuple[str, ...]) -> dict[str, int]:
    index = _INDEX.get(keys)
    if index is None:
        index = {name: i for i, name in enumerate(keys)}
        _INDEX[keys] = index
    return index


def _getter_for(index: dict[str, int], names: tuple[str, ...]) -> Callable[[tuple], tuple]:
    positions = tuple(index.get(n) for n in names)
    if len(names) > 1 and None not in positions:
        getter = itemgetter(*positions)
    else:
        def getter(vals: tuple) -> tuple:
            return tuple(None if i is None else vals[i] for i in positions)
    _GETTERS[(id(index), names)] = getter
    return getter


class XNode:
    """One element: `tag`, attributes (`get`, `set`, `attrs`), `children`, `text`, `line`."""

    __slots__ = ("tag", "idx", "vals", "children", "text", "line", "rec")

    def __init__(self, tag: str, attrs: Optional[dict[str, str]] = None,
                 children: Optional[list["XNode"]] = None, line: int = 0) -> None:
        self.tag = tag
        if attrs:
            self.idx = _index_for(tuple(attrs))
            self.vals: tuple[str, ...] = tuple(attrs.values())
        else:
            self.idx = _INDEX[_EMPTY]
            self.vals = ()
        # a list, or the shared empty tuple _LEAF for an element parsed without children
        self.children: Sequence[XNode] = children if children is not None else []
        self.text: Optional[str] = None
        self.line = line
        # parsed form cached by readers (e.g. core.cib.status.OpRec, pengine.entryindex's
        # indexes): each reader checks the class of what it finds
        self.rec: Any = None

    # attributes -------------------------------------------------------------------------------
    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.idx)

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        i = self.idx.get(name)
        return default if i is None else self.vals[i]

    def __contains__(self, name: str) -> bool:
        return name in self.idx

    def set(self, name: str, value: Optional[str]) -> None:
        """Set (or with None remove) an attribute, keeping the others in place."""
        self.rec = None
        i = self.idx.get(name)
        keys = tuple(self.idx)
        if value is None:
            if i is not None:
                self.idx = _index_for(keys[:i] + keys[i + 1:])
                self.vals = self.vals[:i] + self.vals[i + 1:]
            return
        if i is None:
            self.idx = _index_for(keys + (name,))
            self.vals = self.vals + (value,)
        else:
            vals = list(self.vals)
            vals[i] = value
            self.vals = tuple(vals)

    def values_of(self, names: tuple[str, ...]) -> tuple[Optional[str], ...]:
        """Several attributes at once (None where absent); fast for many elements alike, as
        elements with the same attribute names share one getter (an operator.itemgetter,
        which picks all the values in C, when they have every name asked for)."""
        getter = _GETTERS.get((id(self.idx), names))
        if getter is None:
            getter = _getter_for(self.idx, names)
        return getter(self.vals)

    def attrs(self) -> dict[str, str]:
        return dict(zip(self.idx, self.vals))

    # children ---------------------------------------------------------------------------------
    def __iter__(self) -> Iterator["XNode"]:
        return iter(self.children)

    def __len__(self) -> int:
        return len(self.children)

    def find(self, tag: str) -> Optional["XNode"]:
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def findall(self, tag: str) -> list["XNode"]:
        return [child for child in self.children if child.tag == tag]

    def iter(self, tag: Optional[str] = None) -> Iterator["XNode"]:
        """All descendants (and self), depth first, document order."""
        stack = [self]
        while stack:
            node = stack.pop()
            if tag is None or node.tag == tag:
                yield node
            if node.children:
                stack.extend(reversed(node.children))

    def append(self, child: "XNode") -> "XNode":
        if not self.children:
            self.children = [child]  # also replaces the parser's shared empty tuple
            return child
        self.children.append(child)
        return child

    def sub(self, tag: str, attrs: Optional[dict[str, str]] = None) -> "XNode":
        """Create, append and return a child element."""
        return self.append(XNode(tag, attrs))

    def remove(self, child: "XNode") -> None:
        self.children.remove(child)

    def copy(self) -> "XNode":
        node = XNode(self.tag)
        node.idx, node.vals, node.text, node.line = self.idx, self.vals, self.text, self.line
        node.children = [child.copy() for child in self.children]
        return node

    def __repr__(self) -> str:
        ident = self.get("id")
        return f"<{self.tag}{' id=' + ident if ident else ''}>"


# attribute values that are (almost) never shared between the elements of one document: not
# worth interning in a whole parse (see _value_builder for pieces parsed with a shared pool)
_UNIQUE = frozenset(("id", "operation_key", "transition-key", "transition-magic", "call-id",
                     "last-rc-change", "last-run"))


# (attribute names, every value interned) -> the compiled builder expression (bound to each
# parse's own tables by eval)
_BUILDER_CODE: dict[tuple[tuple[str, ...], bool], object] = {}
# attribute names this process has built values for without compiling (see _value_builder)
_SEEN_NAMES: set[tuple[tuple[str, ...], bool]] = set()


def _value_builder(names: tuple[str, ...], intern, pool: dict, large: bool,
                   every: bool) -> Callable[[list[str]], tuple[str, ...]]:
    """A function turning expat's [name, value, name, value, ...] list into the value tuple
    for elements with exactly these attribute names, interning the values that repeat
    (`intern(v, v)`: the parse's own table) and taking the tuple from `pool` (one tuple for
    all elements with equal values).

    With `every` (a piece of a larger document, parsed with a pool shared with the others:
    pengine/inputcache.py parses each node's history on its own and keeps it between
    transitions), every value is interned process-wide instead (sys.intern: one string per
    distinct value, freed with its last user): a history entry's id and operation key are the
    same on every node, and interned per piece 32 nodes x 10,000 resources kept 2 million
    strings, 136 MB. A whole document does not need it: its pool already shares equal tuples,
    and interning the unique values costs 15 % of a large parse.

    Two forms, the same result. A generated straight tuple expression is the fastest per
    element (and this runs per element), but compiling it costs ~0.1 ms per set of names: more
    than a small document's whole parse gains from it when the process parses only that one
    document (`hb simulate`). So it is compiled for a `large` document, or when these names come
    back in a later document of the same process (the pengine daemon); otherwise the builder is
    made of C-level pieces: an itemgetter for the values and, per value, `intern` or a no-op
    lookup applied by map (about 12 % slower per element, nothing to compile)."""
    key = (names, every)
    code = _BUILDER_CODE.get(key)
    if code is None and not large and key not in _SEEN_NAMES:
        _SEEN_NAMES.add(key)
        # itemgetter with several indexes returns a tuple, with one the item itself
        take = itemgetter(*range(1, 2 * len(names), 2)) if len(names) > 1 else \
            (lambda a: (a[1],))
        if every:
            process_intern = sys.intern

            def build_every(a: list[str]) -> tuple[str, ...]:
                return pool[tuple(map(process_intern, take(a)))]
            return build_every
        keep = {}.get  # keep(v, v) is v: the unique values are not interned
        apply = tuple(keep if name in _UNIQUE else intern for name in names)

        def build(a: list[str]) -> tuple[str, ...]:
            values = take(a)
            return pool[tuple(map(call, apply, values, values))]
        return build
    if code is None:
        parts = []
        for i, name in enumerate(names):
            at = 2 * i + 1
            if every:
                parts.append(f"s(a[{at}])")
            else:
                parts.append(f"a[{at}]" if name in _UNIQUE else f"i(a[{at}], a[{at}])")
        # generated from the fixed template above, never from the document; compiled once per
        # process for each set of names (the policy engine daemon parses many small documents)
        code = _BUILDER_CODE[key] = compile(f"lambda a: p[({', '.join(parts)},)]",
                                            "<xmltree value builder>", "eval")
    return eval(code, {"i": intern, "s": sys.intern, "p": pool})  # noqa: S307


# a document this big compiles its value builders (see _value_builder)
LARGE_DOCUMENT_BYTES = 512 * 1024


def value_pool() -> dict:
    """A table of value tuples for parse_xml's `pool`: documents parsed with the same one share
    their equal value tuples (pengine/inputcache.py parses each node's history on its own)."""
    return _Pool()


def parse_xml(data: str | bytes, path: str = "<cib>", depth: int = 0,
              pool: Optional[dict] = None) -> XNode:
    """Parse a whole document; malformed XML raises ConfigError(path, line, message).
    `depth`: the number of ancestors the document's root has in a larger document it was cut
    from, so that its elements keep line numbers where that document's would (above depth 6
    only); `pool`: value tuples shared with other parses (value_pool()), every value then
    interned process-wide (see _value_builder)."""
    if isinstance(data, (bytes, bytearray)) and historyscan.MARK in data and \
            historyscan.ascii_compatible(data[:256]):
        step = 1 << 20
        try:
            return _parse(path, (data[i:i + step] for i in range(0, len(data), step)), True,
                          len(data) >= LARGE_DOCUMENT_BYTES, depth, pool)
        except (historyscan.NotSimple, ConfigError):
            pass  # expat alone decides, and words any error
    return _parse(path, (data,), False, len(data) >= LARGE_DOCUMENT_BYTES, depth, pool)


def parse_xml_file(path: str, chunk_bytes: int = 1 << 20) -> XNode:
    """Parse the document in file `path` as parse_xml does (same tree, same errors), fed to
    the parser in chunks: the file's bytes are never all in memory at once, which for a
    175 MB CIB is a third of the peak. OSError propagates."""
    with open(path, "rb") as handle:
        def chunks(first: bytes = b"") -> Iterator[bytes]:
            if first:
                yield first
            while True:
                chunk = handle.read(chunk_bytes)
                if not chunk:
                    return
                yield chunk
        large = handle.seek(0, 2) >= LARGE_DOCUMENT_BYTES  # the file's size
        handle.seek(0)
        head = handle.read(chunk_bytes)
        if historyscan.ascii_compatible(head[:256]):
            try:
                return _parse(path, chunks(head), True, large)
            except (historyscan.NotSimple, ConfigError):
                pass  # expat alone decides, and words any error
        handle.seek(0)
        return _parse(path, chunks(), False, large)


def _no_values(parts: list[str]) -> tuple[str, ...]:
    return ()


class _Pool(dict):
    """Equal value tuples shared: `pool[t]` is the first tuple equal to t (history entries
    on different nodes often have all their values alike); `nodes`: equal history pieces
    shared (core.cib.historyscan.scan's `shared`)."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: dict = {}

    def __missing__(self, key: tuple) -> tuple:
        self[key] = key
        return key


def _parse(path: str, chunks: Iterable[str | bytes], fast: bool, large: bool = False,
           depth: int = 0, pool: Optional[dict] = None) -> XNode:
    """The tree builder behind parse_xml and parse_xml_file, fed the document in `chunks`.
    With `fast`, complete `<lrm_resources>` blocks are built by core.cib.historyscan, and
    anything it does not handle raises historyscan.NotSimple (the caller then parses again
    without it, so that the tree and any error are expat's own). `large` chooses the value
    builders' form (_value_builder); `depth` and `pool` are parse_xml's.

    The element callback is a closure over local variables (it runs once per element, over a
    million times for a large CIB); attribute values are interned (see _value_builder), all
    of them process-wide when a pool is given.
    """
    parser = expat.ParserCreate()
    parser.ordered_attributes = True
    parser.buffer_text = True
    stack: list[XNode] = []
    roots: list[XNode] = []
    known: dict[tuple[str, ...], tuple[dict[str, int], tuple[bool, ...]]] = {}
    values: dict[str, str] = {}
    intern = values.setdefault
    every = pool is not None  # a piece kept with others: every value interned process-wide
    if pool is None:
        pool = _Pool()
    # an element's line is kept while it has fewer than 6 ancestors in the whole document
    keep_lines = 6 - depth
    empty_idx = _INDEX[_EMPTY]
    new = XNode.__new__
    push = stack.append
    pending: deque = deque()
    shapes: dict = {}

    def attrs_of(names: tuple[str, ...]) -> tuple:
        """(name index, value builder) for historyscan, shared with the expat callback."""
        if not names:
            return empty_idx, _no_values
        got = known.get(names)
        if got is None:
            got = known[names] = (_index_for(names),
                                  _value_builder(names, intern, pool, large, every))
        return got

    def start(tag: str, attrs: list[str]) -> None:
        node = new(XNode)
        node.tag = tag
        if attrs:
            names = tuple(attrs[0::2])
            got = known.get(names)
            if got is None:
                got = known[names] = (_index_for(names),
                                      _value_builder(names, intern, pool, large, every))
            node.idx = got[0]
            node.vals = got[1](attrs)
        else:
            node.idx = empty_idx
            node.vals = ()
        node.children = _LEAF  # most elements (all history entries) never get children
        node.text = None
        node.rec = None
        if stack:
            parent = stack[-1]
            if parent.children:
                parent.children.append(node)
            else:
                parent.children = [node]
            # line numbers matter for messages about configuration, not for history
            node.line = parser.CurrentLineNumber if len(stack) < keep_lines else 0
            if tag == "lrm_resources":
                # resource history has no text, only (lots of) whitespace between elements:
                # not reporting it saves a callback per history entry
                parser.CharacterDataHandler = None
                block = historyscan.pending_at(pending, parser.CurrentByteIndex) if fast \
                    else None
                if block is not None:
                    node.children = historyscan.scan(
                        block[2], parser.CurrentLineNumber + block[1], len(stack) + 1 + depth,
                        shapes, attrs_of, XNode, _LEAF, pool.nodes if every else None) or _LEAF
        else:
            node.line = parser.CurrentLineNumber
            roots.append(node)
        push(node)

    def end(tag: str) -> None:
        stack.pop()
        if tag == "lrm_resources":
            parser.CharacterDataHandler = chars

    def chars(data: str) -> None:
        if stack and data.strip():
            node = stack[-1]
            node.text = data if node.text is None else node.text + data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    # building a tree creates no garbage, but hundreds of thousands of new containers make
    # the cyclic collector run again and again over them: a third of the time for a big CIB
    collecting = gc.isenabled()
    gc.disable()
    try:
        if fast:
            historyscan.feed(parser.Parse, chunks, pending)
            if pending:
                raise historyscan.NotSimple("a history block that is not an element")
        else:  # the last chunk is given as final (a whole document: one call, as always)
            previous = None
            for chunk in chunks:
                if previous is not None:
                    parser.Parse(previous, False)
                previous = chunk
            parser.Parse(b"" if previous is None else previous, True)
    except expat.ExpatError as exc:
        raise ConfigError(path, exc.lineno, f"malformed XML: {expat.ErrorString(exc.code)} "
                                            f"(column {exc.offset + 1})") from None
    finally:
        if collecting:
            gc.enable()
    assert roots
    return roots[0]


_ATTR_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                              "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def escape_attr(value: str) -> str:
    """An attribute value as written between double quotes (the writer's escaping)."""
    return value.translate(_ATTR_ESCAPE)
_TEXT_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _attr_text(node: XNode) -> str:
    return "".join(f' {k}="{v.translate(_ATTR_ESCAPE)}"' for k, v in zip(node.idx, node.vals))


def _open(node: XNode, out: list[str], pad: str) -> None:
    """The start tag and text of an element that has children (its children and end tag follow)."""
    out.append(f"{pad}<{node.tag}{_attr_text(node)}>")
    if node.text is not None:
        out.append(node.text.translate(_TEXT_ESCAPE))


def _write(node: XNode, out: list[str], indent: Optional[str], depth: int) -> None:
    pad = "" if indent is None else indent * depth
    if not node.children:
        attrs = _attr_text(node)
        if node.text is None:
            out.append(f"{pad}<{node.tag}{attrs}/>")
        else:
            out.append(f"{pad}<{node.tag}{attrs}>{node.text.translate(_TEXT_ESCAPE)}</{node.tag}>")
        return
    _open(node, out, pad)
    for child in node.children:
        _write(child, out, indent, depth + 1)
    out.append(f"{pad}</{node.tag}>")


def to_xml(node: XNode, indent: Optional[str] = "  ") -> str:
    """Serialize; with `indent` one element per line (the way Pacemaker writes CIBs)."""
    out: list[str] = []
    _write(node, out, indent, 0)
    return ("\n" if indent is not None else "").join(out) + "\n"


class SubtreeTexts:
    """The compact text (`to_xml(..., indent=None)`) of one tree, reusing the text of the
    subtrees at a few fixed depths that have not changed since the last time.

    Why: a CIB replica is written whole after nearly every change (its digest, the copy sent to
    the policy engine), while a change touches one branch: an operation result is one
    `lrm_resource` among hundreds. Keeping the text of the elements at `depths` (3 and 5 from the
    root for a CIB: a primitive or a node's `lrm`, and an `lrm_resource`) makes writing the tree
    cost the changed branches plus a join of the kept texts, for at most twice the text in memory.

    The owner keeps it true: before it changes an element (attributes, children, text) it calls
    `forget` for that element and every ancestor, and it calls `forget_subtree` for an element it
    removes or replaces (what is gone must not stay referenced here). A tree replaced as a whole
    needs `clear`. The result is always the very text `to_xml` gives; a test compares them.
    """

    __slots__ = ("depths", "deepest", "_texts")

    def __init__(self, depths: tuple[int, ...] = (3, 5)) -> None:
        if not depths or min(depths) < 1:
            raise ValueError("depths are 1 or more (the root is always written)")
        self.depths = frozenset(depths)
        self.deepest = max(depths)
        self._texts: dict[int, tuple[XNode, str]] = {}

    def __len__(self) -> int:
        return len(self._texts)

    def clear(self) -> None:
        self._texts.clear()

    def forget(self, node: XNode) -> None:
        self._texts.pop(id(node), None)

    def forget_subtree(self, node: XNode, depth: int) -> None:
        """Forget `node` (at `depth`) and every kept element below it."""
        self._texts.pop(id(node), None)
        if depth < self.deepest:
            for child in node.children:
                self.forget_subtree(child, depth + 1)

    def write(self, root: XNode, keep: bool = True) -> list[str]:
        """The pieces of the compact text of `root`, without the final newline of `to_xml`.
        With `keep` false, texts written anew are not kept (a passing copy of the tree that
        shares most of its elements with the owner's, see crmd/cib.py `Overlay`)."""
        out: list[str] = []
        self._element(root, out, 0, keep)
        return out

    def _element(self, node: XNode, out: list[str], depth: int, keep: bool) -> None:
        if depth in self.depths:
            hit = self._texts.get(id(node))
            if hit is None or hit[0] is not node:
                piece: list[str] = []
                if depth == self.deepest:
                    _write(node, piece, None, 0)
                else:
                    self._open_children_close(node, piece, depth, keep)
                hit = (node, "".join(piece))
                if keep:
                    self._texts[id(node)] = hit
            out.append(hit[1])
        else:
            self._open_children_close(node, out, depth, keep)

    def _open_children_close(self, node: XNode, out: list[str], depth: int, keep: bool) -> None:
        if not node.children:
            _write(node, out, None, 0)
            return
        _open(node, out, "")
        for child in node.children:
            self._element(child, out, depth + 1, keep)
        out.append(f"</{node.tag}>")
