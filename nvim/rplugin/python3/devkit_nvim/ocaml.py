"""`:OCaml …` (placeholder until the OCaml commands land)."""

from __future__ import annotations

from devkit_nvim.editor import ERROR, Editor, Request


class OCamlCommands:
    def __init__(self, editor: Editor) -> None:
        self.editor = editor

    def handle(self, request: Request) -> None:
        self.editor.notify(f":OCaml {request.subcommand} is not available yet", ERROR)

    def lsp_reply(self, token: int, error, result) -> None:
        pass
