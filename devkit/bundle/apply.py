"""`apply`: bring a target repository to the store's latest recorded state.

The order of work makes a crash at any point harmless and the rerun complete it:

1. check: the store is this target's, no ref of the target was changed locally, every bundle
   needed matches its manifest and its prerequisites are present;
2. take in the objects of each missing link (`git index-pack`, as `git fetch` does with a
   bundle, without touching any ref);
3. check that the new ref values are connected (every object they reach is present);
4. set every ref in one `git update-ref --stdin` transaction (start/prepare/commit), then HEAD;
5. record the sequence applied in the target's config.

A ref is "changed locally" when its value is neither the one of the last link applied nor the
one of the newest link; so a run cut short between 4 and 5 is completed, not refused.
"""

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from devkit.bundle.filesafety import crash_point, exclusive_lock, fsync_directory
from devkit.bundle.gitrepo import Repository, git_failure, init_bare_repository, open_repository
from devkit.bundle.refstate import Head, RefState, existing_objects, read_ref_state
from devkit.bundle.store import BundleStore, Link, StoreError
from devkit.bundle.target import LOCK_FILE, applied_position, read_record, write_record
from devkit.bundle.verify import check_link_file
from devkit.errors import DevkitError


class ApplyRefused(DevkitError):
    """Applying would lose something or use the wrong store; `--force` may override."""


@dataclass(frozen=True)
class RefUpdate:
    name: str
    old: str | None
    new: str | None

    @property
    def action(self) -> str:
        return "create" if self.old is None else "delete" if self.new is None else "update"


@dataclass(frozen=True)
class ApplyPlan:
    """What `apply` does (or, with --dry-run, would do)."""

    target: Path
    create_target: bool
    links: list[Link]
    updates: list[RefUpdate]
    head_before: Head
    head_after: Head
    sequence: int
    warnings: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not (self.create_target or self.links or self.updates
                    or self.head_before != self.head_after)


def apply_store(store_path: Path, target_path: Path, dry_run: bool = False,
                force: bool = False, progress: bool = False) -> ApplyPlan:
    """Make `target_path` (created bare if missing) equal to the store's newest ref state."""
    store = BundleStore(store_path)
    links = store.links()
    if not links:
        raise StoreError(f"{store_path} holds no links; nothing to apply")
    target_path = Path(target_path)
    missing = not target_path.exists() or (target_path.is_dir() and not any(target_path.iterdir()))
    if missing and dry_run:
        return _plan(store, links, None, target_path, force, created=True)
    repo = _create_target(target_path, links[0].object_format) if missing else \
        open_repository(target_path)
    with exclusive_lock(repo.git_dir / LOCK_FILE, f"target {target_path}",
                        f"devkit bundle apply {store_path}"):
        plan = _plan(store, links, repo, target_path, force, created=missing)
        if dry_run or plan.up_to_date:
            return plan
        for link in plan.links:
            _take_objects(store, link, repo, progress)
        _check_connected(repo, plan)
        _update_refs(repo, plan.updates)
        if plan.head_before != plan.head_after:
            _set_head(repo, plan.head_after)
        crash_point("before recording the sequence applied")
        write_record(repo, links[0].identity, plan.sequence)
        return plan


def _create_target(path: Path, object_format: str) -> Repository:
    """A new bare repository at `path`, made beside it and renamed into place (crash-safe)."""
    path = path.absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.devkit-init-", dir=path.parent))
    try:
        init_bare_repository(scratch / "repo", object_format)
        crash_point("before moving the new target into place")
        os.rename(scratch / "repo", path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    fsync_directory(path.parent)
    return open_repository(path)


def _plan(store: BundleStore, links: list[Link], repo: Repository | None, target_path: Path,
          force: bool, created: bool) -> ApplyPlan:
    identity = links[0].identity
    final = links[-1].state
    if repo is None:
        current, applied, warnings = RefState(), 0, []
    else:
        record = read_record(repo)
        if record.identity and record.identity != identity and not force:
            raise ApplyRefused(f"{target_path} was filled from another store (identity "
                               f"{record.identity}, this store is {identity}); --force replaces "
                               f"its refs with this store's")
        if record.identity == identity and record.sequence > len(links):
            raise ApplyRefused(f"{target_path} has applied link {record.sequence} but {store.path} "
                               f"only has {len(links)}: is this an older copy of the store?")
        applied = applied_position(repo, links)
        current = read_ref_state(repo, include_remotes=True, include_stash=True)
        warnings = []
        base = links[applied - 1].state if applied else RefState()
        changed = sorted(name for name in current.refs.keys() | base.refs.keys()
                         if current.refs.get(name) not in (base.refs.get(name),
                                                           final.refs.get(name)))
        if changed and not force:
            shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if
                                              len(changed) > 3 else "")
            raise ApplyRefused(f"refs of {target_path} changed since the last apply ({shown}); "
                               f"--force replaces them with the store's state")
        if changed:
            warnings.append(f"replacing {len(changed)} locally changed ref(s)")
        _refuse_moving_checkout(repo, current, final)
    updates = [RefUpdate(name, current.refs.get(name), final.refs.get(name))
               for name in sorted(current.refs.keys() | final.refs.keys())
               if current.refs.get(name) != final.refs.get(name)]
    return ApplyPlan(target=target_path, create_target=created, links=links[applied:],
                     updates=updates, head_before=current.head, head_after=final.head,
                     sequence=len(links), warnings=warnings)


def _refuse_moving_checkout(repo: Repository, current: RefState, final: RefState) -> None:
    """A non-bare target's checked-out commit must not change under its working tree."""
    if repo.bare:
        return
    if current.head_oid() != final.head_oid():
        raise ApplyRefused(f"{repo.path} has a working tree whose checked-out commit would "
                           f"change; apply into a bare repository (a missing target is created "
                           f"bare) or check out a branch the store does not move")


def _take_objects(store: BundleStore, link: Link, repo: Repository, progress: bool) -> None:
    """Check one link's bundle against its manifest, then index its pack into `repo`."""
    path = store.bundle_path(link)
    scan = check_link_file(store, link)
    missing = set(link.prerequisites) - existing_objects(repo, set(link.prerequisites))
    if missing:
        raise StoreError(f"{path}: {repo.path} lacks {len(missing)} prerequisite commit(s) of "
                         f"link {link.sequence}, e.g. {min(missing)}")
    args = ["index-pack", "--stdin", "--fix-thin"] + (["-v"] if progress else [])
    with open(path, "rb") as stream, tempfile.TemporaryFile() as errors:
        stream.seek(scan.header.pack_offset)
        process = repo.popen(*args, stdin=stream, stdout=subprocess.DEVNULL,
                             stderr=None if progress else errors)
        status = process.wait()
        if status != 0:
            errors.seek(0)
            raise git_failure(args, repo.path, status, errors.read())
    crash_point(f"after indexing link {link.sequence}")


def _check_connected(repo: Repository, plan: ApplyPlan) -> None:
    tips = {update.new for update in plan.updates if update.new}
    if plan.head_after.detached:
        tips.add(plan.head_after.detached)
    if not tips:
        return
    repo.git("rev-list", "--objects", "--stdin", "--not", "--all", "--quiet",
             input="".join(f"{oid}\n" for oid in sorted(tips)).encode())


def _update_refs(repo: Repository, updates: list[RefUpdate]) -> None:
    """Set the refs in one transaction.

    git (before 2.45) cannot delete `a` and create `a/b` in one transaction; such deletions go
    first, in a transaction of their own.
    """
    created = {update.name for update in updates if update.old is None}
    blocking = [update for update in updates if update.new is None and any(
        other.startswith(update.name + "/") or update.name.startswith(other + "/")
        for other in created)]
    for batch in (blocking, [update for update in updates if update not in blocking]):
        if not batch:
            continue
        lines = ["start"]
        for update in batch:
            if update.action == "create":
                lines.append(f"create {update.name} {update.new}")
            elif update.action == "delete":
                lines.append(f"delete {update.name} {update.old}")
            else:
                lines.append(f"update {update.name} {update.new} {update.old}")
        lines += ["prepare", "commit", ""]
        crash_point("before the ref transaction")
        repo.git("update-ref", "--stdin", input="\n".join(lines).encode())
        crash_point("after the ref transaction")


def _set_head(repo: Repository, head: Head) -> None:
    if head.symref:
        repo.git("symbolic-ref", "HEAD", head.symref)
    elif head.detached:
        repo.git("update-ref", "--no-deref", "HEAD", head.detached)
