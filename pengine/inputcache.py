"""The daemon's parsed inputs: the configuration and each node's `node_state` parsed once,
reused while their text is unchanged.

Why: the DC's crmd sends the whole CIB to the policy engine for every transition, and between
two transitions most of it is the same text: the configuration, and the status of every node the
transition did not touch (on a node failure, all nodes but one). At 32 nodes / 10,000 resources
the status is 175 MB and parsing it takes seconds; with this cache a node failure re-parses one
`node_state` and the rest of the document's skeleton. The history entries of a reused section
also keep what readers cached on them (`XNode.rec`: the parsed form of each operation record),
so unpacking them is cheaper too.

How, and when not: the text is split at the `<node_state>` elements of `<status>` by plain
string search, and so is the `<configuration>` element. That is exact only where every `<` opens
a tag. A document with comments, CDATA or a DOCTYPE (anything starting `<!`), or with anything
but `node_state` elements and whitespace directly in `<status>`, is parsed whole as before; so is
a document the splitter cannot cut cleanly. A processing instruction (or anything else) holding
a false `</node_state>` inside a section leaves a piece that does not parse, which also ends in
the whole parse: a cut in the wrong place is never used. The skeleton (the
document with an empty `<status>`) and each new section are parsed by `parse_xml`, so malformed
input gets its usual error: a malformed section is parsed again as part of the whole document,
for the error's line number in the whole.

A reused section is the same object in two successive inputs: the policy engine must not change
input elements (it only caches derived values on status elements, valid for the same text).
The configuration is parsed with its lines in the whole document (it starts near the top: the
lines before it are given to the parser as empty lines), since configuration warnings name
lines. `node_state` elements get their line in the whole document; elements below them keep
lines relative to their section, at the depths where the whole document keeps lines (each
piece is parsed with its depth in the whole: history entries keep none, as there).

Bytes: the input is cut, hashed and parsed as the UTF-8 bytes it arrives as (`PeSchedule.cib`),
never decoded: at 32 nodes / 10,000 resources the decoded copy was 175 MB more at the peak, and
expat reads bytes directly (new sections then also take `core.cib.historyscan`'s fast path for
their histories, as `hb simulate`'s file parse does). A `str` input (tests, tools) is encoded
first. A document whose XML declaration names another encoding is decoded as UTF-8 and parsed
whole, as its text was before (expat reads a str as UTF-8 whatever the declaration says).

Read once, front to back: the skeleton and the configuration, then each `node_state` in
order (its span found, checked for markup declarations, hashed and, when new, parsed), so that
an input handed over by file (core/spool.py's `Mapped`: the CIB mapped, 175 MB at 32 nodes /
10,000 resources) gives each part's pages back once read (its `release_below`) and is never
resident whole. A document found unsafe to cut midway is parsed whole, as before. A section
whose content is a kept section's where the last input had it (same place, same length, same
digest) is cut there without searching it for its `</node_state>` (InputCache._known_close).

Memory: the sections parsed for one input share their equal attribute-value tuples (one
`value_pool()` per input; every value string is interned process-wide by the parser), so a
resource's entry heads, alike on every node, are held once, as in a whole parse.
"""

from __future__ import annotations

from hashlib import sha256
from typing import Callable, Iterator

from core.cib.roottag import tag_end
from core.cib.xmltree import XNode, parse_xml, value_pool
from core.errors import ConfigError

_OPEN = b"<node_state"
_STATE_DEPTH = 2  # a node_state's ancestors in the whole document: cib, status
_CONFIG_DEPTH = 1  # the configuration's: cib
_CLOSE = b"</node_state>"
_TAG_FOLLOW = (b">", b"/", b" ", b"\t", b"\n", b"\r")  # what may follow a tag's name
_NAME_END = (b">", b" ", b"\t", b"\n", b"\r")  # the same, for a start tag with content


def _keep_all(offset: int) -> None:
    """release_below of an input held in memory: nothing to give back."""


Span = tuple[int, int, int]  # a node_state: (start, end of its start tag, end)
Section = tuple[list[XNode], int]  # a node_state's content: its elements, its newlines


def split_status(text: bytes) -> tuple[int, int, list[Span]] | None:
    """(end of the `<status>` start tag, start of `</status>`, each `node_state`'s span), or
    None when the text cannot be cut safely (see the module docstring)."""
    bounds = status_bounds(text)
    if bounds is None:
        return None
    spans: list[Span] = []
    for span in status_spans(text, *bounds):
        if span is None:
            return None
        spans.append(span)
    return bounds[0], bounds[1], spans


def status_bounds(text: bytes) -> tuple[int, int] | None:
    """(end of the `<status>` start tag, start of `</status>`), or None when the text cannot be
    cut there; what lies before and after the two is free of markup declarations (`<!`), what
    lies between is checked by status_spans, section by section."""
    start = text.find(b"<status")
    if start < 0:
        return None
    if text[start + 7:start + 8] not in _NAME_END:
        return None
    open_end = tag_end(text, start)
    if open_end is None or text[open_end - 2:open_end - 1] == b"/":
        return None
    # the status ends near the end of the document: searched from there (a second </status>
    # before it would appear between node_states below, and stop the split)
    close = text.rfind(b"</status>", open_end)
    if close < 0:
        return None
    if _has_markup_declaration(text, 0, open_end) or _has_markup_declaration(text, close, len(text)):
        return None
    return open_end, close


def status_spans(text: bytes, open_end: int, close: int,
                 known_close: Callable[[int, int], int | None] | None = None
                 ) -> Iterator[Span | None]:
    """Each `node_state`'s span between the status's start tag and `</status>`, in order, read
    front to back (each part of the text once: a caller reading a mapped input gives each part
    back as it goes, core/spool.py); a last None when the rest cannot be cut safely.

    `known_close(head_end, close)`, when given, may answer where a section's first
    `</node_state>` is without searching for it (the input cache's reused sections: see
    InputCache._known_close); None, and it is searched for."""
    pos = open_end
    while True:
        lt = text.find(b"<", pos, close + 1)
        if lt < 0 or text[pos:lt].strip():
            yield None  # text directly in <status>
            return
        if lt == close:
            return
        if not text.startswith(_OPEN, lt) or \
                text[lt + len(_OPEN):lt + len(_OPEN) + 1] not in _TAG_FOLLOW:
            yield None  # another element in <status> (tickets, say): not split
            return
        head_end = tag_end(text, lt)
        if head_end is None or head_end > close:
            yield None
            return
        checked = None  # where the markup check may stop (None: at the section's end)
        if text[head_end - 2:head_end - 1] == b"/":
            end = head_end
        else:
            # (a node_state inside a node_state would leave its content unbalanced: parsing it
            # fails and the document is parsed whole)
            closing = None if known_close is None else known_close(head_end, close)
            if closing is None:
                closing = text.find(_CLOSE, head_end, close)
            else:
                # the content is a kept section's, which was checked when it was cut (a
                # document with `<!` in it is parsed whole, nothing kept), and the tag's `>`
                # comes before it: the start tag and what precedes it are left to check
                checked = head_end
            if closing < 0:
                yield None
                return
            end = closing + len(_CLOSE)
        if _has_markup_declaration(text, pos, end if checked is None else checked):
            yield None
            return
        yield lt, head_end, end
        pos = end


def _has_markup_declaration(text: bytes, start: int, end: int) -> bool:
    """Whether `<!` begins in text[start:end] (its `<` at start - 1 counts: the ranges a text is
    checked in follow each other). Searched as its rare second character: a search for one
    character runs at memory speed, a search for `<!` stops at every `<` of the document (0.17 s
    for the 175 MB at 32 nodes / 10,000 resources, against 0.02 s)."""
    bang = text.find(b"!", start, end)
    while bang >= 0:
        if bang > 0 and text[bang - 1:bang] == b"<":
            return True
        bang = text.find(b"!", bang + 1, end)
    return False


def _key(text: bytes, start: int, end: int) -> tuple[int, bytes]:
    """A section's identity, `text[start:end]`'s: its length and the SHA-256 digest of its
    bytes. Keeping the texts themselves as keys would hold a second copy of the whole status
    between transitions (175 MB at 32 nodes / 10,000 resources). SHA-256, not BLAKE2b:
    OpenSSL computes it with the processor's SHA instructions (x86 SHA-NI, ARMv8 crypto
    extensions), about 0.75 ms per MB here against 1.2 ms for BLAKE2b in software. Hashed
    through a memoryview: a reused section is never copied (5.5 MB of fresh memory per
    section at 32/10000, page faults that cost as much as the hashing itself)."""
    with memoryview(text) as view:
        return end - start, sha256(view[start:end]).digest()


def config_span(text: bytes, before: int) -> tuple[int, int] | None:
    """(start, end) of the one `<configuration>` element, when it ends before offset `before`."""
    start = text.find(b"<configuration", 0, before)
    if start < 0 or text.find(b"<configuration", start + 1, before) >= 0:
        return None
    if text[start + 14:start + 15] not in _NAME_END:
        return None
    head_end = tag_end(text, start)
    if head_end is None or text[head_end - 2:head_end - 1] == b"/":
        return None
    close = text.find(b"</configuration>", head_end)
    if close < 0 or close + 16 > before:
        return None
    return start, close + 16


class InputCache:
    """Parses successive CIB texts, reusing the previous input's unchanged `node_state`s."""

    def __init__(self) -> None:
        # a section's key -> (its content's elements, the number of lines its text ends)
        self.sections: dict[tuple[int, bytes], Section] = {}
        # the content length of each node_state with content of the last input split, in
        # order: where to look first for the end of the section at the same place
        self.lengths: list[int] = []
        # the last key _known_close computed: (content start, content end, key)
        self._proven: tuple[int, int, tuple[int, bytes]] | None = None
        self.config: tuple[tuple[int, int, bytes], XNode] | None = None
        self.counters = {"inputs": 0, "split": 0, "sections_parsed": 0, "sections_reused": 0,
                         "config_reused": 0}

    def parse(self, data: str | bytes, path: str) -> XNode:
        """The input's tree: `data` as received (UTF-8 bytes, or a mapped file's buffer that
        gives its parts back as they are read, core/spool.py's `Mapped`), or as text."""
        self.counters["inputs"] += 1
        text = data.encode() if isinstance(data, str) else data
        if _foreign_encoding(text):
            return self._whole(data, path)
        del data  # (a str input's bytes are all that is read below)
        release = getattr(text, "release_below", _keep_all)
        try:
            return self._split(text, path, release)
        finally:
            release(len(text))

    def _split(self, text: bytes, path: str, release: Callable[[int], None]) -> XNode:
        """parse() of a text that may be cut at its sections: the skeleton, the configuration,
        then each node_state in order, front to back, each part of the text given back once
        read (`release`)."""
        bounds = status_bounds(text)
        if bounds is None:
            return self._whole(text, path)
        open_end, close = bounds
        cfg = config_span(text, open_end)
        if cfg is None:
            skeleton = text[:open_end] + text[close:]
        else:
            skeleton = text[:cfg[0]] + b"<configuration/>" + text[cfg[1]:open_end] + text[close:]
        try:
            root = parse_xml(skeleton, path)
        except ConfigError:
            return self._whole(text, path)  # the error, with its line in the whole text
        del skeleton
        status = next((child for child in root.children if child.tag == "status"), None)
        if status is None or status.children:
            return self._whole(text, path)  # <status> not a child of the root
        if cfg is not None:
            index = next((i for i, child in enumerate(root.children) if child.tag == "configuration"), None)
            if index is None or root.children[index].children:
                return self._whole(text, path)
            try:
                configuration = self._configuration(text, cfg, path)
                root.children = [configuration if i == index else child
                                 for i, child in enumerate(root.children)]
            except ConfigError:
                return self._whole(text, path)
        release(open_end)
        previous: dict[tuple[int, bytes], Section] = self.sections
        kept: dict[tuple[int, bytes], Section] = {}
        pool = value_pool()
        nodes: list[XNode] = []
        # each node_state's line: the newlines between sections are counted, a section's own
        # are counted once, when it is parsed (counting them all is a pass over the whole text)
        line, counted = 1, 0
        lengths: list[int] = []
        guesses = iter(self.lengths)

        def known_close(head_end: int, close: int) -> int | None:
            return self._known_close(text, head_end, close, next(guesses, None), previous)

        for span in status_spans(text, open_end, close, known_close):
            if span is None:
                return self._whole(text, path)
            start, head_end, end = span
            if head_end != end:
                lengths.append(end - len(_CLOSE) - head_end)
            try:
                node, body_lines = self._node_state(text, start, head_end, end, path, previous,
                                                    kept, pool)
            except ConfigError:
                return self._whole(text, path)
            line += text.count(b"\n", counted, head_end)
            node.line = line - text.count(b"\n", start, head_end)
            line += body_lines
            counted = head_end if head_end == end else end - len(_CLOSE)
            nodes.append(node)
            release(end)
        self.counters["split"] += 1
        self.sections = kept
        self.lengths = lengths
        status.children = nodes
        return root

    def _known_close(self, text: bytes, head_end: int, close: int, length: int | None,
                     previous: dict[tuple[int, bytes], Section]) -> int | None:
        """Where the first `</node_state>` after `head_end` is, without searching the section
        for it (a pass over 175 MB at 32 nodes / 10,000 resources, 47 ms), when it can be
        proven: `length` is the content length of the section at the same place (counting
        those with content) in the last input; if `</node_state>` follows that much content (before `</status>`) and
        the content's key (its length and SHA-256) is a kept section's, the content is that
        section's text, which was cut at its first `</node_state>` and so holds none: the
        first one is there. Else None (searched for as before: a changed section costs one
        more hash when its length is the same). The key computed is kept for _node_state."""
        self._proven = None
        if length is None:
            return None
        closing = head_end + length
        if closing + len(_CLOSE) > close or not text.startswith(_CLOSE, closing):
            return None
        key = _key(text, head_end, closing)
        if key not in previous:
            return None
        self._proven = (head_end, closing, key)
        return closing

    def _node_state(self, text: bytes, start: int, head_end: int, end: int, path: str,
                    previous: dict[tuple[int, bytes], Section],
                    kept: dict[tuple[int, bytes], Section], pool: dict) -> tuple[XNode, int]:
        """A node_state element and the number of newlines in its content: its start tag
        parsed every time (the node's membership and join state, what a failover changes), its
        content (the node's history and attributes) reused while its text is unchanged."""
        if head_end == end:  # <node_state .../>
            return parse_xml(text[start:end], path, _STATE_DEPTH, pool), 0
        node = parse_xml(text[start:head_end] + _CLOSE, path, _STATE_DEPTH, pool)
        body_end = end - len(_CLOSE)
        proven = self._proven
        key = proven[2] if proven is not None and proven[0] == head_end and \
            proven[1] == body_end else _key(text, head_end, body_end)
        # (the same content twice in one input, a duplicate node_state, gets its own tree)
        section = None if key in kept else previous.get(key)
        if section is None:
            body = b"<node_state>" + text[head_end:body_end] + _CLOSE
            section = (list(parse_xml(body, path, _STATE_DEPTH, pool).children),
                       body.count(b"\n"))  # (the tags around it have none)
            del body
            self.counters["sections_parsed"] += 1
        else:
            self.counters["sections_reused"] += 1
        kept.setdefault(key, section)
        node.children = section[0]
        return node, section[1]

    def _configuration(self, text: bytes, span: tuple[int, int], path: str) -> XNode:
        start, end = span
        line = text.count(b"\n", 0, start) + 1
        length, digest = _key(text, start, end)
        key = (line, length, digest)
        if self.config is not None and self.config[0] == key:
            self.counters["config_reused"] += 1
            return self.config[1]
        node = parse_xml(b"\n" * (line - 1) + text[start:end], path, _CONFIG_DEPTH)
        self.config = (key, node)
        return node

    def _whole(self, data: str | bytes, path: str) -> XNode:
        """`data` parsed as one document (nothing kept), read as UTF-8 whatever its declaration
        says, as the input was read when it came as text (expat reads a str as UTF-8)."""
        self.sections = {}
        self.lengths = []
        self.config = None
        if not isinstance(data, (str, bytes)):
            data = bytes(data)  # a mapped input (core/spool.py), read whole here
        if isinstance(data, bytes) and _foreign_encoding(data):
            return parse_xml(_decoded(data, path), path)
        return parse_xml(data, path)


def _decoded(data: bytes, path: str) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise ConfigError(path, 0, f"not UTF-8: {exc.reason} at byte {exc.start}") from None


_DECLARATION = b"<?xml"


def _foreign_encoding(text: bytes) -> bool:
    """Whether the document declares an encoding other than UTF-8 (`<?xml ... encoding=...?>`
    at its start): its pieces, parsed without the declaration, would not be read in it."""
    begin = 3 if text[:3] == b"\xef\xbb\xbf" else 0
    if text[begin:begin + len(_DECLARATION)] != _DECLARATION:
        return False
    end = text.find(b"?>", begin)
    at = text.find(b"encoding", begin, end)
    if end < 0 or at < 0:
        return False
    rest = text[at + 8:end].lstrip(b" \t\r\n=").lstrip(b" \t\r\n")
    name = rest[1:].split(rest[:1], 1)[0] if rest[:1] in (b'"', b"'") else b""
    return name.lower() not in (b"utf-8", b"utf8")
