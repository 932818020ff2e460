"""Type at a position and definition of an identifier, on a real dune 2.9 build.

Positions are (line 1-based, column a 0-based byte offset), as the compiler counts them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devkit.errors import DevkitError
from devkit.ocaml import cmt, lookup
from devkit.ocaml.cmt import CmtReadError, NotBuilt, NotInBuild, StaleBuild
from devkit.ocaml.lookup import Enclosing, Location, NoDefinition, NoTypeAt
from tests.conftest import require_tool
from tests.ocaml.ocamlprojects import count_tool_runs, run, write_project

INSTALL = "apt-get install ocaml-nox ocaml-dune"

A_ML = """\
type point = { x : int; y : int }
let f x = x + 1
let id y = y
let norm p = p.x * p.x + p.y * p.y
let twice n =
  let doubled = n * 2 in
  doubled + f (id 3)
(* a comment *)
let s = "héllo" ^ string_of_int (f 2)
let length = List.length [1; 2]
"""

FILES = {
    "dune-project": "(lang dune 2.9)\n",
    "lib/dune": "(library (name mylib) (libraries nol))\n(ocamllex lexer)\n",
    "lib/a.ml": A_ML,
    "lib/b.ml": "let h (p : A.point) = A.f p.A.y\nlet k = Inner.M.w + Nol.M.S.g\n",
    "lib/inner.ml": "let v = 1\nmodule M = struct\n  let w = v + 1\n  let w = w * 2\nend\n",
    "lib/inner.mli": "val v : int\nmodule M : sig val w : int end\n",
    "lib/lexer.mll": "rule token = parse\n  | ['a'-'z']+ { String.length (Lexing.lexeme lexbuf) }\n"
                     "  | eof { 0 }\n",
    "bin/dune": "(executable (name main) (libraries mylib))\n",
    "bin/main.ml": "let () = print_int (Mylib.A.f (Mylib.B.h { Mylib.A.x = 1; y = 2 }))\n",
    "nolocs/dune": "(library (name nol) (flags (:standard -no-keep-locs)))\n",
    "nolocs/m.ml": "let f x = x * 2\nmodule S = struct let g = 1 end\n",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    require_tool("dune", INSTALL)
    require_tool("ocamlcmt", INSTALL)
    root = write_project(tmp_path_factory.mktemp("lookup") / "proj", FILES)
    done = run(["dune", "build", "--root", "."], cwd=root)
    assert done.returncode == 0, done.stderr
    return root.resolve()


@pytest.fixture(autouse=True)
def fresh_cache():
    cmt.clear_cache()
    yield
    cmt.clear_cache()


def type_at(project, file, line, col):
    return lookup.type_at(project, Path(file), line, col)


def definition_at(project, file, line, col):
    return lookup.definition_at(project, Path(file), line, col)


# --------------------------------------------------------------------------------------------
# type_at


def test_the_type_of_an_int_literal(project):
    found = type_at(project, "lib/a.ml", 2, 14)  # the 1 of "x + 1"
    assert (found.type, found.start, found.end) == ("int", (2, 14), (2, 15))


def test_the_type_of_a_function_application(project):
    found = type_at(project, "lib/a.ml", 7, 14)  # the "(" of "f (id 3)": inside the application
    assert (found.type, found.start, found.end) == ("int", (7, 14), (7, 20))  # (id 3)
    assert found.enclosing[0] == Enclosing("int", (7, 12), (7, 20))  # f (id 3)


def test_the_type_of_a_function_is_the_instance_at_a_use_and_polymorphic_at_its_definition(project):
    assert type_at(project, "lib/a.ml", 3, 5).type == "'a -> 'a"  # let id y = y
    assert type_at(project, "lib/a.ml", 7, 16).type == "int -> int"  # id in "f (id 3)"


def test_the_type_of_a_record_field_access(project):
    found = type_at(project, "lib/a.ml", 4, 15)  # the "." of "p.x"
    assert (found.type, found.start, found.end) == ("int", (4, 13), (4, 16))
    assert type_at(project, "lib/a.ml", 4, 13).type == "point"  # p


def test_inside_a_nested_expression_the_smallest_span_then_wider_ones(project):
    found = type_at(project, "lib/a.ml", 7, 18)  # the 3 of "doubled + f (id 3)"
    assert (found.type, found.start, found.end) == ("int", (7, 18), (7, 19))
    assert found.enclosing == [
        Enclosing("int", (7, 14), (7, 20)),  # (id 3)
        Enclosing("int", (7, 12), (7, 20)),  # f (id 3)
        Enclosing("int", (7, 2), (7, 20)),  # doubled + f (id 3)
        Enclosing("int", (6, 2), (7, 20)),  # let doubled = n * 2 in …
    ]  # the function of "let twice n =" has a ghost location: the compiler records no type
    previous = found
    for wider in found.enclosing:  # each strictly contains the one before
        assert wider.start <= previous.start and previous.end <= wider.end
        assert (wider.start, wider.end) != (previous.start, previous.end)
        previous = wider


def test_columns_are_byte_offsets_after_multibyte_characters(project):
    # 'let s = "héllo" ^ string_of_int (f 2)': é takes two bytes, so string_of_int, the 18th
    # character, starts at byte 19.
    found = type_at(project, "lib/a.ml", 9, 19)
    assert (found.type, found.start, found.end) == ("int -> string", (9, 19), (9, 32))
    assert type_at(project, "lib/a.ml", 9, 34).type == "int -> int"  # f, character 33


def test_the_type_in_the_action_code_of_an_ocamllex_file(project):
    found = type_at(project, "lib/lexer.mll", 2, 20)  # String.length
    assert (found.type, found.start, found.end) == ("string -> int", (2, 17), (2, 30))


def test_a_position_in_a_comment_has_no_type(project):
    with pytest.raises(NoTypeAt, match=r"no expression or pattern at lib/a\.ml line 8"):
        type_at(project, "lib/a.ml", 8, 5)


def test_a_bad_position_is_a_clear_error(project):
    with pytest.raises(DevkitError, match="bad position 0:3"):
        type_at(project, "lib/a.ml", 0, 3)


def test_an_interface_file_is_a_clear_error(project):
    with pytest.raises(DevkitError, match=r"lib/inner\.mli is an interface"):
        type_at(project, "lib/inner.mli", 1, 4)


# --------------------------------------------------------------------------------------------
# definition_at


def test_the_definition_of_a_local_let_binding(project):
    assert definition_at(project, "lib/a.ml", 7, 4) == Location(project / "lib/a.ml", 6, 6)


def test_the_definition_of_a_function_parameter(project):
    assert definition_at(project, "lib/a.ml", 6, 16) == Location(project / "lib/a.ml", 5, 10)


def test_the_definition_of_a_top_level_value_of_the_same_file(project):
    assert definition_at(project, "lib/a.ml", 7, 12) == Location(project / "lib/a.ml", 2, 4)


def test_a_binding_is_its_own_definition(project):
    assert definition_at(project, "lib/a.ml", 2, 4) == Location(project / "lib/a.ml", 2, 4)


def test_the_definition_of_a_value_of_another_module_of_the_library(project):
    # "let h (p : A.point) = A.f p.A.y"
    assert definition_at(project, "lib/b.ml", 1, 23) == Location(project / "lib/a.ml", 2, 4)


def test_the_definition_of_a_value_used_from_an_executable_through_the_wrapper(project):
    # Mylib.A.f and Mylib.B.h in bin/main.ml
    assert definition_at(project, "bin/main.ml", 1, 25) == Location(project / "lib/a.ml", 2, 4)
    assert definition_at(project, "bin/main.ml", 1, 35) == Location(project / "lib/b.ml", 1, 4)


def test_a_module_with_an_interface_leads_to_the_implementation(project):
    # "Inner.M.w": the .cmi points at inner.mli; the last w of struct M in inner.ml is exported.
    assert definition_at(project, "lib/b.ml", 2, 16) == Location(project / "lib/inner.ml", 4, 6)


def test_a_library_built_without_locations_is_searched_by_module_name(project):
    # "Nol.M.S.g" is an ext_ref: ocamlcmt does not know where; nolocs/m.ml defines S.g.
    assert definition_at(project, "lib/b.ml", 2, 28) == Location(project / "nolocs/m.ml",
                                                                        2, 22)


def test_a_standard_library_value_is_a_clear_error(project):
    with pytest.raises(NoDefinition, match=r"^no definition known for Stdlib\.List\.length "
                                           r"\(defined outside the project: stdlib/list\.mli\)$"):
        definition_at(project, "lib/a.ml", 10, 17)
    with pytest.raises(NoDefinition, match=r"Stdlib\.\( \+ \) \(defined outside the project: "
                                           r"stdlib/stdlib\.mli\)"):
        definition_at(project, "lib/a.ml", 2, 12)


def test_no_identifier_at_the_position(project):
    with pytest.raises(NoDefinition, match=r"no identifier at lib/a\.ml line 2, byte 14"):
        definition_at(project, "lib/a.ml", 2, 14)  # a literal


# --------------------------------------------------------------------------------------------
# Builds that do not describe the file, and the cache


def test_stale_and_missing_builds_are_clear_errors(tmp_path):
    require_tool("dune", INSTALL)
    root = write_project(tmp_path / "p", {"dune-project": "(lang dune 2.9)\n",
                                          "lib/dune": "(library (name l))\n",
                                          "lib/a.ml": "let x = 1\n",
                                          "tools/script.ml": "let () = ()\n"})
    with pytest.raises(NotBuilt, match=r"no \.cmt for lib/a\.ml; run `dune build` first"):
        lookup.type_at(root, Path("lib/a.ml"), 1, 4)
    assert run(["dune", "build", "--root", "."], cwd=root).returncode == 0
    assert lookup.type_at(root, Path("lib/a.ml"), 1, 4).type == "int"
    (root / "lib/a.ml").write_text("let x = 'c'\n")
    with pytest.raises(StaleBuild, match=r"lib/a\.ml changed since the last build"):
        lookup.type_at(root, Path("lib/a.ml"), 1, 4)
    with pytest.raises(StaleBuild):
        lookup.definition_at(root, Path("lib/a.ml"), 1, 4)
    with pytest.raises(NotInBuild, match=r"tools/script\.ml is not part of any dune library"):
        lookup.type_at(root, Path("tools/script.ml"), 1, 4)


def test_a_definition_in_a_module_changed_since_the_build_is_a_clear_error(tmp_path):
    """The target's position comes from the last build: after an edit it could point anywhere."""
    require_tool("dune", INSTALL)
    root = write_project(tmp_path / "p", {"dune-project": "(lang dune 2.9)\n",
                                          "lib/dune": "(library (name l))\n",
                                          "lib/a.ml": "let f x = x + 1\n",
                                          "lib/b.ml": "let g = A.f 2\n"})
    assert run(["dune", "build", "--root", "."], cwd=root).returncode == 0
    column = "let g = A.f 2".index("f")
    assert lookup.definition_at(root, Path("lib/b.ml"), 1, column).line == 1
    (root / "lib/a.ml").write_text("let h = 0\nlet f x = x + 1\n")
    with pytest.raises(StaleBuild, match=r"lib/a\.ml changed since the last build"):
        lookup.definition_at(root, Path("lib/b.ml"), 1, column)
    assert run(["dune", "build", "--root", "."], cwd=root).returncode == 0
    assert lookup.definition_at(root, Path("lib/b.ml"), 1, column).line == 2


def test_the_tools_run_in_the_toolchains_environment(project):
    """`env` (an opam switch's PATH, say) decides which ocamlcmt reads the .cmt."""
    cmt.clear_cache()
    with pytest.raises(CmtReadError, match="ocamlcmt is not installed"):
        lookup.type_at(project, Path("lib/a.ml"), 2, 14, env={"PATH": "/nonexistent"})
    assert lookup.type_at(project, Path("lib/a.ml"), 2, 14, env=dict(os.environ)).type


def test_later_queries_do_not_run_ocamlcmt_again(project, monkeypatch):
    calls = count_tool_runs(monkeypatch)
    type_at(project, "lib/a.ml", 2, 14)
    assert [call[:2] for call in calls] == [["ocamlcmt", "-annot"]]
    for line, col in [(2, 4), (4, 15), (7, 18), (9, 19)]:
        type_at(project, "lib/a.ml", line, col)
    definition_at(project, "lib/a.ml", 7, 12)
    assert len(calls) == 1
    definition_at(project, "lib/b.ml", 2, 16)  # b.ml, then inner.ml: one run each
    definition_at(project, "lib/b.ml", 2, 16)
    assert len(calls) == 3
