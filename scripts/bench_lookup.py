#!/usr/bin/env python3
"""Benchmark the compiler-only engine (`devkit.ocaml.lookup`) on a 2,000-line module.

    python3 scripts/bench_lookup.py [--lines 2000] [--queries 1000] [--seed 1] [--work DIR]

Generates a dune project whose library module has LINES lines of many small functions, builds
it with dune, then times, through the Python API:

- the first `type_at` on the module (one `ocamlcmt -annot` run plus parsing its output), next to
  `ocamlcmt -annot` alone on the same `.cmt`, measured in the same run (the reference: the part
  that is not ours);
- QUERIES random `type_at` (random line and byte column) and QUERIES random `definition_at` (on
  random identifier occurrences), all served from the parsed index. Target: ≤ 5 ms each.

This is a benchmark, not a test: it asserts nothing, it prints a Markdown table on stdout
(progress on stderr). Needs dune and ocamlcmt (Debian: apt-get install ocaml-nox ocaml-dune).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devkit.errors import DevkitError  # noqa: E402
from devkit.ocaml import cmt, lookup  # noqa: E402

TARGET_MS = 5.0
FUNCTION_TEMPLATE = """\
let f{n} (x : int) (s : string) =
  let y = x * {k} + String.length s in
  let p = {{ name = s; size = y }} in
  if p.size > {k} then f{prev} (p.size - x) p.name else y + helper x
"""  # 4 lines per function, then a blank line


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def generate_module(lines: int) -> str:
    """An OCaml module of about `lines` lines: a record type, a helper and many functions."""
    parts = ["type item = { name : string; size : int }\n",
             "let helper n = if n > 100 then n / 2 else n + 1\n",
             "let f0 (x : int) (s : string) = x + String.length s\n\n"]
    count = 3
    n = 1
    while count + 5 <= lines:
        parts.append(FUNCTION_TEMPLATE.format(n=n, k=n % 7 + 2, prev=max(n - 1 - n % 3, 0)))
        parts.append("\n")
        count += 5
        n += 1
    return "".join(parts)


def build(root: Path, text: str) -> None:
    (root / "lib").mkdir(parents=True, exist_ok=True)
    (root / "dune-project").write_text("(lang dune 2.9)\n")
    (root / "lib" / "dune").write_text("(library (name bench))\n")
    (root / "lib" / "big.ml").write_text(text)
    done = subprocess.run(["dune", "build", "--root", "."], cwd=root, capture_output=True,
                          text=True, errors="replace", check=False)
    if done.returncode != 0:
        sys.exit(f"dune build failed:\n{done.stderr}")


def timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    try:
        result = function(*args)
    except DevkitError as error:  # no expression at a blank, no definition for a stdlib value
        result = error
    return (time.perf_counter() - start) * 1000, result


def summary(name: str, samples: list[float], target: str) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"| {name} | {len(samples)} | {statistics.mean(samples):.3f} | "
            f"{statistics.median(samples):.3f} | {p99:.3f} | {ordered[-1]:.3f} | {target} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the generated project (default: a temporary folder)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as scratch:
        root = (options.work or Path(scratch)) / "project"
        text = generate_module(options.lines)
        source_lines = text.splitlines()
        progress(f"generating and building a {len(source_lines)}-line module in {root}")
        build(root, text)
        source = Path("lib/big.ml")
        built = cmt.locate(root, source)
        cmt_bytes = built.cmt.stat().st_size

        progress("ocamlcmt -annot alone (reference)")
        reference = []
        for _ in range(3):
            start = time.perf_counter()
            completed = cmt.run_tool(["ocamlcmt", "-annot", "-o", "-", str(built.cmt)],
                                     cwd=built.build_dir)
            reference.append((time.perf_counter() - start) * 1000)
        annot_bytes = len(completed.stdout)

        progress("first type_at (one .cmt read)")
        cmt.clear_cache()
        first_ms, first = timed(lookup.type_at, root, source, 5, 6)
        _, index = cmt.index_for(root, source)

        rng = random.Random(options.seed)
        positions = []
        for _ in range(options.queries):
            line = rng.randrange(1, len(source_lines) + 1)
            positions.append((line, rng.randrange(0, max(1, len(source_lines[line - 1])))))
        words = [(number, match.start()) for number, line in enumerate(source_lines, 1)
                 for match in re.finditer(r"[a-z_][A-Za-z0-9_']*", line)]
        identifiers = [rng.choice(words) for _ in range(options.queries)]

        progress(f"{options.queries} random type_at and definition_at queries")
        type_times, answered = [], 0
        for line, col in positions:
            elapsed, result = timed(lookup.type_at, root, source, line, col)
            type_times.append(elapsed)
            answered += isinstance(result, lookup.TypeAt)
        definition_times, found = [], 0
        for line, col in identifiers:
            elapsed, result = timed(lookup.definition_at, root, source, line, col)
            definition_times.append(elapsed)
            found += isinstance(result, lookup.Location)

    print(f"\nModule: {len(source_lines)} lines, {len(text.encode()):,} bytes; .cmt "
          f"{cmt_bytes:,} bytes → "
          f"{annot_bytes:,} bytes of annotations, {len(index.spans):,} spans.\n")
    print("| measurement | ms |")
    print("|---|---:|")
    print(f"| `ocamlcmt -annot` alone (reference, best of 3) | {min(reference):.1f} |")
    print(f"| first `type_at` (ocamlcmt + parse + query) | {first_ms:.1f} |")
    print(f"| ratio first query / ocamlcmt alone | {first_ms / min(reference):.2f} |")
    print(f"\nFirst answer: `{getattr(first, 'type', first)}`.\n")
    print("| query (after the first) | n | mean ms | median ms | p99 ms | max ms | target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    print(summary(f"`type_at`, random positions ({answered} typed)", type_times,
                  f"≤ {TARGET_MS:g} ms"))
    print(summary(f"`definition_at`, random identifiers ({found} found)", definition_times,
                  f"≤ {TARGET_MS:g} ms"))
    def share(samples: list[float]) -> str:
        within = sum(sample <= TARGET_MS for sample in samples)
        return f"{within}/{len(samples)}"

    print(f"\nWithin ≤ {TARGET_MS:g} ms after the first query: type_at {share(type_times)}, "
          f"definition_at {share(definition_times)}. (A query costs the same every time; "
          "a rare slow one is the machine, not the query: compare median and max.)")


if __name__ == "__main__":
    main()
