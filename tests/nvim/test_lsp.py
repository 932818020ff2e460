"""The ocamllsp path of `:OCaml`: Neovim's real LSP client, started by `:OCaml lsp start`, talking
to `ocamllsp_test_double.py` (ocaml-lsp-server cannot be installed here) put on PATH as
`ocamllsp`. The double logs every message it gets, so each test checks both what the user sees
and that the answer came over LSP (the project is not built: the compiler-only engine could
not have answered).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from devkit.ocaml.lsp import file_uri
from tests.nvim.conftest import running_nvim, wait_for
from tests.nvim.ocamlnvim import (
    PROJECT,
    ask_type,
    assert_no_traceback,
    build_project,
    cursor_on,
    edit,
    float_lines,
    logged_methods,
    notes,
    ocamllsp_folder,
    record_notifications,
    type_highlight,
    wait_note,
)
from tests.ocaml.ocamlprojects import write_project

ERROR, WARN = 4, 3

HOLES = (
    "let f (x : int option) : int =\n"
    "  match x with Some _ -> _ | None -> _ (* construct: 0 *)\n"
    "let g : int option = _\n"
)


def path_without_ocamllsp() -> str:
    return os.pathsep.join(folder for folder in os.environ["PATH"].split(os.pathsep)
                           if not Path(folder, "ocamllsp").exists())


class Session:
    """A headless Neovim in a project, with the test double as `ocamllsp` on PATH."""

    def __init__(self, nvim, root: Path, log: Path, running: contextlib.ExitStack) -> None:
        self.nvim, self.root, self.log = nvim, root, log
        self.running = running  # closing it quits Neovim

    def methods(self) -> list[str]:
        return [message["method"] for message in logged_methods(self.log)]

    def sent(self, method: str) -> list:
        return [m["params"] for m in logged_methods(self.log) if m["method"] == method]

    def wait_sent(self, method: str, count: int = 1) -> list:
        return wait_for(lambda: len(self.sent(method)) >= count and self.sent(method), 30,
                        what=f"{count} {method} at the test double, got {self.methods()}")

    def client_id(self, buf: int = 0):
        return self.nvim.exec_lua(
            "local c = vim.lsp.get_clients({bufnr = ..., name = 'ocamllsp'})[1]"
            " return c and c.initialized and c.id or nil", buf)

    def wait_attached(self, buf: int = 0) -> int:
        return wait_for(lambda: self.client_id(buf), 30, what="ocamllsp attached and initialized")

    def start(self, path: str) -> int:
        edit(self.nvim, self.root / path)
        self.nvim.command("OCaml lsp start")
        return self.wait_attached()


def start_session(nvim_binary, config, root: Path, tmp_path: Path, *, with_double=True,
                  env: dict | None = None) -> Session:
    log = tmp_path / "ocamllsp.log"
    path = path_without_ocamllsp()
    if with_double:
        path = f"{ocamllsp_folder(tmp_path / 'bin')}{os.pathsep}{path}"
    environment = {**os.environ, "PATH": path, "OCAMLLSP_TEST_DOUBLE_LOG": str(log), **(env or {})}
    running = contextlib.ExitStack()
    nvim = running.enter_context(running_nvim(nvim_binary, config, environment))
    return Session(record_notifications(nvim), root, log, running)


def close(session: Session) -> None:
    try:
        assert_no_traceback(session.nvim)
    finally:
        session.running.close()


@pytest.fixture
def project(tmp_path) -> Path:
    """The shared project, written but not built, plus a module with typed holes."""
    return write_project(tmp_path / "proj", {**PROJECT, "lib/holes.ml": HOLES})


@pytest.fixture
def session(nvim_binary, isolated_config, project, tmp_path):
    started = start_session(nvim_binary, isolated_config, project, tmp_path)
    yield started
    close(started)


# -- the client's life ----------------------------------------------------------------------


def test_lsp_start_attaches_the_project_buffers_and_info_reports_it(session):
    nvim, root = session.nvim, session.root
    edit(nvim, root / "lib/util.ml")
    first = session.start("lib/shapes.ml")
    assert wait_note(nvim, "ocamllsp started for")["msg"].startswith(
        f"[devkit] ocamllsp started for {root} (client {first}")
    assert session.client_id(nvim.funcs.bufnr(str(root / "lib/util.ml"))) == first
    opened = session.wait_sent("textDocument/didOpen", 2)
    assert {p["textDocument"]["uri"] for p in opened} == {
        file_uri(root / "lib/shapes.ml"), file_uri(root / "lib/util.ml")}
    assert session.methods()[:2] == ["initialize", "initialized"]
    assert session.sent("initialize")[0]["rootUri"] == file_uri(root)

    edit(nvim, root / "bin/main.ml")  # a buffer opened later joins the same client
    assert session.wait_attached() == first

    nvim.command("OCaml lsp info")
    info = wait_note(nvim, "ocamllsp: client")["msg"]
    for part in (f"client {first} running", "ocamllsp-test-double 0.0", f"root {root}",
                 str(Path(session.log.parent, "bin", "ocamllsp")), "lib/shapes.ml",
                 "lib/util.ml", "bin/main.ml", "encoding utf-16"):
        assert part in info

    nvim.command("OCaml lsp start")
    assert "already running" in wait_note(nvim, "already running")["msg"]


def test_lsp_restart_and_stop(session):
    nvim, root = session.nvim, session.root
    first = session.start("lib/shapes.ml")
    nvim.command("OCaml lsp restart")
    wait_note(nvim, "ocamllsp restarted")
    second = session.wait_attached()
    assert second != first
    assert session.methods().count("initialize") == 2
    assert session.methods().count("shutdown") == 1

    nvim.command("OCaml lsp stop")
    assert wait_note(nvim, "ocamllsp stopped")["msg"] == (
        f"[devkit] ocamllsp stopped for {root} (1 client(s))")
    wait_for(lambda: nvim.exec_lua("return #vim.lsp.get_clients({name = 'ocamllsp'})") == 0, 30)
    session.wait_sent("exit", 2)
    edit(nvim, root / "lib/util.ml")  # stopped: later buffers are not attached again
    nvim.command("OCaml lsp info")
    assert wait_note(nvim, "not running")["msg"] == (
        f"[devkit] ocamllsp: not running for {root} (:OCaml lsp start)")
    assert session.methods().count("initialize") == 2


def test_autostart_attaches_ocaml_buffers_when_asked_to(session):
    nvim, root = session.nvim, session.root
    nvim.command("let g:devkit_ocaml_autostart = 1")
    edit(nvim, root / "lib/shapes.ml")
    first = session.wait_attached()
    edit(nvim, root / "dune-project")  # filetype dune
    assert session.wait_attached() == first
    assert not [n for n in notes(nvim) if n["level"] >= WARN]


def test_autostart_without_ocamllsp_says_so_once(nvim_binary, isolated_config, project,
                                                  tmp_path):
    session = start_session(nvim_binary, isolated_config, project, tmp_path, with_double=False)
    nvim = session.nvim
    try:
        nvim.command("let g:devkit_ocaml_autostart = 1")
        edit(nvim, project / "lib/shapes.ml")
        note = wait_note(nvim, "ocamllsp not found")
        assert note["level"] == WARN and "opam install ocaml-lsp-server" in note["msg"]
        edit(nvim, project / "lib/util.ml")
        edit(nvim, project / "bin/main.ml")
        nvim.command("OCaml nexthole")  # a later command still gets through: the host is free
        wait_note(nvim, "needs ocaml-lsp-server")
        assert len([n for n in notes(nvim) if "ocamllsp not found" in n["msg"]]) == 1
        assert nvim.exec_lua("return #vim.lsp.get_clients()") == 0
    finally:
        close(session)


def test_lsp_start_without_ocamllsp(nvim_binary, isolated_config, project, tmp_path):
    session = start_session(nvim_binary, isolated_config, project, tmp_path, with_double=False)
    try:
        edit(session.nvim, project / "lib/shapes.ml")
        session.nvim.command("OCaml lsp start")
        note = wait_note(session.nvim, "ocamllsp not found")
        assert note["level"] == WARN
        assert "opam install ocaml-lsp-server" in note["msg"] and str(project) in note["msg"]
    finally:
        close(session)


def test_features_that_need_ocamllsp_say_how_to_get_it_once(nvim_binary, isolated_config,
                                                            project, tmp_path):
    without = start_session(nvim_binary, isolated_config, project, tmp_path / "a",
                            with_double=False)
    with_double = start_session(nvim_binary, isolated_config, project, tmp_path / "b")
    features = ("holes", "nexthole", "prevhole", "construct", "holes")
    try:
        for session in (without, with_double):
            edit(session.nvim, project / "lib/holes.ml")
            for feature in features:
                session.nvim.command(f"OCaml {feature}")
        # The first time, what to install (or to start); every later time, a short reminder.
        for session, advice in (
                (without, ":OCaml holes needs ocaml-lsp-server: opam install ocaml-lsp-server, "
                          "then :OCaml lsp start"),
                (with_double, ":OCaml holes needs ocamllsp, which is not attached to "
                              "holes.ml: :OCaml lsp start")):
            said = wait_for(lambda s=session: len(notes(s.nvim)) >= len(features)
                            and notes(s.nvim), 30, what="a message for every command")
            assert [note["msg"] for note in said] == [f"[devkit] {advice}"] + [
                f"[devkit] :OCaml {feature} needs ocamllsp (not attached to holes.ml)"
                for feature in features[1:]]
            assert {note["level"] for note in said} == {WARN}
    finally:
        close(without)
        close(with_double)


# -- requests -------------------------------------------------------------------------------


def test_type_over_lsp_converts_columns_and_widens_with_the_index(session):
    nvim = session.nvim
    session.start("lib/shapes.ml")
    line, col = cursor_on(nvim, "double 4")  # after "é": byte 34, UTF-16 column 33
    assert (line, col) == (4, 34)

    shown = ask_type(nvim)
    assert shown == {"type": "ident double", "source": "ocamllsp", "index": 0, "count": 3,
                     "start": [4, 34], "end": [4, 40], "float": False}
    assert type_highlight(nvim) == [[3, 34, 3, 40]]
    sent = session.sent("ocamllsp/typeEnclosing")
    assert sent == [{"textDocument": {"uri": file_uri(session.root / "lib/shapes.ml")},
                     "position": {"line": 3, "character": 33}, "index": 0, "verbosity": 0}]

    shown = ask_type(nvim)  # the same place: the next enclosing, asked with index 1
    assert (shown["type"], shown["index"], shown["start"], shown["end"]) == (
        "line 4", 1, [4, 0], [4, 43])
    shown = ask_type(nvim)  # the whole file: a three-line type, shown in a float
    assert shown["type"] == "sig\n  (test double)\nend" and shown["float"] is True
    assert float_lines(nvim) == ["sig", "  (test double)", "end"]
    assert ask_type(nvim)["index"] == 0  # and round again
    assert [p["index"] for p in session.sent("ocamllsp/typeEnclosing")] == [0, 1, 2, 0]


def test_type_falls_back_to_the_build_when_the_server_lacks_type_enclosing(
        nvim_binary, isolated_config, tmp_path):
    root = build_project(tmp_path / "built")
    session = start_session(nvim_binary, isolated_config, root, tmp_path,
                            env={"OCAMLLSP_TEST_DOUBLE_WITHOUT": "handleTypeEnclosing"})
    try:
        session.start("lib/util.ml")
        cursor_on(session.nvim, "twice")
        shown = ask_type(session.nvim)
        assert (shown["type"], shown["source"]) == ("('a -> 'a) -> 'a -> 'a", "cmt")
        assert "ocamllsp/typeEnclosing" not in session.methods()
    finally:
        close(session)


def test_def_over_lsp_in_the_file_and_across_files(session):
    nvim, root = session.nvim, session.root
    session.start("lib/shapes.ml")
    start = cursor_on(nvim, "double 4")
    nvim.command("OCaml def")
    wait_for(lambda: tuple(nvim.current.window.cursor) == (2, 4), 30, what="the jump")
    nvim.command('execute "normal! \\<C-o>"')
    assert tuple(nvim.current.window.cursor) == start
    assert session.sent("textDocument/definition")[0]["position"] == {"line": 3, "character": 33}

    edit(nvim, root / "bin/main.ml")
    session.wait_attached()
    cursor_on(nvim, "twice")
    nvim.command("OCaml def")
    wait_for(lambda: nvim.current.buffer.name == str(root / "lib/util.ml"), 30)
    assert tuple(nvim.current.window.cursor) == (1, 4)


def test_switch_over_lsp(session):
    nvim, root = session.nvim, session.root
    session.start("lib/counter.mli")
    nvim.command("OCaml switch")
    wait_for(lambda: nvim.current.buffer.name == str(root / "lib/counter.ml"), 30)
    session.wait_attached()
    nvim.command("OCaml switch")
    wait_for(lambda: nvim.current.buffer.name == str(root / "lib/counter.mli"), 30)
    assert session.sent("ocamllsp/switchImplIntf") == [
        [file_uri(root / "lib/counter.mli")], [file_uri(root / "lib/counter.ml")]]


def test_intf_over_lsp_from_the_implementation_and_from_an_empty_interface(session):
    nvim, root = session.nvim, session.root
    session.start("lib/shapes.ml")
    nvim.command("OCaml intf")
    wait_for(lambda: nvim.current.buffer.name == str(root / "lib/shapes.mli")
             and nvim.current.buffer[:] != [""], 30, what="shapes.mli filled")
    assert nvim.current.buffer[:] == ["val area : 'a", "val double : 'a", "val total : 'a",
                                      "val label : 'a"]
    assert nvim.current.buffer.options["modified"]

    edit(nvim, root / "lib/util.mli")  # util.ml is not open: the plugin opens it for the server
    session.wait_attached()
    nvim.command("OCaml intf")
    wait_for(lambda: nvim.current.buffer[:] == ["val twice : 'a"], 30, what="util.mli filled")
    uris = [p["textDocument"]["uri"] for p in session.sent("textDocument/didOpen")]
    assert file_uri(root / "lib/util.ml") in uris
    assert session.sent("ocamllsp/inferIntf")[-1] == [file_uri(root / "lib/util.ml")]


def test_holes_fill_the_location_list_and_jump(session):
    nvim = session.nvim
    session.start("lib/holes.ml")
    nvim.command("OCaml holes")
    listed = wait_for(lambda: nvim.exec_lua(
        "local l = vim.fn.getloclist(0, {title = 1, items = 1})"
        " return #l.items > 0 and l or nil"), 30, what="the location list")
    assert listed["title"] == "Typed holes of holes.ml"
    assert [(i["lnum"], i["col"], i["end_col"]) for i in listed["items"]] == [
        (2, 21, 22), (2, 26, 27), (2, 38, 39), (3, 22, 23)]
    assert nvim.current.buffer.name == str(session.root / "lib/holes.ml")  # focus stays

    nvim.current.window.cursor = (1, 0)
    def cursor_at(expected):
        return lambda: tuple(nvim.current.window.cursor) == expected

    for expected in [(2, 20), (2, 25), (2, 37), (3, 21), (2, 20)]:  # next, …, then round
        nvim.command("OCaml nexthole")
        wait_for(cursor_at(expected), 30, what=f"the cursor at {expected}")
    nvim.command("OCaml prevhole")
    wait_for(lambda: tuple(nvim.current.window.cursor) == (3, 21), 30)
    assert session.sent("ocamllsp/jumpToTypedHole")[-1]["direction"] == "prev"


def test_construct_replaces_the_hole(session):
    nvim = session.nvim
    session.start("lib/holes.ml")
    cursor_on(nvim, "_ (*")  # the hole whose line lists one candidate: applied directly
    nvim.command("OCaml construct")
    wait_for(lambda: "None -> 0 (*" in nvim.current.buffer[1], 30, what="the construction")

    nvim.exec_lua("""vim.ui.select = function(items, opts, on_choice)
        vim.g.offered = items
        on_choice(items[2], 2)
      end""")
    cursor_on(nvim, "= _")
    nvim.command("normal! 2l")
    nvim.command("OCaml construct")  # two candidates: the user picks the second
    wait_for(lambda: nvim.current.buffer[2] == "let g : int option = None", 30)
    assert nvim.vars["offered"] == ["Some _", "None"]

    nvim.current.window.cursor = (1, 0)
    nvim.command("OCaml construct")
    assert wait_note(nvim, "no typed hole under the cursor")["level"] == WARN


def test_a_server_that_does_not_answer_blocks_nothing(nvim_binary, isolated_config, project,
                                                      tmp_path):
    session = start_session(nvim_binary, isolated_config, project, tmp_path,
                            env={"OCAMLLSP_TEST_DOUBLE_SILENT": "ocamllsp/typeEnclosing"})
    nvim = session.nvim
    try:
        session.start("lib/shapes.ml")
        cursor_on(nvim, "double 4")
        nvim.command("OCaml type")
        session.wait_sent("ocamllsp/typeEnclosing")
        assert nvim.eval("1 + 1") == 2  # Neovim answers,
        nvim.command("OCaml switch")  # and so does the host, and the server for the rest
        wait_for(lambda: nvim.current.buffer.name == str(project / "lib/shapes.mli"), 30)
        assert nvim.exec_lua("return vim.b.devkit_type") is None
    finally:
        close(session)
