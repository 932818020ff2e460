"""The compiler-only engine's index of a `.cmt` file, read through `ocamlcmt -annot`.

dune (2.9 and later) compiles every module with `-bin-annot`, which leaves a `.cmt` file (the
typed tree) in the byte objects folder of the library, executable or test the module belongs to,
under the build context `_build/default` (all paths below are relative to it):

- library `mylib` in `lib/`, wrapped (the default): `lib/.mylib.objs/byte/mylib__A.cmt` for
  `lib/a.ml`; the generated alias module is `mylib.cmt` (`mylib__.cmt` when the library has its
  own `lib/mylib.ml`, which is then `mylib.cmt`);
- unwrapped library (`(wrapped false)`): `lib/.mylib.objs/byte/a.cmt`;
- executables and tests (`(executable(s) (name(s) main …))`, `(test (name t))`), wrapped in
  `Dune__exe`: `bin/.main.eobjs/byte/dune__exe__Main.cmt` (the folder is named after the first
  name, and the `.cmt` is in `byte/` even for `(modes native)`);
- `(include_subdirs unqualified)`: the objects folder is the one of the stanza's folder, an
  ancestor of the source's folder;
- an `.mli` gives a `.cmti` next to the `.cmt`; `ocamlcmt -annot` of a `.cmti` is empty.

`ocamlcmt -annot -o - FILE.cmt` prints the old `-annot` format on stdout (without `-o` it writes
`FILE.cmt.annot` next to the `.cmt`, inside `_build`, which we never do). It rebuilds the typing
environment from the `.cmi` files on the `.cmt`'s load path, which dune records relative to the
build context, so it runs with `cwd=_build/default`. The format (OCaml's typing/stypes.ml):

    "lib/a.ml" 2 34 38 "lib/a.ml" 2 34 39        a location: file line bol cnum, twice;
    type(                                        printed only when it differs from the last one
      int -> int                                 a type, possibly broken over several lines
    )
    ident(
      def f "lib/a.ml" 3 50 50 "lib/a.ml" 0 0 -1                a binding and its scope
    )                                                           (`0 0 -1`: to the end of file)
    ident(
      int_ref Mylib.A.f "lib/a.ml" 2 34 38 "lib/a.ml" 2 34 39   a use and its definition
    )
    ident(
      ext_ref Nol.M.f                                           a use, definition unknown
    )
    call(
      tail
    )

`bol` is the offset of the line's start and `cnum` of the position, both in bytes from the start
of the file, so the column `cnum - bol` is a 0-based byte offset; lines are 1-based. File names are
OCaml-escaped (`String.escaped`) and relative to the build context, that is to the project root
for sources; an `int_ref` into the standard library names `stdlib.mli`, `list.mli`, … bare. In
OCaml 4.13 a use of a value of another module is an `int_ref` to the place the `.cmi` records
(the `.mli` when there is one); `ext_ref` appears only when the `.cmi` has no locations
(a library built with `-no-keep-locs`).

Parsed indexes are cached in-process per `.cmt` path, and reused while its mtime and size hold.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from devkit.errors import DevkitError

BUILD_CONTEXT = Path("_build", "default")
CACHE_SIZE = 48  # parsed .cmt files kept in memory
TOOL_TIMEOUT = 120.0  # seconds; ocamlcmt on a huge .cmt takes a few seconds at most
_LONG_SPAN_LINES = 32  # spans over more lines than this are searched linearly, not by line

Pos = tuple[int, int]  # (line 1-based, column as a 0-based byte offset in the line)


class NotBuilt(DevkitError):
    """No `.cmt` for a source file: dune has not compiled it (yet)."""


class StaleBuild(DevkitError):
    """The source file changed after dune compiled it; the `.cmt` describes older text."""


class NotInBuild(DevkitError):
    """The file is not a module of any library, executable or test that dune builds."""


class CmtReadError(DevkitError):
    """`ocamlcmt` is missing, failed, or printed something this parser does not know."""


# --------------------------------------------------------------------------------------------
# Running the OCaml tools


def run_tool(argv: list[str], cwd: Path, env: Mapping[str, str] | None = None,
             timeout: float = TOOL_TIMEOUT) -> subprocess.CompletedProcess:
    """Run an OCaml tool with an argument list; stdout and stderr are captured as bytes.

    The one place where this package starts `ocamlcmt`, the compiler and `dune rules`, so that a
    test can count or fake the invocations. `env` is the toolchain's environment (see
    `devkit.ocaml.toolchain`), so the switch's tools read the switch's files; None inherits.
    """
    try:
        return subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                              env=None if env is None else dict(env), timeout=timeout,
                              check=False)
    except FileNotFoundError:
        raise CmtReadError(
            f"{argv[0]} is not installed; install OCaml (Debian: apt-get install ocaml-nox "
            "ocaml-dune) or activate your opam switch") from None
    except subprocess.TimeoutExpired:
        raise CmtReadError(f"{Path(argv[0]).name} did not finish within {timeout:.0f} s "
                           f"(in {cwd})") from None


def tool_error_text(completed: subprocess.CompletedProcess) -> str:
    """A tool's stderr (or stdout if stderr is empty) as one line, for an error message."""
    text = (completed.stderr or completed.stdout or b"").decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if line != "Exception in main ()"]
    return " ".join(lines)[:500] or f"exit status {completed.returncode}"


# --------------------------------------------------------------------------------------------
# From a source file to its .cmt


@dataclass(frozen=True)
class BuiltSource:
    """A source file of the project and the `.cmt` dune wrote for it."""

    root: Path  # the project (dune) root, resolved
    source: Path  # the source file, absolute and resolved
    name: str  # the source as the compiler names it: relative to the root, '/'-separated
    cmt: Path  # the .cmt file, absolute

    @property
    def build_dir(self) -> Path:
        return self.root / BUILD_CONTEXT


def module_name(path: Path | str) -> str:
    """The OCaml module name of a source file: its name without extension, capitalised.

    >>> module_name("lib/my_mod.ml"), module_name("lexer.mll")
    ('My_mod', 'Lexer')
    """
    stem = Path(path).name.split(".", 1)[0]
    return stem[:1].upper() + stem[1:]


def source_name(root: Path, file: Path) -> tuple[Path, Path, str]:
    """(resolved root, resolved absolute file, the file relative to the root with '/').

    `file` is absolute or relative to `root`. A file outside the root is a `DevkitError`.
    """
    root = root.resolve()
    path = (file if file.is_absolute() else root / file).resolve()
    try:
        relative = path.relative_to(root)
    except ValueError:
        raise DevkitError(f"{file} is outside the project at {root}") from None
    if relative.parts[:1] == ("_build",):
        raise DevkitError(f"{file} is inside dune's build folder; give the source file instead")
    return root, path, relative.as_posix()


_locate_cache: dict[tuple[Path, Path], Path] = {}


def locate(root: Path, file: Path) -> BuiltSource:
    """The `.cmt` dune wrote for source `file` (absolute, or relative to `root`).

    Looks in the objects folders (`.NAME.objs/byte`, `.NAME.eobjs/byte`) of the source's folder,
    then of its ancestors (for `(include_subdirs …)`), for the module's wrapped or unwrapped
    `.cmt`. Does not check freshness (see `check_fresh`). Raises `NotBuilt` when the project has
    no build or no `.cmt` for the module, `NotInBuild` when no dune stanza covers the folder.
    """
    root, path, name = source_name(root, file)
    cached = _locate_cache.get((root, path))
    if cached is not None and cached.is_file():
        return BuiltSource(root, path, name, cached)
    if not path.is_file():
        raise DevkitError(f"{name} does not exist")
    build = root / BUILD_CONTEXT
    if not build.is_dir():
        raise NotBuilt(f"no .cmt for {name}; run `dune build` first (no {BUILD_CONTEXT} in {root})")
    cmt = _find_cmt(build, name)
    _locate_cache[(root, path)] = cmt
    return BuiltSource(root, path, name, cmt)


def _objects_dirs(folder: Path) -> list[Path]:
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return []
    return [folder / entry / "byte" for entry in entries
            if entry.startswith(".") and entry.endswith((".objs", ".eobjs"))
            and (folder / entry / "byte").is_dir()]


def _cmt_candidates(objects: Path, module: str) -> list[Path]:
    """The .cmt files in one objects folder that can hold `module`: wrapped or not."""
    lower = module[:1].lower() + module[1:]
    found = []
    for entry in sorted(os.listdir(objects)):
        if not entry.endswith(".cmt"):
            continue
        unit = entry[:-4]
        if unit in (lower, module) or unit.endswith("__" + module):
            found.append(objects / entry)
    return found


def _mentions_source(cmt: Path, name: str) -> bool:
    """Whether the marshalled `.cmt` contains the string `name` (its source file's name)."""
    encoded = os.fsencode(name)
    size = len(encoded)
    if size < 0x20:
        header = bytes([0x20 + size])
    elif size < 0x100:
        header = b"\x09" + bytes([size])
    else:
        header = b"\x0a" + size.to_bytes(4, "big")
    try:
        return header + encoded in cmt.read_bytes()
    except OSError:
        return False


def _find_cmt(build: Path, name: str) -> Path:
    module = module_name(name)
    folder = Path(name).parent
    own_objects = False
    nearest = True
    while True:
        candidates = []
        objects_dirs = _objects_dirs(build / folder)
        own_objects = own_objects or (nearest and bool(objects_dirs))
        for objects in objects_dirs:
            candidates.extend(_cmt_candidates(objects, module))
        if candidates:
            confirmed = [cmt for cmt in candidates if _mentions_source(cmt, name)]
            if confirmed:
                return confirmed[0]
            if nearest:
                # The source's own folder: the .cmt may just be stored in a form we do not
                # recognise; a module of that name there is this file.
                return candidates[0]
        if folder == Path("."):
            break
        folder = folder.parent
        nearest = False
    if own_objects or _stanza_may_cover(build.parent.parent, Path(name).parent):
        why = ""
        if (build / name).is_file():  # dune copied the source, then did not compile it
            why = " (the last build did not compile it: errors in it or in a module it uses?)"
        raise NotBuilt(f"no .cmt for {name}; run `dune build` first{why}")
    raise NotInBuild(
        f"{name} is not part of any dune library, executable or test (no build of its folder); "
        "add it to a `dune` file's stanza, then run `dune build`")


def _stanza_may_cover(root: Path, folder: Path) -> bool:
    """Whether a `dune` file may build modules of `folder`: its own, or an ancestor's
    with `include_subdirs`."""
    if (root / folder / "dune").is_file():
        return True
    for ancestor in folder.parents:
        try:
            text = (root / ancestor / "dune").read_bytes()
        except OSError:
            continue
        if b"include_subdirs" in text:
            return True
    return False


def check_fresh(built: BuiltSource) -> None:
    """Raise `StaleBuild` if the source changed after dune compiled it.

    A source newer than its `.cmt` is still fresh when its text is dune's copy in the build
    context and that copy is not newer than the `.cmt` (the file was touched, or changed and
    changed back); dune itself skips recompiling then, so the `.cmt` stays older.
    """
    try:
        source_mtime = built.source.stat().st_mtime_ns
    except FileNotFoundError:
        raise DevkitError(f"{built.name} does not exist") from None
    try:
        cmt_mtime = built.cmt.stat().st_mtime_ns
    except FileNotFoundError:
        raise NotBuilt(f"no .cmt for {built.name}; run `dune build` first") from None
    if source_mtime <= cmt_mtime:
        return
    copy = built.build_dir / built.name
    try:
        fresh = (copy.stat().st_mtime_ns <= cmt_mtime
                 and copy.read_bytes() == built.source.read_bytes())
    except OSError:
        fresh = False
    if not fresh:
        raise StaleBuild(f"{built.name} changed since the last build; run `dune build`")


def check_unchanged(root: Path, source: Path) -> None:
    """Raise `StaleBuild` if `source` (under `root`) differs from the copy dune last compiled.

    For a file whose positions another module's `.cmt` records (a definition's target).
    """
    name = source.relative_to(root).as_posix()
    copy = root / BUILD_CONTEXT / name
    try:
        same = copy.read_bytes() == source.read_bytes()
    except OSError:
        same = False
    if not same:
        raise StaleBuild(f"{name} changed since the last build; run `dune build`")


# --------------------------------------------------------------------------------------------
# The index


class Region(NamedTuple):
    """A place in a file as ocamlcmt names it; `end is None` means up to the end of the file."""

    file: str
    start: Pos
    end: Pos | None
    start_offset: int
    end_offset: int | None


class Ident(NamedTuple):
    """What `ident(` says about a span.

    `kind` is `def` (a binding; `target` is its scope), `int_ref` (a use; `target` is the
    definition, possibly in another file) or `ext_ref` (a use whose definition ocamlcmt does not
    know; `target` is None).
    """

    kind: str
    name: str
    target: Region | None


class Span(NamedTuple):
    """One location of the annotations: an expression or pattern (with a type), an identifier."""

    file: str
    start: Pos
    end: Pos
    start_offset: int
    end_offset: int
    type: str | None
    ident: Ident | None

    @property
    def size(self) -> int:
        return self.end_offset - self.start_offset


class _FileSpans:
    """The spans of one source file, bucketed by line for position queries."""

    def __init__(self) -> None:
        self.by_line: dict[int, list[Span]] = {}
        self.long: list[Span] = []
        self.defs: list[Span] = []

    def add(self, span: Span) -> None:
        first, last = span.start[0], span.end[0]
        if last - first >= _LONG_SPAN_LINES:
            self.long.append(span)
        else:
            for line in range(first, last + 1):
                self.by_line.setdefault(line, []).append(span)
        if span.ident is not None and span.ident.kind == "def":
            self.defs.append(span)


class CmtIndex:
    """The annotations of one `.cmt`: typed spans, identifier uses and bindings.

    A query for a position looks at the spans on that line plus the few spans longer than
    `_LONG_SPAN_LINES` lines: O(spans on the line + long spans).
    """

    def __init__(self, cmt: Path, spans: list[Span]) -> None:
        self.cmt = cmt
        self.spans = spans
        self._files: dict[str, _FileSpans] = {}
        for span in spans:
            spans_of_file = self._files.get(span.file)
            if spans_of_file is None:
                spans_of_file = self._files[span.file] = _FileSpans()
            spans_of_file.add(span)

    @property
    def files(self) -> set[str]:
        return set(self._files)

    def spans_at(self, file: str, pos: Pos) -> list[Span]:
        """Spans of `file` containing `pos`, smallest first.

        A span contains the positions from its start up to, not including, its end; if none
        does, spans ending exactly at `pos` count (the cursor just after a word).
        """
        spans_of_file = self._files.get(file)
        if spans_of_file is None:
            return []
        nearby = spans_of_file.by_line.get(pos[0], []) + spans_of_file.long
        found = [span for span in nearby if span.start <= pos < span.end]
        if not found:
            found = [span for span in nearby if span.start <= pos <= span.end]
        found.sort(key=lambda span: span.size)  # stable: ocamlcmt prints inner spans first
        return found

    def definitions(self, file: str) -> list[Span]:
        """The bindings (`def`) of `file`, in the order ocamlcmt printed them."""
        spans_of_file = self._files.get(file)
        return list(spans_of_file.defs) if spans_of_file else []


_POS = rb'(?:"((?:[^"\\]|\\.)*)" (-?\d+) (-?\d+) (-?\d+)|--)'
_LOCATION = re.compile(rb"^" + _POS + rb" " + _POS + rb"$")
_REF = re.compile(rb"^\s*(def|int_ref) (.+?) " + _POS + rb" " + _POS + rb"$")
_EXT_REF = re.compile(rb"^\s*ext_ref (.+)$")
_ESCAPE = re.compile(rb"\\(\d{3}|x[0-9a-fA-F]{2}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {b"n": b"\n", b"t": b"\t", b"b": b"\b", b"r": b"\r", b" ": b" "}


def _unescape(raw: bytes) -> str:
    """A file name as OCaml's `String.escaped` printed it, back to a str."""
    def replace(match: re.Match) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code) & 0xFF])
        if code[:1] == b"x":
            return bytes([int(code[1:], 16)])
        return _SIMPLE_ESCAPES.get(code, code)
    return os.fsdecode(_ESCAPE.sub(replace, raw) if b"\\" in raw else raw)


def _region(groups: tuple, names: dict[bytes, str]) -> Region | None:
    """A Region from the 8 groups of two `_POS`; None if the start is a dummy position."""
    file, line, bol, cnum, _file2, line2, bol2, cnum2 = groups
    if file is None:
        return None
    name = names.get(file)
    if name is None:
        name = names[file] = _unescape(file)
    start_line, start_bol, start_cnum = int(line), int(bol), int(cnum)
    start = (start_line, start_cnum - start_bol)
    if line2 is None or int(cnum2) < 0:
        return Region(name, start, None, start_cnum, None)
    end_bol, end_cnum = int(bol2), int(cnum2)
    return Region(name, start, (int(line2), end_cnum - end_bol), start_cnum, end_cnum)


def _location(line: bytes, names: dict[bytes, str]) -> tuple | None:
    """(file, start, end, start offset, end offset) of a location line; None if dummy."""
    parts = line.split(b" ")
    if len(parts) == 8 and parts[0][:1] == b'"' and parts[0][-1:] == b'"':  # the usual case
        raw = parts[0][1:-1]
        numbers = parts[1:4] + parts[5:8]
    else:  # a file name with spaces, or a dummy position
        match = _LOCATION.match(line)
        if match is None:
            raise ValueError(line)
        raw = match.group(1)
        if raw is None or match.group(5) is None:
            return None
        numbers = match.groups()[1:4] + match.groups()[5:8]
    name = names.get(raw)
    if name is None:
        name = names[raw] = _unescape(raw)
    line1, bol1, cnum1, line2, bol2, cnum2 = map(int, numbers)
    return name, (line1, cnum1 - bol1), (line2, cnum2 - bol2), cnum1, cnum2


def parse_annot(data: bytes, cmt: Path) -> CmtIndex:
    """Parse the output of `ocamlcmt -annot` (bytes) into a `CmtIndex`.

    Raises `CmtReadError` on a line that is neither a location nor a block.
    """
    spans: list[Span] = []
    names: dict[bytes, str] = {}
    lines = data.split(b"\n")
    current = None
    span_type: str | None = None
    span_ident: Ident | None = None
    index, count = 0, len(lines)
    while index < count:
        line = lines[index]
        index += 1
        if not line:
            continue
        if line[0] in b'"-':
            if current is not None and (span_type or span_ident):
                spans.append(Span(*current, span_type, span_ident))
            try:
                current = _location(line, names)
            except ValueError:
                raise CmtReadError(f"unexpected line {index} in the ocamlcmt output for {cmt}: "
                                   f"{line[:80]!r}") from None
            span_type = span_ident = None
            continue
        if line == b"type(" and index + 1 < count and lines[index + 1] == b")":
            if span_type is None:  # the common case: a type on one line
                span_type = lines[index].strip().decode("utf-8", errors="replace")
            index += 2
            continue
        if not line.endswith(b"("):
            raise CmtReadError(f"unexpected line {index} in the ocamlcmt output for {cmt}: "
                               f"{line[:80]!r}")
        first = index
        while index < count and lines[index] != b")":
            index += 1
        if index >= count:
            raise CmtReadError(f"the ocamlcmt output for {cmt} ends inside a "
                               f"{line.decode(errors='replace')} block")
        block = lines[first:index]
        index += 1  # the closing ")"
        if line == b"type(":
            if span_type is None:
                text = b" ".join(part.strip() for part in block)
                span_type = text.decode("utf-8", errors="replace")
        elif line == b"ident(" and span_ident is None and block:
            span_ident = _parse_ident(block[0], names)
        # `call(` blocks, and blocks of later OCaml versions, carry nothing we use
    if current is not None and (span_type or span_ident):
        spans.append(Span(*current, span_type, span_ident))
    return CmtIndex(cmt, spans)


def _parse_ident(line: bytes, names: dict[bytes, str]) -> Ident | None:
    match = _REF.match(line)
    if match is not None:
        kind = match.group(1).decode()
        name = match.group(2).decode("utf-8", errors="replace")
        return Ident(kind, name, _region(match.groups()[2:], names))
    match = _EXT_REF.match(line)
    if match is not None:
        return Ident("ext_ref", match.group(1).decode("utf-8", errors="replace").strip(), None)
    return None


# --------------------------------------------------------------------------------------------
# Reading (cached)


_cache: OrderedDict[Path, tuple[int, int, CmtIndex]] = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every parsed `.cmt` (and where sources' `.cmt` files are)."""
    with _cache_lock:
        _cache.clear()
        _locate_cache.clear()
        _info_cache.clear()


def read_index(cmt: Path, build_dir: Path, env: Mapping[str, str] | None = None) -> CmtIndex:
    """The parsed annotations of `cmt`, from the cache while its mtime and size hold.

    Otherwise runs `ocamlcmt -annot -o - CMT` in `build_dir` (the build context, where the
    `.cmt`'s relative load path starts) and parses its output: one `ocamlcmt` run per version
    of a `.cmt` per process (as long as it stays among the `CACHE_SIZE` most recently used).
    """
    try:
        stat = cmt.stat()
    except FileNotFoundError:
        raise NotBuilt(f"{cmt} is gone; run `dune build`") from None
    key = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        entry = _cache.get(cmt)
        if entry is not None and entry[:2] == key:
            _cache.move_to_end(cmt)
            return entry[2]
    completed = run_tool(["ocamlcmt", "-annot", "-o", "-", str(cmt)], cwd=build_dir, env=env)
    if completed.returncode != 0:
        raise CmtReadError(f"ocamlcmt cannot read {cmt.name}: {tool_error_text(completed)}; "
                           "run `dune build` (a stale or partial build?)")
    index = parse_annot(completed.stdout, cmt)
    with _cache_lock:
        _cache[cmt] = (*key, index)
        _cache.move_to_end(cmt)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return index


def index_for(root: Path, file: Path,
              env: Mapping[str, str] | None = None) -> tuple[BuiltSource, CmtIndex]:
    """The `.cmt` and its index for a source file, after checking the build is fresh."""
    built = locate(root, file)
    check_fresh(built)
    return built, read_index(built.cmt, built.build_dir, env)


# --------------------------------------------------------------------------------------------
# What the .cmt says about its compilation (`ocamlcmt -info`)


@dataclass(frozen=True)
class CmtInfo:
    """The compiler command recorded in a `.cmt` (joined with spaces, so split back here)."""

    command: str
    source_file: str | None
    module: str


_info_cache: dict[Path, tuple[int, int, CmtInfo]] = {}


def read_info(cmt: Path, build_dir: Path, env: Mapping[str, str] | None = None) -> CmtInfo:
    """`ocamlcmt -info`: the compile command, source file and unit name recorded in `cmt`."""
    stat = cmt.stat()
    key = (stat.st_mtime_ns, stat.st_size)
    entry = _info_cache.get(cmt)
    if entry is not None and entry[:2] == key:
        return entry[2]
    completed = run_tool(["ocamlcmt", "-info", str(cmt)], cwd=build_dir, env=env)
    if completed.returncode != 0:
        raise CmtReadError(f"ocamlcmt cannot read {cmt.name}: {tool_error_text(completed)}")
    fields: dict[str, str] = {}
    for line in completed.stdout.decode("utf-8", errors="replace").splitlines():
        field, sep, value = line.partition(": ")
        if sep and field not in fields:
            fields[field] = value
    if "command" not in fields:
        raise CmtReadError(f"ocamlcmt -info printed no command for {cmt.name}")
    info = CmtInfo(fields["command"], fields.get("sourcefile"), fields.get("module name", ""))
    _info_cache[cmt] = (*key, info)
    return info
