"""`status`: how far a target repository is behind a store, without changing anything.

It reads the store's manifests and the target's refs and record, as `apply --dry-run` does, but
neither reads a bundle nor takes the target's lock; so it is quick on any store, and what it says
can be stale by the time an `apply` runs.
"""

from dataclasses import dataclass
from pathlib import Path

from devkit.bundle.apply import (
    ApplyPlan,
    ApplyRefused,
    newest_link,
    plan_apply,
    refuse_unfit_target,
    target_missing,
)
from devkit.bundle.gitrepo import Repository, open_repository
from devkit.bundle.refstate import read_head
from devkit.bundle.store import BundleStore, Link
from devkit.bundle.target import applied_sequence, read_record


@dataclass(frozen=True)
class TargetStatus:
    """Where `target` stands against the store's newest link.

    `applied` is the last link of this store the target applied (0: none, or another store's);
    `plan` is what `apply` would do (with `--force` when `refused` says why a plain apply
    would refuse). `blocked` says why apply would refuse even with `--force` (a filtered store
    and a target that is not a partial clone, a working tree's checkout that would move, a
    target ahead of the store); the plan then changes nothing when apply cannot run at all.
    """

    target: Path
    exists: bool
    applied: int
    newest: int
    plan: ApplyPlan
    refused: str | None
    blocked: str | None = None

    @property
    def behind(self) -> int:
        """Links the target lacks."""
        return self.newest - self.applied

    @property
    def up_to_date(self) -> bool:
        return self.refused is None and self.blocked is None and self.plan.up_to_date


def target_status(store_path: Path, target_path: Path) -> TargetStatus:
    """The status of `target_path` against the store at `store_path`; changes nothing."""
    store = BundleStore(store_path)
    newest = newest_link(store, "there is nothing to be behind")
    target_path = Path(target_path)
    if target_missing(target_path):
        plan = plan_apply(store, newest, None, target_path, force=False, created=True)
        return TargetStatus(target_path, False, 0, newest.sequence, plan, None,
                            _blocked(store, newest, None, target_path))
    repo = open_repository(target_path)
    refused = blocked = None
    try:
        plan = plan_apply(store, newest, repo, target_path, force=False, created=False)
    except ApplyRefused as error:
        refused = str(error)
        try:
            plan = plan_apply(store, newest, repo, target_path, force=True, created=False)
        except ApplyRefused as forced_error:  # one that --force does not override
            blocked = str(forced_error)
            plan = _no_change(store, newest, repo, target_path)
    return TargetStatus(target_path, True, plan.applied, newest.sequence, plan, refused,
                        _blocked(store, newest, repo, target_path) or blocked)


def _no_change(store: BundleStore, newest: Link, repo: Repository,
               target_path: Path) -> ApplyPlan:
    """The plan of an apply that refuses even with --force: it changes nothing."""
    head = read_head(repo)
    return ApplyPlan(target=target_path, create_target=False,
                     applied=applied_sequence(read_record(repo), newest), base=None, links=[],
                     updates=[], head_before=head, head_after=head, sequence=newest.sequence)


def _blocked(store: BundleStore, newest: Link, repo: Repository | None,
             target_path: Path) -> str | None:
    try:
        refuse_unfit_target(store, newest, repo, target_path)
    except ApplyRefused as error:
        return str(error)
    return None
