"""`devkit bundle …`: the command-line face of the bundle manager.

Only this module reads the terminal and prints; the work is done by `snapshot`, `verify` and
`apply`, which take paths and options and return what they did.
"""

import json
import sys
import time
from pathlib import Path

import click

from devkit.bundle.apply import ApplyPlan, apply_store
from devkit.bundle.bundlefile import read_header_file
from devkit.bundle.bundlelist import LIST_FILE
from devkit.bundle.refstate import RefChanges, RefState, compare
from devkit.bundle.signing import ManifestSigner, open_signer
from devkit.bundle.snapshot import SnapshotResult, create_store, update_store
from devkit.bundle.store import BundleStore, Link, Selection, spans
from devkit.bundle.verify import VerifyReport, verify_path
from devkit.errors import DevkitError

_path = click.Path(path_type=Path)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
_quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
_sign_key_option = click.option(
    "--sign-key", type=_path, metavar="KEY",
    help="Sign the manifest written with this SSH key (`ssh-keygen -Y sign`, namespace "
         "devkit-bundle): a private key such as ~/.ssh/id_ed25519, or its .pub when ssh-agent "
         "holds the key (a key with a passphrase must be in the agent). Required once the "
         "store's newest link is signed.")
_allowed_signers_option = click.option(
    "--allowed-signers", type=_path, metavar="FILE",
    help="Require every manifest read to be signed by a key in FILE, an allowed-signers file "
         "as ssh-keygen reads it: a line per key, `alice@example.org ssh-ed25519 AAAA…`.")


def _signer(key: Path | None) -> ManifestSigner | None:
    """The signer for --sign-key, its key checked before anything is written."""
    return open_signer(key) if key is not None else None


def _show_progress(quiet: bool, as_json: bool) -> bool:
    return not quiet and not as_json and sys.stderr.isatty()


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _warn(warnings: list[str], quiet: bool) -> None:
    if not quiet:
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)


def _changes_json(changes: RefChanges) -> dict:
    return {"added": changes.added,
            "moved": {name: {"from": old, "to": new} for name, (old, new) in
                      changes.moved.items()},
            "removed": changes.removed, "head_changed": changes.head_changed}


@click.group()
def bundle() -> None:
    """Chains of git bundles that reproduce a repository exactly.

    A store is a folder of links: link 1 holds the whole repository, each later link what is
    new since the previous one, and every link's manifest records all refs and HEAD. Move the
    folder (or the new files in it) by any means, check it with `verify`, and `apply` it;
    `compact` keeps the chain short, `publish` serves it to `git clone --bundle-uri`.

    \b
      devkit bundle create --repo ~/src/project /media/usb/project
      devkit bundle update --repo ~/src/project /media/usb/project
      devkit bundle verify /media/usb/project
      devkit bundle apply /media/usb/project --repo ~/mirror/project.git
      devkit bundle compact /media/usb/project --keep 5
      devkit bundle publish /srv/www/project --base-url https://example.org/project
    """


def _selection_options(command):
    command = click.option("--include-remotes/--no-include-remotes", default=None,
                           help="Also carry refs/remotes/* (left out by default).")(command)
    return click.option("--include-stash/--no-include-stash", default=None,
                        help="Also carry refs/stash (left out by default).")(command)


def _report_snapshot(result: SnapshotResult, source: Path, as_json: bool, quiet: bool) -> None:
    _warn(result.warnings, quiet)
    link = result.link
    if as_json:
        click.echo(json.dumps({
            "store": str(result.store.path),
            "written": link is not None,
            "link": _link_json(result.store, link) if link else None,
            "changes": _changes_json(result.changes),
            "republished": result.republished,
        }, indent=2))
    elif quiet:
        return
    elif link is None:
        click.echo(f"{result.store.path} is up to date with {source}")
    else:
        filtered = f", filter {link.filter}" if link.filter else ""
        click.echo(f"link {link.sequence} written: {result.store.bundle_path(link)} "
                   f"({_size(link.size)}, {link.object_count} objects{filtered}; refs "
                   f"{result.changes.summary()}; HEAD {link.state.head.describe()})")
        _report_republished(result.store, result.republished)


def _report_republished(store: BundleStore, republished: bool) -> None:
    if republished:
        click.echo(f"{store.path / LIST_FILE} rewritten for the new chain")


@bundle.command()
@click.option("--repo", "source", type=_path, default=Path("."), show_default=True,
              help="The repository to bundle.")
@click.argument("store", type=_path)
@_selection_options
@click.option("--filter", "filter_spec", metavar="SPEC",
              help="Leave objects out of every link, as `git bundle create --filter` does: "
                   "blob:none (no file contents). Such a store applies only to a partial clone.")
@_sign_key_option
@_json_option
@_quiet_option
def create(source: Path, store: Path, include_remotes: bool | None,
           include_stash: bool | None, filter_spec: str | None, sign_key: Path | None,
           as_json: bool, quiet: bool) -> None:
    """Start a new store at STORE whose link 1 holds all of the repository.

    Branches, tags (annotated and lightweight), notes and every other ref under refs/ are
    included, and HEAD; refs/remotes/* and refs/stash only when asked for. Shallow
    repositories are refused. With --filter, every link of the store (`update` keeps it) is
    a filtered bundle. With --sign-key, the manifest is signed beside it (`link-0001.json.sig`),
    for `verify` and `apply --allowed-signers` to check.
    """
    selection = Selection(remotes=bool(include_remotes), stash=bool(include_stash))
    signer = _signer(sign_key)
    result = create_store(source, store, selection, _show_progress(quiet, as_json), filter_spec,
                          signer)
    _report_snapshot(result, source, as_json, quiet)


@bundle.command()
@click.option("--repo", "source", type=_path, default=Path("."), show_default=True,
              help="The repository the store was made from.")
@click.argument("store", type=_path)
@_selection_options
@click.option("--force", is_flag=True,
              help="Accept a repository that shares no commit with the store (its whole "
                   "history rewritten): the link then carries everything.")
@_sign_key_option
@_json_option
@_quiet_option
def update(source: Path, store: Path, include_remotes: bool | None,
           include_stash: bool | None, force: bool, sign_key: Path | None, as_json: bool,
           quiet: bool) -> None:
    """Append the next link to STORE: everything new since the last link.

    New commits, branches and tags (even on old commits), deleted refs, rewound or rewritten
    branches and a switched HEAD are all carried. When nothing changed, nothing is written.
    The namespaces chosen at `create` are kept unless --include-… options say otherwise.
    """
    signer = _signer(sign_key)
    selection = None
    if include_remotes is not None or include_stash is not None:
        kept = BundleStore(store).latest_selection()
        selection = Selection(
            remotes=kept.remotes if include_remotes is None else include_remotes,
            stash=kept.stash if include_stash is None else include_stash)
    result = update_store(source, store, selection, _show_progress(quiet, as_json), force,
                          signer)
    _report_snapshot(result, source, as_json, quiet)


def _span(sequences: range) -> str:
    """'link 4' or 'links 4..8'."""
    return f"{'link' if len(sequences) == 1 else 'links'} {spans(sequences)}"


@bundle.command()
@click.argument("store", type=_path)
@click.option("--keep", type=click.IntRange(min=1), default=5, show_default=True,
              help="The most links the chain may have afterwards (git's bundle server keeps 5).")
@click.option("-n", "--dry-run", is_flag=True,
              help="Check the store and say what would be folded and removed; change nothing.")
@_sign_key_option
@_json_option
@_quiet_option
def compact(store: Path, keep: int, dry_run: bool, sign_key: Path | None, as_json: bool,
            quiet: bool) -> None:
    """Fold the oldest links of STORE into a new self-contained base link.

    Afterwards the chain has at most --keep links: a new base that holds the state of link
    newest-keep+1 without prerequisites, then the newer links unchanged. Sequence numbers stay,
    so a target that applied any link can still apply the newer ones, and a new target needs
    only the base and what follows. The old files are removed only after the new base is
    verified; a compaction that is interrupted leaves a valid store and is finished by running
    it again. A bundle list `publish` wrote into STORE is rewritten for the new chain.
    """
    from devkit.bundle.compact import compact_store

    result = compact_store(store, keep, _show_progress(quiet, as_json), _signer(sign_key),
                           dry_run)
    base = result.base
    if as_json:
        click.echo(json.dumps({
            "store": str(result.store.path), "dry_run": result.dry_run,
            "before": list(result.before), "after": list(result.after),
            "folded": list(result.folded),
            "base": _link_json(result.store, base) if base else None,
            "removed": result.removed, "freed": result.freed,
            "republished": result.republished,
        }, indent=2))
        return
    if quiet:
        return
    if not result.folded:
        click.echo(f"{store} has {len(result.before)} link(s), no more than {keep}: "
                   f"nothing to fold")
    elif dry_run:
        click.echo(f"{_span(result.folded)} would be folded into base link "
                   f"{result.folded[-1]}; the chain would be {_span(result.after)}")
    else:
        click.echo(f"{_span(result.folded)} folded into base link "
                   f"{base.sequence}: {result.store.bundle_path(base)} ({_size(base.size)}, "
                   f"{base.object_count} objects)")
        click.echo(f"the chain is now {_span(result.after)}")
    if result.removed:
        click.echo(f"{'would remove' if dry_run else 'removed'} {len(result.removed)} "
                   f"superseded file(s), {_size(result.freed)}")
    _report_republished(result.store, result.republished)


class _ByteProgress:
    """A one-line progress display on stderr, refreshed at most ten times a second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.shown >= 0.1 or done == total:
            self.shown = now
            percent = 100 * done // total if total else 100
            click.echo(f"\r{self.label}: {percent}% ({_size(done)})", nl=False, err=True)

    def finish(self) -> None:
        if self.shown:
            click.echo(err=True)


@bundle.command()
@click.argument("path", type=_path)
@click.option("--repo", "target", type=_path,
              help="Also check that this repository has the prerequisites it needs.")
@_allowed_signers_option
@_json_option
@_quiet_option
def verify(path: Path, target: Path | None, allowed_signers: Path | None, as_json: bool,
           quiet: bool) -> None:
    """Check a store (or one bundle file) offline, without any repository.

    Checks each file's header grammar (v2 and v3), pack signature, object count and trailing
    checksum, its size and SHA-256 against its manifest, and the chain: one identity, no
    missing link, each link's prerequisites in the previous link's refs; and the bundle-list
    that `publish` wrote, if any, against the chain. With --allowed-signers, every manifest
    must also carry a valid signature (`create`/`update --sign-key`) by a key in FILE, so a
    manifest or bundle altered after signing is caught; the signers are named. Exit status 0
    when everything holds, 1 otherwise, naming each bad file and the check that failed.
    """
    progress = _ByteProgress("verifying") if _show_progress(quiet, as_json) else None
    started = time.perf_counter()
    report: VerifyReport = verify_path(path, target, progress, allowed_signers)
    elapsed = time.perf_counter() - started
    if progress:
        progress.finish()
    if as_json:
        click.echo(json.dumps({
            "ok": report.ok, "checked": report.checked, "bytes": report.bytes_checked,
            "problems": [{"path": p.path, "message": p.message} for p in report.problems],
            "notes": [{"path": p.path, "message": p.message} for p in report.notes],
            "signed_by": report.signers if allowed_signers is not None else None,
        }, indent=2))
    else:
        for problem in report.problems:
            click.echo(f"FAILED {problem.path}: {problem.message}", err=True)
        for note in [] if quiet else report.notes:
            click.echo(f"note: {note.path}: {note.message}", err=True)
        if report.ok and not quiet:
            rate = report.bytes_checked / elapsed / 1e6 if elapsed > 0 else 0
            signed = (f"; {len(report.signers)} manifest(s) signed by "
                      f"{', '.join(sorted(set(report.signers.values())))}"
                      if report.signers else "")
            click.echo(f"{path}: ok ({len(report.checked)} bundle file(s), "
                       f"{_size(report.bytes_checked)}, {rate:.0f} MB/s{signed})")
    if not report.ok:
        sys.exit(1)


@bundle.command()
@click.argument("store", type=_path)
@click.option("--base-url", required=True, metavar="URL",
              help="The http://, https:// or file:// URL the output folder is served at.")
@click.option("--out", "out", type=_path, metavar="DIR",
              help="Write the list and a copy of the chain (hard links where possible) into "
                   "DIR, to upload alone, instead of the list into STORE.")
@_json_option
@_quiet_option
def publish(store: Path, base_url: str, out: Path | None, as_json: bool, quiet: bool) -> None:
    """Write a bundle list so that git clones and fetches from STORE on a static host.

    The list, `bundle-list` in STORE (or DIR), is in git's bundle-URI format: one entry per
    link with its URL and its sequence number as creation token. Serve the folder at URL with
    any static file server or CDN; git downloads the bundles there and asks the origin only for
    what is newer. The store is verified first; nothing is written if any link is missing or
    corrupt. Run it again after each update.

    \b
      devkit bundle publish /srv/www/project --base-url https://example.org/project
      git clone --bundle-uri=https://example.org/project/bundle-list https://origin/project.git
    """
    from devkit.bundle.publish import publish_store

    result = publish_store(store, base_url, out)
    links = result.links
    if as_json:
        click.echo(json.dumps({
            "folder": str(result.folder), "list": str(result.list_path),
            "list_url": result.list_url, "written": result.list_written,
            "links": [{"sequence": link.sequence, "file": link.bundle_file} for link in links],
            "copied": result.copied, "removed": result.removed, "filter": result.filter,
        }, indent=2))
        return
    if quiet:
        return
    span = _span(range(links[0].sequence, links[-1].sequence + 1))
    if result.folder != store:
        click.echo(f"{result.folder}: {len(result.copied)} file(s) copied or linked, "
                   f"{len(result.removed)} superseded file(s) removed")
    state = "written" if result.list_written else "up to date"
    click.echo(f"{result.list_path} {state}: {span}")
    click.echo(f"serve {result.folder} at {result.list_url.removesuffix('bundle-list')}, "
               f"then clone with:")
    filtered = f"--filter={result.filter} " if result.filter else ""
    click.echo(f"  git clone {filtered}--bundle-uri={result.list_url} <origin URL>")
    if result.filter:
        _warn([f"the store is filtered ({result.filter}): a clone without {filtered.strip()} "
               f"would lack the objects the filter left out"], quiet)

def _link_json(store: BundleStore, link: Link, changes: RefChanges | None = None) -> dict:
    document = {
        "sequence": link.sequence,
        "identity": link.identity,
        "file": str(store.bundle_path(link)),
        "size": link.size,
        "sha256": link.sha256,
        "objects": link.object_count,
        "created": link.created,
        "refs": len(link.state.refs),
        "head": link.state.head.describe(),
        "base": link.compacted,
        "filter": link.filter,
    }
    if changes is not None:
        document["changes"] = _changes_json(changes)
    return document


@bundle.command(name="list")
@click.argument("store", type=_path)
@_json_option
@_quiet_option
def list_links(store: Path, as_json: bool, quiet: bool) -> None:
    """Show the chain in STORE: each link's size, date, and refs added/moved/removed."""
    bundle_store = BundleStore(store)
    links = bundle_store.links()
    changes = [compare(links[i - 1].state if i else RefState(), link.state)
               for i, link in enumerate(links)]
    if quiet:
        return
    if as_json:
        click.echo(json.dumps([_link_json(bundle_store, link, change)
                               for link, change in zip(links, changes, strict=True)], indent=2))
        return
    if not links:
        click.echo(f"{store}: no links")
        return
    click.echo(f"{'seq':>4}  {'file':<18} {'size':>10}  {'created':<20}  refs")
    for link, change in zip(links, changes, strict=True):
        click.echo(f"{link.sequence:>4}  {link.bundle_file:<18} {_size(link.size):>10}  "
                   f"{link.created:<20}  {change.summary()}")
    if links[-1].filter:
        click.echo(f"filter {links[-1].filter}: apply into a partial clone only")


@bundle.command()
@click.argument("bundle_file", metavar="BUNDLE", type=_path)
@_json_option
@_quiet_option
def heads(bundle_file: Path, as_json: bool, quiet: bool) -> None:
    """List the refs in one bundle file (its header), like `git bundle list-heads`."""
    if not bundle_file.is_file():
        raise DevkitError(f"{bundle_file} is not a file")
    header = read_header_file(bundle_file)
    if quiet:
        return
    if as_json:
        click.echo(json.dumps({"version": header.version,
                               "object_format": header.object_format,
                               "filter": header.filter,
                               "prerequisites": header.prerequisites,
                               "refs": [{"name": name, "oid": oid}
                                        for oid, name in header.refs]}, indent=2))
        return
    for oid, name in header.refs:
        click.echo(f"{oid} {name}")


def _plan_json(plan: ApplyPlan, dry_run: bool) -> dict:
    return {
        "target": str(plan.target),
        "dry_run": dry_run,
        "up_to_date": plan.up_to_date,
        "create_target": plan.create_target,
        "links": [link.sequence for link in plan.links],
        "sequence": plan.sequence,
        "updates": [{"ref": u.name, "action": u.action, "old": u.old, "new": u.new}
                    for u in plan.updates],
        "head": {"before": plan.head_before.describe(), "after": plan.head_after.describe()},
    }


def _plan_lines(plan: ApplyPlan, verb: str) -> list[str]:
    """What `plan` does, a line per step ("would take in link(s) 2..3", ...)."""
    lines = []
    if plan.create_target:
        lines.append(f"{verb}create bare repository {plan.target}")
    if plan.links:
        lines.append(f"{verb}take in link(s) {spans(link.sequence for link in plan.links)}")
    for update in plan.updates:
        lines.append(f"{verb}{update.action} {update.name} {update.new or update.old}")
    if plan.head_before != plan.head_after:
        lines.append(f"{verb}set HEAD to {plan.head_after.describe()}")
    return lines


@bundle.command(name="apply")
@click.argument("store", type=_path)
@click.option("--repo", "target", type=_path, required=True,
              help="The repository to bring up to date (created bare if missing).")
@click.option("-n", "--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.option("--force", is_flag=True,
              help="Replace refs changed locally in the target, or another store's refs.")
@_allowed_signers_option
@_json_option
@_quiet_option
def apply_command(store: Path, target: Path, dry_run: bool, force: bool,
                  allowed_signers: Path | None, as_json: bool, quiet: bool) -> None:
    """Bring the repository at --repo exactly to STORE's newest state.

    Takes in the objects of every link the target lacks, in order, then sets all refs (added,
    moved, deleted) in one atomic transaction, and HEAD. Running it again changes nothing.
    Refuses a store of another repository, and a target whose refs were changed since the
    last apply, unless --force. A filtered store (`create --filter`) goes only into an
    existing partial clone (`git clone --bare --filter=blob:none <origin URL> TARGET`).
    With --allowed-signers, every manifest it reads must be validly signed by a key in FILE;
    otherwise it refuses before changing anything (--force does not override that).
    """
    plan = apply_store(store, target, dry_run, force, _show_progress(quiet, as_json),
                       allowed_signers)
    _warn(plan.warnings, quiet)
    if as_json:
        click.echo(json.dumps(_plan_json(plan, dry_run), indent=2))
        return
    if quiet:
        return
    if plan.up_to_date:
        click.echo(f"{target} is up to date (link {plan.sequence})")
        return
    for line in _plan_lines(plan, "would " if dry_run else ""):
        click.echo(line)
    if not dry_run:
        click.echo(f"{target} is at link {plan.sequence}")


@bundle.command(name="status")
@click.argument("store", type=_path)
@click.option("--repo", "target", type=_path, required=True,
              help="The repository to compare with the store.")
@_json_option
@_quiet_option
def status_command(store: Path, target: Path, as_json: bool, quiet: bool) -> None:
    """How far the repository at --repo is behind STORE, and what `apply` would change.

    Reads the manifests and the repository's refs only (no bundle, no lock) and changes
    nothing; `apply --dry-run` also checks the bundles it would read. Exit status 0 whether
    or not the repository is up to date or apply would refuse; 1 on an error.
    """
    from devkit.bundle.status import target_status

    status = target_status(store, target)
    if as_json:
        click.echo(json.dumps({**_plan_json(status.plan, True), "exists": status.exists,
                               "up_to_date": status.up_to_date,
                               "applied": status.applied, "newest": status.newest,
                               "behind": status.behind, "refused": status.refused,
                               "blocked": status.blocked}, indent=2))
        return
    if quiet:
        return
    if not status.exists:
        click.echo(f"{target} does not exist: apply would create it from "
                   f"{_span(range(status.plan.links[0].sequence, status.newest + 1))}")
    elif status.up_to_date:
        click.echo(f"{target} is up to date (link {status.newest})")
        return
    elif status.applied:
        click.echo(f"{target} is at link {status.applied} of {status.newest}: "
                   f"{status.behind} link(s) behind")
    else:
        click.echo(f"{target} has applied none of this store's links (it has {status.newest})")
    if status.blocked:
        click.echo(f"apply would refuse: {status.blocked}")
        return
    if status.refused:
        click.echo(f"apply would refuse: {status.refused}")
    for line in _plan_lines(status.plan, "would " if not status.refused else "--force would "):
        click.echo(line)
