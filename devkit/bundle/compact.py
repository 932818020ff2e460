"""`compact`: fold the oldest links into a new self-contained base, so the chain keeps at most
`keep` links.

Sequence numbers do not change. The new base is link B = newest - keep + 1: it holds the same
ref state as the link it replaces, but as a bundle without prerequisites, and its manifest
(`link-BBBB-base.json`) names the manifest it replaces, which link B+1 follows. A target that
applied link B or later goes on with B+1; one that applied an older link, or none, starts at the
base. The links after B are untouched.

The order of work makes a kill at any point harmless and a rerun complete it:

1. check every link's bundle against its manifest, and that every other manifest in the folder
   is a leftover of this chain's own compaction (`BundleStore.strays`): files are removed only
   on behalf of a chain that is whole and is the store's;
2. take the objects of the links up to B into a scratch repository in the store folder;
3. write the base bundle `link-BBBB-base.bundle` from it (atomically);
4. verify the base: its file against its manifest-to-be, and, indexed into an empty scratch
   repository, that the history of every ref is complete without anything else;
5. write `link-BBBB-base.json` (with `--sign-key`, its signature `link-BBBB-base.json.sig`
   first): from this rename on, the chain starts at B;
6. rewrite the bundle list if `publish` left one in the store folder, then remove what the new
   base supersedes: the older manifests, `link-BBBB.json`, and every bundle no manifest of the
   chain names.

Until 5 the old chain is the store; after it, the files of 6 are leftovers that every reader
ignores and the next `compact` removes. Scratch repositories are `.tmp-` folders, removed by the
next command that writes to the store.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from devkit.bundle.apply import take_objects
from devkit.bundle.gitrepo import Repository, init_bare_repository
from devkit.bundle.publish import refresh_published_list
from devkit.bundle.signing import ManifestSigner
from devkit.bundle.snapshot import require_signer, write_state_bundle
from devkit.bundle.store import (
    BundleStore,
    Link,
    StoreError,
    bundle_name,
    link_files,
    remove_superseded,
    superseded_files,
)
from devkit.bundle.verify import check_link_file, check_link_files
from devkit.errors import DevkitError
from devkit.filesafety import TEMP_PREFIX, crash_point, remove_stale_temporaries


@dataclass(frozen=True)
class CompactResult:
    """What `compact` did (or, with `dry_run`, would do): the links folded into the new base
    (empty when the chain was short enough already) and that base, the chain before and after,
    the superseded files removed and their total size, and whether the bundle list `publish`
    left in the store was rewritten."""

    store: BundleStore
    folded: range
    base: Link | None
    before: range
    after: range
    removed: list[str]
    freed: int
    republished: bool
    dry_run: bool = False


def compact_store(store_path: Path, keep: int, progress: bool = False,
                  signer: ManifestSigner | None = None, dry_run: bool = False) -> CompactResult:
    """Fold the oldest links of the store into a new base so that at most `keep` remain.

    `signer` signs the base's manifest; it is required when the newest link, or the one the
    base replaces, is signed. `dry_run` checks everything and says what would change.
    """
    if keep < 1:
        raise DevkitError(f"--keep must be at least 1 (got {keep})")
    store = BundleStore(store_path)
    if not store.exists():
        raise StoreError(f"{store_path} is not a bundle store (no such folder)")
    with store.locked(f"devkit bundle compact --keep {keep}"):
        before = store.sequences()
        if not before:
            raise StoreError(f"{store_path} holds no links; nothing to compact")
        links = store.links()
        store.check_strays(links[0])  # nothing is removed on behalf of a chain that is not real
        folded = links[: len(links) - keep + 1] if len(links) > keep else []
        for signed in (links[-1], folded[-1]) if folded else ():  # the base replaces one
            require_signer(store, signed, signer, "compact")
        pack_offsets = check_link_files(store, links)  # every link, also when none is folded
        span = range(folded[0].sequence, folded[-1].sequence + 1) if folded else range(0)
        if dry_run:
            after = range(folded[-1].sequence, before.stop) if folded else before
            doomed = superseded_files(store.path, links) + [
                store.path / name for link in folded for name in link_files(link)
                if (store.path / name).exists()]
            return CompactResult(store, span, None, before, after,
                                 [path.name for path in doomed],
                                 sum(path.stat().st_size for path in doomed), False, True)
        remove_stale_temporaries(store.path)
        base = _write_base(store, folded, pack_offsets, progress, signer) if folded else None
        republished = refresh_published_list(store)
        removed = remove_superseded(store.path, store.links())
        return CompactResult(store, span, base, before, store.sequences(),
                             [name for name, _ in removed], sum(size for _, size in removed),
                             republished)


def _write_base(store: BundleStore, folded: list[Link], pack_offsets: dict[int, int],
                progress: bool, signer: ManifestSigner | None) -> Link:
    """Write the base that replaces `folded[-1]` and holds everything `folded` holds."""
    replaced = folded[-1]
    with _scratch_repository(store, "fold", replaced.object_format) as scratch:
        for link in folded:
            take_objects(store, link, pack_offsets[link.sequence], scratch, progress)
        path = store.path / bundle_name(replaced.sequence, base=True)
        written = write_state_bundle(scratch, path, replaced.state, replaced.state.refs, [],
                                     set(), progress, replaced.filter)
    base = replace(replaced, bundle_file=path.name, size=written.size, sha256=written.sha256,
                   pack_checksum=written.pack_checksum, object_count=written.object_count,
                   prerequisites=[], replaces_manifest_sha256=replaced.manifest_sha256,
                   manifest_sha256="")
    crash_point("before checking the new base")
    _check_base(store, base)
    store.write_manifest(base, signer)
    return base


def _check_base(store: BundleStore, base: Link) -> None:
    """The base's file matches its manifest, and it holds the whole history of its refs."""
    scan = check_link_file(store, base, None)
    with _scratch_repository(store, "check", base.object_format) as empty:
        take_objects(store, base, scan.header.pack_offset, empty, progress=False)
        tips = set(base.state.refs.values())
        if base.state.head_oid():
            tips.add(base.state.head_oid())
        # A filtered base may lack what its filter leaves out, and nothing else.
        empty.git("rev-list", "--objects", *([f"--filter={base.filter}"] if base.filter else []),
                  "--stdin", "--quiet",
                  input="".join(f"{oid}\n" for oid in sorted(tips)).encode())


@contextmanager
def _scratch_repository(store: BundleStore, purpose: str,
                        object_format: str) -> Iterator[Repository]:
    """A bare repository in a `.tmp-` folder of the store, removed on leaving the block.

    It needs no partial-clone settings for a filtered store: its packs are indexed as promisor
    packs, and `pack-objects --filter` and `rev-list --filter` never look for the objects the
    filter leaves out. Without a promisor remote nothing can try to fetch them either.
    """
    path = store.path / f"{TEMP_PREFIX}{purpose}-{os.getpid()}.git"
    shutil.rmtree(path, ignore_errors=True)
    try:
        yield init_bare_repository(path, object_format)
    finally:
        shutil.rmtree(path, ignore_errors=True)
