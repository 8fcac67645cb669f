"""Conformance of `hb simulate -S` with Pacemaker 2.1.5's scheduler regression corpus.

The corpus is GPL data from another project, read from ../shared/pacemaker-scheduler-2.1.5 (or
$PYHB_PACEMAKER_CORPUS) and never copied into this repository; the test is skipped when it is
absent. `conformance_passing.txt` lists the cases that passed when it was last written
(`python tests/pengine/corpus.py --tier 1 --tier 2 --write-passing`): any of them failing now is a
regression and fails the test. Every tier-1 case must pass. Pass counts per tier and group are
printed (visible with `pytest -s` or in the failure message).
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest

_HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("pengine_corpus", _HERE / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules["pengine_corpus"] = corpus  # dataclasses look their module up there
_spec.loader.exec_module(corpus)

pytestmark = pytest.mark.skipif(not (corpus.corpus_dir() / "index.tsv").exists(),
                                reason="Pacemaker scheduler corpus not present")


def _run_all() -> tuple[dict[str, str], dict[tuple[int, str], list[int]], list]:
    failures: dict[str, str] = {}
    counts: dict[tuple[int, str], list[int]] = {}
    cases = [c for c in corpus.load_index() if c.tier in (1, 2)]
    for case in cases:
        ok, why = corpus.run_case(case)
        c = counts.setdefault((case.tier, case.group), [0, 0])
        c[1] += 1
        if ok:
            c[0] += 1
        else:
            failures[case.name] = why
    return failures, counts, cases


def _report(counts: dict[tuple[int, str], list[int]]) -> str:
    lines = []
    tiers: dict[int, list[int]] = {}
    for (tier, group), (ok, total) in sorted(counts.items()):
        t = tiers.setdefault(tier, [0, 0])
        t[0] += ok
        t[1] += total
        lines.append(f"tier {tier} {group:<26} {ok:>3}/{total}")
    lines += [f"TIER {tier}: {ok}/{total}" for tier, (ok, total) in sorted(tiers.items())]
    return "\n".join(lines)


def test_corpus_conformance_no_regressions():
    failures, counts, cases = _run_all()
    report = _report(counts)
    print("\n" + report)
    expected_passing = set(corpus.PASSING_LIST.read_text().split())
    known = {c.name for c in cases}
    assert expected_passing <= known, f"unknown names in passing list: {sorted(expected_passing - known)}"
    regressed = sorted(n for n in expected_passing if n in failures)
    assert not regressed, "regressed cases:\n" + "\n".join(
        f"  {n}: {failures[n]}" for n in regressed) + "\n" + report
    tier1_failed = sorted(c.name for c in cases if c.tier == 1 and c.name in failures)
    assert not tier1_failed, "tier-1 failures:\n" + "\n".join(
        f"  {n}: {failures[n]}" for n in tier1_failed)
