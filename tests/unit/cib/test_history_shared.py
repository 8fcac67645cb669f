"""The history blocks of one input parsed with a shared pool (the warm policy engine's input
cache, pengine/inputcache.py) share their equal pieces: a node's probe records are every other
node's, and holding them once per node was half the kept history at 32 nodes / 10,000
resources. What is shared must read exactly as what a whole parse builds."""

from __future__ import annotations

from core.cib.xmltree import parse_xml, to_xml, value_pool
from pengine.inputcache import InputCache

ENTRY = ('<lrm_resource id="{r}" class="ocf" provider="pacemaker" type="Dummy">'
         '<lrm_rsc_op id="{r}_last_0" operation_key="{r}_monitor_0" operation="monitor" '
         'transition-key="1:-1:7:x" transition-magic="0:7;1:-1:7:x" call-id="1" rc-code="7" '
         'op-status="0" interval="0" op-digest="d"/></lrm_resource>\n')
TWICE = ('<lrm_resource id="t" class="ocf" provider="pacemaker" type="Dummy">'
         '<lrm_rsc_op id="t_last_0" operation_key="t_monitor_0" operation="monitor" call-id="1"/>'
         '<lrm_rsc_op id="t_last_0" operation_key="t_monitor_0" operation="monitor" call-id="1"/>'
         '</lrm_resource>\n')


def _state(node: str, extra: str = "") -> str:
    entries = "".join(ENTRY.format(r=f"r{i}") for i in range(3))
    return (f'<node_state id="{node}" uname="{node}" in_ccm="true" crmd="online">\n'
            f'<lrm id="{node}"><lrm_resources>\n{entries}{extra}</lrm_resources></lrm></node_state>\n')


CIB = ('<cib epoch="1" num_updates="1" admin_epoch="0"><configuration><crm_config/><nodes/>'
       '<resources/><constraints/></configuration>\n<status>\n'
       + _state("a", TWICE) + _state("b") + '</status></cib>\n')


def _entries(root, node: str) -> list:
    state = next(s for s in root.find("status").children if s.get("id") == node)
    return state.children[0].children[0].children


def test_equal_history_pieces_of_one_input_are_one_object() -> None:
    root = InputCache().parse(CIB.encode(), "t")
    a, b = _entries(root, "a"), _entries(root, "b")
    for one, other in zip(a[:3], b):
        assert one is not other  # (entries keep their own lines, and their parents' lists)
        assert one.children is other.children  # the records and their list, once
        assert one.children[0] is other.children[0]
    twice = a[3].children
    assert len(twice) == 2 and twice[0] is not twice[1]  # never twice in one parent


def test_shared_pieces_read_as_a_whole_parse() -> None:
    assert to_xml(InputCache().parse(CIB.encode(), "t")) == to_xml(parse_xml(CIB.encode(), "t"))
    pool = value_pool()
    whole = parse_xml(CIB.encode(), "t")
    pooled = parse_xml(CIB.encode(), "t", 0, pool)
    assert [(n.tag, n.line, n.attrs()) for n in pooled.iter()] == \
        [(n.tag, n.line, n.attrs()) for n in whole.iter()]
