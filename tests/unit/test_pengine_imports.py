"""pengine's module graph stays readable: every import at the top of its module, and no cycle.

Why: an import written inside a function hides a dependency from the reader and is how an
import cycle survives (the cycle only bites at call time). pengine is layered instead
(docs/pengine.md, "Module layers"): values -> model -> unpack/status -> phases -> variants ->
engine, and the phases reach variant-specific code through the per-variant method table each
resource carries (`rsc.methods`), never by importing the variant modules.

The checks read the sources with `ast` (nothing is imported), so a cycle is reported as the list
of modules that form it, and a function-level import with its file and line.
"""

from __future__ import annotations

import ast
import pathlib
from typing import Optional

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = "pengine"


def _is_type_checking_block(node: ast.stmt) -> bool:
    """`if TYPE_CHECKING:` (or `if typing.TYPE_CHECKING:`) at module level: imports there run only
    under a type checker, so they are neither hidden runtime dependencies nor cycles."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _top_level_imports(tree: ast.Module) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """(imports that run when the module loads, imports under a top-level TYPE_CHECKING)."""
    runtime: list[ast.stmt] = []
    typing_only: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            runtime.append(node)
        elif isinstance(node, ast.Try):
            # `try: from fast import x` / `except ImportError: from portable import x` at module
            # level: it runs when the module loads, like any top-level import
            for block in (node.body, *(h.body for h in node.handlers), node.orelse):
                runtime.extend(n for n in block if isinstance(n, (ast.Import, ast.ImportFrom)))
        elif _is_type_checking_block(node):
            typing_only.extend(n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))
    return runtime, typing_only


def function_level_imports(source: str, filename: str) -> list[str]:
    """`file:line: import ...` for every import not at the top level of the module."""
    tree = ast.parse(source, filename)
    runtime, typing_only = _top_level_imports(tree)
    allowed = {id(n) for n in runtime + typing_only}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in allowed:
            found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return sorted(found, key=lambda text: int(text.split(":")[1]))


def imported_modules(source: str, package: str, names: set[str]) -> set[str]:
    """The modules of `package` (among `names`) a module imports when it loads, in any of the
    spellings `from package.x import y`, `from package import x`, `import package.x`."""
    tree = ast.parse(source)
    runtime, _ = _top_level_imports(tree)
    # a function-level import is a dependency too (the other check forbids it, this one must
    # still see the cycle it would hide)
    runtime_ids = {id(n) for n in runtime}
    nodes = runtime + [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                       and id(n) not in runtime_ids and not _under_type_checking(tree, n)]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == package:
                found.update(a.name for a in node.names if a.name in names)
            elif node.module.startswith(package + "."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == package and len(parts) > 1:
                    found.add(parts[1])
    return found & names


def _under_type_checking(tree: ast.Module, target: ast.AST) -> bool:
    return any(_is_type_checking_block(node) and any(n is target for n in ast.walk(node))
               for node in tree.body)


def import_graph(sources: dict[str, str], package: str) -> dict[str, set[str]]:
    names = set(sources)
    return {name: imported_modules(text, package, names) - {name} for name, text in sources.items()}


def find_cycle(graph: dict[str, set[str]]) -> Optional[list[str]]:
    """One cycle as [a, b, ..., a], or None (iterative depth-first search, sorted for a stable
    report)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            step = next(stack[-1], None)
            if step is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(step) == 1:
                return path[path.index(step):] + [step]
            elif not state.get(step):
                state[step] = 1
                path.append(step)
                stack.append(iter(sorted(graph.get(step, ()))))
    return None


def _package_sources() -> dict[str, str]:
    return {p.stem: p.read_text() for p in sorted((ROOT / PACKAGE).glob("*.py"))}


# -- the rules, on pengine itself -------------------------------------------------------------

def test_pengine_imports_only_at_module_top_level():
    found = []
    for path in sorted((ROOT / PACKAGE).glob("*.py")):
        found += function_level_imports(path.read_text(), f"{PACKAGE}/{path.name}")
    assert not found, "imports inside functions (move them to the top of the module):\n" + \
        "\n".join(found)


# Importing a module by name while the program runs hides the dependency as a function-level
# import does. One place may: the variant table loads a variant's module when the first
# resource of that variant is created (pengine/methods.py, VariantTable.__missing__), so that
# `hb simulate` on a CIB without clones does not load the clone modules (docs/pengine.md).
DYNAMIC_IMPORTS_ALLOWED = {("pengine/methods.py", "VariantTable.__missing__")}


def dynamic_imports(source: str, filename: str) -> list[tuple[str, str]]:
    """(file, Class.function) of every call of `__import__`, `importlib.import_module` or
    `import_module` (module level: "<module>")."""
    tree = ast.parse(source, filename)
    found = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, child.name if where == "<module>" else f"{where}.{child.name}")
                continue
            if isinstance(child, ast.Call):
                func = child.func
                name = func.id if isinstance(func, ast.Name) else \
                    func.attr if isinstance(func, ast.Attribute) else None
                if name in ("__import__", "import_module"):
                    found.append((filename, where))
            visit(child, where)

    visit(tree, "<module>")
    return found


def test_pengine_imports_by_name_only_in_the_variant_table():
    found = []
    for path in sorted((ROOT / PACKAGE).glob("*.py")):
        found += dynamic_imports(path.read_text(), f"{PACKAGE}/{path.name}")
    assert set(found) <= DYNAMIC_IMPORTS_ALLOWED, f"imports by name outside the variant table: {found}"
    assert set(found) == DYNAMIC_IMPORTS_ALLOWED  # the allowed one is seen (the check looks)


def test_an_import_by_name_is_found():
    source = ("import importlib\nclass T:\n    def get(self):\n        __import__('x')\n"
              "def f():\n    return importlib.import_module('y')\n")
    assert dynamic_imports(source, "a.py") == [("a.py", "T.get"), ("a.py", "f")]


def test_pengine_module_graph_has_no_cycle():
    cycle = find_cycle(import_graph(_package_sources(), PACKAGE))
    assert cycle is None, "import cycle in pengine: " + " -> ".join(cycle or [])


# The variant modules build on the phases; only the engine (which hands the method table to the
# working set) may import them. A phase that needs variant-specific work calls rsc.methods.
VARIANT_MODULES = {"primitive", "group", "clone", "clone_placement", "promotable", "clone_actions",
                   "variants"}
MAY_IMPORT_VARIANTS = VARIANT_MODULES | {"engine"}


def variant_imports_outside(graph: dict[str, set[str]]) -> list[str]:
    """`module -> variant module` for every import of a variant module by a module that is
    neither a variant module nor the engine."""
    return sorted(f"{name} -> {target}" for name, targets in graph.items()
                  if name not in MAY_IMPORT_VARIANTS for target in targets & VARIANT_MODULES)


def test_phases_reach_variants_only_through_the_method_table():
    graph = import_graph(_package_sources(), PACKAGE)
    assert VARIANT_MODULES <= set(graph)
    found = variant_imports_outside(graph)
    assert not found, "modules below the variants import a variant module (call rsc.methods " \
        "instead):\n" + "\n".join(found)


def test_a_phase_importing_a_variant_is_found():
    graph = {"assign": {"model", "clone"}, "clone": {"assign"}, "engine": {"clone"},
             "model": set()}
    assert variant_imports_outside(graph) == ["assign -> clone"]


def test_pengine_is_checked():
    """The checks see the real package (a wrong path would make them pass on nothing)."""
    graph = import_graph(_package_sources(), PACKAGE)
    assert {"values", "model", "unpack", "engine"} <= set(graph)
    assert "model" in graph["engine"] or "values" in graph["unpack"]


# -- the checks themselves can fail -------------------------------------------------------------

SYNTHETIC_A = '''
from __future__ import annotations
from typing import TYPE_CHECKING
import re
from pkg import b
if TYPE_CHECKING:
    from pkg.c import Thing

def helper():
    from pkg.b import late
    return late()

class K:
    def method(self):
        import json
        return json
'''

SYNTHETIC_B = '''
from pkg.a import helper
'''

SYNTHETIC_C = '''
if TYPE_CHECKING:
    from pkg.a import helper
'''


def test_function_level_imports_are_found():
    found = function_level_imports(SYNTHETIC_A, "pkg/a.py")
    assert found == ["pkg/a.py:10: from pkg.b import late", "pkg/a.py:15: import json"]
    assert function_level_imports(SYNTHETIC_B, "pkg/b.py") == []
    assert function_level_imports(SYNTHETIC_C, "pkg/c.py") == []


def test_a_two_module_cycle_is_found_and_named():
    graph = import_graph({"a": SYNTHETIC_A, "b": SYNTHETIC_B, "c": SYNTHETIC_C}, "pkg")
    assert graph == {"a": {"b"}, "b": {"a"}, "c": set()}  # TYPE_CHECKING imports are no edge
    assert find_cycle(graph) == ["a", "b", "a"]


def test_a_cycle_hidden_in_a_function_is_found():
    graph = import_graph({"a": "def f():\n    from pkg import b\n", "b": "import pkg.a\n"}, "pkg")
    assert find_cycle(graph) == ["a", "b", "a"]


def test_a_longer_cycle_and_no_cycle():
    assert find_cycle({"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}}) == ["x", "y", "z", "x"]
    assert find_cycle({"x": {"y", "z"}, "y": {"z"}, "z": set()}) is None
