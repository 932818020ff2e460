"""`apply`: bring a target repository to the store's latest recorded state.

The order of work makes a crash at any point harmless and the rerun complete it:

1. check: the store is this target's, no ref of the target was changed locally, every bundle
   needed matches its manifest and its prerequisites are present (and a filtered store's
   target is a partial clone; with allowed signers, every manifest read is validly signed);
2. take in the objects of each missing link (`git index-pack`, as `git fetch` does with a
   bundle, without touching any ref);
3. check that the new ref values are connected (every object they reach is present);
4. set every ref in one `git update-ref --stdin` transaction (start/prepare/commit), then HEAD;
5. record the sequence applied in the target's config, and let git's automatic maintenance
   consolidate packs as `git fetch` would.

A ref is "changed locally" when its value is none of its values in the link applied last and the
links after it; so a run cut short between 4 and 5 is completed, not refused, even when newer
links arrived in the meantime.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from devkit.bundle.gitrepo import (
    GitFailed,
    Repository,
    init_bare_repository,
    open_repository,
)
from devkit.bundle.refstate import Head, RefState, existing_objects, read_ref_state
from devkit.bundle.signing import AllowedSigners
from devkit.bundle.store import BundleStore, Link, StoreError
from devkit.bundle.target import (
    LOCK_FILE,
    applied_sequence,
    read_record,
    refs_digest,
    write_record,
)
from devkit.bundle.verify import check_link_files
from devkit.errors import DevkitError
from devkit.filesafety import crash_point, exclusive_lock, fsync_directory


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
    applied: int  # the last link of this store the target applied (0: none)
    base: Link | None  # that link, when it is still in the chain (not compacted away)
    links: list[Link]  # the links whose objects it takes in
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
                force: bool = False, progress: bool = False,
                allowed_signers: Path | None = None) -> ApplyPlan:
    """Make `target_path` (created bare if missing) equal to the store's newest ref state.

    With `allowed_signers`, every manifest it reads (the newest, the link applied last, the
    links it takes in) must be signed by one of them; checked before anything changes.
    """
    signers = AllowedSigners(allowed_signers) if allowed_signers is not None else None
    store = BundleStore(store_path)
    newest = newest_link(store, "nothing to apply")
    store.check_strays(store.link(store.sequences()[0]))  # the chain is the store's own
    _check_signatures(store, [newest], signers)  # before anything it says is acted on
    target_path = Path(target_path)
    missing = target_missing(target_path)
    if missing:
        refuse_unfit_target(store, newest, None, target_path)
        plan = plan_apply(store, newest, None, target_path, force, created=True)
        _check_signatures(store, [plan.base, *plan.links], signers, newest)
        pack_offsets = check_link_files(store, plan.links, plan.base)  # before anything is created
        if dry_run:
            return plan
        repo = _create_target(target_path, newest.object_format)
    else:
        repo = open_repository(target_path)
        if repo.linked_worktree:
            raise ApplyRefused(f"{target_path} is a linked worktree; apply into the repository "
                               f"itself ({repo.common_dir})")
        refuse_unfit_target(store, newest, repo, target_path)  # before the lock file appears
    with exclusive_lock(repo.common_dir / LOCK_FILE, f"target {target_path}",
                        f"devkit bundle apply {store_path}"):
        if not missing:
            plan = plan_apply(store, newest, repo, target_path, force, created=False)
            _check_signatures(store, [plan.base, *plan.links], signers, newest)
            if plan.up_to_date:
                return plan
            pack_offsets = check_link_files(store, plan.links, plan.base)
            if dry_run:
                return plan
        for link in plan.links:
            take_objects(store, link, pack_offsets[link.sequence], repo, progress)
        _check_connected(repo, plan, newest.filter)
        _update_refs(repo, plan.updates)
        if plan.head_before != plan.head_after:
            _set_head(repo, plan.head_after)
        crash_point("before recording the sequence applied")
        write_record(repo, newest.identity, plan.sequence, newest.state.refs)
        try:  # as `git fetch` does: consolidate packs when enough have piled up (gc.auto)
            repo.git("maintenance", "run", "--auto", "--quiet")
        except GitFailed:
            pass  # the apply itself is complete; maintenance will run another time
        return plan


def newest_link(store: BundleStore, nothing: str) -> Link:
    """The store's newest link; `StoreError` ending in `nothing` for a store without links."""
    newest = store.newest_sequence()
    if not newest:
        raise StoreError(f"{store.path} holds no links; {nothing}")
    return store.link(newest)


def target_missing(path: Path) -> bool:
    """Whether there is no target yet: no such path, or an empty folder (apply creates it)."""
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def refuse_unfit_target(store: BundleStore, newest: Link, repo: Repository | None,
                         target_path: Path) -> None:
    """A filtered store's bundles lack objects (blob:none: every file's contents), which only a
    partial clone may lack: it fetches them from its promisor remote when they are needed. So
    such a store goes only into a partial clone, and cannot create a missing target (a new
    repository would have no remote to fetch them from). `--force` does not override this."""
    if newest.filter is None or (repo is not None and repo.promisor_remotes()):
        return
    clone = f"`git clone --bare --filter={newest.filter} <origin URL> "
    if repo is None:
        raise ApplyRefused(f"{store.path} is filtered ({newest.filter}), so it cannot create "
                           f"{target_path}: a new repository would have no promisor remote to "
                           f"fetch the left-out objects from; make the target a partial clone "
                           f"first: {clone}{target_path}`")
    raise ApplyRefused(f"{store.path} is filtered ({newest.filter}) and {target_path} is not a "
                       f"partial clone (no promisor remote to fetch the left-out objects from); "
                       f"apply it into one, made with {clone}<folder>`")


def _check_signatures(store: BundleStore, links: list[Link | None],
                      signers: AllowedSigners | None, checked: Link | None = None) -> None:
    """With `signers`, every manifest of `links` (but `checked`'s) must be validly signed by
    one of them (`SignatureError` otherwise). Their bundles are then covered by
    `check_link_files`: each must match the SHA-256 its signed manifest records."""
    if signers is None:
        return
    for link in links:
        if link is not None and (checked is None or link.sequence != checked.sequence):
            signers.check(store.path / link.manifest_file, link.manifest_sha256)


def _create_target(path: Path, object_format: str) -> Repository:
    """A new bare repository at `path`, made beside it and renamed into place (crash-safe).

    The scratch folder is named after this process; ones left by killed processes are removed.
    """
    path = path.absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.devkit-init-"
    for leftover in path.parent.glob(f"{prefix}*"):
        pid = leftover.name.removeprefix(prefix)
        if pid.isdigit() and not _process_exists(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)
    scratch = path.parent / f"{prefix}{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        init_bare_repository(scratch, object_format)
        crash_point("before moving the new target into place")
        try:
            os.rename(scratch, path)
        except OSError:
            raise ApplyRefused(f"{path} appeared while it was being created (another apply at "
                               f"the same time?); run the command again") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    fsync_directory(path.parent)
    return open_repository(path)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def plan_apply(store: BundleStore, newest: Link, repo: Repository | None, target_path: Path,
               force: bool, created: bool) -> ApplyPlan:
    """Check that applying is safe (`ApplyRefused` otherwise) and work out what it changes,
    from the manifests and the target's refs alone (no bundle is read)."""
    final = newest.state
    if repo is None:
        current, warnings, applied, base, links = RefState(), [], 0, None, store.links()
    else:
        record = read_record(repo)
        if record.identity and record.identity != newest.identity and not force:
            raise ApplyRefused(f"{target_path} was filled from another store (identity "
                               f"{record.identity}, this store is {newest.identity}); --force "
                               f"replaces its refs with this store's")
        if record.identity == newest.identity and record.sequence > newest.sequence:
            raise ApplyRefused(f"{target_path} has applied link {record.sequence} but "
                               f"{store.path} only has {newest.sequence}: is this an older copy "
                               f"of the store?")
        applied = applied_sequence(record, newest)
        if applied >= store.sequences()[0]:
            base, *links = store.links(start=applied)
        else:  # none applied, or the link applied last was compacted away: start at the base
            base, links = None, store.links()
        compacted_past = base is None and applied > 0
        current = read_ref_state(repo, include_remotes=True, include_stash=True)
        warnings = []
        # A ref is unchanged locally when it holds its value of the link applied last, or of
        # any later link (a run that was cut short may have set it so); when that link was
        # compacted away, the digest of the refs the last apply left tells.
        states = [base.state if base else RefState()] + [link.state for link in links]
        names = current.refs.keys() | {name for state in states for name in state.refs}
        changed = sorted(name for name in names if current.refs.get(name) not in
                         {state.refs.get(name) for state in states})
        if compacted_past and record.refs_sha256 == refs_digest(current.refs):
            changed = []
        if changed and not force:
            shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if
                                              len(changed) > 3 else "")
            if record.identity is None:  # no last apply: a repository made otherwise
                raise ApplyRefused(f"{target_path} has refs this store does not hold ({shown}): "
                                   f"it has applied none of this store's links; --force "
                                   f"replaces them with the store's state")
            why = (f"; the store was compacted past link {applied}, the last applied here, so "
                   f"its refs cannot be checked" if compacted_past else "")
            raise ApplyRefused(f"refs of {target_path} changed since the last apply ({shown}"
                               f"{why}); --force replaces them with the store's state")
        if changed:
            warnings.append(f"replacing {len(changed)} locally changed ref(s)")
        _refuse_moving_checkout(repo, current, final)
    updates = [RefUpdate(name, current.refs.get(name), final.refs.get(name))
               for name in sorted(current.refs.keys() | final.refs.keys())
               if current.refs.get(name) != final.refs.get(name)]
    return ApplyPlan(target=target_path, create_target=created, applied=applied, base=base,
                     links=links,
                     updates=updates, head_before=current.head, head_after=final.head,
                     sequence=newest.sequence, warnings=warnings)


def _refuse_moving_checkout(repo: Repository, current: RefState, final: RefState) -> None:
    """No working tree's checked-out commit may change under it (as `git fetch` refuses too)."""
    if not repo.bare and current.head_oid() != final.head_oid():
        raise ApplyRefused(f"{repo.path} has a working tree whose checked-out commit would "
                           f"change; apply into a bare repository (a missing target is created "
                           f"bare) or check out a branch the store does not move")
    if not (repo.common_dir / "worktrees").is_dir():
        return
    for entry in repo.git_text("worktree", "list", "--porcelain").split("\n\n"):
        fields = dict(line.partition(" ")[::2] for line in entry.splitlines())
        branch = fields.get("branch")
        if branch and current.refs.get(branch) != final.refs.get(branch):
            raise ApplyRefused(f"branch {branch} is checked out in the worktree "
                               f"{fields.get('worktree')} and would move; check out another "
                               f"branch there (or remove the worktree) before applying")


def take_objects(store: BundleStore, link: Link, pack_offset: int, repo: Repository,
                  progress: bool) -> None:
    """Index one link's pack into `repo` (its prerequisites must be there already).

    A filtered link's pack becomes a promisor pack (a `.promisor` file beside it, as `git
    fetch` writes for a filtered bundle): the objects it refers to but lacks are then allowed
    to be missing, for `git fsck`, `gc` and `repack`, and are fetched when needed.
    """
    path = store.bundle_path(link)
    missing = set(link.prerequisites) - existing_objects(repo, set(link.prerequisites))
    if missing:
        raise StoreError(f"{path}: {repo.path} lacks {len(missing)} prerequisite commit(s) of "
                         f"link {link.sequence}, e.g. {min(missing)}")
    args = ["index-pack", "--stdin", "--fix-thin"] + (["-v"] if progress else [])
    if link.filter:
        args.append("--promisor=from-bundle")
    with open(path, "rb") as stream:
        stream.seek(pack_offset)
        with repo.streaming(*args, stdin=stream, stdout=subprocess.DEVNULL, show_stderr=progress):
            pass  # index-pack reads the pack from the file itself
    crash_point(f"after indexing link {link.sequence}")


def _check_connected(repo: Repository, plan: ApplyPlan, filter_spec: str | None) -> None:
    """Every object the new ref values reach is present (less what the store's filter left out).

    With `--filter` rev-list does not look for the objects the filter leaves out, but needs
    every other one, and every object a ref names directly (pack-objects sent those). In a
    partial clone it would fetch a missing one from the promisor remote; `--missing=print`
    stops that and lists it instead (`?<oid>`, all `--quiet` leaves): the bundles must hold
    it. (`--missing=allow-promisor` would let a missing commit or tree pass, and
    `--exclude-promisor-objects` would skip every object the links brought.)
    """
    tips = {update.new for update in plan.updates if update.new}
    if plan.head_after.detached:
        tips.add(plan.head_after.detached)
    if not tips:
        return
    filtering = [f"--filter={filter_spec}", "--missing=print"] if filter_spec else []
    missing = repo.git_text("rev-list", "--objects", *filtering, "--stdin", "--not", "--all",
                            "--quiet",
                            input="".join(f"{oid}\n" for oid in sorted(tips)).encode()).split()
    if missing:
        raise StoreError(f"{repo.path} lacks {len(missing)} object(s) the new refs need, e.g. "
                         f"{missing[0].lstrip('?')}, after taking in the store's links: they "
                         f"are missing from its bundles beyond what its filter "
                         f"({filter_spec}) leaves out; no ref was changed")


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
            # no-deref: a symbolic ref in the target (refs/remotes/origin/HEAD) is replaced or
            # deleted itself, not through the ref it points to.
            lines.append("option no-deref")
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
