#!/usr/bin/env python3
"""Benchmark devkit.algo.permutation against more_itertools, measured in the same run.

    .venv/bin/python scripts/bench_permutation.py [--items 10] [--repeat 3]

Enumerates every permutation of `--items` items, once all different (10! = 3,628,800) and once
as pairs (0, 0, 1, 1, ...: 113,400 for 10 items), three ways: looping `next_permutation` on a
list until it returns False; consuming `devkit`'s `distinct_permutations`; and consuming
`more_itertools.distinct_permutations` (the reference). The loop builds no tuples while
both generators build one per permutation, so the second row is the like-for-like one.

This is a benchmark, not a test: it prints the median of `--repeat` runs and the ratio
devkit / more_itertools next to the target (within 2x), and never fails on slowness.
Progress goes to stderr, the Markdown table to stdout.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import more_itertools

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from devkit.algo.permutation import distinct_permutations, next_permutation

TARGET_RATIO = 2.0


def loop_next_permutation(items: list) -> int:
    """Step a copy of `items` through every permutation; returns how many there were."""
    seq = sorted(items)
    count = 1
    while next_permutation(seq):
        count += 1
    return count


def consume(iterator) -> None:
    deque(iterator, maxlen=0)


def median_seconds(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """The median time of each run; the runs take turns, so a busy moment hits them all."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_number in range(1, repeat + 1):
        for name, run in runs.items():
            progress(f"round {round_number}/{repeat}: {name}")
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10, help="how many items to permute")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    options = parser.parse_args()

    inputs = {
        f"{options.items} distinct items": list(range(options.items)),
        f"{options.items} items in pairs": [i // 2 for i in range(options.items)],
    }
    print(f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()} "
          f"({platform.python_implementation()}) on {platform.machine()} {platform.system()}; "
          f"more_itertools {more_itertools.__version__}; median of {options.repeat} runs.\n")
    print("| input | permutations | devkit way | devkit (s) | more_itertools (s) "
          "| ratio | target |")
    print("|---|---:|---|---:|---:|---:|---|")
    for label, items in inputs.items():
        count = loop_next_permutation(items)
        runs = {
            "more_itertools": lambda items=items: consume(
                more_itertools.distinct_permutations(items)),
            "`next_permutation` loop": lambda items=items: loop_next_permutation(items),
            "`distinct_permutations`": lambda items=items: consume(distinct_permutations(items)),
        }
        progress(label)
        seconds = median_seconds(runs, options.repeat)
        reference = seconds.pop("more_itertools")
        for way, ours in seconds.items():
            ratio = ours / reference
            verdict = "met" if ratio <= TARGET_RATIO else "missed"
            print(f"| {label} | {count:,} | {way} | {ours:.3f} | {reference:.3f} "
                  f"| {ratio:.2f}x | within {TARGET_RATIO:g}x: {verdict} |", flush=True)

if __name__ == "__main__":
    main()
