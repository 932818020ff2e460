"""Filtered stores (`create --filter blob:none`): bundles without file contents, for partial clones.

Every test runs real git: the headers are compared with the ones `git bundle create --filter`
writes, the targets are partial clones made by `git clone --bare --filter=blob:none` from an
origin served over file:// (which then lends the blobs a reader asks for), and whatever apply
leaves must pass `git fsck` and `git bundle verify`. A repository that is not a partial clone,
or none at all, is refused before anything changes.
"""

import json
from pathlib import Path

import pytest

from devkit.bundle import snapshot
from devkit.bundle.apply import ApplyRefused, apply_store
from devkit.bundle.bundlefile import (
    BundleFormatError,
    header_bytes,
    read_header,
    read_header_file,
    scan_bundle,
)
from devkit.bundle.compact import compact_store
from devkit.bundle.snapshot import create_store, update_store
from devkit.bundle.store import BundleStore, StoreError
from devkit.bundle.verify import verify_path
from tests.bundle.gitrepos import SourceRepo, assert_same_repository, git, ref_listing
from tests.bundle.test_cli import assert_one_line_error, invoke, run

FILTER = "blob:none"


@pytest.fixture
def origin(tmp_path) -> SourceRepo:
    """A repository with files in folders, a branch and an annotated tag, that lets partial
    clones fetch with a filter (and fetch the blobs they lack later)."""
    repo = SourceRepo(tmp_path / "origin")
    repo.git("config", "uploadpack.allowFilter", "true")
    repo.commit("one", files={"README": "read me\n", "src/a.ml": "let a = 1\n"})
    repo.commit("two", files={"src/b.ml": "let b = 2\n", "doc/guide.txt": "guide\n"})
    repo.git("branch", "topic")
    repo.commit("three", files={"src/a.ml": "let a = 3\n"})
    repo.git("tag", "-a", "-m", "first release", "v1")
    return repo


def partial_clone(origin: SourceRepo, path: Path) -> Path:
    git(path.parent, "clone", "-q", "--bare", f"--filter={FILTER}", f"file://{origin.path}",
        str(path))
    return path


def missing_objects(repo: Path) -> set[str]:
    """The objects the history of `repo`'s refs needs and `repo` lacks (never fetched here)."""
    listing = git(repo, "rev-list", "--objects", "--all", "--missing=print")
    return {line[1:] for line in listing.split() if line.startswith("?")}


def blobs_of(repo: Path) -> set[str]:
    listing = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) "
                  "%(objecttype)")
    return {oid for oid, kind in (line.split() for line in listing.splitlines()) if kind == "blob"}


def tree_files(path: Path) -> dict[str, bytes]:
    """Every file under `path` with its contents: a repository that must not change at all."""
    return {str(entry.relative_to(path)): entry.read_bytes()
            for entry in sorted(path.rglob("*")) if entry.is_file()}


def capability_lines(data: bytes) -> bytes:
    """The signature and `@` lines at the start of a bundle."""
    lines = data.split(b"\n")
    end = 1
    while lines[end].startswith(b"@"):
        end += 1
    return b"\n".join(lines[:end]) + b"\n"


# ---------------------------------------------------------------------------------------------
# The bundle format


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_a_filtered_link_has_the_header_and_objects_of_git_bundle_create_filter(tmp_path,
                                                                                object_format):
    git(tmp_path, "init", "-q", f"--object-format={object_format}", "-b", "main",
        str(tmp_path / "src"))
    repo = SourceRepo(tmp_path / "src")
    repo.commit(files={"a.txt": "alpha\n", "dir/b.txt": "beta\n"})
    repo.commit()
    repo.git("tag", "-a", "-m", "tag", "v1", "HEAD~1")
    store = tmp_path / "store"
    link = create_store(repo.path, store, filter_spec=FILTER).link
    ours = (store / link.bundle_file).read_bytes()
    reference = tmp_path / "git.bundle"
    repo.git("bundle", "create", "-q", str(reference), f"--filter={FILTER}", "--all")

    expected = (b"# v3 git bundle\n@object-format=" + object_format.encode() +
                b"\n@filter=blob:none\n")
    assert capability_lines(reference.read_bytes()) == expected  # what git 2.39 writes
    assert capability_lines(ours) == expected
    assert header_bytes([], [], object_format, FILTER) == expected + b"\n"
    theirs = scan_bundle(reference)
    assert (link.filter, link.object_count) == (FILTER, theirs.object_count)
    assert theirs.header.filter == read_header_file(store / link.bundle_file).filter == FILTER
    # The pack holds commits, trees and tags only.
    assert link.object_count == len(repo.git("rev-list", "--objects", "--all",
                                             "--filter=blob:none").split("\n")) - 1
    assert json.loads((store / "link-0001.json").read_bytes())["bundle"]["filter"] == FILTER


def test_an_unfiltered_store_is_written_as_before(origin, tmp_path):
    store = tmp_path / "store"
    link = create_store(origin.path, store).link
    assert link.filter is None
    assert (store / link.bundle_file).read_bytes().startswith(b"# v2 git bundle\n")
    assert "filter" not in json.loads((store / "link-0001.json").read_bytes())["bundle"]


def header(*lines: bytes) -> bytes:
    """A bundle header of `lines` and one ref (no pack: only the header is read)."""
    return b"\n".join((*lines, b"1" * 40 + b" refs/heads/main", b"", b""))


@pytest.mark.parametrize("data, message", [
    (header(b"# v3 git bundle", b"@object-format=sha1", b"@unknown=1"), "unknown capability"),
    (header(b"# v3 git bundle", b"@filter=blob:none", b"@filter=blob:none"), "given twice"),
    (header(b"# v3 git bundle", b"@filter=blob:nothing"), "malformed filter"),
    (header(b"# v3 git bundle", b"@filter="), "malformed filter"),
    (header(b"# v2 git bundle", b"@filter=blob:none"), "misplaced capability"),
])
def test_bad_capabilities_are_refused(tmp_path, data, message):
    path = tmp_path / "x.bundle"
    path.write_bytes(data)
    with pytest.raises(BundleFormatError, match=message):
        read_header_file(path)


@pytest.mark.parametrize("spec", ["blob:none", "blob:limit=1024", "tree:0",
                                  "object:type=commit", "sparse:oid=main:sparse",
                                  "combine:blob:none+tree:2"])
def test_every_filter_git_writes_is_read(tmp_path, spec):
    """Any well-formed filter-spec is read (a plain git bundle may have it); stores write and
    apply only blob:none."""
    path = tmp_path / "x.bundle"
    path.write_bytes(header(b"# v3 git bundle", b"@object-format=sha1", b"@filter=" +
                            spec.encode()))
    with open(path, "rb") as stream:
        assert read_header(stream, str(path)).filter == spec


# ---------------------------------------------------------------------------------------------
# A chain applied into a partial clone


def grow(origin: SourceRepo, store: Path) -> None:
    """More history of every kind, a link for each step."""
    steps = [
        lambda: origin.commit("four", files={"src/c.ml": "let c = 4\n"}),     # main moves
        lambda: origin.git("tag", "old", "main~2"),                           # tag, old commit
        lambda: origin.git("branch", "-D", "topic"),                          # a ref deleted
        lambda: (origin.git("switch", "-q", "-c", "feature", "main~1"),       # a new branch,
                 origin.commit("five", files={"doc/guide.txt": "more\n"})),   # HEAD on it
    ]
    for step in steps:
        step()
        assert update_store(origin.path, store).link.filter == FILTER


def test_a_filtered_chain_applies_into_a_partial_clone(origin, tmp_path):
    store = tmp_path / "store"
    create_store(origin.path, store, filter_spec=FILTER)
    target = partial_clone(origin, tmp_path / "target.git")  # at link 1's state
    grow(origin, store)
    links = BundleStore(store).links()
    assert [link.filter for link in links] == [FILTER] * 5
    assert verify_path(store).ok  # offline
    assert verify_path(store, target).ok

    plan = apply_store(store, target)
    assert [link.sequence for link in plan.links] == [1, 2, 3, 4, 5]
    assert_same_repository(origin.path, target)  # refs, HEAD and `git fsck --strict`
    assert apply_store(store, target).up_to_date
    # The target lacks blobs only, and every pack apply took in is a promisor pack.
    missing = missing_objects(target)
    assert missing and missing <= blobs_of(origin.path)
    packs = sorted((target / "objects" / "pack").glob("*.pack"))
    assert len(packs) > 2 and all(pack.with_suffix(".promisor").exists() for pack in packs)
    # git itself checks each link in the target, and a blob is read through the promisor.
    for link in links:
        report = git(target, "bundle", "verify", str(store / link.bundle_file))
        assert "The bundle uses this filter: blob:none" in report
    assert git(target, "cat-file", "-p", "feature:doc/guide.txt") == "more\n"
    assert len(missing_objects(target)) == len(missing) - 1
    git(target, "fsck", "--strict", "--no-dangling")


def test_a_link_lacking_more_than_its_filter_leaves_out_changes_no_ref(origin, tmp_path,
                                                                       monkeypatch):
    """A bundle whose pack lacks trees although its header says blob:none (written here with
    tree:0) is refused after its objects are taken in, without fetching the trees from the
    promisor remote (which has them) and before any ref moves."""
    store = tmp_path / "store"
    create_store(origin.path, store, filter_spec=FILTER)
    target = partial_clone(origin, tmp_path / "target.git")
    origin.commit("new folder", files={"new/deep/x.ml": "let x = 0\n"})
    write_bundle = snapshot._write_bundle
    monkeypatch.setattr(snapshot, "_write_bundle", lambda *args: write_bundle(*args[:7],
                                                                             "tree:0"))
    update_store(origin.path, store)
    assert verify_path(store).ok  # the files are what their manifests say
    before = ref_listing(target)
    tree = origin.rev("main^{tree}")  # what the traversal stops at: its entries are unknown
    with pytest.raises(StoreError, match=rf"lacks 1 object\(s\) the new refs need, e\.g\. "
                                         rf"{tree}, .* beyond what its filter \(blob:none\)"):
        apply_store(store, target)
    assert ref_listing(target) == before
    assert git(target, "rev-list", "--objects", "--missing=print", "--no-walk",
               origin.rev("main")).split() == [origin.rev("main"), f"?{tree}"]  # not fetched


def test_a_complete_repository_is_refused_before_anything_changes(origin, tmp_path):
    store = tmp_path / "store"
    create_store(origin.path, store, filter_spec=FILTER)
    target = tmp_path / "complete.git"
    git(tmp_path, "clone", "-q", "--bare", str(origin.path), str(target))
    origin.commit("more")
    update_store(origin.path, store)
    before = tree_files(target)

    for args in ((), ("--force",), ("--dry-run",)):
        line = assert_one_line_error(run("bundle", "apply", str(store), "--repo", str(target),
                                         *args), "is not a partial clone")
        assert f"git clone --bare --filter={FILTER} <origin URL>" in line
    assert tree_files(target) == before  # refs, config, objects, no lock file
    report = verify_path(store, target)
    assert [problem.message for problem in report.problems] == [
        f"the store is filtered ({FILTER}) and {target} is not a partial clone: apply would "
        f"refuse it"]


def test_a_missing_target_is_not_created(origin, tmp_path):
    store = tmp_path / "store"
    create_store(origin.path, store, filter_spec=FILTER)
    target = tmp_path / "new" / "target.git"
    for args in ((), ("--dry-run",), ("--json",)):
        assert_one_line_error(run("bundle", "apply", str(store), "--repo", str(target), *args),
                              "cannot create", f"git clone --bare --filter={FILTER} <origin URL> "
                              f"{target}")
    assert not (tmp_path / "new").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ApplyRefused, match="cannot create"):
        apply_store(store, empty)
    assert list(empty.iterdir()) == []


def test_a_source_that_is_itself_a_partial_clone_is_bundled_without_fetching(origin,
                                                                             tmp_path):
    origin.commit("attributes", files={".gitattributes": "*.ml text\n"})
    source = partial_clone(origin, tmp_path / "source.git")  # lacks every blob
    missing = missing_objects(source)
    assert missing == blobs_of(origin.path)
    store = tmp_path / "store"
    created = create_store(source, store, filter_spec=FILTER)
    assert created.warnings == []  # nothing to fetch: the filter leaves out what is missing
    assert missing_objects(source) == missing  # not even .gitattributes, to look for LFS
    origin.commit("later", files={"src/a.ml": "let a = 5\n"})
    git(source, "fetch", "-q", "origin", "+refs/heads/*:refs/heads/*")
    missing = missing_objects(source)
    update_store(source, store)
    assert missing_objects(source) == missing  # no blob was fetched

    target = partial_clone(origin, tmp_path / "target.git")
    git(target, "update-ref", "refs/heads/main", "main~1")  # where link 1 has it
    apply_store(store, target)
    assert_same_repository(source, target)
    # Without a filter, bundling has to fetch what the source lacks: the warning says so.
    warned = create_store(source, tmp_path / "complete", filter_spec=None).warnings
    assert any("is a partial clone" in warning for warning in warned)


# ---------------------------------------------------------------------------------------------
# verify, compact


def test_verify_catches_an_edited_filter(origin, tmp_path):
    store = tmp_path / "store"
    create_store(origin.path, store, filter_spec=FILTER)
    origin.commit("more")
    update_store(origin.path, store)
    manifest = store / "link-0002.json"
    document = json.loads(manifest.read_bytes())

    del document["bundle"]["filter"]  # as if the link were complete
    manifest.write_text(json.dumps(document, indent=1) + "\n")
    messages = [problem.message for problem in verify_path(store).problems]
    assert any("has filter (none) but link 1 has blob:none" in message for message in messages)
    assert "filter does not match its manifest (blob:none != (none))" in messages
    assert not verify_path(store / "link-0002.bundle").ok

    document["bundle"]["filter"] = "tree:0"
    manifest.write_text(json.dumps(document, indent=1) + "\n")
    messages = [problem.message for problem in verify_path(store).problems]
    assert any("unsupported filter 'tree:0'" in message for message in messages)
    with pytest.raises(StoreError, match="unsupported filter"):
        BundleStore(store).links()


def test_a_compacted_filtered_store_applies(origin, tmp_path):
    store = tmp_path / "store"
    create_store(origin.path, store, filter_spec=FILTER)
    early = partial_clone(origin, tmp_path / "early.git")  # applies link 1 only, before
    apply_store(store, early)
    middle = partial_clone(origin, tmp_path / "middle.git")  # applies link 5, before
    grow(origin, store)
    apply_store(store, middle)
    origin.commit("six")
    update_store(origin.path, store)

    result = compact_store(store, keep=2)
    base = result.base
    assert (base.sequence, base.filter, base.prerequisites) == (5, FILTER, [])
    assert capability_lines((store / base.bundle_file).read_bytes()) == (
        b"# v3 git bundle\n@object-format=sha1\n@filter=blob:none\n")
    assert verify_path(store).ok
    assert [link.sequence for link in apply_store(store, early).links] == [5, 6]
    assert [link.sequence for link in apply_store(store, middle).links] == [6]
    fresh = partial_clone(origin, tmp_path / "fresh.git")  # at the newest state already
    assert [link.sequence for link in apply_store(store, fresh).links] == [5, 6]
    for target in (early, middle, fresh):
        assert_same_repository(origin.path, target)
        assert missing_objects(target) <= blobs_of(origin.path)
        assert git(target, "cat-file", "-p", "main:src/c.ml") == "let c = 4\n"


def test_a_partial_clone_ahead_of_the_store_is_refused_unless_forced(origin, tmp_path):
    """A clone made after the origin moved on: apply would rewind it, and it never applied."""
    store = tmp_path / "store"
    create_store(origin.path, store, filter_spec=FILTER)
    stored = origin.rev("main")
    origin.commit("ahead")
    target = partial_clone(origin, tmp_path / "target.git")
    before = ref_listing(target)
    with pytest.raises(ApplyRefused) as refused:
        apply_store(store, target)
    assert str(refused.value) == (
        f"{target} has refs this store does not hold (refs/heads/main): it has applied none of "
        f"this store's links; --force replaces them with the store's state")
    assert ref_listing(target) == before
    apply_store(store, target, force=True)
    assert git(target, "rev-parse", "main").strip() == stored


# ---------------------------------------------------------------------------------------------
# The command line


@pytest.mark.parametrize("spec", ["tree:7", "tree:0", "blob:limit=1k", "garbage", ""])
def test_create_refuses_other_filters(origin, tmp_path, spec):
    store = tmp_path / "store"
    line = assert_one_line_error(run("bundle", "create", "--repo", str(origin.path), str(store),
                                     "--filter", spec), "unsupported filter", FILTER)
    assert repr(spec) in line
    assert not store.exists()


def test_cli_shows_the_filter(origin, tmp_path):
    store = tmp_path / "store"
    created = json.loads(invoke("bundle", "create", "--repo", str(origin.path), str(store),
                                "--filter", FILTER, "--json").stdout)
    assert created["link"]["filter"] == FILTER
    origin.commit("more")
    text = invoke("bundle", "update", "--repo", str(origin.path), str(store)).stdout
    assert f"objects, filter {FILTER}; refs" in text
    listed = json.loads(invoke("bundle", "list", str(store), "--json").stdout)
    assert [entry["filter"] for entry in listed] == [FILTER, FILTER]
    assert f"filter {FILTER}: apply into a partial clone only" in invoke(
        "bundle", "list", str(store)).stdout
    heads = json.loads(invoke("bundle", "heads", str(store / "link-0002.bundle"),
                              "--json").stdout)
    assert (heads["version"], heads["filter"]) == (3, FILTER)
    assert invoke("bundle", "heads", str(store / "link-0002.bundle")).stdout == git(
        origin.path, "bundle", "list-heads", str(store / "link-0002.bundle"))

    # update keeps the store's filter; it has no --filter of its own.
    process = run("bundle", "update", "--repo", str(origin.path), str(store), "--filter",
                  "blob:none")
    assert process.returncode == 2 and "--filter" in process.stderr
    # create again over a store of the same state: up to date with its own filter only.
    plain = tmp_path / "plain"
    invoke("bundle", "create", "--repo", str(origin.path), str(plain), "-q")
    assert json.loads(invoke("bundle", "list", str(plain), "--json").stdout)[0]["filter"] is None
    assert "up to date" in invoke("bundle", "create", "--repo", str(origin.path),
                                  str(plain)).stdout
    before = tree_files(plain)
    assert_one_line_error(run("bundle", "create", "--repo", str(origin.path), str(plain),
                              "--filter", FILTER),
                          "already holds a bundle store with filter (none)")
    assert tree_files(plain) == before
