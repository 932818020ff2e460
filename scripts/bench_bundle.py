#!/usr/bin/env python3
"""Benchmark `devkit bundle` against plain git, measured in the same run; prints a Markdown table.

    .venv/bin/python scripts/bench_bundle.py [--commits 20000] [--files 5000] [--repeat 3]
                                             [--work DIR] [--seed 1] [--chain 100]

This is a benchmark, not a test: it asserts nothing about speed, it prints ratios (devkit time /
git time for the equivalent git command) next to the targets. Machines are noisy, so the ratios
are what to compare; absolute times are context. devkit runs through its CLI
(`python -m devkit bundle ...` in a subprocess, as users run it); a second table shows the same
operations through the Python API, which leaves out the interpreter's start-up and imports.

The repository (built with `git fast-import` from a seeded generator, repacked like `git gc`
would, without bitmaps, as a developer's repository is) is cached in the work folder, so reruns
skip building it. Progress goes to stderr, results to stdout as they are measured.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR_VERSION = 1  # bump when the generated history changes, to invalidate cached repos
AUTHOR = b"Ada Tester <ada@example.invalid>"
EPOCH = 1767225600  # 2026-01-01T00:00:00Z

TARGETS = {"create": 1.15, "update": 2.0, "growth": 1.25, "verify_mbps": 250.0, "apply": 1.5}


# --------------------------------------------------------------------------------------------
# Environment and running things


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def scrub_environment(home: Path, bytecode: Path) -> None:
    """Make git (ours, devkit's, and devkit's in-process API calls) ignore the user's setup.

    Python writes bytecode to a cache in the work folder (whatever PYTHONDONTWRITEBYTECODE says),
    as an installed devkit has it: the CLI's start-up is then the same on every run.
    """
    for variable in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                     "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES",
                     "GIT_TRACE", "GIT_TRACE2", "GIT_TRACE2_PERF", "DEVKIT_TEST_CRASH_AT",
                     "PYTHONDONTWRITEBYTECODE"):
        os.environ.pop(variable, None)
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n")
    os.environ.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "Ada Tester",
        "GIT_AUTHOR_EMAIL": "ada@example.invalid",
        "GIT_COMMITTER_NAME": "Ada Tester",
        "GIT_COMMITTER_EMAIL": "ada@example.invalid",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "PYTHONPYCACHEPREFIX": str(bytecode),
    })
    python_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + python_path if python_path else "")


def run(args: list[str], cwd: Path | None = None, input: bytes | None = None) -> bytes:
    """Run a command; on failure, stop the benchmark with its stderr."""
    process = subprocess.run(args, cwd=cwd, input=input, capture_output=True, check=False)
    if process.returncode != 0:
        sys.exit(f"bench: {' '.join(args)} failed (exit {process.returncode}) in {cwd}:\n"
                 f"{process.stderr.decode(errors='replace')}")
    return process.stdout


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    return run(["git", *args], cwd=repo, input=input).decode(errors="replace")


def devkit(*args: str) -> bytes:
    """`python -m devkit bundle ARGS`, exactly as a user runs it."""
    return run([sys.executable, "-m", "devkit", "bundle", *args], cwd=ROOT)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def copy_tree(source: Path, destination: Path) -> None:
    if destination.exists():
        shutil.rmtree(destination)
    run(["cp", "-a", str(source), str(destination)])


def remove(path: Path) -> Path:
    """Delete the file or folder at `path`, if any; return `path`, free for a new one."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    return path


def tree_size(path: Path, suffix: str = "") -> int:
    return sum(p.stat().st_size for p in path.rglob(f"*{suffix}") if p.is_file())


# --------------------------------------------------------------------------------------------
# The history: a seeded stream for `git fast-import`


class History:
    """Deterministic fast-import commands: one big first commit, then small changes.

    Files live in `dNN/sMM/` folders with OCaml-ish lines of words; each later commit changes a
    few lines of one to four files (sometimes adding or removing a line). Every 1,000 commits a
    feature branch of 15 commits forks from main, and most are merged back 400 commits later
    (a real merge commit); every 250 main commits gets a tag (annotated and lightweight in turn).
    """

    def __init__(self, files: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.vocabulary = [self._word() for _ in range(3000)]
        self.paths = [f"d{i % 50:02d}/s{(i // 50) % 10}/m{i:05d}.ml".encode()
                      for i in range(files)]
        self.main: dict[bytes, list[bytes]] = {}
        self.mark = 0
        self.time = EPOCH
        self.commits = 0

    def _word(self) -> str:
        letters = "abcdefghijklmnopqrstuvwxyz_"
        return "".join(self.rng.choice(letters) for _ in range(self.rng.randint(2, 12)))

    def _line(self) -> bytes:
        words = self.rng.choices(self.vocabulary, k=self.rng.randint(3, 11))
        indent = "  " * self.rng.randint(0, 3)
        number = self.rng.getrandbits(32)
        return f"{indent}let {words[0]} = {' '.join(words[1:])} {number}\n".encode()

    @staticmethod
    def _data(payload: bytes) -> bytes:
        return b"data %d\n%s\n" % (len(payload), payload)

    def _commit(self, ref: bytes, message: str, parents: list[int],
                changes: dict[bytes, list[bytes]]) -> list[bytes]:
        self.mark += 1
        self.commits += 1
        self.time += 37
        stamp = b"%s %d +0000" % (AUTHOR, self.time)
        parts = [b"commit %s\nmark :%d\nauthor %s\ncommitter %s\n" % (ref, self.mark, stamp, stamp),
                 self._data(message.encode())]
        if parents:
            parts.append(b"from :%d\n" % parents[0])
            parts += [b"merge :%d\n" % parent for parent in parents[1:]]
        for path, lines in changes.items():
            parts.append(b"M 100644 inline %s\n" % path)
            parts.append(self._data(b"".join(lines)))
        parts.append(b"\n")
        return parts

    def _edit(self, state: dict[bytes, list[bytes]], overlay: dict[bytes, list[bytes]]
              ) -> dict[bytes, list[bytes]]:
        changes = {}
        for _ in range(self.rng.choice((1, 1, 2, 2, 3, 4))):
            path = self.rng.choice(self.paths)
            lines = list(overlay.get(path) or state[path])
            for _ in range(self.rng.randint(1, 3)):
                position = self.rng.randrange(len(lines))
                roll = self.rng.random()
                if roll < 0.15 and len(lines) > 10:
                    del lines[position]
                elif roll < 0.35:
                    lines.insert(position, self._line())
                else:
                    lines[position] = self._line()
            overlay[path] = lines
            changes[path] = lines
        return changes

    def stream(self, commits: int) -> Iterator[bytes]:
        """fast-import commands for `commits` commits (a prefix of the same seed's longer run)."""
        self.main = {path: [self._line() for _ in range(self.rng.randint(20, 120))]
                     for path in self.paths}
        yield from self._commit(b"refs/heads/main", "Initial import", [], self.main)
        tip = self.mark
        main_commits = 1
        features: dict[int, tuple[int, dict[bytes, list[bytes]], int]] = {}
        feature_count = 0
        while self.commits < commits:
            if main_commits % 1000 == 500:
                feature_count += 1
                name = b"refs/heads/feature/f%03d" % feature_count
                overlay: dict[bytes, list[bytes]] = {}
                feature_tip = tip
                for n in range(15):
                    if self.commits >= commits:
                        break
                    changes = self._edit(self.main, overlay)
                    yield from self._commit(name, f"feature {feature_count}: step {n}",
                                            [feature_tip], changes)
                    feature_tip = self.mark
                if feature_count % 4:  # three in four get merged
                    features[main_commits + 400] = (feature_count, overlay, feature_tip)
            if main_commits in features and self.commits < commits:
                number, overlay, feature_tip = features.pop(main_commits)
                yield from self._commit(b"refs/heads/main", f"Merge feature {number}",
                                        [tip, feature_tip], overlay)
                self.main.update(overlay)
            else:
                changes = self._edit(self.main, self.main)
                yield from self._commit(b"refs/heads/main", f"change {main_commits}", [tip],
                                        changes)
            tip = self.mark
            main_commits += 1
            if main_commits % 250 == 0:
                number = main_commits // 250
                if number % 2:
                    self.time += 1
                    yield (b"tag v%d.%d\nfrom :%d\ntagger %s %d +0000\n"
                           % (number // 10, number % 10, tip, AUTHOR, self.time))
                    yield self._data(f"Release {number // 10}.{number % 10}".encode())
                else:
                    yield b"reset refs/tags/snapshot-%04d\nfrom :%d\n\n" % (number, tip)
        yield b"done\n"


def fast_import(repo: Path, chunks: Iterator[bytes]) -> None:
    process = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=repo,
                               stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    buffer: list[bytes] = []
    size = 0
    for chunk in chunks:
        buffer.append(chunk)
        size += len(chunk)
        if size >= 1 << 20:
            process.stdin.write(b"".join(buffer))
            buffer, size = [], 0
    process.stdin.write(b"".join(buffer))
    process.stdin.close()
    errors = process.stderr.read()
    if process.wait() != 0:
        sys.exit(f"bench: git fast-import failed in {repo}:\n{errors.decode(errors='replace')}")


def build_repository(work: Path, commits: int, files: int, seed: int) -> Path:
    """The cached bare repository for these parameters, built if missing."""
    repo = work / f"repo-v{GENERATOR_VERSION}-c{commits}-f{files}-s{seed}.git"
    if (repo / "bench-complete").exists():
        progress(f"using cached repository {repo}")
        return repo
    progress(f"building {commits} commits x {files} files with git fast-import into {repo}")
    started = time.perf_counter()
    if repo.exists():
        shutil.rmtree(repo)
    run(["git", "init", "-q", "--bare", str(repo)])
    fast_import(repo, History(files, seed).stream(commits))
    progress(f"  fast-import done in {time.perf_counter() - started:.0f} s; repacking like gc")
    # What `git gc` leaves in a developer's (non-bare) repository: one pack with fresh deltas,
    # packed refs and a commit-graph, but no reachability bitmaps.
    git(repo, "-c", "repack.writeBitmaps=false", "repack", "-a", "-d", "-f", "-q",
        "--window=10", "--depth=50")
    git(repo, "pack-refs", "--all")
    git(repo, "commit-graph", "write", "--reachable")
    (repo / "bench-complete").write_text("")
    progress(f"  built in {time.perf_counter() - started:.0f} s")
    return repo


def add_commits(repo: Path, count: int, round_number: int, tag: bool = True) -> None:
    """Append `count` small commits to main and a lightweight tag on the last, a day's work."""
    rng = random.Random(f"round {round_number}")
    blob_paths = git(repo, "ls-tree", "-r", "--name-only", "main").split()
    paths = rng.sample(blob_paths, min(len(blob_paths), 2 * count))
    stamp_base = EPOCH + 10_000_000 + 1000 * round_number
    parts = []
    for n in range(count):
        stamp = b"%s %d +0000" % (AUTHOR, stamp_base + n)
        message = f"bench round {round_number}, commit {n}".encode()
        parts.append(b"commit refs/heads/main\nmark :%d\nauthor %s\ncommitter %s\n"
                     % (n + 1, stamp, stamp))
        parts.append(History._data(message))
        if n == 0:
            parts.append(b"from refs/heads/main^0\n")
        for path in paths[2 * n:2 * n + 2]:
            content = f"(* round {round_number} commit {n} *)\n{rng.getrandbits(4096):x}\n"
            parts.append(b"M 100644 inline %s\n" % path.encode())
            parts.append(History._data(content.encode()))
        parts.append(b"\n")
    if tag:
        parts.append(b"reset refs/tags/bench-round-%04d\nfrom :%d\n\n" % (round_number, count))
    parts.append(b"done\n")
    fast_import(repo, iter(parts))


def commit_tips(repo: Path) -> set[str]:
    """The commits the refs point at, tags peeled (what a link's prerequisites are)."""
    out = git(repo, "for-each-ref", "--format=%(objectname) %(*objectname)", "refs/")
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def repo_facts(repo: Path) -> dict[str, float]:
    count = git(repo, "count-objects", "-v")
    values = dict(line.split(": ") for line in count.splitlines())
    return {
        "commits": int(git(repo, "rev-list", "--all", "--count").strip()),
        "files": len(git(repo, "ls-tree", "-r", "--name-only", "main").splitlines()),
        "refs": len(git(repo, "for-each-ref").splitlines()),
        "objects": int(values["in-pack"]) + int(values["count"]),
        "pack_mb": (int(values["size-pack"]) + int(values["size"])) * 1024 / 1e6,
    }


# --------------------------------------------------------------------------------------------
# Output


class Table:
    """A Markdown table printed a row at a time, as the measurements come in."""

    def __init__(self, title: str, columns: list[str]) -> None:
        print(f"\n{title}\n" if title else "", flush=True)
        print("| " + " | ".join(columns) + " |")
        print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|",
              flush=True)

    @staticmethod
    def row(*cells: str) -> None:
        print("| " + " | ".join(cells) + " |", flush=True)


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def verdict(value: float, limit: float, at_least: bool = False) -> str:
    met = value >= limit if at_least else value <= limit
    return "" if met else " **(over)**" if not at_least else " **(under)**"


# --------------------------------------------------------------------------------------------
# The measurements


class Bench:
    def __init__(self, args: argparse.Namespace, run_dir: Path, repo: Path, small: Path) -> None:
        self.repeat = args.repeat
        self.chain = args.chain
        self.run_dir = run_dir
        self.repo = repo
        self.small = small
        self.round = 0
        self.git_times: dict[str, float] = {}
        self.api: dict[str, float] = {}

    def fresh(self, name: str) -> Path:
        return remove(self.run_dir / name)

    @staticmethod
    def pair(attempt: int, mine: Callable[[], object], theirs: Callable[[], object]
             ) -> tuple[float, float]:
        """Time devkit and git, in alternating order (so neither always runs on warm caches)."""
        if attempt % 2:
            git_time = timed(theirs)
            return timed(mine), git_time
        devkit_time = timed(mine)
        return devkit_time, timed(theirs)

    # create ------------------------------------------------------------------------------

    def create(self) -> Path:
        from devkit.bundle.snapshot import create_store

        progress(f"create: devkit CLI vs `git bundle create --all`, {self.repeat} runs each")
        cli, api, plain = [], [], []
        for attempt in range(self.repeat):
            store = self.fresh("create-store")
            bundle = self.fresh("git-all.bundle")
            mine, theirs = self.pair(
                attempt,
                lambda s=store: devkit("create", "-q", "--repo", str(self.repo), str(s)),
                lambda b=bundle: git(self.repo, "bundle", "create", "-q", str(b), "--all"))
            cli.append(mine)
            plain.append(theirs)
            api_store = self.fresh("create-api")
            api.append(timed(lambda s=api_store: create_store(self.repo, s)))
            progress(f"  run {attempt + 1}: devkit {cli[-1]:.2f} s, API {api[-1]:.2f} s, "
                     f"git {plain[-1]:.2f} s")
        shutil.rmtree(self.run_dir / "create-api")
        store = self.run_dir / "create-store"
        bundle_mb = tree_size(store, ".bundle") / 1e6
        git_mb = (self.run_dir / "git-all.bundle").stat().st_size / 1e6
        ratio = statistics.median(cli) / statistics.median(plain)
        Table.row("`create` (whole repository)",
                  f"{seconds(statistics.median(cli))} ({bundle_mb:.1f} MB)",
                  f"{seconds(statistics.median(plain))} ({git_mb:.1f} MB)",
                  f"{ratio:.2f}x{verdict(ratio, TARGETS['create'])}", f"≤ {TARGETS['create']}x")
        self.git_times["create"] = statistics.median(plain)
        self.api["create"] = statistics.median(api)
        return store

    # update ------------------------------------------------------------------------------

    def _update_round(self, attempt: int, source: Path, store: Path,
                      use_api: bool) -> tuple[float, float]:
        """Add 10 commits and a tag; time devkit's update and `git bundle create` of the range."""
        from devkit.bundle.snapshot import update_store

        old_tips = sorted(commit_tips(source))
        self.round += 1
        add_commits(source, 10, self.round)
        new_refs = ["refs/heads/main", f"refs/tags/bench-round-{self.round:04d}"]
        bundle = self.fresh("git-range.bundle")
        if use_api:
            def mine() -> None:
                result = update_store(source, store)
                if result.link is None:
                    sys.exit("bench: update wrote no link")
        else:
            def mine() -> None:
                devkit("update", "-q", "--repo", str(source), str(store))
        return self.pair(attempt, mine, lambda: git(source, "bundle", "create", "-q",
                                                    str(bundle), *new_refs, "--not", *old_tips))

    def update(self, full_store: Path) -> tuple[Path, Path]:
        from devkit.bundle.snapshot import create_store

        progress("update: copying the repositories (updates add commits to them)")
        sources = {"full": self.fresh("source-full.git"), "quarter": self.fresh("source-1-4.git")}
        copy_tree(self.repo, sources["full"])
        copy_tree(self.small, sources["quarter"])
        stores = {"full": self.fresh("store-full"), "quarter": self.fresh("store-1-4")}
        shutil.copytree(full_store, stores["full"])
        create_store(sources["quarter"], stores["quarter"])

        progress("update after 10 commits, full and 1/4 history, vs `git bundle create` of the "
                 f"range, {self.repeat} runs each")
        times: dict[tuple[str, str], list[float]] = {}
        for attempt in range(self.repeat):
            for history in ("full", "quarter")[::1 if attempt % 2 else -1]:
                for how in ("cli", "api"):
                    mine, theirs = self._update_round(attempt, sources[history], stores[history],
                                                      how == "api")
                    times.setdefault((history, how), []).append(mine)
                    times.setdefault((history, f"git-{how}"), []).append(theirs)
            progress("  run {}: full: devkit {:.3f} s, API {:.3f} s, git {:.3f} s; 1/4: devkit "
                     "{:.3f} s, API {:.3f} s, git {:.3f} s".format(attempt + 1, *(
                         times[(h, k)][-1] for h in ("full", "quarter")
                         for k in ("cli", "api", "git-cli"))))
        median = {key: statistics.median(values) for key, values in times.items()}
        plain = {h: statistics.median(times[(h, "git-cli")] + times[(h, "git-api")])
                 for h in ("full", "quarter")}
        for history, label in (("full", "full history"), ("quarter", "1/4 history")):
            ratio = median[(history, "cli")] / plain[history]
            Table.row(f"`update` after 10 commits ({label})", seconds(median[(history, "cli")]),
                      seconds(plain[history]), f"{ratio:.2f}x{verdict(ratio, TARGETS['update'])}",
                      f"≤ {TARGETS['update']}x")
        growth = median[("full", "cli")] / median[("quarter", "cli")]
        Table.row("`update` growth with history: full / (1/4)",
                  f"{seconds(median[('full', 'cli')])} / {seconds(median[('quarter', 'cli')])}",
                  f"{seconds(plain['full'])} / {seconds(plain['quarter'])}",
                  f"{growth:.2f}x (git {plain['full'] / plain['quarter']:.2f}x)"
                  f"{verdict(growth, TARGETS['growth'])}", "≈ 1x")
        self.api.update(update=median[("full", "api")], update_quarter=median[("quarter", "api")])
        self.git_times.update(update=plain["full"], update_quarter=plain["quarter"],
                              update_cli=median[("full", "cli")])
        return sources["full"], stores["full"]

    def chain_growth(self, source: Path, store: Path) -> None:
        """Update again once the store holds `--chain` more links (a daily update, for months)."""
        from devkit.bundle.snapshot import update_store

        short = len(list(store.glob("link-*.json")))
        progress(f"update with a long chain: adding {self.chain} one-commit links to the store")
        started = time.perf_counter()
        for n in range(self.chain):
            tree = git(source, "rev-parse", "main^{tree}").strip()
            commit = git(source, "commit-tree", tree, "-p", "main", "-m", f"chain {n}").strip()
            git(source, "update-ref", "refs/heads/main", commit)
            update_store(source, store)
        progress(f"  {self.chain} links added in {time.perf_counter() - started:.1f} s")
        cli, api, plain = [], [], []
        for attempt in range(self.repeat):
            for use_api, times in ((False, cli), (True, api)):
                mine, theirs = self._update_round(attempt, source, store, use_api)
                times.append(mine)
                plain.append(theirs)
            progress(f"  run {attempt + 1}: devkit {cli[-1]:.3f} s, API {api[-1]:.3f} s, "
                     f"git {plain[-1]:.3f} s")
        links = len(list(store.glob("link-*.json")))
        mine, theirs = statistics.median(cli), statistics.median(plain)
        ratio = mine / theirs
        Table.row(f"`update` after 10 commits (full history, store of {links} links)",
                  seconds(mine), seconds(theirs),
                  f"{ratio:.2f}x{verdict(ratio, TARGETS['update'])}", f"≤ {TARGETS['update']}x")
        growth = mine / self.git_times["update_cli"]
        Table.row(f"`update` growth with chain length: {links} / ≤{short} links",
                  f"{seconds(mine)} / {seconds(self.git_times['update_cli'])}",
                  f"{seconds(theirs)} / {seconds(self.git_times['update'])}",
                  f"{growth:.2f}x (git {theirs / self.git_times['update']:.2f}x)"
                  f"{verdict(growth, TARGETS['growth'])}", "≈ 1x")
        self.api["update_chain"] = statistics.median(api)
        self.git_times["update_chain"] = theirs
        self.api["chain_links"] = links

    # verify ------------------------------------------------------------------------------

    def verify(self, source: Path, store: Path) -> None:
        from devkit.bundle.verify import verify_path

        bundles = sorted(store.glob("link-*.bundle"))
        total = sum(path.stat().st_size for path in bundles)
        progress(f"verify: {len(bundles)} bundle files, {total / 1e6:.1f} MB")
        cli, api, plain = [], [], []
        for _ in range(self.repeat):
            cli.append(timed(lambda: devkit("verify", "-q", str(store))))
            started = time.perf_counter()
            report = verify_path(store)
            api.append(time.perf_counter() - started)
            if not report.ok:
                sys.exit(f"bench: verify found problems: {report.problems}")
            # git checks only the header and that the prerequisites are in a repository.
            plain.append(timed(lambda: [git(source, "bundle", "verify", "-q", str(path))
                                        for path in bundles]))
        rate = total / statistics.median(cli) / 1e6
        Table.row(f"`verify` whole store ({len(bundles)} files, {total / 1e6:.1f} MB)",
                  f"{seconds(statistics.median(cli))} = {rate:.0f} MB/s",
                  f"{seconds(statistics.median(plain))} (`git bundle verify`¹)",
                  f"{rate:.0f} MB/s{verdict(rate, TARGETS['verify_mbps'], at_least=True)}",
                  f"≥ {TARGETS['verify_mbps']:.0f} MB/s")
        self.api["verify"] = statistics.median(api)
        self.api["verify_bytes"] = total

    # apply -------------------------------------------------------------------------------

    def _target_without_last(self, store: Path, name: str, start: Path | None = None) -> Path:
        """A target that has applied every link of `store` but the last (from a copy of
        `start`, which holds a prefix of the chain, when given)."""
        from devkit.bundle.apply import apply_store

        last = sorted(store.glob("link-*.json"))[-1]
        previous_store = self.fresh("store-previous")
        previous_store.mkdir()
        for path in store.iterdir():
            if path.name.startswith("link-") and path.stem != last.stem:
                os.link(path, previous_store / path.name)
        target = self.fresh(name)
        if start:
            copy_tree(start, target)
        started = time.perf_counter()
        apply_store(previous_store, target)
        shutil.rmtree(previous_store)
        progress(f"  target {name} prepared in {time.perf_counter() - started:.1f} s")
        return target

    def _apply_last(self, store: Path, base: Path) -> tuple[float, float, float]:
        """Median times of applying the last link into copies of `base`: CLI, API, git."""
        from devkit.bundle.apply import apply_store

        manifests = sorted(store.glob("link-*.json"))
        last, before = manifests[-1], manifests[-2]
        last_bundle = last.with_suffix(".bundle")
        old_refs, new_refs = _manifest_refs(before), _manifest_refs(last)
        transaction = "".join(
            [f"update {name} {oid}\n" for name, oid in sorted(new_refs.items())
             if old_refs.get(name) != oid]
            + [f"delete {name}\n" for name in sorted(old_refs.keys() - new_refs.keys())])
        progress(f"apply link {len(manifests)} ({last_bundle.stat().st_size / 1e3:.0f} kB) vs "
                 f"`git fetch` of it, {self.repeat} runs each")
        cli, api, plain = [], [], []
        for attempt in range(self.repeat):
            targets = {name: self.fresh(f"target-{name}.git") for name in ("cli", "api", "git")}
            for target in targets.values():
                copy_tree(base, target)
            mine, theirs = self.pair(
                attempt,
                lambda t=targets["cli"]: devkit("apply", "-q", str(store), "--repo", str(t)),
                lambda t=targets["git"]: fetch_like_apply(t, [last_bundle], transaction))
            cli.append(mine)
            plain.append(theirs)
            api.append(timed(lambda t=targets["api"]: apply_store(store, t)))
            listings = {git(t, "for-each-ref", "--format=%(objectname) %(refname)")
                        for t in targets.values()}
            if len(listings) != 1:
                progress("  WARNING: devkit's and git's targets ended with different refs")
            progress(f"  run {attempt + 1}: devkit {cli[-1]:.3f} s, API {api[-1]:.3f} s, "
                     f"git {plain[-1]:.3f} s")
        for name in ("cli", "api", "git"):
            self.fresh(f"target-{name}.git")
        return statistics.median(cli), statistics.median(api), statistics.median(plain)

    def apply(self, store: Path) -> Path:
        manifests = sorted(store.glob("link-*.json"))
        progress(f"apply: preparing a target holding links 1..{len(manifests) - 1}")
        base = self._target_without_last(store, "target-base.git")
        cli, api, plain = self._apply_last(store, base)
        ratio = cli / plain
        Table.row("`apply` one incremental link (10 commits)", seconds(cli), seconds(plain),
                  f"{ratio:.2f}x{verdict(ratio, TARGETS['apply'])}", f"≤ {TARGETS['apply']}x")
        self.git_times.update(apply=plain, apply_cli=cli)
        self.api["apply"] = api

        progress(f"apply the whole store ({len(manifests)} links) into a new repository vs "
                 f"`git init` and `git fetch` of each bundle, {self.repeat} runs each")
        bundles = [path.with_suffix(".bundle") for path in manifests]
        final = "".join(f"update {name} {oid}\n"
                        for name, oid in sorted(_manifest_refs(manifests[-1]).items()))
        cli_times, plain_times = [], []
        for attempt in range(self.repeat):
            devkit_target = self.fresh("target-cli.git")
            git_target = self.fresh("target-git.git")

            def git_run(target=git_target) -> None:
                run(["git", "init", "-q", "--bare", str(target)])
                fetch_like_apply(target, bundles, final)

            mine, theirs = self.pair(
                attempt,
                lambda t=devkit_target: devkit("apply", "-q", str(store), "--repo", str(t)),
                git_run)
            cli_times.append(mine)
            plain_times.append(theirs)
            progress(f"  run {attempt + 1}: devkit {mine:.2f} s, git {theirs:.2f} s")
        cli, plain = statistics.median(cli_times), statistics.median(plain_times)
        ratio = cli / plain
        Table.row(f"`apply` whole store into a new repository ({len(manifests)} links)",
                  seconds(cli), seconds(plain),
                  f"{ratio:.2f}x{verdict(ratio, TARGETS['apply'])}", f"≤ {TARGETS['apply']}x")
        for name in ("cli", "git"):
            self.fresh(f"target-{name}.git")
        return base

    def apply_chain(self, long_store: Path, base: Path) -> None:
        """Apply one link of the long chain into a target that has the others."""
        links = len(list(long_store.glob("link-*.json")))
        progress(f"apply with a long chain: preparing a target holding links 1..{links - 1}")
        long_base = self._target_without_last(long_store, "target-long.git", start=base)
        cli, api, plain = self._apply_last(long_store, long_base)
        ratio = cli / plain
        Table.row(f"`apply` one incremental link (store of {links} links)", seconds(cli),
                  seconds(plain), f"{ratio:.2f}x{verdict(ratio, TARGETS['apply'])}",
                  f"≤ {TARGETS['apply']}x")
        short_cli, short_git = self.git_times["apply_cli"], self.git_times["apply"]
        growth = cli / short_cli
        Table.row(f"`apply` growth with chain length: {links} / {self.api['short_links']} links",
                  f"{seconds(cli)} / {seconds(short_cli)}",
                  f"{seconds(plain)} / {seconds(short_git)}",
                  f"{growth:.2f}x (git {plain / short_git:.2f}x)"
                  f"{verdict(growth, TARGETS['growth'])}", "≈ 1x")
        self.api["apply_chain"] = api
        self.git_times["apply_chain"] = plain
        self.fresh("target-long.git")

    # start-up ----------------------------------------------------------------------------

    def startup(self) -> float:
        times = [timed(lambda: run([sys.executable, "-m", "devkit", "--version"], cwd=ROOT))
                 for _ in range(max(5, self.repeat))]
        bare = [timed(lambda: run([sys.executable, "-c", "pass"])) for _ in range(5)]
        self.api["python"] = statistics.median(bare)
        return statistics.median(times)

    def api_table(self, startup: float) -> None:
        table = Table("Through the Python API (no interpreter start-up or imports), against the "
                      "same git times:", ["operation", "devkit API", "git", "ratio", "target"])
        rows = [
            ("`create`", self.api["create"], self.git_times["create"], TARGETS["create"]),
            ("`update` after 10 commits (full history)", self.api["update"],
             self.git_times["update"], TARGETS["update"]),
            ("`update` after 10 commits (1/4 history)", self.api["update_quarter"],
             self.git_times["update_quarter"], TARGETS["update"]),
        ]
        if "update_chain" in self.api:
            rows.append((f"`update` after 10 commits (store of {self.api['chain_links']} links)",
                         self.api["update_chain"], self.git_times["update_chain"],
                         TARGETS["update"]))
        rows.append(("`apply` one incremental link", self.api["apply"], self.git_times["apply"],
                     TARGETS["apply"]))
        if "apply_chain" in self.api:
            rows.append((f"`apply` one incremental link (store of {self.api['chain_links']} "
                         "links)", self.api["apply_chain"], self.git_times["apply_chain"],
                         TARGETS["apply"]))
        for name, mine, theirs, target in rows:
            ratio = mine / theirs
            table.row(name, seconds(mine), seconds(theirs),
                      f"{ratio:.2f}x{verdict(ratio, target)}", f"≤ {target}x")
        growth = self.api["update"] / self.api["update_quarter"]
        table.row("`update` growth with history: full / (1/4)", "", "",
                  f"{growth:.2f}x{verdict(growth, TARGETS['growth'])}", "≈ 1x")
        if "update_chain" in self.api:
            growth = self.api["update_chain"] / self.api["update"]
            table.row("`update` growth with chain length", "", "",
                      f"{growth:.2f}x{verdict(growth, TARGETS['growth'])}", "≈ 1x")
        if "apply_chain" in self.api:
            growth = self.api["apply_chain"] / self.api["apply"]
            table.row("`apply` growth with chain length", "", "",
                      f"{growth:.2f}x{verdict(growth, TARGETS['growth'])}", "≈ 1x")
        rate = self.api["verify_bytes"] / self.api["verify"] / 1e6
        table.row("`verify` whole store", f"{seconds(self.api['verify'])} = {rate:.0f} MB/s", "",
                  f"{rate:.0f} MB/s{verdict(rate, TARGETS['verify_mbps'], at_least=True)}",
                  f"≥ {TARGETS['verify_mbps']:.0f} MB/s")
        table.row("CLI start-up: `python -m devkit --version`", seconds(startup), "", "", "")
        table.row("(bare interpreter: `python -c pass`)", seconds(self.api["python"]), "", "", "")


def fetch_like_apply(target: Path, bundles: list[Path], transaction: str) -> None:
    """What a user would run instead of `devkit bundle apply`: fetch each bundle's branches and
    tags, then set the refs a fetch cannot (deleted, and anything else recorded) in one
    `git update-ref --stdin` transaction."""
    for bundle in bundles:
        git(target, "fetch", "-q", "--no-write-fetch-head", str(bundle),
            "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
    if transaction:
        git(target, "update-ref", "--stdin", input=transaction.encode())


def _manifest_refs(manifest: Path) -> dict[str, str]:
    return json.loads(manifest.read_text())["refs"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=20000)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chain", type=int, default=100,
                        help="links to add before timing `update` on a long chain (0: skip)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work",
                        help="where the generated repositories are cached (default: bench-work/)")
    args = parser.parse_args()
    if args.commits < 100 or args.files < 10 or args.repeat < 1 or args.chain < 0:
        parser.error("need --commits >= 100, --files >= 10, --repeat >= 1, --chain >= 0")
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    scrub_environment(work / "home", work / "pycache")
    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()

    repo = build_repository(work, args.commits, args.files, args.seed)
    small = build_repository(work, max(args.commits // 4, 50), args.files, args.seed)
    run_dir = work / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir()
    facts = repo_facts(repo)
    small_facts = repo_facts(small)
    git_version = git(repo, "--version").strip()

    print("## devkit bundle vs git\n")
    print(f"- repository: {facts['commits']:,} commits, {facts['files']:,} files, "
          f"{facts['refs']} refs, {facts['objects']:,} objects, pack {facts['pack_mb']:.1f} MB "
          f"(1/4 history: {small_facts['commits']:,} commits, pack "
          f"{small_facts['pack_mb']:.1f} MB)")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"- machine: {os.cpu_count()} CPUs (nproc {usable}), "
          f"{git_version}, Python {sys.version.split()[0]}; median of {args.repeat} runs; "
          f"devkit through its CLI (`{Path(sys.executable).name} -m devkit bundle …`)",
          flush=True)

    devkit("--help")  # compile devkit's bytecode before anything is timed

    bench = Bench(args, run_dir, repo, small)
    Table("", ["operation", "devkit", "git", "ratio", "target"])
    store = bench.create()
    source, store = bench.update(store)
    # verify and apply use the store as it is now; the chain measurement lengthens a copy.
    long_store = bench.fresh("store-long")
    shutil.copytree(store, long_store, copy_function=os.link,
                    ignore=shutil.ignore_patterns(".lock"))
    if args.chain:
        bench.chain_growth(source, long_store)
    bench.verify(source, store)
    bench.api["short_links"] = len(list(store.glob("link-*.json")))
    base = bench.apply(store)
    if args.chain:
        bench.apply_chain(long_store, base)
    print("\n¹ `git bundle verify` only parses the header and checks the prerequisites in a "
          "repository; it does not read the pack. devkit checks every byte offline (SHA-256 of "
          "the file, the pack's trailing checksum).\n\n"
          "git equivalents: `create` is `git bundle create X --all`; `update` is `git bundle "
          "create X main <new tag> --not <every previous ref tip>`; `apply` is `git fetch` of "
          "the bundle's branches and tags into a copy of the same target, plus one `git "
          "update-ref --stdin` of the link's changed refs. Long-chain rows first add "
          f"{args.chain} one-commit links to a copy of the store (a daily update for months).",
          flush=True)
    progress("measuring CLI start-up")
    bench.api_table(bench.startup())
    print(f"\n(total benchmark time {time.perf_counter() - started:.0f} s)", flush=True)
    shutil.rmtree(run_dir)


if __name__ == "__main__":
    main()
