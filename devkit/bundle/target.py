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
    identity = repo.config_get(IDENTITY_KEY)
    sequence = repo.config_get(SEQUENCE_KEY)
    return ApplyRecord(identity, int(sequence) if sequence and sequence.isdigit() else 0)


def write_record(repo: Repository, identity: str, sequence: int) -> None:
    repo.git("config", "--local", IDENTITY_KEY, identity)
    repo.git("config", "--local", SEQUENCE_KEY, str(sequence))


def applied_position(repo: Repository, links: list[Link]) -> int:
    """How many links of this chain the target has applied (0 for another store's target)."""
    record = read_record(repo)
    if not links or record.identity != links[0].identity:
        return 0
    return min(record.sequence, len(links))
