"""A target repository's record of which store it follows and how far it has applied it.

The record lives in the target's own config (`devkit.bundle.identity`, `devkit.bundle.sequence`)
and is written after the refs, so after a crash it may lag behind them, never run ahead.
"""

from dataclasses import dataclass

from devkit.bundle.gitrepo import Repository
from devkit.bundle.store import Link

IDENTITY_KEY = "devkit.bundle.identity"
SEQUENCE_KEY = "devkit.bundle.sequence"
LOCK_FILE = "devkit-bundle-apply.lock"


@dataclass(frozen=True)
class ApplyRecord:
    identity: str | None
    sequence: int


def read_record(repo: Repository) -> ApplyRecord:
    listing = repo.git_text("config", "--local", "--get-regexp", r"^devkit\.bundle\.",
                            ok_codes=(0, 1))
    values = dict(line.partition(" ")[::2] for line in listing.splitlines())
    sequence = values.get(SEQUENCE_KEY, "")
    return ApplyRecord(values.get(IDENTITY_KEY) or None,
                       int(sequence) if sequence.isdigit() else 0)


def write_record(repo: Repository, identity: str, sequence: int) -> None:
    repo.git("config", "--local", IDENTITY_KEY, identity)
    repo.git("config", "--local", SEQUENCE_KEY, str(sequence))


def applied_sequence(record: ApplyRecord, newest: Link) -> int:
    """How many links of `newest`'s chain the target has applied (0 for another store's)."""
    if record.identity != newest.identity:
        return 0
    return min(record.sequence, newest.sequence)
