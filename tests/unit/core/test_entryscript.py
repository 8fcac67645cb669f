"""The `hb` script written by core/entryscript.py: standalone commands start without `site` and
need nothing outside the standard library and the tree; every other command gets the normal
start-up (site-packages, `.pth` files) through site.main()."""

from __future__ import annotations

import os
import subprocess
import sys

from core import cli, entryscript

TREE = entryscript.source_tree()


def _script(tmp_path) -> str:
    path = str(tmp_path / "hb")
    assert entryscript.write_entry_script(path, sys.executable, TREE)
    return path


def test_the_tree_is_where_core_is_imported_from():
    assert os.path.isfile(os.path.join(TREE, "core", "cli.py"))
    assert os.path.dirname(os.path.dirname(cli.__file__)) == TREE


def test_standalone_commands_import_only_the_standard_library_and_the_tree():
    for name in sorted(cli.STANDALONE):
        module = cli.COMMANDS[name][0]
        code = (f"import sys; sys.path.insert(1, {TREE!r}); before = set(sys.modules); "
                f"import {module}; "
                "print(sorted(m for m in set(sys.modules) - before "
                "if m.split('.')[0] not in sys.stdlib_module_names "
                "and not __import__(m).__file__.startswith(sys.path[1])))")
        done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[]", f"{name} imports {done.stdout.strip()}"


def test_standalone_command_runs_without_site(tmp_path):
    hb = _script(tmp_path)
    code = ("import sys; sys.argv[1:] = ['simulate', '--help']; "
            f"exec(open({hb!r}).read())")
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: hb simulate")


def test_other_commands_get_the_normal_sys_path(tmp_path):
    """After site.main() the path is the one a plain start gives (pyzmq etc. importable)."""
    hb = _script(tmp_path)
    # run as the script itself would be (sys.path[0] its directory), core.cli.main replaced
    # by a probe that prints the path
    probe = (f"import sys; sys.path[0] = {str(tmp_path)!r}; sys.path.insert(1, {TREE!r}); "
             "import core.cli; core.cli.main = lambda: print(repr(sys.path[1:])) or 0; "
             f"sys.path.remove({TREE!r}); sys.argv[1:] = ['status']; "
             f"exec(open({hb!r}).read())")
    with_script = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True,
                                 text=True, timeout=60, cwd=str(tmp_path))
    plain = subprocess.run([sys.executable, "-c", "import sys; print(repr(sys.path[1:]))"],
                           capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert with_script.returncode == 0, with_script.stderr
    assert with_script.stdout == plain.stdout
    assert TREE in eval(plain.stdout) or any("site-packages" in p for p in eval(plain.stdout))


def test_the_script_starts_with_dash_S_and_says_where_it_comes_from(tmp_path):
    text = open(_script(tmp_path)).read()
    assert text.startswith(f"#!{sys.executable} -S\n")
    assert "core/entryscript.py" in text and os.access(str(tmp_path / "hb"), os.X_OK)


def test_too_long_an_interpreter_path_keeps_pips_script(tmp_path):
    path = tmp_path / "hb"
    path.write_text("pip's\n")
    assert not entryscript.write_entry_script(str(path), "/" + "p" * 200, TREE)
    assert path.read_text() == "pip's\n"


def test_hb_simulate_loads_none_of_the_modules_its_start_up_left_out():
    """typing, json, getopt and dataclasses cost hb simulate milliseconds each at start-up,
    collections and functools (with keyword and reprlib) 3 ms together, types and operator a little
    (docs/pengine.md, "hb simulate's start-up"; core/ctools.py); a module that brings one back
    fails here."""
    code = (f"import sys; sys.path.insert(1, {TREE!r}); import pengine.simulate; "
            "print(sorted(m for m in ('typing', 'json', 'getopt', 'dataclasses', 'collections', "
            "'functools', 'types', 'reprlib', 'keyword', 'operator') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"hb simulate's modules load {done.stdout.strip()}"


def test_hb_simulate_of_a_small_cib_loads_no_regular_expressions():
    """`re` (with enum and its compiler, and 0.1-0.25 ms per pattern compiled) is loaded only
    when a CIB needs a pattern (core/lazyre.py): not for a small CIB with operation history."""
    case = os.path.join(TREE, "tests", "pengine", "cases", "failure-timeout-expired.xml")
    assert "<lrm_rsc_op" in open(case).read()
    code = (f"import sys, io; sys.path.insert(1, {TREE!r}); import pengine.simulate as s; "
            "imported = 're' in sys.modules; "
            f"s._run(s.parse_args(['-x', {case!r}, '-S', '-s']), io.StringIO()); "
            "print(imported, 're' in sys.modules)")
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_hb_simulate_of_a_cib_without_clones_loads_no_clone_module():
    """The clone variant's modules are imported when the unpacker meets the first clone
    (pengine/variants.py): not for primitives and groups, and then for a CIB with a clone."""
    plain = os.path.join(TREE, "tests", "pengine", "cases", "failure-timeout-expired.xml")
    cloned = os.path.join(TREE, "tests", "pengine", "cases", "clone-with-group.xml")
    assert "<clone" not in open(plain).read() and "<clone" in open(cloned).read()
    clone_modules = "('pengine.clone', 'pengine.clone_actions', 'pengine.clone_placement', " \
        "'pengine.promotable')"
    code = (f"import sys, io; sys.path.insert(1, {TREE!r}); import pengine.simulate as s; "
            f"loaded = lambda: [m for m in {clone_modules} if m in sys.modules]; "
            "at_import = loaded(); "
            f"s._run(s.parse_args(['-x', {plain!r}, '-S', '-s']), io.StringIO()); "
            "without = loaded(); "
            f"s._run(s.parse_args(['-x', {cloned!r}, '-S', '-s']), io.StringIO()); "
            "print(len(at_import), len(without), len(loaded()))")
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "0", "4"]
