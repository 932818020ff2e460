"""`:Dune …`: dune runs on `devkit.ocaml.dune`'s threads, never on the editor's.

A command starts dune and returns. When dune exits, its output is parsed on the reader thread,
turned into quickfix and ``vim.diagnostic`` items there, and handed to the event loop
(`Editor.later`), which gives it to Neovim in one Lua call (``require('devkit.dune').publish``)
and then reports (``g:dune_last``, the summary, ``User DuneDone``).

One command per project at a time: a new one cancels the running one and says so (its result
is dropped). A watch (``dune build --watch``) publishes after every rebuild; dune 2.x takes no
build lock, so while the plugin's watch runs, ``:Dune build`` reports the watch's build instead
of starting a second dune, and other building commands are refused by `devkit.ocaml.dune` with
a message that says to stop the watch.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devkit.errors import DevkitError
from devkit.ocaml import dune
from devkit.ocaml.diagnostics import Diagnostic, parse
from devkit.ocaml.project import Project
from devkit.ocaml.promotion import (
    pending_promotions,
    promoted_paths,
    promotion_diff,
)
from devkit_nvim.editor import ERROR, INFO, WARN, Editor, Request

WATCH_LABEL = "dune build --watch"


@dataclass
class Outcome:
    """What a finished dune command reports: built on the reader thread, published on the
    event loop. `exited` is when dune's output was fully read (``time.monotonic``), before
    parsing it."""

    label: str
    root: Path
    exit_code: int
    duration_ms: int
    diagnostics: list[Diagnostic]
    output: str
    truncated_bytes: int = 0
    reload: list[str] = field(default_factory=list)
    exited: float = 0.0

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> int:
        return len(self.diagnostics) - self.errors

    def payload(self, open_quickfix: bool) -> str:
        """What ``require('devkit.dune').publish`` takes, as JSON: Neovim decodes a JSON string
        several times faster than the same table sent as msgpack (1,000 diagnostics: about
        5 ms against 25-40 ms)."""
        by_file: dict[str, list[dict]] = {}
        for diagnostic in self.diagnostics:
            path = os.path.join(self.root, diagnostic.path)
            by_file.setdefault(path, []).append(diagnostic.vim_diagnostic())
        return json.dumps({
            "root": str(self.root),
            "title": self.label,
            "items": [d.quickfix(self.root) for d in self.diagnostics],
            "diagnostics": by_file,
            "open_quickfix": open_quickfix and self.errors > 0,
            "reload": [str(self.root / path) for path in self.reload],
        })

    def last(self, publish_ms: int) -> dict:
        """``g:dune_last``."""
        return {
            "cmd": self.label,
            "exit_code": self.exit_code,
            "errors": self.errors,
            "warnings": self.warnings,
            "duration_ms": self.duration_ms,
            "publish_ms": publish_ms,
        }

    def summary(self) -> tuple[str, int]:
        """The message-area line and its level."""
        ms = self.duration_ms
        took = f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
        counts = [_plural(self.errors, "error"), _plural(self.warnings, "warning")]
        found = ", ".join(c for c in counts if c)
        dropped = (f"; {self.truncated_bytes} bytes of output dropped"
                   if self.truncated_bytes else "")
        if self.exit_code == 0:
            return f"{self.label}: ok{', ' + found if found else ''} ({took}{dropped})", INFO
        if found:
            return f"{self.label}: {found} ({took}{dropped})", WARN
        reason = _first_error_line(self.output)
        return (f"{self.label} failed (exit {self.exit_code}){': ' + reason if reason else ''}"
                f"; :Dune log shows the output ({took}{dropped})", WARN)


def _plural(count: int, noun: str) -> str:
    return "" if count == 0 else f"{count} {noun}{'s' if count != 1 else ''}"


def _first_error_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Error"):
            return line
    return lines[-1] if lines else ""


def outcome_of(label: str, project: Project, result: dune.DuneResult) -> Outcome:
    """Parse a finished command's output (called on the reader thread as dune exits)."""
    exited = time.monotonic()
    return Outcome(
        label=label,
        root=project.root,
        exit_code=result.exit_code,
        duration_ms=result.duration_ms,
        diagnostics=parse(result.output, project.root),
        output=result.output,
        truncated_bytes=result.truncated_bytes,
        reload=promoted_paths(result.output),
        exited=exited,
    )


@dataclass
class _Command:
    """A one-shot dune command of a project; replaced (and cancelled) by the next one."""

    label: str
    show_output: bool = False
    process: dune.DuneProcess | None = None


@dataclass
class _Watch:
    process: dune.DuneProcess | None = None
    last: Outcome | None = None  # the latest build, None until the first one ends


class DuneCommands:
    """The `:Dune` subcommands."""

    def __init__(self, editor: Editor) -> None:
        self.editor = editor
        self._running: dict[Path, _Command] = {}
        self._watches: dict[Path, _Watch] = {}
        self._output = ""
        self._subcommands: dict[str, Callable[[Request, list[str]], None]] = {
            "build": self._build,
            "test": self._test,
            "exec": self._exec,
            "clean": self._clean,
            "fmt": self._fmt,
            "watch": self._watch,
            "stop": self._stop,
            "promote": self._promote,
            "log": self._log,
        }

    def handle(self, request: Request) -> None:
        name = request.subcommand or "build"
        subcommand = self._subcommands.get(name)
        if subcommand is None:
            raise DevkitError(
                f"unknown :Dune subcommand {name!r}; one of: {', '.join(self._subcommands)}"
            )
        subcommand(request, request.args[1:])

    # -- subcommands

    def _build(self, request: Request, args: list[str]) -> None:
        project = self.editor.project_of(request)
        watch = self._watches.get(project.root)
        if watch is not None and not args:
            self._report_watch(watch)
            return
        self._run(project, ["build", *_targets(project, request, args)])

    def _test(self, request: Request, args: list[str]) -> None:
        project = self.editor.project_of(request)
        self._run(project, ["test", *_targets(project, request, args)])

    def _exec(self, request: Request, args: list[str]) -> None:
        if not args:
            raise DevkitError("usage: :Dune exec NAME [ARGS…] (NAME: a public executable or "
                              "./path/to/main.exe relative to the project root)")
        project = self.editor.project_of(request)
        self._run(project, ["exec", "--", *args], show_output=True)

    def _clean(self, request: Request, args: list[str]) -> None:
        self._run(self.editor.project_of(request), ["clean", *args])

    def _fmt(self, request: Request, args: list[str]) -> None:
        # `dune fmt` (dune ≥ 3) is this alias with auto-promotion; dune 2.9 only has this form.
        self._run(self.editor.project_of(request), ["build", "@fmt", "--auto-promote", *args])

    def _promote(self, request: Request, args: list[str]) -> None:
        project = self.editor.project_of(request)
        files = [project.root / _from_cwd(request, arg) for arg in args] or None
        pending = pending_promotions(project)
        if files is not None:
            pending = [path for path in pending if path in files]
        if not pending:
            what = " for " + ", ".join(args) if args else ""
            self.editor.notify(f"nothing to promote{what} (the last build left no corrections)")
            return
        if request.bang:
            self._run(project, ["promote", *[str(project.relative(p)) for p in pending]])
            return
        diff = promotion_diff(project, pending)
        self.editor.lua("devkit.dune", "confirm_promotion", diff, [str(p) for p in pending])

    def _log(self, request: Request, args: list[str]) -> None:
        if not self._output:
            self.editor.notify("no dune output yet: run :Dune build first")
            return
        self.editor.lua("devkit.dune", "show_output", self._output, True)

    def _watch(self, request: Request, args: list[str]) -> None:
        project = self.editor.project_of(request)
        if project.root in self._watches:
            self.editor.notify(f"already watching {project.root} (:Dune stop ends it)")
            return
        self._cancel_running(project, WATCH_LABEL)
        watch = _Watch()
        self._watches[project.root] = watch

        def on_build(build: dune.WatchBuild) -> None:  # on the reader thread
            result = dune.DuneResult([], 0 if build.succeeded else 1, build.output, 0,
                                     build.duration_ms, False)
            self.editor.later(self._watch_built, watch, outcome_of(WATCH_LABEL, project, result))

        def on_exit(result: dune.DuneResult) -> None:
            self.editor.later(self._watch_ended, project, watch, result)

        watch.process = dune.start_watch(
            project, self.editor.environment(project), on_build, targets=args, on_exit=on_exit
        )
        self.editor.notify(f"watching {project.root}: diagnostics refresh after every "
                           "rebuild (:Dune stop ends it)")

    def _stop(self, request: Request, args: list[str]) -> None:
        project = self.editor.project_of(request)
        stopped = []
        watch = self._watches.pop(project.root, None)
        if watch is not None and watch.process is not None:
            watch.process.cancel()
            stopped.append(WATCH_LABEL)
        running = self._running.pop(project.root, None)
        if running is not None and running.process is not None and not running.process.done:
            running.process.cancel()
            stopped.append(running.label)
        if stopped:
            self.editor.notify(f"stopped {' and '.join(stopped)}")
        else:
            self.editor.notify(f"nothing is running for {project.root}")

    # -- running a command

    def _run(self, project: Project, args: list[str], show_output: bool = False) -> None:
        command = _Command(" ".join(["dune", *args]), show_output)
        env = self.editor.environment(project)
        self._cancel_running(project, command.label)
        unsaved = self.editor.lua("devkit.dune", "unsaved", str(project.root))
        if unsaved:
            self.editor.notify(f"unsaved changes in {', '.join(unsaved)}: dune builds the files "
                               "as they are on disk", WARN)

        def on_exit(result: dune.DuneResult) -> None:  # on the reader thread
            if not result.cancelled:
                outcome = outcome_of(command.label, project, result)
                self.editor.later(self._finished, command, outcome, result)

        self._running[project.root] = command
        command.process = dune.start(args, project, env, on_exit=on_exit)

    def _cancel_running(self, project: Project, starting: str) -> None:
        running = self._running.pop(project.root, None)
        if running is not None and running.process is not None and not running.process.done:
            running.process.cancel()
            self.editor.notify(f"cancelled the running `{running.label}` to start `{starting}`",
                               WARN)

    def _finished(self, command: _Command, outcome: Outcome, result: dune.DuneResult) -> None:
        if self._running.get(outcome.root) is not command:
            return  # cancelled, or replaced by a newer command
        del self._running[outcome.root]
        self._output = result.output
        if result.blocked_by_watch:
            self.editor.notify(result.output.strip(), WARN)
            return
        self._publish(outcome)
        if command.show_output:
            self.editor.lua("devkit.dune", "show_output", result.output, False)

    def _publish(self, outcome: Outcome) -> None:
        open_quickfix = bool(self.editor.nvim.vars.get("devkit_dune_open_quickfix", 1))
        self.editor.lua("devkit.dune", "publish", outcome.payload(open_quickfix))
        publish_ms = int((time.monotonic() - outcome.exited) * 1000)
        message, level = outcome.summary()
        self.editor.lua("devkit.dune", "done", outcome.last(publish_ms), message, level)

    # -- the watch

    def _watch_built(self, watch: _Watch, outcome: Outcome) -> None:
        if self._watches.get(outcome.root) is not watch:
            return  # stopped meanwhile
        watch.last = outcome
        self._output = outcome.output
        self._publish(outcome)

    def _report_watch(self, watch: _Watch) -> None:
        if watch.last is None:  # its first build is published when it ends
            self.editor.notify("the watch is building; its result follows")
            return
        self.editor.notify("a watch is running (:Dune stop ends it): its latest build follows")
        self._publish(watch.last)

    def _watch_ended(self, project: Project, watch: _Watch, result: dune.DuneResult) -> None:
        if self._watches.get(project.root) is watch:
            del self._watches[project.root]
        if result.cancelled:
            return
        self._output = result.output
        reason = _first_error_line(result.output) or f"exit {result.exit_code}"
        self.editor.notify(f"{WATCH_LABEL} ended: {reason}", ERROR)


def _from_cwd(request: Request, path: str) -> Path:
    """A path typed on the command line, relative to Neovim's working folder."""
    return Path(request.cwd, path).resolve() if not Path(path).is_absolute() else Path(path)


def _targets(project: Project, request: Request, args: list[str]) -> list[str]:
    """Targets as dune, run in the project root, understands them: aliases (``@x``) as they
    are, paths relative to Neovim's working folder made relative to the root."""
    targets = []
    for arg in args:
        if arg.startswith(("@", "-")):
            targets.append(arg)
        else:
            targets.append(str(project.relative(_from_cwd(request, arg))))
    return targets
