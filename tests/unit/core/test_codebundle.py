"""core/codebundle.py: a standalone command's modules compiled into one file, loaded at once by
the `hb` script, and never in place of a source that changed since (the `.pyc` rule)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core import codebundle, entryscript

TREE = entryscript.source_tree()
CASES = os.path.join(TREE, "tests", "pengine", "cases")


@pytest.fixture
def package(tmp_path):
    """A package `cbtest_pkg` with one module `mod` on sys.path; forgotten afterwards."""
    root = tmp_path / "src"
    (root / "cbtest_pkg").mkdir(parents=True)
    (root / "cbtest_pkg" / "__init__.py").write_text("KIND = 'package'\n")
    (root / "cbtest_pkg" / "mod.py").write_text("VALUE = 1\n\ndef double(x):\n    return 2 * x\n")
    sys.path.insert(0, str(root))
    before = list(sys.meta_path)
    yield root
    sys.meta_path[:] = before
    sys.path.remove(str(root))
    for name in ("cbtest_pkg", "cbtest_pkg.mod", "cbtest_pkg.other"):
        sys.modules.pop(name, None)


def _write(root, path) -> None:
    modules = [("cbtest_pkg", str(root / "cbtest_pkg" / "__init__.py"), True),
               ("cbtest_pkg.mod", str(root / "cbtest_pkg" / "mod.py"), False)]
    codebundle.write(str(path), codebundle.compile_modules(modules))


def test_a_bundled_module_is_its_source_compiled_with_the_sources_attributes(package, tmp_path):
    _write(package, tmp_path / "b.bundle")
    finder = codebundle.load(str(tmp_path / "b.bundle"))
    assert finder is not None and sys.meta_path[0] is finder
    import cbtest_pkg.mod
    assert cbtest_pkg.mod.__spec__.loader is finder and cbtest_pkg.__spec__.loader is finder
    assert cbtest_pkg.mod.VALUE == 1 and cbtest_pkg.mod.double(4) == 8
    assert cbtest_pkg.KIND == "package"
    assert cbtest_pkg.mod.__file__ == str(package / "cbtest_pkg" / "mod.py")
    assert cbtest_pkg.__path__ == [str(package / "cbtest_pkg")]
    # a submodule the bundle does not hold is found in the package's directory as usual
    (package / "cbtest_pkg" / "other.py").write_text("X = 3\n")
    import cbtest_pkg.other
    assert cbtest_pkg.other.X == 3 and cbtest_pkg.other.__spec__.loader is not finder


def test_a_module_changed_since_the_bundle_was_written_is_imported_from_its_source(package,
                                                                                   tmp_path):
    _write(package, tmp_path / "b.bundle")
    (package / "cbtest_pkg" / "mod.py").write_text("VALUE = 2\n")
    finder = codebundle.load(str(tmp_path / "b.bundle"))
    import cbtest_pkg.mod
    assert cbtest_pkg.mod.VALUE == 2 and cbtest_pkg.mod.__spec__.loader is not finder
    assert cbtest_pkg.__spec__.loader is finder  # unchanged: still from the bundle


def test_a_same_size_edit_is_seen_by_its_modification_time(package, tmp_path):
    _write(package, tmp_path / "b.bundle")
    source = package / "cbtest_pkg" / "mod.py"
    text = source.read_text().replace("VALUE = 1", "VALUE = 7")
    stat = os.stat(source)
    source.write_text(text)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    codebundle.load(str(tmp_path / "b.bundle"))
    import cbtest_pkg.mod
    assert cbtest_pkg.mod.VALUE == 7


def test_a_bundle_of_another_interpreter_or_a_damaged_one_is_not_used(package, tmp_path,
                                                                      monkeypatch):
    before = list(sys.meta_path)
    with monkeypatch.context() as patch:
        patch.setattr(codebundle, "header", lambda: (codebundle.FORMAT, b"\0\0\r\n", "x", 0))
        _write(package, tmp_path / "other.bundle")
    assert codebundle.load(str(tmp_path / "other.bundle")) is None
    _write(package, tmp_path / "b.bundle")
    data = (tmp_path / "b.bundle").read_bytes()
    (tmp_path / "cut.bundle").write_bytes(data[:len(data) // 2])
    assert codebundle.load(str(tmp_path / "cut.bundle")) is None
    assert codebundle.load(str(tmp_path / "missing.bundle")) is None
    assert sys.meta_path == before


def test_the_simulate_bundle_holds_what_hb_simulate_imports_and_re():
    """re is not imported by hb simulate's modules (core/lazyre.py), only on first use."""
    modules = {name: source for name, source, _ in codebundle.command_modules(TREE, "simulate")}
    assert {"core.cli", "core.lazyre", "pengine.simulate", "pengine.engine", "re", "re._parser",
            "enum"} <= set(modules)
    for name, source in modules.items():
        assert source.startswith(TREE) or name.split(".")[0] in sys.stdlib_module_names, name


def test_hb_simulate_from_its_bundle_prints_what_it_prints_without(tmp_path):
    """The `hb` script with a bundle written for it: every module of pengine and core comes
    from the bundle, and the output is byte for byte that of `python -m core.cli`."""
    bundle = str(tmp_path / "hb-simulate.bundle")
    codebundle.write(bundle, codebundle.compile_modules(codebundle.command_modules(TREE, "simulate")))
    script = entryscript.entry_script(sys.executable, TREE).replace(
        repr(codebundle.bundle_path(TREE, "simulate")), repr(bundle))
    assert bundle in script
    probe = script.replace(
        "sys.exit(main())",
        "import pengine.simulate\n"
        "print(sorted(n for n, m in sys.modules.items() if n.startswith(('pengine', 'core.cib'))"
        " and type(m.__spec__.loader).__name__ != 'BundleFinder'))")
    done = subprocess.run([sys.executable, "-S", "-c", probe, "simulate"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    (tmp_path / "hb").write_text(script)
    for case in ("anti-colocation", "clone-with-group", "failure-timeout-expired"):
        args = ["simulate", "-x", os.path.join(CASES, f"{case}.xml"), "-S", "-s"]
        ours = subprocess.run([sys.executable, "-S", str(tmp_path / "hb"), *args],
                              capture_output=True, timeout=60)
        plain = subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True,
                               timeout=60, cwd=TREE)
        assert ours.returncode == plain.returncode == 0, ours.stderr
        assert ours.stdout == plain.stdout and ours.stdout
