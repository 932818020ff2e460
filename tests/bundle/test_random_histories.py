"""Random histories: whatever a repository goes through, `apply` reproduces it exactly.

Hypothesis drives a real repository through random sequences of branch, tag, HEAD and
history-rewriting operations (with garbage collection, so rewritten objects really vanish),
with `update` interleaved at random points and always at the end. A target that applied after
every update, one that applied only now and then, and a fresh target applied at the end must
each equal the source: the same `for-each-ref`, the same HEAD, and a clean `git fsck`.
"""

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from devkit.bundle.apply import apply_store
from devkit.bundle.snapshot import create_store, update_store
from devkit.bundle.store import BundleStore
from devkit.bundle.verify import verify_path
from tests.bundle.gitrepos import SourceRepo, assert_same_repository, git

# Small pools, so that names are reused, deleted and recreated, and so that `x` and `x/y`
# (which cannot exist at the same time) follow each other.
BRANCHES = ("main", "topic", "x", "x/y", "fix", "fix/a/b")
TAGS = ("v1", "v2", "rel", "rel/1")
NESTED = {"x": "x/y", "fix": "fix/a/b", "rel": "rel/1"}
SWAPPED = NESTED | {inner: outer for outer, inner in NESTED.items()}
# Repeated entries are drawn more often.
OPERATIONS = ("commit", "commit", "commit", "branch", "branch", "delete-branch", "switch",
              "switch", "reset", "amend", "merge", "tag", "annotated-tag", "delete-tag",
              "nest", "nest", "detach", "gc", "update", "update", "update")


def _conflicts(a: str, b: str) -> bool:
    """Whether refs `a` and `b` cannot both exist (one is a folder of the other)."""
    return a.startswith(b + "/") or b.startswith(a + "/")


class History:
    """A source repository, its store and the targets that follow it, changed step by step."""

    def __init__(self, root: Path, data: st.DataObject) -> None:
        self.data = data
        self.repo = SourceRepo(root / "source")
        self.store = root / "store"
        self.every_update = root / "every-update"  # applies after every update
        self.now_and_then = root / "now-and-then"  # applies after some updates only
        self.fresh = root / "fresh"  # applies once, at the end
        self.commits: list[str] = []
        self.serial = 0
        self.links = 0
        self.commit()
        git(self.repo.path, "branch", "x")  # ready to be replaced by x/y (see `nest`)
        git(self.repo.path, "tag", "rel")

    # -- reading the source ------------------------------------------------------------

    def draw(self, strategy: st.SearchStrategy, label: str):
        return self.data.draw(strategy, label=label)

    def names(self, namespace: str) -> list[str]:
        listing = git(self.repo.path, "for-each-ref", "--format=%(refname)", f"refs/{namespace}/")
        return [line.removeprefix(f"refs/{namespace}/") for line in listing.splitlines()]

    def current_branch(self) -> str | None:
        out = git(self.repo.path, "for-each-ref", "--format=%(HEAD) %(refname)", "refs/heads/")
        for line in out.splitlines():
            if line.startswith("* "):
                return line[2:].removeprefix("refs/heads/")
        return None

    def unique(self) -> int:
        self.serial += 1
        return self.serial

    def some_commit(self) -> str:
        return self.draw(st.sampled_from(self.commits), "commit")

    def make_room(self, namespace: str, name: str) -> bool:
        """Delete the refs that `name` would clash with (`x` for `x/y`); False if one is HEAD's."""
        clashing = [other for other in self.names(namespace) if _conflicts(other, name)]
        if namespace == "heads" and self.current_branch() in clashing:
            return False
        delete = ["branch", "-D"] if namespace == "heads" else ["tag", "-d"]
        for other in clashing:
            git(self.repo.path, *delete, other)
        return True

    # -- operations --------------------------------------------------------------------

    def commit(self) -> None:
        n = self.unique()
        self.commits.append(self.repo.commit(f"commit {n}", {f"c{n}.txt": f"{n}\n"}))

    def branch(self) -> None:
        name = self.draw(st.sampled_from(BRANCHES), "branch name")
        if name == self.current_branch() or not self.make_room("heads", name):
            return
        git(self.repo.path, "branch", "-f", name, self.some_commit())

    def delete_branch(self) -> None:
        others = [name for name in self.names("heads") if name != self.current_branch()]
        if self.links == 0 and len(self.names("heads")) + len(self.names("tags")) <= 1:
            return  # `create` refuses a repository without refs; a later `update` may see one
        if others:
            git(self.repo.path, "branch", "-D", self.draw(st.sampled_from(others), "delete"))

    def switch(self) -> None:
        others = [name for name in self.names("heads") if name != self.current_branch()]
        if others:
            git(self.repo.path, "switch", "-q", self.draw(st.sampled_from(others), "switch to"))

    def reset(self) -> None:
        depth = int(git(self.repo.path, "rev-list", "--count", "--first-parent", "HEAD")) - 1
        if depth:
            steps = self.draw(st.integers(1, min(depth, 3)), "reset back")
            git(self.repo.path, "reset", "-q", "--hard", f"HEAD~{steps}")

    def amend(self) -> None:
        if not git(self.repo.path, "rev-list", "--parents", "-n1", "HEAD").strip().count(" "):
            # Rewriting the root commit makes a history that shares no commit with the store's:
            # `update` refuses that as another repository.
            return
        n = self.unique()
        (self.repo.path / f"c{n}.txt").write_text(f"{n}\n")
        git(self.repo.path, "add", f"c{n}.txt")
        git(self.repo.path, "commit", "-q", "--amend", "-m", f"amended {n}")
        self.commits.append(self.repo.rev("HEAD"))

    def merge(self) -> None:
        others = [name for name in self.names("heads") if name != self.current_branch()]
        if others:
            other = self.draw(st.sampled_from(others), "merge")
            git(self.repo.path, "merge", "-q", "--no-ff", "--no-edit", "-m",
                f"merge {self.unique()}", f"refs/heads/{other}")
            self.commits.append(self.repo.rev("HEAD"))

    def tag(self, annotated: bool = False) -> None:
        name = self.draw(st.sampled_from(TAGS), "tag name")
        self.make_room("tags", name)
        options = ["-a", "-m", f"tag {self.unique()}"] if annotated else []
        git(self.repo.path, "tag", "-f", *options, name, self.some_commit())

    def delete_tag(self) -> None:
        tags = self.names("tags")
        if tags:
            git(self.repo.path, "tag", "-d", self.draw(st.sampled_from(tags), "delete tag"))

    def nest(self) -> None:
        """Replace a ref `x` by `x/y` or `x/y` by `x`: git cannot hold both at once."""
        candidates = [(namespace, name) for namespace in ("heads", "tags")
                      for name in self.names(namespace)
                      if name in SWAPPED and name != self.current_branch()]
        if not candidates:
            return
        namespace, name = self.draw(st.sampled_from(candidates), "nest")
        swapped = SWAPPED[name]
        if self.make_room(namespace, swapped):
            command = "branch" if namespace == "heads" else "tag"
            git(self.repo.path, command, swapped, self.some_commit())

    def detach(self) -> None:
        git(self.repo.path, "switch", "-q", "--detach", self.some_commit())

    def gc(self) -> None:
        git(self.repo.path, "reflog", "expire", "--expire=now", "--all")
        git(self.repo.path, "gc", "-q", "--prune=now")
        present = git(self.repo.path, "cat-file", "--batch-check=%(objectname)",
                      input="".join(f"{oid}\n" for oid in self.commits))
        self.commits = [oid for oid, line in zip(self.commits, present.splitlines(), strict=True)
                        if " " not in line]
        event("garbage collected")

    def update(self) -> None:
        """Write the next link (link 1 the first time) and apply it where it is followed."""
        if self.links == 0:
            create_store(self.repo.path, self.store)
        else:
            changes = update_store(self.repo.path, self.store).changes
            if any(_conflicts(a, b) for a in changes.added for b in changes.removed):
                event("a link deletes `a` and creates `a/b`")
            if changes.head_changed:
                event("a link switches HEAD")
        self.links = len(BundleStore(self.store).links())
        apply_store(self.store, self.every_update)
        assert_same_repository(self.repo.path, self.every_update)
        if self.draw(st.booleans(), "apply to the now-and-then target"):
            apply_store(self.store, self.now_and_then)
            assert_same_repository(self.repo.path, self.now_and_then)

    def run(self, operation: str) -> None:
        actions = {
            "commit": self.commit, "branch": self.branch, "delete-branch": self.delete_branch,
            "switch": self.switch, "reset": self.reset, "amend": self.amend,
            "merge": self.merge, "tag": self.tag, "annotated-tag": lambda: self.tag(True),
            "delete-tag": self.delete_tag, "nest": self.nest, "detach": self.detach,
            "gc": self.gc,
            "update": self.update,
        }
        actions[operation]()


@pytest.mark.slow
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_history_is_reproduced_exactly(data):
    with tempfile.TemporaryDirectory() as folder:
        history = History(Path(folder), data)
        steps = data.draw(st.lists(st.sampled_from(OPERATIONS), min_size=4, max_size=30),
                          label="operations")
        for operation in steps:
            history.run(operation)
        history.update()

        assert verify_path(history.store).ok
        apply_store(history.store, history.fresh)
        assert_same_repository(history.repo.path, history.fresh)
        apply_store(history.store, history.now_and_then)
        assert_same_repository(history.repo.path, history.now_and_then)
        # Applying again changes nothing.
        assert apply_store(history.store, history.fresh).up_to_date


def test_update_after_every_recorded_tip_was_rewritten_and_collected(tmp_path):
    """A branch amended and garbage-collected is a rewrite `update` must carry, not a refusal.

    The last link recorded one tip (main); after `commit --amend` and `gc --prune=now` the
    source no longer has that commit, though it is the same repository.
    """
    repo = SourceRepo(tmp_path / "source")
    repo.commit()
    repo.commit()
    create_store(repo.path, tmp_path / "store")
    apply_store(tmp_path / "store", tmp_path / "target")
    repo.git("commit", "-q", "--amend", "-m", "rewritten")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")

    update_store(repo.path, tmp_path / "store")

    assert verify_path(tmp_path / "store").ok
    apply_store(tmp_path / "store", tmp_path / "target")
    assert_same_repository(repo.path, tmp_path / "target")
    apply_store(tmp_path / "store", tmp_path / "fresh")
    assert_same_repository(repo.path, tmp_path / "fresh")
