#!/usr/bin/env python3
"""Benchmark the Neovim plugin: what it costs at start-up, and how fast `:Dune build` returns
and delivers its diagnostics.

    python3 scripts/bench_nvim.py [--runs 20] [--builds 10] [--diagnostics 1000] [--nvim PATH]
                                  [--work DIR]

This is a benchmark, not a test: it asserts nothing about speed and never fails on a slow
result. Progress goes to stderr, two Markdown tables to stdout.

1. Start-up. Two isolated configurations that differ in one line: both set the Python host and
   turn the other providers off; one also puts the plugin on 'runtimepath' (and has it
   registered, as `devkit nvim install` does), the other does not. Each runs
   ``nvim --headless --startuptime FILE +qa`` `--runs` times, interleaved (the order flips every
   round); the table gives the medians of the time Neovim reports at ``--- NVIM STARTED ---``
   and of the process's wall-clock time, their difference (target: at most 5 ms) and ratio.

2. `:Dune build`. A real dune project whose one module holds `--diagnostics` functions
   ``let f_i () = let x = 1 in ()``: each is an unused variable, which dune's dev profile makes an
   error, and the compiler reports every one (the count is checked against the real compiler's
   output before measuring). Neovim runs embedded (``nvim --embed --headless`` through pynvim)
   with the plugin, the module open in a buffer; the Python host is warmed by one full build.
   Then, `--builds` times, interleaved with a plain ``dune build`` of the same project run
   directly as a subprocess: the time ``nvim.command("Dune build")`` takes to return (target:
   at most 20 ms), the time from that command to ``User DuneDone`` (measured with Neovim's
   clock, so polling does not count), its ratio to the plain ``dune build``, and
   ``g:dune_last.publish_ms``, the plugin's own time from dune's exit to the quickfix list and
   diagnostics being set (target: at most 100 ms).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devkit.nvim.isolated import (  # noqa: E402
    embedded_neovim,
    init_lua,
    isolated_environment,
    prepare,
)
from devkit.nvim.neovim import find_nvim, nvim_version, runtime_dir  # noqa: E402
from devkit.ocaml.diagnostics import parse  # noqa: E402

STARTUP_TARGET_MS = 5.0
RETURN_TARGET_MS = 20.0
PUBLISH_TARGET_MS = 100.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- start-up --------------------------------------------------------------------------------


def without_plugin(base: Path, env: dict[str, str]) -> dict[str, str]:
    """The same isolated configuration as `prepare` writes, minus the runtimepath line."""
    isolated = isolated_environment(base, env)
    for folder in ("config/nvim", "data", "state", "cache"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    lines = init_lua(runtime_dir(), sys.executable).splitlines(keepends=True)
    kept = [line for line in lines if "runtimepath" not in line]
    if len(kept) != len(lines) - 1:
        raise SystemExit("init_lua no longer has exactly one runtimepath line: update this")
    (base / "config" / "nvim" / "init.lua").write_text("".join(kept))
    return isolated


def startup_once(nvim: Path, env: dict[str, str], log_file: Path) -> tuple[float, float]:
    """(Neovim's own start-up time, wall-clock time of the process), in milliseconds."""
    log_file.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run([str(nvim), "--headless", "--startuptime", str(log_file), "+qa"], env=env,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, timeout=60)
    wall = (time.perf_counter() - start) * 1000
    started = None
    for line in log_file.read_text(errors="replace").splitlines():
        if "NVIM STARTED" in line:
            started = float(line.split()[0])
    if started is None:
        raise SystemExit(f"no 'NVIM STARTED' line in {log_file}")
    return started, wall


def bench_startup(nvim: Path, work: Path, runs: int) -> list[str]:
    env = dict(os.environ)
    log("start-up: preparing the two configurations")
    configurations = {
        "with": prepare(work / "with", nvim, env, sys.executable),
        "without": without_plugin(work / "without", env),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in configurations}
    for name, isolated in configurations.items():  # one untimed run each: caches warm
        startup_once(nvim, isolated, work / f"{name}.log")
    for round_ in range(runs):
        order = list(configurations) if round_ % 2 == 0 else list(reversed(configurations))
        for name in order:
            results[name].append(startup_once(nvim, configurations[name], work / f"{name}.log"))
    log(f"start-up: {runs} runs each")

    def median(name: str, index: int) -> float:
        return statistics.median(result[index] for result in results[name])

    rows = [
        f"| start-up (median of {runs}) | with devkit | without | difference | ratio | "
        "target |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, index in (("`--startuptime` NVIM STARTED", 0), ("wall clock (process)", 1)):
        with_ms, without_ms = median("with", index), median("without", index)
        difference = with_ms - without_ms
        verdict = "" if index == 1 or difference <= STARTUP_TARGET_MS else " **(over)**"
        rows.append(f"| {label} | {with_ms:.1f} ms | {without_ms:.1f} ms | "
                    f"{difference:+.1f} ms{verdict} | {with_ms / without_ms:.2f}x | "
                    f"{'≤ 5 ms' if index == 0 else '—'} |")
    return rows


# --- :Dune build -----------------------------------------------------------------------------


def write_project(root: Path, count: int) -> Path:
    (root / "lib").mkdir(parents=True, exist_ok=True)
    (root / "dune-project").write_text("(lang dune 2.9)\n")
    (root / "lib" / "dune").write_text("(library (name big))\n")
    module = root / "lib" / "big.ml"
    module.write_text("".join(f"let f_{i} () = let x = 1 in ()\n" for i in range(count)))
    return module


def plain_dune_build(root: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(["dune", "build"], cwd=root, capture_output=True, text=True,
                          errors="replace", stdin=subprocess.DEVNULL, timeout=600, check=False)
    return (time.perf_counter() - start) * 1000, done.stdout + done.stderr


COUNT_DUNE_DONE = """
_G.bench = { done = 0 }
vim.api.nvim_create_autocmd("User", { pattern = "DuneDone", callback = function()
  _G.bench.done = _G.bench.done + 1
  _G.bench.done_at = vim.uv.hrtime()
end })
"""


def dune_build_in_nvim(session, timeout: float = 600) -> tuple[float, float, dict]:
    """(ms for `:Dune build` to return, ms from it to User DuneDone, g:dune_last)."""
    before = session.exec_lua("_G.bench.start = vim.uv.hrtime(); return _G.bench.done")
    start = time.perf_counter()
    session.command("Dune build")
    returned = (time.perf_counter() - start) * 1000
    deadline = time.monotonic() + timeout
    while session.exec_lua("return _G.bench.done") == before:
        if time.monotonic() > deadline:
            raise SystemExit(f"no User DuneDone within {timeout:.0f} s")
        time.sleep(0.01)
    latency = session.exec_lua("return (_G.bench.done_at - _G.bench.start) / 1e6")
    return returned, latency, session.vars["dune_last"]


def bench_dune(nvim: Path, work: Path, builds: int, count: int) -> tuple[list[str], list[str]]:
    root = work / "project"
    module = write_project(root, count)
    _, output = plain_dune_build(root)
    found = parse(output, root)
    notes = [f"- project: one module, {count} unused variables; the real compiler reports "
             f"{len(found)} diagnostics ({sum(d.severity == 'error' for d in found)} errors)"]
    if len(found) != count:
        notes.append(f"- **the compiler reported {len(found)} diagnostics, not {count}**")
    log(f":Dune build: {len(found)} diagnostics per build; preparing Neovim")
    config = work / "dune-config"
    environment = prepare(config, nvim, os.environ, sys.executable)
    with embedded_neovim(nvim, environment) as session:
        session.command(f"cd {root}")
        session.command(f"edit {module}")
        session.exec_lua(COUNT_DUNE_DONE)
        dune_build_in_nvim(session)  # warm-up: starts the host, imports the handlers
        returns, latencies, plains, publishes, counts = [], [], [], [], []
        for _ in range(builds):
            returned, latency, last = dune_build_in_nvim(session)
            returns.append(returned)
            latencies.append(latency)
            counts.append(last.get("errors", 0) + last.get("warnings", 0))
            if "publish_ms" in last:
                publishes.append(last["publish_ms"])
            plains.append(plain_dune_build(root)[0])
        shown = session.exec_lua(
            "return #vim.diagnostic.get(vim.api.nvim_get_current_buf())")
        quickfix = session.call("getqflist", {"size": 0})["size"]
    log(f":Dune build: {builds} builds, each with a plain dune build")
    reported = (str(counts[0]) if min(counts) == max(counts)
                else f"{min(counts)} to {max(counts)}")
    notes.append(f"- each `:Dune build` reported {reported} diagnostics; after the last one the "
                 f"buffer shows {shown} and the quickfix list holds {quickfix}")

    return_ms = statistics.median(returns)
    latency_ms, plain_ms = statistics.median(latencies), statistics.median(plains)
    over = " **(over)**" if return_ms > RETURN_TARGET_MS else ""
    publish = "n/a"
    if publishes:
        publish_ms = statistics.median(publishes)
        late = " **(over)**" if publish_ms > PUBLISH_TARGET_MS else ""
        publish = f"{publish_ms:.0f} ms{late}"
    rows = [
        f"| `:Dune build` ({count} diagnostics, median of {builds}) | devkit | plain "
        "`dune build` | ratio | target |",
        "|---|---:|---:|---:|---:|",
        f"| `nvim.command(\"Dune build\")` returns | {return_ms:.1f} ms{over} | — | — | "
        "≤ 20 ms |",
        f"| `:Dune build` → `User DuneDone` | {latency_ms:.0f} ms | {plain_ms:.0f} ms | "
        f"{latency_ms / plain_ms:.2f}x | — |",
        f"| `g:dune_last.publish_ms` (dune's exit → quickfix and diagnostics set) | "
        f"{publish} | — | — | ≤ 100 ms |",
    ]
    if not publishes:
        notes.append("- `g:dune_last` has no `publish_ms` field: n/a")
    return rows, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="start-up runs per configuration")
    parser.add_argument("--builds", type=int, default=10, help="timed :Dune build runs")
    parser.add_argument("--diagnostics", type=int, default=1000,
                        help="diagnostics the benchmark project's build reports")
    parser.add_argument("--nvim", help="the Neovim to measure (default: as devkit finds one)")
    parser.add_argument("--work", type=Path,
                        help="keep the configurations and the project in this folder")
    args = parser.parse_args()

    nvim = find_nvim(os.environ, args.nvim)
    if shutil.which("dune") is None:
        raise SystemExit("dune is not installed: apt-get install ocaml-nox ocaml-dune")
    dune_version = subprocess.run(["dune", "--version"], capture_output=True, text=True,
                                  check=False).stdout.strip()
    work = args.work or Path(tempfile.mkdtemp(prefix="devkit-bench-nvim-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        startup = bench_startup(nvim, work, args.runs)
        dune_rows, notes = bench_dune(nvim, work, args.builds, args.diagnostics)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"- machine: {os.cpu_count()} CPUs, Neovim {'.'.join(map(str, nvim_version(nvim)))}, "
          f"dune {dune_version}, Python {platform.python_version()}")
    print(*notes, sep="\n")
    print()
    print(*startup, sep="\n")
    print()
    print(*dune_rows, sep="\n")


if __name__ == "__main__":
    main()
