"""parse_xml_file (the CIB fed to expat in chunks) must build the very tree parse_xml builds and
fail with the very same `file:line: what is wrong` messages, wherever the chunks are cut."""

from __future__ import annotations

import random

import pytest

from core.cib.xmltree import XNode, parse_xml, parse_xml_file
from core.errors import ConfigError

HISTORY = ('<lrm_resource id="r{i}" class="ocf" provider="pacemaker" type="Dummy">'
           '<lrm_rsc_op id="r{i}_last_0" operation_key="r{i}_monitor_0" operation="monitor" '
           'transition-key="1:-1:7:x" transition-magic="0:7;1:-1:7:x" call-id="{call}" '
           'rc-code="7" op-status="0" interval="0"/></lrm_resource>\n')


def document(nodes: int = 3, resources: int = 20) -> str:
    states = []
    for n in range(1, nodes + 1):
        entries = "".join(HISTORY.format(i=i, call=1 if n < 3 else i) for i in range(resources))
        states.append(f'<node_state id="{n}" uname="node{n}" in_ccm="true" crmd="online">\n'
                      f'<lrm id="{n}"><lrm_resources>\n{entries}</lrm_resources></lrm>'
                      '</node_state>\n')
    return ('<?xml version="1.0"?>\n<cib epoch="1" admin_epoch="0">\n<configuration>\n'
            '<crm_config><cluster_property_set id="o"><nvpair id="o1" name="a" value="b &amp; c"/>'
            '</cluster_property_set></crm_config>\n<nodes/>\n'
            '<resources><primitive id="r0" class="ocf" provider="pacemaker" type="Dummy">'
            '<!-- a comment --><meta_attributes id="m"/></primitive></resources>'
            '<constraints/></configuration>\n<status>\n' + "".join(states) + '</status>\n</cib>\n')


def same_tree(a: XNode, b: XNode) -> None:
    assert (a.tag, a.attrs(), a.text, a.line) == (b.tag, b.attrs(), b.text, b.line)
    assert len(a.children) == len(b.children)
    for x, y in zip(a.children, b.children):
        same_tree(x, y)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_file_parse_builds_the_same_tree(tmp_path, chunk):
    text = document()
    path = tmp_path / "cib.xml"
    path.write_text(text)
    same_tree(parse_xml_file(str(path), chunk), parse_xml(text.encode(), str(path)))


def test_equal_history_values_are_stored_once_and_set_keeps_them_apart(tmp_path):
    tree = parse_xml(document())
    ops = [op for op in tree.iter("lrm_rsc_op") if op.get("id") == "r5_last_0"]
    assert len(ops) == 3
    assert ops[0].vals is ops[1].vals  # same values on node1 and node2
    assert ops[0].vals is not ops[2].vals  # node3 has another call-id
    ops[0].set("rc-code", "0")
    assert (ops[0].get("rc-code"), ops[1].get("rc-code")) == ("0", "7")


def malformed(text: str, rng: random.Random) -> str:
    at = rng.randrange(len(text))
    kind = rng.randrange(4)
    if kind == 0:
        return text[:at]
    if kind == 1:
        return text[:at] + rng.choice(["<", ">", "&", '"', "</x>", "<!--", "\x01", "&#0;"]) + text[at:]
    if kind == 2:
        return text[:at] + text[at + rng.randrange(1, 40):]
    return text[:at] + "\xe9" + text[at:]


def test_file_parse_fails_with_the_same_message(tmp_path):
    rng = random.Random(11)
    text = document(2, 5)
    path = tmp_path / "bad.xml"
    failures = 0
    for _ in range(300):
        bad = malformed(text, rng).encode("latin-1")
        path.write_bytes(bad)
        try:
            expected = parse_xml(bad, str(path))
        except ConfigError as exc:
            failures += 1
            for chunk in (3, 1 << 20):
                with pytest.raises(ConfigError) as got:
                    parse_xml_file(str(path), chunk)
                assert str(got.value) == str(exc)
        else:
            same_tree(parse_xml_file(str(path), 3), expected)
    assert failures > 100
