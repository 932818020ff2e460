#!/usr/bin/env python3
"""The scale run of issue 6: `devkit bundle` on a big repository, time and peak memory vs git.

    .venv/bin/python scripts/bench_scale.py [--commits 100000] [--files 20000] [--updates 50]
                                            [--keep 5] [--work DIR] [--seed 1]

On a repository from scripts/bench_bundle.py's seeded generator (built with `git fast-import`
and cached in the work folder), it runs each step through devkit's CLI in a subprocess, next to
its plain-git equivalent, once:

1. `create` (git: `git bundle create X --all`);
2. `--updates` rounds of: 10 new commits and a tag, then `update` (git: `git bundle create X
   --all --not <the ref tips before the round>`); the median time of the first five rounds
   against the last five says whether an update grows with the history and the chain;
3. `compact STORE --keep N`, when this devkit has it (git: `git bundle create base.bundle --all`
   in the source, a new self-contained base);
4. `apply` of the (compacted) store into a new repository (git: `git clone --mirror` of that
   base bundle), and `verify` of the store (git: `git bundle verify` of the base bundle).

It asserts nothing about speed: it prints a Markdown table to stdout, progress to stderr.

What the peak RSS means. Each command runs under a small launcher (LAUNCHER, a bare Python)
that starts it and reaps it with os.wait4. On Linux, that ru_maxrss is the largest peak resident
set size among the command's process and every descendant it waited for (git's own
sub-processes, devkit's git children): the maximum of the individual peaks, not the sum of
processes that ran at the same time, and without a descendant that nobody waited for. It also
counts, as a floor, the peak of the process that started the command (exec records the old
image's peak: reaped straight from this script, even `true` reports this script's size, which
is why the launcher exists); `check_rusage` prints that floor and the grandchild rule at the
start of each run. The devkit column is thus max(Python interpreter, each git it ran). The
interpreter's own peak is measured apart, by running the CLI's `__main__` through runpy (as
`python -m` does) in a wrapper that reports getrusage(RUSAGE_SELF) at exit: the number that
says whether devkit itself ever holds a pack in memory.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

# scripts/ is on sys.path when this file runs as a script.
from bench_bundle import (
    ROOT,
    Table,
    add_commits,
    build_repository,
    commit_tips,
    copy_tree,
    git,
    progress,
    remove,
    repo_facts,
    run,
    scrub_environment,
    seconds,
    tree_size,
)

COMMITS_PER_UPDATE = 10
EDGE = 5  # rounds at each end of the update series whose medians are compared

# Runs argv[2:], then writes "<wall seconds> <ru_maxrss KiB>" of it into the file argv[1]
# and exits with its status. Started with -I -S, so that its own peak (which the command
# inherits as a floor, see the module docstring) stays a few MB.
LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - started
with open(sys.argv[1], "w") as stream:
    stream.write(f"{elapsed} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""

# `python -m devkit ARGS`, run by runpy as -m does, then the interpreter's own peak RSS
# (RUSAGE_SELF: this process alone, not its git children), in KiB, into the file named first.
PROBE = """
import resource, runpy, sys
report = sys.argv.pop(1)
try:
    runpy.run_module("devkit", run_name="__main__", alter_sys=True)
finally:
    with open(report, "w") as stream:
        stream.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


@dataclass(frozen=True)
class Usage:
    """One command's wall time and peak RSS in bytes (see the module docstring)."""

    seconds: float
    peak: int  # ru_maxrss from wait4: the largest of the process's and its waited-for children's
    python: int | None = None  # devkit's interpreter alone


def measure(args: list[str], cwd: Path | None = None, name: str | None = None) -> Usage:
    """Run a command under LAUNCHER: its wall time and peak RSS. Stops the run, naming it
    (`name`, or its arguments), on failure."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "usage"
        process = subprocess.run([sys.executable, "-I", "-S", "-c", LAUNCHER, str(report), *args],
                                 cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 check=False)
        if process.returncode != 0:
            sys.exit(f"bench: {name or ' '.join(args)} failed (exit {process.returncode}):\n"
                     f"{process.stderr.decode(errors='replace')}")
        elapsed, maxrss = report.read_text().split()
    return Usage(float(elapsed), int(maxrss) * 1024)


def measure_devkit(*args: str) -> Usage:
    """`python -m devkit bundle ARGS` through PROBE: the launcher's figure and Python's own."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "maxrss"
        usage = measure([sys.executable, "-c", PROBE, str(report), "bundle", *args], cwd=ROOT,
                        name=f"devkit bundle {' '.join(args)}")
        return replace(usage, python=int(report.read_text()) * 1024)


def measure_git(repo: Path, *args: str) -> Usage:
    return measure(["git", *args], cwd=repo)


def check_rusage() -> str:
    """The floor of every figure (what `true` reports) and that a waited-for grandchild counts."""
    floor = measure(["true"]).peak
    touch = "b = b'x' * (64 << 20)"
    grandchild = measure(["sh", "-c", f'"{sys.executable}" -c "{touch}"; true']).peak
    return (f"RSS check: `true` reports {mb(floor)} (the floor: the launcher's own peak); a "
            f"shell that runs and waits for a Python touching 64 MB reports {mb(grandchild)}")


def mb(size: int | None) -> str:
    return "" if size is None else f"{size / 1e6:.0f} MB"


def data_size(size: int) -> str:
    return f"{size / 1e3:.0f} kB" if size < 1e6 else mb(size)


def summary(usages: list[Usage]) -> Usage:
    """Median time, highest peaks."""
    pythons = [usage.python for usage in usages if usage.python is not None]
    return Usage(statistics.median(usage.seconds for usage in usages),
                 max(usage.peak for usage in usages), max(pythons) if pythons else None)


def row(step: str, mine: Usage | None, theirs: Usage, data: str, ratio: bool = True) -> None:
    """A table row: devkit's and git's time, their ratio (when the two do the same work), the
    peaks, and the data handled."""
    if mine is None:
        Table.row(step, "not available", seconds(theirs.seconds), "", "", "", mb(theirs.peak),
                  data)
        return
    Table.row(step, seconds(mine.seconds), seconds(theirs.seconds),
              f"{mine.seconds / theirs.seconds:.2f}x" if ratio else "", mb(mine.peak),
              mb(mine.python), mb(theirs.peak), data)


def refs_of(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(objectname) %(refname)")


def has_compact() -> bool:
    """Whether this devkit has `devkit bundle compact` (it is being written)."""
    listing = run([sys.executable, "-m", "devkit", "bundle", "--help"], cwd=ROOT).decode()
    return any(line.split()[:1] == ["compact"] for line in listing.splitlines())


# --------------------------------------------------------------------------------------------
# The steps


class ScaleRun:
    def __init__(self, scratch: Path, source: Path, keep: int) -> None:
        self.scratch = scratch
        self.source = source  # a copy of the generated repository: the updates add to it
        self.store = scratch / "store"
        self.base_bundle = scratch / "git-base.bundle"
        self.keep = keep

    def create(self) -> None:
        progress("create: devkit vs `git bundle create --all`")
        mine = measure_devkit("create", "-q", "--repo", str(self.source), str(self.store))
        bundle = self.scratch / "git-all.bundle"
        theirs = measure_git(self.source, "bundle", "create", "-q", str(bundle), "--all")
        progress(f"  devkit {mine.seconds:.1f} s, git {theirs.seconds:.1f} s")
        row("`create`", mine, theirs,
            f"bundle {mb(tree_size(self.store, '.bundle'))} (git {mb(bundle.stat().st_size)})")
        remove(bundle)

    def _update_round(self, number: int) -> tuple[Usage, Usage, int]:
        """Add 10 commits and a tag; measure devkit's update and git's bundle of what is new."""
        old_tips = sorted(commit_tips(self.source))
        add_commits(self.source, COMMITS_PER_UPDATE, number)
        bundle = remove(self.scratch / "git-range.bundle")

        def mine() -> Usage:
            return measure_devkit("update", "-q", "--repo", str(self.source), str(self.store))

        def theirs() -> Usage:
            return measure_git(self.source, "bundle", "create", "-q", str(bundle), "--all",
                               "--not", *old_tips)

        if number % 2:  # alternate, so neither always runs second on warm caches
            git_usage = theirs()
            devkit_usage = mine()
        else:
            devkit_usage = mine()
            git_usage = theirs()
        link = max(self.store.glob("link-*.bundle")).stat().st_size
        return devkit_usage, git_usage, link

    def updates(self, rounds: int) -> None:
        progress(f"update: {rounds} rounds of {COMMITS_PER_UPDATE} commits and a tag, vs "
                 f"`git bundle create --all --not <previous tips>`")
        mine, theirs, links = [], [], []
        for number in range(1, rounds + 1):
            devkit_usage, git_usage, link = self._update_round(number)
            mine.append(devkit_usage)
            theirs.append(git_usage)
            links.append(link)
            progress(f"  round {number}: devkit {devkit_usage.seconds:.3f} s "
                     f"({mb(devkit_usage.peak)}, Python {mb(devkit_usage.python)}), "
                     f"git {git_usage.seconds:.3f} s ({mb(git_usage.peak)})")
        row(f"`update`, {rounds} rounds (median time, highest peaks)", summary(mine),
            summary(theirs), f"links of {data_size(min(links))} to {data_size(max(links))}")
        edge = max(1, min(EDGE, rounds // 2))
        first, last = summary(mine[:edge]), summary(mine[-edge:])
        git_first, git_last = summary(theirs[:edge]), summary(theirs[-edge:])
        Table.row(f"`update` growth: median of rounds {rounds - edge + 1}-{rounds} / 1-{edge}",
                  f"{seconds(last.seconds)} / {seconds(first.seconds)}",
                  f"{seconds(git_last.seconds)} / {seconds(git_first.seconds)}",
                  f"{last.seconds / first.seconds:.2f}x (git "
                  f"{git_last.seconds / git_first.seconds:.2f}x)",
                  f"{mb(last.peak)} / {mb(first.peak)}", f"{mb(last.python)} / {mb(first.python)}",
                  f"{mb(git_last.peak)} / {mb(git_first.peak)}", "")

    def compact(self, available: bool) -> None:
        progress(f"compact --keep {self.keep} vs `git bundle create --all` (a new base)")
        mine = None
        if available:
            mine = measure_devkit("compact", str(self.store), "--keep", str(self.keep))
        else:
            progress("  compact: not available")
        theirs = measure_git(self.source, "bundle", "create", "-q", str(self.base_bundle),
                             "--all")
        progress(f"  devkit {f'{mine.seconds:.1f} s' if mine else '-'}, "
                 f"git {theirs.seconds:.1f} s")
        data = f"git base {mb(self.base_bundle.stat().st_size)}"
        if mine:
            data = f"store {mb(tree_size(self.store, '.bundle'))} after; {data}"
        row(f"`compact --keep {self.keep}`", mine, theirs, data)

    def apply(self, compacted: bool) -> None:
        links = len(list(self.store.glob("link-*.json")))
        label = "compacted store" if compacted else "store, not compacted"
        progress(f"apply the {label} ({links} links) into a new repository vs "
                 "`git clone --mirror` of git's base bundle")
        target, clone = self.scratch / "target-devkit.git", self.scratch / "target-git.git"
        mine = measure_devkit("apply", "-q", str(self.store), "--repo", str(target))
        theirs = measure_git(self.scratch, "clone", "-q", "--mirror", str(self.base_bundle),
                             str(clone))
        progress(f"  devkit {mine.seconds:.1f} s, git {theirs.seconds:.1f} s")
        if len({refs_of(target), refs_of(clone), refs_of(self.source)}) != 1:
            progress("  WARNING: the applied target, git's clone and the source differ in refs")
        row(f"`apply` into a new repository ({label}, {links} links)", mine, theirs,
            f"store {mb(tree_size(self.store, '.bundle'))}")

    def verify(self) -> None:
        progress("verify the store vs `git bundle verify` of git's base bundle")
        mine = measure_devkit("verify", "-q", str(self.store))
        theirs = measure_git(self.source, "bundle", "verify", "-q", str(self.base_bundle))
        size = tree_size(self.store, ".bundle")
        row("`verify` the store (git: header only¹)", mine, theirs,
            f"store {mb(size)}, {size / mine.seconds / 1e6:.0f} MB/s", ratio=False)


# --------------------------------------------------------------------------------------------


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--updates", type=int, default=50)
    parser.add_argument("--keep", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work",
                        help="where the generated repositories are cached (default: bench-work/)")
    args = parser.parse_args()
    if args.commits < 100 or args.files < 10 or args.updates < 1 or args.keep < 1:
        parser.error("need --commits >= 100, --files >= 10, --updates >= 1, --keep >= 1")
    return args


def print_context(facts: dict[str, float], git_version: str) -> None:
    print("## devkit bundle at scale\n")
    print(f"- repository: {facts['commits']:,} commits, {facts['files']:,} files, "
          f"{facts['refs']} refs, {facts['objects']:,} objects, pack {facts['pack_mb']:.0f} MB")
    print(f"- machine: {os.cpu_count()} CPUs, {git_version}, Python {sys.version.split()[0]}; "
          f"one run of each step; devkit through its CLI")
    print(f"- {check_rusage()}", flush=True)


def print_notes(keep: int) -> None:
    print("\nPeak RSS: `ru_maxrss` of `os.wait4` in a small launcher, the largest peak "
          "resident set among the command's process and each descendant it waited for (not a "
          "sum of processes that ran at once; never below the floor that `true` reports). For "
          "devkit that is the larger of the Python interpreter and each git it ran; \"Python "
          "alone\" is the interpreter by itself (`getrusage(RUSAGE_SELF)` at exit).\n\n"
          "git equivalents: `create` is `git bundle create X --all`; `update` is `git bundle "
          "create X --all --not <every ref tip before the round>`; `compact` is `git bundle "
          f"create base.bundle --all` in the source (a new base, where devkit's keeps the last "
          f"{keep} links); `apply` is `git clone --mirror base.bundle`.\n\n"
          "¹ `git bundle verify` only parses the header and checks prerequisites in a "
          "repository; devkit reads every byte of every bundle (SHA-256, pack checksum).",
          flush=True)


def main() -> None:
    args = parse_arguments()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    scrub_environment(work / "home", work / "pycache")
    started = time.perf_counter()
    repo = build_repository(work, args.commits, args.files, args.seed)
    scratch = remove(work / "scale-run")
    scratch.mkdir()
    progress("copying the repository (the updates add commits to it)")
    source = scratch / "source.git"
    copy_tree(repo, source)
    run([sys.executable, "-m", "devkit", "--help"], cwd=ROOT)  # compile bytecode before timing
    compact_available = has_compact()

    print_context(repo_facts(repo), git(repo, "--version").strip())
    Table("", ["step", "devkit", "git", "ratio", "devkit peak RSS", "Python alone",
               "git peak RSS", "data"])
    bench = ScaleRun(scratch, source, args.keep)
    bench.create()
    bench.updates(args.updates)
    bench.compact(compact_available)
    bench.apply(compact_available)
    bench.verify()
    print_notes(args.keep)
    print(f"\n(total benchmark time {time.perf_counter() - started:.0f} s)", flush=True)
    remove(scratch)


if __name__ == "__main__":
    main()
