"""The editor half of scripts/try: drive the plugin in a real headless Neovim on a dune project
and print what the user would see (messages, the quickfix list, diagnostics, buffers).

    .venv/bin/python scripts/demo_editor.py PROJECT FILE

FILE (relative to PROJECT) must hold a type error on its last line, `circle "1.5"`, which the
demo fixes the way the user would: in the buffer, then :write.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pynvim

from devkit.nvim.isolated import embedded_neovim, prepare
from devkit.nvim.neovim import find_nvim


def say(text: str) -> None:
    print(f"\n-- {text}", flush=True)


def show(label: str, value) -> None:
    print(f"   {label}: {value}", flush=True)


def wait_for(check, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise SystemExit("the editor did not answer in time")
        time.sleep(0.05)
    return value


class Editor:
    def __init__(self, nvim: pynvim.Nvim) -> None:
        self.nvim = nvim
        self.seen = 0
        nvim.exec_lua(
            "vim.g.dune_done = 0\n"
            "vim.api.nvim_create_autocmd('User', {pattern = 'DuneDone', callback = function()"
            " vim.g.dune_done = vim.g.dune_done + 1 end})"
        )

    def messages(self) -> list[str]:
        text = self.nvim.exec_lua("return vim.api.nvim_exec2('messages', {output = true}).output")
        return text.splitlines()

    def type(self, command: str, then=None) -> list[str]:
        """Type `:command`, wait for `then()` (default: a new message), and return the
        messages it produced."""
        before = len(self.messages())
        print(f"   :{command}", flush=True)
        self.nvim.command(command)
        wait_for(then or (lambda: self.messages()[before:]))
        time.sleep(0.3)  # a second message (e.g. after a notification) arrives together
        new = self.messages()[before:]
        for line in new:
            print(f"   | {line}", flush=True)
        return new

    def dune(self, command: str) -> dict:
        before = self.nvim.vars["dune_done"]
        self.type(command)
        wait_for(lambda: self.nvim.vars["dune_done"] > before)
        return self.nvim.vars["dune_last"]


def main(project: Path, file: str) -> None:
    nvim_binary = find_nvim(os.environ)
    with tempfile.TemporaryDirectory(prefix="devkit-demo-nvim-") as base:
        say(f"Neovim {nvim_binary} with the plugin in an isolated configuration "
            "(what `devkit nvim run` starts)")
        env = prepare(Path(base), nvim_binary)
        with embedded_neovim(nvim_binary, env) as nvim:
            drive(Editor(nvim), project, file)


def drive(editor: Editor, project: Path, file: str) -> None:
    nvim = editor.nvim
    path = project / file
    nvim.command(f"cd {project}")
    nvim.command(f"edit {path}")

    say(":Dune build — dune runs in the background; the editor stays usable")
    last = editor.dune("Dune build")
    show("g:dune_last", last)
    for item in nvim.exec_lua("return vim.fn.getqflist()"):
        name = nvim.exec_lua("return vim.fn.bufname(...)", item["bufnr"])
        text = " ".join(item["text"].split())
        show("quickfix", f"{name}|{item['lnum']} col {item['col']}| {text}")
    for diagnostic in nvim.exec_lua("return vim.diagnostic.get(0)"):
        text = " ".join(diagnostic["message"].split())
        show("vim.diagnostic", f"line {diagnostic['lnum'] + 1}, columns {diagnostic['col']}-"
                               f"{diagnostic['end_col']}: {text}")

    say("Fix it in the buffer, :write, :Dune build — the diagnostics go away")
    line = len(nvim.current.buffer)
    nvim.current.buffer[line - 1] = nvim.current.buffer[line - 1].replace('"1.5"', "1.5")
    nvim.command("write")
    show("g:dune_last", editor.dune("Dune build"))
    show("diagnostics left", nvim.exec_lua("return #vim.diagnostic.get(0)"))

    say("Without ocamllsp: types and definitions from the compiler's .cmt files")
    text = nvim.current.buffer[line - 1]
    nvim.current.window.cursor = (line, text.index("square"))
    editor.type("OCaml type")
    nvim.current.window.cursor = (line, text.index("circle"))
    editor.type("OCaml def", then=lambda: nvim.current.window.cursor[0] != line)
    row, col = nvim.current.window.cursor
    show("cursor after :OCaml def", f"line {row}, column {col + 1}: {nvim.current.buffer[row - 1]}")

    say(":OCaml switch opens the interface (a new buffer: there is no .mli yet), "
        ":OCaml intf fills it")
    editor.type("OCaml switch", then=lambda: nvim.current.buffer.name.endswith(".mli"))
    show("buffer", Path(nvim.current.buffer.name).name)
    editor.type("OCaml intf", then=lambda: any(nvim.current.buffer[:]))
    for text in nvim.current.buffer[:]:
        show("mli", text)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]).resolve(), sys.argv[2])
