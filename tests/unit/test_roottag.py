"""core.cib.roottag: the policy engine saves its input by splicing a new root start tag into the
text it received. The saved text must parse to the same tree as the tree it was spliced from."""

from __future__ import annotations

import pytest

from core.cib.roottag import root_start_tag_span, with_root_start_tag
from core.cib.xmltree import parse_xml, to_xml

CASES = [
    '<cib epoch="1"><configuration/></cib>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<!-- a <comment> with > in it -->\n<cib a="x">\n<status/></cib>\n',
    "<cib a='single \"quoted\" > value' b=\"double 'quoted' > value\"><status/></cib>",
    '<cib/>',
    '<cib a="1"\n     b="2"\n/>',
    '<!DOCTYPE cib>\n<cib x="&lt;&gt;&amp;&quot;"><status/></cib>',
    '<cib execution-date="5" z="&#10;"><status><node_state id="1"/></status></cib>',
]


@pytest.mark.parametrize("text", CASES)
def test_spliced_text_parses_to_the_changed_tree(text: str) -> None:
    root = parse_xml(text, "t")
    root.set("execution-date", "1700000000")
    root.set("odd", 'a"b<c>&d\n')
    spliced = with_root_start_tag(text, root)
    assert spliced is not None
    assert to_xml(parse_xml(spliced, "t")) == to_xml(root)
    # only the root start tag changed: everything after it is the text as received
    start, end = root_start_tag_span(text)  # type: ignore[misc]
    assert spliced.endswith(text[end:])


def test_a_doctype_with_an_internal_subset_is_left_to_the_writer() -> None:
    text = '<!DOCTYPE cib [<!ENTITY e "x">]>\n<cib a="&e;"/>'
    assert with_root_start_tag(text, parse_xml(text, "t")) is None


def test_the_daemon_saves_the_input_as_received_with_its_execution_date() -> None:
    from core.messages.pe import PeSchedule
    from core.sansio import Recv
    from pengine.process import PengineProcess, SaveInput, WARM_CIB

    text = "<!-- kept -->\n" + WARM_CIB
    core = PengineProcess(1)
    out = core.step(5000, Recv(b"c", PeSchedule(1, 7, text)))
    saved = [e for e in out if isinstance(e, SaveInput)]
    assert len(saved) == 1
    assert "<!-- kept -->" in saved[0].xml
    assert parse_xml(saved[0].xml, "saved").get("execution-date") == "5"


def test_the_daemon_shell_writes_the_saved_input_in_pieces(tmp_path) -> None:
    from types import SimpleNamespace

    from pengine.daemon import PengineService
    from pengine.process import SaveInput

    body = "<cib a='1'>" + "<x/>" * 600_000 + "</cib>"  # more than one write chunk
    effect = SaveInput(3, '<cib a="2">', body, len("<cib a='1'>"), 400)
    PengineService.save(SimpleNamespace(directory=str(tmp_path)), effect)  # type: ignore[arg-type]
    assert (tmp_path / "pe-input-3.xml").read_text() == effect.xml == '<cib a="2">' + body[11:]
