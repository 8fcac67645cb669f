"""Freeze a generated CIB as a regression case, with Pacemaker 2.1.5's crm_simulate as oracle.

    python tests/pengine/freeze_generated.py [--graph] NAME CIB.xml "ARGS" "what it checks"

Copies the CIB to tests/pengine/generated/NAME.xml, stores `crm_simulate -S -x NAME.xml ARGS`
as NAME.summary (with --graph also its transition graph, `-G`, as NAME.exp, for a rule that
shows in the graph's edges alone) and appends (or replaces) NAME's row in generated/index.tsv with the arguments,
crm_simulate's exit status and the description. test_generated.py replays every row with
`hb simulate`. The CIBs come from this project's generators (tests/pengine/cibgen.py, the
anchors' gen_cib.py), so the repository keeps them.
"""

from __future__ import annotations

import pathlib
import shlex
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
DIR = HERE / "generated"
INDEX = DIR / "index.tsv"
HEADER = "name\targs\texit\tdescription"


def freeze(name: str, source: pathlib.Path, args: str, description: str,
           graph: bool = False) -> int:
    DIR.mkdir(exist_ok=True)
    target = DIR / f"{name}.xml"
    if source.resolve() != target.resolve():
        shutil.copyfile(source, target)
    proc = subprocess.run(["crm_simulate", "-S", "-x", target.name, *shlex.split(args)],
                          cwd=DIR, capture_output=True, text=True, timeout=120)
    (DIR / f"{name}.summary").write_text(proc.stdout)
    if graph:
        subprocess.run(["crm_simulate", "-x", target.name, "-G", f"{name}.exp",
                        *shlex.split(args)], cwd=DIR, capture_output=True, text=True,
                       timeout=120, check=True)
    rows = INDEX.read_text().splitlines()[1:] if INDEX.exists() else []
    rows = [row for row in rows if row.split("\t")[0] != name]
    rows.append(f"{name}\t{args}\t{proc.returncode}\t{description}")
    INDEX.write_text("\n".join([HEADER, *sorted(rows)]) + "\n")
    return proc.returncode


def main(argv: list[str]) -> int:
    graph = argv[:1] == ["--graph"]
    argv = argv[1:] if graph else argv
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    rc = freeze(argv[0], pathlib.Path(argv[1]), argv[2], argv[3], graph)
    print(f"{argv[0]}: crm_simulate exit {rc}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
