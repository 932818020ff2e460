"""`create` and `update`: snapshot the source repository's refs and write the next link.

A link's bundle carries every object that is new since the previous link's ref state, and its
header names every ref that was added or moved (even one pointing at an old commit, which
`git bundle create` would drop) plus HEAD. Deleted refs, rewound branches and HEAD switches need
no objects: the manifest's full ref state carries them.
"""

import hashlib
import re
import subprocess
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from devkit.bundle.bundlefile import HASH_LENGTHS, PACK_HEADER_LENGTH, header_bytes
from devkit.bundle.gitrepo import Repository, open_repository
from devkit.bundle.publish import refresh_published_list
from devkit.bundle.refstate import (
    RefChanges,
    RefState,
    compare,
    existing_objects,
    read_ref_state,
)
from devkit.bundle.signing import ManifestSigner, SigningError
from devkit.bundle.store import (
    BundleStore,
    Link,
    Selection,
    StoreError,
    bundle_name,
    check_filter,
    manifest_name,
)
from devkit.errors import DevkitError
from devkit.filesafety import (
    TEMP_PREFIX,
    crash_point,
    remove_stale_temporaries,
    write_atomically,
)

_CHUNK = 1 << 20
# What may already be in a folder that `create` is pointed at: leftovers of an interrupted create.
_CREATE_LEFTOVERS = re.compile(
    rf"\.lock|{re.escape(TEMP_PREFIX)}.*|link-\d{{4,}}\.bundle|link-\d{{4,}}\.json\.sig")


class SourceError(DevkitError):
    """The source repository cannot be bundled as asked."""


@dataclass(frozen=True)
class SnapshotResult:
    """What `create` or `update` did: the link written (None when up to date) and its changes."""

    store: BundleStore
    link: Link | None
    changes: RefChanges
    warnings: list[str] = field(default_factory=list)
    republished: bool = False  # whether the bundle list `publish` left in the store was rewritten


@dataclass(frozen=True)
class PackWritten:
    """What a bundle file written holds, as its manifest records it."""

    size: int
    sha256: str
    object_count: int
    pack_checksum: str


def create_store(source: Path, store_path: Path, selection: Selection | None = None,
                 progress: bool = False, filter_spec: str | None = None,
                 signer: ManifestSigner | None = None) -> SnapshotResult:
    """Start a new store at `store_path` whose link 1 holds all of `source`.

    With `filter_spec` (one of `store.FILTERS`) every link of the store leaves out the objects
    it names, as `git bundle create --filter` does. With `signer` its manifest is signed
    (see `signing`), and every later link's must be too.
    """
    check_filter(filter_spec)
    selection = selection or Selection()
    repo = _open_source(source)
    store = BundleStore(store_path)
    _check_folder_for_create(store)  # refuse before leaving anything (even a lock) behind
    store.path.mkdir(parents=True, exist_ok=True)
    with store.locked(f"devkit bundle create --repo {source}"):
        state = read_ref_state(repo, selection.remotes, selection.stash)
        if not state.refs:
            raise SourceError(f"{source} has no refs to bundle (make a commit first)")
        sequences = store.sequences()
        if sequences:
            if list(sequences) == [1] and _same_state(store.link(1).state, state):
                if store.link(1).filter != filter_spec:
                    raise StoreError(f"{store_path} already holds a bundle store with filter "
                                     f"{store.link(1).filter or '(none)'}; choose a new folder")
                return SnapshotResult(store, None, compare(state, state),
                                      _warnings(repo, filter_spec))
            raise StoreError(f"{store_path} already holds a bundle store ({len(sequences)} "
                             f"links); use `devkit bundle update` to add to it")
        _check_folder_for_create(store)
        remove_stale_temporaries(store.path)
        changes = compare(RefState(), state)
        link = _write_link(repo, store, None, state, changes, str(uuid.uuid4()), selection,
                           progress, filter_spec=filter_spec, signer=signer)
        return SnapshotResult(store, link, changes, _warnings(repo, filter_spec))


def _check_folder_for_create(store: BundleStore) -> None:
    """A new store goes into a new or empty folder (or one an interrupted create left)."""
    if not store.path.exists():
        return
    if not store.path.is_dir():
        raise StoreError(f"{store.path} exists and is not a folder; choose a new folder")
    if store.manifest_paths():
        return  # a store already: the caller decides
    unexpected = sorted(entry.name for entry in store.path.iterdir()
                        if not _CREATE_LEFTOVERS.fullmatch(entry.name))
    if unexpected:
        raise StoreError(f"{store.path} is not empty (it holds {unexpected[0]}); "
                         f"choose a new folder for the store")


def update_store(source: Path, store_path: Path, selection: Selection | None = None,
                 progress: bool = False, force: bool = False,
                 signer: ManifestSigner | None = None) -> SnapshotResult:
    """Append the next link to the store; write nothing when the source has not changed.

    `selection` None keeps the namespaces the store already carries. `force` accepts a source
    that shares no commit with the store (a history rewritten from its root commits). The
    link has the filter of the store's newest link: a chain keeps one filter. `signer` signs
    its manifest; it is required when the newest link is signed (`require_signer`).
    """
    repo = _open_source(source)
    store = BundleStore(store_path)
    if not store.exists():
        raise StoreError(f"{store_path} does not exist; start a store with `devkit bundle create`")
    with store.locked(f"devkit bundle update --repo {source}"):
        newest = store.newest_sequence()
        if not newest:
            raise StoreError(f"{store_path} holds no links; start it with `devkit bundle create`")
        previous = store.link(newest)
        selection = selection or previous.selection
        if repo.object_format != previous.object_format:
            raise SourceError(f"{source} uses {repo.object_format} object ids but the store "
                              f"holds {previous.object_format}: not the same repository")
        state = read_ref_state(repo, selection.remotes, selection.stash)
        changes = compare(previous.state, state)
        if _same_state(previous.state, state):  # the list may lag after an update cut short
            return SnapshotResult(store, None, changes,
                                  republished=refresh_published_list(store))
        require_signer(store, previous, signer, "update")
        remove_stale_temporaries(store.path)
        link = _write_link(repo, store, previous, state, changes, previous.identity, selection,
                           progress, force, previous.filter, signer)
        republished = refresh_published_list(store)
        return SnapshotResult(store, link, changes, republished=republished)


def require_signer(store: BundleStore, newest: Link, signer: ManifestSigner | None,
                   command: str) -> None:
    """Refuse to add an unsigned manifest to a chain whose newest link is signed: it would make
    the chain partly unsigned, and `verify --allowed-signers` fail, without anyone noticing."""
    if signer is None and store.signature_path(newest).exists():
        raise SigningError(f"link {newest.sequence} of {store.path} is signed "
                           f"({store.signature_path(newest).name}); pass --sign-key KEY so that "
                           f"`{command}` signs what it writes too")


def _same_state(old: RefState, new: RefState) -> bool:
    return old.refs == new.refs and old.head == new.head


def _open_source(source: Path) -> Repository:
    repo = open_repository(source)
    if repo.shallow:
        raise SourceError(f"{source} is a shallow clone: its history is incomplete, so no bundle "
                          f"of it can be applied elsewhere; run `git fetch --unshallow` first")
    return repo


def _warnings(repo: Repository, filter_spec: str | None = None) -> list[str]:
    """What a bundle of `repo` will not carry, for the user to know.

    Nothing here makes a partial clone fetch: a file of HEAD is read only if its blob is here.
    """
    warnings = []
    promisors = repo.promisor_remotes()
    # A partial clone lacks what its filter left out; a store with the same filter needs none of it.
    if promisors and (filter_spec is None or set(promisors.values()) != {filter_spec}):
        warnings.append(f"{repo.path} is a partial clone: bundling fetches the objects it lacks "
                        f"from its promisor remote, and fails if that remote is unreachable")
    attributes = b""
    # `rev-list --missing=print` never fetches (cat-file would): exit 0 when the blob is here.
    if repo.git("rev-list", "--objects", "--missing=print", "--no-walk", "HEAD:.gitattributes",
                ok_codes=(0, 128)).returncode == 0:
        attributes = repo.git("cat-file", "blob", "HEAD:.gitattributes",
                              ok_codes=(0, 128)).stdout
    if b"filter=lfs" in attributes or (repo.git_dir / "lfs").is_dir():
        warnings.append(f"{repo.path} uses Git LFS: LFS file contents are not in git bundles; "
                        f"copy them with `git lfs fetch --all` and `git lfs push` separately")
    if repo.git("rev-parse", "-q", "--verify", "HEAD:.gitmodules",
                ok_codes=(0, 1)).returncode == 0:
        warnings.append(f"{repo.path} has submodules: their repositories are not in the bundle; "
                        f"bundle each of them separately")
    return warnings


def _write_link(repo: Repository, store: BundleStore, previous: Link | None, state: RefState,
                changes: RefChanges, identity: str, selection: Selection, progress: bool,
                force: bool = False, filter_spec: str | None = None,
                signer: ManifestSigner | None = None) -> Link:
    """Write the bundle for `state` (relative to `previous`), then the manifest that shows it."""
    sequence = previous.sequence + 1 if previous else 1
    old_values: set[str] = set(previous.state.refs.values()) if previous else set()
    if previous and previous.state.head.detached:
        old_values.add(previous.state.head.detached)
    old_tips = previous.state.commit_tips() if previous else set()
    # Objects of the previous state that the source no longer has (a rewritten, garbage-
    # collected branch) cannot be excluded by name; the pack then simply carries them again.
    known = existing_objects(repo, old_values | old_tips)
    prerequisites = sorted(known & old_tips)
    if previous is None:
        roots = root_commits(repo, state)
    else:
        roots = previous.roots
        if old_tips and not prerequisites and not existing_objects(repo, set(roots)):
            if not force:
                raise SourceError(
                    f"{repo.path} has none of the commits of the store's history: it is not the "
                    f"repository this store was made from, or its whole history was rewritten "
                    f"(then --force writes a self-contained link)")
            roots = root_commits(repo, state)
    header_names = changes.added.keys() | changes.moved.keys()
    bundle_path = store.path / bundle_name(sequence)
    written = write_state_bundle(repo, bundle_path, state, header_names, prerequisites, known,
                                 progress, filter_spec)
    link = Link(
        identity=identity,
        sequence=sequence,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        bundle_file=bundle_path.name,
        size=written.size,
        sha256=written.sha256,
        pack_checksum=written.pack_checksum,
        object_count=written.object_count,
        object_format=repo.object_format,
        prerequisites=prerequisites,
        state=state,
        selection=selection,
        previous_manifest_sha256=previous.manifest_sha256 if previous else None,
        roots=roots,
        filter=filter_spec,
    )
    crash_point(f"before manifest {manifest_name(sequence)}")
    store.write_manifest(link, signer)
    return link


def write_state_bundle(repo: Repository, path: Path, state: RefState, header_names: Iterable[str],
                       prerequisites: list[str], known: set[str], progress: bool,
                       filter_spec: str | None = None) -> PackWritten:
    """Write (atomically) a bundle of `state` for a repository that has the objects `known`.

    Its header names HEAD and the refs in `header_names`; its pack holds every object the
    state reaches that `known` does not, as a thin pack against `known`, less what
    `filter_spec` leaves out (the header then says `@filter=`). A filtered pack is written
    without ever reading the objects the filter leaves out, so `repo` may lack them.
    """
    header_refs = [(oid, name) for name, oid in sorted(state.refs.items())
                   if name in header_names]
    head_oid = state.head_oid()
    if head_oid:
        header_refs.insert(0, (head_oid, "HEAD"))
    wanted = set(state.refs.values()) | ({head_oid} if head_oid else set())
    header = header_bytes(prerequisites, header_refs, repo.object_format, filter_spec)
    return write_atomically(path, lambda stream: _write_bundle(
        repo, stream, header, sorted(wanted - known), sorted(known), repo.object_format, progress,
        filter_spec))


def root_commits(repo: Repository, state: RefState) -> list[str]:
    """The commits without parents in the history of `state`."""
    tips = "".join(f"{oid}\n" for oid in sorted(state.commit_tips()))
    return sorted(repo.git_text("rev-list", "--max-parents=0", "--stdin",
                                input=tips.encode()).split())


def _write_bundle(repo: Repository, stream: BinaryIO, header: bytes, include: list[str],
                  exclude: list[str], object_format: str, progress: bool,
                  filter_spec: str | None = None) -> PackWritten:
    """Write `header` and a pack of what `include` reaches and `exclude` does not to `stream`
    (less what `filter_spec` leaves out)."""
    file_hash = hashlib.sha256(header)
    stream.write(header)
    revisions = "".join([f"{oid}\n" for oid in include] + [f"^{oid}\n" for oid in exclude])
    args = ["pack-objects", "--stdout", "--revs", "--delta-base-offset",
            "--progress" if progress else "-q"]
    if exclude:
        args.append("--thin")
    if filter_spec:
        args.append(f"--filter={filter_spec}")
    checksum_length = HASH_LENGTHS[object_format]
    size = len(header)
    pack_start = b""
    tail = b""
    with repo.streaming(*args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        show_stderr=progress) as process:
        process.stdin.write(revisions.encode())
        process.stdin.close()
        while chunk := process.stdout.read(_CHUNK):
            stream.write(chunk)
            file_hash.update(chunk)
            size += len(chunk)
            if len(pack_start) < PACK_HEADER_LENGTH:
                pack_start = (pack_start + chunk)[:PACK_HEADER_LENGTH]
            tail = (tail + chunk if len(chunk) < checksum_length else chunk)[-checksum_length:]
            crash_point("while writing pack")
    if len(pack_start) < PACK_HEADER_LENGTH or not pack_start.startswith(b"PACK"):
        raise DevkitError(f"git pack-objects in {repo.path} wrote no pack")
    return PackWritten(size=size, sha256=file_hash.hexdigest(),
                        object_count=int.from_bytes(pack_start[8:12], "big"),
                        pack_checksum=tail.hex())
