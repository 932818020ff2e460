"""Shared pieces of the `:OCaml` tests: a real dune project, Neovim driven like a user, and
`ocamllsp` on PATH as the test double (`ocamllsp_test_double.py`)."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pynvim

from tests.conftest import require_tool
from tests.nvim.conftest import messages, wait_for
from tests.ocaml.ocamlprojects import run, write_project

TEST_DOUBLE = Path(__file__).with_name("ocamllsp_test_double.py")

#: A library, an executable using it, a module with an interface and one with typed holes.
PROJECT = {
    "dune-project": "(lang dune 2.9)\n",
    "lib/dune": "(library (name mylib))\n",
    "lib/shapes.ml": (
        "let area r = 3 * r * r\n"
        "let double x = x + x\n"
        "let total = area 2 + double 3\n"
        "let label = \"é\" ^ string_of_int (double 4)\n"
    ),
    "lib/counter.ml": "let count = ref 0\nlet incr () = count := !count + 1\n",
    "lib/counter.mli": "(** A counter. *)\nval count : int ref\nval incr : unit -> unit\n",
    "lib/util.ml": "let twice f x = f (f x)\n(* nothing to type here *)\n",
    "bin/dune": "(executable (name main) (libraries mylib))\n",
    "bin/main.ml": "let () = print_int (Mylib.Shapes.double (Mylib.Util.twice succ 1))\n",
}


def require_ocaml() -> None:
    """Skip (fail under CI) when dune or the compiler is missing, saying how to get them."""
    for tool in ("dune", "ocamlc", "ocamlcmt"):
        require_tool(tool, "apt-get install ocaml-nox ocaml-dune")


def build_project(root: Path, files: dict[str, str] = PROJECT) -> Path:
    """Write `files` under `root` and run the real `dune build` there."""
    require_ocaml()
    write_project(root, files)
    done = run(["dune", "build"], cwd=root)
    assert done.returncode == 0, done.stderr
    return root


def ocamllsp_folder(folder: Path) -> Path:
    """A folder holding an executable `ocamllsp` that runs the test double; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "ocamllsp"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {TEST_DOUBLE} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


def logged_methods(log: Path) -> list[dict]:
    """The messages the test double received, in order."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def edit(nvim: pynvim.Nvim, path: Path) -> None:
    nvim.command(f"edit {path}")


def cursor_on(nvim: pynvim.Nvim, needle: str, offset: int = 0, occurrence: int = 1) -> tuple:
    """Put the cursor on the `occurrence`-th `needle` of the buffer (+ `offset` bytes)."""
    seen = 0
    for number, line in enumerate(nvim.current.buffer[:], start=1):
        start = 0
        while (index := line.find(needle, start)) >= 0:
            seen += 1
            if seen == occurrence:
                col = len(line[:index].encode("utf-8")) + offset
                nvim.current.window.cursor = (number, col)
                return number, col
            start = index + 1
    raise AssertionError(f"{needle!r} not in {nvim.current.buffer.name}")


def shown_type(nvim: pynvim.Nvim):
    return nvim.exec_lua("return vim.b.devkit_type")


def ask_type(nvim: pynvim.Nvim, timeout: float = 60.0) -> dict:
    """`:OCaml type` and wait for a new b:devkit_type (a [devkit] message fails fast)."""
    nvim.command("unlet! b:devkit_type")
    before = len(notes(nvim))
    nvim.command("OCaml type")

    def answered():
        if len(notes(nvim)) > before:
            raise AssertionError(f"OCaml type said: {notes(nvim)[before:]}")
        return shown_type(nvim)
    return wait_for(answered, timeout, what="b:devkit_type")


def type_highlight(nvim: pynvim.Nvim) -> list:
    """The spans :OCaml type highlights in the current buffer: [[row, col, end_row, end_col]]
    (rows 0-based)."""
    return nvim.exec_lua("""
        local ns = require('devkit.ocaml').namespace
        local out = {}
        for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, {details = true})) do
          table.insert(out, {m[2], m[3], m[4].end_row, m[4].end_col})
        end
        return out""")


_RECORD_NOTIFICATIONS = """
_G.devkit_test_notes = {}
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(_G.devkit_test_notes, { msg = msg, level = level or vim.log.levels.INFO })
  return notify(msg, level, opts)
end
"""


def record_notifications(nvim: pynvim.Nvim) -> pynvim.Nvim:
    """Record every vim.notify (message and level) as well as showing it."""
    nvim.exec_lua(_RECORD_NOTIFICATIONS)
    return nvim


def notes(nvim: pynvim.Nvim) -> list[dict]:
    """The [devkit] notifications so far: [{msg, level}] (levels: vim.log.levels)."""
    return [note for note in nvim.exec_lua("return _G.devkit_test_notes or {}")
            if note["msg"].startswith("[devkit]")]


def wait_note(nvim: pynvim.Nvim, text: str, timeout: float = 60.0) -> dict:
    """Wait for a [devkit] notification containing `text`; return it ({msg, level})."""
    def found():
        return next((note for note in notes(nvim) if text in note["msg"]), None)
    return wait_for(found, timeout, what=f"a [devkit] notification with {text!r}, "
                    f"got {[note['msg'] for note in notes(nvim)]}")


def assert_no_traceback(nvim: pynvim.Nvim) -> None:
    shown = messages(nvim)
    assert "Traceback" not in shown and "stack traceback" not in shown, shown
    assert not [note for note in notes(nvim) if "internal error" in note["msg"]], notes(nvim)


def float_lines(nvim: pynvim.Nvim) -> list[str] | None:
    """The lines of the floating window, None when there is none."""
    return nvim.exec_lua("""
        for _, win in ipairs(vim.api.nvim_list_wins()) do
          if vim.api.nvim_win_get_config(win).relative ~= '' then
            return vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
          end
        end""")
