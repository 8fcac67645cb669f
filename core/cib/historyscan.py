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

from collections import deque

from core import lazyre as re

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Callable, Iterable, Optional

MARK = b"<lrm_resources"
CLOSE_MARK = b"</lrm_resources"


class NotSimple(Exception):
    """The history text is outside the shape this module handles: parse it with expat."""


_NAME = r"[A-Za-z_:][-A-Za-z0-9_:.]*"
# patterns as text, compiled by re (and cached there) on first use, per shape or block, never
# per element: a CIB without history needs most of them not at all, and compiling them at import
# cost every hb simulate 0.5 ms
_OPEN_HEAD = rf"({_NAME})[ \n]+({_NAME})[ \n]*=[ \n]*"
_ATTR_SEP = rf"[ \n]+({_NAME})[ \n]*=[ \n]*"
_OPEN_TAIL = r"[ \n]*(/?)>[ \n]*"
_BARE = rf"(/?)({_NAME})[ \n]*(/?)>[ \n]*"
_TAG = rb"<lrm_resources(?:[ \n][ \n]*)?>"
_DECL_ENCODING = rb"""<\?xml[^>]*?encoding[ \n\t\r]*=[ \n\t\r]*["']([A-Za-z0-9._-]+)"""
_ASCII_COMPATIBLE = {b"utf-8", b"utf8", b"us-ascii", b"ascii", b"iso-8859-1", b"latin-1",
                     b"latin1"}

# bytes expat treats otherwise than as plain characters (or rejects)
_UNUSUAL = bytes(range(0, 9)) + b"\x0b\x0c" + bytes(range(14, 32)) + b"&\t\r"

OPEN, CLOSE = 0, 1


def ascii_compatible(head: bytes) -> bool:
    """Does the document starting with `head` read ASCII bytes as ASCII (UTF-8 by default)?"""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
        return False
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if not head.startswith(b"<?xml"):
        return True
    found = re.match(_DECL_ENCODING, head)
    return found is None or found.group(1).lower() in _ASCII_COMPATIBLE


def shape_of(key: tuple[str, ...], attrs_of: Callable[[tuple[str, ...]], tuple]) -> tuple:
    """What a token with these separators is: (OPEN, tag, index, builder, newlines,
    self-closing) or (CLOSE, tag, newlines); NotSimple when it is not well-formed here."""
    newlines = sum(part.count("\n") for part in key)
    if len(key) == 1:
        found = re.fullmatch(_BARE, key[0])
        if found is None or (found.group(1) and found.group(3)) or \
                found.group(2) == "lrm_resources":
            raise NotSimple(key[0])
        if found.group(1):
            return (CLOSE, found.group(2), newlines)
        names: tuple[str, ...] = ()
        return (OPEN, found.group(2), *attrs_of(names), newlines, bool(found.group(3)))
    head = re.fullmatch(_OPEN_HEAD, key[0])
    tail = re.fullmatch(_OPEN_TAIL, key[-1])
    if head is None or tail is None or head.group(1) == "lrm_resources":
        raise NotSimple(key[0])
    names = [head.group(2)]
    for sep in key[1:-1]:
        found = re.fullmatch(_ATTR_SEP, sep)
        if found is None:
            raise NotSimple(sep)
        names.append(found.group(1))
    if len(set(names)) != len(names):
        raise NotSimple("duplicate attribute")
    return (OPEN, head.group(1), *attrs_of(tuple(names)), newlines, bool(tail.group(1)))


def scan(content: bytes | bytearray, line: int, depth: int, shapes: dict, attrs_of, node_class,
         leaf: tuple) -> list:
    """The elements of one history block, built as the expat path builds them: `line` is the
    line the content starts on, `depth` the number of ancestors of its top elements (line
    numbers are kept above depth 6 only, as the expat path does)."""
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
            node = new(node_class)
            node.tag = tag
            node.idx = idx
            node.vals = build(parts)
            node.children = leaf
            node.text = None
            node.rec = None
            node.line = line if depth + len(stack) < 6 else 0
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
            stack.pop()
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
            if re.fullmatch(_TAG, tag) is None:
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
