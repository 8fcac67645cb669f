"""Pacemaker's scheduler corpus cases this project passes strictly, and the installed
crm_simulate to judge against: what the compat tests comparing `hb simulate` output with
crm_simulate's (dot files, status sections) take a spread of. Missing either is a skip on a
developer's machine and a failure under CI (ciaware)."""

from __future__ import annotations

import pathlib
import shutil

from ciaware import missing

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "pacemaker-scheduler-2.1.5" / "xml"
STRICT = ROOT / "tests" / "pengine" / "conformance_strict.txt"


def strict_cases(step: int) -> list[pathlib.Path]:
    """Every `step`-th strictly passing case (conformance_strict.txt order), as XML paths."""
    if not CORPUS.is_dir():
        missing("Pacemaker scheduler corpus not present (CI provides it beside the tree)")
    names = [n.strip() for n in STRICT.read_text().splitlines() if n.strip() and not n.startswith("#")]
    return [CORPUS / f"{name}.xml" for name in names[::step]]


def crm_simulate() -> str:
    """The installed crm_simulate's path."""
    path = shutil.which("crm_simulate")
    if path is None:
        missing("crm_simulate (pacemaker-cli-utils) not installed (.ci/run installs it)")
    assert path is not None
    return path
