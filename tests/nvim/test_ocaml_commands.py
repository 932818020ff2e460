"""`:OCaml type/def/switch/intf/doctor` without ocamllsp: the compiler-only engine on a project
built by the real dune, driven through a real headless Neovim as a user would.

The project is built once for the module; no test writes to it (`intf` leaves its buffer
unsaved), so the tests share it. Results are read from b:devkit_type, the cursor, the buffers,
the message history and the [devkit] notifications with their levels.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from devkit.ocaml.interface import infer_interface
from tests.nvim.conftest import messages, running_nvim, wait_for
from tests.nvim.ocamlnvim import (
    PROJECT,
    ask_type,
    assert_no_traceback,
    build_project,
    cursor_on,
    edit,
    notes,
    record_notifications,
    type_highlight,
    wait_note,
)
from tests.ocaml.ocamlprojects import write_project

ERROR, WARN = 4, 3


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return build_project(tmp_path_factory.mktemp("ocaml") / "proj")


@pytest.fixture
def editor(nvim):
    record_notifications(nvim)
    yield nvim
    assert_no_traceback(nvim)


def buffer_name(nvim) -> str:
    return nvim.current.buffer.name


# -- type -----------------------------------------------------------------------------------


def test_type_shows_the_innermost_type_and_highlights_its_span(editor, project):
    edit(editor, project / "lib/util.ml")
    cursor_on(editor, "twice")
    shown = ask_type(editor)
    assert shown["type"] == "('a -> 'a) -> 'a -> 'a"
    assert (shown["source"], shown["index"]) == ("cmt", 0)
    assert (shown["start"], shown["end"]) == ([1, 4], [1, 9])
    assert type_highlight(editor) == [[0, 4, 0, 9]]
    assert "('a -> 'a) -> 'a -> 'a" in messages(editor).splitlines()
    editor.command("normal! j")  # moving the cursor clears the highlight
    wait_for(lambda: type_highlight(editor) == [], 10, what="the highlight to go")


def test_type_again_at_the_same_place_widens_to_the_enclosing_expressions(editor, project):
    # `let double x = x + x`: on the first `x` of the body, `x`, then `x + x`. Their types are
    # the compiler's: `ocamlc -i` says `val double : int -> int`, so both are int.
    number, source = next((n, line) for n, line in enumerate(
        PROJECT["lib/shapes.ml"].splitlines(), start=1) if line.startswith("let double"))
    col = source.index("x + x")  # ASCII: a byte column
    spans = [("int", (number, col), (number, col + len("x"))),
             ("int", (number, col), (number, col + len("x + x")))]
    edit(editor, project / "lib/shapes.ml")
    assert cursor_on(editor, "x + x") == (number, col)

    for index, (text, start, end) in [*enumerate(spans), (0, spans[0])]:  # then back to `x`
        shown = ask_type(editor)
        assert (shown["index"], shown["count"]) == (index, len(spans))
        assert (shown["type"], shown["start"], shown["end"]) == (text, list(start), list(end))
        assert type_highlight(editor) == [[start[0] - 1, start[1], end[0] - 1, end[1]]]

    editor.command("normal! l")  # another position: the innermost type again
    assert ask_type(editor)["index"] == 0


def test_type_after_an_edit_asks_for_a_write(editor, project):
    edit(editor, project / "lib/shapes.ml")
    editor.command("normal! Ax")  # an unsaved change: the .cmt describes the file on disk
    editor.command("OCaml type")
    note = wait_note(editor, "unsaved changes")
    assert note["level"] == ERROR and ":write it" in note["msg"]


def test_type_in_a_comment_is_a_warning(editor, project):
    edit(editor, project / "lib/util.ml")
    cursor_on(editor, "nothing")
    editor.command("OCaml type")
    assert wait_note(editor, "no expression or pattern")["level"] == WARN


# -- def ------------------------------------------------------------------------------------


def test_def_jumps_in_the_same_file_and_keeps_the_jumplist(editor, project):
    edit(editor, project / "lib/shapes.ml")
    start = cursor_on(editor, "area 2")
    editor.command("OCaml def")
    wait_for(lambda: tuple(editor.current.window.cursor) == (1, 4), 30, what="the jump to `area`")
    editor.command('execute "normal! \\<C-o>"')
    assert tuple(editor.current.window.cursor) == start


def test_def_opens_the_defining_module(editor, project):
    edit(editor, project / "bin/main.ml")
    cursor_on(editor, "double")
    editor.command("OCaml def")
    wait_for(lambda: buffer_name(editor) == str(project / "lib/shapes.ml"), 30,
             what="lib/shapes.ml to open")
    assert tuple(editor.current.window.cursor) == (2, 4)  # let double …
    editor.command('execute "normal! \\<C-o>"')
    assert buffer_name(editor) == str(project / "bin/main.ml")


def test_def_on_a_keyword_is_a_warning(editor, project):
    edit(editor, project / "lib/shapes.ml")
    editor.current.window.cursor = (1, 0)  # `let`
    editor.command("OCaml def")
    assert wait_note(editor, "no identifier")["level"] == WARN


# -- switch ---------------------------------------------------------------------------------


def test_switch_goes_to_the_interface_and_back(editor, project):
    edit(editor, project / "lib/counter.ml")
    editor.command("OCaml switch")
    wait_for(lambda: buffer_name(editor) == str(project / "lib/counter.mli"), 30)
    assert editor.current.buffer[0] == "(** A counter. *)"
    editor.command("OCaml switch")
    wait_for(lambda: buffer_name(editor) == str(project / "lib/counter.ml"), 30)


def test_switch_to_a_missing_interface_makes_a_new_buffer(editor, project):
    edit(editor, project / "lib/shapes.ml")
    editor.command("OCaml switch")
    wait_for(lambda: buffer_name(editor) == str(project / "lib/shapes.mli"), 30)
    assert editor.current.buffer[:] == [""]
    assert not (project / "lib/shapes.mli").exists()


# -- intf -----------------------------------------------------------------------------------


def test_intf_from_an_implementation_opens_and_fills_its_new_interface(editor, project):
    edit(editor, project / "lib/shapes.ml")
    editor.command("OCaml intf")
    wait_for(lambda: buffer_name(editor) == str(project / "lib/shapes.mli")
             and editor.current.buffer[:] != [""], 60, what="shapes.mli to be filled")
    expected = infer_interface(project, project / "lib/shapes.ml")
    assert editor.current.buffer[:] == expected.rstrip("\n").split("\n")
    assert "val double : int -> int" in editor.current.buffer[:]
    assert editor.current.buffer.options["modified"]  # the user saves it
    assert not (project / "lib/shapes.mli").exists()


def test_intf_in_an_empty_interface_buffer_infers_from_the_implementation(editor, project):
    edit(editor, project / "lib/util.mli")  # no such file yet: an empty buffer
    editor.command("OCaml intf")
    wait_for(lambda: editor.current.buffer[:] == ["val twice : ('a -> 'a) -> 'a -> 'a"], 60,
             what="util.mli to be filled")
    assert buffer_name(editor) == str(project / "lib/util.mli")


def test_intf_refuses_a_non_empty_interface_and_bang_replaces_it(editor, project):
    edit(editor, project / "lib/counter.ml")
    editor.command("OCaml intf")
    note = wait_note(editor, "counter.mli is not empty")
    assert note["level"] == ERROR and ":OCaml! intf" in note["msg"]
    assert buffer_name(editor) == str(project / "lib/counter.ml")  # nothing opened

    editor.command("OCaml! intf")
    wait_for(lambda: buffer_name(editor) == str(project / "lib/counter.mli")
             and editor.current.buffer[0] != "(** A counter. *)", 60,
             what="counter.mli to be replaced")
    assert editor.current.buffer[:] == ["val count : int ref", "val incr : unit -> unit"]
    assert (project / "lib/counter.mli").read_text() == PROJECT["lib/counter.mli"]


def test_intf_in_a_non_empty_interface_is_refused(editor, project):
    edit(editor, project / "lib/counter.mli")
    editor.command("OCaml intf")
    assert wait_note(editor, "counter.mli is not empty")["level"] == ERROR
    assert editor.current.buffer[0] == "(** A counter. *)"


# -- doctor ---------------------------------------------------------------------------------


def test_doctor_reports_the_toolchain_in_a_scratch_buffer(editor, project):
    edit(editor, project / "lib/shapes.ml")
    editor.command("OCaml doctor")
    wait_for(lambda: buffer_name(editor) == "devkit://doctor", 60, what="the doctor buffer")
    report = editor.current.buffer[:]
    assert report[0] == f"devkit doctor: {project}"
    assert f"      ok  dune: {shutil.which('dune')}" in [line.split(" (")[0] for line in report]
    if shutil.which("ocamllsp") is None:
        at = next(i for i, line in enumerate(report) if "ocamllsp: not found" in line)
        assert "opam install ocaml-lsp-server" in report[at + 1]
    options = editor.current.buffer.options
    assert (options["buftype"], options["bufhidden"], options["modifiable"]) == (
        "nofile", "wipe", False)
    editor.command("OCaml doctor")  # again: the same buffer, not a second one
    wait_for(lambda: len([b for b in editor.buffers if b.name == "devkit://doctor"]) == 1, 30)


# -- what goes wrong ------------------------------------------------------------------------


def test_a_buffer_without_a_file(editor):
    for subcommand in ("type", "def", "switch", "intf"):
        editor.command(f"OCaml {subcommand}")
    wait_for(lambda: len([n for n in notes(editor) if "has no file" in n["msg"]]) == 4, 30)
    assert {note["level"] for note in notes(editor)} == {ERROR}


def test_a_file_outside_any_project(editor, tmp_path):
    loose = tmp_path / "loose" / "a.ml"
    loose.parent.mkdir()
    loose.write_text("let x = 1\n")
    edit(editor, loose)
    editor.command("OCaml type")
    note = wait_note(editor, "not in an OCaml project")
    assert note["level"] == ERROR and "dune init project" in note["msg"]


def test_a_project_not_built_yet(editor, tmp_path):
    root = write_project(tmp_path / "fresh", PROJECT)
    edit(editor, root / "lib/shapes.ml")
    editor.command("OCaml type")
    note = wait_note(editor, "dune build")
    assert note["level"] == ERROR and "no .cmt" in note["msg"]
    editor.command("OCaml intf")
    wait_for(lambda: len([n for n in notes(editor) if "no .cmt" in n["msg"]]) == 2, 30)


def test_a_file_changed_since_the_build(editor, tmp_path):
    root = build_project(tmp_path / "stale")
    (root / "lib/util.ml").write_text("let twice f x = f (f x)\nlet thrice f x = f (twice f x)\n")
    edit(editor, root / "lib/util.ml")
    editor.command("OCaml type")
    assert "changed since the last build" in wait_note(editor, "dune build")["msg"]


def test_without_the_ocaml_tools(nvim_binary, isolated_config, project, tmp_path):
    path = os.pathsep.join(folder for folder in os.environ["PATH"].split(os.pathsep)
                           if not any(Path(folder, tool).exists()
                                      for tool in ("dune", "ocamlc", "ocamlcmt")))
    with running_nvim(nvim_binary, isolated_config, {**os.environ, "PATH": path}) as nvim:
        session = record_notifications(nvim)
        edit(session, project / "lib/util.ml")
        session.command("OCaml def")
        note = wait_note(session, "not installed")
        assert note["level"] == ERROR and "apt-get install ocaml-nox" in note["msg"]
        assert_no_traceback(session)


def test_unknown_and_missing_subcommands(editor):
    editor.command("OCaml")
    editor.command("OCaml frobnicate")
    wait_for(lambda: len(notes(editor)) == 2, 30)
    first, second = notes(editor)
    assert "usage: :OCaml {type|def|" in first["msg"]
    assert "unknown subcommand 'frobnicate'" in second["msg"]
