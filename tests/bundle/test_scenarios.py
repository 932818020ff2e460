"""End-to-end scenarios: real repositories changed in every way a store must carry.

Each scenario starts from the same history (merges, several branches, lightweight and annotated
tags, a note, a custom ref), already in a store of one link and applied to a bare target. It then
changes the source, writes the next link, and applies it both into a fresh target and into the
target that holds the earlier link; both must end up with exactly the source's refs and HEAD
(`git for-each-ref`, HEAD, `git fsck`). Plain git must be able to read the links too.
"""

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from devkit.bundle.apply import ApplyRefused, apply_store
from devkit.bundle.snapshot import SnapshotResult, SourceError, create_store, update_store
from devkit.bundle.store import BundleStore, Selection
from devkit.errors import DevkitError
from tests.bundle.gitrepos import (
    SourceRepo,
    assert_same_repository,
    git,
    head_of,
    ref_listing,
)

# ---------------------------------------------------------------------------------------------
# Building histories


def open_source(path: Path) -> SourceRepo:
    """A SourceRepo for an existing repository (SourceRepo() would run `git init` again)."""
    repo = SourceRepo.__new__(SourceRepo)
    repo.path = path
    repo.counter = 1000
    return repo


def work(src: SourceRepo, label: str) -> str:
    """Commit a file of its own (so merges never conflict) on the current branch."""
    return src.commit(label, files={f"work/{label}.txt": f"{label}\n"})


def build_history(src: SourceRepo) -> dict[str, str]:
    """Main with two merges, branches off old commits, tags of both kinds, a note, a custom ref.

    Returns the commits by name, for scenarios that want to point at old history.
    """
    c = {}
    c["c1"] = work(src, "c1")
    c["c2"] = work(src, "c2")
    src.git("tag", "v1.0", c["c1"])
    src.git("tag", "-a", "-m", "release 1.1", "v1.1", c["c2"])
    src.git("checkout", "-q", "-b", "feature/parser")
    c["p1"] = work(src, "p1")
    c["p2"] = work(src, "p2")
    src.git("checkout", "-q", "main")
    c["c3"] = work(src, "c3")
    src.git("merge", "-q", "--no-ff", "--no-edit", "-m", "merge parser", "feature/parser")
    c["m1"] = src.rev("HEAD")
    src.git("checkout", "-q", "-b", "release/1.x", c["c2"])
    c["r1"] = work(src, "r1")
    src.git("tag", "-a", "-m", "release 1.2", "v1.2")
    src.git("checkout", "-q", "-b", "topic", "main")
    c["t1"] = work(src, "t1")
    c["t2"] = work(src, "t2")
    src.git("checkout", "-q", "-b", "feature/lexer", c["m1"])
    c["l1"] = work(src, "l1")
    c["l2"] = work(src, "l2")
    src.git("checkout", "-q", "main")
    c["c4"] = work(src, "c4")
    src.git("merge", "-q", "--no-ff", "--no-edit", "-m", "merge topic", "topic")
    c["m2"] = src.rev("HEAD")
    c["c5"] = work(src, "c5")
    src.git("branch", "a", c["c3"])  # for the directory/file conflict scenarios
    src.git("branch", "x/y", c["c2"])
    src.git("notes", "add", "-m", "reviewed", c["c1"])
    src.git("update-ref", "refs/custom/pinned", c["c2"])
    return c


_templates: dict[str, tuple[Path, dict[str, str]]] = {}


def chain_template(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Source, one-link store and a target at link 1, built once per test session."""
    key = str(tmp_path_factory.getbasetemp())
    if key not in _templates:
        root = tmp_path_factory.mktemp("chain-template")
        src = SourceRepo(root / "src")
        commits = build_history(src)
        create_store(src.path, root / "store")
        apply_store(root / "store", root / "target")
        assert_same_repository(src.path, root / "target")
        _templates[key] = (root, commits)
    return _templates[key]


@dataclass
class Chain:
    root: Path
    src: SourceRepo
    store: Path
    target: Path  # a bare repository that applied every link so far
    commits: dict[str, str]
    fresh_count: int = 0

    def update(self, selection: Selection | None = None) -> SnapshotResult:
        return update_store(self.src.path, self.store, selection)

    def fresh_target(self) -> Path:
        self.fresh_count += 1
        return self.root / f"fresh-{self.fresh_count}"

    def assert_applies(self, exclude_remotes: bool = True) -> None:
        """A fresh target and the target of the earlier links both become the source."""
        fresh = self.fresh_target()
        plan = apply_store(self.store, fresh)
        assert plan.create_target
        assert_same_repository(self.src.path, fresh, exclude_remotes)
        plan = apply_store(self.store, self.target)
        assert [link.sequence for link in plan.links] == [len(self.links())]
        assert_same_repository(self.src.path, self.target, exclude_remotes)

    def links(self):
        return BundleStore(self.store).links()

    def bundle(self, sequence: int) -> Path:
        return self.store / f"link-{sequence:04d}.bundle"


@pytest.fixture
def chain(tmp_path, tmp_path_factory) -> Chain:
    template, commits = chain_template(tmp_path_factory)
    for name in ("src", "store", "target"):
        shutil.copytree(template / name, tmp_path / name, symlinks=True)
    return Chain(tmp_path, open_source(tmp_path / "src"), tmp_path / "store",
                 tmp_path / "target", dict(commits))


def list_heads(bundle: Path) -> dict[str, str]:
    """The refs in a bundle's header, as `git bundle list-heads` reads them."""
    out = git(bundle.parent, "bundle", "list-heads", str(bundle))
    return {name: oid for oid, name in (line.split(" ", 1) for line in out.splitlines())}


def pack_object_count(bundle: Path) -> int:
    data = bundle.read_bytes()
    pack = data.index(b"\n\nPACK") + 2
    return int.from_bytes(data[pack + 8:pack + 12], "big")


def object_exists(repo: Path, oid: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", oid], cwd=repo,
                          capture_output=True, check=False).returncode == 0


def ref_values(repo: Path) -> dict[str, str]:
    return {name: oid for oid, _, name in
            (line.split() for line in ref_listing(repo).splitlines())}


def refs_and_head(repo: Path) -> tuple[str, str]:
    return ref_listing(repo), head_of(repo)


# ---------------------------------------------------------------------------------------------
# One change per scenario. Each returns refs (and HEAD) the new link's header must carry, with
# their values, and may assert things of its own.


def new_commits(ch: Chain) -> dict[str, str]:
    work(ch.src, "n1")
    ch.src.git("checkout", "-q", "feature/lexer")
    work(ch.src, "l3")
    ch.src.git("checkout", "-q", "main")
    ch.src.git("merge", "-q", "--no-ff", "--no-edit", "-m", "merge lexer", "feature/lexer")
    return {"refs/heads/main": ch.src.rev("main"),
            "refs/heads/feature/lexer": ch.src.rev("feature/lexer")}


def new_branch_on_old_commit(ch: Chain) -> dict[str, str]:
    ch.src.git("branch", "hotfix", ch.commits["c2"])
    return {"refs/heads/hotfix": ch.commits["c2"]}


def lightweight_tag_on_old_commit(ch: Chain) -> dict[str, str]:
    ch.src.git("tag", "v0.9", ch.commits["c1"])
    return {"refs/tags/v0.9": ch.commits["c1"]}


def annotated_tag_on_old_commit(ch: Chain) -> dict[str, str]:
    ch.src.git("tag", "-a", "-m", "late tag", "v0.8", ch.commits["p1"])
    tag = ch.src.rev("refs/tags/v0.8")
    assert tag != ch.commits["p1"]
    return {"refs/tags/v0.8": tag}


def deleted_branch(ch: Chain) -> dict[str, str]:
    ch.src.git("branch", "-D", "feature/lexer")
    return {}


def deleted_tags(ch: Chain) -> dict[str, str]:
    ch.src.git("tag", "-d", "v1.0", "v1.1")
    return {}


def branch_moved_backwards(ch: Chain) -> dict[str, str]:
    ch.src.git("reset", "-q", "--hard", "HEAD~2")
    return {"refs/heads/main": ch.src.rev("main")}


def amended_branch(ch: Chain) -> dict[str, str]:
    ch.src.git("commit", "-q", "--amend", "-m", "c5 amended")
    return {"refs/heads/main": ch.src.rev("main")}


def rebased_branch(ch: Chain) -> dict[str, str]:
    ch.src.git("rebase", "-q", "main", "feature/lexer")
    ch.src.git("checkout", "-q", "main")
    return {"refs/heads/feature/lexer": ch.src.rev("feature/lexer")}


def rewritten_and_collected(ch: Chain) -> dict[str, str]:
    """Rebase and amend, then expire the reflogs and prune: the old commits are gone."""
    old = [ch.src.rev("feature/lexer"), ch.src.rev("main")]
    ch.src.git("commit", "-q", "--amend", "-m", "c5 rewritten")
    ch.src.git("rebase", "-q", "main", "feature/lexer")
    ch.src.git("checkout", "-q", "main")
    ch.src.git("reflog", "expire", "--expire=now", "--all")
    ch.src.git("gc", "-q", "--prune=now")
    for oid in old:
        assert not object_exists(ch.src.path, oid), "gc should have removed the old commit"
    return {"refs/heads/feature/lexer": ch.src.rev("feature/lexer"),
            "refs/heads/main": ch.src.rev("main")}


def head_switched(ch: Chain) -> dict[str, str]:
    ch.src.git("checkout", "-q", "release/1.x")
    return {"HEAD": ch.commits["r1"]}


def head_detached_at_old_commit(ch: Chain) -> dict[str, str]:
    ch.src.git("checkout", "-q", "--detach", ch.commits["p2"])
    return {"HEAD": ch.commits["p2"]}


def head_detached_with_new_commit(ch: Chain) -> dict[str, str]:
    """A commit made on a detached HEAD is reachable from no ref, only from HEAD."""
    ch.src.git("checkout", "-q", "--detach")
    oid = work(ch.src, "detached")
    return {"HEAD": oid}


def head_on_unborn_branch(ch: Chain) -> dict[str, str]:
    """HEAD names a branch with no commit yet: the link carries no ref and no object."""
    ch.src.git("checkout", "-q", "--orphan", "fresh-start")
    return {}


def notes_and_custom_ref(ch: Chain) -> dict[str, str]:
    ch.src.git("notes", "add", "-m", "checked", ch.commits["c3"])
    ch.src.git("update-ref", "refs/custom/x", ch.commits["r1"])
    return {"refs/notes/commits": ch.src.rev("refs/notes/commits"),
            "refs/custom/x": ch.commits["r1"]}


def tags_on_tree_and_blob(ch: Chain) -> dict[str, str]:
    """Refs to objects that are not commits (they peel to nothing)."""
    blob = ch.src.rev("main:work/c1.txt")
    tree = ch.src.rev("main^{tree}")
    ch.src.git("tag", "blob-tag", blob)
    ch.src.git("tag", "-a", "-m", "a tree", "tree-tag", tree)
    return {"refs/tags/blob-tag": blob, "refs/tags/tree-tag": ch.src.rev("refs/tags/tree-tag")}


def deleted_file_becomes_directory(ch: Chain) -> dict[str, str]:
    """Branch `a` deleted and `a/b` created in one update: a directory/file conflict."""
    ch.src.git("branch", "-D", "a")
    ch.src.git("branch", "a/b", ch.commits["c4"])
    return {"refs/heads/a/b": ch.commits["c4"]}


def deleted_directory_becomes_file(ch: Chain) -> dict[str, str]:
    ch.src.git("branch", "-D", "x/y")
    ch.src.git("branch", "x", ch.commits["t1"])
    return {"refs/heads/x": ch.commits["t1"]}


SCENARIOS: list[tuple[Callable[[Chain], dict[str, str]], int | None]] = [
    # (change, objects the new link's pack must hold, or None for "some")
    (new_commits, None),
    (new_branch_on_old_commit, 0),
    (lightweight_tag_on_old_commit, 0),
    (annotated_tag_on_old_commit, 1),
    (deleted_branch, 0),
    (deleted_tags, 0),
    (branch_moved_backwards, 0),
    (amended_branch, None),
    (rebased_branch, None),
    (rewritten_and_collected, None),
    (head_switched, 0),
    (head_detached_at_old_commit, 0),
    (head_detached_with_new_commit, None),
    (head_on_unborn_branch, 0),
    (notes_and_custom_ref, None),
    (tags_on_tree_and_blob, None),
    (deleted_file_becomes_directory, 0),
    (deleted_directory_becomes_file, 0),
]


@pytest.mark.parametrize(("change", "objects"), SCENARIOS, ids=[s[0].__name__ for s in SCENARIOS])
def test_change_is_carried_to_fresh_and_earlier_targets(chain, change, objects):
    before = ref_values(chain.src.path)
    header_refs = change(chain)
    after = ref_values(chain.src.path)

    result = chain.update()

    assert result.link is not None and result.link.sequence == 2
    bundle = chain.bundle(2)
    heads = list_heads(bundle)
    for name, oid in header_refs.items():
        assert heads.get(name) == oid, f"{name} missing from the link's header"
    # The header names exactly the refs that were added or moved, and HEAD unless it is unborn.
    assert set(heads) - {"HEAD"} == {name for name in after if before.get(name) != after[name]}
    head_resolves = subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"],
                                   cwd=chain.src.path, capture_output=True, check=False)
    assert ("HEAD" in heads) == (head_resolves.returncode == 0)
    if objects is not None:
        assert pack_object_count(bundle) == objects
    git(chain.target, "bundle", "verify", "-q", str(bundle))  # plain git, target at link 1
    chain.assert_applies()


def test_every_change_in_turn(chain):
    """All scenarios one after the other, one link each; a second target takes every other link.

    The branch deletion goes last: the rewriting scenarios need that branch.
    """
    skipping = chain.root / "skipping"
    apply_store(chain.store, skipping)
    sequence = 1
    changes = [change for change, _ in SCENARIOS if change is not deleted_branch]
    for change in [*changes, deleted_branch]:
        change(chain)
        result = chain.update()
        assert result.link is not None
        sequence += 1
        assert result.link.sequence == sequence
        plan = apply_store(chain.store, chain.target)
        assert [link.sequence for link in plan.links] == [sequence]
        assert_same_repository(chain.src.path, chain.target)
        if sequence == 6:
            git(chain.target, "pack-refs", "--all")  # refs in packed-refs are updated too
        if sequence % 2:
            apply_store(chain.store, skipping)
            assert_same_repository(chain.src.path, skipping)
    assert sequence == len(SCENARIOS) + 1
    apply_store(chain.store, skipping)
    assert_same_repository(chain.src.path, skipping)
    fresh = chain.fresh_target()
    apply_store(chain.store, fresh)
    assert_same_repository(chain.src.path, fresh)


def test_rewritten_only_branch_after_gc_can_be_updated(tmp_path):
    """A one-branch repository whose tip was amended and garbage-collected is still the source.

    None of the previous link's tips exists any more, yet it is the same repository (its older
    history is there); `update` must not call it a different repository.
    """
    src = SourceRepo(tmp_path / "src")
    for label in ("one", "two", "three"):
        work(src, label)
    create_store(src.path, tmp_path / "store")
    apply_store(tmp_path / "store", tmp_path / "target")
    old = src.rev("main")
    src.git("commit", "-q", "--amend", "-m", "three, amended")
    src.git("reflog", "expire", "--expire=now", "--all")
    src.git("gc", "-q", "--prune=now")
    assert not object_exists(src.path, old)

    result = update_store(src.path, tmp_path / "store")

    assert result.link is not None
    apply_store(tmp_path / "store", tmp_path / "target")
    assert_same_repository(src.path, tmp_path / "target")


# ---------------------------------------------------------------------------------------------
# Remotes and stash


def make_clone_with_stash(tmp_path: Path) -> tuple[SourceRepo, SourceRepo]:
    upstream = SourceRepo(tmp_path / "upstream")
    work(upstream, "u1")
    upstream.git("branch", "dev")
    work(upstream, "u2")
    git(tmp_path, "clone", "-q", str(upstream.path), "clone")
    src = open_source(tmp_path / "clone")
    work(src, "local")
    (src.path / "work" / "local.txt").write_text("changed, then stashed\n")
    src.git("stash", "-q")
    names = ref_listing(src.path)
    assert " refs/remotes/origin/dev" in names and names.rstrip().endswith(" refs/stash")
    return upstream, src


def test_remotes_and_stash_are_left_out_by_default(tmp_path):
    _, src = make_clone_with_stash(tmp_path)
    create_store(src.path, tmp_path / "store")
    state = BundleStore(tmp_path / "store").links()[0].state
    assert not [name for name in state.refs if name.startswith("refs/remotes/")]
    assert "refs/stash" not in state.refs
    apply_store(tmp_path / "store", tmp_path / "target")
    assert_same_repository(src.path, tmp_path / "target", exclude_remotes=True)
    assert "refs/remotes/" not in ref_listing(tmp_path / "target")


def test_remotes_and_stash_are_carried_when_selected(tmp_path):
    upstream, src = make_clone_with_stash(tmp_path)
    store = tmp_path / "store"
    create_store(src.path, store, Selection(remotes=True, stash=True))
    apply_store(store, tmp_path / "target")
    assert_same_repository(src.path, tmp_path / "target", exclude_remotes=False)

    # The remote moves on, a second stash entry: update keeps the store's selection.
    work(upstream, "u3")
    src.git("fetch", "-q")
    (src.path / "work" / "local.txt").write_text("stashed again\n")
    src.git("stash", "-q")
    result = update_store(src.path, store)
    assert result.link.selection == Selection(remotes=True, stash=True)
    assert set(result.changes.moved) >= {"refs/remotes/origin/main", "refs/stash"}
    apply_store(store, tmp_path / "target")
    assert_same_repository(src.path, tmp_path / "target", exclude_remotes=False)
    fresh = tmp_path / "fresh"
    apply_store(store, fresh)
    assert_same_repository(src.path, fresh, exclude_remotes=False)

    # Dropping the namespaces deletes them from the target.
    update_store(src.path, store, Selection())
    apply_store(store, fresh)
    assert_same_repository(src.path, fresh, exclude_remotes=True)


# ---------------------------------------------------------------------------------------------
# Nothing to do, twice, dry run


def store_files(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(store.iterdir()) if p.name != ".lock"}


def test_update_with_nothing_changed_writes_nothing(chain):
    before = store_files(chain.store)
    result = chain.update()
    assert result.link is None
    assert not result.changes
    assert store_files(chain.store) == before


def test_apply_twice_is_idempotent(chain):
    work(chain.src, "again")
    chain.update()
    first = apply_store(chain.store, chain.target)
    assert not first.up_to_date
    listing = refs_and_head(chain.target)
    second = apply_store(chain.store, chain.target)
    assert second.up_to_date
    assert second.updates == [] and second.links == []
    assert refs_and_head(chain.target) == listing
    assert_same_repository(chain.src.path, chain.target)


def test_dry_run_changes_nothing_and_plans_the_updates(chain):
    old_main = chain.src.rev("main")
    old_lexer = chain.src.rev("feature/lexer")
    work(chain.src, "dry")
    chain.src.git("branch", "-D", "feature/lexer")
    chain.src.git("branch", "hotfix", chain.commits["c1"])
    chain.src.git("checkout", "-q", "topic")
    chain.update()
    before = refs_and_head(chain.target)
    config = (chain.target / "config").read_text()

    plan = apply_store(chain.store, chain.target, dry_run=True)

    assert refs_and_head(chain.target) == before
    assert (chain.target / "config").read_text() == config
    assert not plan.up_to_date and not plan.create_target
    assert [link.sequence for link in plan.links] == [2]
    updates = {(u.name, u.action, u.old, u.new) for u in plan.updates}
    assert updates == {
        ("refs/heads/main", "update", old_main, chain.src.rev("main")),
        ("refs/heads/feature/lexer", "delete", old_lexer, None),
        ("refs/heads/hotfix", "create", None, chain.commits["c1"]),
    }
    assert plan.head_before.symref == "refs/heads/main"
    assert plan.head_after.symref == "refs/heads/topic"
    # The real run does what the dry run said.
    real = apply_store(chain.store, chain.target)
    assert {(u.name, u.action, u.old, u.new) for u in real.updates} == updates
    assert_same_repository(chain.src.path, chain.target)


def test_dry_run_into_missing_target_creates_nothing(chain):
    missing = chain.root / "not-yet" / "target.git"
    plan = apply_store(chain.store, missing, dry_run=True)
    assert not missing.exists() and not missing.parent.exists()
    assert plan.create_target
    assert {u.name: u.new for u in plan.updates} == ref_values(chain.src.path)
    assert all(u.action == "create" for u in plan.updates)
    assert plan.head_after.symref == "refs/heads/main"


# ---------------------------------------------------------------------------------------------
# Plain git reads the links


def test_git_clone_of_link_one(chain):
    clone = chain.root / "clone"
    git(chain.root, "clone", "-q", str(chain.bundle(1)), str(clone))
    heads = git(chain.src.path, "for-each-ref", "--format=%(objectname) %(refname:lstrip=2)",
                "refs/heads/")
    remotes = git(clone, "for-each-ref", "--format=%(objectname) %(refname:lstrip=3)",
                  "refs/remotes/origin/")
    remotes = "".join(line + "\n" for line in remotes.splitlines() if not line.endswith(" HEAD"))
    assert remotes == heads
    assert git(clone, "rev-parse", "HEAD") == git(chain.src.path, "rev-parse", "HEAD")


def test_git_fetch_and_verify_of_each_later_link(chain):
    """A repository that fetched links 1..N-1 with plain git verifies and fetches link N."""
    changes = [new_commits, new_branch_on_old_commit, annotated_tag_on_old_commit,
               deleted_branch, notes_and_custom_ref, head_switched]
    for change in changes:
        change(chain)
        assert chain.update().link is not None
    plain = chain.root / "plain.git"
    git(chain.root, "init", "-q", "--bare", str(plain))
    for sequence in range(1, len(changes) + 2):
        bundle = chain.bundle(sequence)
        git(plain, "bundle", "verify", "-q", str(bundle))
        git(plain, "fetch", "-q", str(bundle), "refs/*:refs/*")
        for name, oid in list_heads(bundle).items():
            if name != "HEAD":
                assert git(plain, "rev-parse", name).strip() == oid
    # Plain fetch never deletes: every ref of the source is there with its value.
    source = set(ref_listing(chain.src.path).splitlines())
    assert source <= set(ref_listing(plain).splitlines())


def test_later_link_needs_the_earlier_ones(chain):
    work(chain.src, "needs")
    chain.update()
    empty = chain.root / "empty.git"
    git(chain.root, "init", "-q", "--bare", str(empty))
    process = subprocess.run(["git", "bundle", "verify", str(chain.bundle(2))], cwd=empty,
                             capture_output=True, text=True, check=False)
    assert process.returncode != 0
    assert "prerequisite" in process.stderr


def test_sha256_repository(tmp_path):
    src_path = tmp_path / "src"
    git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(src_path))
    src = open_source(src_path)
    work(src, "one")
    src.git("tag", "-a", "-m", "first", "v1")
    create_store(src.path, tmp_path / "store")
    work(src, "two")
    src.git("branch", "side", "HEAD~1")
    update_store(src.path, tmp_path / "store")
    assert (tmp_path / "store" / "link-0002.bundle").read_bytes().startswith(
        b"# v3 git bundle\n@object-format=sha256\n")
    target = tmp_path / "target"
    apply_store(tmp_path / "store", target)
    assert git(target, "rev-parse", "--show-object-format").strip() == "sha256"
    assert_same_repository(src.path, target)

    # A SHA-1 store cannot be updated from it.
    sha1 = SourceRepo(tmp_path / "sha1")
    work(sha1, "sha1 commit")
    create_store(sha1.path, tmp_path / "sha1-store")
    with pytest.raises(SourceError, match="sha256"):
        update_store(src.path, tmp_path / "sha1-store")


def test_ref_names_that_are_not_utf8_are_refused_or_kept_exactly(tmp_path):
    """git allows any bytes >= 0x80 in a ref name; a store must not rename such a ref."""
    src = SourceRepo(tmp_path / "src")
    work(src, "one")
    subprocess.run([b"git", b"branch", b"caf\xe9"], cwd=src.path, check=True)
    src.git("branch", "caf\u00e9")  # the same name in UTF-8 is a different ref

    def raw_refs(repo: Path) -> bytes:
        return subprocess.run(["git", "for-each-ref"], cwd=repo, capture_output=True,
                              check=True).stdout

    try:
        create_store(src.path, tmp_path / "store")
    except DevkitError as error:
        assert "caf" in str(error)  # refused, naming the ref: acceptable
        return
    apply_store(tmp_path / "store", tmp_path / "target")
    assert raw_refs(tmp_path / "target") == raw_refs(src.path)


def test_older_copy_of_the_store_is_refused(chain):
    stale = chain.root / "stale-store"
    shutil.copytree(chain.store, stale)
    work(chain.src, "newer")
    chain.update()
    apply_store(chain.store, chain.target)
    before = refs_and_head(chain.target)
    with pytest.raises(ApplyRefused, match="older copy"):
        apply_store(stale, chain.target)
    assert refs_and_head(chain.target) == before


# ---------------------------------------------------------------------------------------------
# Refusals


def test_store_of_another_repository_is_refused_unless_forced(chain, tmp_path):
    other = SourceRepo(tmp_path / "other")
    work(other, "unrelated")
    create_store(other.path, tmp_path / "other-store")
    before = refs_and_head(chain.target)

    with pytest.raises(ApplyRefused, match="--force"):
        apply_store(tmp_path / "other-store", chain.target)
    assert refs_and_head(chain.target) == before

    plan = apply_store(tmp_path / "other-store", chain.target, force=True)
    assert plan.warnings
    assert_same_repository(other.path, chain.target)
    # The target now follows the other store.
    assert apply_store(tmp_path / "other-store", chain.target).up_to_date


def test_locally_changed_ref_is_refused_unless_forced(chain):
    work(chain.src, "upstream")
    chain.update()
    tree = git(chain.target, "rev-parse", "main^{tree}").strip()
    local = git(chain.target, "commit-tree", tree, "-p", "main", "-m", "local work").strip()
    git(chain.target, "update-ref", "refs/heads/main", local)
    before = refs_and_head(chain.target)

    with pytest.raises(ApplyRefused, match="--force") as refused:
        apply_store(chain.store, chain.target)
    assert "refs/heads/main" in str(refused.value)
    assert refs_and_head(chain.target) == before

    apply_store(chain.store, chain.target, force=True)
    assert_same_repository(chain.src.path, chain.target)


def test_locally_added_ref_is_refused(chain):
    git(chain.target, "update-ref", "refs/heads/mine", chain.commits["c1"])
    work(chain.src, "upstream")
    chain.update()
    before = refs_and_head(chain.target)
    with pytest.raises(ApplyRefused, match="refs/heads/mine"):
        apply_store(chain.store, chain.target)
    assert refs_and_head(chain.target) == before


def test_create_refuses_shallow_clone(tmp_path):
    src = SourceRepo(tmp_path / "src")
    for label in ("one", "two", "three"):
        work(src, label)
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{src.path}", "shallow")
    assert (tmp_path / "shallow" / ".git" / "shallow").exists()
    with pytest.raises(SourceError, match="shallow"):
        create_store(tmp_path / "shallow", tmp_path / "store")
    assert not (tmp_path / "store" / "link-0001.json").exists()


def test_create_warns_about_submodules(tmp_path):
    src = SourceRepo(tmp_path / "src")
    src.commit("add a submodule entry", files={".gitmodules": (
        '[submodule "lib"]\n\tpath = lib\n\turl = https://example.invalid/lib.git\n')})
    result = create_store(src.path, tmp_path / "store")
    assert result.link is not None
    assert any("submodule" in warning for warning in result.warnings)

    plain = SourceRepo(tmp_path / "plain")
    work(plain, "no submodules")
    assert create_store(plain.path, tmp_path / "store2").warnings == []


def test_create_warns_about_partial_clones_and_lfs(tmp_path):
    src = SourceRepo(tmp_path / "src")
    src.commit("lfs attributes", files={".gitattributes": "*.bin filter=lfs diff=lfs -text\n"})
    git(src.path, "config", "uploadpack.allowFilter", "true")
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{src.path}", "partial")

    warnings = create_store(tmp_path / "partial", tmp_path / "store").warnings
    assert any("partial clone" in warning for warning in warnings), warnings
    assert any("Git LFS" in warning for warning in warnings), warnings


def test_forced_apply_into_an_ordinary_clone_replaces_its_symbolic_refs(chain, tmp_path):
    """A clone has refs/remotes/origin/HEAD, a symbolic ref: --force must replace it too."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--bare", str(chain.src.path), str(clone))
    git(clone, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/heads/main")
    with pytest.raises(ApplyRefused, match="--force"):
        apply_store(chain.store, clone)
    apply_store(chain.store, clone, force=True)
    assert_same_repository(chain.src.path, clone)


def test_apply_through_a_linked_worktree_is_refused(chain):
    """Refs, the lock and the checked-out branches belong to the repository, not a worktree."""
    linked = chain.root / "linked"
    git(chain.target, "worktree", "add", "-q", str(linked), "topic")
    work(chain.src, "more")
    chain.update()
    before = refs_and_head(chain.target)
    with pytest.raises(ApplyRefused, match="linked worktree"):
        apply_store(chain.store, linked)
    assert refs_and_head(chain.target) == before


def test_update_from_another_repository_is_refused(chain, tmp_path):
    other = SourceRepo(tmp_path / "other")
    work(other, "unrelated")
    before = store_files(chain.store)
    with pytest.raises(SourceError, match="not the repository"):
        update_store(other.path, chain.store)
    assert store_files(chain.store) == before


def test_history_rewritten_from_the_root_needs_force(tmp_path):
    """A source whose every commit was rewritten looks like another repository; --force takes it.

    The forced link carries everything, and a target at the previous link ends up equal.
    """
    src = SourceRepo(tmp_path / "src")
    work(src, "root")
    create_store(src.path, tmp_path / "store")
    apply_store(tmp_path / "store", tmp_path / "target")
    src.git("commit", "-q", "--amend", "-m", "root, rewritten")
    src.git("reflog", "expire", "--expire=now", "--all")
    src.git("gc", "-q", "--prune=now")
    before = store_files(tmp_path / "store")

    with pytest.raises(SourceError, match="--force"):
        update_store(src.path, tmp_path / "store")
    assert store_files(tmp_path / "store") == before

    result = update_store(src.path, tmp_path / "store", force=True)
    assert result.link is not None and result.link.prerequisites == []
    apply_store(tmp_path / "store", tmp_path / "target")
    assert_same_repository(src.path, tmp_path / "target")
    apply_store(tmp_path / "store", tmp_path / "fresh")
    assert_same_repository(src.path, tmp_path / "fresh")


def non_bare_copy(bare: Path, worktree: Path) -> Path:
    """A repository with a working tree holding what the bare `bare` holds, checked out."""
    shutil.copytree(bare, worktree / ".git", symlinks=True)
    git(worktree, "config", "core.bare", "false")
    git(worktree, "reset", "-q", "--hard")
    return worktree


def test_non_bare_target_whose_checkout_would_move_is_refused(chain):
    worktree = non_bare_copy(chain.target, chain.root / "worktree")
    assert_same_repository(chain.src.path, worktree)
    work(chain.src, "moves main")
    chain.update()
    before = refs_and_head(worktree)
    for force in (False, True):
        with pytest.raises(ApplyRefused, match="working tree"):
            apply_store(chain.store, worktree, force=force)
        assert refs_and_head(worktree) == before
    assert git(worktree, "status", "--porcelain") == ""


def test_non_bare_target_is_updated_when_its_checkout_stays(chain):
    worktree = non_bare_copy(chain.target, chain.root / "worktree")
    chain.src.git("checkout", "-q", "topic")
    work(chain.src, "on topic")
    chain.src.git("checkout", "-q", "main")
    chain.update()
    apply_store(chain.store, worktree)
    assert_same_repository(chain.src.path, worktree)
    assert git(worktree, "status", "--porcelain") == ""


def test_branch_checked_out_in_a_linked_worktree_is_not_moved(chain):
    """A bare target can have worktrees (`git worktree add`); their checkouts must not move.

    `git fetch` refuses to update a branch checked out in any worktree; apply must not move it
    either, or the worktree's files and index silently stop matching its branch.
    """
    worktree = chain.root / "topic-worktree"
    git(chain.target, "worktree", "add", "-q", str(worktree), "topic")
    chain.src.git("checkout", "-q", "topic")
    work(chain.src, "topic moves")
    chain.src.git("checkout", "-q", "main")
    chain.update()
    before = refs_and_head(chain.target)

    with pytest.raises(ApplyRefused):
        apply_store(chain.store, chain.target)
    assert refs_and_head(chain.target) == before
    assert git(worktree, "status", "--porcelain") == ""


def test_apply_errors_are_devkit_errors(chain, tmp_path):
    with pytest.raises(DevkitError):
        apply_store(tmp_path / "no-store", chain.target)
