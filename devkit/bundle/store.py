"""The bundle store: a folder holding a chain of links, each a git bundle plus its manifest.

See docs/bundle-store.md for the format. A link becomes visible when its manifest
`link-NNNN.json` exists; the manifest is always written after its bundle, atomically.
"""

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from devkit.bundle.bundlefile import HASH_LENGTHS
from devkit.bundle.refname import is_store_refname
from devkit.bundle.refstate import Head, RefState
from devkit.bundle.signing import ManifestSigner, signature_name
from devkit.errors import DevkitError
from devkit.filesafety import crash_point, exclusive_lock, write_atomically

FORMAT_NAME = "devkit-bundle-store"
FORMAT_VERSION = 1
LOCK_FILE = ".lock"
_MANIFEST_NAME = re.compile(r"link-(\d{4,})(-base)?\.json")
# The files a store keeps for its links: bundle, manifest, manifest signature.
_LINK_FILE = re.compile(r"link-(\d{4,})(-base)?\.(bundle|json|json\.sig)")
_BUNDLE_FILE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*\.bundle")


class StoreError(DevkitError):
    """The store is missing, malformed, incomplete, or of an unknown format version."""


# The object filters a store's bundles may be written with (`create --filter`). blob:limit=<n>
# is not one: `pack-objects --thin` may send a small blob as a delta against an old blob the
# filter left out, which the receiver lacks; tree:<n> would leave receivers fetching every tree.
FILTERS = ("blob:none",)


def check_filter(filter_spec: str | None) -> str | None:
    """`filter_spec` if a store can be written with it (None: no filter), else StoreError."""
    if filter_spec is not None and filter_spec not in FILTERS:
        raise StoreError(f"unsupported filter {filter_spec!r}: a store's bundles can be filtered "
                         f"only with {', '.join(FILTERS)} (no file contents, for partial clones)")
    return filter_spec


@dataclass(frozen=True)
class Selection:
    """Which optional ref namespaces the store carries."""

    remotes: bool = False
    stash: bool = False


@dataclass(frozen=True)
class Link:
    """One link of the chain, as its manifest describes it."""

    identity: str
    sequence: int
    created: str
    bundle_file: str
    size: int
    sha256: str
    pack_checksum: str
    object_count: int
    object_format: str
    prerequisites: list[str]
    state: RefState
    selection: Selection
    previous_manifest_sha256: str | None
    roots: list[str]  # the root commits of the history link 1 carried: the repository's mark
    # A base written by `compact` stands in for the link's original manifest, whose hash the
    # next link names as its previous one.
    replaces_manifest_sha256: str | None = None
    manifest_sha256: str = ""  # the SHA-256 of the manifest file itself, filled in on load
    filter: str | None = None  # the bundle's object filter (`@filter=`), None: complete packs

    @property
    def compacted(self) -> bool:
        """Whether this link is a self-contained base that `compact` wrote."""
        return self.replaces_manifest_sha256 is not None

    @property
    def manifest_file(self) -> str:
        return manifest_name(self.sequence, self.compacted)

    def follows(self, previous: "Link") -> bool:
        """Whether this link's recorded previous manifest is `previous` (or the one it replaced)."""
        return self.previous_manifest_sha256 in (previous.manifest_sha256,
                                                 previous.replaces_manifest_sha256)


def manifest_name(sequence: int, base: bool = False) -> str:
    return f"link-{sequence:04d}{'-base' if base else ''}.json"


def bundle_name(sequence: int, base: bool = False) -> str:
    return f"link-{sequence:04d}{'-base' if base else ''}.bundle"


def manifest_bytes(link: Link) -> bytes:
    """The manifest of `link` as written to disk (JSON, keys in a fixed order)."""
    document = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "identity": link.identity,
        "sequence": link.sequence,
        "created": link.created,
        "previous_manifest_sha256": link.previous_manifest_sha256,
        "bundle": {
            "file": link.bundle_file,
            "size": link.size,
            "sha256": link.sha256,
            "pack_checksum": link.pack_checksum,
            "objects": link.object_count,
            "object_format": link.object_format,
            **({"filter": link.filter} if link.filter else {}),
        },
        "prerequisites": link.prerequisites,
        "roots": link.roots,
        **({"replaces_manifest_sha256": link.replaces_manifest_sha256} if link.compacted else {}),
        "selection": {"remotes": link.selection.remotes, "stash": link.selection.stash},
        "head": ({"symref": link.state.head.symref} if link.state.head.symref
                 else {"detached": link.state.head.detached}),
        "refs": link.state.refs,
        "peeled": link.state.peeled,
    }
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode()


def parse_manifest(data: bytes, where: str) -> Link:
    """Read a manifest, checking its format version and every value before anything uses it."""
    def bad(what: str) -> StoreError:
        return StoreError(f"{where}: {what}")

    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad("manifest is not valid JSON (corrupt or truncated)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise bad("not a devkit bundle-store manifest")
    if document.get("version") != FORMAT_VERSION:
        raise bad(f"unknown store format version {document.get('version')!r}; this devkit reads "
                  f"version {FORMAT_VERSION}: upgrade devkit")
    try:
        bundle = document["bundle"]
        object_format = bundle["object_format"]
        if object_format not in HASH_LENGTHS:
            raise bad(f"unknown object format {object_format!r}")
        oid = re.compile(f"[0-9a-f]{{{2 * HASH_LENGTHS[object_format]}}}")

        def object_id(value: object) -> str:
            if not isinstance(value, str) or not oid.fullmatch(value):
                raise bad(f"invalid object id {value!r}")
            return value

        def ref_name(value: object) -> str:
            if not isinstance(value, str) or not is_store_refname(value):
                raise bad(f"invalid ref name {value!r} (corrupt or hostile manifest)")
            return value

        refs = {ref_name(name): object_id(value) for name, value in document["refs"].items()}
        peeled = {ref_name(name): (None if value is None else object_id(value))
                  for name, value in document["peeled"].items()}
        head_doc = document["head"]
        if "symref" in head_doc:
            head = Head(symref=ref_name(head_doc["symref"]))
        else:
            detached = head_doc["detached"]
            head = Head(detached=None if detached is None else object_id(detached))
        sequence = document["sequence"]
        if not isinstance(sequence, int) or sequence < 1:
            raise bad(f"invalid sequence number {sequence!r}")
        previous = document["previous_manifest_sha256"]
        filter_spec = bundle.get("filter")
        if filter_spec is not None and filter_spec not in FILTERS:
            raise bad(f"unsupported filter {filter_spec!r} (this devkit writes and applies "
                      f"{', '.join(FILTERS)})")
        if not _BUNDLE_FILE_NAME.fullmatch(str(bundle["file"])):
            raise bad(f"invalid bundle file name {bundle['file']!r}")
        return Link(
            identity=str(document["identity"]),
            sequence=sequence,
            created=str(document["created"]),
            bundle_file=str(bundle["file"]),
            size=int(bundle["size"]),
            sha256=str(bundle["sha256"]),
            pack_checksum=str(bundle["pack_checksum"]),
            object_count=int(bundle["objects"]),
            object_format=object_format,
            prerequisites=[object_id(value) for value in document["prerequisites"]],
            state=RefState(refs=refs, peeled=peeled, head=head),
            selection=Selection(remotes=bool(document["selection"]["remotes"]),
                                stash=bool(document["selection"]["stash"])),
            previous_manifest_sha256=None if previous is None else str(previous),
            roots=[object_id(value) for value in document["roots"]],
            replaces_manifest_sha256=_optional_sha256(document.get("replaces_manifest_sha256"),
                                                      bad),
            manifest_sha256=hashlib.sha256(data).hexdigest(),
            filter=filter_spec,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise bad(f"manifest is missing or has a malformed field ({error})") from None


def _optional_sha256(value: object, bad) -> str | None:
    if value is not None and not (isinstance(value, str) and re.fullmatch("[0-9a-f]{64}", value)):
        raise bad(f"invalid SHA-256 {value!r}")
    return value


def why_not_following(previous: Link, link: Link) -> str | None:
    """Why `link` cannot be the link after `previous` in one chain; None when it can."""
    if link.identity != previous.identity:
        return (f"belongs to another repository (identity {link.identity}, link "
                f"{previous.sequence} has {previous.identity})")
    if not link.follows(previous):
        return (f"does not follow link {previous.sequence}: the recorded hash of its manifest "
                f"differs (altered or replaced)")
    if link.filter != previous.filter:
        return (f"has filter {link.filter or '(none)'} but link {previous.sequence} has "
                f"{previous.filter or '(none)'}: all links of a chain have the same filter")
    missing = set(link.prerequisites) - previous.state.commit_tips()
    if missing:
        return (f"prerequisite {min(missing)} is not a commit of link {previous.sequence}'s "
                f"ref state")
    return None


def link_files(link: Link) -> list[str]:
    """The names of a link's files in a store folder, in the order they are written: its bundle,
    its manifest's signature (when signed), its manifest."""
    return [link.bundle_file, signature_name(link.manifest_file), link.manifest_file]


def link_file_sequence(name: str, kind: str | None = None) -> int | None:
    """The sequence number in a link file's name (`link-0006-base.bundle`: 6), None for a name
    that is not a link file's; `kind` ("bundle", "json", "json.sig") asks for one kind only."""
    match = _LINK_FILE.fullmatch(name)
    if not match or kind not in (None, match.group(3)):
        return None
    return int(match.group(1))


def superseded_files(folder: Path, links: list[Link]) -> list[Path]:
    """The link files in `folder` that the chain `links` supersedes: those of sequence numbers up
    to its base that no link of it names (what `compact` folded away), manifests and signatures
    first. Call it only for a chain whose strays (`BundleStore.strays`) were checked."""
    kept = {name for link in links for name in link_files(link)}
    return sorted((entry for entry in folder.iterdir()
                   if (sequence := link_file_sequence(entry.name)) is not None
                   and sequence <= links[0].sequence and entry.name not in kept),
                  key=lambda entry: (entry.suffix == ".bundle", entry.name))


def remove_superseded(folder: Path, links: list[Link]) -> list[tuple[str, int]]:
    """Remove the `superseded_files`, in their order (so a kill midway leaves no manifest whose
    bundle is gone); their names and sizes."""
    removed = []
    for entry in superseded_files(folder, links):
        removed.append((entry.name, entry.stat().st_size))
        entry.unlink()
        crash_point(f"after removing {entry.name}")
    return removed


def spans(sequences: Iterable[int]) -> str:
    """Sequence numbers in short: '1..3, 5' for [1, 2, 3, 5] (ascending)."""
    spans: list[list[int]] = []
    for sequence in sequences:
        if spans and spans[-1][1] == sequence - 1:
            spans[-1][1] = sequence
        else:
            spans.append([sequence, sequence])
    return ", ".join(f"{a}" if a == b else f"{a}..{b}" for a, b in spans)


class BundleStore:
    """A store folder. Nothing is read until asked for; `links()` reads and checks manifests."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._read: dict[int, Link] = {}

    def exists(self) -> bool:
        return self.path.is_dir()

    def manifest_paths(self, names: list[str] | None = None) -> dict[int, Path]:
        """The chain's manifests by sequence number, from its base to the newest.

        The base is link 1, or the newest `link-NNNN-base.json` that `compact` wrote: the
        manifests older than that base are superseded (leftovers of an interrupted compaction,
        which the next `compact` removes) and not part of the chain. Gaps are left for the
        caller to find (`sequences()` raises on them, `verify` reports them).
        """
        plain: dict[int, Path] = {}
        bases: dict[int, Path] = {}
        # Names only: a long chain's folder is listed often. `names` is a listing already made.
        for name in os.listdir(self.path) if names is None else names:
            match = _MANIFEST_NAME.fullmatch(name)
            if match:
                sequence, base = int(match.group(1)), bool(match.group(2))
                if name == manifest_name(sequence, base):
                    (bases if base else plain)[sequence] = self.path / name
        if not bases:
            return dict(sorted(plain.items()))
        first = max(bases)
        return {first: bases[first]} | {sequence: path for sequence, path in
                                        sorted(plain.items()) if sequence > first}

    def sequences(self, paths: dict[int, Path] | None = None) -> range:
        """The chain's sequence numbers (empty for a store without links); StoreError for a gap
        in the chain or a chain that does not start at a base."""
        if not self.exists():
            raise StoreError(f"{self.path} is not a bundle store (no such folder)")
        paths = self.manifest_paths() if paths is None else paths
        if not paths:
            return range(1, 1)
        first = min(paths) if self._is_base_path(paths[min(paths)]) else 1
        expected = range(first, max(paths) + 1)
        if list(paths) != list(expected):
            missing = min(set(expected) - set(paths))
            raise StoreError(f"{self.path}: link {missing} is missing "
                             f"(have {spans(list(paths))})")
        return expected

    @staticmethod
    def _is_base_path(path: Path) -> bool:
        return path.name.endswith("-base.json")

    def newest_sequence(self) -> int:
        """The newest link's sequence number (0 for a store without links)."""
        sequences = self.sequences()
        return sequences[-1] if sequences else 0

    def link(self, sequence: int) -> Link:
        """Read and check the manifest of one link of the chain (once: a written manifest never
        changes)."""
        if sequence in self._read:
            return self._read[sequence]
        base = self.path / manifest_name(sequence, base=True)  # two stats, not a listing
        return self._read_link(sequence, base if base.exists() else
                               self.path / manifest_name(sequence))

    def _read_link(self, sequence: int, path: Path) -> Link:
        if sequence in self._read:
            return self._read[sequence]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise StoreError(f"{path}: cannot read: {error.strerror}") from None
        link = parse_manifest(data, str(path))
        if link.sequence != sequence:
            raise StoreError(f"{path}: manifest says it is link {link.sequence}")
        if link.manifest_file != path.name:
            raise StoreError(f"{path}: a manifest named so must "
                             f"{'' if link.compacted else 'not '}be a compacted base")
        self._read[sequence] = link
        return link

    def links(self, start: int | None = None) -> list[Link]:
        """Links `start` (default: the chain's base) to the newest, in order, checked to form one
        unbroken chain.

        Only the manifests asked for are read, so work on the newest links does not grow with
        the length of the chain.
        """
        paths = self.manifest_paths()
        sequences = self.sequences(paths)
        if start is not None and sequences and start not in sequences:
            raise StoreError(f"{self.path}: link {start} is not in the chain "
                             f"(it has links {spans(list(sequences))})")
        links = [self._read_link(sequence, paths[sequence]) for sequence in
                 (sequences if start is None else range(start, sequences.stop))]
        for previous, link in pairwise(links):
            reason = why_not_following(previous, link)
            if reason:
                raise StoreError(f"{self.path / link.manifest_file}: {reason}")
        return links

    def strays(self, base: Link) -> list[tuple[Path, str]]:
        """The manifests in the folder outside the chain starting at `base` that are not
        leftovers of its own compaction, each with what is wrong with it.

        A leftover has the chain's identity and a sequence number at or below its base's; one
        at the base's own number must be the manifest the base replaced. Anything else (a base
        or links copied in from another store, say) would hide or be mistaken for the chain, so
        `verify` reports it and `compact` and `apply` refuse to go on.
        """
        names = sorted(os.listdir(self.path))
        in_chain = {path.name for path in self.manifest_paths(names).values()}
        problems = []
        for name in names:
            if not _MANIFEST_NAME.fullmatch(name) or name in in_chain:
                continue
            entry = self.path / name
            try:
                link = parse_manifest(entry.read_bytes(), str(entry))
            except OSError as error:
                problems.append((entry, f"cannot read: {error.strerror}"))
                continue
            except StoreError as error:
                problems.append((entry, str(error).removeprefix(f"{entry}: ")))
                continue
            if link.identity != base.identity:
                problems.append((entry, f"belongs to another store (identity {link.identity}; "
                                        f"the chain from {base.manifest_file} has "
                                        f"{base.identity}): copied in by mistake?"))
            elif link.sequence > base.sequence:
                problems.append((entry, f"is not part of the chain, which starts at "
                                        f"{base.manifest_file}"))
            elif (link.sequence == base.sequence
                  and link.manifest_sha256 != base.replaces_manifest_sha256):
                problems.append((entry, f"is not the manifest that {base.manifest_file} "
                                        f"replaced (altered, or from another compaction)"))
        return problems

    def check_strays(self, base: Link) -> None:
        """StoreError naming the first stray manifest (see `strays`), if any."""
        problems = self.strays(base)
        if problems:
            path, message = problems[0]
            raise StoreError(f"{path}: {message}; move it away, or run `devkit bundle verify "
                             f"{self.path}` for more")

    def latest_selection(self) -> Selection:
        """The ref namespaces the newest link carries (the defaults for an empty store)."""
        newest = self.newest_sequence()
        return self.link(newest).selection if newest else Selection()

    def bundle_path(self, link: Link) -> Path:
        return self.path / link.bundle_file

    def signature_path(self, link: Link) -> Path:
        """Where `link`'s manifest signature is (`link-0003.json.sig`), if it is signed."""
        return self.path / signature_name(link.manifest_file)

    def write_manifest(self, link: Link, signer: ManifestSigner | None = None) -> None:
        """Write the manifest that makes `link` visible (its bundle must be in place).

        With `signer`, its signature of the manifest's bytes is written first, so that a
        visible manifest of a signed link always has its signature; a `.sig` without its
        manifest is a leftover of an interrupted write, replaced by the next one. Without a
        signer, such a leftover is removed first, so no stale signature sits beside the new
        manifest.
        """
        data = manifest_bytes(link)
        if signer is not None:
            signature = signer.sign(data)
            write_atomically(self.signature_path(link), lambda stream: stream.write(signature))
        else:
            self.signature_path(link).unlink(missing_ok=True)
        write_atomically(self.path / link.manifest_file, lambda stream: stream.write(data))
        self._read.pop(link.sequence, None)  # a base replaces the link read before

    @contextmanager
    def locked(self, holder: str) -> Iterator[None]:
        with exclusive_lock(self.path / LOCK_FILE, f"store {self.path}", holder):
            yield
