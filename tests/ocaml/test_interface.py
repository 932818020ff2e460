"""Inferring interfaces with dune's flags, and switching between `.ml` and `.mli`.

The inferred text is checked the way that matters: dune accepts it as the module's `.mli`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.errors import DevkitError
from devkit.ocaml import cmt
from devkit.ocaml.cmt import NotBuilt
from devkit.ocaml.interface import InterfaceError, alternate_file, infer_interface
from tests.conftest import require_tool
from tests.ocaml.ocamlprojects import count_tool_runs, run, write_project

INSTALL = "apt-get install ocaml-nox ocaml-dune"

FILES = {
    "dune-project": "(lang dune 2.9)\n",
    "lib/dune": "(library (name mylib))\n",
    "lib/a.ml": ("type point = { x : int; y : int }\nlet f x = x + 1\n"
                 "let origin = { x = 0; y = 0 }\n"),
    "lib/b.ml": ("let h (p : A.point) = A.f p.A.y\nlet g = A.f\n"
                 "let moved = { A.origin with A.x = 3 }\n"),
    "bin/dune": "(executable (name main) (libraries mylib))\n",
    "bin/main.ml": "let run () = print_int (Mylib.B.h Mylib.A.origin)\nlet () = run ()\n",
    # A -ppx command with a space: the .cmt's recorded command line is ambiguous there.
    # `cp -f IN OUT` is a ppx that changes nothing.
    "pp/dune": '(library (name pp) (flags (:standard -ppx "cp -f")))\n',
    "pp/m.ml": "let twice x = x * 2\n",
}


def dune_build(root: Path) -> None:
    done = run(["dune", "build", "--root", "."], cwd=root)
    assert done.returncode == 0, done.stderr


def built_project(folder: Path) -> Path:
    require_tool("dune", INSTALL)
    require_tool("ocamlcmt", INSTALL)
    root = write_project(folder / "proj", FILES)
    dune_build(root)
    return root


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    """A built project the tests only read."""
    return built_project(tmp_path_factory.mktemp("interface"))


@pytest.fixture
def project(tmp_path) -> Path:
    """A built project of the test's own, to edit."""
    return built_project(tmp_path)


@pytest.fixture(autouse=True)
def fresh_cache():
    cmt.clear_cache()
    yield
    cmt.clear_cache()


def test_a_module_using_another_module_and_its_type(project):
    text = infer_interface(project, Path("lib/b.ml"))
    # -short-paths and -open Mylib, as dune compiles it: A.point, not Mylib__A.point
    assert text.splitlines() == [
        "val h : A.point -> int",
        "val g : int -> int",
        "val moved : A.point",
    ]
    (project / "lib/b.mli").write_text(text)
    dune_build(project)  # dune accepts it as b's interface
    assert (project / "_build/default/lib/.mylib.objs/byte/mylib__B.cmti").is_file()


def test_the_interface_of_a_module_with_a_type_definition(project):
    text = infer_interface(project, Path("lib/a.ml"))
    assert "type point = { x : int; y : int; }" in text
    assert "val f : int -> int" in text.splitlines()
    (project / "lib/a.mli").write_text(text)
    dune_build(project)


def test_the_interface_of_an_executable_module(shared):
    assert infer_interface(shared, shared / "bin/main.ml") == "val run : unit -> unit\n"


def test_the_interface_follows_edits_made_since_the_build(project):
    (project / "lib/b.ml").write_text("let h (p : A.point) = p.A.x\nlet extra = \"new\"\n")
    text = infer_interface(project, Path("lib/b.ml"))
    assert text.splitlines() == ["val h : A.point -> int", "val extra : string"]


def test_a_command_with_spaces_in_an_argument_is_read_from_dune_rules(shared, monkeypatch):
    calls = count_tool_runs(monkeypatch)
    assert infer_interface(shared, Path("pp/m.ml")) == "val twice : int -> int\n"
    assert ["dune", "rules"] in [call[:2] for call in calls]
    compile_call = calls[-1]
    assert compile_call[compile_call.index("-ppx") + 1] == "cp -f"
    assert "-i" in compile_call


def test_the_command_recorded_in_the_cmt_is_used_when_unambiguous(shared, monkeypatch):
    calls = count_tool_runs(monkeypatch)
    infer_interface(shared, Path("lib/b.ml"))
    assert [call[:2] for call in calls[:-1]] == [["ocamlcmt", "-info"]]
    compile_call = calls[-1]
    assert compile_call[compile_call.index("-open") + 1] == "Mylib"
    assert "lib/.mylib.objs/byte" in compile_call
    assert compile_call[-2:] == ["-impl", str((shared / "lib/b.ml").resolve())]
    # nothing is written into _build: the output prefix is a scratch folder, no -bin-annot
    output = Path(compile_call[compile_call.index("-o") + 1])
    assert output.name == "mylib__B.cmo" and "_build" not in output.parts
    assert "-bin-annot" not in compile_call


def test_a_type_error_is_a_clear_error(project):
    (project / "lib/b.ml").write_text("let h = A.f \"not an int\"\n")
    with pytest.raises(InterfaceError, match=r"cannot infer the interface of lib/b\.ml: .*"
                                             r"This expression has type string"):
        infer_interface(project, Path("lib/b.ml"))


def test_a_module_never_built_is_a_clear_error(tmp_path):
    root = write_project(tmp_path / "p", {"dune-project": "(lang dune 2.9)\n",
                                          "lib/dune": "(library (name l))\n",
                                          "lib/a.ml": "let x = 1\n"})
    with pytest.raises(NotBuilt, match=r"no \.cmt for lib/a\.ml; run `dune build` first"):
        infer_interface(root, Path("lib/a.ml"))


def test_an_interface_has_no_interface_to_infer(tmp_path):
    with pytest.raises(DevkitError, match=r"is an interface already"):
        infer_interface(tmp_path, Path("lib/a.mli"))


# --------------------------------------------------------------------------------------------
# alternate_file


def test_alternate_file_both_ways_existing_or_not(tmp_path):
    assert alternate_file(tmp_path / "a.ml") == tmp_path / "a.mli"
    assert alternate_file(tmp_path / "a.mli") == tmp_path / "a.ml"
    assert alternate_file(Path("src/b.re")) == Path("src/b.rei")
    assert alternate_file(Path("src/b.rei")) == Path("src/b.re")


def test_alternate_file_of_generated_modules(tmp_path):
    (tmp_path / "lexer.mll").write_text("")
    (tmp_path / "parser.mly").write_text("")
    assert alternate_file(tmp_path / "lexer.mll") == tmp_path / "lexer.mli"
    assert alternate_file(tmp_path / "lexer.mli") == tmp_path / "lexer.mll"  # the one that exists
    assert alternate_file(tmp_path / "parser.mli") == tmp_path / "parser.mly"
    (tmp_path / "parser.ml").write_text("")
    assert alternate_file(tmp_path / "parser.mli") == tmp_path / "parser.ml"


def test_alternate_file_of_something_else_is_a_clear_error():
    with pytest.raises(DevkitError, match=r"notes\.txt is not an OCaml source file"):
        alternate_file(Path("notes.txt"))
