#!/usr/bin/env python3
"""Benchmark `devkit.ocaml.diagnostics.parse`: diagnostics per second against the 100,000/s target.

    python3 scripts/bench_diagnostics.py [--diagnostics 200000] [--repeat 5] [--work DIR]

This is a benchmark, not a test: it asserts nothing about speed. It writes a dune project whose
modules have the errors and warnings a real build reports (type errors, unbound names with
hints, unused variables and values, non-exhaustive matches, deprecated alerts, warnings turned
into errors, a syntax error with its note, an interface mismatch, a failing `(diff …)` rule), runs
the real dune and compiler on it (plain, and with OCAML_ERROR_STYLE=short), and repeats that
captured output until it holds about `--diagnostics` diagnostics, each copy under another
folder and with shifted line numbers so that no two diagnostics are identical. It then times
`parse` on it (`--repeat` runs; best and median) and prints a Markdown table. For scale, it also
times the floor any parser pays in Python: one regular expression finding the location lines
(`re.finditer`), which reads no message, header or path. Timings on a shared virtual machine
vary by a third from run to run; the median is the number to compare with the target.

Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devkit.ocaml.diagnostics import parse  # noqa: E402

TARGET = 100_000  # diagnostics per second
MODULES = 12  # modules per kind in the generated project

PLAIN = "(:standard -w +a-4-40-41-42-44-45-48-70 -warn-error -a)"


def project() -> dict[str, str]:
    """The benchmark project: file name → text."""
    files = {
        "dune-project": "(lang dune 2.9)\n",
        "old/dune": "(library (name old))\n",
        "old/old.mli": (
            'val old : int -> int [@@ocaml.deprecated "use Old.g"]\nval g : int -> int\n'
        ),
        "old/old.ml": "let old x = x\nlet g x = x\n",
        # Warnings and alerts, not errors (every warning on).
        "warn/dune": f"(library (name warn) (libraries old) (flags {PLAIN}))\n",
        # dune's dev profile: some warnings are errors.
        "strict/dune": "(library (name strict))\n",
        "errors/dune": "(library (name errors))\n",
        "mismatch/dune": "(library (name mismatch))\n",
        "mismatch/mismatch.mli": "val x : int\nval name : string\n",
        "mismatch/mismatch.ml": 'let x = "s"\nlet name = "n"\n',
        "syntax/dune": "(library (name syntax))\n",
        "syntax/syntax.ml": "let f x =\n  (x +\n  1\nlet y = 2\n",
        "expect/dune": (
            '(rule (with-stdout-to out.txt (echo "one\\ntwo\\nthree\\n")))\n'
            "(rule (alias runtest) (action (diff expected.txt out.txt)))\n"
        ),
        "expect/expected.txt": "one\nTWO\nthree\n",
    }
    for i in range(MODULES):
        files[f"warn/w{i}.ml"] = (
            f"open List\n"
            f"let f{i} x = let unused = {i} in x\n"
            f"let g{i} = function Some x -> x\n"
            f"let h{i} () = Old.old {i}\n"
            f"let k{i} y = {i}\n"
            f"let internal{i} = {i}\n"
        )
        files[f"warn/w{i}.mli"] = (
            f"val f{i} : int -> int\nval g{i} : 'a option -> 'a\nval h{i} : unit -> int\n"
            f"val k{i} : 'a -> int\n"
        )
        files[f"strict/s{i}.ml"] = f"let f{i} () = let unused = {i} in 2\nlet g{i} y = 3\n"
        errors = [
            f'let x{i} : int = "text {i}"\n',
            f'let () = prnt_string "{i}"\n',
            f"type t{i} = {{ a : int; b : string }}\nlet v{i} : t{i} = {{ a = {i} }}\n",
            f"let l{i} = List.mapp succ [{i}]\n",
        ]
        files[f"errors/e{i}.ml"] = errors[i % len(errors)]
    return files


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def dune_output(root: Path, build_dir: str, extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OCAMLPARAM", "OCAML_ERROR_STYLE", "OCAML_COLOR", "INSIDE_DUNE")
           and not k.startswith("DUNE_")}
    env.update(extra_env)
    done = subprocess.run(["dune", "build", "@default", "@runtest", "--build-dir", build_dir],
                          cwd=root, env=env, capture_output=True, text=True, errors="replace",
                          timeout=600, check=False)
    return done.stdout + done.stderr


_LOCATION_NUMBERS = re.compile(r'^([ \t]*File "[^"\n]*", lines? )(\d+)(?:-(\d+))?', re.MULTILINE)


def copies(output: str, wanted: int, per_copy: int) -> str:
    """`output` repeated until it holds about `wanted` diagnostics: copy k's paths are under
    folder `c{k % 200}` and its line numbers moved by 1000 * (k // 200), so all differ."""
    parts = []
    for k in range(max(1, wanted // per_copy)):
        offset = 1000 * (k // 200)

        def shift(m: re.Match, offset: int = offset) -> str:
            end = f"-{int(m.group(3)) + offset}" if m.group(3) else ""
            return f"{m.group(1)}{int(m.group(2)) + offset}{end}"

        text = _LOCATION_NUMBERS.sub(shift, output) if offset else output
        parts.append(text.replace('File "', f'File "c{k % 200}/'))
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--diagnostics", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path,
                        help="folder for the project (default: a temporary one)")
    args = parser.parse_args()
    for tool in ("dune", "ocamlc"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is not installed; install it with: "
                     "apt-get install ocaml-nox ocaml-dune")

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-diagnostics-"))
    root = work / "project"
    shutil.rmtree(root, ignore_errors=True)
    for name, text in project().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)

    rows = []
    # Found by its literal first, then checked to start a line: the fastest way in `re`.
    floor = re.compile(r'File "(?<=^File ")([^"\n]*)", lines? ([0-9]+)', re.MULTILINE)
    headers = re.compile(r"^(?:Error|Warning [0-9]|Alert )", re.MULTILINE)
    for label, build_dir, env in (("dune build (default style)", "_build", {}),
                                  ("OCAML_ERROR_STYLE=short", "_build_short",
                                   {"OCAML_ERROR_STYLE": "short"})):
        progress(f"{label}: running dune")
        output = dune_output(root, build_dir, env)
        found = parse(output, root)
        kinds = sorted({(d.severity, d.name or "") for d in found})
        progress(f"  {len(found)} diagnostics in {len(output.splitlines())} lines; "
                 f"severities/names: {kinds}")
        big = copies(output, args.diagnostics, len(found))
        printed = len(headers.findall(big))
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            count = len(parse(big, root))
            times.append(time.perf_counter() - started)
        floor_seconds = min(
            timed(lambda big=big: sum(1 for _ in floor.finditer(big))) for _ in range(args.repeat)
        )
        progress(f"  parse: {count:,} diagnostics ({printed:,} printed), {len(big) / 1e6:.1f} MB, "
                 f"runs: {', '.join(f'{t:.2f}' for t in times)} s")
        rows.append((label, printed, count, len(big) / 1e6, min(times), statistics.median(times),
                     floor_seconds))

    print("## Parsing compiler and dune output (`devkit.ocaml.diagnostics.parse`)\n")
    print(f"- machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
          f"{args.repeat} runs each, best and median\n")
    print("| output | printed¹ | returned | MB | parse (best / median) | returned/s (best / median)"
          " | target | regex floor² |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, printed, count, mb, best, median, floor_seconds in rows:
        verdict = "✓" if count / median >= TARGET else ("~" if count / best >= TARGET else "✗")
        print(f"| {label} | {printed:,} | {count:,} | {mb:.1f} | {best:.2f} s / {median:.2f} s | "
              f"{count / best:,.0f} / {count / median:,.0f} {verdict} | ≥ {TARGET:,}/s | "
              f"{floor_seconds:.2f} s |")
    print("\n¹ diagnostics as printed: dune prints a module's warnings once per compilation "
          "(bytecode and native), `parse` returns identical ones once.  \n"
          "² one `re.finditer` over the output finding the location lines only: what merely "
          "finding the diagnostics costs in Python, before reading any of them.")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
