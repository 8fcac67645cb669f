"""The project's own scheduler regression cases (tests/pengine/cases/, made by make_cases.py
with Pacemaker 2.1.5's crm_simulate as the oracle): `hb simulate -S ARGS` must print the same
current status, transition summary and revised status as crm_simulate did (whitespace and the
order of summary lines aside, as Pacemaker's own runner compares).
"""

from __future__ import annotations

import io
import pathlib
import re
import shlex

import pytest

from pengine.simulate import run

CASES = pathlib.Path(__file__).resolve().parent / "cases"


def _index() -> list[tuple[str, list[str], str]]:
    rows = []
    for line in (CASES / "cases.tsv").read_text().splitlines()[1:]:
        name, args, description = line.split("\t")
        rows.append((name, shlex.split(args), description))
    return rows


def _sections(text: str) -> dict[str, list[str]]:
    titles = ("Current cluster status", "Performing Requested Modifications",
              "Transition Summary", "Executing Cluster Transition", "Revised Cluster Status")
    out: dict[str, list[str]] = {"preamble": []}
    current = "preamble"
    for line in text.splitlines():
        if line.endswith(":") and line[:-1] in titles:
            current = line[:-1]
            out[current] = []
        elif line.strip():
            # crm_simulate stamps an injected failure with the wall clock, we with "now"
            line = re.sub(r"(last-failure-\S*=)\d+", r"\1<time>", line)
            out[current].append(" ".join(line.split()))
    return out


@pytest.mark.parametrize("name,args,description", _index(), ids=[r[0] for r in _index()])
def test_case_matches_crm_simulate(name, args, description, capsys):
    expected = _sections((CASES / f"{name}.summary").read_text())
    out = io.StringIO()
    assert run(["-x", str(CASES / f"{name}.xml"), "-S", *args], stdout=out) == 0
    got = _sections(out.getvalue())
    assert got["preamble"] == expected["preamble"], description
    for title in ("Current cluster status", "Performing Requested Modifications",
                  "Revised Cluster Status"):
        assert got.get(title) == expected.get(title), f"{description}: {title} differs"
    assert sorted(got["Transition Summary"]) == sorted(expected["Transition Summary"]), description
    # the same actions are executed (their order may legitimately differ between equal graphs)
    assert sorted(got["Executing Cluster Transition"]) == \
        sorted(expected["Executing Cluster Transition"]), description


def test_cases_cover_the_promised_scenarios():
    names = {row[0] for row in _index()}
    for needed in ("stickiness-beats-location", "colocation-chain-ban", "group-member-fails",
                   "standby-node", "unclean-node-fenced", "no-quorum-stop", "no-quorum-ignore",
                   "no-quorum-freeze", "mandatory-order-failed-first", "clone-with-group",
                   "promotable-scores"):
        assert needed in names
