"""The strict judge's own parts, on small hand-written inputs (no corpus needed): two graphs
equal up to ids compare equal, and each kind of difference is found and named by rule."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

_HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
import graphdiff  # noqa: E402

_spec = importlib.util.spec_from_file_location("pengine_corpus", _HERE / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules["pengine_corpus"] = corpus
_spec.loader.exec_module(corpus)

# Pacemaker's shape: ids 1..3, parameter "1" as a <param> child, notify list with spaces
PACEMAKER = """<transition_graph cluster-delay="60s" transition_id="0" batch-limit="10">
  <synapse id="0" priority="2">
    <action_set>
      <rsc_op id="2" operation="start" operation_key="ip_start_0" on_node="n1" on_node_uuid="u1">
        <primitive id="ip" class="heartbeat" type="IPaddr"/>
        <attributes CRM_meta_timeout="20000" crm_feature_set="3.16.2">
          <param name="1" value="10.0.0.1"/>
        </attributes>
      </rsc_op>
    </action_set>
    <inputs>
      <trigger><rsc_op id="1" operation="monitor" operation_key="ip_monitor_0" on_node="n1"
                       on_node_uuid="u1"/></trigger>
    </inputs>
  </synapse>
  <synapse id="1">
    <action_set>
      <rsc_op id="1" operation="monitor" operation_key="ip_monitor_0" on_node="n1" on_node_uuid="u1">
        <primitive id="ip" class="heartbeat" type="IPaddr"/>
        <attributes CRM_meta_op_target_rc="7" CRM_meta_notify_start_resource="a:0  a:1 "/>
      </rsc_op>
    </action_set>
    <inputs/>
  </synapse>
  <synapse id="2">
    <action_set><pseudo_event id="3" operation="running" operation_key="g_running_0">
      <attributes CRM_meta_timeout="20000"/></pseudo_event></action_set>
    <inputs><trigger><rsc_op id="2" operation="start" operation_key="ip_start_0" on_node="n1"
                             on_node_uuid="u1"/></trigger></inputs>
  </synapse>
</transition_graph>"""

# ours: other ids and synapse order, parameter "1" written _1, no batch-limit
OURS = """<transition_graph cluster-delay="60s" transition_id="7">
  <synapse id="0">
    <action_set><pseudo_event id="9" operation="running" operation_key="g_running_0">
      <attributes CRM_meta_timeout="20000"/></pseudo_event></action_set>
    <inputs><trigger><rsc_op id="5" operation="start" operation_key="ip_start_0" on_node="n1"
                             on_node_uuid="u1"/></trigger></inputs>
  </synapse>
  <synapse id="1">
    <action_set>
      <rsc_op id="4" operation="monitor" operation_key="ip_monitor_0" on_node="n1" on_node_uuid="u1">
        <primitive id="ip" class="heartbeat" type="IPaddr"/>
        <attributes CRM_meta_op_target_rc="7" CRM_meta_notify_start_resource="a:0 a:1"/>
      </rsc_op>
    </action_set>
    <inputs/>
  </synapse>
  <synapse id="2" priority="2">
    <action_set>
      <rsc_op id="5" operation="start" operation_key="ip_start_0" on_node="n1" on_node_uuid="u1">
        <primitive id="ip" class="heartbeat" type="IPaddr"/>
        <attributes CRM_meta_timeout="20000" _1="10.0.0.1"/>
      </rsc_op>
    </action_set>
    <inputs>
      <trigger><rsc_op id="4" operation="monitor" operation_key="ip_monitor_0" on_node="n1"
                       on_node_uuid="u1"/></trigger>
    </inputs>
  </synapse>
</transition_graph>"""


def categories(expected: str, actual: str) -> list[str]:
    return [d.category for d in graphdiff.graph_differences(expected, actual)]


def test_equal_up_to_ids_order_and_encoding():
    assert graphdiff.graph_differences(PACEMAKER, OURS) == []


def test_missing_edge_is_named_by_action_kinds():
    ours = OURS.replace("""<inputs>
      <trigger><rsc_op id="4" operation="monitor" operation_key="ip_monitor_0" on_node="n1"
                       on_node_uuid="u1"/></trigger>
    </inputs>""", "<inputs/>")
    assert categories(PACEMAKER, ours) == ["missing edge: probe -> start"]
    assert categories(ours, PACEMAKER) == ["extra edge: probe -> start"]


def test_missing_action_implies_its_edges():
    ours = OURS.replace('operation_key="g_running_0"', 'operation_key="g_stopped_0"')
    assert categories(PACEMAKER, ours) == ["missing action: pseudo running",
                                           "extra action: pseudo running"]


def test_attribute_differences():
    ours = OURS.replace('CRM_meta_timeout="20000" _1="10.0.0.1"', 'CRM_meta_timeout="30000"')
    assert categories(PACEMAKER, ours) == ["missing resource parameters on start",
                                           "value differs in CRM_meta_timeout on start"]
    ours = OURS.replace('"a:0 a:1"', '"a:1 a:0"')
    assert categories(PACEMAKER, ours) == [
        "order of values differs in notification variables (CRM_meta_notify_*) on resource actions"]
    ours = OURS.replace('CRM_meta_op_target_rc="7"', 'CRM_meta_op_target_rc="7" CRM_meta_clone="0"')
    assert categories(PACEMAKER, ours) == [
        "extra clone meta-attributes (CRM_meta_clone*, globally_unique, notify, ...) on resource actions"]


def test_priority_primitive_and_graph_attributes():
    ours = OURS.replace('<synapse id="2" priority="2">', '<synapse id="2">')
    assert categories(PACEMAKER, ours) == ["synapse priority differs on start"]
    ours = OURS.replace('class="heartbeat" type="IPaddr"/>\n        <attributes CRM_meta_timeout',
                        'class="ocf" type="IPaddr"/>\n        <attributes CRM_meta_timeout')
    assert categories(PACEMAKER, ours) == ["<primitive> differs on start"]
    ours = OURS.replace('cluster-delay="60s"', 'cluster-delay="30s"')
    assert categories(PACEMAKER, ours) == ["graph attribute cluster-delay differs"]
    assert categories(PACEMAKER, "<cib/>") == ["graph unreadable"]


def test_scores_compared_sorted_and_named():
    expected = ("pcmk__primitive_assign: a allocation score on n1: 0\n"
                "pcmk__clone_allocate: c:0 allocation score on n1: 1\n")
    assert corpus.score_differences(expected, "\n".join(reversed(expected.split("\n")))) == []
    got = ("pcmk__primitive_assign: a allocation score on n1: 0\n"
           "pcmk__clone_allocate: c:0 allocation score on n1: 2\n"
           "3 of 4 resource instances DISABLED\n")
    assert sorted(d.category for d in corpus.score_differences(expected, got)) == [
        "scores: line that is not a score extra",
        "scores: pcmk__clone_allocate value differs (clone instance)"]


def test_unsupported_on_stderr_named_without_ids():
    err = ("hb simulate: unsupported: bundle httpd-bundle\n"
           "hb simulate: unsupported: live migration (allow-migrate) of vm1\n"
           "hb simulate: file:3: warning: something\n")
    assert [d.category for d in corpus.stderr_differences(err, {"httpd-bundle", "vm1"})] == [
        "unsupported: bundle", "unsupported: live migration"]


def test_summary_differences_executed_actions_as_a_set():
    a = ("Transition Summary:\n  * Start a ( n1 )\n\nExecuting Cluster Transition:\n"
         "  * Resource action: a monitor on n1\n  * Resource action: a start on n1\n")
    b = a.replace("  * Resource action: a monitor on n1\n  * Resource action: a start on n1",
                  "  * Resource action: a start on n1\n  * Resource action: a monitor on n1")
    assert corpus.summary_differences(a, b) == []
    c = a.replace("Start a ( n1 )", "Start a ( n2 )")
    assert [d.category for d in corpus.summary_differences(a, c)] == [
        "summary: Transition Summary differs"]


def test_input_outside_the_graph_counts_only_when_the_expected_graph_lacks_it():
    # Pacemaker 2.1.5 writes an unrunnable input that is no action of the graph (its ordering
    # can still change the action): the same dangling input on both sides is no difference
    end = 'on_node_uuid="u1"/></trigger></inputs>'
    dangling = end.replace("</inputs>", '<trigger><rsc_op id="77" operation="start" '
                           'operation_key="x_start_0" on_node="n2" on_node_uuid="u2"/>'
                           '</trigger></inputs>')
    assert PACEMAKER.count(end) == 1 and OURS.count(end) == 1
    pacemaker, ours = PACEMAKER.replace(end, dangling), OURS.replace(end, dangling)
    assert graphdiff.graph_differences(pacemaker, ours) == []
    assert categories(PACEMAKER, ours) == ["input is not an action of the graph"]
    assert categories(pacemaker, OURS) == ["missing input that is not an action of the graph"]
