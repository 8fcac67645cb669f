"""`hb simulate -D FILE [-a]` writes crm_simulate 2.1.5's dot file byte for byte (pengine/dotfile.py),
judged against the installed crm_simulate on a spread of the corpus cases both pass strictly;
and `-X` (in place) is `-S` with the input file as the output."""

from __future__ import annotations

import io
import pathlib
import subprocess

import pytest

from pengine import simulate
from strictcorpus import crm_simulate, strict_cases

pytestmark = pytest.mark.compat


def _ours(cib: pathlib.Path, dot: pathlib.Path, extra: list[str]) -> None:
    assert simulate.run(["-x", str(cib), "-S", "-Q", "-D", str(dot), *extra], stdout=io.StringIO()) == 0


@pytest.mark.parametrize("extra, step", [([], 3), (["-a"], 7)], ids=["graph", "all-actions"])
def test_dot_file_is_crm_simulates(tmp_path, extra, step):
    crm = crm_simulate()
    differ = []
    cases = strict_cases(step)
    for cib in cases:
        theirs, ours = tmp_path / "crm.dot", tmp_path / "ours.dot"
        subprocess.run([crm, "-x", str(cib), "-S", "-Q", "-D", str(theirs), *extra],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        assert theirs.exists(), f"crm_simulate wrote no dot file for {cib.name}"
        _ours(cib, ours, extra)
        if theirs.read_bytes() != ours.read_bytes():
            differ.append(cib.stem)
    assert len(cases) >= 40
    assert not differ, f"{len(differ)} of {len(cases)} differ: {differ}"


def test_in_place_is_simulate_with_the_input_as_output(tmp_path):
    cib = strict_cases(50)[1]
    copy = tmp_path / "in-place.xml"
    copy.write_bytes(cib.read_bytes())
    expected = tmp_path / "output.xml"
    out_s, out_x = io.StringIO(), io.StringIO()
    assert simulate.run(["-x", str(cib), "-S", "-O", str(expected)], stdout=out_s) == 0
    assert simulate.run(["-x", str(copy), "-X"], stdout=out_x) == 0
    assert out_x.getvalue() == out_s.getvalue()
    assert copy.read_bytes() == expected.read_bytes() != cib.read_bytes()
    with pytest.raises(simulate.UsageError):
        simulate.parse_args(["-p", "-X"])
