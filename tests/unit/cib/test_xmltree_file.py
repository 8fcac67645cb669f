"""parse_xml_file (the CIB fed to expat in chunks) and the history fast path
(core/cib/historyscan.py) must build the very tree expat alone builds, and fail with the very
same `file:line: what is wrong` messages, wherever the chunks are cut and whatever the input."""

from __future__ import annotations

import random

import pytest

from core.cib import historyscan, xmltree
from core.cib.xmltree import XNode, parse_xml, parse_xml_file
from core.errors import ConfigError

HISTORY = ('<lrm_resource id="r{i}" class="ocf" provider="pacemaker" type="Dummy">'
           '<lrm_rsc_op id="r{i}_last_0" operation_key="r{i}_monitor_0" operation="monitor" '
           'transition-key="1:-1:7:x" transition-magic="0:7;1:-1:7:x" call-id="{call}" '
           'exit-reason="a &gt; b" rc-code="7" op-status="0" interval="0"/></lrm_resource>\n')


def document(nodes: int = 3, resources: int = 20) -> str:
    states = []
    for n in range(1, nodes + 1):
        entries = "".join(HISTORY.format(i=i, call=1 if n < 3 else i) for i in range(resources))
        if n != 2:  # node2's history is in the shape historyscan handles, the others are not
            entries = entries.replace(' exit-reason="a &gt; b"', "")
        states.append(f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online">\n'
                      f'<lrm id="{n}"><lrm_resources>\n  {entries}</lrm_resources></lrm>'
                      '</node_state>\n')
    return ('<?xml version="1.0"?>\n<cib epoch="1" admin_epoch="0">\n<configuration>\n'
            '<crm_config><cluster_property_set id="o"><nvpair id="o1" name="a" value="b &amp; c"/>'
            '</cluster_property_set></crm_config>\n<nodes/>\n'
            '<resources><primitive id="r0" class="ocf" provider="pacemaker" type="Dummy">'
            '<!-- a comment --><meta_attributes id="m"/></primitive></resources>'
            '<constraints/></configuration>\n<status>\n' + "".join(states) + '</status>\n</cib>\n')


def expat_alone(data: bytes, path: str) -> XNode:
    """The reference: the whole document in one expat call, no fast path."""
    return xmltree._parse(path, (data,), False)


def same_tree(a: XNode, b: XNode) -> None:
    assert (a.tag, a.attrs(), a.text, a.line, type(a.children)) == \
        (b.tag, b.attrs(), b.text, b.line, type(b.children))
    assert len(a.children) == len(b.children)
    for x, y in zip(a.children, b.children):
        same_tree(x, y)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_file_parse_builds_the_same_tree(tmp_path, chunk):
    text = document().replace(' exit-reason="a &gt; b"', "")
    path = tmp_path / "cib.xml"
    path.write_text(text)
    same_tree(parse_xml_file(str(path), chunk), expat_alone(text.encode(), str(path)))
    # and the fast path did build the history (no fallback)
    same_tree(xmltree._parse(str(path), [text.encode()[i:i + chunk]
                                         for i in range(0, len(text), chunk)], True),
              expat_alone(text.encode(), str(path)))


def test_history_outside_the_fast_shape_falls_back_to_expat(tmp_path):
    text = document().encode()
    with pytest.raises(historyscan.NotSimple):
        xmltree._parse("x", (text,), True)  # node1's entries have an entity reference
    same_tree(parse_xml(text, "x"), expat_alone(text, "x"))


def test_equal_history_values_are_stored_once_and_set_keeps_them_apart(tmp_path):
    tree = parse_xml(document().replace(' exit-reason="a &gt; b"', ""))
    ops = [op for op in tree.iter("lrm_rsc_op") if op.get("id") == "r5_last_0"]
    assert len(ops) == 3
    assert ops[0].vals is ops[1].vals  # same values on node1 and node2
    assert ops[0].vals is not ops[2].vals  # node3 has another call-id
    ops[0].set("rc-code", "0")
    assert (ops[0].get("rc-code"), ops[1].get("rc-code")) == ("0", "7")


@pytest.mark.parametrize("large", [False, True])
def test_both_value_builders_build_the_same_values(large, monkeypatch):
    """Small documents build attribute values with itemgetter and map, large ones with a
    compiled expression (xmltree._value_builder): the same values, interned and pooled alike."""
    text = document(3, 30).replace(' exit-reason="a &gt; b"', "")
    for fast in (False, True):
        # nothing compiled or seen yet in this process
        monkeypatch.setattr(xmltree, "_BUILDER_CODE", {})
        monkeypatch.setattr(xmltree, "_SEEN_NAMES", set())
        tree = xmltree._parse("x", (text.encode(),), fast, large)
        assert bool(xmltree._BUILDER_CODE) == large
        same_tree(tree, expat_alone(text.encode(), "x"))
        ops = [op for op in tree.iter("lrm_rsc_op") if op.get("id") == "r5_last_0"]
        assert ops[0].vals is ops[1].vals and ops[0].vals is not ops[2].vals
        one = list(tree.iter("nvpair"))
        assert one and one[0].get("value") == "b & c"
    single = xmltree._parse("x", (b'<a><b x="1"/><b x="1"/></a>',), False, large)
    assert single.children[0].vals == ("1",) and single.children[0].vals is single.children[1].vals
    # the same names in a second document of the process: compiled (a daemon parses many)
    again = xmltree._parse("x", (text.encode(),), False, large)
    same_tree(again, expat_alone(text.encode(), "x"))
    assert (("id", "operation_key", "operation", "transition-key", "transition-magic", "call-id",
             "rc-code", "op-status", "interval"), False) in xmltree._BUILDER_CODE
    # pieces parsed with a shared pool intern every value, process-wide, in both forms
    pool = xmltree.value_pool()
    first = xmltree._parse("x", (text.encode(),), fast, large, 0, pool)
    second = xmltree._parse("x", (text.replace('call-id="', 'call-id="9').encode(),), fast,
                            large, 0, xmltree.value_pool())
    same_tree(first, expat_alone(text.encode(), "x"))
    ids = [[op.get("id") for op in tree.iter("lrm_rsc_op")] for tree in (first, second)]
    assert ids[0] == ids[1] and all(a is b for a, b in zip(*ids))


_INSERTS = ["<", ">", "&", '"', "'", "</x>", "<!--", "-->", "<![CDATA[", "]]>", "\x01", "&#0;",
            "\t", "\r", "\n", " ", "=", "/", "<lrm_resources>", "</lrm_resources>", "<a>", "\xe9",
            '<lrm_rsc_op id="x" id="y"/>', "<?pi x?>", "&amp;", "<lrm_resource/>"]


def mutated(text: str, rng: random.Random) -> str:
    # most edits land in the history, where the fast path works
    start = text.index("<status>") if rng.random() < 0.9 else 0
    at = rng.randrange(start, len(text))
    kind = rng.randrange(3)
    if kind == 0:
        return text[:at]
    if kind == 1:
        return text[:at] + rng.choice(_INSERTS) + text[at:]
    return text[:at] + text[at + rng.randrange(1, 40):]


def test_fast_paths_give_expat_trees_and_errors_on_mutated_documents(tmp_path):
    rng = random.Random(11)
    text = document(2, 5).replace(' exit-reason="a &gt; b"', "")
    path = tmp_path / "bad.xml"
    failures = parsed = 0
    for _ in range(1000):
        bad = mutated(text, rng).encode("latin-1")
        path.write_bytes(bad)
        try:
            expected = expat_alone(bad, str(path))
        except ConfigError as exc:
            failures += 1
            for chunk in (3, 1 << 20):
                with pytest.raises(ConfigError) as got:
                    parse_xml_file(str(path), chunk)
                assert str(got.value) == str(exc)
            with pytest.raises(ConfigError) as got:
                parse_xml(bad, str(path))
            assert str(got.value) == str(exc)
        else:
            parsed += 1
            same_tree(parse_xml_file(str(path), 3), expected)
            same_tree(parse_xml_file(str(path)), expected)
            same_tree(parse_xml(bad, str(path)), expected)
    assert failures > 300 and parsed > 100


def test_fast_path_takes_every_history_of_the_simple_shape():
    history = ('<lrm_resources>\n<lrm_resource id="a" b=\'"\' c="x>y" d=""\n  e = "1" >'
               '<lrm_rsc_op id="o"/>\n<lrm_rsc_op\nid="p" />\n</lrm_resource >'
               '<lrm_resource/><x><y><z a="1"/></y></x>   </lrm_resources>')
    # single quotes (b) are outside the shape: that document is left to expat
    for text in (history, history.replace("b=\'\"\' ", "")):
        data = f'<cib>\n<status><node_state><lrm>{text}</lrm></node_state></status></cib>'.encode()
        expected = expat_alone(data, "x")
        if "b=" in text:
            with pytest.raises(historyscan.NotSimple):
                xmltree._parse("x", (data,), True)
        else:
            same_tree(xmltree._parse("x", (data,), True), expected)
        same_tree(parse_xml(data, "x"), expected)


@pytest.mark.parametrize("head, compatible", [
    (b'<cib>', True), (b'<?xml version="1.0"?><cib>', True),
    (b'<?xml version="1.0" encoding="UTF-8"?>', True),
    (b"<?xml version='1.0' encoding='iso-8859-1'?>", True),
    (b'<?xml version="1.0" encoding="UTF-16"?>', False), (b"\xff\xfe<\x00", False),
    (b'<?xml version="1.0" encoding="EBCDIC-US"?>', False)])
def test_fast_path_only_for_ascii_compatible_documents(head, compatible):
    assert historyscan.ascii_compatible(head) is compatible
