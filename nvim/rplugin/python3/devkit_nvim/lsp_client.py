"""ocamllsp through Neovim's own LSP client: requests and their answers, columns, and the
client's life (`:OCaml lsp start|stop|restart|info`, autostart).

A request goes out through ``require('devkit.lsp').request(buf, method, params, token)``; the
client's handler calls ``DevkitLspReply(token, err, result)``, and `LspRequests.reply` runs what
was registered for the token. Neither Neovim nor the host waits for the server.

LSP columns count in the client's position encoding (UTF-16 code units unless the server chose
another); the plugin works in byte columns (``nvim_win_get_cursor``). `devkit.ocaml.lsp`'s
`lsp_character` and `lsp_byte_column` convert, given the text of the line.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devkit.errors import DevkitError
from devkit.ocaml import lsp
from devkit.ocaml.project import Project
from devkit_nvim.editor import DEBUG, INFO, WARN, Editor, Request

INSTALL = "opam install ocaml-lsp-server"


class LspFailed(DevkitError):
    """The server answered a request with an error, or the client went away."""


@dataclass(frozen=True)
class Client:
    """The ocamllsp client attached to a buffer, as ``require('devkit.lsp').client`` tells.

    `capabilities` is None until the server has answered `initialize`.
    """

    id: int
    encoding: str
    capabilities: dict | None
    root: str | None

    def supports(self, method: str) -> bool:
        """Whether the server announces `method`; assumed while it is still initializing
        (the request waits for it)."""
        return self.capabilities is None or lsp.supports(self.capabilities, method)


class LspRequests:
    """Requests in flight: token → (method, what to do with the result)."""

    def __init__(self, editor: Editor) -> None:
        self.editor = editor
        self._pending: dict[int, tuple[str, Callable[[Any], None]]] = {}
        self._tokens = itertools.count(1)

    def client(self, buf: int) -> Client | None:
        """The ocamllsp client attached to `buf`, None when there is none."""
        found = self.editor.lua("devkit.lsp", "client", buf)
        if not found:
            return None
        return Client(found["id"], found.get("encoding") or "utf-16",
                      found.get("capabilities"), found.get("root"))

    def send(self, buf: int, method: str, params: Any,
             on_result: Callable[[Any], None]) -> None:
        """Send `method` with `params` on the ocamllsp client of `buf`; `on_result(result)`
        runs on the event loop when the answer comes (an error answer is notified instead)."""
        token = next(self._tokens)
        self._pending[token] = (method, on_result)
        if not self.editor.lua("devkit.lsp", "request", buf, method, params, token):
            del self._pending[token]
            raise LspFailed("no ocamllsp client is attached to this buffer: :OCaml lsp start")

    def reply(self, token: int, error: Any, result: Any) -> None:
        """The answer to request `token` (from ``DevkitLspReply``)."""
        entry = self._pending.pop(token, None)
        if entry is None:
            return
        method, on_result = entry
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            first = (str(message or error).strip().splitlines() or ["failed"])[0]
            raise LspFailed(f"ocamllsp could not answer {method}: {first}")
        on_result(result)

    def position(self, buf: int, line: int, col: int, client: Client) -> lsp.Position:
        """The LSP position of (`line` 1-based, `col` 0-based byte) in buffer `buf`."""
        text = self.line_text(buf, line - 1)
        return lsp.Position(line - 1, lsp.lsp_character(text, col, client.encoding))

    def line_text(self, buf: int, index: int) -> str:
        lines = self.editor.nvim.api.buf_get_lines(buf, index, index + 1, False)
        return lines[0] if lines else ""

    def file_line(self, path: Path, index: int) -> str:
        """Line `index` (0-based) of `path`: from its buffer when loaded, else from disk."""
        lines = self.editor.lua("devkit.ocaml", "buffer_lines", str(path), index, index + 1)
        if lines is not None:
            return lines[0] if lines else ""
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                for number, text in enumerate(handle):
                    if number == index:
                        return text.rstrip("\r\n")
        except OSError:
            pass
        return ""

    def to_bytes(self, path: Path, position: lsp.Position, client: Client) -> tuple[int, int]:
        """(line 1-based, byte column) of an LSP position in file `path`."""
        text = self.file_line(path, position.line)
        return position.line + 1, lsp.lsp_byte_column(text, position.character, client.encoding)

    @staticmethod
    def in_lines(lines: list[str], position: lsp.Position, client: Client) -> tuple[int, int]:
        """(line 1-based, byte column) of an LSP position in a buffer's `lines`."""
        text = lines[position.line] if 0 <= position.line < len(lines) else ""
        return position.line + 1, lsp.lsp_byte_column(text, position.character, client.encoding)


class OcamlLspServer:
    """`:OCaml lsp start|stop|restart|info` and autostart: Neovim's LSP client named
    ``ocamllsp`` on the `ocamllsp` of the project's toolchain, rooted at the project."""

    ACTIONS = ("start", "stop", "restart", "info")

    def __init__(self, editor: Editor) -> None:
        self.editor = editor
        self._autostart_warned = False

    def executable(self, project: Project, refresh: bool = False) -> Path | None:
        """The `ocamllsp` on the PATH of the project's toolchain environment."""
        env = self.editor.environment(project, refresh=refresh)
        found = shutil.which("ocamllsp", path=env.get("PATH", ""))
        return Path(found) if found else None

    def missing_message(self, project: Project) -> str:
        return (f"ocamllsp not found on the PATH of {project.root}'s toolchain: {INSTALL} "
                "(Debian has no package), then :OCaml lsp start; :OCaml type, def, switch and "
                "intf work without it from the last dune build")

    def handle(self, request: Request) -> None:
        action = request.args[1] if len(request.args) > 1 else None
        if action == "autostart":  # from require('devkit.lsp').autostart, not typed by users
            self.autostart(request)
        elif action in ("start", "restart"):
            self.start(request, restart=action == "restart")
        elif action == "stop":
            self.stop(request)
        elif action == "info":
            self.info(request)
        else:
            raise DevkitError("usage: :OCaml lsp {start|stop|restart|info}")

    def start(self, request: Request, restart: bool = False) -> None:
        project = self.editor.project_of(request)
        executable = self.executable(project, refresh=restart)
        if executable is None:
            self.editor.notify(self.missing_message(project), WARN)
            return
        env = self.editor.environment(project)
        root = str(project.root)
        if restart:
            self.editor.lua("devkit.lsp", "restart", root, [str(executable)], env)
            return
        started = self.editor.lua("devkit.lsp", "start", root, [str(executable)], env)
        if started.get("reused"):
            self.editor.notify(f"ocamllsp is already running for {root} (client "
                               f"{started['id']}; {started['buffers']} buffer(s) attached)")
        elif started.get("id"):
            self.editor.notify(f"ocamllsp started for {root} (client {started['id']}, "
                               f"{executable}; {started['buffers']} buffer(s) attached)")
        else:
            raise LspFailed(f"Neovim could not start {executable} (see :messages and "
                            ":lua vim.cmd.edit(vim.lsp.log.get_filename()))")

    def autostart(self, request: Request) -> None:
        """Start quietly for a buffer of a project; say once per session that ocamllsp is
        missing. A buffer outside any project is left alone."""
        if request.lsp or request.path is None:
            return
        try:
            project = self.editor.project_of(request)
        except DevkitError:
            return
        executable = self.executable(project)
        if executable is None:
            self.editor.lua("devkit.lsp", "unavailable_at", str(project.root))
            if not self._autostart_warned:
                self._autostart_warned = True
                self.editor.notify(self.missing_message(project)
                                   + " (devkit_ocaml_autostart: said once per session)", WARN)
            return
        started = self.editor.lua("devkit.lsp", "start", str(project.root),
                                  [str(executable)], self.editor.environment(project))
        self.editor.notify(f"ocamllsp for {project.root}: client {started.get('id')}", DEBUG)

    def _root(self, request: Request) -> str | None:
        try:
            return str(self.editor.project_of(request).root)
        except DevkitError:
            return None

    def stop(self, request: Request) -> None:
        root = self._root(request)
        stopped = self.editor.lua("devkit.lsp", "stop", root, request.buf)
        where = root or "this buffer"
        if stopped:
            self.editor.notify(f"ocamllsp stopped for {where} ({stopped} client(s))")
        else:
            self.editor.notify(f"ocamllsp is not running for {where}", WARN)

    def info(self, request: Request) -> None:
        root = self._root(request)
        clients = self.editor.lua("devkit.lsp", "info", root, request.buf)
        if not clients:
            self.editor.notify(f"ocamllsp: not running for {root or 'this buffer'} "
                               "(:OCaml lsp start)")
            return
        lines = []
        for client in clients:
            state = ("stopping" if client.get("stopped")
                     else "running" if client.get("initialized") else "starting")
            server = client.get("server") or "?"
            buffers = ", ".join(client.get("buffers") or []) or "none"
            lines.append(f"ocamllsp: client {client['id']} {state}, server {server}, "
                         f"root {client.get('root')}, cmd {client.get('cmd')}, "
                         f"encoding {client.get('encoding')}, attached: {buffers}")
        self.editor.notify("\n".join(lines), INFO)
