"""Opening git repositories and running git.

git always runs as a subprocess with an argument list, in the repository's folder, with the
environment's GIT_DIR-style overrides removed so that the path given is the repository used.
A repository is opened with one `git rev-parse`, which also says whether it is bare or shallow
and which object format it uses. GitPython creates new repositories; it is imported only there,
because importing it takes longer (~85 ms) than everything most commands do.
"""

import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devkit.errors import DevkitError


class NotARepository(DevkitError):
    """The path given is not a git repository."""


class GitFailed(DevkitError):
    """A git command exited with an unexpected status."""


_ENV_DROPPED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES")


def _git_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _ENV_DROPPED}
    env["LC_ALL"] = "C"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


@dataclass(frozen=True)
class Repository:
    """A git repository on disk: `path` is its work tree (or the bare repository itself)."""

    path: Path
    git_dir: Path  # this worktree's git folder
    common_dir: Path  # the git folder shared by all worktrees (refs, objects, config)
    bare: bool
    object_format: str = "sha1"
    shallow: bool = False

    @property
    def linked_worktree(self) -> bool:
        """Whether `path` is a worktree added with `git worktree add` (not the main one)."""
        return self.git_dir.resolve() != self.common_dir

    def git(self, *args: str, input: bytes | None = None,
            ok_codes: Sequence[int] = (0,)) -> subprocess.CompletedProcess:
        """Run `git ARGS` here and return the finished process (stdout/stderr as bytes).

        Raises GitFailed, carrying git's last line of stderr, on an exit status not in ok_codes.
        """
        process = subprocess.run(
            ["git", *args], cwd=self.path, input=input, capture_output=True,
            env=_git_environment(), check=False)
        if process.returncode not in ok_codes:
            raise git_failure(args, self.path, process.returncode, process.stderr)
        return process

    def git_text(self, *args: str, input: bytes | None = None,
                 ok_codes: Sequence[int] = (0,)) -> str:
        """Run `git ARGS` here and return its stdout decoded (errors replaced)."""
        return self.git(*args, input=input, ok_codes=ok_codes).stdout.decode(errors="replace")

    @contextmanager
    def streaming(self, *args: str, stdin=None, stdout=None,
                  show_stderr: bool = False) -> Iterator[subprocess.Popen]:
        """Run `git ARGS` here for the block to stream through; then wait for it.

        Leaving the block closes git's pipes and waits; a non-zero exit raises GitFailed with
        git's last line of stderr. With `show_stderr` git writes its stderr (its progress) to
        ours instead.
        """
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(["git", *args], cwd=self.path, stdin=stdin, stdout=stdout,
                                       stderr=None if show_stderr else errors,
                                       env=_git_environment())
            try:
                yield process
            finally:
                for pipe in (process.stdin, process.stdout):
                    if pipe:
                        pipe.close()
                status = process.wait()
            if status != 0:
                errors.seek(0)
                raise git_failure(args, self.path, status, errors.read())

    def config_get(self, key: str) -> str | None:
        """The value of a config key of this repository, or None when unset."""
        out = self.git_text("config", "--local", "--get", key, ok_codes=(0, 1))
        return out.strip() or None

    def promisor_remotes(self) -> dict[str, str | None]:
        """The remotes this repository, a partial clone, fetches missing objects from, with the
        filter each was cloned with (None if not recorded); empty for a complete repository.

        As git counts them: `remote.<name>.promisor` true (what `git clone --filter` sets), or
        the remote `extensions.partialClone` names (older git).
        """
        listing = self.git_text("config", "--type=bool", "--get-regexp",
                                r"^remote\..*\.promisor$", ok_codes=(0, 1))
        names = [key[len("remote."):-len(".promisor")] for key, _, value in
                 (line.partition(" ") for line in listing.splitlines()) if value == "true"]
        legacy = self.git_text("config", "--get", "extensions.partialClone",
                               ok_codes=(0, 1)).strip()
        if legacy and legacy not in names:
            names.append(legacy)
        return {name: self.git_text("config", "--get", f"remote.{name}.partialclonefilter",
                                    ok_codes=(0, 1)).strip() or None for name in names}


def git_failure(args: Sequence[str], where: Path, status: int, stderr: bytes) -> GitFailed:
    """A GitFailed naming the command and git's last meaningful line of stderr."""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines()]
    lines = [line for line in lines if line and not line.startswith("hint:")]
    reason = lines[-1] if lines else f"exit status {status}"
    return GitFailed(f"git {args[0]} failed in {where}: {reason}")


def open_repository(path: Path) -> Repository:
    """Open the repository at exactly `path` (a work tree, a bare repository, or a .git folder)."""
    path = Path(path)
    if not path.is_dir():
        raise NotARepository(f"{path} does not exist" if not path.exists()
                             else f"{path} is not a git repository (not a folder)")
    environment = _git_environment()
    # Look at `path` itself only, never at the folders above it.
    environment["GIT_CEILING_DIRECTORIES"] = str(path.absolute().parent)
    process = subprocess.run(
        ["git", "rev-parse", "--is-bare-repository", "--absolute-git-dir", "--git-common-dir",
         "--show-object-format", "--is-shallow-repository"],
        cwd=path, capture_output=True, env=environment, check=False)
    if process.returncode != 0:
        raise NotARepository(f"{path} is not a git repository")
    bare, git_dir, common_dir, object_format, shallow = [
        os.fsdecode(line) for line in process.stdout.split(b"\n")[:5]]
    git_dir_path = Path(git_dir)
    return Repository(path=path, git_dir=git_dir_path,
                      common_dir=(path / common_dir).resolve(), bare=bare == "true",
                      object_format=object_format, shallow=shallow == "true")


def init_bare_repository(path: Path, object_format: str = "sha1") -> Repository:
    """Create a new bare repository at `path` and open it."""
    import git as gitpython  # see the module docstring: imported where it is needed

    try:
        gitpython.Repo.init(path, bare=True, mkdir=True,
                            **{"object-format": object_format}).close()
    except gitpython.GitCommandError as error:
        raise git_failure(["init"], path, error.status or 1,
                          (error.stderr or "").encode()) from None
    return open_repository(path)
