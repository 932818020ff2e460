#!/usr/bin/env python3
"""Benchmark `devkit.algo.strided` against numpy on the same operations.

    python3 scripts/bench_strided.py [--side 200] [--repeat 5]

Times each operation on a SIDE x SIDE array of ints (best of REPEAT runs), ours and numpy's in
the same run, and prints a Markdown table with the ratio. View operations (slicing, transpose,
a reshape without copy, broadcast_to) cost O(ndim) in both; everything that touches elements
(copies, arithmetic, sums, tolist) is pure Python here and C in numpy. The issue sets no speed
target: this table shows the price of the pure-Python implementation, it asserts nothing.
Needs numpy (the test extra installs it).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devkit.algo.strided import NDArray  # noqa: E402


def best_time(function: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` runs of `function`, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=200, help="arrays are SIDE x SIDE")
    parser.add_argument("--repeat", type=int, default=5, help="runs per operation (best kept)")
    options = parser.parse_args()
    side = options.side
    ours = NDArray(list(range(side * side)), (side, side))
    theirs = np.arange(side * side, dtype=np.int64).reshape(side, side)
    row, row_np = ours[0], theirs[0]
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("slice a[1:-1, ::-2]", lambda: ours[1:-1, ::-2], lambda: theirs[1:-1, ::-2]),
        ("transpose a.T", lambda: ours.T, lambda: theirs.T),
        ("reshape (view)", lambda: ours.reshape(-1, 4), lambda: theirs.reshape(-1, 4)),
        (
            "broadcast_to",
            lambda: row.broadcast_to((side, side)),
            lambda: np.broadcast_to(row_np, (side, side)),
        ),
        (
            "reshape (copy) a.T.reshape(-1)",
            lambda: ours.T.reshape(-1),
            lambda: theirs.T.reshape(-1),
        ),
        ("compact a.T", lambda: ours.T.compact(), lambda: np.ascontiguousarray(theirs.T)),
        ("a + a.T", lambda: ours + ours.T, lambda: theirs + theirs.T),
        ("a * row (broadcast)", lambda: ours * row, lambda: theirs * row_np),
        ("a / 3", lambda: ours / 3, lambda: theirs / 3),
        ("sum(axis=0)", lambda: ours.sum(axis=0), lambda: theirs.sum(axis=0)),
        ("sum()", lambda: ours.sum(), lambda: theirs.sum()),
        ("tolist()", lambda: ours.tolist(), lambda: theirs.tolist()),
    ]
    print(f"arrays of {side} x {side} Python ints / int64, best of {options.repeat} runs\n")
    print("| operation | devkit.algo.strided | numpy | ratio |")
    print("|---|---:|---:|---:|")
    for name, ours_call, numpy_call in cases:
        ours_s = best_time(ours_call, options.repeat)
        numpy_s = best_time(numpy_call, options.repeat)
        print(
            f"| {name} | {ours_s * 1e6:,.1f} µs | {numpy_s * 1e6:,.1f} µs "
            f"| {ours_s / numpy_s:,.0f}x |"
        )


if __name__ == "__main__":
    main()
