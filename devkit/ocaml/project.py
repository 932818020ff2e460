"""The project root, found the way dune finds it.

Dune's rule (dune manual, "Finding the Root"; checked against dune 2.9.3): the root is the
outermost ancestor folder that holds a ``dune-workspace`` file; when no ancestor has one, the
outermost ancestor that holds a ``dune-project`` file. A ``dune-project`` above an inner
``dune-workspace`` does not count: once a workspace file is seen, only workspace files further up
can move the root. Dune itself falls back to the current folder; devkit instead falls back to the
nearest ancestor with a ``*.opam`` file or ``esy.json`` (a project without dune files yet), then
the nearest ``.git``, and otherwise raises `NotAnOCamlProject`.

Dune's ``--root DIR`` bypasses the search; `find_project` takes the same override as its
``root`` parameter. Nothing here reads the environment or the current directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devkit.errors import DevkitError

#: Kinds of project, in the order the search prefers them.
DUNE_WORKSPACE = "dune-workspace"
DUNE_PROJECT = "dune-project"
OPAM = "opam"
ESY = "esy"
GIT = "git"
EXPLICIT = "explicit"

_MARKER_NAMES = ("dune-workspace", "dune-project", "esy.json", ".git", "_opam")


class NotAnOCamlProject(DevkitError):
    """No project marker in a folder or any of its parents."""


class OutsideProject(DevkitError):
    """A path that is not under the project root."""


@dataclass(frozen=True)
class Project:
    """An OCaml project: its root folder, how the root was found, and the markers at the root.

    `kind` is one of ``dune-workspace``, ``dune-project`` (dune finds the same root by itself),
    ``opam``, ``esy``, ``git`` (fallbacks: dune has nothing to find there yet) or ``explicit``
    (the caller gave the root, like ``dune --root``). `markers` names the marker files present in
    the root folder, sorted, e.g. ``("demo.opam", "dune-project")``.
    """

    root: Path
    kind: str
    markers: tuple[str, ...] = ()

    @property
    def is_dune_root(self) -> bool:
        """Whether dune, started anywhere below `root`, picks `root` as its workspace root."""
        return self.kind in (DUNE_WORKSPACE, DUNE_PROJECT)

    def relative(self, path: Path | str) -> Path:
        """`path` relative to the root; `OutsideProject` for a path that is not under it.

        Relative paths are taken relative to the root. Symbolic links are resolved only when the
        path as written is not under the root (an editor may show either form).

        >>> Project(Path("/src/demo"), "dune-project").relative("/src/demo/bin/main.ml")
        PosixPath('bin/main.ml')
        """
        path = Path(path)
        if not path.is_absolute():
            path = self.root / path
        for candidate, root in ((path, self.root), (path.resolve(), self.root.resolve())):
            try:
                return _normalise(candidate).relative_to(_normalise(root))
            except ValueError:
                continue
        raise OutsideProject(
            f"{path} is outside the project at {self.root}; "
            f"open a file under {self.root} or give that file's own project root"
        )


def _normalise(path: Path) -> Path:
    """`path` with ``.`` and ``..`` parts removed lexically (no file-system access)."""
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if len(parts) > 1:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return Path(*parts)


def _markers(folder: Path) -> tuple[str, ...]:
    found = [name for name in _MARKER_NAMES if (folder / name).exists()]
    try:
        found += [p.name for p in folder.glob("*.opam") if p.is_file()]
    except OSError:
        pass
    return tuple(sorted(found))


def _has_opam_file(folder: Path) -> bool:
    try:
        return any(p.is_file() for p in folder.glob("*.opam"))
    except OSError:
        return False


def _start_folder(path: Path) -> Path:
    path = Path(path).absolute()
    if path.is_dir():
        return path.resolve()
    if path.exists() or path.parent.is_dir():
        return path.parent.resolve()
    raise NotAnOCamlProject(f"{path} does not exist; give an existing file or folder")


def dune_root(start: Path) -> tuple[Path, str] | None:
    """The root dune would pick when started in folder `start`, and why; None when dune would
    fall back to `start` itself (no ``dune-workspace`` or ``dune-project`` above it).

    Outermost ``dune-workspace`` wins; without one, the outermost ``dune-project``.
    """
    workspace: Path | None = None
    project: Path | None = None
    for folder in (start, *start.parents):
        if (folder / "dune-workspace").is_file():
            workspace = folder
        elif workspace is None and (folder / "dune-project").is_file():
            project = folder
    if workspace is not None:
        return workspace, DUNE_WORKSPACE
    if project is not None:
        return project, DUNE_PROJECT
    return None


def find_project(path: Path | str, root: Path | str | None = None) -> Project:
    """The project that `path` (a file or a folder) belongs to.

    With `root` given (like ``dune --root``), that folder is the root, no search happens, and
    `path` must be under it. Otherwise: dune's own rule (see the module docstring), then the
    nearest ``*.opam``/``esy.json``, then the nearest ``.git``.
    """
    start = _start_folder(Path(path))
    if root is not None:
        root_path = Path(root).absolute()
        if not root_path.is_dir():
            raise NotAnOCamlProject(f"the given project root {root_path} is not a folder")
        project = Project(root_path.resolve(), EXPLICIT, _markers(root_path))
        project.relative(start)
        return project
    found = dune_root(start)
    if found is not None:
        folder, kind = found
        return Project(folder, kind, _markers(folder))
    for folder in (start, *start.parents):
        if _has_opam_file(folder):
            return Project(folder, OPAM, _markers(folder))
        if (folder / "esy.json").is_file():
            return Project(folder, ESY, _markers(folder))
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return Project(folder, GIT, _markers(folder))
    raise NotAnOCamlProject(
        f"{start} is not in an OCaml project: no dune-workspace, dune-project, *.opam, esy.json "
        f"or .git in it or any parent folder; run `dune init project NAME` to start one"
    )


def project_or_reason(path: Path | str) -> tuple[Project | str, Path]:
    """What a report on `path` (a file or folder) is about: its project, or the reason there is
    none (`NotAnOCamlProject`'s message, which says how to start one), and the folder to report
    on: the project's root, else `path`'s folder (`path` itself when it is one).

    >>> project_or_reason("/")[1]
    PosixPath('/')
    """
    path = Path(path).absolute()
    try:
        project = find_project(path)
    except NotAnOCamlProject as error:  # the tools are reported all the same
        return str(error), path if path.is_dir() else path.parent
    return project, project.root
