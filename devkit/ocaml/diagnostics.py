"""Compiler and dune output → `Diagnostic` records, and their quickfix / vim.diagnostic forms.

`parse` reads what `ocamlc`, `ocamlopt`, `ocamldep`, `ocamllex` and dune print and returns one
`Diagnostic` per reported problem. It understands every location form OCaml 4.x/5.x prints:

=========================================  ===============================================
printed                                    span (``line``, ``col``) to (``end_line``, ``end_col``)
=========================================  ===============================================
``line L, characters A-B``                 (L, A) to (L, B)
``lines L1-L2, characters A-B``            (L1, A) to (L2, B): A is on L1, B on L2
``line L``  (no columns)                   (L, 0) to (L, 0): an empty span at the line start
``line L, character C`` (ocamllex)         (L, C) to (L, C+1): the one byte at C
=========================================  ===============================================

Columns are the compiler's: 0-based **byte** offsets on their line, the end exclusive. Spans
printed backwards (only possible in damaged output) are clamped so the end never precedes the
start. ``character C`` is taken as printed; note that ocamllex itself counts from 0 in its syntax
errors but from 1 in its lexical errors (``illegal character``), so those point one byte late.

What follows a location:

- source excerpts (``12 | let x = …``, ``...``) and caret lines (``    ^^^``): skipped;
- a header: ``Error: m``, ``Error (warning N [name]): m`` (severity ``"error"`` with that code and
  name), ``Warning N [name]: m``, ``Alert name: m``, ``Error (alert name): m``. The message is the
  header's text plus every continuation line up to the next location, blank line or dune line;
  continuation lines lose the indentation the header introduced (at most the header's width),
  so relative indentation survives and trailing blanks go;
- indented locations inside a message (``File "a.mli", line 1, characters 0-11: Expected
  declaration``) become `Related` entries and leave the message;
- a location with no header whose next line is indented text (``  This '(' might be unmatched``
  after a syntax error) is a secondary note: a `Related` of the diagnostic before it;
- a location with no header followed by a failed dune action showing a diff (a ``(diff …)`` rule,
  an expect or cram test) is one error for that file whose message is
  ``"output differs; run `dune promote` to accept the new output"`` then the diff;
- ``ocamllex`` puts its message on the location line itself (``…, character 9: syntax error.``):
  one error with that message.

Dune's own lines are understood and dropped: ``Entering directory '…'`` (relative paths after it
are relative to that directory, the dune root), ``(cd _build/default && …)`` command lines, the
``--display short`` job lines (``      ocamlc foo.cmo (exit 2)``), verbose ``Running[…]`` /
``Command […]`` / ``$ (cd …)`` lines and progress lines. ANSI colour codes and carriage-return
overwrites (dune on a terminal) are removed before a line is read. Errors that carry no location
(``Error: I/O error…`` with no file, ``Error: Build failed``) are not diagnostics and are dropped;
identical diagnostics (dune ``--display verbose`` repeats ocamlc's and ocamlopt's) are kept once.

`parse` never raises on any text: callers decode bytes with ``errors="replace"`` and anything
unrecognised is skipped. It is O(n) in the length of the output: one precompiled regular
expression reads the common blocks whole (location, excerpt, header, continuation lines) and a
line-by-line state machine, `_Reader`, everything else, by the same rules.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Diagnostic", "Related", "parse"]

SEVERITIES = ("error", "warning", "alert")

# vim.diagnostic.severity: ERROR=1, WARN=2, INFO=3, HINT=4.
_VIM_SEVERITY = {"error": 1, "warning": 2, "alert": 2}
# setqflist() "type": a single character.
_QF_TYPE = {"error": "E", "warning": "W", "alert": "W"}

DIFF_MESSAGE = "output differs; run `dune promote` to accept the new output"

_ANSI = re.compile(r"\x1b(?:\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
# The parts of a location: `File "<path>", line L` or `lines L1-L2`, then optionally
# `, characters A-B` or `, character C`, then a colon. The path ends at the first `", line`; it
# is read without backtracking (a path holding `"` still works). Numbers longer than 9 digits
# are not locations (and so never overflow anything).
_PATH = r'[^"\n]*+(?:"(?!, lines? [0-9])[^"\n]*+)*+'
_LOCATION = re.compile(
    r'(?P<indent>[ \t]*)File "(?P<path>' + _PATH + r')", '
    r"(?:line (?P<line>[0-9]{1,9}+)|lines (?P<line1>[0-9]{1,9}+)-(?P<line2>[0-9]{1,9}+))"
    r"(?:, characters (?P<start>[0-9]{1,9}+)-(?P<end>[0-9]{1,9}+)"
    r"|, character (?P<char>[0-9]{1,9}+))?+"
    r":(?P<rest>.*)",
    re.ASCII,
)
_HEADER_PATTERN = (
    r"(?:Error(?: \((?:warning (?P<ewcode>[0-9]{1,9}+)(?: \[(?P<ewname>[^\]\n]*+)\])?+"
    r"|alert (?P<ealert>[^)\n]*+))\))?+"
    r"|Warning (?P<wcode>[0-9]{1,9}+)(?: \[(?P<wname>[^\]\n]*+)\])?+"
    r"|Alert (?P<aname>[^:\s]++))"
    r": ?+"
)
_HEADER = re.compile(_HEADER_PATTERN, re.ASCII)
# What may follow a location: a source excerpt or caret line (group 1), or a header.
_EXCERPT = r"[ \t]*+(?:[0-9]++ \|(?: .*+)?+|\^++[ \t]*+|\.\.\.[ \t]*+)"
_AFTER_LOCATION = re.compile(r"(" + _EXCERPT + r"$)|" + _HEADER_PATTERN, re.ASCII)
_ENTERING = re.compile(r"(?:\S+: )?Entering directory [`'\"](?P<dir>.*)['\"]$")
_JOB_EXIT = re.compile(r"\(exit [0-9]+\)$|\(got signal [A-Z0-9]+\)$")
# Programs dune runs whose `--display short` job line could follow a message.
_JOB_TOOLS = frozenset((
    "ocamlc", "ocamlopt", "ocamldep", "ocamlmklib", "ocamllex", "ocamlyacc", "ocamlfind",
    "menhir", "odoc", "ocamlformat", "refmt", "ppx", "ppx_driver", "git", "diff", "patdiff",
    "cmp", "cc", "gcc", "clang", "ld", "ar", "echo", "cat", "bash", "sh", "run", "false", "true",
    "cinaps", "mdx", "dune",
))
# Lines dune prints in its own voice (verbose/short/progress displays).
_DUNE_PREFIXES = (
    "(cd ",
    "$ (cd ",
    "Command [",
    "Running[",
    "Leaving directory",
    "Done: ",
    "Scanned ",
    "Promoting ",
    "Success, waiting",
    "Had errors, waiting",
    "Workspace root:",
    "Auto-detected concurrency",
    "Dune context:",
    "********",
)


@dataclass(frozen=True)
class Related:
    """A secondary location of a diagnostic: the other side of an ml/mli mismatch, an unmatched
    opening bracket. Fields as in `Diagnostic`; `message` is the text printed with it."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    message: str

    def to_json(self) -> dict:
        """The fields as a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Diagnostic:
    """One problem the compiler or dune reported.

    `path` is the file as printed, relative to the dune root ('/'-separated, ``./`` removed; see
    `parse` for `root`). `line`/`end_line` are 1-based; `col`/`end_col` are 0-based byte offsets
    on their own lines, `end_col` exclusive — exactly the compiler's ``characters A-B``.
    `severity` is ``"error"``, ``"warning"`` or ``"alert"``; a warning or alert turned into an
    error (``Error (warning 26 [unused-var])``) is ``"error"`` and keeps its `code` and `name`.
    `code` is the warning number, `name` the warning or alert mnemonic (``"unused-var"``,
    ``"deprecated"``). `message` has no ``Error:``/``Warning N [name]:`` prefix.
    """

    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    severity: str
    code: int | None
    name: str | None
    message: str
    related: tuple[Related, ...] = ()

    def quickfix(self, root: Path) -> dict:
        """This diagnostic as a Vim/Neovim quickfix item for ``setqflist()``.

        Vim's quickfix positions are 1-based and ``col`` is a byte index when ``vcol`` is 0
        (``:help setqflist``), so: ``lnum = line``, ``col = col + 1``, ``end_lnum = end_line``,
        ``end_col = end_col + 1``. The help only says ``end_col`` is the "end column"; Neovim's
        own ``vim.diagnostic.toqflist()`` writes ``end_col = diagnostic.end_col + 1`` from an
        exclusive 0-based end (and ``fromqflist()`` subtracts 1), so ``end_col`` here is 1-based
        and exclusive too: the column just after the last byte, matching Neovim's round trip.
        ``filename`` is ``root / path`` (an absolute `path` stays as it is), ``type`` is ``"E"``
        for errors and ``"W"`` for warnings and alerts, ``nr`` the warning number or 0, ``text``
        the message (Vim shows its newlines as spaces).

        >>> item = Diagnostic("a.ml", 2, 4, 2, 7, "warning", 26, "unused-var", "unused x").quickfix(
        ...     Path("/p"))
        >>> item["filename"], item["lnum"], item["col"], item["end_lnum"], item["end_col"]
        ('/p/a.ml', 2, 5, 2, 8)
        """
        return {
            "filename": os.path.join(root, self.path),
            "lnum": self.line,
            "col": self.col + 1,
            "end_lnum": self.end_line,
            "end_col": self.end_col + 1,
            "vcol": 0,
            "type": _QF_TYPE.get(self.severity, "E"),
            "nr": self.code if self.code is not None else 0,
            "text": self.message,
        }

    def vim_diagnostic(self) -> dict:
        """This diagnostic as a ``vim.diagnostic`` item (Neovim's ``:help diagnostic-structure``).

        Neovim's diagnostics use the API's indexing (``:help api-indexing``): rows and columns
        0-based, columns byte offsets, the end column exclusive, which is the compiler's
        convention already: ``lnum = line - 1``, ``col = col``, ``end_lnum = end_line - 1``,
        ``end_col = end_col``. ``severity`` is 1 (ERROR) for errors, 2 (WARN) for warnings and
        alerts; ``code`` is ``"warning N"`` for a numbered warning, the alert name for an alert,
        absent otherwise; ``source`` is ``"ocaml"``. ``user_data`` carries the mnemonic and the
        related locations (as `Related.to_json`) when there are any.
        """
        item: dict = {
            "lnum": self.line - 1,
            "col": self.col,
            "end_lnum": self.end_line - 1,
            "end_col": self.end_col,
            "severity": _VIM_SEVERITY.get(self.severity, 1),
            "message": self.message,
            "source": "ocaml",
        }
        if self.code is not None:
            item["code"] = f"warning {self.code}"
        elif self.name is not None:
            item["code"] = self.name
        user_data: dict = {}
        if self.name is not None:
            user_data["name"] = self.name
        if self.related:
            user_data["related"] = [r.to_json() for r in self.related]
        if user_data:
            item["user_data"] = user_data
        return item

    def to_json(self) -> dict:
        """All fields as a JSON-ready dict (`related` as a list of dicts)."""
        return {**dataclasses.asdict(self), "related": [r.to_json() for r in self.related]}


def _span(groups: tuple) -> tuple[int, int, int, int]:
    """(line, col, end_line, end_col) from the groups of a `_LOCATION` match, or of a `_BLOCK`
    match, clamped so that the end is not before the start."""
    if len(groups) == 9:  # _LOCATION: indentation, path, line, …
        line_text, line1, line2, start, end, char = groups[2:8]
    else:  # _BLOCK: path, line, …
        line_text, line1, line2, start, end, char = groups[1:7]
    if line_text is not None:
        line = end_line = int(line_text)
    else:
        line = int(line1)
        end_line = int(line2)
    if start is not None:
        col = int(start)
        end_col = int(end)
    elif char is not None:
        col = int(char)
        end_col = col + 1
    else:
        col = end_col = 0
    if line < 1:
        line = 1
    if end_line <= line:
        end_line = line
        if end_col < col:
            end_col = col
    return line, col, end_line, end_col


def _is_job_line(line: str) -> bool:
    """Whether `line` is one of dune's job lines: the program name right-aligned to column 12,
    then the target (``      ocamlc src/.main.eobjs/byte/main.cmo (exit 2)``)."""
    if len(line) < 14 or line[12] != " " or line[11] == " " or line[0] != " ":
        return False
    tool = line[:12].lstrip()
    if " " in tool or "\t" in tool:
        return False
    return tool in _JOB_TOOLS or _JOB_EXIT.search(line) is not None


def _is_dune_line(line: str) -> bool:
    return line.startswith(_DUNE_PREFIXES) or _ENTERING.match(line) is not None


class _Paths:
    """Turns printed paths into the form `Diagnostic.path` promises, with a cache."""

    def __init__(self, root: Path | None) -> None:
        self.root = posixpath.normpath(str(root).replace(os.sep, "/")) if root else None
        self.base: str | None = None  # the directory dune entered: the dune root
        self.cache: dict[str, str] = {}
        # What `parse` made of each block of output, as the paths depend on `base`.
        self.blocks: dict[tuple, tuple] = {}

    def enter(self, directory: str) -> None:
        self.base = posixpath.normpath(directory) if directory else None
        self.cache.clear()
        self.blocks.clear()

    def __call__(self, printed: str) -> str:
        found = self.cache.get(printed)
        if found is None:
            found = self.cache[printed] = self._resolve(printed)
        return found

    def _resolve(self, printed: str) -> str:
        path = printed.replace("\\", "/") if os.sep == "\\" else printed
        root, base = self.root, self.base
        absolute = path.startswith("/")
        if root is None:
            if base is not None and absolute:
                return _relative_under(posixpath.normpath(path), base)
            return posixpath.normpath(path) if path else path
        if absolute:
            full = posixpath.normpath(path)
        elif base is None:
            relative = posixpath.normpath(path)
            if relative != ".." and not relative.startswith("../"):
                return relative  # under `root`, which it is relative to
            full = posixpath.normpath(posixpath.join(root, path))
        else:
            full = posixpath.normpath(posixpath.join(base, path))
        if _under(full, root):
            return _relative_under(full, root)
        if base is not None and not absolute:
            # Dune printed the directory through another name (a symbolic link): compare the
            # real locations (once per printed path: the result is cached).
            try:
                real_base = os.path.realpath(base)
                real_root = os.path.realpath(root)
            except (OSError, ValueError):
                return full
            candidate = posixpath.normpath(posixpath.join(real_base, path))
            if _under(candidate, real_root):
                return _relative_under(candidate, real_root)
        return full


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _relative_under(path: str, directory: str) -> str:
    if path == directory:
        return "."
    return path[len(directory.rstrip("/")) + 1 :]


# `parse` collects diagnostics as tuples, (path, line, col, end_line, end_col, severity, code,
# name, message, related, width), `width` being that of the header (continuation lines lose up to
# that much indentation); or, while `_Reader` may still add to one, as a list of the same shape
# with the message as a list of lines, related locations as a list of [path, span, indentation of
# its `File` line, message lines], and a twelfth item: the related location being read, if any.
_LINES, _RELATED, _WIDTH, _SUB = range(8, 12)

_IDLE, _LOCATED, _MESSAGE, _NOTE, _BODY = range(5)

# The common case in one match, so that the regular expression engine rather than Python reads
# excerpt and caret lines: a location at the start of a line, its excerpt, a header, and the
# continuation lines that cannot be anything else: indented ones that are not blank and not
# shaped like a dune job line, unindented ones that start like no location, header, progress or
# dune line. `parse` hands the lines from the first holding `File "` on (related locations) to
# `_Reader`, which reads whatever this leaves line by line with the same rules: where this stops
# early the result is the same, only slower.
_JOB_SHAPED = r" {1,11}[^ \t\n]++ (?<=\n.{13})"  # a word ending at column 12, then a space
_NOT_CONTINUATION = "|".join(
    re.escape(prefix)
    for prefix in ('File "', "Error", "Warning", "Alert", "Done: ", "Scanned ", *_DUNE_PREFIXES)
)
_BLOCK = re.compile(
    # `File "` first, then a look back for the start of the line: a pattern starting with a
    # literal is searched for far faster than one starting with `^`.
    r'File "(?<=^File ")(' + _PATH + r')", '
    r"(?:line ([0-9]{1,9}+)|lines ([0-9]{1,9}+)-([0-9]{1,9}+))"
    r"(?:, characters ([0-9]{1,9}+)-([0-9]{1,9}+)|, character ([0-9]{1,9}+))?+"
    r":[ \t]*+\n"
    r"(?:" + _EXCERPT + r"\n)*+"
    r"(" + re.sub(r"\(\?P<\w+>", "(?:", _HEADER_PATTERN) + r")(.*+)"
    r"((?:\n(?:(?!" + _JOB_SHAPED + r")[ \t]++(?=\S)"
    r"|(?=\S)(?!" + _NOT_CONTINUATION + r"|(?:\S+: )?Entering directory )).*+)*+)"
    r"\n?+",
    re.ASCII | re.MULTILINE,
)
_DONE_GLUED = re.compile(r"^Done: [^\n]*?(?=File \")", re.MULTILINE)
_CHUNK = 1 << 16


def parse(output: str, root: Path | None = None) -> list[Diagnostic]:
    """The diagnostics in `output` (compiler or dune stdout+stderr, decoded), in printed order.

    Paths: the compiler prints them relative to its working directory, which under dune is the
    dune root (dune prints ``Entering directory '<root>'`` first when it was started elsewhere).
    Without `root`, paths are returned as printed with ``./`` and ``a/../`` removed (absolute
    paths under the entered directory become relative to it). With `root` (the project root;
    give it absolute, as dune prints its directory absolute), relative paths are taken relative
    to the entered directory, or to `root` when none was entered, and every path under `root`
    is returned relative to it; paths outside `root` are returned absolute (or as printed when
    nothing makes them absolute).

    Complexity: O(n) in the length of `output`: one pass of a precompiled regular expression
    for the common blocks, one pass over the lines it leaves. Python's cyclic garbage collector
    is paused meanwhile (parsing makes many objects and no cycles; its collections would cost
    up to a quarter of the time) and resumed after, as it was.

    >>> [d.message for d in parse('File "a.ml", line 1, characters 8-9:\\nError: Unbound x')]
    ['Unbound x']
    """
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        return _parse(output, root)
    finally:
        if collecting:
            gc.enable()


def _parse_by_lines(output: str, root: Path | None = None) -> list[Diagnostic]:
    """What `parse` returns, read by `_Reader` alone, line by line: slower, the same result
    (the tests hold `parse` to it)."""
    reader = _Reader(_Paths(root))
    reader.read(_terminal_text(output))
    return _build(reader.found, reader.mutable)


def _parse(output: str, root: Path | None) -> list[Diagnostic]:
    text = _terminal_text(output)
    reader = _Reader(_Paths(root))
    paths = reader.paths
    cache = paths.cache
    blocks = paths.blocks
    kinds: dict[str, tuple] = {}  # header → (severity, code, name, width)
    found = reader.found
    append = found.append
    # The output is read in pieces of about _CHUNK characters, each ending before a line that
    # starts with `File "` (which ends whatever `_Reader` was reading, so a piece boundary there
    # changes nothing): the lists `split` makes stay small, which is faster, and memory stays
    # bounded by the diagnostics rather than the output.
    continues = False  # whether the text before a piece's first block may continue a message
    size = len(text)
    start = 0
    while start < size:
        end = text.find('\nFile "', start + _CHUNK)
        end = size if end < 0 else end + 1
        # [text before the first block, its 10 groups, text up to the next block, its groups, …]
        parts = _BLOCK.split(text[start:end])
        start = end
        if parts[0]:
            reader.read(parts[0], continues)
        continues = False
        fields = iter(parts)
        next(fields)
        for block in zip(*[fields] * 11, strict=True):
            # `block`: the groups, then the text up to the next block (most often "").
            item = blocks.get(block)
            after = block[10]
            if item is None:
                # A block not seen before (dune prints a module's warnings twice: when
                # compiling to bytecode and to native code; a repeat costs a look-up, and
                # `_build` keeps it once, unless `_Reader` added to one of them).
                printed, line, _, _, col, end_col, _, head, message, more, _ = block
                path = cache.get(printed) or paths(printed)
                if line is not None and col is not None:  # `line L, characters A-B`
                    line = int(line)
                    col = int(col)
                    end_col = int(end_col)
                    if end_col < col:
                        end_col = col
                    if line < 1:
                        line = 1
                    end_line = line
                else:
                    line, col, end_line, end_col = _span(block)
                kind = kinds.get(head)
                if kind is None:
                    kind = _header_kind(_HEADER.match(head).groups())
                    kind = kinds[head] = (*kind, len(head))
                severity, code, name, width = kind
                message = message.rstrip()
                repeatable = True
                if more:
                    if 'File "' in more:
                        # From the line holding a location on, `_Reader` reads (related
                        # locations).
                        cut = more.rfind("\n", 0, more.find('File "'))
                        after = more[cut + 1 :] + "\n" + after
                        more = more[:cut]
                        repeatable = False
                    lines = [message]
                    for continuation in more[1:].split("\n") if more else ():
                        indent = len(continuation) - len(continuation.lstrip(" \t"))
                        lines.append(continuation[min(indent, width) :].rstrip())
                    while lines and not lines[-1]:
                        lines.pop()
                    message = "\n".join(lines)
                item = (path, line, col, end_line, end_col, severity, code, name, message, (),
                        width)
                if repeatable:
                    blocks[block] = item
            append(item)
            if after:
                reader.read(after, continues=True)
            continues = not after  # the piece may end here, right after this block
    return _build(found, reader.mutable)


def _terminal_text(output: str) -> str:
    """`output` as a terminal would show it: colours removed, ``\\r`` overwrites resolved (the
    last non-blank segment of a line wins), dune's progress line removed where a message was
    printed straight after it (``Done: 5/9 (jobs: 1)File "a.ml", …``)."""
    if "\x1b" in output:
        output = _ANSI.sub("", output)
    if "\r" in output:
        output = "\n".join(_overwrite(line) if "\r" in line else line
                           for line in output.split("\n"))
    if "Done: " in output:
        output = _DONE_GLUED.sub("", output)
    return output


def _overwrite(line: str) -> str:
    segments = [s for s in line.split("\r") if s.strip()]
    return segments[-1] if segments else ""


class _Reader:
    """Reads, line by line, what `_BLOCK` does not match: a state machine whose states are
    _IDLE (between diagnostics), _LOCATED (a location was read; excerpt lines follow, then a
    header, a note, or a failed command's output), _MESSAGE (continuation lines of `current`),
    _NOTE (a secondary note of the last diagnostic) and _BODY (a failed command's output)."""

    def __init__(self, paths: _Paths) -> None:
        self.paths = paths
        self.found: list = []  # diagnostics read so far: tuples and lists, see `_LINES`
        self.current: list | None = None  # the one whose message is being read
        self.pending = None  # (printed path, path, span) of the location being read
        # Locations dune printed for an action whose output comes later, after other messages
        # (a failing `(diff …)`): printed path → [(printed, path, span), …], oldest first.
        self.orphans: dict[str, list] = {}
        self.body: list[str] = []
        self.state = _IDLE
        self.mutable = False  # whether `found` may hold lists: this has read something

    def read(self, text: str, continues: bool = False) -> None:
        """Read `text`, lines `_BLOCK` left; they may continue the message of the diagnostic
        `parse` read just before them (the last in `found`) when `continues`."""
        if continues:
            self.state = _MESSAGE
        if text.endswith("\n"):
            text = text[:-1]  # the newline before the next block's location
        self.feed(text.split("\n"))
        self.interrupt()  # the next block starts with a location at the start of a line

    def interrupt(self) -> None:
        """End what is being read, as a `File` line at the start of a line (or the end of the
        output) does."""
        state = self.state
        if state == _LOCATED:
            self.orphans.setdefault(self.pending[0], []).append(self.pending)
        elif state == _BODY:
            self._finish_body()
        self.pending = None
        self.state = _IDLE

    def feed(self, lines: list[str]) -> None:
        self.mutable = True
        paths = self.paths
        found = self.found
        if found and type(found[-1]) is tuple:
            # `parse` read the last one; what follows may add to it.
            t = found[-1]
            found[-1] = [*t[:8], t[8].split("\n"), list(t[9]), t[10], None]
            if self.state == _MESSAGE:
                self.current = found[-1]
        current = self.current
        state = self.state
        location = _LOCATION.match
        after_location = _AFTER_LOCATION.match
        header = _HEADER.match
        for line in lines:
            # `filler`: what a terminal's progress display leaves behind (status lines, the
            # blanks that erase them), also when the \r that separated them became a newline.
            if line:
                first = line[0]
                indented = first == " " or first == "\t"
                filler = indented and len(line) > 1 and not line.strip(" \t\r\f\v")
                if (first == "D" and line.startswith("Done: ")) or (
                    first == "S" and line.startswith("Scanned ")
                ):
                    filler = True
            else:
                first = ""
                indented = filler = False

            if state == _MESSAGE:
                if indented and not filler:
                    if 'File "' in line:
                        m = location(line)
                        if m is not None:
                            g = m.groups()
                            text = g[8].strip()
                            sub = [paths(g[1]), _span(g), len(g[0]), [text] if text else []]
                            current[_RELATED].append(sub)
                            current[_SUB] = sub
                            continue
                    if _is_job_line(line):
                        state = _IDLE
                        continue
                    # A continuation line: of the related location above it when indented
                    # deeper than that one's `File`, else of the message, less the header's
                    # indentation.
                    stripped = line.lstrip(" \t")
                    indent = len(line) - len(stripped)
                    sub = current[_SUB]
                    if sub is not None:
                        if indent > sub[2]:
                            sub[3].append(stripped.rstrip())
                            continue
                        current[_SUB] = None
                    current[_LINES].append(line[min(indent, current[_WIDTH]) :].rstrip())
                    continue
                if not line or filler:
                    state = _IDLE
                    continue
                if first == "F" and line.startswith('File "'):
                    state = _IDLE  # and read the location below
                elif _is_dune_line(line) or header(line) is not None:
                    state = _IDLE  # a header with no location is dropped
                    m = _ENTERING.match(line)
                    if m is not None:
                        paths.enter(m.group("dir"))
                    continue
                else:
                    current[_SUB] = None
                    current[_LINES].append(line.rstrip())
                    continue
            elif state == _LOCATED:
                if not line or filler:
                    continue
                m = after_location(line)
                if m is not None:
                    g = m.groups()
                    if g[0] is not None:
                        continue  # a source excerpt or caret line
                    width = m.end()
                    _, path, span = self.pending
                    current = [path, *span, *_header_kind(g[1:]), [line[width:].rstrip()], [],
                               width, None]
                    found.append(current)
                    self.pending = None
                    state = _MESSAGE
                    continue
                if (first == "F" and line.startswith('File "')) or _ENTERING.match(line):
                    self.state = state
                    self.interrupt()
                    state = _IDLE
                elif indented and found and not _is_job_line(line):
                    # A secondary note of the diagnostic before: `  This '(' might be unmatched`.
                    _, path, span = self.pending
                    found[-1][_RELATED].append([path, span, 0, [line.strip()]])
                    self.pending = None
                    state = _NOTE
                    continue
                else:
                    state = _BODY
                    self.body = [] if _is_dune_line(line) or _is_job_line(line) else [line]
                    continue
            elif state == _NOTE:
                if indented and not filler and 'File "' not in line and not _is_job_line(line):
                    found[-1][_RELATED][-1][3].append(line.strip())
                    continue
                state = _IDLE
            elif state == _BODY:
                if filler:
                    continue
                if line and not line.startswith('File "'):
                    if not (_is_dune_line(line) or _is_job_line(line)):
                        self.body.append(line)
                        continue
                    if not self.body:
                        continue  # dune's report of the failed command, before its output
                self._finish_body()
                state = _IDLE

            # _IDLE: a location, `Entering directory`, or the start of a failed command's output.
            if first == "F":
                m = location(line)
                if m is None:
                    continue
                g = m.groups()
                path = paths(g[1])
                rest = g[8].strip()
                if rest and not indented:
                    # ocamllex: `File "l.mll", line 3, character 9: syntax error.`
                    found.append([path, *_span(g), "error", None, None, [rest], [], 0, None])
                    continue
                self.pending = (g[1], path, _span(g))
                state = _LOCATED
            elif first == "E" or first == "m":
                m = _ENTERING.match(line)
                if m is not None:
                    paths.enter(m.group("dir"))
            elif (first == "(" or first == "$" or indented) and (
                line.startswith(("(cd ", "$ (cd ")) or (indented and _is_job_line(line))
            ):
                state = _BODY
                self.body = []
                self.pending = None
        self.current = current
        self.state = state

    def _finish_body(self) -> None:
        """Add the diagnostic for a failed command's output that followed location `pending`
        (or, for a diff, the dangling location of its file): a failing `(diff …)` rule or
        expect test, or another action dune gave a location."""
        body, pending = self.body, self.pending
        self.body = []
        self.pending = None
        if not body:
            return
        start = _diff_start(body)
        if start is not None:
            where = pending or _take_orphan(self.orphans, start[1])
            if where is None:
                where = (None, self.paths(start[1]), (1, 0, 1, 0))
            lines = [DIFF_MESSAGE, *(line.rstrip() for line in body[start[0] :])]
            self.found.append([where[1], *where[2], "error", None, None, lines, [], 0, None])
        elif pending is not None:
            lines = [line.strip() for line in body if line.strip()]
            self.found.append([pending[1], *pending[2], "error", None, None, lines, [], 0, None])


def _header_kind(g: tuple) -> tuple[str, int | None, str | None]:
    """(severity, code, name) from the groups of a `_HEADER` match (or the header groups of an
    `_AFTER_LOCATION` match, after its first)."""
    ewcode, ewname, ealert, wcode, wname, aname = g
    if ewcode is not None:
        return "error", int(ewcode), ewname
    if ealert is not None:
        return "error", None, ealert
    if wcode is not None:
        return "warning", int(wcode), wname
    if aname is not None:
        return "alert", None, aname
    return "error", None, None


def _build(found: list, mutable: bool) -> list[Diagnostic]:
    """The `Diagnostic` records of what `parse` collected (lists among them if `mutable`),
    identical ones once."""
    if mutable:
        found = [item if type(item) is tuple else _frozen(item) for item in found]
    unique = dict.fromkeys(found)
    result = []
    append = result.append
    new = object.__new__
    for item in unique:
        # The same as Diagnostic(*item[:10]), at a third of the cost: the frozen dataclass's
        # __init__ sets each field through object.__setattr__.
        diagnostic = new(Diagnostic)
        fields = diagnostic.__dict__
        (fields["path"], fields["line"], fields["col"], fields["end_line"], fields["end_col"],
         fields["severity"], fields["code"], fields["name"], fields["message"],
         fields["related"], _) = item
        append(diagnostic)
    return result


def _frozen(item: list) -> tuple:
    """The tuple form of a diagnostic `_Reader` read (see `_LINES`)."""
    lines = item[_LINES]
    while lines and not lines[-1]:
        lines.pop()
    related = tuple(
        Related(path, *span, "\n".join(text)) for path, span, _, text in item[_RELATED]
    )
    return (*item[:8], "\n".join(lines), related, item[_WIDTH])


def _diff_start(body: list[str]) -> tuple[int, str] | None:
    """Where the unified diff in a failed command's output starts (its ``---`` line) and the
    original file it names, or None when the output holds no diff."""
    git = False
    for i, line in enumerate(body):
        if line.startswith("diff --git "):
            git = True
        elif line.startswith("--- ") and i + 1 < len(body) and body[i + 1].startswith("+++ "):
            name = line[4:].split("\t", 1)[0].strip()
            if git and name.startswith("a/"):
                name = name[2:]
            return i, name
    return None


def _take_orphan(orphans: dict[str, list], name: str):
    """The dangling location for a diff of file `name`: the oldest location of that file, else
    the oldest of any file; removed from `orphans`."""
    key = name if name in orphans else next(iter(orphans), None)
    if key is None:
        return None
    entries = orphans[key]
    where = entries.pop(0)
    if not entries:
        del orphans[key]
    return where
