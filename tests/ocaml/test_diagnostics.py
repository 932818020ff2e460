"""`devkit.ocaml.diagnostics` against what the real OCaml compiler and dune print.

Every compiler output parsed here is produced in the test by running `ocamlc`, `ocamllex` or
dune on small programs written to a temporary folder. Expected positions are computed from the
source text the test wrote (byte offsets via `str.encode`), never copied from compiler output:
one source line puts multi-byte UTF-8 characters before the span, so byte and character
columns differ.

One dune project holds one form per folder and is built several ways (plain, short error style,
on a terminal with colours, from a subfolder, verbose), each in its own build folder so that
warnings of modules that compile are printed every time.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit.ocaml import diagnostics
from devkit.ocaml.diagnostics import DIFF_MESSAGE, Diagnostic, Related, _parse_by_lines, parse
from tests.conftest import require_tool
from tests.ocaml.ocamlprojects import TIMEOUT, run, tool_environment, write_project

INSTALL = "apt-get install ocaml-nox ocaml-dune"

# ---------------------------------------------------------------------------------------------
# The project: one diagnostic form per folder.

TYPE_ERROR = '(* héllo wörld ☕ *)\nlet s = "ünïcödé" let x : int = "a"\n'
UNBOUND = "let y = undefined_value + 1\n"
MULTILINE = 'let h : int = "é\n  ü"\n'
SYNTAX = "let f x =\n  (x +\n  1\nlet y = 2\n"
WARNINGS = "let f () = let unused = 1 in 2\nlet g x = 3\n"
WARNINGS_MLI = "val f : unit -> int\n"
MISMATCH_MLI = "val x : int\n"
MISMATCH_ML = 'let x = "s"\n'
OLD_MLI = 'val old : int -> int [@@ocaml.deprecated "use g"]\nval g : int -> int\n'
USES = "let y = Old.old 1\n"
USES_STRICT = "let y = Old.old 2\n"
# Not UTF-8: the compiler echoes these bytes in its excerpt; callers decode with "replace".
LATIN1 = b'let z : int = "\xe9t\xe9"\n'
PLAIN_WARNINGS = "(:standard -w +a-4-40-41-42-44-45-48-70 -warn-error -a)"

PROJECT = {
    "dune-project": "(lang dune 2.9)\n",
    "errors/dune": "(executables (names type_error unbound multiline latin))\n",
    "errors/type_error.ml": TYPE_ERROR,
    "errors/unbound.ml": UNBOUND,
    "errors/multiline.ml": MULTILINE,
    "syntax/dune": "(executable (name syntax_error))\n",
    "syntax/syntax_error.ml": SYNTAX,
    # dune's dev profile makes these warnings errors: `Error (warning N [name])`.
    "strict/dune": "(library (name strict))\n",
    "strict/strict.ml": WARNINGS,
    "strict/strict.mli": WARNINGS_MLI,
    # The same module with every warning on and none an error: `Warning N [name]`.
    "lax/dune": f"(library (name lax) (flags {PLAIN_WARNINGS}))\n",
    "lax/lax.ml": WARNINGS,
    "lax/lax.mli": WARNINGS_MLI,
    "mismatch/dune": "(library (name mismatch))\n",
    "mismatch/mismatch.mli": MISMATCH_MLI,
    "mismatch/mismatch.ml": MISMATCH_ML,
    "old/dune": "(library (name old))\n",
    "old/old.mli": OLD_MLI,
    "old/old.ml": "let old x = x\nlet g x = x\n",
    # dune's dev flags contain -w @3, which makes the deprecated alert an error; -warn-error -a
    # leaves a plain `Alert deprecated`.
    "uses/dune": f"(library (name uses) (libraries old) (flags {PLAIN_WARNINGS}))\n",
    "uses/uses.ml": USES,
    "uses_strict/dune": (
        "(library (name uses_strict) (libraries old) (flags (:standard -alert ++deprecated)))\n"
    ),
    "uses_strict/uses_strict.ml": USES_STRICT,
    "difftest/dune": (
        '(rule (with-stdout-to out.txt (echo "one\\ntwo\\nthree\\n")))\n'
        "(rule (alias runtest) (action (diff expected.txt out.txt)))\n"
    ),
    "difftest/expected.txt": "one\nTWO\nthree\n",
}

BUILD = ["dune", "build", "@default", "@runtest"]


def span(source: str | bytes, needle: str | bytes, start: int = 0) -> tuple[int, int, int, int]:
    """(line, col, end_line, end_col) of the first `needle` at or after `start` in `source`:
    lines 1-based, columns 0-based byte offsets, end exclusive."""
    data = source.encode() if isinstance(source, str) else source
    raw = needle.encode() if isinstance(needle, str) else needle
    if isinstance(source, str) and start:
        start = len(source[:start].encode())
    at = data.index(raw, start)

    def position(offset: int) -> tuple[int, int]:
        line_start = data.rfind(b"\n", 0, offset) + 1
        return data.count(b"\n", 0, offset) + 1, offset - line_start

    return (*position(at), *position(at + len(raw)))


def at(diagnostic: Diagnostic | Related) -> tuple[int, int, int, int]:
    return diagnostic.line, diagnostic.col, diagnostic.end_line, diagnostic.end_col


def find(diagnostics: list[Diagnostic], path: str, line: int | None = None,
         code: int | None = None) -> Diagnostic:
    """The one diagnostic for `path` (and `line`, `code` when given)."""
    found = [d for d in diagnostics
             if d.path == path and line in (None, d.line) and code in (None, d.code)]
    assert len(found) == 1, (path, line, code, diagnostics)
    return found[0]


def run_in_terminal(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run `cmd` with a pseudo-terminal as stdin/stdout/stderr (so dune colours and shows its
    progress line); return everything it wrote, decoded with errors="replace", untranslated
    (the terminal turns each newline into \\r\\n)."""
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(cmd, cwd=cwd, stdin=slave, stdout=slave, stderr=slave,
                                   env=tool_environment({"TERM": "xterm", **(env or {})}))
    finally:
        os.close(slave)
    chunks = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                process.kill()
                raise AssertionError(f"{cmd} did not finish within {TIMEOUT} s")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every process holding the terminal has exited
                break
            if not data:
                break
            chunks.append(data)
        process.wait(timeout=TIMEOUT)
    finally:
        os.close(master)
    return b"".join(chunks).decode("utf-8", errors="replace")


@dataclass
class Corpus:
    root: Path
    plain: str  # `dune build @default @runtest` at the root
    short: str  # the same with OCAML_ERROR_STYLE=short
    colour: str  # the same on a terminal
    verbose: str  # the same with --display verbose
    subfolder: str  # `dune build --display short` run inside errors/


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    require_tool("ocamlc", INSTALL)
    require_tool("dune", INSTALL)
    home = tmp_path_factory.mktemp("home")
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / "cache")}
    root = write_project(tmp_path_factory.mktemp("diag") / "proj", PROJECT)
    (root / "errors" / "latin.ml").write_bytes(LATIN1)

    def output(done: subprocess.CompletedProcess[str]) -> str:
        assert done.returncode != 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    plain = output(run(BUILD, cwd=root, env=env))
    short = output(run([*BUILD, "--build-dir", "_build_short"], cwd=root,
                       env={**env, "OCAML_ERROR_STYLE": "short"}))
    verbose = output(run([*BUILD, "--build-dir", "_build_verbose", "--display", "verbose"],
                         cwd=root, env=env))
    colour = run_in_terminal([*BUILD, "--build-dir", "_build_colour"], cwd=root, env=env)
    subfolder = output(run(["dune", "build", "--display", "short"], cwd=root / "errors",
                           env=env))
    return Corpus(root, plain, short, colour, verbose, subfolder)


@pytest.fixture(scope="module")
def plain(corpus) -> list[Diagnostic]:
    return parse(corpus.plain, corpus.root)


# ---------------------------------------------------------------------------------------------
# One form at a time, from the plain dune build


def test_type_error_columns_are_bytes_on_a_line_with_multibyte_characters(plain):
    d = find(plain, "errors/type_error.ml")
    expected = span(TYPE_ERROR, '"a"', TYPE_ERROR.rindex('"a"'))
    assert at(d) == expected
    line_text = TYPE_ERROR.splitlines()[d.line - 1]
    assert line_text.encode()[d.col:d.end_col] == b'"a"'
    assert d.col != line_text.index('"a"')  # byte and character offsets differ here
    assert (d.severity, d.code, d.name, d.related) == ("error", None, None, ())
    # The continuation line loses the 7 columns "Error: " added and keeps its own 2.
    assert d.message.splitlines() == [
        "This expression has type string but an expression was expected of type", "  int"]


def test_unbound_value(plain):
    d = find(plain, "errors/unbound.ml")
    assert at(d) == span(UNBOUND, "undefined_value")
    assert (d.severity, d.message) == ("error", "Unbound value undefined_value")


def test_span_over_several_lines(plain):
    d = find(plain, "errors/multiline.ml")
    assert at(d) == span(MULTILINE, '"é\n  ü"')
    assert (d.line, d.end_line) == (1, 2)
    assert d.end_col == len('  ü"'.encode()) != len('  ü"')


def test_non_utf8_source_bytes(plain):
    d = find(plain, "errors/latin.ml")
    assert at(d) == span(LATIN1, b'"\xe9t\xe9"')
    assert d.message.startswith("This expression has type string")


def test_syntax_error_with_unmatched_parenthesis_note(plain):
    d = find(plain, "syntax/syntax_error.ml")
    assert at(d) == span(SYNTAX, "let", SYNTAX.index("let y"))
    assert (d.severity, d.message) == ("error", "Syntax error: ')' expected")
    assert d.related == (Related("syntax/syntax_error.ml", *span(SYNTAX, "("),
                                 "This '(' might be unmatched"),)


@pytest.mark.parametrize(
    ("needle", "start", "code", "name", "message"),
    [
        ("unused", 0, 26, "unused-var", "unused variable unused."),
        ("g", WARNINGS.index("let g") + 4, 32, "unused-value-declaration", "unused value g."),
        ("x", WARNINGS.index("let g x") + 6, 27, "unused-var-strict", "unused variable x."),
    ],
)
def test_warnings_as_errors_and_plain_warnings(plain, needle, start, code, name, message):
    where = span(WARNINGS, needle, start)
    strict = find(plain, "strict/strict.ml", where[0], code)
    lax = find(plain, "lax/lax.ml", where[0], code)
    assert at(strict) == at(lax) == where
    assert (strict.severity, strict.name, strict.message) == ("error", name, message)
    assert (lax.severity, lax.name, lax.message) == ("warning", name, message)


def test_interface_mismatch_has_no_columns_and_related_locations(plain):
    d = find(plain, "mismatch/mismatch.ml")
    # `File "…", line 1:` without characters: an empty span at the start of the line.
    assert at(d) == (1, 0, 1, 0)
    assert d.severity == "error"
    assert d.message.startswith("The implementation mismatch/mismatch.ml")
    assert "Values do not match: val x : string is not included in val x : int" in d.message
    assert 'File "' not in d.message
    assert d.related == (
        Related("mismatch/mismatch.mli", *span(MISMATCH_MLI, "val x : int"),
                "Expected declaration"),
        Related("mismatch/mismatch.ml", *span(MISMATCH_ML, "x"), "Actual declaration"),
    )


def test_alert_and_alert_as_error(plain):
    alert = find(plain, "uses/uses.ml")
    error = find(plain, "uses_strict/uses_strict.ml")
    assert at(alert) == span(USES, "Old.old")
    assert at(error) == span(USES_STRICT, "Old.old")
    assert (alert.severity, alert.code, alert.name) == ("alert", None, "deprecated")
    assert (error.severity, error.code, error.name) == ("error", None, "deprecated")
    # The alert's payload is printed on its own, unindented line.
    assert alert.message == error.message == "Old.old\nuse g"


def test_failing_diff_rule(corpus, plain):
    assert 'File "difftest/expected.txt", line 1, characters 0-0:' in corpus.plain
    d = find(plain, "difftest/expected.txt")
    assert at(d) == (1, 0, 1, 0)
    assert d.severity == "error"
    lines = d.message.splitlines()
    assert lines[0] == DIFF_MESSAGE
    assert "-TWO" in lines and "+two" in lines and " one" in lines


def test_every_file_of_one_run_is_reported_once(corpus, plain):
    assert sorted({d.path for d in plain}) == [
        "difftest/expected.txt", "errors/latin.ml", "errors/multiline.ml",
        "errors/type_error.ml", "errors/unbound.ml", "lax/lax.ml", "mismatch/mismatch.ml",
        "strict/strict.ml", "syntax/syntax_error.ml", "uses/uses.ml",
        "uses_strict/uses_strict.ml",
    ]
    assert len(plain) == len(set(plain)) == 15
    # dune printed lax.ml's warnings twice (bytecode and native compilation): kept once.
    assert corpus.plain.count("Warning 26 [unused-var]") == 2


# ---------------------------------------------------------------------------------------------
# The same build printed other ways


def test_short_error_style_gives_the_same_diagnostics(corpus, plain):
    assert re.search(r"^\s*\d+ \| ", corpus.plain, re.MULTILINE)
    assert not re.search(r"^\s*\d+ \| ", corpus.short, re.MULTILINE)
    assert sorted(parse(corpus.short, corpus.root), key=repr) == sorted(plain, key=repr)


def test_coloured_terminal_output_gives_the_same_diagnostics(corpus, plain):
    assert "\x1b[" in corpus.colour and "\r" in corpus.colour  # colours, progress line
    assert sorted(parse(corpus.colour, corpus.root), key=repr) == sorted(plain, key=repr)
    # Also when the reader turned every \r into a newline (Python's universal newlines).
    translated = corpus.colour.replace("\r\n", "\n").replace("\r", "\n")
    assert sorted(parse(translated, corpus.root), key=repr) == sorted(plain, key=repr)


def test_verbose_display_gives_the_same_diagnostics(corpus, plain):
    assert "(cd _build_verbose/default && " in corpus.verbose
    assert sorted(parse(corpus.verbose, corpus.root), key=repr) == sorted(plain, key=repr)


def test_subfolder_build_paths_are_relative_to_the_dune_root(corpus, plain):
    root = corpus.root
    assert f"Entering directory '{root}'" in corpus.subfolder
    expected = sorted((d for d in plain if d.path.startswith("errors/")), key=repr)
    assert len(expected) == 4
    assert sorted(parse(corpus.subfolder, root), key=repr) == expected
    # Without a root the paths stay as dune printed them: relative to the dune root.
    assert sorted(parse(corpus.subfolder), key=repr) == expected
    # With the subfolder as root they are relative to it.
    inside = {d.path for d in parse(corpus.subfolder, root / "errors")}
    assert inside == {"type_error.ml", "unbound.ml", "multiline.ml", "latin.ml"}


# ---------------------------------------------------------------------------------------------
# Forms the compiler prints outside dune


@pytest.fixture
def scratch(tmp_path) -> Path:
    require_tool("ocamlc", INSTALL)
    return tmp_path


def test_line_without_characters_from_a_warning(scratch):
    write_project(scratch, {"lone.ml": "let x = 1\n"})
    done = run(["ocamlc", "-w", "+70", "-c", "lone.ml"], cwd=scratch)
    assert 'File "lone.ml", line 1:\n' in done.stderr
    (d,) = parse(done.stderr, scratch)
    assert (d.path, *at(d)) == ("lone.ml", 1, 0, 1, 0)
    assert (d.severity, d.code, d.name) == ("warning", 70, "missing-mli")


def test_ocamllex_line_and_character(scratch):
    require_tool("ocamllex", INSTALL)
    source = 'rule token = parse\n  | "a" { 1 }\n  | "é" ) { 2 }\n'
    write_project(scratch, {"lexer.mll": source})
    done = run(["ocamllex", "-q", "lexer.mll"], cwd=scratch)
    assert ", character " in done.stderr
    (d,) = parse(done.stdout + done.stderr, scratch)
    line, col, _, _ = span(source, ")")
    # `character C` is one byte: [C, C+1).
    assert (d.path, *at(d)) == ("lexer.mll", line, col, line, col + 1)
    assert (d.severity, d.message) == ("error", "syntax error.")


def test_compiler_colours(scratch):
    write_project(scratch, {"a.ml": TYPE_ERROR})
    done = run(["ocamlc", "-color", "always", "-c", "a.ml"], cwd=scratch)
    assert "\x1b[" in done.stderr
    (d,) = parse(done.stderr, scratch)
    assert at(d) == span(TYPE_ERROR, '"a"', TYPE_ERROR.rindex('"a"'))
    assert d.message.endswith("\n  int")


def test_paths_dot_slash_absolute_and_outside_root(scratch):
    write_project(scratch, {"src/b.ml": UNBOUND})
    dotted = run(["ocamlc", "-c", "./src/b.ml"], cwd=scratch).stderr
    assert 'File "./src/b.ml"' in dotted
    assert [d.path for d in parse(dotted)] == ["src/b.ml"]
    assert [d.path for d in parse(dotted, scratch)] == ["src/b.ml"]
    absolute = run(["ocamlc", "-c", str(scratch / "src" / "b.ml")], cwd=scratch).stderr
    assert f'File "{scratch}/src/b.ml"' in absolute
    assert [d.path for d in parse(absolute, scratch)] == ["src/b.ml"]
    assert [d.path for d in parse(absolute, scratch / "src")] == ["b.ml"]
    assert [d.path for d in parse(absolute, scratch / "other")] == [f"{scratch}/src/b.ml"]
    (d,) = parse(absolute, scratch)
    assert d.quickfix(scratch)["filename"] == str(scratch / "src" / "b.ml")


# ---------------------------------------------------------------------------------------------
# Conversions for the editor


def test_quickfix_item_is_one_based_with_exclusive_end():
    d = Diagnostic("src/a.ml", 3, 4, 5, 9, "warning", 26, "unused-var", "unused variable x.")
    assert d.quickfix(Path("/proj")) == {
        "filename": "/proj/src/a.ml",
        "lnum": 3, "col": 5, "end_lnum": 5, "end_col": 10, "vcol": 0,
        "type": "W", "nr": 26, "text": "unused variable x.",
    }
    error = Diagnostic("/abs/b.ml", 1, 0, 1, 0, "error", None, None, "Syntax error")
    item = error.quickfix(Path("/proj"))
    assert (item["filename"], item["col"], item["end_col"], item["type"], item["nr"]) == (
        "/abs/b.ml", 1, 1, "E", 0)
    alert = Diagnostic("a.ml", 1, 8, 1, 15, "alert", None, "deprecated", "Old.old")
    assert alert.quickfix(Path("/p"))["type"] == "W"


def test_vim_diagnostic_is_zero_based_with_exclusive_end():
    d = Diagnostic("a.ml", 3, 4, 5, 9, "error", 32, "unused-value-declaration", "unused value g.",
                   (Related("a.mli", 1, 0, 1, 11, "Expected declaration"),))
    assert d.vim_diagnostic() == {
        "lnum": 2, "col": 4, "end_lnum": 4, "end_col": 9, "severity": 1,
        "message": "unused value g.", "source": "ocaml", "code": "warning 32",
        "user_data": {
            "name": "unused-value-declaration",
            "related": [{"path": "a.mli", "line": 1, "col": 0, "end_line": 1, "end_col": 11,
                         "message": "Expected declaration"}],
        },
    }
    alert = Diagnostic("a.ml", 1, 8, 1, 15, "alert", None, "deprecated", "Old.old")
    assert alert.vim_diagnostic() == {
        "lnum": 0, "col": 8, "end_lnum": 0, "end_col": 15, "severity": 2,
        "message": "Old.old", "source": "ocaml", "code": "deprecated",
        "user_data": {"name": "deprecated"},
    }
    plain_error = Diagnostic("a.ml", 1, 0, 1, 3, "error", None, None, "Unbound value x")
    assert "code" not in plain_error.vim_diagnostic()
    assert "user_data" not in plain_error.vim_diagnostic()


def test_conversions_of_a_real_diagnostic_select_the_span_text(plain, corpus):
    d = find(plain, "errors/type_error.ml")
    source = (corpus.root / d.path).read_bytes().split(b"\n")
    item = d.quickfix(corpus.root)
    # Vim's col/end_col are 1-based byte columns, end exclusive.
    assert source[item["lnum"] - 1][item["col"] - 1:item["end_col"] - 1] == b'"a"'
    vim = d.vim_diagnostic()
    assert source[vim["lnum"]][vim["col"]:vim["end_col"]] == b'"a"'
    data = json.loads(json.dumps([x.to_json() for x in plain]))
    assert data[plain.index(d)]["line"] == d.line


# ---------------------------------------------------------------------------------------------
# Robustness: any text, and real output damaged at random


def assert_sane(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        assert isinstance(d, Diagnostic)
        assert d.severity in ("error", "warning", "alert")
        assert d.code is None or (isinstance(d.code, int) and d.code >= 0)
        assert d.name is None or isinstance(d.name, str)
        assert isinstance(d.message, str) and isinstance(d.path, str)
        for where in (d, *d.related):
            assert 1 <= where.line <= where.end_line
            assert where.col >= 0 and where.end_col >= 0
            assert where.end_line > where.line or where.end_col >= where.col
            assert isinstance(where.message, str)
        json.dumps([d.to_json(), d.quickfix(Path("/r")), d.vim_diagnostic()])


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_any_text_parses_without_error(text):
    found = parse(text)
    assert_sane(found)
    assert found == _parse_by_lines(text)
    assert_sane(parse(text, Path("/some/root")))


@st.composite
def damaged(draw, source: str) -> str:
    text = source
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 200)))
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "replace", "digits"]))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(st.text(max_size=40)) + text[i:]
        elif kind == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif kind == "replace":
            text = text[:i] + draw(st.sampled_from(
                ["\n", "\r", "\x1b[1m", 'File "', ", line ", "99999999999", "-", "\t",
                 "Error: ", "Warning 3 [x]: ", "  ", "\ufffd", "Entering directory '/'"]
            )) + text[j:]
        else:
            text = text[:i] + str(draw(st.integers(0, 10**30))) + text[j:]
    return text


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_real_output_parses_without_error_and_as_line_by_line(corpus, data,
                                                                     monkeypatch):
    source = data.draw(st.sampled_from([corpus.plain, corpus.colour, corpus.short,
                                        corpus.subfolder]))
    text = data.draw(damaged(source))
    # `parse` reads long output in pieces: make them small enough to cut these outputs too.
    monkeypatch.setattr(diagnostics, "_CHUNK", data.draw(st.integers(1, 2000)))
    found = parse(text, corpus.root)
    assert_sane(found)
    assert_sane(parse(text))
    # The fast path (one regular expression for common blocks) reads as the line reader does.
    assert found == _parse_by_lines(text, corpus.root)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_real_lines_in_any_order_parse_as_line_by_line(corpus, data, monkeypatch):
    lines = sorted({line for output in (corpus.plain, corpus.colour, corpus.short,
                                        corpus.subfolder, corpus.verbose[-3000:])
                    for line in output.split("\n")})
    text = "\n".join(data.draw(st.lists(st.sampled_from(lines), max_size=40)))
    monkeypatch.setattr(diagnostics, "_CHUNK", data.draw(st.integers(1, 300)))
    found = parse(text, corpus.root)
    assert_sane(found)
    assert found == _parse_by_lines(text, corpus.root)
    assert parse(text) == _parse_by_lines(text)
