"""The plugin's view of the editor: the request a command sends, messages, Lua calls, and the
per-project toolchain environment. Everything here runs on the host's event loop; work on other
threads comes back through `Editor.later`.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pynvim

from devkit.errors import DevkitError
from devkit.ocaml.project import Project, find_project
from devkit.ocaml.toolchain import detect_environment

# vim.log.levels
DEBUG, INFO, WARN, ERROR = 1, 2, 3, 4

log = logging.getLogger("devkit_nvim")


@dataclass(frozen=True)
class Request:
    """One `:Dune`/`:OCaml` command as ``require('devkit').request`` describes it.

    `line` is 1-based and `col` a 0-based byte column (``nvim_win_get_cursor``); `file` is the
    buffer's name ("" for an unnamed buffer), `buftype` its 'buftype' ("" for a file).
    """

    command: str
    args: list[str]
    bang: bool
    buf: int
    file: str
    buftype: str
    modified: bool
    filetype: str
    line: int
    col: int
    changedtick: int
    cwd: str
    lsp: bool

    @classmethod
    def from_lua(cls, table: dict) -> Request:
        names = cls.__dataclass_fields__
        return cls(**{name: table.get(name) for name in names})

    @property
    def subcommand(self) -> str | None:
        return self.args[0] if self.args else None

    @property
    def path(self) -> Path | None:
        """The buffer's file, or None for an unnamed or special buffer."""
        return Path(self.file) if self.file and not self.buftype else None

    def require_file(self) -> Path:
        """The buffer's file; `DevkitError` for an unnamed or special buffer."""
        if self.path is None:
            raise DevkitError("this buffer has no file: open an OCaml source file first")
        return self.path

    def require_saved(self) -> Path:
        """The buffer's file when it is saved: the compiler knows only what is on disk."""
        path = self.require_file()
        if self.modified:
            raise DevkitError(f"{path.name} has unsaved changes: :write it and :Dune build first")
        return path


class Editor:
    """Messages to and Lua calls into Neovim, and what the plugin remembers per project."""

    def __init__(self, nvim: pynvim.Nvim) -> None:
        self.nvim = nvim
        self._environments: dict[Path, dict[str, str]] = {}
        self._log_file: Path | None = None

    # -- talking to Neovim (event-loop thread only)

    def notify(self, message: str, level: int = INFO) -> None:
        """``vim.notify("[devkit] " .. message, level)``."""
        self.nvim.exec_lua("require('devkit').notify(...)", message, level)

    def lua(self, module: str, function: str, *args):
        """``require(module).function(args…)``, returning its result."""
        return self.nvim.exec_lua(f"return require('{module}').{function}(...)", *args)

    def later(self, function: Callable, *args) -> None:
        """Run `function(*args)` on the event loop (callable from any thread), guarded."""
        self.nvim.async_call(self.guarded, function, *args)

    def guarded(self, function: Callable, *args) -> None:
        """Run `function(*args)`; a `DevkitError` becomes an ERROR notification, anything
        else a one-line notification naming the log file that holds the traceback."""
        try:
            function(*args)
        except DevkitError as error:
            self.notify(str(error), ERROR)
        except Exception as error:  # never a traceback in the message area
            where = self.log_exception()
            self.notify(f"internal error: {type(error).__name__}: {error} (details: {where})",
                        ERROR)

    def log_exception(self) -> Path:
        """Append the current exception's traceback to the log file; return its path."""
        if self._log_file is None:
            folder = Path(self.nvim.call("stdpath", "log"))
            folder.mkdir(parents=True, exist_ok=True)
            self._log_file = folder / "devkit.log"
        with self._log_file.open("a") as out:
            out.write(traceback.format_exc())
        return self._log_file

    # -- projects

    def project_of(self, request: Request) -> Project:
        """The project of the request's buffer, or of Neovim's working folder for a buffer
        without a file (`NotAnOCamlProject` when neither is in one)."""
        return find_project(request.path or Path(request.cwd))

    def environment(self, project: Project, refresh: bool = False) -> dict[str, str]:
        """The environment the project's tools run in (its opam/esy switch), found once per
        project and remembered; `refresh` finds it again."""
        if refresh or project.root not in self._environments:
            toolchain = detect_environment(project.root, os.environ)
            self._environments[project.root] = toolchain.env
        return self._environments[project.root]
