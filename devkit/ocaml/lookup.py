"""Type at a position and definition of an identifier, from the `.cmt` files of the last build.

The compiler-only engine, for when ocamllsp is not there. Positions follow the compiler: `line`
is 1-based and `col` is a 0-based byte offset in the line (a character before the position that
takes several bytes in UTF-8 counts for several columns). Callers convert: the CLI from its
1-based column, the editor from its own column encoding.

Both functions take the project (dune) root and a source file, absolute or relative to the root.
They raise `cmt.NotBuilt` / `cmt.StaleBuild` / `cmt.NotInBuild` when the build does not describe
the file as it is, and a `DevkitError` saying why when there is no answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devkit.errors import DevkitError
from devkit.ocaml import cmt
from devkit.ocaml.cmt import BuiltSource, CmtIndex, Pos, Span

IMPLEMENTATION_SUFFIXES = (".ml", ".re", ".mll", ".mly")
INTERFACE_SUFFIXES = (".mli", ".rei")


class NoTypeAt(DevkitError):
    """No expression or pattern at the position."""


class NoDefinition(DevkitError):
    """No identifier at the position, or its definition is not in the project."""


@dataclass(frozen=True)
class Enclosing:
    """A typed span: an expression or pattern, from `start` to `end` (exclusive)."""

    type: str
    start: Pos
    end: Pos


@dataclass(frozen=True)
class TypeAt:
    """The type of the smallest expression or pattern at a position.

    `enclosing` are the wider spans containing it, innermost first, each strictly larger than the
    one before: what "widen to the enclosing expression" steps through.
    """

    type: str
    start: Pos
    end: Pos
    enclosing: list[Enclosing]


@dataclass(frozen=True)
class Location:
    """Where an identifier is defined: `line` 1-based, `col` a 0-based byte offset."""

    path: Path
    line: int
    col: int


def type_at(root: Path, file: Path, line: int, col: int,
            env: Mapping[str, str] | None = None) -> TypeAt:
    """The type at (`line` 1-based, `col` 0-based byte offset) of `file`, and the wider spans.

    Chooses the smallest expression or pattern containing the position. After the first query
    on a `.cmt` (one `ocamlcmt` run), a query costs a few dictionary look-ups and the spans of
    the line.
    """
    built, index = _index(root, file, line, col, env)
    spans = [span for span in index.spans_at(built.name, (line, col)) if span.type is not None]
    if not spans:
        raise NoTypeAt(f"no expression or pattern at {_where(built, line, col)} "
                       "(a keyword, a comment, a type or a blank?)")
    chosen: list[Span] = []
    for span in spans:  # smallest first; keep one span per extent, each wider than the last
        if not chosen or (span.size > chosen[-1].size
                          and span.start <= chosen[-1].start and chosen[-1].end <= span.end):
            chosen.append(span)
    first = chosen[0]
    enclosing = [Enclosing(span.type or "", span.start, span.end) for span in chosen[1:]]
    return TypeAt(first.type or "", first.start, first.end, enclosing)


def definition_at(root: Path, file: Path, line: int, col: int,
                  env: Mapping[str, str] | None = None) -> Location:
    """Where the identifier at (`line` 1-based, `col` 0-based byte offset) of `file` is defined.

    A binding is its own definition; a local or top-level value of the same file, and a value of
    another module of the project (also through a library's wrapper, `Mylib.A.f`), are found
    from the `.cmt`. When the other module has an `.mli`, the definition in its `.ml` is given if
    that is built, else the declaration in the `.mli`. Values of the standard library and of
    other installed libraries raise `NoDefinition` saying where they come from.
    """
    built, index = _index(root, file, line, col, env)
    spans = [span for span in index.spans_at(built.name, (line, col)) if span.ident is not None]
    if not spans:
        raise NoDefinition(f"no identifier at {_where(built, line, col)}")
    span = spans[0]
    ident = span.ident
    assert ident is not None
    if ident.kind == "def":
        return Location(built.source, span.start[0], span.start[1])
    if ident.kind == "int_ref" and ident.target is not None:
        return _internal_reference(built, ident.name, ident.target, env)
    return _external_reference(built, ident.name, env)


# --------------------------------------------------------------------------------------------


def _index(root: Path, file: Path, line: int, col: int,
           env: Mapping[str, str] | None) -> tuple[BuiltSource, CmtIndex]:
    if line < 1 or col < 0:
        raise DevkitError(f"bad position {line}:{col} (line is 1-based, column a 0-based byte "
                          "offset)")
    if Path(file).suffix in INTERFACE_SUFFIXES:
        raise DevkitError(f"{file} is an interface: types and definitions are read from the "
                          "implementation's .cmt; ask in the .ml file")
    return cmt.index_for(root, Path(file), env)


def _where(built: BuiltSource, line: int, col: int) -> str:
    return f"{built.name} line {line}, byte {col} of the line"


def split_value_path(name: str) -> list[str]:
    """`Mylib.A.f` → `['Mylib', 'A', 'f']`; an operator stays whole: `Stdlib.( + )` → `[…, '+']`.

    >>> split_value_path("Stdlib.List.( @ )")
    ['Stdlib', 'List', '@']
    """
    head, paren, operator = name.partition("(")
    parts = [part for part in head.split(".") if part]
    if paren:
        parts.append(operator.rstrip(")").strip())
    return parts


def _outside(name: str, file: str) -> NoDefinition:
    parts = split_value_path(name)
    if parts[:1] == ["Stdlib"] or file.startswith(("stdlib.", "camlinternal")):
        where = f"stdlib/{file}" if file else "the standard library"
    else:
        where = file or "an installed library"
    return NoDefinition(f"no definition known for {name} (defined outside the project: {where})")


def _project_path(built: BuiltSource, file: str) -> Path | None:
    """The file of the project that ocamlcmt names `file` (a source, else a generated file)."""
    path = Path(file)
    if path.is_absolute():
        try:
            path.relative_to(built.root)
        except ValueError:
            return None
        return path if path.is_file() else None
    if path.parts[:1] in (("..",), ("_build",)):
        return None
    for candidate in (built.root / path, built.build_dir / path):
        if candidate.is_file():
            return candidate
    return None


def _internal_reference(built: BuiltSource, name: str, target: cmt.Region,
                        env: Mapping[str, str] | None) -> Location:
    path = _project_path(built, target.file)
    if path is None:
        raise _outside(name, target.file)
    if path.suffix in INTERFACE_SUFFIXES:
        found = _in_implementation(built, path, name, env)
        if found is not None:
            return found
    if path != built.source:
        cmt.check_unchanged(built.root, path)  # its positions are from the last build
    return Location(path, target.start[0], target.start[1])


def _implementations(interface: Path) -> list[Path]:
    base = interface.with_suffix("")
    return [base.with_suffix(suffix) for suffix in IMPLEMENTATION_SUFFIXES
            if base.with_suffix(suffix).is_file()]


def _in_implementation(built: BuiltSource, interface: Path, name: str,
                       env: Mapping[str, str] | None) -> Location | None:
    """The definition of `name` in the implementation of `interface`, if built and fresh."""
    for implementation in _implementations(interface):
        found = _in_module_file(built.root, implementation, name, env)
        if found is not None:
            return found
    return None


def _in_module_file(root: Path, source: Path, name: str, env: Mapping[str, str] | None,
                    after: int | None = None) -> Location | None:
    """Find value path `name` (or its components after index `after`) in module `source`."""
    try:
        other, index = cmt.index_for(root, source, env)
    except DevkitError:
        return None
    parts = split_value_path(name)
    if after is None:
        module = cmt.module_name(source)
        after = next((i for i, part in enumerate(parts)
                      if part == module or part.endswith("__" + module)), len(parts) - 2)
    rest = parts[after + 1:]
    if not rest:
        return None
    span = find_in_module(index, other.name, rest)
    if span is None:
        return None
    return Location(other.source, span.start[0], span.start[1])


def find_in_module(index: CmtIndex, file: str, path: list[str]) -> Span | None:
    """The binding of `path` (`['M', 'x']` for `M.x`) at the top level of `file`'s module.

    The top level of a structure is the bindings whose scope ends where the structure ends (the
    end of the file for the file's own top level; the `end` of `struct … end` for a submodule,
    whose body runs from its name to where its own scope starts): the latest scope end among
    the bindings inside. The last binding of a name is the one the module exports.
    """
    bindings = [(span, span.ident.target) for span in index.definitions(file)
                if span.ident is not None and span.ident.target is not None]
    low, high = 0, None  # the structure searched, as byte offsets; None = to the end of file
    found = None
    for depth, part in enumerate(path):
        inside = [(span, scope) for span, scope in bindings
                  if span.start_offset >= low and (high is None or span.end_offset <= high)]
        if not inside:
            return None
        level = max(_end(scope) for _, scope in inside)
        named = [(span, scope) for span, scope in inside
                 if span.ident is not None and span.ident.name == part and _end(scope) == level]
        if not named:
            return None
        found, scope = max(named, key=lambda pair: pair[0].start_offset)
        if depth < len(path) - 1:  # a submodule: its body is between its name and its scope
            low, high = found.end_offset, scope.start_offset
    return found


def _end(scope: cmt.Region) -> float:
    return float("inf") if scope.end_offset is None else scope.end_offset


def _external_reference(built: BuiltSource, name: str,
                        env: Mapping[str, str] | None) -> Location:
    """An `ext_ref`: find the module among the project's sources by name."""
    parts = split_value_path(name)
    if parts[:1] == ["Stdlib"] or len(parts) < 2:
        raise _outside(name, "")
    modules = project_modules(built.root)
    for position, part in enumerate(parts[:-1]):
        module = part.rsplit("__", 1)[-1]
        library = parts[position - 1].lower() if position else None
        for source in _by_library(built, modules.get(module, []), library):
            found = _in_module_file(built.root, source, name, env, after=position)
            if found is not None:
                return found
    raise NoDefinition(f"no definition known for {name} (not found in the project's built "
                       "modules; an installed library?)")


def _by_library(built: BuiltSource, sources: list[Path], library: str | None) -> list[Path]:
    """Sources of a module name, those of library `library` (a `.LIBRARY.objs`) first."""
    def belongs(source: Path) -> bool:
        if library is None:
            return False
        folder = source.parent
        while True:
            relative = folder.relative_to(built.root)
            if (built.build_dir / relative / f".{library}.objs").is_dir():
                return True
            if folder == built.root:
                return False
            folder = folder.parent
    return sorted(sources, key=lambda source: (not belongs(source), str(source)))


def project_modules(root: Path) -> dict[str, list[Path]]:
    """Module name → implementation files in the project's source tree.

    Skips folders whose name starts with `.` or `_` (`_build`, `_opam`, `.git`, …) as dune does.
    """
    modules: dict[str, list[Path]] = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders
                               if not name.startswith((".", "_")) and name != "node_modules")
        for file in sorted(files):
            if file.endswith(IMPLEMENTATION_SUFFIXES):
                modules.setdefault(cmt.module_name(file), []).append(Path(folder, file))
    return modules
