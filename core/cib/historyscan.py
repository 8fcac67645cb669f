"""A fast path for the resource-history blocks (`<lrm_resources>` contents) of a CIB.

Why: most of a big CIB is history (for 32 nodes x 10,000 resources, 640,000 of its 684,000
elements), and expat calls back into Python for every element with a fresh list of every name
and value: that alone costs more than everything the policy engine does afterwards. History is
written by machines in one regular shape (elements with double-quoted attributes, whitespace
between them), so splitting its text on '<' and '"' (C string methods) and checking each
distinct *shape* (the text between the values) once builds the same elements in a fraction of
the time.

Anything outside that shape raises NotSimple, and the caller then parses the whole document
with expat as before, so the tree and every error message stay exactly expat's: comments,
CDATA, processing instructions, entity or character references, single quotes, text, tabs or
carriage returns, a newline inside a value, non-ASCII bytes, nested `lrm_resources`, a document
in an encoding that is not ASCII-compatible.
"""

from __future__ import annotations

from core.ctools import deque

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Callable, Iterable, Optional

MARK = b"<lrm_resources"
CLOSE_MARK = b"</lrm_resources"


class NotSimple(Exception):
    """The history text is outside the shape this module handles: parse it with expat."""


# The shapes below are regular expressions, documented as such; they are read with string
# methods (the functions after them, checked against the expressions in
# tests/unit/cib/test_historyscan_shapes.py) so that a history does not load `re` (with enum
# and its compiler, ~3.5 ms of a small `hb simulate`: core/lazyre.py).
# _NAME        [A-Za-z_:][-A-Za-z0-9_:.]*
# _OPEN_HEAD   (NAME)[ \n]+(NAME)[ \n]*=[ \n]*        an element's tag and first attribute
# _ATTR_SEP    [ \n]+(NAME)[ \n]*=[ \n]*              between two attribute values
# _OPEN_TAIL   [ \n]*(/?)>[ \n]*                      after the last value
# _BARE        (/?)(NAME)[ \n]*(/?)>[ \n]*            a tag without attributes
# _TAG         <lrm_resources(?:[ \n][ \n]*)?>         (bytes) a block's start tag
# _DECL        <\?xml[^>]*?encoding[ \n\t\r]*=[ \n\t\r]*["']([A-Za-z0-9._-]+)   (bytes, match)
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_:")
_NAME_CHARS = _NAME_START | frozenset("-0123456789.")
_ENCODING_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_ASCII_COMPATIBLE = {b"utf-8", b"utf8", b"us-ascii", b"ascii", b"iso-8859-1", b"latin-1",
                     b"latin1"}

# bytes expat treats otherwise than as plain characters (or rejects)
_UNUSUAL = bytes(range(0, 9)) + b"\x0b\x0c" + bytes(range(14, 32)) + b"&\t\r"

OPEN, CLOSE = 0, 1


def _name_end(text: str, at: int) -> int:
    """The end of the _NAME starting at `at`, -1 when none starts there."""
    end = len(text)
    if at >= end or text[at] not in _NAME_START:
        return -1
    at += 1
    while at < end and text[at] in _NAME_CHARS:
        at += 1
    return at


def _blanks_end(text: str, at: int) -> int:
    """The end of the run of spaces and newlines starting at `at`."""
    end = len(text)
    while at < end and text[at] in " \n":
        at += 1
    return at


def _closed_at(text: str, at: int) -> Optional[str]:
    """`[ \\n]*(/?)>[ \\n]*` to the end of the text, from `at`: the slash, None if no match."""
    at = _blanks_end(text, at)
    slash = "/" if text.startswith("/", at) else ""
    at += len(slash)
    if not text.startswith(">", at) or _blanks_end(text, at + 1) != len(text):
        return None
    return slash


def bare_tag(text: str) -> Optional[tuple[str, str, str]]:
    """_BARE's groups (slash, name, slash) when it matches all of `text`, else None."""
    start = 1 if text.startswith("/") else 0
    end = _name_end(text, start)
    if end < 0:
        return None
    slash = _closed_at(text, end)
    return None if slash is None else (text[:start], text[start:end], slash)


def open_head(text: str) -> Optional[tuple[str, str]]:
    """_OPEN_HEAD's groups (tag, first attribute name) when it matches all of `text`."""
    end = _name_end(text, 0)
    if end < 0:
        return None
    start = _blanks_end(text, end)
    stop = _name_end(text, start) if start > end else -1
    if stop < 0:
        return None
    equals = _blanks_end(text, stop)
    if not text.startswith("=", equals) or _blanks_end(text, equals + 1) != len(text):
        return None
    return text[:end], text[start:stop]


def open_tail(text: str) -> Optional[str]:
    """_OPEN_TAIL's group (the slash) when it matches all of `text`."""
    return _closed_at(text, 0)


def attr_sep(text: str) -> Optional[str]:
    """_ATTR_SEP's group (the attribute name) when it matches all of `text`."""
    start = _blanks_end(text, 0)
    stop = _name_end(text, start) if start > 0 else -1
    if stop < 0:
        return None
    equals = _blanks_end(text, stop)
    if not text.startswith("=", equals) or _blanks_end(text, equals + 1) != len(text):
        return None
    return text[start:stop]


def is_block_tag(tag: bytes) -> bool:
    """_TAG matches all of `tag`."""
    return tag.startswith(b"<lrm_resources") and tag.endswith(b">") and len(tag) >= 15 and \
        not tag[14:-1].strip(b" \n")


def declared_encoding(head: bytes) -> Optional[bytes]:
    """_DECL's group (the encoding an XML declaration at the start of `head` names), or None."""
    if not head.startswith(b"<?xml"):
        return None
    end = len(head)
    limit = head.find(b">", 5)  # `[^>]*?`: "encoding" must start before the first ">"
    if limit < 0:
        limit = end
    at = head.find(b"encoding", 5)
    while 0 <= at < limit:
        pos = at + 8
        while pos < end and head[pos] in b" \n\t\r":
            pos += 1
        if pos < end and head[pos] == 0x3D:  # "="
            pos += 1
            while pos < end and head[pos] in b" \n\t\r":
                pos += 1
            if pos < end and head[pos] in b"\"'":
                stop = pos = pos + 1
                while stop < end and head[stop] in _ENCODING_CHARS:
                    stop += 1
                if stop > pos:
                    return head[pos:stop]
        at = head.find(b"encoding", at + 1)
    return None


def ascii_compatible(head: bytes) -> bool:
    """Does the document starting with `head` read ASCII bytes as ASCII (UTF-8 by default)?"""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
        return False
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if not head.startswith(b"<?xml"):
        return True
    found = declared_encoding(head)
    return found is None or found.lower() in _ASCII_COMPATIBLE


def shape_of(key: tuple[str, ...], attrs_of: Callable[[tuple[str, ...]], tuple]) -> tuple:
    """What a token with these separators is: (OPEN, tag, index, builder, newlines,
    self-closing) or (CLOSE, tag, newlines); NotSimple when it is not well-formed here."""
    newlines = sum(part.count("\n") for part in key)
    if len(key) == 1:
        found = bare_tag(key[0])
        if found is None or (found[0] and found[2]) or found[1] == "lrm_resources":
            raise NotSimple(key[0])
        if found[0]:
            return (CLOSE, found[1], newlines)
        names: tuple[str, ...] = ()
        return (OPEN, found[1], *attrs_of(names), newlines, bool(found[2]))
    head = open_head(key[0])
    tail = open_tail(key[-1])
    if head is None or tail is None or head[0] == "lrm_resources":
        raise NotSimple(key[0])
    names = [head[1]]
    for sep in key[1:-1]:
        name = attr_sep(sep)
        if name is None:
            raise NotSimple(sep)
        names.append(name)
    if len(set(names)) != len(names):
        raise NotSimple("duplicate attribute")
    return (OPEN, head[0], *attrs_of(tuple(names)), newlines, bool(tail))


def scan(content: bytes | bytearray, line: int, depth: int, shapes: dict, attrs_of, node_class,
         leaf: tuple, shared: Optional[dict] = None) -> list:
    """The elements of one history block, built as the expat path builds them: `line` is the
    line the content starts on, `depth` the number of ancestors of its top elements (line
    numbers are kept above depth 6 only, as the expat path does).

    `shared` (a table for the blocks of one input that a warm policy engine keeps, see
    core.cib.xmltree.value_pool): equal pieces below the top elements are one object in all
    those blocks: an empty element (a history entry's operation record) with the same tag,
    attributes and line, the child list of an element whose children are those same objects,
    and line numbers. Why: at 32 nodes / 10,000 resources a node's history is mostly the same
    probe records as every other node's, and the kept history held each of them per node
    (320,000 records and their lists, ~50 MB between transitions). Safe because nothing
    changes a parsed input element in place (the policy engine only caches on an element what
    it derives from the element's own content, `rec`), and an element is not shared within
    one parent (two equal records of one resource stay two objects)."""
    if len(content.translate(None, _UNUSUAL)) != len(content):
        raise NotSimple("reference, tab, carriage return or control character")
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError:
        raise NotSimple("non-ASCII history") from None
    pieces = text.split("<")
    first = pieces[0]
    if first.strip(" \n"):
        raise NotSimple("text")
    line += first.count("\n")
    first_line = line - first.count("\n")
    new = node_class.__new__
    top: list = []
    stack: list = []
    get = shapes.get
    last: dict = {}
    for token in pieces[1:]:
        if token[:1] == "/":  # an end tag: no values to split out
            info = get(token)
            if info is None:
                info = shapes[token] = shape_of((token,), attrs_of)
        else:
            parts = token.split('"')
            seps = parts[0::2]
            # comparing with the last shape that began alike hashes one short string, not all
            seen = last.get(parts[0])
            if seen is not None and seen[0] == seps:
                info = seen[1]
            else:
                key = tuple(seps)
                info = get(key)
                if info is None:
                    info = shapes[key] = shape_of(key, attrs_of)
                last[parts[0]] = (seps, info)
        if info[0] == OPEN:
            kind, tag, idx, build, newlines, closed = info
            at = line if depth + len(stack) < 6 else 0
            if shared is not None:
                at = shared.setdefault(at, at)
            if shared is not None and closed and stack:
                vals = build(parts)
                key = (tag, id(idx), vals, at)
                node = shared.get(key)
                if node is None or node in stack[-1].children:
                    node = new(node_class)
                    node.tag = tag
                    node.idx = idx
                    node.vals = vals
                    node.children = leaf
                    node.text = None
                    node.rec = None
                    node.line = at
                    shared.setdefault(key, node)
                parent = stack[-1]
                if parent.children:
                    parent.children.append(node)
                else:
                    parent.children = [node]
                line += newlines
                continue
            node = new(node_class)
            node.tag = tag
            node.idx = idx
            node.vals = build(parts)
            node.children = leaf
            node.text = None
            node.rec = None
            node.line = at
            if stack:
                parent = stack[-1]
                if parent.children:
                    parent.children.append(node)
                else:
                    parent.children = [node]
            else:
                top.append(node)
            if not closed:
                stack.append(node)
        else:
            kind, tag, newlines = info
            if not stack or stack[-1].tag != tag:
                raise NotSimple("mismatched end tag")
            done = stack.pop()
            if shared is not None and done.children is not leaf:
                # (keyed by its children's identities: XNodes compare as themselves)
                done.children = shared.setdefault(tuple(done.children), done.children)
        line += newlines
    if stack:
        raise NotSimple("unclosed element")
    if line - first_line != text.count("\n"):
        raise NotSimple("newline in a value")  # the shapes hold all the others
    return top


def feed(parse: Callable[[bytes, bool], object], chunks: Iterable[bytes],
         pending: deque) -> None:
    """Give expat the document from `chunks` with the content of each complete
    `<lrm_resources>` block replaced by its newlines (so line numbers stay), queueing
    (byte offset of its start tag, newlines in the tag, content) on `pending` for the start
    handler, which builds the content with scan()."""
    buf = bytearray()
    fed = 0
    searched = 0  # where to look on for the end of a block that goes on in the next chunks
    for chunk in chunks:
        buf += chunk
        pos = 0
        while True:
            at = buf.find(MARK, pos)
            if at < 0:
                cut = max(pos, len(buf) - len(MARK) + 1)
                break
            end = buf.find(b">", at)
            close = -1 if end < 0 else buf.find(CLOSE_MARK, max(end, searched))
            if close < 0:
                cut = at  # the block goes on in the next chunks
                searched = max(0, len(buf) - len(CLOSE_MARK) + 1 - at)
                break
            searched = 0
            tag = buf[at:end + 1]
            if not is_block_tag(tag):
                parse(buf[pos:at + 1], False)
                fed += at + 1 - pos
                pos = at + 1
                continue
            pending.append((fed + at - pos, tag.count(b"\n"), buf[end + 1:close]))
            parse(buf[pos:end + 1], False)
            fed += end + 1 - pos
            newlines = buf.count(b"\n", end + 1, close)
            parse(b"\n" * newlines, False)
            fed += newlines
            pos = close
        parse(buf[pos:cut], False)
        fed += cut - pos
        del buf[:cut]
    parse(buf, True)


def pending_at(pending: deque, index: int) -> Optional[tuple]:
    """The queued block whose start tag is at byte `index`, if any; NotSimple when a queued
    block was passed over (it was inside a comment, CDATA or the like, not an element)."""
    if not pending:
        return None
    offset = pending[0][0]
    if offset == index:
        return pending.popleft()
    if offset < index:
        raise NotSimple("a history block that is not an element")
    return None
