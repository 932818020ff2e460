"""Dispatch of the plugin's entry points to `DuneCommands` and `OCamlCommands`."""

from __future__ import annotations

import pynvim

from devkit_nvim.dune import DuneCommands
from devkit_nvim.editor import ERROR, Editor, Request
from devkit_nvim.health import health_report
from devkit_nvim.ocaml import OCamlCommands


class Handlers:
    def __init__(self, nvim: pynvim.Nvim) -> None:
        self.editor = Editor(nvim)
        self.dune = DuneCommands(self.editor)
        self.ocaml = OCamlCommands(self.editor)

    def run(self, table: dict) -> None:
        self.editor.guarded(self._run, table)

    def _run(self, table: dict) -> None:
        request = Request.from_lua(table)
        if request.command == "Dune":
            self.dune.handle(request)
        elif request.command == "OCaml":
            self.ocaml.handle(request)
        else:
            self.editor.notify(f"unknown command {request.command!r}", ERROR)

    def shutdown(self) -> None:
        self.dune.shutdown()

    def health(self, table: dict) -> dict:
        return health_report(self.editor, table)

    def lsp_reply(self, token: int, error, result) -> None:
        self.editor.guarded(self.ocaml.lsp_reply, token, error, result)
