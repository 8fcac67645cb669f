"""Writes the `hb` entry script of an installation (run by `make` after `pip install`).

Why not pip's own console script: that one runs under the interpreter's full start-up, whose
`site` step (site-packages, every `.pth` file, setuptools' distutils hook) costs every command a
few milliseconds. `hb simulate` on a small cluster runs in about 40 ms, so that is a visible share
of it. The script written here starts the interpreter with `-S` and does the `site` step itself,
only for the commands that need it:

- commands in `core.cli.STANDALONE` need nothing but the standard library and this source tree,
  so the script only puts the directory holding `core` on `sys.path`, and loads their modules
  from the one file `make bytecode` compiles them into (core/codebundle.py; a module whose
  source changed since is imported as usual). The names are written into the script (`make`
  rewrites it when core/cli.py changes): deciding must not import anything;
- every other command (they import pyzmq, msgpack, ...) gets `site.main()`, the documented way
  for a `-S` program to do the normal start-up later: the same `sys.path`, `sys.prefix` and
  `.pth` processing as a plain start.

    python -m core.entryscript BIN_DIR/hb      # the interpreter running this is the one used

The script is a few lines and is rewritten whenever this module or core/cli.py changes
(Makefile).
"""

from __future__ import annotations

import os
import sys

from core import cli, codebundle

TEMPLATE = '''#!{python} -S
"""hb: written by core/entryscript.py (`make`); see its docstring. pip's script does the same
thing more slowly: `{python} -m core.cli ARGS` is equivalent."""
import sys
sys.path.insert(1, {tree!r})
bundle = {bundles!r}.get(sys.argv[1] if len(sys.argv) > 1 else "")  # core.cli.STANDALONE
if bundle is not None:
    from core.codebundle import load
    load(bundle)
else:
    sys.path.remove({tree!r})
    import site
    site.main()
from core.cli import main
sys.exit(main())
'''

# Linux reads at most this many bytes of a `#!` line (BINPRM_BUF_SIZE since 5.1; 128 before).
SHEBANG_MAX = 127


def source_tree() -> str:
    """The directory that holds the `core` package as this interpreter imports it: the
    checkout for an editable install, site-packages for a regular one."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def entry_script(python: str, tree: str) -> str:
    """The text of the `hb` script for interpreter `python` and the directory `tree`."""
    bundles = {name: codebundle.bundle_path(tree, name) for name in sorted(cli.STANDALONE)}
    return TEMPLATE.format(python=python, tree=tree, bundles=bundles)


def write_entry_script(path: str, python: str, tree: str) -> bool:
    """Replace the script at `path` (executable, written whole then renamed). False, leaving
    pip's script alone, when the interpreter's path is too long for a `#!` line."""
    if len(f"#!{python} -S") > SHEBANG_MAX or "\n" in python or " " in python:
        return False
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(entry_script(python, tree))
    os.chmod(temporary, 0o755)
    os.replace(temporary, path)
    return True


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m core.entryscript PATH/TO/bin/hb", file=sys.stderr)
        return 2
    if not write_entry_script(args[0], sys.executable, source_tree()):
        print(f"core.entryscript: {sys.executable}: path too long for a #! line; "
              f"keeping pip's {args[0]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
