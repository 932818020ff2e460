"""Killing `create`, `update` or `apply` at any point never leaves a state the rerun cannot finish.

The crash sweeps run the real CLI with DEVKIT_TEST_CRASH_AT=N (see `filesafety.crash_point`),
for N = 1, 2, 3, ... until the command completes: every crash point is hit once. After each
kill the store and target must be consistent (every visible link verifies, every ref of the
target is at its old or its new value); then the same command, run again without the variable,
must complete and leave a store that verifies and applies to an exact copy of the source.
A time-based test also kills `update` at moments spread over its run, wherever they fall.
"""

import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest

import devkit
from devkit.bundle.apply import apply_store
from devkit.bundle.gitrepo import open_repository
from devkit.bundle.refstate import Head, RefState, read_ref_state
from devkit.bundle.snapshot import create_store, update_store
from devkit.bundle.store import LOCK_FILE, BundleStore
from devkit.bundle.target import LOCK_FILE as TARGET_LOCK_FILE
from devkit.bundle.target import read_record
from devkit.bundle.verify import verify_path
from devkit.filesafety import TEMP_PREFIX, write_atomically
from tests.bundle.gitrepos import SourceRepo, assert_same_repository, git

PROJECT_ROOT = Path(devkit.__file__).resolve().parent.parent
KILLED = -signal.SIGKILL
# The HEAD of a repository `apply` has just created: `git init` with the test's
# init.defaultBranch (tests/conftest.py).
NEW_REPOSITORY_HEAD = Head(symref="refs/heads/main")


def _environment(crash_at: int | None) -> dict[str, str]:
    env = dict(os.environ)  # HOME, GIT_* as the autouse fixture set them
    env.pop("DEVKIT_TEST_CRASH_AT", None)
    if crash_at is not None:
        env["DEVKIT_TEST_CRASH_AT"] = str(crash_at)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                      env.get("PYTHONPATH")]))
    return env


def _command(args: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-m", "devkit", "bundle", *args]


def devkit_bundle(*args: str, crash_at: int | None = None) -> subprocess.CompletedProcess:
    """Run `devkit bundle ARGS` in a subprocess, killed at crash point `crash_at` if given."""
    return subprocess.run(_command(args), env=_environment(crash_at), capture_output=True,
                          text=True, errors="replace", timeout=120, check=False)


def start_devkit_bundle(*args: str, crash_at: int | None = None) -> subprocess.Popen:
    return subprocess.Popen(_command(args), env=_environment(crash_at),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def sweep(args: tuple[str, ...], reset: Callable[[], None], after_kill: Callable[[int], None],
          completed: Callable[[], None]) -> int:
    """Kill `devkit bundle ARGS` at crash point 1, 2, ... until it completes; return how many.

    Before each run `reset` restores the starting state. After a kill `after_kill(n)` checks
    what the killed run left; the same command then runs again without crashing, and
    `completed` checks the result (also after the final, uninterrupted run).
    """
    for n in count(1):
        assert n < 100, "the crash sweep does not end"
        reset()
        killed = devkit_bundle(*args, crash_at=n)
        if killed.returncode == 0:
            completed()
            return n - 1
        assert killed.returncode == KILLED, f"crash point {n}: {killed.stderr}"
        after_kill(n)
        rerun = devkit_bundle(*args)
        assert rerun.returncode == 0, f"rerun after crash point {n}: {rerun.stderr}"
        completed()
    raise AssertionError("unreachable")


def store_files(store: Path) -> dict[str, bytes]:
    """The link files of a store and their contents."""
    return {path.name: path.read_bytes() for path in sorted(store.glob("link-*"))}


def leftovers(store: Path) -> list[str]:
    return sorted(path.name for path in store.glob(".tmp-*"))


def source_state(source: Path) -> RefState:
    return read_ref_state(open_repository(source))


def assert_store_holds(store: Path, links: int, source: Path) -> None:
    """The store verifies, has exactly `links` links, and the last one is the source's state."""
    report = verify_path(store)
    assert report.ok, report.problems
    chain = BundleStore(store).links()
    assert len(chain) == links
    assert chain[-1].state == source_state(source)


def target_record(target: Path) -> str | None:
    """The sequence the target records having applied, None when it records none."""
    if not target.exists():
        return None
    sequence = read_record(open_repository(target)).sequence
    return str(sequence) if sequence else None


def assert_between(target: Path, before: RefState | None, before_record: str | None,
                   after: RefState, after_record: str) -> None:
    """Every ref and HEAD of `target` is at its value before or after the apply; no ref dangles.

    `before` None: the target did not exist, and may still not.
    """
    if before is None and not target.exists():
        return
    now = read_ref_state(open_repository(target), include_remotes=True, include_stash=True)
    old = before.refs if before else {}
    for name in sorted(now.refs.keys() | old.keys() | after.refs.keys()):
        assert now.refs.get(name) in (old.get(name), after.refs.get(name)), name
    assert now.head in (before.head if before else NEW_REPOSITORY_HEAD, after.head)
    assert target_record(target) in (before_record, after_record)
    git(target, "fsck", "--no-dangling")


def random_file(path: Path, size: int, seed: int) -> None:
    """Incompressible content, so that the pack is large enough to be written in chunks."""
    path.write_bytes(random.Random(seed).randbytes(size))


@dataclass
class Scenario:
    """A source and a store at its first state (link 1), then the source changed for link 2.

    Link 2 deletes a branch and a tag, creates `a/b` where `a` was (and `v1/rc` where `v1` was),
    moves, rewinds and adds refs, tags an old commit, and switches HEAD.
    """

    root: Path
    source: SourceRepo
    store1: Path  # link 1 only
    store2: Path  # links 1 and 2
    target1: Path  # a target that applied link 1

    @property
    def paths(self) -> tuple[str, str]:
        return str(self.source.path), str(self.root / "store")


def make_scenario(root: Path) -> Scenario:
    repo = SourceRepo(root / "source")
    random_file(repo.path / "big1.bin", 2_500_000, 1)
    repo.git("add", "big1.bin")
    first = repo.commit("big")
    second = repo.commit()
    repo.commit()
    repo.git("branch", "a", second)
    repo.git("branch", "topic", first)
    repo.git("tag", "v1", first)
    repo.git("tag", "-a", "-m", "version 2", "v2")
    create_store(repo.path, root / "store1")
    apply_store(root / "store1", root / "target1")

    repo.git("switch", "-q", "topic")
    random_file(repo.path / "big2.bin", 1_500_000, 2)
    repo.git("add", "big2.bin")
    repo.commit("big too")
    repo.commit()
    repo.git("branch", "-D", "a")
    repo.git("branch", "a/b", "HEAD~1")
    repo.git("tag", "-d", "v1")
    repo.git("tag", "-a", "-m", "old", "v1/rc", first)
    repo.git("branch", "-f", "main", "main~1")
    shutil.copytree(root / "store1", root / "store2")
    update_store(repo.path, root / "store2")
    return Scenario(root, repo, root / "store1", root / "store2", root / "target1")


@pytest.fixture
def scenario(tmp_path) -> Scenario:
    return make_scenario(tmp_path)


def reset_to(copy: Path, work: Path) -> Callable[[], None]:
    def reset() -> None:
        shutil.rmtree(work, ignore_errors=True)
        if copy.exists():
            shutil.copytree(copy, work, symlinks=True)
    return reset


@pytest.mark.slow
def test_create_killed_at_any_point_completes_on_rerun(scenario):
    source, store = scenario.source.path, scenario.root / "store"
    checked = scenario.root / "checked"

    def after_kill(n: int) -> None:
        if BundleStore(store).manifest_paths():
            assert_store_holds(store, 1, source)

    def completed() -> None:
        assert_store_holds(store, 1, source)
        assert leftovers(store) == []
        shutil.rmtree(checked, ignore_errors=True)
        apply_store(store, checked)
        assert_same_repository(source, checked)

    points = sweep(("create", "--repo", *scenario.paths), reset_to(scenario.root / "none", store),
                   after_kill, completed)
    # The pack (over 2 MiB) is written in several chunks, each a crash point, and the bundle
    # and the manifest each pass three points of their atomic write.
    assert points >= 8


@pytest.mark.slow
def test_update_killed_at_any_point_completes_on_rerun(scenario):
    source, store = scenario.source.path, scenario.root / "store"
    link1 = store_files(scenario.store1)
    target = scenario.root / "target"

    def after_kill(n: int) -> None:
        assert {name: data for name, data in store_files(store).items() if name in link1} == link1
        chain = BundleStore(store).links()
        assert len(chain) in (1, 2)
        report = verify_path(store)
        assert report.ok, report.problems
        if len(chain) == 2:
            assert chain[-1].state == source_state(source)

    def completed() -> None:
        assert_store_holds(store, 2, source)
        assert leftovers(store) == []
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(scenario.target1, target, symlinks=True)
        apply_store(store, target)
        assert_same_repository(source, target)
        shutil.rmtree(target)
        apply_store(store, target)
        assert_same_repository(source, target)

    points = sweep(("update", "--repo", *scenario.paths), reset_to(scenario.store1, store),
                   after_kill, completed)
    assert points >= 8


@pytest.mark.slow
@pytest.mark.parametrize("start", ["missing", "at-link-1"])
def test_apply_killed_at_any_point_completes_on_rerun(scenario, start):
    source, store, target = scenario.source.path, scenario.store2, scenario.root / "target"
    store_before = store_files(store)
    final = BundleStore(store).links()[-1].state
    if start == "missing":
        before, before_record, reset = None, None, reset_to(scenario.root / "none", target)
    else:
        before = read_ref_state(open_repository(scenario.target1), True, True)
        before_record = target_record(scenario.target1)
        assert before_record == "1"
        reset = reset_to(scenario.target1, target)

    def after_kill(n: int) -> None:
        assert store_files(store) == store_before
        assert_between(target, before, before_record, final, "2")

    def completed() -> None:
        assert store_files(store) == store_before
        assert_same_repository(source, target)
        assert target_record(target) == "2"
        assert apply_store(store, target).up_to_date

    points = sweep(("apply", str(store), "--repo", str(target)), reset, after_kill, completed)
    # missing: creating the target, indexing links 1 and 2, the ref transaction (before and
    # after), the record. at-link-1: indexing link 2, the deletions that free `a` and `v1`
    # first, then the rest (before and after each), the record.
    assert points >= 6


@pytest.mark.slow
def test_apply_killed_at_any_point_then_a_new_link_arrives_completes_on_rerun(scenario):
    """The rerun of a killed apply finds the store one link further on, and applies it.

    Between a kill and its rerun the store may grow (it is synced by other means); the refs
    the killed run already moved to link 2's values are not "changed locally".
    """
    source, store, target = scenario.source.path, scenario.root / "store", scenario.root / "target"
    scenario.source.commit()
    scenario.source.git("branch", "-f", "a/b", "HEAD")
    store3 = scenario.root / "store3"
    shutil.copytree(scenario.store2, store3)
    update_store(source, store3)
    link3 = {name: data for name, data in store_files(store3).items() if "0003" in name}
    reset_store, reset_target = reset_to(scenario.store2, store), reset_to(scenario.target1, target)

    def reset() -> None:
        reset_store()
        reset_target()

    def after_kill(n: int) -> None:
        for name, data in link3.items():
            (store / name).write_bytes(data)

    def completed() -> None:
        links = BundleStore(store).links()
        if len(links) == 3:
            assert_same_repository(source, target)
        else:  # the run that reached no crash point: it applied link 2
            now = read_ref_state(open_repository(target), True, True)
            assert (now.refs, now.head) == (links[-1].state.refs, links[-1].state.head)
        assert target_record(target) == str(len(links))

    points = sweep(("apply", str(store), "--repo", str(target)), reset, after_kill, completed)
    assert points >= 6


def test_stale_store_lock_of_a_killed_update_does_not_block_the_rerun(scenario):
    source, store = scenario.source.path, scenario.root / "store"
    reset_to(scenario.store1, store)()
    killed = start_devkit_bundle("update", "--repo", *scenario.paths, crash_at=1)
    assert killed.wait(timeout=120) == KILLED, killed.stderr.read()
    killed.stderr.close()

    lock = store / LOCK_FILE
    assert f"(pid {killed.pid} on " in lock.read_text()  # left naming the dead holder
    assert_lock_free(lock)
    rerun = devkit_bundle("update", "--repo", *scenario.paths)
    assert rerun.returncode == 0, rerun.stderr
    assert_store_holds(store, 2, source)


def test_stale_target_lock_of_a_killed_apply_does_not_block_the_rerun(scenario):
    target = scenario.root / "target"
    reset_to(scenario.target1, target)()
    killed = start_devkit_bundle("apply", str(scenario.store2), "--repo", str(target),
                                 crash_at=1)
    assert killed.wait(timeout=120) == KILLED, killed.stderr.read()
    killed.stderr.close()

    lock = target / TARGET_LOCK_FILE
    assert f"(pid {killed.pid} on " in lock.read_text()
    assert_lock_free(lock)
    rerun = devkit_bundle("apply", str(scenario.store2), "--repo", str(target))
    assert rerun.returncode == 0, rerun.stderr
    assert_same_repository(scenario.source.path, target)


def test_apply_killed_while_creating_the_target_leaves_nothing_beside_it(scenario):
    """The scratch repository a killed `apply` was preparing does not stay beside the target.

    A missing target is made as `.NAME.devkit-init-*/repo` next to it and renamed into place; a
    kill before the rename leaves that folder, and the rerun must not leave it behind for good.
    """
    folder = scenario.root / "mirrors"
    folder.mkdir()
    args = ("apply", str(scenario.store2), "--repo", str(folder / "project.git"))
    killed = devkit_bundle(*args, crash_at=1)  # before moving the new target into place
    assert killed.returncode == KILLED, killed.stderr
    assert [path.name.startswith(".project.git.devkit-init-") for path in folder.iterdir()] \
        == [True]

    rerun = devkit_bundle(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert_same_repository(scenario.source.path, folder / "project.git")
    assert sorted(path.name for path in folder.iterdir()) == ["project.git"]


def assert_lock_free(lock: Path) -> None:
    with open(lock, "rb") as stream:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError if held
        fcntl.flock(stream.fileno(), fcntl.LOCK_UN)


def fast_import_history(repo: Path, commits: int, blob_size: int) -> None:
    """Append `commits` commits, each changing one of 400 files, to main with git fast-import."""
    rng = random.Random(3)
    stream = [b"reset refs/heads/main\nfrom refs/heads/main^0\n\n"]
    for i in range(1, commits + 1):
        data = rng.randbytes(blob_size)
        stream.append(b"blob\nmark :%d\ndata %d\n%s\n" % (i, len(data), data))
    for i in range(1, commits + 1):
        message = b"bulk %d" % i
        stream.append(b"commit refs/heads/main\ncommitter Ada <ada@example.invalid> %d +0000\n"
                      b"data %d\n%s\nM 644 :%d d%d/f%d\n\n"
                      % (1767225600 + i, len(message), message, i, i % 50, i % 400))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream),
                   capture_output=True, check=True)


@pytest.mark.slow
def test_update_killed_at_moments_spread_over_its_run_completes_on_rerun(tmp_path):
    """SIGKILL at 10 moments of a real update (pack-objects of ~30000 objects), then rerun."""
    repo = SourceRepo(tmp_path / "source")
    repo.commit()
    pristine, store, target = tmp_path / "pristine", tmp_path / "store", tmp_path / "target"
    create_store(repo.path, pristine)
    apply_store(pristine, tmp_path / "target1")
    fast_import_history(repo.path, 8000, 400)
    args = ("update", "--repo", str(repo.path), str(store))

    reset_to(pristine, store)()
    started = time.monotonic()
    assert devkit_bundle(*args).returncode == 0
    runtime = time.monotonic() - started

    kills = mid_pack = 0
    for i in range(10):
        reset_to(pristine, store)()
        process = start_devkit_bundle(*args)
        time.sleep(runtime * (i + 0.5) / 10)
        process.kill()
        status = process.wait(timeout=120)
        process.stderr.close()
        assert status in (0, KILLED)
        kills += status == KILLED
        mid_pack += bool(leftovers(store))
        report = verify_path(store)
        assert report.ok, report.problems

        rerun = devkit_bundle(*args)
        assert rerun.returncode == 0, f"rerun after a kill at {i}: {rerun.stderr}"
        assert_store_holds(store, 2, repo.path)
        assert leftovers(store) == []
        reset_to(tmp_path / "target1", target)()
        apply_store(store, target)
        assert_same_repository(repo.path, target)
    assert kills >= 5
    assert mid_pack >= 1  # at least one kill fell while the bundle was being written


def test_an_atomic_write_does_not_follow_a_symlink_planted_at_its_temporary_name(tmp_path):
    """In a shared folder another user may plant a symlink where the temporary file goes."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"not yours\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / f"{TEMP_PREFIX}{os.getpid()}-link-0001.json").symlink_to(elsewhere)
    write_atomically(shared / "link-0001.json", lambda stream: stream.write(b"{}\n"))
    assert elsewhere.read_bytes() == b"not yours\n"
    assert not (shared / "link-0001.json").is_symlink()
    assert (shared / "link-0001.json").read_bytes() == b"{}\n"
    assert leftovers(shared) == []
