"""`:OCaml …`: types, definitions, interfaces, typed holes, the ocamllsp client, the doctor.

Each command asks ocamllsp when a client is attached to the buffer (`Request.lsp`), through
Neovim's own LSP client (`LspRequests`), and otherwise the compiler-only engine of
`devkit.ocaml` on the saved file and the last dune build. That engine runs on one worker thread
(it runs `ocamlcmt` and the compiler), so the host keeps answering; results come back to the
event loop through `Editor.later`. Lua (``devkit.ocaml``) only displays and edits.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from devkit.errors import DevkitError
from devkit.ocaml import lsp
from devkit.ocaml.interface import alternate_file, infer_interface
from devkit.ocaml.lookup import (
    IMPLEMENTATION_SUFFIXES,
    INTERFACE_SUFFIXES,
    NoDefinition,
    NoTypeAt,
    definition_at,
    type_at,
)
from devkit.ocaml.project import Project, project_or_reason
from devkit.ocaml.toolchain import detect_toolchain, doctor, report_lines
from devkit_nvim.editor import WARN, Editor, Request
from devkit_nvim.lsp_client import INSTALL, Client, LspRequests, OcamlLspServer

SUBCOMMANDS = ("type", "def", "switch", "intf", "holes", "nexthole", "prevhole", "construct",
               "lsp", "doctor")
USAGE = "usage: :OCaml {" + "|".join(SUBCOMMANDS) + "}"


@dataclass
class _Widening:
    """The last `:OCaml type`: asked again at the same place of the same text, it widens."""

    key: tuple
    source: str  # "ocamllsp" or "cmt"
    index: int
    spans: list[tuple[str | None, tuple[int, int], tuple[int, int]]] = field(default_factory=list)


def _reraise(error: BaseException) -> None:
    raise error


class OCamlCommands:
    def __init__(self, editor: Editor) -> None:
        self.editor = editor
        self.lsp = LspRequests(editor)
        self.server = OcamlLspServer(editor)
        self._worker: ThreadPoolExecutor | None = None
        self._widening: _Widening | None = None
        self._lsp_advised: set[bool] = set()  # `_needs_lsp` advice given: ocamllsp found or not
        self._commands = {
            "type": self.type, "def": self.definition, "switch": self.switch,
            "intf": self.interface, "holes": self.holes,
            "nexthole": lambda request: self.jump_to_hole(request, "next"),
            "prevhole": lambda request: self.jump_to_hole(request, "prev"),
            "construct": self.construct, "lsp": self.server.handle, "doctor": self.doctor,
        }

    def handle(self, request: Request) -> None:
        command = self._commands.get(request.subcommand or "")
        if command is None:
            given = f"unknown subcommand {request.subcommand!r}; " if request.subcommand else ""
            raise DevkitError(given + USAGE)
        command(request)

    def lsp_reply(self, token: int, error, result) -> None:
        self.lsp.reply(token, error, result)

    # -- running the compiler-only engine off the event loop

    def _background(self, work, done, warnings: tuple[type[DevkitError], ...] = ()) -> None:
        """Run `work()` on the worker thread, then `done(result)` on the event loop. An error
        in `warnings` is notified at WARN; any other exception is raised on the event loop
        (where `Editor.guarded` reports it)."""
        def run() -> None:
            try:
                result = work()
            except warnings as error:
                self.editor.later(self.editor.notify, str(error), WARN)
                return
            except BaseException as error:  # handed over to the event loop
                self.editor.later(_reraise, error)
                return
            self.editor.later(done, result)

        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devkit-ocaml")
        self._worker.submit(run)

    def _from_build(self, request: Request, lookup, done, not_found: type[DevkitError]) -> None:
        """Ask the compiler-only engine: `lookup(root, file, line, col, env)` (`type_at` or
        `definition_at`) on the saved file, on the worker thread; `done(answer)` after it, or
        the `not_found` error at WARN."""
        path = request.require_saved()
        project = self.editor.project_of(request)

        def work():
            env = self.editor.environment(project)
            return lookup(project.root, path, request.line, request.col, env)

        self._background(work, done, warnings=(not_found,))

    def _client(self, request: Request, method: str | None = None) -> Client | None:
        """The ocamllsp client of the buffer when one is attached and announces `method`."""
        if not request.lsp:
            return None
        client = self.lsp.client(request.buf)
        if client is None or (method is not None and not client.supports(method)):
            return None
        return client

    def _needs_lsp(self, request: Request, feature: str, method: str) -> Client | None:
        """The buffer's ocamllsp client; None when none is attached, after a WARN: the first
        time in the session, what to install (or to start, when ocamllsp is there); later, a
        short reminder."""
        path = request.require_file()
        client = self.lsp.client(request.buf) if request.lsp else None
        if client is None:
            try:
                project = self.editor.project_of(request)
                found = self.server.executable(project) is not None
            except DevkitError:
                found = False
            if found in self._lsp_advised:
                message = f":OCaml {feature} needs ocamllsp (not attached to {path.name})"
            elif found:
                message = (f":OCaml {feature} needs ocamllsp, which is not attached to "
                           f"{path.name}: :OCaml lsp start")
            else:
                message = (f":OCaml {feature} needs ocaml-lsp-server: {INSTALL}, then "
                           ":OCaml lsp start")
            self._lsp_advised.add(found)
            self.editor.notify(message, WARN)
            return None
        if not client.supports(method):
            raise DevkitError(f"this ocamllsp does not offer {method} (:OCaml {feature}): "
                              f"upgrade it with {INSTALL}")
        return client

    # -- type

    def type(self, request: Request) -> None:
        request.require_file()  # an unnamed buffer is refused before anything else
        key = (request.buf, request.changedtick, request.line, request.col)
        last = self._widening if self._widening and self._widening.key == key else None
        client = self._client(request, lsp.TYPE_ENCLOSING)
        if last is not None and last.source == "cmt":
            last.index = (last.index + 1) % len(last.spans)
            self._show_type(request, last)
            return
        if client is not None:
            index = (last.index + 1) % len(last.spans) if last is not None else 0
            self._type_lsp(request, client, key, index)
            return

        def done(found) -> None:
            spans = [(found.type, found.start, found.end)]
            spans += [(e.type, e.start, e.end) for e in found.enclosing]
            self._widening = _Widening(key, "cmt", 0, spans)
            self._show_type(request, self._widening)

        self._from_build(request, type_at, done, NoTypeAt)

    def _type_lsp(self, request: Request, client: Client, key: tuple, index: int) -> None:
        path = request.require_file()
        position = self.lsp.position(request.buf, request.line, request.col, client)

        def done(result: Any) -> None:
            answer = lsp.read_type_enclosing(result)
            if not answer.enclosings or not 0 <= answer.index < len(answer.enclosings):
                self.editor.notify(f"no type at {path.name}:{request.line}:{request.col + 1} "
                                   "(ocamllsp has no information)", WARN)
                return
            lines = self.editor.nvim.api.buf_get_lines(request.buf, 0, -1, False)
            spans: list = []
            for number, span in enumerate(answer.enclosings):
                start = self.lsp.in_lines(lines, span.start, client)
                end = self.lsp.in_lines(lines, span.end, client)
                spans.append((answer.type if number == answer.index else None, start, end))
            self._widening = _Widening(key, "ocamllsp", answer.index, spans)
            self._show_type(request, self._widening)

        self.lsp.send(request.buf, lsp.TYPE_ENCLOSING,
                      lsp.type_enclosing_params(path, position, index=index), done)

    def _show_type(self, request: Request, shown: _Widening) -> None:
        text, start, end = shown.spans[shown.index]
        self.editor.lua("devkit.ocaml", "show_type", request.buf, {
            "type": text or "", "source": shown.source, "index": shown.index,
            "count": len(shown.spans), "start": list(start), "end": list(end),
            "cursor": [request.line, request.col]})

    # -- def

    def definition(self, request: Request) -> None:
        path = request.require_file()
        client = self._client(request)
        if client is not None:
            position = self.lsp.position(request.buf, request.line, request.col, client)
            params = {"textDocument": {"uri": lsp.file_uri(path)},
                      "position": position.to_json()}
            self.lsp.send(request.buf, "textDocument/definition", params,
                          lambda result: self._jump_to_location(request, client, result))
            return

        def done(location) -> None:
            self.editor.lua("devkit.ocaml", "jump", str(location.path), location.line,
                            location.col)

        self._from_build(request, definition_at, done, NoDefinition)

    def _jump_to_location(self, request: Request, client: Client, result: Any) -> None:
        if isinstance(result, list):
            result = result[0] if result else None
        if not isinstance(result, dict):
            self.editor.notify(f"ocamllsp knows no definition at {request.line}:"
                               f"{request.col + 1}", WARN)
            return
        uri = result.get("targetUri") or result.get("uri")
        span = result.get("targetSelectionRange") or result.get("range")
        if not isinstance(uri, str) or not isinstance(span, dict):
            raise lsp.LspResultError(f"textDocument/definition: unexpected answer {result!r}")
        target = lsp.uri_path(uri)
        start = span.get("start") or {}
        position = lsp.Position(int(start.get("line", 0)), int(start.get("character", 0)))
        line, col = self.lsp.to_bytes(target, position, client)
        self.editor.lua("devkit.ocaml", "jump", str(target), line, col)

    # -- switch

    def switch(self, request: Request) -> None:
        path = request.require_file()
        client = self._client(request, lsp.SWITCH_IMPL_INTF)
        if client is not None:
            def done(result: Any) -> None:
                self.editor.lua("devkit.ocaml", "edit", str(lsp.read_switch_impl_intf(result)[0]))

            self.lsp.send(request.buf, lsp.SWITCH_IMPL_INTF,
                          lsp.switch_impl_intf_params(path), done)
            return
        self.editor.lua("devkit.ocaml", "edit", str(alternate_file(path)))

    # -- intf

    def interface(self, request: Request) -> None:
        path = request.require_file()
        if path.suffix in IMPLEMENTATION_SUFFIXES:
            source, target = path, alternate_file(path)
        elif path.suffix in INTERFACE_SUFFIXES:
            source, target = alternate_file(path), path
            if not source.is_file():
                raise DevkitError(f"no implementation next to {path.name} (looked for "
                                  f"{source.name}): nothing to infer the interface from")
        else:
            raise DevkitError(f"{path.name} is not an OCaml source file: :OCaml intf works "
                              "from a .ml file or its .mli")
        if not request.bang and not self._is_empty(target):
            raise DevkitError(f"{target.name} is not empty: :OCaml! intf replaces its content "
                              "with the inferred interface")

        def fill(text: str) -> None:
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            self.editor.lua("devkit.ocaml", "fill", str(target), lines)

        client = self._client(request, lsp.INFER_INTF)
        if client is not None:
            buf = request.buf
            if source != path:  # the server infers from an open document: open the .ml
                buf = self.editor.lua("devkit.lsp", "open", request.buf, str(source))
            self.lsp.send(buf, lsp.INFER_INTF, lsp.infer_intf_params(source),
                          lambda result: fill(lsp.read_infer_intf(result)))
            return
        if source == path:
            request.require_saved()
        elif self.editor.lua("devkit.ocaml", "is_modified", str(source)):
            raise DevkitError(f"{source.name} has unsaved changes: :write it and :Dune build "
                              "first")
        project = self.editor.project_of(request)

        def work() -> str:
            return infer_interface(project.root, source, self.editor.environment(project))

        self._background(work, fill)

    def _is_empty(self, path: Path) -> bool:
        lines = self.editor.lua("devkit.ocaml", "buffer_lines", str(path), 0, -1)
        if lines is not None:
            return not "".join(lines).strip()
        try:
            return not path.read_text(encoding="utf-8", errors="replace").strip()
        except FileNotFoundError:
            return True

    # -- typed holes

    def holes(self, request: Request) -> None:
        client = self._needs_lsp(request, "holes", lsp.TYPED_HOLES)
        if client is None:
            return
        path = request.require_file()

        def done(result: Any) -> None:
            ranges = lsp.read_typed_holes(result)
            lines = self.editor.nvim.api.buf_get_lines(request.buf, 0, -1, False)
            items = []
            for span in ranges:
                line, col = self.lsp.in_lines(lines, span.start, client)
                end_line, end_col = self.lsp.in_lines(lines, span.end, client)
                text = lines[line - 1] if line <= len(lines) else ""
                items.append({"bufnr": request.buf, "lnum": line, "col": col + 1,
                              "end_lnum": end_line, "end_col": end_col + 1,
                              "text": "typed hole: " + text.strip()})
            self.editor.lua("devkit.ocaml", "show_holes", items, f"Typed holes of {path.name}")

        self.lsp.send(request.buf, lsp.TYPED_HOLES, lsp.typed_holes_params(path), done)

    def jump_to_hole(self, request: Request, direction: Literal["next", "prev"]) -> None:
        feature = "nexthole" if direction == "next" else "prevhole"
        client = self._needs_lsp(request, feature, lsp.JUMP_TO_TYPED_HOLE)
        if client is None:
            return
        path = request.require_file()
        position = self.lsp.position(request.buf, request.line, request.col, client)

        def done(result: Any) -> None:
            span = lsp.read_jump_to_typed_hole(result)
            if span is None:
                self.editor.notify(f"no typed holes in {path.name}", WARN)
                return
            line, col = self.lsp.to_bytes(path, span.start, client)
            self.editor.lua("devkit.ocaml", "jump", str(path), line, col)

        self.lsp.send(request.buf, lsp.JUMP_TO_TYPED_HOLE,
                      lsp.jump_to_typed_hole_params(path, position, direction), done)

    def construct(self, request: Request) -> None:
        client = self._needs_lsp(request, "construct", lsp.CONSTRUCT)
        if client is None:
            return
        path = request.require_file()
        position = self.lsp.position(request.buf, request.line, request.col, client)

        def done(result: Any) -> None:
            found = lsp.read_construct(result)
            if found is None:
                self.editor.notify("no typed hole under the cursor: :OCaml construct fills a `_` "
                                   "(:OCaml nexthole finds one)", WARN)
                return
            if not found.candidates:
                self.editor.notify("ocamllsp found nothing to construct for this hole", WARN)
                return
            start = self.lsp.to_bytes(path, found.range.start, client)
            end = self.lsp.to_bytes(path, found.range.end, client)
            self.editor.lua("devkit.ocaml", "construct", request.buf, request.changedtick,
                            list(start), list(end), found.candidates)

        self.lsp.send(request.buf, lsp.CONSTRUCT, lsp.construct_params(path, position), done)

    # -- doctor

    def doctor(self, request: Request) -> None:
        def work() -> list[str]:
            project, root = project_or_reason(request.path or Path(request.cwd))
            if isinstance(project, Project):
                self.editor.environment(project, refresh=True)
            checks = doctor(detect_toolchain(root, os.environ), project)
            return [*report_lines(checks, root), "(q closes this buffer)"]

        self._background(work, lambda lines: self.editor.lua("devkit.ocaml", "show_report",
                                                             "devkit://doctor", lines))
