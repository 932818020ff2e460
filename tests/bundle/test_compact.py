"""`devkit bundle compact`: the chain folded to at most N links, every receiver still served.

A store of eight links carrying every kind of ref change is compacted; targets that applied a
link before the new base, the link the base replaces, a link after it, and none at all must all
reach the source's exact state, with plain git reading the base too. A kill at any crash point
must leave a valid store that the rerun finishes.
"""

import json
import shutil
from pathlib import Path

import pytest

from devkit.bundle.apply import ApplyRefused, apply_store
from devkit.bundle.compact import compact_store
from devkit.bundle.gitrepo import open_repository
from devkit.bundle.publish import publish_store
from devkit.bundle.snapshot import create_store, update_store
from devkit.bundle.store import BundleStore, StoreError
from devkit.bundle.target import RECORD_KEY
from devkit.bundle.verify import LinkFileError, verify_path
from tests.bundle.gitrepos import SourceRepo, assert_same_repository, git, ref_listing
from tests.bundle.test_cli import assert_one_line_error, invoke, run
from tests.bundle.test_crash import KILLED, devkit_bundle, leftovers, reset_to, store_files


def grow(repo: SourceRepo, store: Path, step: int) -> None:
    """Change the source in the `step`-th way and append a link."""
    changes = [
        lambda: repo.commit(),
        lambda: repo.git("tag", "-a", "-m", "release", "v1"),
        lambda: repo.git("branch", "topic", "HEAD~1"),        # a new branch on an old commit
        lambda: repo.git("switch", "-q", "topic"),            # HEAD moves to another branch
        lambda: repo.git("branch", "-f", "main", "main~1"),   # main rewound
        lambda: repo.git("tag", "-d", "v1"),                  # a tag deleted
        lambda: repo.git("tag", "v1/rc", "HEAD~1"),           # where v1 was, v1/rc
    ]
    changes[step % len(changes)]()
    repo.commit()
    assert update_store(repo.path, store).link is not None


@pytest.fixture
def chain(tmp_path):
    """A store of 8 links; targets that applied links 2, 6 and 7."""
    repo = SourceRepo(tmp_path / "src")
    repo.commit()
    repo.commit()
    store = tmp_path / "store"
    create_store(repo.path, store)
    targets = {}
    for step in range(7):
        grow(repo, store, step)
        sequence = step + 2
        if sequence in (2, 6, 7):
            targets[sequence] = tmp_path / f"at-{sequence}.git"
            apply_store(store, targets[sequence])
    return repo, store, targets


def names(store: Path) -> list[str]:
    return sorted(path.name for path in store.iterdir() if path.name.startswith("link-"))


def test_compact_folds_the_oldest_links_into_a_base_every_receiver_can_go_on_from(chain,
                                                                                tmp_path):
    repo, store, targets = chain
    size_before = sum(path.stat().st_size for path in store.glob("link-*.bundle"))
    result = compact_store(store, keep=3)

    assert (list(result.before), list(result.after)) == (list(range(1, 9)), [6, 7, 8])
    assert names(store) == ["link-0006-base.bundle", "link-0006-base.json", "link-0007.bundle",
                            "link-0007.json", "link-0008.bundle", "link-0008.json"]
    assert sorted(result.removed) == sorted(
        [f"link-{n:04d}.{kind}" for n in range(1, 7) for kind in ("json", "bundle")])
    assert result.freed > 0 and result.freed >= size_before - sum(
        path.stat().st_size for path in store.glob("link-*.bundle"))
    assert verify_path(store).ok

    base, *rest = BundleStore(store).links()
    assert (base.sequence, base.prerequisites, base.compacted) == (6, [], True)
    assert [link.sequence for link in rest] == [7, 8]

    # Plain git reads the base on its own: a clone of it is link 6's state.
    clone = tmp_path / "clone.git"
    git(tmp_path, "clone", "-q", "--mirror", str(store / base.bundle_file), str(clone))
    assert {name: oid for oid, _, name in (line.split() for line in
            ref_listing(clone).splitlines())} == base.state.refs
    assert git(clone, "rev-parse", "HEAD").strip() == base.state.head_oid()

    # Targets before, at and after the base, and a new one, all reach the source's state.
    plans = {sequence: apply_store(store, target) for sequence, target in targets.items()}
    assert [link.sequence for link in plans[2].links] == [6, 7, 8]   # from the base
    assert [link.sequence for link in plans[6].links] == [7, 8]
    assert [link.sequence for link in plans[7].links] == [8]
    fresh = tmp_path / "fresh.git"
    assert [link.sequence for link in apply_store(store, fresh).links] == [6, 7, 8]
    for target in [*targets.values(), fresh]:
        assert_same_repository(repo.path, target)

    # The chain goes on: an update follows the compacted chain, and every target takes it.
    grow(repo, store, 0)
    for target in [*targets.values(), fresh]:
        assert [link.sequence for link in apply_store(store, target).links] == [9]
        assert_same_repository(repo.path, target)
    assert verify_path(store).ok


def test_compact_again_and_down_to_one_link(chain, tmp_path):
    repo, store, targets = chain
    compact_store(store, keep=3)
    again = compact_store(store, keep=3)
    assert (again.base, again.removed) == (None, [])  # nothing to fold, nothing left over
    grow(repo, store, 0)
    result = compact_store(store, keep=1)
    assert list(result.after) == [9]
    assert names(store) == ["link-0009-base.bundle", "link-0009-base.json"]
    assert result.base.state.refs == BundleStore(store).links()[0].state.refs
    grow(repo, store, 0)  # link 10 follows a base that is the newest link
    assert verify_path(store).ok
    for target in [*targets.values(), tmp_path / "fresh.git"]:
        apply_store(store, target)
        assert_same_repository(repo.path, target)


def test_a_store_short_enough_is_left_as_it_is(chain):
    _, store, _ = chain
    before = store_files(store)
    assert compact_store(store, keep=8).base is None
    assert store_files(store) == before


def test_a_corrupt_link_stops_compaction_before_anything_changes(chain):
    _, store, _ = chain
    bundle = store / "link-0003.bundle"
    data = bytearray(bundle.read_bytes())
    data[-30] ^= 0xFF
    bundle.write_bytes(bytes(data))
    before = store_files(store)
    with pytest.raises(LinkFileError, match=r"link-0003\.bundle"):
        compact_store(store, keep=2)
    assert store_files(store) == before
    assert leftovers(store) == []


def test_a_target_whose_recorded_link_was_compacted_away_and_whose_refs_changed_is_refused(
        chain):
    repo, store, targets = chain
    target = targets[2]
    git(target, "branch", "local-work", "main")  # a local change
    compact_store(store, keep=3)
    with pytest.raises(ApplyRefused, match="compacted past link 2"):
        apply_store(store, target)
    apply_store(store, target, force=True)
    assert_same_repository(repo.path, target)


def test_a_record_without_refs_digest_behind_the_base_needs_force(chain):
    """Records written before the digest existed name only the link: past a compaction the
    target's refs cannot be told apart from local changes, so apply asks for --force."""
    repo, store, targets = chain
    target = targets[2]
    identity = BundleStore(store).link(1).identity
    git(target, "config", RECORD_KEY, f"{identity} 2")
    compact_store(store, keep=3)
    with pytest.raises(ApplyRefused, match="--force"):
        apply_store(store, target)
    apply_store(store, target, force=True)
    assert_same_repository(repo.path, target)


def test_sha256_store_compacts(tmp_path):
    git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(tmp_path / "src"))
    repo = SourceRepo(tmp_path / "src")  # git init again keeps the repository's format
    assert git(repo.path, "rev-parse", "--show-object-format").strip() == "sha256"
    repo.commit()
    store = tmp_path / "store"
    create_store(repo.path, store)
    for step in range(4):
        grow(repo, store, step)
    result = compact_store(store, keep=2)
    assert result.base.object_format == "sha256"
    assert (store / result.base.bundle_file).read_bytes().startswith(
        b"# v3 git bundle\n@object-format=sha256\n")
    apply_store(store, tmp_path / "fresh.git")
    assert_same_repository(repo.path, tmp_path / "fresh.git")


def test_compact_cli(chain):
    _, store, _ = chain
    before = store_files(store)
    dry = invoke("bundle", "compact", str(store), "--keep", "3", "--dry-run")
    assert dry.output.splitlines()[0] == ("links 1..6 would be folded into base link 6; the "
                                          "chain would be links 6..8")
    assert dry.output.splitlines()[1].startswith("would remove 12 superseded file(s), ")
    assert store_files(store) == before
    planned = json.loads(invoke("bundle", "compact", str(store), "--keep", "3", "-n",
                                "--json").output)
    assert (planned["dry_run"], planned["folded"], planned["after"]) == (True, [1, 2, 3, 4, 5, 6],
                                                                         [6, 7, 8])
    result = invoke("bundle", "compact", str(store), "--keep", "3")
    lines = result.output.splitlines()
    assert lines[0].startswith(f"links 1..6 folded into base link 6: {store}/link-0006-base."
                               f"bundle (")
    assert lines[1:] == ["the chain is now links 6..8",
                         lines[2]] and lines[2].startswith("removed 12 superseded file(s), ")
    data = json.loads(invoke("bundle", "compact", str(store), "--json").output)
    assert (data["before"], data["after"], data["base"], data["removed"]) == (
        [6, 7, 8], [6, 7, 8], None, [])
    listing = json.loads(invoke("bundle", "list", str(store), "--json").output)
    assert [(link["sequence"], link["base"]) for link in listing] == [
        (6, True), (7, False), (8, False)]


@pytest.mark.parametrize("args, fragments", [
    (("--keep", "0"), ("--keep", "0")),
    (("--keep", "x"), ("--keep", "x")),
])
def test_compact_cli_bad_keep(chain, args, fragments):
    _, store, _ = chain
    process = run("bundle", "compact", str(store), *args)
    assert process.returncode == 2, process.stderr
    assert all(fragment in process.stderr for fragment in fragments)


def test_compact_cli_missing_store(tmp_path):
    assert_one_line_error(run("bundle", "compact", str(tmp_path / "nothing")),
                          "not a bundle store")


def test_a_missing_link_is_reported_not_compacted_over(chain):
    _, store, _ = chain
    (store / "link-0004.json").unlink()
    with pytest.raises(StoreError, match="link 4 is missing"):
        compact_store(store, keep=2)


@pytest.mark.slow
@pytest.mark.parametrize("published", [False, True], ids=["plain", "published"])
def test_compact_killed_at_any_point_leaves_a_valid_store_and_the_rerun_finishes(chain,
                                                                               tmp_path,
                                                                               published):
    """With a bundle list in the store, every file it names exists after any kill (it is
    rewritten before the old files go), and the rerun leaves it current."""
    repo, store, targets = chain
    if published:
        publish_store(store, "https://example.org/project")
    original = tmp_path / "original"
    shutil.copytree(store, original)
    final_state = BundleStore(store).links()[-1].state
    reset = reset_to(original, store)
    points = 0
    for n in range(1, 100):
        reset()
        killed = devkit_bundle("compact", str(store), "--keep", "3", crash_at=n)
        if killed.returncode == 0:
            break
        assert killed.returncode == KILLED, f"crash point {n}: {killed.stderr}"
        points += 1
        # The store the kill left is valid: the old chain or the new one, leftovers aside.
        report = verify_path(store)
        assert report.ok, (n, report.problems)
        chain_now = BundleStore(store).links()
        assert [link.sequence for link in chain_now] in (list(range(1, 9)), [6, 7, 8])
        assert chain_now[-1].state == final_state
        target = tmp_path / f"target-{n}.git"
        shutil.copytree(targets[2], target)
        apply_store(store, target)  # a receiver can apply it as it is
        assert_same_repository(repo.path, target)
        rerun = devkit_bundle("compact", str(store), "--keep", "3")
        assert rerun.returncode == 0, (n, rerun.stderr)
        assert names(store)[0] == "link-0006-base.bundle" and len(names(store)) == 6, n
        assert leftovers(store) == []
        report = verify_path(store)
        assert report.ok and report.notes == [], (n, report.problems, report.notes)
    assert points >= 10  # indexing links, the base's atomic write, checks, each removal
    fresh = tmp_path / "fresh.git"
    apply_store(store, fresh)
    assert_same_repository(repo.path, fresh)
    assert open_repository(fresh).config_get(RECORD_KEY).split()[1] == "8"


def test_a_manifests_only_copy_is_not_compacted_over(chain, tmp_path):
    """A mirror that received only the manifests of a compacted store (its bundles are still to
    come) keeps every file it has: compact checks the chain's bundles before removing anything."""
    _, store, _ = chain
    mirror = tmp_path / "mirror"
    shutil.copytree(store, mirror)
    compact_store(store, keep=3)
    for manifest in store.glob("*.json"):
        shutil.copy(manifest, mirror / manifest.name)
    before = store_files(mirror)
    with pytest.raises(LinkFileError, match=r"link-0006-base\.bundle"):
        compact_store(mirror, keep=5)
    assert store_files(mirror) == before


def test_a_base_copied_in_from_another_store_is_reported_and_removes_nothing(chain, tmp_path):
    _, store, _ = chain
    other = SourceRepo(tmp_path / "other")
    other.commit()
    other_store = tmp_path / "other-store"
    create_store(other.path, other_store)
    for _ in range(9):
        other.commit()
        update_store(other.path, other_store)
    compact_store(other_store, keep=1)  # link-0010-base, newer than this store's link 8
    for name in ("link-0010-base.bundle", "link-0010-base.json"):
        shutil.copy(other_store / name, store / name)
    before = store_files(store)

    report = verify_path(store)
    assert not report.ok
    assert any(problem.path.endswith("link-0001.json") and "belongs to another store" in
               problem.message for problem in report.problems), report.problems
    with pytest.raises(StoreError, match="belongs to another store"):
        compact_store(store, keep=3)
    with pytest.raises(StoreError, match="belongs to another store"):
        apply_store(store, tmp_path / "fresh.git")
    assert not (tmp_path / "fresh.git").exists()
    assert store_files(store) == before


def test_a_leftover_that_is_not_what_the_base_replaced_is_reported(chain):
    """After a compaction cut short, link-0006.json stays until the rerun; it must be the manifest
    the base names as replaced."""
    _, store, _ = chain
    replaced = (store / "link-0006.json").read_bytes()
    compact_store(store, keep=3)
    (store / "link-0006.json").write_bytes(replaced.replace(b'"created": "',
                                                            b'"created": "1'))
    report = verify_path(store)
    assert [problem.message for problem in report.problems] == [
        "is not the manifest that link-0006-base.json replaced (altered, or from another "
        "compaction)"]
    with pytest.raises(StoreError, match="is not the manifest that"):
        compact_store(store, keep=3)
    (store / "link-0006.json").write_bytes(replaced)  # the true leftover
    assert verify_path(store).ok
    assert "link-0006.json" in compact_store(store, keep=3).removed
