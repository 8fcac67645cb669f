"""The corpus judge keeps the first run's stderr in the summary as Pacemaker's runner does.

cts-scheduler runs `crm_simulate -S` with `stderr=subprocess.STDOUT`, so a line crm_simulate
writes on stderr (e.g. "Schema validation of configuration is disabled ..." for a CIB with
validate-with="none") is part of the expected summary; this project's own diagnostics
(`hb simulate: ...`) are judged apart (`stderr_differences`)."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

_HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("pengine_corpus_judge", _HERE / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules["pengine_corpus_judge"] = corpus  # dataclasses look their module up there
_spec.loader.exec_module(corpus)

WARNING = ("Schema validation of configuration is disabled (enabling is encouraged and "
           "prevents common misconfigurations)")
STDOUT = "Current cluster status:\n  * Node List:\n    * Online: [ node1 ]\n"


def test_stderr_of_the_engine_comes_first_and_own_diagnostics_stay_out():
    stderr = f"{WARNING}\nhb simulate: x.xml:3: warning: <rsc_order id=\"o\">: kind 'foo'\n"
    assert corpus.runner_summary(STDOUT, stderr) == f"{WARNING}\n{STDOUT}"


def test_summary_with_the_schema_line_matches_only_when_it_was_written():
    expected = f"{WARNING}\n{STDOUT}"
    assert corpus.summary_differences(expected, corpus.runner_summary(STDOUT, WARNING + "\n")) == []
    assert corpus.summary_differences(expected, corpus.runner_summary(STDOUT, "")) != []
