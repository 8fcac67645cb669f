"""What a CIB replica pays to write itself after one change: its digest and its compact text.

    python bench/cib_digest.py                      # 5x10, 3x100, 8x1000; 201 changes each
    python bench/cib_digest.py --sizes 32x10000 --changes 21

Every replica (the DC and each member) computes the digest of the whole CIB after each change it
applies (it proves the replicas equal), and the DC writes the whole CIB for the policy engine on
every transition. The replica keeps the text of unchanged subtrees (crmd/cib.py,
core/cib/xmltree.SubtreeTexts). This applies, one at a time, the change a running cluster makes
most (one operation result: one `lrm_rsc_op` put into one `lrm_resource`) to a steady CIB built
by bench/pengine.py's inputs, and times after each change, alternated in the same process:

- baseline: `document_digest` (the whole document written anew, then MD5);
- ours: `Cib.digest()` on the replica that keeps subtree texts;
- and `Cib.xml()` against `to_xml(root, indent=None)`;
- every `--ahead-every` changes, the snapshot a new DC gives its policy engine for the fencing
  ahead of its join (one node's departure recorded, the quorum and the DC set): a parsed copy of
  the replica with the edits applied, against `Overlay` (only the edited elements copied).

Printed: median and p99 in ms, and the ratio ours / baseline of the medians.
"""

from __future__ import annotations

import argparse
import pathlib
import random
import statistics
import sys
import time
from typing import Callable

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from core.cib.xmltree import parse_xml_file, to_xml  # noqa: E402
from crmd import requests as rq  # noqa: E402
from crmd.cib import Cib, Overlay, document_digest  # noqa: E402
from pengine import make_inputs, p99  # noqa: E402  (bench/pengine.py)


def op_edits(cib: Cib, rnd: random.Random) -> list:
    """One operation result on a random node for a random resource that has a history there."""
    status = cib.section("status")
    states = status.findall("node_state")
    state = rnd.choice(states)
    nid = state.get("id") or ""
    lrm = state.find("lrm")
    resources = lrm.find("lrm_resources") if lrm is not None else None
    rscs = resources.findall("lrm_resource") if resources is not None else []
    rsc = rnd.choice(rscs).get("id") if rscs else "bench-rsc"
    call = rnd.randrange(1, 1 << 20)
    op = (f'<lrm_rsc_op id="{rsc}_monitor_10000" operation="monitor" call-id="{call}" rc-code="0" '
          f'op-status="0" interval="10000" last-rc-change="{call}" exec-time="3" queue-time="0" '
          f'on_node="{state.get("uname")}"/>')
    return [("put", rq.lrm_path(nid) + (("lrm_resource", rsc), ("lrm_rsc_op", f"{rsc}_monitor_10000")), op)]


def departure_edits(cib: Cib, rnd: random.Random) -> list:
    """What a new DC's join writes for a node that left (as crmd's _node_gone_edits) and itself."""
    state = rnd.choice(cib.section("status").findall("node_state"))
    nid = state.get("id") or ""
    edits: list = [("set", rq.state_path(nid), {"in_ccm": "false", "crmd": "offline", "join": "down"})]
    if state.find("transient_attributes") is not None:
        edits.append(("del", rq.state_path(nid) + (("transient_attributes", nid),)))
    edits.append(("set", (), {"have-quorum": "1", "dc-uuid": "bench-dc"}))
    return edits


def _timed(work: Callable[[], object]) -> tuple[object, float]:
    """What `work()` gives, and the ms it took."""
    t0 = time.perf_counter()
    result = work()
    return result, (time.perf_counter() - t0) * 1000


def _overlaid(cib: Cib, edits: list) -> str:
    overlay = Overlay(cib)
    overlay.apply(edits, bump=False)
    return overlay.xml()


def _copied(cib: Cib, edits: list) -> str:
    copy = Cib.from_xml(cib.xml())
    copy.apply(edits, bump=False)
    return copy.xml()


def measure(path: pathlib.Path, changes: int, seed: int, ahead_every: int) -> dict[str, list[float]]:
    cib = Cib(parse_xml_file(str(path)))
    rnd = random.Random(seed)
    cib.digest()
    times: dict[str, list[float]] = {"digest base": [], "digest ours": [], "xml base": [], "xml ours": [],
                                     "ahead base": [], "ahead ours": []}
    # (name, baseline, ours, what must be equal): timed in turn, after each change
    pairs: list[tuple[str, Callable[[], object], Callable[[], object], str]] = [
        ("digest", lambda: document_digest(cib.root), cib.digest, "the replica's digest and the document's"),
        ("xml", lambda: to_xml(cib.root, indent=None), cib.xml, "the replica's text and the document's")]
    for change in range(changes):
        if change % ahead_every == 0:  # on the steady CIB, whose texts are all kept
            edits = departure_edits(cib, rnd)
            _alternate(times, path, "ahead", lambda: _copied(cib, edits), lambda: _overlaid(cib, edits),
                       "the overlay's text and the copy's")
        cib.apply(op_edits(cib, rnd))
        for name, base_work, our_work, what in pairs:
            _alternate(times, path, name, base_work, our_work, what)
    return times


def _alternate(times: dict[str, list[float]], path: pathlib.Path, name: str, base_work: Callable[[], object],
               our_work: Callable[[], object], what: str) -> None:
    """Time the baseline then ours; both must give the same."""
    base, base_ms = _timed(base_work)
    ours, ours_ms = _timed(our_work)
    if base != ours:
        sys.exit(f"{path}: {what} differ")
    times[f"{name} base"].append(base_ms)
    times[f"{name} ours"].append(ours_ms)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="5x10,3x100,8x1000", help="comma-separated MxN list")
    p.add_argument("--changes", type=int, default=201)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ahead-every", type=int, default=10)
    p.add_argument("--workdir", default="/tmp/pyhb-bench-pengine")
    args = p.parse_args(argv)
    workdir = pathlib.Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    hb = str(ROOT / ".venv" / "bin" / "hb")
    print(f"{'size':>9} {'bytes':>10} | {'digest: whole':>14} {'kept':>14} {'ratio':>6} | "
          f"{'text: whole':>14} {'kept':>14} {'ratio':>6} | {'ahead: copy':>16} {'overlay':>14} {'ratio':>6}"
          "   (ms median / p99)")
    for size in args.sizes.split(","):
        m, n = (int(x) for x in size.lower().split("x"))
        steady = make_inputs(m, n, workdir, 600.0, hb)["steady"]
        t = measure(steady, args.changes, args.seed, args.ahead_every)
        med = {k: statistics.median(v) for k, v in t.items()}
        show = {k: f"{med[k]:.3f} / {p99(v):.3f}" for k, v in t.items()}
        print(f"{size:>9} {steady.stat().st_size:>10} | {show['digest base']:>14} {show['digest ours']:>14} "
              f"{med['digest ours'] / med['digest base']:>6.2f} | {show['xml base']:>14} {show['xml ours']:>14} "
              f"{med['xml ours'] / med['xml base']:>6.2f} | {show['ahead base']:>16} {show['ahead ours']:>14} "
              f"{med['ahead ours'] / med['ahead base']:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
