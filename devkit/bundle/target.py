"""A target repository's record of which store it follows and how far it has applied it.

The record is one key of the target's own config, `devkit.bundle.applied = "<identity>
<sequence>"`, written in one step (git writes config through a lock file and a rename) after
the refs; so after a crash it may lag behind the refs, never run ahead of them.
"""

from dataclasses import dataclass

from devkit.bundle.gitrepo import Repository
from devkit.bundle.store import Link

RECORD_KEY = "devkit.bundle.applied"
LOCK_FILE = "devkit-bundle-apply.lock"


@dataclass(frozen=True)
class ApplyRecord:
    identity: str | None
    sequence: int


def read_record(repo: Repository) -> ApplyRecord:
    value = repo.config_get(RECORD_KEY) or ""
    identity, _, sequence = value.partition(" ")
    if not identity or not sequence.isdigit():
        return ApplyRecord(None, 0)
    return ApplyRecord(identity, int(sequence))


def write_record(repo: Repository, identity: str, sequence: int) -> None:
    repo.git("config", "--local", RECORD_KEY, f"{identity} {sequence}")


def applied_sequence(record: ApplyRecord, newest: Link) -> int:
    """How many links of `newest`'s chain the target has applied (0 for another store's)."""
    if record.identity != newest.identity:
        return 0
    return min(record.sequence, newest.sequence)
