"""Inferring a module's interface (`.mli` text) and switching between `.ml` and `.mli`.

`infer_interface` runs the compiler's `-i` with the flags dune used for the module. Those come
from the module's `.cmt`, which records the exact command line of the compilation that wrote it
(`ocamlcmt -info`: `-I` folders of the dependencies' objects, `-open Mylib` of a wrapped library,
warnings, `-ppx`, …), so they match the `.cmi` files of the last build; `_build/log` only holds
the commands of the last `dune` run, which may have compiled nothing. The `.cmt` keeps the
arguments joined with spaces: when that is ambiguous (a `-pp`/`-ppx` command, or a path with a
space), the command is read from `dune rules` instead, which prints it as a quoted list.

The compiler reads the source file as it is now (not dune's copy), so the interface follows
edits made since the build, as long as the other modules' `.cmi` files still fit. Preprocessed
sources (`(preprocess (pps …))`, `.mll`, `.mly`) are typed from dune's output, which needs a
fresh build.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from devkit.errors import DevkitError
from devkit.ocaml import cmt
from devkit.ocaml.cmt import BuiltSource
from devkit.ocaml.sexp import parse_sexp

ALTERNATES = {
    ".ml": (".mli",),
    ".mll": (".mli",),
    ".mly": (".mli",),
    ".mli": (".ml", ".mll", ".mly"),
    ".re": (".rei",),
    ".rei": (".re",),
}
_OUTPUT_OPTIONS = ("-o", "-impl", "-intf", "-cmi-file")  # replaced or dropped, with their value
_WRITING_FLAGS = ("-bin-annot", "-annot", "-bin-annot-occurrences")
_COMMAND_OPTIONS = ("-pp", "-ppx")  # their value is a command line: may contain spaces


class InterfaceError(DevkitError):
    """The compiler could not infer the interface (a type error, a missing dependency)."""


def alternate_file(path: Path) -> Path:
    """The interface of an implementation, or the implementation of an interface.

    `a.ml` ↔ `a.mli`, `a.re` ↔ `a.rei`; `lexer.mll` and `parser.mly` → their `.mli`. Of several
    possible implementations (`a.mli` → `a.ml`, `a.mll`, `a.mly`) the first that exists, else
    `a.ml`. The result need not exist.

    >>> alternate_file(Path("src/a.ml")), alternate_file(Path("src/b.rei"))
    (PosixPath('src/a.mli'), PosixPath('src/b.re'))
    """
    options = ALTERNATES.get(path.suffix)
    if options is None:
        raise DevkitError(f"{path} is not an OCaml source file (.ml, .mli, .mll, .mly, .re, .rei)")
    candidates = [path.with_suffix(suffix) for suffix in options]
    return next((candidate for candidate in candidates if candidate.exists()), candidates[0])


def infer_interface(root: Path, ml_file: Path, env: Mapping[str, str] | None = None) -> str:
    """The interface the compiler infers for `ml_file` (absolute, or relative to `root`).

    Needs a dune build that compiled the module (for its flags and its dependencies' `.cmi`).
    Raises `cmt.NotBuilt`/`cmt.NotInBuild` without one, `InterfaceError` when the source does
    not type-check.
    """
    if Path(ml_file).suffix in (".mli", ".rei"):
        raise DevkitError(f"{ml_file} is an interface already; infer from its implementation")
    built = cmt.locate(root, Path(ml_file))
    info = cmt.read_info(built.cmt, built.build_dir, env)
    command = compile_command(built, info, env)
    if info.source_file in (None, built.name):
        source = str(built.source)  # the text as it is now
    else:  # dune's preprocessed or generated file
        cmt.check_fresh(built)
        source = info.source_file
    with tempfile.TemporaryDirectory(prefix="devkit-intf-") as scratch:
        argv = interface_command(command, source, Path(scratch))
        completed = cmt.run_tool(argv, cwd=built.build_dir, env=env)
    if completed.returncode != 0:
        raise InterfaceError(f"cannot infer the interface of {built.name}: "
                             f"{cmt.tool_error_text(completed)}")
    return completed.stdout.decode("utf-8", errors="replace")


def interface_command(command: list[str], source: str, scratch: Path) -> list[str]:
    """Turn dune's compile command into `COMPILER FLAGS… -i -o SCRATCH/unit -impl SOURCE`.

    Keeps every flag that can change typing; drops the outputs (`-o` goes to `scratch`, so the
    unit keeps dune's name, e.g. `Mylib__A`, and nothing is written into `_build`); warnings are
    not errors (they do not change the interface).

    >>> interface_command(["ocamlc", "-w", "-40", "-bin-annot", "-open", "M", "-o",
    ...                    "l/.m.objs/byte/m__A.cmo", "-c", "-impl", "l/a.ml"], "/p/l/a.ml",
    ...                   Path("/tmp/s"))  # doctest: +NORMALIZE_WHITESPACE
    ['ocamlc', '-w', '-40', '-open', 'M', '-c', '-i', '-warn-error', '-a', '-o',
     '/tmp/s/m__A.cmo', '-impl', '/p/l/a.ml']
    """
    argv = [command[0]]
    output = "unit.cmo"
    index = 1
    while index < len(command):
        token = command[index]
        if token in _OUTPUT_OPTIONS and index + 1 < len(command):
            if token == "-o":
                output = Path(command[index + 1]).name
            index += 2
            continue
        index += 1
        if token in _WRITING_FLAGS:
            continue
        if index == len(command) and token.endswith((".ml", ".re")):  # a positional source
            continue
        argv.append(token)
    return [*argv, "-i", "-warn-error", "-a", "-o", str(scratch / output), "-impl", source]


def compile_command(built: BuiltSource, info: cmt.CmtInfo,
                    env: Mapping[str, str] | None = None) -> list[str]:
    """The argument list of the compilation that wrote `built.cmt`."""
    tokens = info.command.split(" ")
    if _is_unambiguous(tokens, info, built.build_dir):
        return tokens
    return _command_from_dune_rules(built, env)


def _is_unambiguous(tokens: list[str], info: cmt.CmtInfo, build_dir: Path) -> bool:
    """Whether splitting the recorded command at spaces surely gives back its arguments."""
    if not tokens or not Path(tokens[0]).is_file() or "" in tokens:
        return False
    if any(token in _COMMAND_OPTIONS for token in tokens):
        return False
    if info.source_file is not None and tokens[-1] != info.source_file:
        return False
    for index, token in enumerate(tokens[:-1]):
        if token == "-I" and not (build_dir / tokens[index + 1]).is_dir():
            return False
    return True


def _command_from_dune_rules(built: BuiltSource, env: Mapping[str, str] | None) -> list[str]:
    target = built.cmt.relative_to(built.root).as_posix()
    completed = cmt.run_tool(["dune", "rules", "--root", ".", target], cwd=built.root, env=env)
    if completed.returncode != 0:
        raise InterfaceError(f"cannot read dune's command for {built.name} (`dune rules "
                             f"{target}`): {cmt.tool_error_text(completed)}")
    text = completed.stdout.decode("utf-8", errors="replace")
    for run in _run_actions(parse_sexp(text)):
        if "-impl" in run or "-c" in run:
            return run
    raise InterfaceError(f"`dune rules {target}` shows no compiler command for {built.name}")


def _run_actions(node: object) -> list[list[str]]:
    """Every `(run PROGRAM ARGS…)` in a parsed dune sexp, as argument lists."""
    found = []
    if isinstance(node, list):
        if node[:1] == ["run"] and all(isinstance(item, str) for item in node[1:]):
            found.append(node[1:])
        for item in node:
            found.extend(_run_actions(item))
    return found
