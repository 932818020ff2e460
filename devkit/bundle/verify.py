"""Offline checks of a bundle file or of a whole store, and optionally of a target's readiness.

Nothing here needs a repository: the files are checked against the git bundle format and against
their manifests, and the chain against itself. With a target repository, the prerequisites of
the first link it lacks must be present there, and a filtered store's target must be a partial
clone. With an allowed-signers file, every manifest must carry a valid signature by one of its
keys (`signing`); a bundle altered after signing no longer matches its signed manifest.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from devkit.bundle.bundlefile import BundleFormatError, BundleScan, scan_bundle
from devkit.bundle.bundlelist import LIST_FILE, check_bundle_list
from devkit.bundle.gitrepo import Repository, open_repository
from devkit.bundle.refstate import existing_objects
from devkit.bundle.signing import AllowedSigners, SignatureError
from devkit.bundle.store import (
    BundleStore,
    Link,
    StoreError,
    link_file_sequence,
    why_not_following,
)
from devkit.bundle.target import applied_sequence, read_record
from devkit.errors import DevkitError


@dataclass(frozen=True)
class Problem:
    """One failed check: the file it concerns and what is wrong."""

    path: str
    message: str


@dataclass
class VerifyReport:
    checked: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    bytes_checked: int = 0
    signers: dict[str, str] = field(default_factory=dict)  # manifest path: principal who signed
    # What is not wrong but out of date (a published list that lags behind the chain).
    notes: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, path: Path | str, message: str) -> None:
        self.problems.append(Problem(str(path), message))


Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


def verify_path(path: Path, target: Path | None = None, progress: Progress | None = None,
                allowed_signers: Path | None = None) -> VerifyReport:
    """Check a store folder or one bundle file; with `target`, that it can be applied there;
    with `allowed_signers`, that every manifest is signed by one of them."""
    path = Path(path)
    signers = AllowedSigners(allowed_signers) if allowed_signers is not None else None
    if path.is_dir():
        return verify_store(BundleStore(path), target, progress, signers)
    if not path.exists():
        raise StoreError(f"{path} does not exist")
    repo = open_repository(target) if target is not None else None
    report = VerifyReport()
    scan = _scan(path, report, _byte_progress(progress, 0, _size(path)))
    if scan:
        _check_against_own_manifest(path, scan, report, signers)
    if scan and repo is not None:
        _check_present(repo, scan.header.prerequisites, path, report)
    return report


def _check_against_own_manifest(path: Path, scan: BundleScan, report: VerifyReport,
                                signers: AllowedSigners | None) -> None:
    """A bundle file that is a link of a store is checked against that link's manifest too (and
    with `signers`, the manifest's signature)."""
    sequence = link_file_sequence(path.name, "bundle")
    store = BundleStore(path.parent)
    unsigned = "no manifest of a store describes it, so no signature covers it"
    if sequence is None or sequence not in store.manifest_paths():
        if signers is not None:
            report.fail(path, unsigned)
        return
    try:
        link = store.link(sequence)
        if link.bundle_file != path.name:
            if signers is not None:
                report.fail(path, f"{unsigned} (superseded by a compaction)")
            return  # superseded by a compaction: no manifest describes it any more
        _check_signature(store, link, signers, report)
        first = link.compacted or link.sequence == 1
        previous = None if first else store.link(link.sequence - 1)
    except StoreError as error:
        report.fail(path, str(error))
        return
    _check_against_manifest(path, scan, link, previous, report)


def _check_signature(store: BundleStore, link: Link, signers: AllowedSigners | None,
                     report: VerifyReport) -> None:
    """With `signers`, `link`'s manifest must carry a valid signature by one of them."""
    if signers is None:
        return
    manifest = store.path / link.manifest_file
    try:
        report.signers[str(manifest)] = signers.check(manifest, link.manifest_sha256)
    except SignatureError as error:
        report.fail(error.path, error.reason)


def verify_store(store: BundleStore, target: Path | None = None,
                 progress: Progress | None = None,
                 signers: AllowedSigners | None = None) -> VerifyReport:
    """Check every link of the store; with `signers`, every manifest's signature too."""
    if not store.exists():
        raise StoreError(f"{store.path} is not a bundle store (no such folder)")
    repo = open_repository(target) if target is not None else None
    report = VerifyReport()
    links: list[Link] = []
    for sequence, manifest_path in store.manifest_paths().items():
        try:
            links.append(store.link(sequence))
        except StoreError as error:
            report.fail(manifest_path, str(error).removeprefix(f"{manifest_path}: "))
    if not links and not report.problems:
        report.fail(store.path, "no links (no link-NNNN.json manifests)")
    _check_chain(store, links, report)
    for path, message in store.strays(links[0]) if links else ():
        report.fail(path, message)
    for link in links:
        _check_signature(store, link, signers, report)

    total = sum(_size(store.bundle_path(link)) for link in links)
    done = 0
    by_sequence = {link.sequence: link for link in links}
    for link in links:
        bundle_path = store.bundle_path(link)
        scan = _scan(bundle_path, report, _byte_progress(progress, done, total))
        done += _size(bundle_path)
        previous = None if link is links[0] else by_sequence.get(link.sequence - 1)
        if scan and (previous or link is links[0]):
            _check_against_manifest(bundle_path, scan, link, previous, report)
    if repo is not None and links and report.ok:
        # The prerequisites of the first link the target still needs must be there.
        applied = applied_sequence(read_record(repo), links[-1])
        needed = [link for link in links if link.sequence > applied]
        if needed:
            _check_present(repo, needed[0].prerequisites, store.bundle_path(needed[0]), report)
        if needed and links[-1].filter and not repo.promisor_remotes():
            report.fail(store.path, f"the store is filtered ({links[-1].filter}) and "
                                    f"{repo.path} is not a partial clone: apply would refuse it")
    if links:  # a list `publish` wrote here
        listed = check_bundle_list(store.path, links)
        for message in listed.problems:
            report.fail(store.path / LIST_FILE, message)
        for message in listed.stale:
            report.notes.append(Problem(str(store.path / LIST_FILE), message))
    return report


class LinkFileError(DevkitError):
    """A link's bundle file is missing, corrupt, or does not match its manifest."""


def check_link_file(store: BundleStore, link: Link, previous: Link | None) -> BundleScan:
    """Scan one link's bundle and check it against its manifest (and the previous link's);
    raise LinkFileError if anything is wrong."""
    report = VerifyReport()
    path = store.bundle_path(link)
    scan = _scan(path, report, None)
    if scan:
        _check_against_manifest(path, scan, link, previous, report)
    if not report.ok:
        problem = report.problems[0]
        raise LinkFileError(f"{problem.path}: {problem.message}")
    return scan


def check_link_files(store: BundleStore, links: list[Link],
                     before: Link | None = None) -> dict[int, int]:
    """`check_link_file` for each of `links` in order (`before` is the link before the first);
    where each one's pack starts in its file, by sequence number."""
    return {link.sequence: check_link_file(store, link, previous).header.pack_offset
            for previous, link in pairwise([before, *links])}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _byte_progress(progress: Progress | None, offset: int, total: int):
    if progress is None:
        return None
    return lambda done: progress(offset + done, total)


def _scan(path: Path, report: VerifyReport, progress) -> BundleScan | None:
    try:
        scan = scan_bundle(path, progress)
    except BundleFormatError as error:
        report.fail(path, str(error).removeprefix(f"{path}: "))
        return None
    report.checked.append(str(path))
    report.bytes_checked += scan.size
    return scan


def _check_chain(store: BundleStore, links: list[Link], report: VerifyReport) -> None:
    """No missing link, a self-contained first link (link 1 or a compacted base), and each link
    following the one before."""
    previous: Link | None = None
    first = links[0].sequence if links and links[0].compacted else 1
    for expected, link in enumerate(links, start=first):
        where = store.path / link.manifest_file
        if link.sequence != expected:
            report.fail(where, f"chain is broken: link {expected} is missing")
            return
        if previous is None and link.prerequisites:
            report.fail(where, f"link {link.sequence}, the first of the chain, has "
                               f"prerequisites; it must be self-contained")
        reason = previous and why_not_following(previous, link)
        if reason:
            report.fail(where, reason)
        previous = link


def _check_against_manifest(path: Path, scan: BundleScan, link: Link, previous: Link | None,
                            report: VerifyReport) -> None:
    """The file is the one the manifest describes, and the manifest's refs follow from it.

    A link's header names every ref that was added or moved, so every other ref of its state
    must have the value it had in the previous link's state.
    """
    expected = {
        "size": (scan.size, link.size),
        "SHA-256": (scan.sha256, link.sha256),
        "pack checksum": (scan.pack_checksum, link.pack_checksum),
        "object count": (scan.object_count, link.object_count),
        "object format": (scan.header.object_format, link.object_format),
        "filter": (scan.header.filter or "(none)", link.filter or "(none)"),
    }
    for what, (actual, recorded) in expected.items():
        if actual != recorded:
            report.fail(path, f"{what} does not match its manifest ({actual} != {recorded})")
            return
    if scan.header.prerequisites != link.prerequisites:
        report.fail(path, "prerequisites in the header do not match the manifest")
    in_header = {}
    for oid, name in scan.header.refs:
        recorded = link.state.head_oid() if name == "HEAD" else link.state.refs.get(name)
        if recorded != oid:
            report.fail(path, f"header ref {name} does not match the manifest")
            return
        in_header[name] = oid
    before = previous.state.refs if previous else {}
    for name, oid in link.state.refs.items():
        if name not in in_header and before.get(name) != oid:
            report.fail(path, f"manifest ref {name} is neither in the bundle header nor "
                              f"unchanged since the previous link (manifest altered?)")
            return


def _check_present(repo: Repository, prerequisites: list[str], path: Path,
                   report: VerifyReport) -> None:
    missing = set(prerequisites) - existing_objects(repo, set(prerequisites))
    if missing:
        report.fail(path, f"{len(missing)} prerequisite commit(s) missing in {repo.path}, "
                          f"e.g. {min(missing)}")
