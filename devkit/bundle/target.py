"""A target repository's record of which store it follows and how far it has applied it.

The record is one key of the target's own config, `devkit.bundle.applied = "<identity>
<sequence> <refs digest>"`, written in one step (git writes config through a lock file and a
rename) after the refs; so after a crash it may lag behind the refs, never run ahead of them.
The digest (SHA-256 of the target's refs as that apply left them) tells whether the refs are
unchanged since, even when the store was compacted past the recorded link and its manifest is
gone. Records written before the digest existed have two fields.
"""

import hashlib
import re
from dataclasses import dataclass

from devkit.bundle.gitrepo import Repository
from devkit.bundle.store import Link

RECORD_KEY = "devkit.bundle.applied"
LOCK_FILE = "devkit-bundle-apply.lock"
_RECORD = re.compile(r"(\S+) (\d+)(?: ([0-9a-f]{64}))?")


@dataclass(frozen=True)
class ApplyRecord:
    identity: str | None
    sequence: int
    refs_sha256: str | None = None


def refs_digest(refs: dict[str, str]) -> str:
    """The SHA-256 of a ref state's refs (names and values, in name order)."""
    text = "".join(f"{oid} {name}\n" for name, oid in sorted(refs.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def read_record(repo: Repository) -> ApplyRecord:
    match = _RECORD.fullmatch(repo.config_get(RECORD_KEY) or "")
    if not match:
        return ApplyRecord(None, 0)
    return ApplyRecord(match.group(1), int(match.group(2)), match.group(3))


def write_record(repo: Repository, identity: str, sequence: int, refs: dict[str, str]) -> None:
    repo.git("config", "--local", RECORD_KEY, f"{identity} {sequence} {refs_digest(refs)}")


def applied_sequence(record: ApplyRecord, newest: Link) -> int:
    """How many links of `newest`'s chain the target has applied (0 for another store's)."""
    if record.identity != newest.identity:
        return 0
    return min(record.sequence, newest.sequence)
