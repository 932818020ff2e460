"""`publish`: make a store servable by any static file host, for git's bundle URIs.

`publish_store` writes the bundle list of the store's chain (format and the reasons for its
choices in `bundlelist`) as `bundle-list` in an output folder, by default the store folder
itself. With that folder served at BASE_URL, `git clone --bundle-uri=BASE_URL/bundle-list
ORIGIN` downloads the links from the static host and asks ORIGIN only for the rest.

An output folder other than the store receives a copy of the chain (each link's bundle, its
manifest's signature if any, and its manifest: hard links where the file system allows, copies
otherwise, each written atomically, the manifest last) and then the list, so that the folder
alone can be uploaded, and `devkit bundle verify` checks it like a store. Files of links that
are no longer in the chain (superseded by `compact`) are removed from it once the new list is
in place, manifests first. A folder that holds anything else is refused.

Nothing is written unless the store verifies: a missing, unreadable or corrupt link is refused
with the first problem `verify` finds. The store's lock is held from that check until the list
is written (and an output folder's lock too, taken second), so no `update` or `compact` changes
the chain while it is checked and copied: one that runs meanwhile is refused as "in use".
"""

import filecmp
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from devkit.bundle.bundlelist import LIST_FILE, bundle_list_bytes, read_bundle_list
from devkit.bundle.store import (
    LOCK_FILE,
    BundleStore,
    Link,
    StoreError,
    link_files,
    parse_manifest,
    remove_superseded,
)
from devkit.bundle.verify import verify_store
from devkit.errors import DevkitError
from devkit.filesafety import (
    TEMP_PREFIX,
    fsync_directory,
    remove_stale_temporaries,
    write_atomically,
)

# What a URL may hold unquoted in a bundle list's value (no space, quote, backslash, ';' or '#').
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9._~:/@!$&'()*+,=%\[\]-]+")


class PublishError(DevkitError):
    """The store cannot be published as asked."""


@dataclass(frozen=True)
class PublishResult:
    """What `publish` did: the folder holding the list, the URL to clone with, the links listed,
    whether the list changed, and the files copied into and removed from an output folder."""

    folder: Path
    list_url: str
    links: list[Link]
    list_written: bool
    copied: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def list_path(self) -> Path:
        return self.folder / LIST_FILE

    @property
    def filter(self) -> str | None:
        """The store's object filter: clients must clone with `--filter` of the same."""
        return self.links[-1].filter


def folder_url(base_url: str) -> str:
    """`base_url`, the URL the output folder is served at, checked and ending in "/"."""
    try:
        parts = urlsplit(base_url)
        if parts.scheme == "file":
            absolute = parts.path.startswith("/")
        else:
            absolute = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # such as the unclosed "[" of an IPv6 host
        absolute = False
    if not absolute:
        raise PublishError(f"--base-url must be an http://, https:// or file:// URL of the "
                           f"folder (got {base_url!r})")
    if "?" in base_url or "#" in base_url:
        raise PublishError(f"--base-url must be the folder's URL, without ?query or #fragment "
                           f"(got {base_url!r})")
    if not _URL_CHARACTERS.fullmatch(base_url):
        character = next(c for c in base_url if not _URL_CHARACTERS.fullmatch(c))
        raise PublishError(f"--base-url contains {character!r}, which a bundle list cannot "
                           f"carry: percent-encode it (got {base_url!r})")
    return base_url.rstrip("/") + "/"


def publish_store(store_path: Path, base_url: str, out: Path | None = None) -> PublishResult:
    """Write the bundle list of the store at `store_path` for its folder served at `base_url`,
    into the store folder or, with a copy of the chain, into `out`."""
    url = folder_url(base_url)
    store = BundleStore(store_path)
    if not store.exists():
        raise StoreError(f"{store_path} is not a bundle store (no such folder)")
    holder = f"devkit bundle publish --base-url {base_url}"
    if out is None or (Path(out).exists() and Path(out).resolve() == store.path.resolve()):
        with store.locked(holder):
            links = _verified_chain(store)
            written = _write_list(store.path, links, url)
        return PublishResult(store.path, url + LIST_FILE, links, written)

    folder = Path(out)
    # The store's lock first: a `compact` must not remove the files being copied.
    with store.locked(holder):
        links = _verified_chain(store)
        _check_output_folder(folder, store, links[0].identity)
        folder.mkdir(parents=True, exist_ok=True)
        with BundleStore(folder).locked(holder):
            remove_stale_temporaries(folder)
            copied = [name for link in links for name in _copy_link(store, link, folder)]
            written = _write_list(folder, links, url)
            removed = [name for name, _ in remove_superseded(folder, links)]
    return PublishResult(folder, url + LIST_FILE, links, written, copied, removed)


def refresh_published_list(store: BundleStore) -> bool:
    """Rewrite the list that `publish` left in the store folder for the chain as it is now, at
    the URL it was published at; whether it changed. `update` and `compact` call it (with the
    store's lock held), so a store folder served as it is stays published: `compact` before it
    removes the files the old list names."""
    path = store.path / LIST_FILE
    if not path.is_file():
        return False
    try:
        uris = [value for key, value in read_bundle_list(path).items()
                if key.startswith("bundle.") and key.endswith(".uri") and value]
    except ValueError:
        return False  # not a list git reads: `verify` says so, `publish` rewrites it
    if not uris:
        return False
    return _write_list(store.path, store.links(), uris[0].rpartition("/")[0] + "/")


def _verified_chain(store: BundleStore) -> list[Link]:
    """The chain, after `verify` found nothing wrong with the store (its old list aside: that
    is what publish rewrites)."""
    report = verify_store(store)
    problems = [problem for problem in report.problems
                if problem.path != str(store.path / LIST_FILE)]
    if problems:
        more = (f" (and {len(problems) - 1} more: see `devkit bundle verify {store.path}`)"
                if len(problems) > 1 else "")
        raise PublishError(f"refusing to publish {store.path}: {problems[0].path}: "
                           f"{problems[0].message}{more}")
    return store.links()


def _check_output_folder(folder: Path, store: BundleStore, identity: str) -> None:
    """An output folder must be new, empty, or an earlier publish of this store's chain."""
    if folder.exists() and not folder.is_dir():
        raise PublishError(f"--out {folder} is not a folder")
    if not folder.exists():
        return
    names = {entry.name for entry in folder.iterdir() if entry.name != LOCK_FILE
             and not entry.name.startswith(TEMP_PREFIX)}
    identities = set()
    for path in BundleStore(folder).manifest_paths().values():
        try:
            identities.add(parse_manifest(path.read_bytes(), str(path)).identity)
        except (OSError, StoreError):
            continue
    if identities - {identity}:
        raise PublishError(f"--out {folder} holds the links of another repository's store; "
                           f"choose an empty or new folder")
    if names and identity not in identities and LIST_FILE not in names:
        raise PublishError(f"--out {folder} is not empty and holds no earlier publish of "
                           f"{store.path}; choose an empty or new folder")


def _copy_link(store: BundleStore, link: Link, folder: Path) -> list[str]:
    """Put the link's files into `folder`, the manifest last; the names of those written."""
    return [name for name in link_files(link)
            if (store.path / name).exists() and _place(store.path / name, folder / name)]


def _place(source: Path, target: Path) -> bool:
    """Make `target` a hard link to `source` or, where the file system refuses, a copy of it,
    atomically; False when `target` already has `source`'s content."""
    if target.exists() and (os.path.samefile(source, target)
                            or filecmp.cmp(source, target, shallow=False)):
        return False
    temporary = target.with_name(f"{TEMP_PREFIX}{os.getpid()}-{target.name}")
    try:
        os.link(source, temporary)
    except OSError:  # another file system, or one without hard links
        with open(source, "rb") as stream:
            write_atomically(target, lambda out: shutil.copyfileobj(stream, out, 1 << 20))
        return True
    try:
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)
    return True


def _write_list(folder: Path, links: list[Link], url: str) -> bool:
    """Write the list unless it already has these bytes; whether it was written."""
    data = bundle_list_bytes(links, url)
    path = folder / LIST_FILE
    if path.is_file() and path.read_bytes() == data:
        return False
    write_atomically(path, lambda stream: stream.write(data))
    return True
