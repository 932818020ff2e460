"""`devkit ocaml …`: the OCaml workflow core on the command line (useful in CI and scripts).

Only this module reads the working directory and the environment and prints; positions on the
command line are `FILE:LINE:COL` with LINE and COL 1-based (COL a byte column, as Vim's
`col('.')`), converted here to the core's 0-based byte columns.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from devkit.errors import DevkitError
from devkit.ocaml.project import Project, find_project, project_or_reason
from devkit.ocaml.toolchain import detect_environment, detect_toolchain, doctor, report_lines

if TYPE_CHECKING:
    from devkit.ocaml.diagnostics import Diagnostic

# The modules behind `build`, `type`, `def` and `intf` are imported by those commands, so that
# every other devkit command starts without them.

_POSITION = re.compile(r"(?P<file>.+):(?P<line>\d+):(?P<col>\d+)")
_path = click.Path(path_type=Path)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


class _Position(click.ParamType):
    name = "FILE:LINE:COL"

    def convert(self, value, param, ctx):
        match = _POSITION.fullmatch(value)
        if not match or int(match["line"]) < 1 or int(match["col"]) < 1:
            self.fail(f"{value!r} is not FILE:LINE:COL (LINE and COL 1-based)", param, ctx)
        return Path(match["file"]).absolute(), int(match["line"]), int(match["col"]) - 1


def _project_of(path: Path) -> Project:
    return find_project(path.absolute())


@click.group()
def ocaml() -> None:
    """The OCaml workflow core: toolchain report, dune builds with parsed diagnostics, and type
    and definition lookup from the compiler's own .cmt files (no ocamllsp needed).

    \b
      devkit ocaml doctor
      devkit ocaml build --format quickfix
      devkit ocaml type lib/a.ml:12:9
      devkit ocaml def bin/main.ml:3:20
      devkit ocaml intf lib/a.ml > lib/a.mli
    """


@ocaml.command(name="doctor")
@click.argument("directory", type=_path, default=Path("."))
@_json_option
def doctor_command(directory: Path, as_json: bool) -> None:
    """Report the project, the opam/esy switch and each OCaml tool, with what to install.

    Exit status 1 when a required check fails: no project here, or a required tool (dune, the
    compiler) missing.
    """
    project, root = project_or_reason(directory)
    checks = doctor(detect_toolchain(root, os.environ), project)
    if as_json:
        click.echo(json.dumps([{"name": c.name, "ok": c.ok, "required": c.required,
                                "detail": c.detail, "advice": c.advice} for c in checks],
                              indent=2))
    else:
        click.echo("\n".join(report_lines(checks, root)))
    if any(check.required and not check.ok for check in checks):
        sys.exit(1)


def _quickfix_line(diagnostic: Diagnostic, path: str) -> str:
    message = " ".join(diagnostic.message.split())
    return f"{path}:{diagnostic.line}:{diagnostic.col + 1}: {diagnostic.severity}: {message}"


def _github_escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github_line(diagnostic: Diagnostic, path: str) -> str:
    """A GitHub Actions workflow command (`::error file=…,line=…::message`)."""
    command = "error" if diagnostic.severity == "error" else "warning"
    title = f"warning {diagnostic.code}" if diagnostic.code is not None else (
        diagnostic.name or diagnostic.severity)
    properties = ",".join([
        f"file={_github_escape(path, True)}", f"line={diagnostic.line}",
        f"col={diagnostic.col + 1}", f"endLine={diagnostic.end_line}",
        f"endColumn={diagnostic.end_col + 1}", f"title={_github_escape(title, True)}"])
    return f"::{command} {properties}::{_github_escape(diagnostic.message)}"


@ocaml.command()
@click.argument("directory", type=_path, default=Path("."))
@click.option("--format", "output_format", default="text", show_default=True,
              type=click.Choice(["text", "json", "quickfix", "github"]),
              help="text for people, json for scripts, quickfix for Vim's errorformat "
                   "(%f:%l:%c: %m), github for GitHub Actions annotations.")
def build(directory: Path, output_format: str) -> None:
    """Run `dune build` for the project at DIRECTORY and print its parsed diagnostics.

    Paths are relative to the current folder (json also gives each absolute `file`, and `path`
    relative to the dune root). The exit status is dune's.
    """
    from devkit.ocaml import dune
    from devkit.ocaml.diagnostics import parse

    project = _project_of(directory)
    result = dune.start(["build"], project, detect_environment(project.root, os.environ).env).wait()
    diagnostics = parse(result.output, project.root)
    # Paths as the caller sees them: relative to the current folder, which is where Vim's
    # :cfile and GitHub's annotations (the workspace) resolve them.
    shown = [os.path.relpath(project.root / d.path) for d in diagnostics]
    if output_format == "json":
        click.echo(json.dumps([{**d.to_json(), "file": str(project.root / d.path)}
                               for d in diagnostics], indent=2))
    elif output_format == "quickfix":
        for diagnostic, path in zip(diagnostics, shown, strict=True):
            click.echo(_quickfix_line(diagnostic, path))
    elif output_format == "github":
        for diagnostic, path in zip(diagnostics, shown, strict=True):
            click.echo(_github_line(diagnostic, path))
    else:
        for diagnostic, path in zip(diagnostics, shown, strict=True):
            click.echo(f"{path}:{diagnostic.line}:{diagnostic.col + 1}: "
                       f"{diagnostic.severity}: {diagnostic.message}")
        if result.blocked_by_watch or (result.exit_code and not diagnostics):
            click.echo(result.output.rstrip(), err=True)
        errors = sum(d.severity == "error" for d in diagnostics)
        click.echo(f"dune build: exit {result.exit_code}, {errors} error(s), "
                   f"{len(diagnostics) - errors} warning(s), {result.duration_ms} ms", err=True)
    sys.exit(result.exit_code)


@ocaml.command(name="type")
@click.argument("position", type=_Position())
@_json_option
def type_command(position: tuple[Path, int, int], as_json: bool) -> None:
    """The type of the expression at FILE:LINE:COL, from the last dune build's .cmt files."""
    from devkit.ocaml.lookup import type_at

    file, line, col = position
    root = _project_of(file).root
    found = type_at(root, file, line, col, detect_environment(root, os.environ).env)
    if as_json:
        def span(start: tuple[int, int], end: tuple[int, int]) -> dict:
            return {"start": [start[0], start[1] + 1], "end": [end[0], end[1] + 1]}

        click.echo(json.dumps({
            "type": found.type, **span(found.start, found.end),
            "enclosing": [{"type": e.type, **span(e.start, e.end)} for e in found.enclosing]},
            indent=2))
    else:
        click.echo(found.type)


@ocaml.command(name="def")
@click.argument("position", type=_Position())
def def_command(position: tuple[Path, int, int]) -> None:
    """Where the identifier at FILE:LINE:COL is defined, as FILE:LINE:COL."""
    from devkit.ocaml.lookup import definition_at

    file, line, col = position
    root = _project_of(file).root
    location = definition_at(root, file, line, col, detect_environment(root, os.environ).env)
    click.echo(f"{location.path}:{location.line}:{location.col + 1}")


@ocaml.command()
@click.argument("ml_file", metavar="FILE.ml", type=_path)
def intf(ml_file: Path) -> None:
    """Print the interface (.mli text) the compiler infers for FILE.ml, with dune's flags."""
    from devkit.ocaml.interface import infer_interface

    if not ml_file.is_file():
        raise DevkitError(f"{ml_file} is not a file")
    root = _project_of(ml_file).root
    click.echo(infer_interface(root, ml_file.absolute(), detect_environment(root, os.environ).env),
               nl=False)
