"""Git's bundle list: the file that tells git which bundles to download before it asks a server.

`git clone --bundle-uri=URL` (git >= 2.39) and the `fetch.bundleURI` setting (git >= 2.40) take
the URL of a bundle list, a file in git's config syntax. `publish` writes one for the chain of a
store, as the file `bundle-list` beside the bundles:

    [bundle]
        version = 1
        mode = all
        heuristic = creationToken
    [bundle "link-0001"]
        uri = https://example.org/project/link-0001.bundle
        creationToken = 1
    [bundle "link-0002"]
        uri = https://example.org/project/link-0002.bundle
        creationToken = 2

- `version = 1` is the only version git knows. `mode = all`: the client needs every bundle (each
  link holds what is new since the one before), not any one of them.
- One `bundle.<id>` entry per link of the chain, named `link-NNNN` after the link's sequence
  number. `creationToken` is that sequence number: it grows along the chain and never changes
  (`compact` keeps sequence numbers), so the tokens a client remembers stay valid.
- `heuristic = creationToken` (read by git >= 2.40; git 2.39 ignores it and retries bundles
  until their prerequisites are there): unbundle in increasing token order, record the newest
  token in `fetch.bundleCreationToken`, and on a later `git fetch` download only the bundles
  with greater tokens.
- `filter` (only for a store written with `create --filter`): the bundle's object filter, as
  git's design document (Documentation/technical/bundle-uri.txt) asks. git up to 2.47 at least
  does not read it: a client must clone with the same `--filter` itself, or it ends with the
  objects the filter left out missing.
- `uri` is absolute: the URL the folder is served at plus the bundle's file name. git 2.39 does
  not resolve a relative uri against the list's URL; it takes it for a local path and fails
  ("failed to download bundle from URI 'link-0001.bundle'").

Lists are read with `git config --file LIST --null --list`, so that a hand-edited list means
here exactly what it means to git (quoting, comments, case of names).
"""

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote, urlsplit

from devkit.bundle.store import Link, link_file_sequence, spans

LIST_FILE = "bundle-list"


def bundle_id(link: Link) -> str:
    """The list's name for `link`: `link-NNNN` after its sequence number."""
    return f"link-{link.sequence:04d}"


def bundle_list_bytes(links: Sequence[Link], base_url: str) -> bytes:
    """The bundle list for `links` (the chain, oldest first) served from `base_url`, a folder URL
    ending in "/" that needs no quoting in a config value (publish checks it)."""
    lines = ["[bundle]", "\tversion = 1", "\tmode = all", "\theuristic = creationToken"]
    for link in links:
        lines += [f'[bundle "{bundle_id(link)}"]', f"\turi = {base_url}{link.bundle_file}",
                  f"\tcreationToken = {link.sequence}"]
        if link.filter:
            lines.append(f"\tfilter = {link.filter}")
    return ("\n".join(lines) + "\n").encode()


def read_bundle_list(path: Path) -> dict[str, str | None]:
    """The list's keys (`bundle.version`, `bundle.link-0001.creationtoken`, ...; section and key
    names lower-case as git gives them) and values, as git reads the file; a key given twice has
    its last value, as for git. Raises ValueError with git's reason when git cannot read it."""
    process = subprocess.run(["git", "config", "--file", str(path), "--null", "--list"],
                             capture_output=True, check=False)
    if process.returncode != 0:
        lines = process.stderr.decode(errors="replace").strip().splitlines()
        raise ValueError(lines[-1] if lines else f"git config exit status {process.returncode}")
    entries: dict[str, str | None] = {}
    for entry in process.stdout.decode(errors="replace").split("\0")[:-1]:
        key, newline, value = entry.partition("\n")
        entries[key] = value if newline else None
    return entries


@dataclass
class ListCheck:
    """What `check_bundle_list` found: `problems` make the list wrong for git (a file missing or
    unreadable, tokens not increasing, a malformed key); `stale` say it describes an older state
    of the chain, which git can still use, and `publish` brings up to date."""

    problems: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


def check_bundle_list(folder: Path, links: Sequence[Link]) -> ListCheck:
    """What is wrong with the bundle list in `folder` for the chain `links` (oldest first):
    nothing when the folder has no list or the list is sound and current.

    Checks the global keys, that every entry has a uri naming a readable file of the folder that
    is a link of the chain, the link's filter and a positive integer creationToken, that the
    tokens increase along the chain, and that every link of the chain is listed. A list that
    names the files of links `compact` has folded away (still there after a compaction cut
    short) or lacks the newest links (copied in by other means) is stale, not wrong.
    """
    path = Path(folder) / LIST_FILE
    check = ListCheck()
    if not path.exists():
        return check
    try:
        entries = read_bundle_list(path)
    except ValueError as error:
        check.problems.append(f"not a bundle list git can read ({error})")
        return check
    problems = check.problems
    for key, expected in (("version", "1"), ("mode", "all"), ("heuristic", "creationToken")):
        value = entries.get(f"bundle.{key}")
        if value != expected:
            got = "missing" if value is None else f"{value!r}"
            problems.append(f"bundle.{key} must be {expected} (it is {got})")

    by_file = {link.bundle_file: link for link in links}
    listed: dict[int, tuple[str, int | None]] = {}  # sequence -> (entry name, creation token)
    names = {key.removeprefix("bundle.").rpartition(".")[0] for key in entries
             if key.startswith("bundle.") and key.count(".") >= 2}
    for name in sorted(names):
        token = _creation_token(entries.get(f"bundle.{name}.creationtoken"))
        if token is None:
            problems.append(f"bundle.{name}.creationToken must be a positive integer (it is "
                            f"{entries.get(f'bundle.{name}.creationtoken')!r})")
        link, problem, stale = _entry_link(Path(folder), name, entries, by_file, links[0])
        if problem:
            (check.stale if stale else problems).append(problem)
        elif link.sequence in listed:
            problems.append(f"bundle.{name}.uri names {link.bundle_file}, which "
                            f"bundle.{listed[link.sequence][0]} names too")
        else:
            listed[link.sequence] = (name, token)

    tokens = [(name, token) for name, token in (listed[s] for s in sorted(listed))
              if token is not None]
    for (before, older), (after, newer) in pairwise(tokens):
        if newer <= older:
            problems.append(f"creation tokens do not increase along the chain: bundle.{after} "
                            f"has {newer}, after bundle.{before} with {older}")
    unlisted = [link.sequence for link in links if link.sequence not in listed]
    if unlisted:
        check.stale.append(f"link(s) {spans(unlisted)} of the chain are not in the list "
                           f"(published before they were written?); run `devkit bundle "
                           f"publish` again")
    return check


def _entry_link(folder: Path, name: str, entries: dict[str, str | None],
                by_file: dict[str, Link], base: Link) -> tuple[Link | None, str | None, bool]:
    """The link of the chain that entry `name` lists, or what is wrong with the entry and
    whether that only makes the list stale (it names a file of a link folded into `base`)."""
    uri = entries.get(f"bundle.{name}.uri")
    if not uri:
        return None, f"bundle.{name} has no uri", False
    file_name = unquote(urlsplit(uri).path.rpartition("/")[2])
    where = f"bundle.{name}.uri {uri} names {file_name or 'no file'}"
    if not file_name or not (folder / file_name).exists():
        return None, f"{where}, which is missing from {folder}", False
    if not _readable(folder / file_name):
        return None, f"{where}, which cannot be read", False
    link = by_file.get(file_name)
    folded = link_file_sequence(file_name, "bundle")
    if link is None and folded is not None and folded <= base.sequence:
        return None, (f"{where}, which compact has folded into {base.bundle_file} (run "
                      f"`devkit bundle compact` again to finish, or `devkit bundle publish`)"), True
    if link is None:
        return None, (f"{where}, which is not a link of the chain "
                      f"(run `devkit bundle publish` again)"), False
    listed_filter = entries.get(f"bundle.{name}.filter")
    if listed_filter != link.filter:
        return None, (f"bundle.{name}.filter is {listed_filter or 'missing'} but the bundle's "
                      f"filter is {link.filter or 'none'}"), False
    return link, None, False


def _creation_token(value: str | None) -> int | None:
    """A creationToken's value, or None unless it is a positive integer as git reads it."""
    if value is None or not re.fullmatch(r"[0-9]+", value) or int(value) == 0:
        return None
    return int(value)


def _readable(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            stream.read(1)
    except OSError:
        return False
    return True
