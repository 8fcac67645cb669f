"""The compiled code of every module a standalone `hb` command loads, in one file per command.

Why: `hb simulate` on a small cluster is mostly start-up, and a third of the start-up is
importing its ~60 modules (ours and the standard library's). For each one the import system
runs its path finder (a directory listing cached per directory, `stat` calls, the cache path
computed), opens and validates the `.pyc` and unmarshals it: about 4 ms of a 55 ms process,
besides the modules' own code. `make bytecode` writes a bundle for each command of `core.cli.STANDALONE`
(`python -m core.codebundle`) and the `hb` script (core/entryscript.py) puts the command's
finder first on `sys.meta_path` before the command's module is imported. This is what
CPython does for its own start-up modules (frozen modules), with the checks of a `.pyc`:

- every module's source file is checked at import (`stat`: modification time in nanoseconds
  and size, as recorded when the bundle was written); a module whose source changed, moved or
  vanished is left to the normal import system, which reads the source or its `.pyc`;
- a bundle written by another interpreter (bytecode magic number, cache tag) or for another
  optimisation level (`-O`) is not used at all, nor is a file that does not unmarshal;
- the code is compiled from the source as importlib compiles it (`compile(..., "exec",
  dont_inherit=True)`), so a module loaded from the bundle is the module loaded without it.

A bundled module's `__file__`, `__spec__.origin` and package `__path__` are the source's, so
tracebacks, `inspect` and submodules outside the bundle work as usual.

    python -m core.codebundle            # written by `make bytecode`, at bundle_path()
"""

from __future__ import annotations

import marshal
import os
import sys

try:  # the import system's own classes, loaded already (importlib.machinery would load more)
    from _frozen_importlib import ModuleSpec
    from _frozen_importlib_external import MAGIC_NUMBER
except ImportError:  # pragma: no cover (an interpreter whose import system is not frozen)
    from importlib.machinery import ModuleSpec  # type: ignore[assignment]
    from importlib.util import MAGIC_NUMBER

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Optional

# bumped when the layout of the file changes
FORMAT = 1

# what a module of the bundle holds: its source path, whether it is a package, the source's
# st_mtime_ns and st_size when it was compiled, and its code, marshalled on its own (a module
# the run does not import, `re` on most runs, costs only its bytes being read)
Entry = tuple  # (str, bool, int, int, bytes)


def header() -> tuple:
    """What must be equal for a bundle to be used by this interpreter."""
    return (FORMAT, MAGIC_NUMBER, sys.implementation.cache_tag, sys.flags.optimize)


def bundle_path(tree: str, command: str) -> str:
    """Where `make bytecode` writes the bundle of `hb COMMAND` for the source tree `tree`:
    among the tree's bytecode caches, named for the interpreter (several may share a
    checkout)."""
    return os.path.join(tree, "core", "__pycache__",
                        f"hb-{command}.{sys.implementation.cache_tag}.bundle")


class BundleFinder:
    """A meta path finder and loader for the modules of one bundle whose source is unchanged."""

    def __init__(self, modules: dict[str, Entry]) -> None:
        self.modules = modules

    def find_spec(self, name: str, path: object = None,
                  target: object = None) -> Optional[ModuleSpec]:
        entry = self.modules.get(name)
        if entry is None:
            return None
        source, is_package, mtime_ns, size, _ = entry
        try:
            stat = os.stat(source)
        except OSError:
            return None
        if stat.st_mtime_ns != mtime_ns or stat.st_size != size:
            return None  # changed since `make`: the path finder reads it (or its fresh .pyc)
        spec = ModuleSpec(name, self, origin=source, is_package=is_package)
        spec.has_location = True  # __file__ is the source's
        if is_package:
            spec.submodule_search_locations = [os.path.dirname(source)]
        return spec

    def create_module(self, spec: ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        code = marshal.loads(self.modules[module.__spec__.name][4])
        exec(code, module.__dict__)  # noqa: S102


def load(path: str) -> Optional[BundleFinder]:
    """Put the bundle at `path` first on sys.meta_path; None (nothing changed) when there is
    no usable bundle there."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        found, modules = marshal.loads(data)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if found != header() or not isinstance(modules, dict):
        return None
    finder = BundleFinder(modules)
    sys.meta_path.insert(0, finder)
    return finder


# run in a fresh `python -S`: the modules a standalone command loads, as `hb` loads them
# (core.cli first, then the command's module), and those it may load while it runs (`re`,
# which core/lazyre.py imports on first use, and the modules the command's module lists in
# ON_DEMAND_MODULES, e.g. a variant's), one `name path is_package` line each
_LIST_MODULES = """
import sys
sys.path.insert(1, sys.argv[1])
import core.cli
name = core.cli.COMMANDS[sys.argv[2]][0]
__import__(name)
for later in getattr(sys.modules[name], "ON_DEMAND_MODULES", ()):
    __import__(later)
import re
for name, module in sorted(sys.modules.items()):
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None)
    if spec is None or not spec.has_location or not str(origin).endswith(".py"):
        continue  # built-in, frozen, extension modules, namespace packages
    print(name, origin, int(spec.submodule_search_locations is not None))
"""


def command_modules(tree: str, command: str) -> list[tuple[str, str, bool]]:
    """(name, source path, is package) of every module loaded from a `.py` file when `hb
    COMMAND` (one of core.cli.STANDALONE) imports its module from `tree` without `site`."""
    import subprocess  # only when writing the bundle (make), never on a command's start-up

    listed = subprocess.run([sys.executable, "-S", "-c", _LIST_MODULES, tree, command],
                            check=True, capture_output=True, text=True).stdout
    modules = []
    for line in listed.splitlines():
        name, source, is_package = line.rsplit(" ", 2)
        modules.append((name, source, is_package == "1"))
    return modules


def compile_modules(modules: list[tuple[str, str, bool]]) -> dict[str, Entry]:
    """The bundle's table for `modules`: each source compiled as importlib compiles it, with
    the stat taken before reading (a change after it makes the entry stale, never wrong)."""
    table: dict[str, Entry] = {}
    for name, source, is_package in modules:
        stat = os.stat(source)
        with open(source, "rb") as handle:
            text = handle.read()
        code = compile(text, source, "exec", dont_inherit=True)
        table[name] = (source, is_package, stat.st_mtime_ns, stat.st_size, marshal.dumps(code))
    return table


def write(path: str, table: dict[str, Entry]) -> None:
    """Write the bundle whole, then rename it into place (a concurrent `hb` sees the old one
    or the new one)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "wb") as handle:
        handle.write(marshal.dumps((header(), table)))
    os.replace(temporary, path)


def main(argv: Optional[list[str]] = None) -> int:
    """Write the bundle of every command of core.cli.STANDALONE for the tree holding `core`."""
    if list(sys.argv[1:] if argv is None else argv):
        print("usage: python -m core.codebundle", file=sys.stderr)
        return 2
    # not at the top: `hb` imports this module before its bundle is in place, and core.cli's
    # own imports would then come from files
    from core.cli import STANDALONE

    tree = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for command in sorted(STANDALONE):
        write(bundle_path(tree, command), compile_modules(command_modules(tree, command)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
