"""`:Dune …` (being written)."""

from __future__ import annotations

from devkit_nvim.editor import Editor, Request


class DuneCommands:
    def __init__(self, editor: Editor) -> None:
        self.editor = editor

    def handle(self, request: Request) -> None:
        self.editor.notify(f"Dune {request.args} from {request.file}")
