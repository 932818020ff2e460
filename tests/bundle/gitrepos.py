"""Building real git repositories in tests, and reading back what a repository holds."""

import subprocess
from pathlib import Path

from devkit.bundle.refstate import read_head


def git(repo: Path, *args: str, input: str | None = None) -> str:
    """Run git in `repo`; fail the test with git's stderr if it fails."""
    process = subprocess.run(["git", *args], cwd=repo, input=input, capture_output=True,
                             text=True, check=False)
    if process.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {repo}:\n{process.stderr}")
    return process.stdout


class SourceRepo:
    """A non-bare repository with helpers for making history; each commit has a unique file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counter = 0
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "-b", "main")

    def git(self, *args: str, input: str | None = None) -> str:
        return git(self.path, *args, input=input)

    def commit(self, message: str | None = None, files: dict[str, str] | None = None) -> str:
        """Commit on the current branch (unique content unless `files` given); return its id."""
        self.counter += 1
        files = files or {f"file{self.counter % 7}.txt": f"content {self.counter}\n"}
        for name, text in files.items():
            (self.path / name).parent.mkdir(parents=True, exist_ok=True)
            (self.path / name).write_text(text)
            self.git("add", name)
        self.git("commit", "-q", "--allow-empty", "-m", message or f"commit {self.counter}")
        return self.rev("HEAD")

    def rev(self, revision: str) -> str:
        return self.git("rev-parse", revision).strip()


def ref_listing(repo: Path) -> str:
    """`git for-each-ref` output: what two repositories must agree on."""
    return git(repo, "for-each-ref", "--format=%(objectname) %(objecttype) %(refname)")


def head_of(repo: Path) -> str:
    """HEAD as a string: the branch it points at, or the detached object id."""
    from devkit.bundle.gitrepo import open_repository
    return read_head(open_repository(repo)).describe()


def assert_same_repository(source: Path, target: Path, exclude_remotes: bool = True) -> None:
    """The target's refs and HEAD equal the source's, and the target passes `git fsck`."""
    expected = ref_listing(source)
    if exclude_remotes:
        expected = "".join(line + "\n" for line in expected.splitlines()
                           if " refs/remotes/" not in line and not line.endswith(" refs/stash"))
    assert ref_listing(target) == expected
    assert head_of(target) == head_of(source)
    git(target, "fsck", "--strict", "--no-dangling")
