"""The `.cmt` index: where dune 2.9 writes `.cmt` files, freshness, parsing, the cache.

Everything runs against real dune builds in temporary folders and the real `ocamlcmt`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from devkit.errors import DevkitError
from devkit.ocaml import cmt
from devkit.ocaml.cmt import CmtReadError, NotBuilt, NotInBuild, StaleBuild
from tests.conftest import require_tool
from tests.ocaml.ocamlprojects import count_tool_runs, run, write_project

INSTALL = "apt-get install ocaml-nox ocaml-dune"

LAYOUT = {
    "dune-project": "(lang dune 2.9)\n",
    "lib/dune": "(library (name mylib))\n",
    "lib/a.ml": "let f x = x + 1\n",
    "lib/b.ml": "let g = A.f 2\n",
    "flat/dune": "(library (name flat) (wrapped false))\n",
    "flat/c.ml": "let c = 3\n",
    "own/dune": "(library (name own))\n",
    "own/own.ml": "let main = Helper.x\n",
    "own/helper.ml": "let x = 1\n",
    "deep/dune": "(include_subdirs unqualified)\n(library (name deep))\n",
    "deep/sub/inner.ml": "let v = 42\n",
    "deep/sub/inner.mli": "val v : int\n",
    "bin/dune": "(executables (names main other) (modes native) (libraries mylib flat own))\n",
    "bin/main.ml": "let () = print_int (Mylib.A.f C.c + Own.main)\n",
    "bin/other.ml": "let () = print_int Mylib.B.g\n",
    "test/dune": "(test (name t) (libraries mylib))\n",
    "test/t.ml": "let () = assert (Mylib.A.f 1 = 2)\n",
    "nolocs/dune": "(library (name nol) (flags (:standard -no-keep-locs)))\n",
    "nolocs/m.ml": "let f x = x * 2\n",
    "usenolocs/dune": "(library (name usenol) (libraries nol))\n",
    "usenolocs/u.ml": "let u = Nol.M.f 1\n",
    "lïb/dune": "(library (name accents))\n",
    "lïb/long.ml": (
        "let long_function_name (a : int) (b : string) (c : float) (d : bool) (e : char)\n"
        "    (f : int list) (g : string option) (h : (int * string) list) =\n"
        "  ignore (a, b, c, d, e, f, g, h)\n"),
    "scripts/tool.ml": "let () = ()\n",
    "lib/tools/a.ml": "let not_built = 0\n",
}


def dune_build(root: Path) -> None:
    done = run(["dune", "build", "--root", "."], cwd=root)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    require_tool("dune", INSTALL)
    require_tool("ocamlcmt", INSTALL)
    root = write_project(tmp_path_factory.mktemp("cmt") / "proj", LAYOUT)
    dune_build(root)
    return root


@pytest.fixture
def small(tmp_path) -> Path:
    """A project of its own, for tests that edit or break it."""
    require_tool("dune", INSTALL)
    require_tool("ocamlcmt", INSTALL)
    root = write_project(tmp_path / "small", {
        "dune-project": "(lang dune 2.9)\n",
        "lib/dune": "(library (name small))\n",
        "lib/a.ml": "let f x = x + 1\n",
        "lib/b.ml": "let g = A.f 1\n",
    })
    dune_build(root)
    return root


@pytest.fixture(autouse=True)
def fresh_cache():
    cmt.clear_cache()
    yield
    cmt.clear_cache()




# --------------------------------------------------------------------------------------------
# Where the .cmt is


@pytest.mark.parametrize(("source", "expected"), [
    ("lib/a.ml", "lib/.mylib.objs/byte/mylib__A.cmt"),  # wrapped library
    ("flat/c.ml", "flat/.flat.objs/byte/c.cmt"),  # (wrapped false)
    ("own/own.ml", "own/.own.objs/byte/own.cmt"),  # the library's own main module
    ("own/helper.ml", "own/.own.objs/byte/own__Helper.cmt"),
    ("deep/sub/inner.ml", "deep/.deep.objs/byte/deep__Inner.cmt"),  # (include_subdirs …)
    ("bin/main.ml", "bin/.main.eobjs/byte/dune__exe__Main.cmt"),  # executables, native only
    ("bin/other.ml", "bin/.main.eobjs/byte/dune__exe__Other.cmt"),
    ("test/t.ml", "test/.t.eobjs/byte/dune__exe__T.cmt"),
    ("lïb/long.ml", "lïb/.accents.objs/byte/accents__Long.cmt"),
])
def test_locate_finds_the_cmt_dune_wrote(project, source, expected):
    built = cmt.locate(project, Path(source))
    assert built.cmt == project.resolve() / "_build/default" / expected
    assert built.cmt.is_file()
    assert built.name == source
    assert built.source == project.resolve() / source


def test_locate_accepts_an_absolute_path(project):
    built = cmt.locate(project, project / "lib" / "a.ml")
    assert built.name == "lib/a.ml"


def test_a_module_of_the_same_name_in_an_unbuilt_subfolder_is_not_taken_for_the_built_one(project):
    # lib/tools/a.ml is no module of mylib (no include_subdirs): mylib__A.cmt is lib/a.ml's.
    with pytest.raises(NotInBuild, match=r"lib/tools/a\.ml is not part of any dune library"):
        cmt.locate(project, Path("lib/tools/a.ml"))


def test_a_file_no_stanza_builds_is_a_clear_error(project):
    with pytest.raises(NotInBuild, match=r"scripts/tool\.ml is not part of any dune library"):
        cmt.locate(project, Path("scripts/tool.ml"))


def test_a_file_outside_the_project_is_a_clear_error(project, tmp_path):
    outside = tmp_path / "elsewhere.ml"
    outside.write_text("let x = 1\n")
    with pytest.raises(DevkitError, match="is outside the project"):
        cmt.locate(project, outside)


def test_a_missing_source_is_a_clear_error(project):
    with pytest.raises(DevkitError, match=r"lib/nothere\.ml does not exist"):
        cmt.locate(project, Path("lib/nothere.ml"))


def test_a_project_never_built_has_no_cmt(tmp_path):
    root = write_project(tmp_path / "fresh", {"dune-project": "(lang dune 2.9)\n",
                                              "lib/dune": "(library (name l))\n",
                                              "lib/a.ml": "let x = 1\n"})
    with pytest.raises(NotBuilt, match=r"no \.cmt for lib/a\.ml; run `dune build` first"):
        cmt.index_for(root, Path("lib/a.ml"))


def test_a_new_module_not_built_yet_has_no_cmt(small):
    (small / "lib" / "c.ml").write_text("let c = 1\n")
    with pytest.raises(NotBuilt, match=r"^no \.cmt for lib/c\.ml; run `dune build` first$"):
        cmt.index_for(small, Path("lib/c.ml"))


# --------------------------------------------------------------------------------------------
# Freshness


def test_an_edit_after_the_build_is_a_stale_build(small):
    source = small / "lib" / "a.ml"
    source.write_text("let f x = x + 2\n")
    with pytest.raises(StaleBuild, match=r"^lib/a\.ml changed since the last build; run `dune "
                                         r"build`$"):
        cmt.index_for(small, Path("lib/a.ml"))
    dune_build(small)
    built, index = cmt.index_for(small, Path("lib/a.ml"))
    assert index.spans_at(built.name, (1, 14))[0].type == "int"


def test_a_touched_but_unchanged_source_is_still_fresh(small):
    # dune does not recompile a file whose text is unchanged, so the .cmt stays older.
    source = small / "lib" / "a.ml"
    cmt_file = cmt.locate(small, Path("lib/a.ml")).cmt
    later = cmt_file.stat().st_mtime_ns + 5_000_000_000
    os.utime(source, ns=(later, later))
    dune_build(small)
    assert source.stat().st_mtime_ns > cmt_file.stat().st_mtime_ns
    cmt.check_fresh(cmt.locate(small, Path("lib/a.ml")))  # no StaleBuild


def test_a_failed_rebuild_leaves_no_cmt(small):
    # dune 2.9 removes the targets of a rule before running it: a failed compilation leaves
    # no .cmt at all, rather than the old one.
    (small / "lib" / "a.ml").write_text("let f x = x + \"oops\"\n")
    assert run(["dune", "build", "--root", "."], cwd=small).returncode != 0
    with pytest.raises(NotBuilt, match=r"^no \.cmt for lib/a\.ml; run `dune build` first \(the "
                                       r"last build did not compile it"):
        cmt.index_for(small, Path("lib/a.ml"))


# --------------------------------------------------------------------------------------------
# What ocamlcmt -annot says, parsed


def test_the_index_holds_types_bindings_and_references(project):
    _, index = cmt.index_for(project, Path("lib/b.ml"))
    # "let g = A.f 2": the binding g, the use of A.f (an int_ref into lib/a.ml), the application
    [binding] = [span for span in index.spans_at("lib/b.ml", (1, 4)) if span.ident]
    assert (binding.start, binding.end, binding.type) == ((1, 4), (1, 5), "int")
    assert binding.ident.kind == "def" and binding.ident.name == "g"
    assert binding.ident.target.end is None  # a top-level binding: in scope to the end of file
    use = index.spans_at("lib/b.ml", (1, 9))[0]
    assert (use.start, use.end, use.type) == ((1, 8), (1, 11), "int -> int")
    assert use.ident.kind == "int_ref" and use.ident.name == "Mylib.A.f"
    assert use.ident.target.file == "lib/a.ml"
    assert (use.ident.target.start, use.ident.target.end) == ((1, 4), (1, 5))
    application = index.spans_at("lib/b.ml", (1, 12))
    assert [(span.start, span.end, span.type) for span in application] == [
        ((1, 12), (1, 13), "int"), ((1, 8), (1, 13), "int")]
    assert index.files == {"lib/b.ml"}


def test_a_type_printed_over_several_lines_is_joined(project):
    _, index = cmt.index_for(project, Path("lïb/long.ml"))
    span = index.spans_at("lïb/long.ml", (1, 6))[0]
    assert span.type == ("int -> string -> float -> bool -> char -> int list -> string option -> "
                         "(int * string) list -> unit")


def test_escaped_file_names_are_decoded(project):
    # ocamlcmt prints "l\195\175b/long.ml" for lïb/long.ml (OCaml's String.escaped).
    built, index = cmt.index_for(project, Path("lïb/long.ml"))
    assert index.files == {"lïb/long.ml"}
    assert built.name == "lïb/long.ml"


def test_a_value_of_a_library_built_without_locations_is_an_ext_ref(project):
    _, index = cmt.index_for(project, Path("usenolocs/u.ml"))
    [use] = [span for span in index.spans_at("usenolocs/u.ml", (1, 10)) if span.ident]
    assert use.ident.kind == "ext_ref" and use.ident.name == "Nol.M.f"
    assert use.ident.target is None


def test_parse_annot_rejects_what_it_does_not_know():
    with pytest.raises(CmtReadError, match="unexpected line 1"):
        cmt.parse_annot(b"this is not an annotation\n", Path("x.cmt"))
    with pytest.raises(CmtReadError, match="ends inside a type"):
        cmt.parse_annot(b'"a.ml" 1 0 0 "a.ml" 1 0 1\ntype(\n  int\n', Path("x.cmt"))


def test_ocamlcmt_failing_is_a_clear_error(small):
    # Without the alias module's .cmi, ocamlcmt cannot rebuild the typing environment.
    (small / "_build/default/lib/.small.objs/byte/small.cmi").unlink()
    with pytest.raises(CmtReadError, match=r"ocamlcmt cannot read small__A\.cmt: .*Small"):
        cmt.index_for(small, Path("lib/a.ml"))


def test_ocamlcmt_missing_is_a_clear_error(small, monkeypatch):
    monkeypatch.setenv("PATH", str(small / "no-tools-here"))
    with pytest.raises(CmtReadError, match="ocamlcmt is not installed"):
        cmt.index_for(small, Path("lib/a.ml"))


# --------------------------------------------------------------------------------------------
# The cache


def test_a_second_read_does_not_run_ocamlcmt_again(project, monkeypatch):
    calls = count_tool_runs(monkeypatch)
    first = cmt.index_for(project, Path("lib/a.ml"))[1]
    second = cmt.index_for(project, Path("lib/a.ml"))[1]
    assert second is first
    assert [call[:2] for call in calls] == [["ocamlcmt", "-annot"]]


def test_a_rebuilt_cmt_is_read_again(small, monkeypatch):
    calls = count_tool_runs(monkeypatch)
    before = cmt.index_for(small, Path("lib/a.ml"))[1]
    (small / "lib" / "a.ml").write_text("let f x = x * 3\n")
    dune_build(small)
    after = cmt.index_for(small, Path("lib/a.ml"))[1]
    assert after is not before
    assert len(calls) == 2
    assert after.spans_at("lib/a.ml", (1, 12))[0].type == "int -> int -> int"  # ( * )


def test_the_cache_keeps_the_most_recently_used(small, monkeypatch):
    monkeypatch.setattr(cmt, "CACHE_SIZE", 1)
    calls = count_tool_runs(monkeypatch)
    cmt.index_for(small, Path("lib/a.ml"))
    cmt.index_for(small, Path("lib/b.ml"))  # evicts a.ml's
    cmt.index_for(small, Path("lib/b.ml"))
    cmt.index_for(small, Path("lib/a.ml"))
    assert len(calls) == 3


def test_a_moved_build_is_found_again(small, tmp_path):
    cmt.index_for(small, Path("lib/a.ml"))
    moved = tmp_path / "moved"
    shutil.move(small, moved)
    built, index = cmt.index_for(moved, Path("lib/a.ml"))  # the cached path is gone: look again
    assert built.cmt.is_relative_to(moved.resolve())
    assert index.spans_at("lib/a.ml", (1, 4))[0].type == "int -> int"
