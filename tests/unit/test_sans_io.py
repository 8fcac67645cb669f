"""Cores are sans-I/O: no clock, socket, process or randomness inside them (DEVELOPERS.md).

Each package lists its core modules in `SANS_IO_MODULES` in its `__init__.py`. This test follows
every project import of those modules transitively and fails if any module reached imports one of
the forbidden standard-library modules or ZeroMQ.
"""

from __future__ import annotations

import ast
import functools
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ["core", "messaging", "ccm", "lrmd", "stonithd", "crmd", "pengine", "tengine", "logd", "sim", "agents", "lab"]
FORBIDDEN = {"time", "socket", "zmq", "subprocess", "random", "asyncio", "select", "selectors",
             "threading", "signal", "os"}


# both memoized: every core's walk reaches mostly the same modules (core.*), and parsing each
# again per core made this test take 14-24 s of the suite
@functools.lru_cache(maxsize=None)
def _module_path(name: str) -> pathlib.Path | None:
    base = ROOT.joinpath(*name.split("."))
    if base.with_suffix(".py").exists():
        return base.with_suffix(".py")
    if (base / "__init__.py").exists():
        return base / "__init__.py"
    return None


@functools.lru_cache(maxsize=None)
def _imports(path: pathlib.Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(found)


def _declared_cores() -> list[str]:
    cores: list[str] = []
    for package in PACKAGES:
        init = ROOT / package / "__init__.py"
        if not init.exists():
            continue
        for node in ast.walk(ast.parse(init.read_text())):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SANS_IO_MODULES" for t in node.targets):
                cores.extend(f"{package}.{name}" for name in ast.literal_eval(node.value))
    return cores


def test_some_cores_are_declared():
    assert "messaging.machine" in _declared_cores()


def test_cores_import_no_io_modules_even_indirectly():
    problems = []
    for core in _declared_cores():
        seen: set[str] = set()
        stack = [(core, core)]
        while stack:
            name, chain = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            path = _module_path(name)
            if path is None:
                continue
            parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
            for imported in list(_imports(path)) + parents:
                top = imported.split(".")[0]
                if top in FORBIDDEN:
                    problems.append(f"{chain} imports {imported}")
                elif top in PACKAGES and _module_path(imported) is not None:
                    stack.append((imported, f"{chain} -> {imported}"))
    assert not problems, "sans-I/O cores reach I/O modules:\n" + "\n".join(problems)
