#!/usr/bin/env python3
"""Benchmark `devkit.algo.rbtree.RBTree` against `sortedcontainers.SortedDict`.

    python3 scripts/bench_rbtree.py [--keys 100000] [--runs 3] [--seed 1] [--gc-off]

Both structures do the same operations on the same random integer keys in the same run:

- insert: KEYS random distinct keys, one `t[k] = v` at a time, into an empty mapping;
- lookup: KEYS `t.get(k)`, half of them hits;
- delete: KEYS // 2 `del t[k]` of present keys;
- floor: KEYS // 10 "greatest key <= q" queries (`t.floor(q)`; SortedDict: `bisect_right` then
  `keys()[i - 1]`, its documented idiom);
- irange: KEYS // 100 range scans of about 100 keys each (`list(t.irange(lo, hi))`);
- rank/select: KEYS // 10 `t.rank(q)` + `t.select(i)` (SortedDict: `bisect_left`, `keys()[i]`).

The target is the mixed workload insert + lookup + delete within 3x of SortedDict (the median of
RUNS runs per operation). This is a benchmark, not a test: it asserts nothing and never fails on
slowness; it prints a Markdown table on stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sortedcontainers  # noqa: E402
from sortedcontainers import SortedDict  # noqa: E402

from devkit.algo.rbtree import RBTree  # noqa: E402

TARGET = 3.0
MIXED = ("insert", "lookup", "delete")


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def workload(n: int, seed: int) -> dict[str, list[Any]]:
    """The operations' arguments, shared by both structures."""
    rng = random.Random(seed)
    keys = rng.sample(range(n * 10), n)
    misses = rng.sample(range(n * 10, n * 20), n // 2)
    lookups = rng.sample(keys, n - n // 2) + misses
    rng.shuffle(lookups)
    deletes = rng.sample(keys, n // 2)
    queries = [rng.randrange(n * 10) for _ in range(n // 10)]
    ranges = [(lo, lo + 2000) for lo in (rng.randrange(n * 10) for _ in range(n // 100))]
    indexes = [rng.randrange(n - n // 2) for _ in range(n // 10)]
    return {"keys": keys, "lookups": lookups, "deletes": deletes, "queries": queries,
            "ranges": ranges, "indexes": indexes}


def run_rbtree(w: dict[str, list[Any]]) -> dict[str, float]:
    times: dict[str, float] = {}
    t: RBTree[int, int] = RBTree()

    start = time.perf_counter()
    for k in w["keys"]:
        t[k] = k
    times["insert"] = time.perf_counter() - start

    get = t.get
    start = time.perf_counter()
    for k in w["lookups"]:
        get(k)
    times["lookup"] = time.perf_counter() - start

    start = time.perf_counter()
    for k in w["deletes"]:
        del t[k]
    times["delete"] = time.perf_counter() - start

    floor = t.floor
    start = time.perf_counter()
    for q in w["queries"]:
        floor(q)
    times["floor"] = time.perf_counter() - start

    irange = t.irange
    start = time.perf_counter()
    for lo, hi in w["ranges"]:
        list(irange(lo, hi))
    times["irange"] = time.perf_counter() - start

    rank, select = t.rank, t.select
    start = time.perf_counter()
    for q, i in zip(w["queries"], w["indexes"], strict=True):
        rank(q)
        select(i)
    times["rank/select"] = time.perf_counter() - start
    return times


def run_sorteddict(w: dict[str, list[Any]]) -> dict[str, float]:
    times: dict[str, float] = {}
    t: SortedDict = SortedDict()

    start = time.perf_counter()
    for k in w["keys"]:
        t[k] = k
    times["insert"] = time.perf_counter() - start

    get = t.get
    start = time.perf_counter()
    for k in w["lookups"]:
        get(k)
    times["lookup"] = time.perf_counter() - start

    start = time.perf_counter()
    for k in w["deletes"]:
        del t[k]
    times["delete"] = time.perf_counter() - start

    bisect_right, keys = t.bisect_right, t.keys()
    start = time.perf_counter()
    for q in w["queries"]:
        i = bisect_right(q)
        _ = keys[i - 1] if i else None
    times["floor"] = time.perf_counter() - start

    irange = t.irange
    start = time.perf_counter()
    for lo, hi in w["ranges"]:
        list(irange(lo, hi))
    times["irange"] = time.perf_counter() - start

    bisect_left = t.bisect_left
    start = time.perf_counter()
    for q, i in zip(w["queries"], w["indexes"], strict=True):
        bisect_left(q)
        _ = keys[i]
    times["rank/select"] = time.perf_counter() - start
    return times


def median_times(w: dict[str, list[Any]], runs: int) -> tuple[dict[str, float], ...]:
    """Median seconds per operation for RBTree and SortedDict, their runs interleaved so that
    a change in machine load hits both."""
    samples: tuple[dict[str, list[float]], ...] = ({}, {})
    for i in range(runs):
        for run, times in zip((run_rbtree, run_sorteddict), samples, strict=True):
            gc.collect()
            for name, seconds in run(w).items():
                times.setdefault(name, []).append(seconds)
        progress(f"run {i + 1}/{runs} done")
    return tuple({name: statistics.median(v) for name, v in times.items()} for times in samples)


def row(name: str, ours: float, theirs: float, target: str) -> str:
    ratio = ours / theirs
    verdict = ""
    if target:
        verdict = " (met)" if ratio <= TARGET else " **(over)**"
    return f"| {name} | {ours:.3f} s | {theirs:.3f} s | {ratio:.2f}x{verdict} | {target} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gc-off", action="store_true",
                        help="disable the cyclic garbage collector (to see its share)")
    args = parser.parse_args()

    if args.gc_off:
        gc.disable()
    w = workload(args.keys, args.seed)
    progress(f"RBTree and SortedDict, {args.runs} interleaved runs")
    ours, theirs = median_times(w, args.runs)

    n = args.keys
    print(f"- {n:,} random int keys: {n:,} inserts, {n:,} lookups (half hits), {n // 2:,} deletes;"
          f" then {n // 10:,} floor, {n // 100:,} irange (~100 keys each), {n // 10:,} rank+select")
    print(f"- Python {platform.python_version()}, sortedcontainers {sortedcontainers.__version__},"
          f" {os.cpu_count()} CPUs; median of {args.runs} runs per operation;"
          " ratio = RBTree / SortedDict (lower is better)"
          + ("; cyclic GC disabled" if args.gc_off else ""))
    print()
    print("| operation | RBTree | SortedDict | ratio | target |")
    print("|---|---:|---:|---:|---:|")
    mixed_ours = sum(ours[name] for name in MIXED)
    mixed_theirs = sum(theirs[name] for name in MIXED)
    print(row("**mixed: insert + lookup + delete**", mixed_ours, mixed_theirs, f"≤ {TARGET:g}x"))
    for name in ours:
        print(row(name, ours[name], theirs[name], ""))


if __name__ == "__main__":
    main()
