"""`:Dune …`: dune runs on `devkit.ocaml.dune`'s threads, never on the editor's.

A command starts dune and returns. When dune exits, its output is parsed on the reader thread
(`outcome_of`) and handed to the event loop (`Editor.later`), which gives it to Neovim in one Lua
call (``require('devkit.dune').publish``) and then reports (``g:dune_last``, the summary,
``User DuneDone``).

One command per project at a time: a new one cancels the running one and says so (its result
is dropped). A watch (``dune build --watch``) publishes after every rebuild. dune 2.x takes no
build lock, and `devkit.ocaml.dune` does not start a building command next to a watch (they
would race on ``_build``); so while the plugin's own watch runs, ``:Dune build`` reports the
watch's build, and another building command pauses the watch, runs, and resumes it. A watch
not started by this Neovim is reported (``:Dune! stop`` ends it). The plugin's dune processes
end with Neovim (`shutdown`).
"""

from __future__ import annotations

import atexit
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devkit.errors import DevkitError
from devkit.ocaml import dune
from devkit.ocaml.project import Project
from devkit.ocaml.promotion import pending_promotions, promotion_diff
from devkit_nvim.editor import ERROR, WARN, Editor, Request
from devkit_nvim.outcome import Outcome, outcome_of

WATCH_LABEL = "dune build --watch"


@dataclass
class _Command:
    """A one-shot dune command of a project; replaced (and cancelled) by the next one.
    `replaces`: its diagnostics replace the project's (see `Outcome`); `resume_watch`: the
    targets of the watch it paused, restarted when it ends."""

    project: Project
    args: list[str]
    show_output: bool = False
    replaces: bool = True
    resume_watch: list[str] | None = None
    process: dune.DuneProcess | None = None

    @property
    def label(self) -> str:
        return " ".join(["dune", *self.args])


@dataclass
class _Watch:
    targets: list[str]
    process: dune.DuneProcess | None = None
    last: Outcome | None = None  # the latest build, None until the first one ends
    then: _Command | None = None  # to run once the watch has stopped (it pauses for it)


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
        atexit.register(self.shutdown)  # the host exiting without Neovim's VimLeavePre

    def handle(self, request: Request) -> None:
        name = request.subcommand or "build"
        subcommand = self._subcommands.get(name)
        if subcommand is None:
            raise DevkitError(
                f"unknown :Dune subcommand {name!r}; one of: {', '.join(self._subcommands)}"
            )
        subcommand(request, request.args[1:])

    def shutdown(self) -> None:
        """Stop every dune process this plugin started (Neovim is exiting)."""
        for watch in self._watches.values():
            if watch.process is not None:
                watch.process.cancel()
        for command in self._running.values():
            if command.process is not None:
                command.process.cancel()
        self._watches.clear()
        self._running.clear()

    # -- subcommands

    def _build(self, request: Request, args: list[str]) -> None:
        project = self.editor.project_of(request)
        watch = self._watches.get(project.root)
        if watch is not None and not args:
            self._report_watch(watch)
            return
        self._run(_Command(project, ["build", *_targets(project, request, args)]))

    def _test(self, request: Request, args: list[str]) -> None:
        project = self.editor.project_of(request)
        self._run(_Command(project, ["test", *_targets(project, request, args)]))

    def _exec(self, request: Request, args: list[str]) -> None:
        if not args:
            raise DevkitError("usage: :Dune exec NAME [ARGS…] (NAME: a public executable or "
                              "./path/to/main.exe relative to the project root)")
        project = self.editor.project_of(request)
        self._run(_Command(project, ["exec", "--", *args], show_output=True))

    def _clean(self, request: Request, args: list[str]) -> None:
        self._run(_Command(self.editor.project_of(request), ["clean", *args], replaces=False))

    def _fmt(self, request: Request, args: list[str]) -> None:
        # `dune fmt` (dune ≥ 3) is this alias with auto-promotion; dune 2.9 only has this form.
        self._run(_Command(self.editor.project_of(request),
                           ["build", "@fmt", "--auto-promote", *args], replaces=False))

    def _promote(self, request: Request, args: list[str]) -> None:
        project = self.editor.project_of(request)
        pending = pending_promotions(project)
        if args:
            wanted = {project.root / _from_cwd(request, arg): arg for arg in args}
            unknown = [arg for path, arg in wanted.items() if path not in pending]
            if unknown:
                self.editor.notify(f"nothing to promote for {', '.join(unknown)}", WARN)
            pending = [path for path in pending if path in wanted]
        if not pending:
            if not args:
                self.editor.notify("nothing to promote (the last build left no corrections)")
            return
        if request.bang:
            relative = [str(project.relative(path)) for path in pending]
            self._run(_Command(project, ["promote", *relative], replaces=False))
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
        self._start_watch(project, _targets(project, request, args))
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
            return
        other = dune.find_watch(project)
        if other and request.bang:
            dune.stop_watch(other)
            self.editor.notify(f"stopped the `{WATCH_LABEL}` (pid {other}) of {project.root}")
        elif other:
            self.editor.notify(f"a `{WATCH_LABEL}` (pid {other}) not started by this Neovim is "
                               f"running for {project.root}: :Dune! stop ends it", WARN)
        else:
            self.editor.notify(f"nothing is running for {project.root}")

    # -- running a command

    def _run(self, command: _Command) -> None:
        project = command.project
        env = self.editor.environment(project)
        self._cancel_running(project, command.label)
        unsaved = self.editor.lua("devkit.dune", "unsaved", str(project.root))
        if unsaved:
            self.editor.notify(f"unsaved changes in {', '.join(unsaved)}: dune builds the files "
                               "as they are on disk", WARN)

        def on_exit(result: dune.DuneResult) -> None:  # on the reader thread
            if not result.cancelled:
                outcome = outcome_of(command.label, project, result, command.replaces)
                self.editor.later(self._finished, command, outcome)

        command.process = dune.start(command.args, project, env, on_exit=on_exit)
        self._running[project.root] = command  # before on_exit's `later` can run

    def _cancel_running(self, project: Project, starting: str) -> None:
        running = self._running.pop(project.root, None)
        if running is not None and running.process is not None and not running.process.done:
            running.process.cancel()
            self.editor.notify(f"cancelled the running `{running.label}` to start `{starting}`",
                               WARN)

    def _finished(self, command: _Command, outcome: Outcome) -> None:
        root = command.project.root
        if self._running.get(root) is not command:
            return  # cancelled, or replaced by a newer command
        del self._running[root]
        watch = self._watches.get(root)
        if outcome.blocked and watch is not None and watch.then is None:
            self._pause_watch(watch, command)
            return
        self._output = outcome.output
        self._publish(outcome)
        if command.show_output:
            self.editor.lua("devkit.dune", "show_output", outcome.output, False)
        if command.resume_watch is not None and root not in self._watches:
            self._start_watch(command.project, command.resume_watch)
            self.editor.notify("the watch is back on")

    def _publish(self, outcome: Outcome) -> None:
        open_quickfix = bool(self.editor.nvim.vars.get("devkit_dune_open_quickfix", 1))
        self.editor.lua("devkit.dune", "publish", outcome.payload(open_quickfix))
        publish_ms = int((time.monotonic() - outcome.exited) * 1000)
        message, level = outcome.summary()
        self.editor.lua("devkit.dune", "done", outcome.last(publish_ms), message, level)

    # -- the watch

    def _start_watch(self, project: Project, targets: list[str]) -> None:
        watch = _Watch(targets)

        def on_build(build: dune.WatchBuild) -> None:  # on the reader thread
            result = dune.DuneResult([], 0 if build.succeeded else 1, build.output, 0,
                                     build.duration_ms, False)
            self.editor.later(self._watch_built, watch, outcome_of(WATCH_LABEL, project, result))

        def on_exit(result: dune.DuneResult) -> None:
            self.editor.later(self._watch_ended, project, watch, result)

        env = self.editor.environment(project)
        watch.process = dune.start_watch(project, env, on_build, targets=targets,
                                         on_exit=on_exit)
        self._watches[project.root] = watch  # only once it started

    def _pause_watch(self, watch: _Watch, command: _Command) -> None:
        """dune 2.x refused `command` next to the watch: stop the watch, run the command when
        the watch has exited (`_watch_ended`), then start the watch again (`_finished`)."""
        self.editor.notify(f"pausing the watch to run `{command.label}` (dune 2 cannot share "
                           "_build with it)")
        command.resume_watch = watch.targets
        watch.then = command
        if watch.process is not None:
            watch.process.cancel()

    def _watch_built(self, watch: _Watch, outcome: Outcome) -> None:
        if self._watches.get(outcome.root) is not watch or watch.then is not None:
            return  # stopped or pausing meanwhile
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
        if watch.then is not None:
            self._run(watch.then)
            return
        if result.cancelled:
            return
        self._output = result.output
        outcome = outcome_of(WATCH_LABEL, project, result)
        message, _ = outcome.summary()
        self.editor.notify(f"{WATCH_LABEL} ended: {message}", ERROR)


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
