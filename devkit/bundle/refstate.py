"""A repository's ref state: every ref and its object, the commit each tag peels to, and HEAD."""

from dataclasses import dataclass, field

from devkit.bundle.gitrepo import Repository
from devkit.errors import DevkitError

# Refs that are local bookkeeping rather than history, left out unless asked for.
STASH = "refs/stash"
REMOTES = "refs/remotes/"


class UnsupportedRefName(DevkitError):
    """A ref name that a store cannot carry exactly."""


@dataclass(frozen=True)
class Head:
    """HEAD: a symbolic ref to a branch (which may not exist yet), or a detached object id."""

    symref: str | None = None
    detached: str | None = None

    def describe(self) -> str:
        return self.symref or (f"detached at {self.detached}" if self.detached else "unset")


@dataclass(frozen=True)
class RefState:
    """Refs under refs/ with their object ids, and HEAD.

    `peeled` has an entry for every ref whose object is not a commit: the commit it peels to
    (an annotated tag's target), or None when it does not peel to a commit.
    """

    refs: dict[str, str] = field(default_factory=dict)
    peeled: dict[str, str | None] = field(default_factory=dict)
    head: Head = field(default_factory=Head)

    def commit_tips(self) -> set[str]:
        """The commits the refs point at, tags peeled."""
        tips = {self.peeled.get(name, oid) for name, oid in self.refs.items()}
        tips.discard(None)
        return tips

    def head_oid(self) -> str | None:
        """The object HEAD resolves to in this state, or None (unborn or unset)."""
        if self.head.symref:
            return self.refs.get(self.head.symref)
        return self.head.detached


@dataclass(frozen=True)
class RefChanges:
    """What changed from one ref state to the next."""

    added: dict[str, str]
    moved: dict[str, tuple[str, str]]
    removed: dict[str, str]
    head_changed: bool

    def __bool__(self) -> bool:
        return bool(self.added or self.moved or self.removed or self.head_changed)

    def summary(self) -> str:
        text = f"+{len(self.added)} ~{len(self.moved)} -{len(self.removed)}"
        return text + (" HEAD" if self.head_changed else "")


def compare(old: RefState, new: RefState) -> RefChanges:
    added = {name: oid for name, oid in new.refs.items() if name not in old.refs}
    removed = {name: oid for name, oid in old.refs.items() if name not in new.refs}
    moved = {name: (old.refs[name], oid) for name, oid in new.refs.items()
             if name in old.refs and old.refs[name] != oid}
    return RefChanges(dict(sorted(added.items())), dict(sorted(moved.items())),
                      dict(sorted(removed.items())), old.head != new.head)


def read_ref_state(repo: Repository, include_remotes: bool = False,
                   include_stash: bool = False) -> RefState:
    """The ref state of `repo`; refs/remotes/* and refs/stash only when asked for."""
    listing = repo.git(
        "for-each-ref", "--format=%(objectname) %(objecttype) %(*objectname) %(*objecttype) "
        "%(refname)", "refs/").stdout
    refs: dict[str, str] = {}
    peeled: dict[str, str | None] = {}
    tags_of_tags: list[str] = []
    for raw_line in listing.splitlines():
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError:
            name = raw_line.split(b" ", 4)[-1].decode(errors="replace")
            raise UnsupportedRefName(
                f"ref {name!r} in {repo.path} is not valid UTF-8, which bundle stores cannot "
                f"record; rename it (e.g. `git branch -m`) first") from None
        oid, kind, target, target_kind, name = line.split(" ", 4)
        if (name == STASH and not include_stash) or (
                name.startswith(REMOTES) and not include_remotes):
            continue
        refs[name] = oid
        if kind == "commit":
            continue
        if target_kind == "tag":
            tags_of_tags.append(name)  # %(*…) peels one level only
        peeled[name] = target if target_kind == "commit" else None
    if tags_of_tags:
        commits = peel_to_commits(repo, [refs[name] for name in tags_of_tags])
        peeled.update({name: commits[refs[name]] for name in tags_of_tags})
    return RefState(refs=refs, peeled=peeled, head=read_head(repo))


def read_head(repo: Repository) -> Head:
    symref = repo.git_text("symbolic-ref", "-q", "HEAD", ok_codes=(0, 1)).strip()
    if symref:
        return Head(symref=symref)
    oid = repo.git_text("rev-parse", "-q", "--verify", "HEAD", ok_codes=(0, 1)).strip()
    return Head(detached=oid or None)


def peel_to_commits(repo: Repository, oids: list[str]) -> dict[str, str | None]:
    """For each object id, the commit it peels to, or None when it does not peel to one."""
    if not oids:
        return {}
    query = "".join(f"{oid}^{{commit}}\n" for oid in oids).encode()
    out = repo.git_text("cat-file", "--batch-check=%(objectname)", input=query).splitlines()
    return {oid: (line if " " not in line else None) for oid, line in zip(oids, out, strict=True)}


def existing_objects(repo: Repository, oids: set[str]) -> set[str]:
    """The subset of `oids` that are present in `repo`."""
    if not oids:
        return set()
    ordered = sorted(oids)
    query = "".join(f"{oid}\n" for oid in ordered).encode()
    out = repo.git_text("cat-file", "--batch-check=%(objectname)", input=query).splitlines()
    return {oid for oid, line in zip(ordered, out, strict=True) if " " not in line}
