"""Running dune without making anyone wait: streaming, cancellable, memory-bounded; and the watch
process. (Promotion is in `promotion`.)

What dune 2.9.3 (Debian's ``ocaml-dune``) really does, checked on this project's machines, and
what the code below does about it:

- **Root and arguments.** Every command runs with ``cwd`` = the project root and
  ``--root ROOT`` placed right after the subcommand, so it precedes any ``--`` (``dune exec
  --root R -- prog args``). Targets and ``dune promote FILE`` arguments are relative to the root;
  2.9.3 crashes with an internal error on an absolute ``dune promote`` path, so `promote` passes
  root-relative ones.
- **Output.** stdout and stderr are merged (dune writes diagnostics and action output on
  stderr). With no terminal dune picks its ``quiet`` display unless ``INSIDE_EMACS`` is set, so
  one-shot commands run with ``INSIDE_EMACS`` removed: no status line, no colours from dune
  (a ``(diff …)`` failure still shows ``git diff --color=always`` output).
- **Build lock.** dune 2.9.3 takes no lock: a second ``dune build`` next to a running
  ``dune build --watch`` runs concurrently (exit 0) and both write ``_build``. dune ≥ 3 holds an
  ``flock`` on ``_build/.lock`` (the file holds its pid) and, while a watch server runs, either
  forwards ``dune build`` to it over RPC or fails with "A running dune (pid: N) instance has
  locked the build directory". `watch_running` therefore looks for the lock (dune ≥ 3) and for a
  ``dune … --watch`` process for this root (any version, from ``/proc``). `start` does not
  start a second building dune 2.x next to a watch; it returns a finished result whose output
  says so. With dune ≥ 3 it runs the command (dune forwards it) and, if dune still reports the
  lock, explains it the same way.
- **Watch mode.** dune 2.9.3 needs ``inotifywait`` (Debian: ``inotify-tools``) or ``fswatch``;
  without them it exits 1 with "Please install inotifywait to enable watch mode". In its quiet
  display it marks a new cycle only by a ``********** NEW BUILD **********`` banner, never its
  end. With ``INSIDE_EMACS`` set it keeps its progress display: status updates end in ``\\r``
  and each cycle finishes with a "Success, waiting for filesystem changes..." or "Had errors,
  waiting for filesystem changes..." status. `start_watch` runs it that way and splits the
  stream into cycles at those statuses (dune 3 prints the same words).
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import errno
import fcntl
import os
import re
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from devkit.errors import DevkitError
from devkit.ocaml.project import Project, dune_root
from devkit.ocaml.toolchain import dune_major, tool_version

DEFAULT_MAX_OUTPUT = 8 << 20
#: Longest line handed to ``on_line``; longer ones arrive in pieces of this size.
MAX_LINE_CHARS = 64 * 1024
#: How long to keep reading after dune exited while a leftover child still holds the pipe.
_ORPHAN_GRACE = 1.0

#: Subcommands that take dune's common options (``--root``), from ``dune CMD --help`` of 2.9.3.
ROOT_SUBCOMMANDS = frozenset(
    {
        "build", "cache", "clean", "compute", "describe", "exec", "external-lib-deps", "init",
        "install", "installed-libraries", "ocaml-merlin", "printenv", "promote", "rules",
        "runtest", "test", "top", "uninstall", "upgrade", "utop", "fmt", "monitor", "rpc",
        "diagnostics", "shutdown", "tools", "pkg", "promotion",
    }
)  # fmt: skip
#: Subcommands that build in ``_build``, and so race with a running dune 2.x watch.
BUILDING_SUBCOMMANDS = frozenset(
    {"build", "runtest", "test", "exec", "clean", "install", "utop", "top", "fmt", "describe",
     "rules"}
)  # fmt: skip
WATCH_FLAGS = frozenset({"-w", "--watch", "--passive-watch-mode"})

_LOCK_MESSAGE = re.compile(r"has locked the build\s+directory|build directory locked", re.I)
_CYCLE_END = re.compile(r"^(Success|Had errors), waiting for filesystem changes")
_NEW_BUILD = re.compile(r"^\*+ NEW BUILD.*\*+$")


class DuneNotFound(DevkitError):
    """No ``dune`` on the PATH of the environment dune was to run in."""


@dataclass(frozen=True)
class DuneResult:
    """What one dune command did.

    `output` is stdout and stderr merged, decoded with ``errors="replace"``; when it was longer
    than the limit, its first and last parts are kept (cut at line ends) with one line
    ``[devkit: N bytes of dune output dropped here]`` between them, and `truncated_bytes` = N.
    `exit_code` is dune's, negative for a signal (as in `subprocess`); `cancelled` is True when
    `DuneProcess.cancel` stopped it. `blocked_by_watch` is True when dune was not started (or
    dune 3 refused) because a ``dune build --watch`` holds this root; `output` then says so.
    """

    cmd: list[str]
    exit_code: int
    output: str
    truncated_bytes: int
    duration_ms: int
    cancelled: bool
    blocked_by_watch: bool = False


# --- bounded output -------------------------------------------------------------------------


class BoundedOutput:
    """The first and last bytes of a stream, at most `limit` in all, and how many were dropped.

    Adding is O(len(chunk)); memory stays O(limit) however much is added.
    """

    def __init__(self, limit: int) -> None:
        if limit < 2:
            raise ValueError("the output limit must be at least 2 bytes")
        self._head_limit = limit // 2
        self._tail_limit = limit - self._head_limit
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self._tail.append(chunk)
        self._tail_size += len(chunk)
        while self._tail_size - len(self._tail[0]) >= self._tail_limit:
            self._tail_size -= len(self._tail.popleft())
        excess = self._tail_size - self._tail_limit
        if excess > 0:
            self._tail[0] = self._tail[0][excess:]
            self._tail_size -= excess

    def parts(self) -> tuple[bytes, bytes, int]:
        """(head, tail, dropped): when something was dropped, the head ends and the tail starts
        at a line boundary where the kept bytes contain one (the cut-off pieces count as
        dropped)."""
        head = bytes(self._head)
        tail = b"".join(self._tail)
        if self.total == len(head) + len(tail):
            return head, tail, 0
        cut = head.rfind(b"\n")
        if cut >= 0:
            head = head[: cut + 1]
        start = tail.find(b"\n")
        if 0 <= start < len(tail) - 1:
            tail = tail[start + 1 :]
        return head, tail, self.total - len(head) - len(tail)

    def text(self) -> tuple[str, int]:
        """The kept output as text, and the number of bytes dropped from its middle."""
        head, tail, dropped = self.parts()
        if not dropped:
            return (head + tail).decode("utf-8", errors="replace"), 0
        marker = f"[devkit: {dropped} bytes of dune output dropped here]\n"
        if head and not head.endswith(b"\n"):
            marker = "\n" + marker
        text = head.decode("utf-8", errors="replace") + marker
        return text + tail.decode("utf-8", errors="replace"), dropped


# --- line splitting -------------------------------------------------------------------------


class _LineSplitter:
    """Bytes in, ``("line", text)`` and (with `split_cr`) ``("status", text)`` events out.

    A status is a segment ended by ``\\r``: dune's progress display redraws its status line
    that way. Lines longer than `MAX_LINE_CHARS` are split so memory stays bounded.
    """

    def __init__(self, split_cr: bool) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._pattern = re.compile("[\r\n]" if split_cr else "\n")

    def feed(self, data: bytes, final: bool = False) -> list[tuple[str, str]]:
        text = self._partial + self._decoder.decode(data, final=final)
        events: list[tuple[str, str]] = []
        start = 0
        for match in self._pattern.finditer(text):
            segment = text[start : match.start()]
            if match.group() == "\n":
                events.append(("line", segment.rstrip("\r")))
            else:
                events.append(("status", segment))
            start = match.end()
        rest = text[start:]
        while len(rest) > MAX_LINE_CHARS:
            events.append(("line", rest[:MAX_LINE_CHARS]))
            rest = rest[MAX_LINE_CHARS:]
        if final and rest:
            events.append(("line", rest))
            rest = ""
        self._partial = rest
        return events


@dataclass(frozen=True)
class WatchBuild:
    """One build cycle of ``dune build --watch``: its output lines joined with ``\\n`` (empty
    for a clean build), whether dune said "Success" (rather than "Had errors"), and how long it
    took, from its first sign of activity to its end."""

    output: str
    succeeded: bool
    duration_ms: int


class WatchCycles:
    """Splits the line/status events of ``dune build --watch`` into build cycles.

    A cycle ends at a "Success/Had errors, waiting for filesystem changes" status (or line)
    after some activity; dune repaints that status when the next cycle starts, which is not a
    new cycle. The ``NEW BUILD`` banner and blank edges are not part of a cycle's output.
    `on_build` gets a `WatchBuild` for each cycle.
    """

    def __init__(
        self, on_build: Callable[[WatchBuild], None], limit: int = DEFAULT_MAX_OUTPUT
    ) -> None:
        self._on_build = on_build
        self._limit = limit
        self._lines = BoundedOutput(limit)
        self._active = True  # the first build starts with the process
        self._started = time.monotonic()

    def line(self, text: str) -> None:
        if _CYCLE_END.match(text.strip()):
            self._end(text.strip())
        elif _NEW_BUILD.match(text.strip()):
            self._lines = BoundedOutput(self._limit)
        else:
            self._lines.add(text.encode("utf-8") + b"\n")
            if text.strip():
                self._activity()

    def status(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if _CYCLE_END.match(text):
            self._end(text)
        else:
            self._activity()

    def _activity(self) -> None:
        if not self._active:
            self._active = True
            self._started = time.monotonic()

    def _end(self, status: str) -> None:
        if not self._active:
            return
        output, _ = self._lines.text()
        self._lines = BoundedOutput(self._limit)
        self._active = False
        duration_ms = int((time.monotonic() - self._started) * 1000)
        succeeded = status.startswith("Success")
        self._on_build(WatchBuild(output.strip("\n"), succeeded, duration_ms))


# --- processes ------------------------------------------------------------------------------


def _process_ids() -> list[int]:
    """Pids of the processes on this machine (Linux ``/proc``; empty elsewhere)."""
    try:
        return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return []


def _session_members(session: int) -> list[int]:
    """Pids of live processes in session `session` (Linux ``/proc``; empty elsewhere)."""
    pids = []
    for pid in _process_ids():
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # Fields after the parenthesised command: state ppid pgrp session ...
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 3 and fields[0] != b"Z" and int(fields[3]) == session:
            pids.append(pid)
    return pids


class DuneProcess:
    """A running (or finished) dune command. Build with `start` or `start_watch`.

    Callbacks (`on_line`, `on_exit`, a watch's `on_build`) run on the reader thread, never on
    the caller's; an exception in one is kept in `callback_errors` and reading goes on.
    """

    def __init__(
        self,
        cmd: list[str],
        *,
        on_line: Callable[[str], None] | None = None,
        on_exit: Callable[[DuneResult], None] | None = None,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT,
        watch: WatchCycles | None = None,
        amend: Callable[[DuneResult], DuneResult] | None = None,
    ) -> None:
        self.cmd = list(cmd)
        self.pid: int | None = None
        self.callback_errors: list[BaseException] = []
        self._on_line = on_line
        self._on_exit = on_exit
        self._watch = watch
        self._amend = amend
        self._output = BoundedOutput(max_output_bytes)
        self._splitter = (
            _LineSplitter(split_cr=watch is not None) if on_line or watch is not None else None
        )
        self._done = threading.Event()
        self._exited = threading.Event()
        self._result: DuneResult | None = None
        self._cancelled = False
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._proc: subprocess.Popen[bytes] | None = None

    def _launch(self, cwd: Path, env: Mapping[str, str]) -> DuneProcess:
        self._proc = subprocess.Popen(
            self.cmd,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self._proc.pid
        reader = threading.Thread(target=self._read, name=f"dune-reader-{self.pid}", daemon=True)
        reader.start()
        return self

    @classmethod
    def finished(
        cls, result: DuneResult, on_exit: Callable[[DuneResult], None] | None = None
    ) -> DuneProcess:
        """A process object for a command that was not run; `on_exit` still runs on a thread."""
        process = cls(result.cmd)
        process._result = result
        process._exited.set()
        process._done.set()
        if on_exit is not None:
            threading.Thread(target=process._call, args=(on_exit, result), daemon=True).start()
        return process

    # -- public API

    @property
    def done(self) -> bool:
        """True once dune has exited and its output has been read (the result is ready)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> DuneResult:
        """The result, waiting up to `timeout` seconds (forever when None); `TimeoutError`
        when dune is still running then."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"`{' '.join(self.cmd)}` still running after {timeout} s")
        assert self._result is not None
        return self._result

    def cancel(self, grace: float = 2.0) -> None:
        """Stop dune: SIGTERM to its process group (and any process left in its session), then
        SIGKILL after `grace` seconds if it is still there. Returns at once; `wait` for the
        result, whose `cancelled` is True. The process is reaped: no zombie is left."""
        with self._lock:
            if self._proc is None or self._done.is_set():
                return
            self._cancelled = True
        self._signal(signal.SIGTERM)
        threading.Thread(target=self._kill_after, args=(grace,), daemon=True).start()

    # -- internals

    def _signal(self, signum: int) -> None:
        assert self._proc is not None
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signum)
        for pid in _session_members(self._proc.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)

    def _kill_after(self, grace: float) -> None:
        self._exited.wait(grace)
        self._signal(signal.SIGKILL)

    def _call(self, callback: Callable, *args) -> None:
        try:
            callback(*args)
        except Exception as error:  # a callback's failure must not stop the reader
            self.callback_errors.append(error)

    def _feed(self, chunk: bytes, final: bool = False) -> None:
        if self._watch is None:
            self._output.add(chunk)
        if self._splitter is None:
            return
        for kind, text in self._splitter.feed(chunk, final):
            if kind == "status":
                if self._watch is not None:
                    self._call(self._watch.status, text)
                continue
            if self._watch is not None:
                self._output.add(text.encode("utf-8") + b"\n")
                self._call(self._watch.line, text)
            if self._on_line is not None:
                self._call(self._on_line, text)

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        exited_at: float | None = None
        try:
            while True:
                if selector.select(timeout=0.2):
                    try:
                        chunk = os.read(fd, 1 << 16)
                    except OSError as error:
                        if error.errno == errno.EINTR:
                            continue
                        break
                    if not chunk:
                        break
                    self._feed(chunk)
                    continue
                if self._proc.poll() is not None:
                    self._exited.set()
                    # dune is gone; a leftover child may still hold the pipe open.
                    exited_at = exited_at or time.monotonic()
                    if time.monotonic() - exited_at > _ORPHAN_GRACE:
                        break
        finally:
            selector.close()
            self._feed(b"", final=True)
            self._proc.stdout.close()
            exit_code = self._proc.wait()
            self._exited.set()
            duration_ms = int((time.monotonic() - self._started) * 1000)
            output, dropped = self._output.text()
            result = DuneResult(self.cmd, exit_code, output, dropped, duration_ms, self._cancelled)
            if self._amend is not None:
                result = self._amend(result)
            self._result = result
            self._done.set()
            if self._on_exit is not None:
                self._call(self._on_exit, self._result)


# --- commands -------------------------------------------------------------------------------


def find_dune(env: Mapping[str, str]) -> Path:
    """The ``dune`` on `env`'s PATH; `DuneNotFound` with the install command otherwise."""
    found = shutil.which("dune", path=env.get("PATH", ""))
    if not found:
        raise DuneNotFound(
            "dune is not on PATH; install it with: apt-get install ocaml-nox ocaml-dune "
            "(Debian) or opam install dune"
        )
    return Path(found)


def dune_command(dune: Path | str, args: list[str], project: Project) -> list[str]:
    """``dune ARGS`` with ``--root ROOT`` right after the subcommand (so before any ``--``),
    unless the subcommand takes no common options or ``--root`` is already given.

    >>> dune_command("dune", ["exec", "--", "./main.exe", "-v"], Project(Path("/p"), "git"))
    ['dune', 'exec', '--root', '/p', '--', './main.exe', '-v']
    """
    args = list(args)
    cmd = [str(dune), *args]
    if not args or args[0] not in ROOT_SUBCOMMANDS:
        return cmd
    options = args[: args.index("--")] if "--" in args else args
    if any(a == "--root" or a.startswith("--root=") for a in options):
        return cmd
    return [str(dune), args[0], "--root", str(project.root), *args[1:]]


def _oneshot_env(env: Mapping[str, str]) -> dict[str, str]:
    child = dict(env)
    child.pop("INSIDE_EMACS", None)  # keep dune's quiet display on a pipe
    return child


def _watch_message(project: Project, pid: int) -> str:
    holder = f" (pid {pid})" if pid > 0 else ""
    return (
        f"a `dune build --watch`{holder} is running for {project.root}; its diagnostics are "
        f"live: stop it or let it build"
    )


def start(
    args: list[str],
    project: Project,
    env: Mapping[str, str],
    on_line: Callable[[str], None] | None = None,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT,
    on_exit: Callable[[DuneResult], None] | None = None,
) -> DuneProcess:
    """Start ``dune ARGS --root ROOT`` in the project root and return at once.

    `env` is the environment to run in (a `Toolchain.env`); `on_line` receives each output line
    (without its newline) from the reader thread as it arrives; `on_exit` receives the result
    there too. Raises `DuneNotFound` when `env` has no dune. When a ``dune build --watch``
    holds the root, a building command is not started next to dune 2.x (which would race on
    ``_build``): the returned process is already done with a `DuneResult` whose
    `blocked_by_watch` is True; dune ≥ 3 is started and forwards the build to the watch.
    """
    dune = find_dune(env)
    cmd = dune_command(dune, args, project)
    amend = None
    if args and args[0] in BUILDING_SUBCOMMANDS:
        watcher = find_watch(project)
        if watcher is not None:
            major = dune_major(tool_version(dune, ("--version",), env))
            if major is None or major < 3:
                result = DuneResult(
                    cmd, 1, _watch_message(project, watcher) + "\n", 0, 0, False, True
                )
                return DuneProcess.finished(result, on_exit)
            amend = _lock_explainer(project, watcher)
    return DuneProcess(
        cmd,
        on_line=on_line,
        on_exit=on_exit,
        max_output_bytes=max_output_bytes,
        amend=amend,
    )._launch(project.root, _oneshot_env(env))


def _lock_explainer(project: Project, watcher: int) -> Callable[[DuneResult], DuneResult]:
    """For dune ≥ 3 next to a watch: a lock refusal is explained, not just shown."""

    def explain(result: DuneResult) -> DuneResult:
        if result.exit_code == 0 or not _LOCK_MESSAGE.search(result.output):
            return result
        output = _watch_message(project, watcher) + "\n" + result.output
        return dataclasses.replace(result, output=output, blocked_by_watch=True)

    return explain


def start_watch(
    project: Project,
    env: Mapping[str, str],
    on_build: Callable[[WatchBuild], None],
    on_line: Callable[[str], None] | None = None,
    targets: list[str] | None = None,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT,
    on_exit: Callable[[DuneResult], None] | None = None,
) -> DuneProcess:
    """Start ``dune build --watch --root ROOT [TARGETS]``; `on_build` gets a `WatchBuild` for each
    build cycle (the first build, then one per rebuild) from the reader thread, `on_line` each
    output line. Stop it with `DuneProcess.cancel`. dune 2.x needs ``inotifywait``
    (``apt-get install inotify-tools``) or ``fswatch``; without them dune exits at once and
    says so in the result's output. A second watch for the same root is not started."""
    dune = find_dune(env)
    cmd = dune_command(dune, ["build", "--watch", *(targets or [])], project)
    watcher = find_watch(project)
    if watcher is not None:
        result = DuneResult(cmd, 1, _watch_message(project, watcher) + "\n", 0, 0, False, True)
        return DuneProcess.finished(result, on_exit)
    child = dict(env)
    # dune's progress display (kept off a terminal by INSIDE_EMACS) ends every cycle with a
    # "… waiting for filesystem changes" status; its quiet display does not.
    child["INSIDE_EMACS"] = "devkit"
    return DuneProcess(
        cmd,
        on_line=on_line,
        on_exit=on_exit,
        max_output_bytes=max_output_bytes,
        watch=WatchCycles(on_build, max_output_bytes),
    )._launch(project.root, child)


# --- finding a running watch ----------------------------------------------------------------


def _cmdline(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    return [a.decode("utf-8", errors="replace") for a in raw.split(b"\0")[:-1]] or None


def _is_watch(argv: list[str]) -> bool:
    options = argv[: argv.index("--")] if "--" in argv else argv
    return any(a in WATCH_FLAGS or a.startswith("--watch=") for a in options)


def _root_of(pid: int, argv: list[str]) -> Path | None:
    try:
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg.startswith("--root="):
            return (cwd / arg[len("--root=") :]).resolve()
        if arg == "--root" and index + 1 < len(argv):
            return (cwd / argv[index + 1]).resolve()
    found = dune_root(cwd)
    return (found[0] if found else cwd).resolve()


def _watch_processes(root: Path) -> list[int]:
    """Pids of ``dune … --watch`` processes whose workspace root is `root` (Linux ``/proc``)."""
    pids = []
    for pid in _process_ids():
        argv = _cmdline(pid) if pid != os.getpid() else None
        if not argv or os.path.basename(argv[0]) not in ("dune", "dune.exe"):
            continue
        if _is_watch(argv[1:]) and _root_of(pid, argv[1:]) == root:
            pids.append(pid)
    return sorted(pids)


def build_lock_holder(project: Project) -> int | None:
    """The pid in ``_build/.lock`` when a process holds its ``flock`` (dune ≥ 3), 0 when held
    but the pid is unreadable, None when the file is absent or not locked.

    The probe takes a shared ``flock`` for an instant and releases it."""
    path = project.root / "_build" / ".lock"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            content = os.read(fd, 32).strip()
            return int(content) if content.isdigit() else 0
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def find_watch(project: Project) -> int | None:
    """The pid of a ``dune build --watch`` running for this project's root (0 when one holds
    dune 3's build lock but its pid cannot be read), else None.

    Two signs, because dune 2.9.3 takes no lock: the ``_build/.lock`` flock of dune ≥ 3 when
    its holder is a watch (or cannot be inspected, e.g. from another container), and a process
    ``dune … --watch`` whose ``--root`` or working folder resolves to this root.
    """
    root = project.root.resolve()
    holder = build_lock_holder(project)
    if holder is not None:
        argv = _cmdline(holder) if holder > 0 else None
        if argv is None or _is_watch(argv[1:]):
            return holder
    watchers = _watch_processes(root)
    return watchers[0] if watchers else None


def stop_watch(pid: int) -> None:
    """Ask the ``dune build --watch`` with this pid (from `find_watch`) to stop: SIGTERM, which
    dune handles by stopping its builds and file watcher and exiting. Nothing happens when the
    process is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)


def watch_running(project: Project) -> bool:
    """Whether a ``dune build --watch`` is running for this project's root (see `find_watch`)."""
    return find_watch(project) is not None
