"""Which OCaml tools a project builds with: the switch (local opam, current opam, esy or none),
the environment that selects it, where each tool is and its version, and `doctor`'s report.

The order of detection, first match wins:

1. a local opam switch: an ``_opam/`` folder in the project root or a parent folder (opam picks
   the nearest one the same way). With ``opam`` on PATH its environment comes from
   ``opam env --switch=DIR --set-switch --shell=sh``; without opam it is derived from the layout
   (``_opam/bin`` first on PATH, ``OPAM_SWITCH_PREFIX``, the stublibs and toplevel paths).
2. esy: an ``esy.json`` in the root and ``esy`` on PATH: ``esy command-env`` (the project
   says it builds with esy, so this comes before the user's current opam switch).
3. the current opam switch: ``opam env --shell=sh``, when ``opam`` is on PATH.
4. the PATH the caller passed in.

A step that fails (its command exits non-zero or hangs past the timeout) is recorded in
`Toolchain.problems` and detection goes on with the next.

opam and esy print shell code (``VAR='value'; export VAR;``); `parse_sh_env` reads it as data
with `shlex`, never through a shell. The caller passes the base environment: nothing here reads
``os.environ``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devkit.ocaml.project import Project

#: The tools devkit looks for, in report order.
TOOL_NAMES = (
    "dune",
    "ocaml",
    "ocamlcmt",
    "ocamllsp",
    "ocamlformat",
    "ocamlfind",
    "opam",
    "esy",
)

#: Executable looked up for each tool, and the arguments that print its version.
_COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "dune": ("dune", ("--version",)),
    "ocaml": ("ocamlc", ("-version",)),
    "ocamlcmt": ("ocamlcmt", ()),  # no version flag: it ships with (and has the version of) ocamlc
    "ocamllsp": ("ocamllsp", ("--version",)),
    "ocamlformat": ("ocamlformat", ("--version",)),
    "ocamlfind": ("ocamlfind", ("-version",)),
    "opam": ("opam", ("--version",)),
    "esy": ("esy", ("--version",)),
}

DEBIAN_INSTALL = "apt-get install ocaml-nox ocaml-dune"
OPAM_INSTALL = "opam install ocaml-lsp-server ocamlformat ocamlfind"

_ADVICE = {
    "dune": "install it with: apt-get install ocaml-dune (Debian) or opam install dune",
    "ocaml": "install it with: apt-get install ocaml-nox (Debian) or create an opam switch",
    "ocamlcmt": "it ships with the compiler: apt-get install ocaml-nox (Debian)",
    "ocamllsp": (
        "optional: install it with: opam install ocaml-lsp-server (Debian has no package); "
        "without it devkit answers type/definition queries from the compiler's .cmt files"
    ),
    "ocamlformat": "optional: install it with: opam install ocamlformat",
    "ocamlfind": (
        "optional: install it with: apt-get install ocaml-findlib (Debian) or opam install "
        "ocamlfind"
    ),
    "opam": "optional: needed only for opam switches: apt-get install opam (Debian)",
    "esy": "this project has esy.json: install esy (npm install -g esy) to use its sandbox",
}

_REQUIRED = frozenset({"dune", "ocaml", "ocamlcmt"})

_VERSION_TIMEOUT = 5.0


@dataclass(frozen=True)
class Switch:
    """Where the project's OCaml comes from.

    `kind` is ``opam-local`` (an ``_opam`` folder), ``opam`` (the current opam switch) or
    ``esy``; `prefix` is the switch's prefix (``OPAM_SWITCH_PREFIX``) when known; `name` is what
    a person would call it (the folder of a local switch, the opam switch name, the esy sandbox).
    """

    kind: str
    prefix: Path | None
    name: str


@dataclass(frozen=True)
class Tool:
    """A tool: where it is (None when absent) and its version (None when unknown)."""

    name: str
    path: Path | None
    version: str | None

    @property
    def found(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class Toolchain:
    """The switch, the environment to run the project's tools with, and the tools in it.

    `problems` lists what went wrong while detecting (e.g. ``opam env`` failing), one line each.
    """

    switch: Switch | None
    env: dict[str, str]
    tools: dict[str, Tool]
    problems: tuple[str, ...] = field(default=())

    def tool(self, name: str) -> Tool:
        """The tool called `name`, absent when it was not looked for."""
        return self.tools.get(name, Tool(name, None, None))


@dataclass(frozen=True)
class Check:
    """One line of `doctor`'s report.

    `ok` False with `required` False is a warning (devkit works with less); with `required` True
    it is a failure. `advice` says what to do, always set when `ok` is False.
    """

    name: str
    ok: bool
    detail: str
    advice: str | None = None
    required: bool = True


# --- shell environment output ---------------------------------------------------------------

_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)


def parse_sh_env(text: str) -> dict[str, str | None]:
    """The variables set (value) or unset (None) by POSIX-shell code such as ``opam env`` and
    ``esy command-env`` print, read as data: quotes are undone, nothing is run or expanded.

    Understands ``VAR='value'; export VAR;``, ``export VAR="value"``, ``unset VAR;`` and ``#``
    comments; anything else is ignored.

    >>> parse_sh_env("PATH='/o/bin:/usr/bin'; export PATH;\\nunset OCAMLTOP;")
    {'PATH': '/o/bin:/usr/bin', 'OCAMLTOP': None}
    >>> parse_sh_env("A='it'\\\\''s'; export A;")
    {'A': "it's"}
    """
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = "#"
    result: dict[str, str | None] = {}
    statement: list[str] = []

    def finish() -> None:
        words = list(statement)
        statement.clear()
        if not words:
            return
        if words[0] == "unset":
            for name in words[1:]:
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    result[name] = None
            return
        if words[0] == "export":
            words = words[1:]
        for word in words:
            match = _ASSIGNMENT.match(word)
            if not match:
                break
            result[match.group(1)] = match.group(2)

    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: keep what parsed before them
        tokens = []
    for token in tokens:
        if token and set(token) <= set(";&|\n"):
            finish()
        else:
            statement.append(token)
    finish()
    return result


def _apply(env: dict[str, str], changes: Mapping[str, str | None]) -> None:
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value


def _run(cmd: list[str], env: Mapping[str, str], cwd: Path | None, timeout: float):
    """(stdout, None) of `cmd`, or (None, an error line). Never raises for a failing or hanging
    tool: after `timeout` seconds its whole process group is killed (a wrapper script's children
    too, so none is left holding the pipe)."""
    shown = " ".join([Path(cmd[0]).name, *cmd[1:]])
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as error:
        return None, f"`{shown}` could not run: {error.strerror or error}"
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, f"`{shown}` did not answer within {timeout:g} s"
    stdout = out.decode("utf-8", errors="replace")
    if proc.returncode != 0:
        stderr = err.decode("utf-8", errors="replace").strip().splitlines()
        reason = stderr[-1] if stderr else f"exit status {proc.returncode}"
        return None, f"`{shown}` failed: {reason}"
    return stdout, None


# --- versions -------------------------------------------------------------------------------

_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?(?:[~+-][0-9A-Za-z.+~-]*)?")
_version_cache: dict[tuple[str, int, int, tuple[str, ...]], str | None] = {}
_version_lock = threading.Lock()


def parse_version(output: str) -> str | None:
    """The version in a tool's ``--version`` output: the first dotted number, else the first
    non-empty line (dune's development builds print ``n/a``); None for empty output.

    >>> parse_version("The OCaml toplevel, version 4.13.1\\n")
    '4.13.1'
    >>> parse_version("2.9.3\\n")
    '2.9.3'
    """
    match = _VERSION.search(output)
    if match:
        return match.group(0)
    for line in output.splitlines():
        if line.strip():
            return line.strip()
    return None


def tool_version(
    path: Path, args: tuple[str, ...], env: Mapping[str, str], timeout: float = _VERSION_TIMEOUT
) -> str | None:
    """The version `path` prints when run with `args`, cached in-process by the executable's
    path, modification time and size (a reinstalled tool is asked again). None when it fails
    or does not answer within `timeout` seconds (not cached, so a later call may succeed)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size, args)
    with _version_lock:
        if key in _version_cache:
            return _version_cache[key]
    stdout, error = _run([str(path), *args], env, None, timeout)
    if error is not None:
        return None
    version = parse_version(stdout or "")
    with _version_lock:
        _version_cache[key] = version
    return version


def dune_major(version: str | None) -> int | None:
    """The major number of a dune version string, None when it has none (``n/a``)."""
    match = re.match(r"(\d+)\.", version or "")
    return int(match.group(1)) if match else None


# --- detection ------------------------------------------------------------------------------


def _which(name: str, env: Mapping[str, str]) -> Path | None:
    found = shutil.which(name, path=env.get("PATH", ""))
    return Path(found) if found else None


def _local_opam_switch(root: Path) -> Path | None:
    for folder in (root, *root.parents):
        if (folder / "_opam").is_dir():
            return folder
    return None


def _layout_env(prefix: Path, env: Mapping[str, str]) -> dict[str, str | None]:
    """What ``opam env`` sets for a switch at `prefix`, derived from the folder layout alone."""

    def prepend(name: str, value: str) -> str:
        old = env.get(name, "")
        return f"{value}{os.pathsep}{old}" if old else value

    return {
        "OPAM_SWITCH_PREFIX": str(prefix),
        "PATH": prepend("PATH", str(prefix / "bin")),
        "CAML_LD_LIBRARY_PATH": prepend(
            "CAML_LD_LIBRARY_PATH",
            f"{prefix / 'lib' / 'stublibs'}{os.pathsep}{prefix / 'lib' / 'ocaml' / 'stublibs'}",
        ),
        "OCAML_TOPLEVEL_PATH": str(prefix / "lib" / "toplevel"),
        "MANPATH": prepend("MANPATH", str(prefix / "man")),
    }


def detect_toolchain(
    project_root: Path, base_env: Mapping[str, str], *, timeout: float = _VERSION_TIMEOUT
) -> Toolchain:
    """The switch and tools for the project at `project_root`, starting from `base_env` (the
    caller's environment). Runs ``opam env``/``esy command-env`` and each tool's version
    command with a `timeout`; a failure there is recorded in `Toolchain.problems`."""
    toolchain = detect_environment(project_root, base_env, timeout=timeout)
    env = toolchain.env
    tools: dict[str, Tool] = {}
    for name in TOOL_NAMES:
        executable, args = _COMMANDS[name]
        path = _which(executable, env)
        if path is None and name == "ocaml":
            # No ocamlc: the toplevel alone still tells the version.
            path = _which("ocaml", env)
            args = ("-version",)
        version = None
        if path is not None:
            if args:
                version = tool_version(path, args, env, timeout)
            elif (path.parent / "ocamlc").exists():
                version = tool_version(path.parent / "ocamlc", ("-version",), env, timeout)
        tools[name] = Tool(name, path, version)
    return dataclasses.replace(toolchain, tools=tools)


def detect_environment(
    project_root: Path, base_env: Mapping[str, str], *, timeout: float = _VERSION_TIMEOUT
) -> Toolchain:
    """The switch and the environment to run the project's tools with, without looking the
    tools up (`tools` is empty): what running dune or ocamlcmt needs, at the cost of at most
    one ``opam env``/``esy command-env``."""
    root = Path(project_root)
    env = dict(base_env)
    problems: list[str] = []
    switch: Switch | None = None
    opam = _which("opam", env)

    local = _local_opam_switch(root)
    if local is not None:
        prefix = local / "_opam"
        changes: Mapping[str, str | None] | None = None
        if opam is not None:
            stdout, error = _run(
                [str(opam), "env", f"--switch={local}", "--set-switch", "--shell=sh"],
                env,
                root,
                timeout,
            )
            if error is not None:
                problems.append(f"{error}; using {prefix}/bin directly")
            else:
                changes = parse_sh_env(stdout or "")
        if not changes:
            changes = _layout_env(prefix, env)
        _apply(env, changes)
        switch = Switch("opam-local", Path(env.get("OPAM_SWITCH_PREFIX", str(prefix))), str(local))
    if switch is None and (root / "esy.json").is_file():
        esy = _which("esy", env)
        if esy is not None:
            stdout, error = _run([str(esy), "command-env"], env, root, timeout)
            if error is not None:
                problems.append(error)
            else:
                _apply(env, parse_sh_env(stdout or ""))
                switch = Switch("esy", None, root.name)
    if switch is None and opam is not None:
        stdout, error = _run([str(opam), "env", "--shell=sh"], env, root, timeout)
        if error is not None:
            problems.append(error)
        else:
            _apply(env, parse_sh_env(stdout or ""))
        prefix_value = env.get("OPAM_SWITCH_PREFIX")
        if prefix_value:
            prefix_path = Path(prefix_value)
            name = prefix_path.parent.name if prefix_path.name == "_opam" else prefix_path.name
            switch = Switch("opam", prefix_path, env.get("OPAMSWITCH") or name)

    return Toolchain(switch, env, {}, tuple(problems))


# --- doctor ---------------------------------------------------------------------------------

_LANG_DUNE = re.compile(rb"^\(lang\s+dune\s+(\d+)\.(\d+)\)")


def _version_tuple(version: str | None) -> tuple[int, ...] | None:
    match = re.match(r"(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def doctor(toolchain: Toolchain, project: Project | str) -> list[Check]:
    """The report ``devkit ocaml doctor`` prints: the project, the switch, each tool, whether
    the installed dune reads the project's ``(lang dune X.Y)``, and whether watch mode works.

    `project` is the project, or the reason there is none (the tools are reported anyway)."""
    if isinstance(project, str):
        checks = [Check("project", False, "no OCaml project here", project)]
    else:
        checks = [Check("project", True, f"{project.kind} root at {project.root}")]
    switch = toolchain.switch
    if switch is None:
        detail = "no opam switch or esy sandbox: tools come from PATH"
    else:
        where = f" ({switch.prefix})" if switch.prefix else ""
        detail = f"{switch.kind} switch {switch.name}{where}"
    checks.append(
        Check(
            "switch",
            not toolchain.problems,
            "; ".join([detail, *toolchain.problems]),
            "check that `opam env` works in this folder" if toolchain.problems else None,
            required=False,
        )
    )
    has_esy = not isinstance(project, str) and (project.root / "esy.json").is_file()
    for name in TOOL_NAMES:
        tool = toolchain.tool(name)
        if name == "esy" and not has_esy and not tool.found:
            continue
        required = name in _REQUIRED
        if tool.found:
            detail = f"{tool.path} ({tool.version or 'version unknown'})"
            checks.append(Check(name, True, detail, None, required))
        else:
            advice = _ADVICE[name]
            if required and name != "ocamlcmt":
                advice = f"{advice}; on Debian all at once: {DEBIAN_INSTALL}"
            if name in ("ocamllsp", "ocamlformat", "ocamlfind") and switch is not None:
                advice = f"{advice} (all three: {OPAM_INSTALL})"
            checks.append(Check(name, False, "not found on PATH", advice, required))

    dune = toolchain.tool("dune")
    wanted = None if isinstance(project, str) else _project_lang(project.root)
    have = _version_tuple(dune.version)
    if wanted is not None and have is not None:
        ok = have >= wanted
        asked = f"{wanted[0]}.{wanted[1]}"
        checks.append(
            Check(
                "dune-lang",
                ok,
                f"dune-project asks for (lang dune {asked}); dune is {dune.version}",
                None
                if ok
                else f"upgrade dune to {wanted[0]}.{wanted[1]} or later (opam install "
                f"dune), or lower the (lang dune …) line in dune-project",
            )
        )
    major = dune_major(dune.version)
    if major is not None and major < 3:
        watchers = [w for w in ("inotifywait", "fswatch") if _which(w, toolchain.env)]
        checks.append(
            Check(
                "watch",
                bool(watchers),
                f"dune {dune.version} watch mode uses {watchers[0]}"
                if watchers
                else f"dune {dune.version} needs inotifywait or fswatch for `dune build --watch`",
                None if watchers else "install it with: apt-get install inotify-tools",
                required=False,
            )
        )
    return checks


def report_lines(checks: list[Check], root: Path) -> list[str]:
    """`doctor`'s report on the folder `root` as text: a heading, one line per check (marked
    ``ok``, ``MISSING`` for a failed required one or ``warning``) with the advice of a failed
    check under it, and a last line naming the required checks that failed, if any.

    >>> print("\\n".join(report_lines([Check("dune", True, "/usr/bin/dune (3.17.2)"),
    ...     Check("ocamllsp", False, "not found on PATH", "opam install ocaml-lsp-server",
    ...           required=False)], Path("/src/demo"))))
    devkit doctor: /src/demo
    <BLANKLINE>
          ok  dune: /usr/bin/dune (3.17.2)
     warning  ocamllsp: not found on PATH
              opam install ocaml-lsp-server
    <BLANKLINE>
    everything devkit needs is there
    """
    lines = [f"devkit doctor: {root}", ""]
    for check in checks:
        mark = "ok" if check.ok else ("MISSING" if check.required else "warning")
        lines.append(f"{mark:>8}  {check.name}: {check.detail}")
        if not check.ok and check.advice:
            lines.append(f"{'':>10}{check.advice}")
    failed = [check.name for check in checks if not check.ok and check.required]
    lines += ["", f"{len(failed)} required check(s) failed: {', '.join(failed)}" if failed
              else "everything devkit needs is there"]
    return lines


def _project_lang(root: Path) -> tuple[int, int] | None:
    try:
        with open(root / "dune-project", "rb") as handle:
            first = handle.readline(200)
    except OSError:
        return None
    match = _LANG_DUNE.match(first)
    return (int(match.group(1)), int(match.group(2))) if match else None
