"""Project root detection, checked against the root real dune picks for the same folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devkit.errors import DevkitError
from devkit.ocaml.project import (
    NotAnOCamlProject,
    OutsideProject,
    Project,
    find_project,
    project_or_reason,
)
from tests.conftest import require_tool
from tests.ocaml.ocamlprojects import run, write_project

LANG = "(lang dune 2.9)\n"

# Each layout: files to write, the folder to start from, the root dune (and devkit) must pick.
LAYOUTS = {
    "nested projects inside a workspace: outermost workspace": (
        {"dune-workspace": LANG, "a/dune-project": LANG, "a/b/dune-project": LANG},
        "a/b/src",
        ".",
        "dune-workspace",
    ),
    "nested workspaces: outermost": (
        {"dune-workspace": LANG, "inner/dune-workspace": LANG, "inner/x/dune-project": LANG},
        "inner/x",
        ".",
        "dune-workspace",
    ),
    "nested projects: outermost": (
        {"dune-project": LANG, "lib/dune-project": LANG, "lib/deep/dune-project": LANG},
        "lib/deep",
        ".",
        "dune-project",
    ),
    "a workspace below projects wins over them": (
        {"dune-project": LANG, "a/dune-project": LANG, "a/b/dune-workspace": LANG},
        "a/b/c",
        "a/b",
        "dune-workspace",
    ),
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_root_is_the_one_dune_picks(tmp_path, name):
    files, start, expected, kind = LAYOUTS[name]
    top = write_project(tmp_path / "layout", files)
    (top / start).mkdir(parents=True, exist_ok=True)

    project = find_project(top / start)

    assert project.root == (top / expected).resolve()
    assert project.kind == kind
    assert project.is_dune_root

    # Real dune, started in the same folder, builds in the same root.
    require_tool("dune", "apt-get install ocaml-nox ocaml-dune")
    done = run(["dune", "build"], cwd=top / start)
    assert done.returncode == 0, done.stderr
    assert (project.root / "_build").is_dir()
    builds = sorted(p.parent for p in top.rglob("_build"))
    assert builds == [project.root]


def test_start_from_a_file(tmp_path):
    root = write_project(tmp_path / "p", {"dune-project": LANG, "bin/main.ml": "let () = ()\n"})
    project = find_project(root / "bin" / "main.ml")
    assert project == Project(root.resolve(), "dune-project", ("dune-project",))


def test_a_new_file_in_an_existing_folder(tmp_path):
    root = write_project(tmp_path / "p", {"dune-project": LANG, "src/a.ml": ""})
    assert find_project(root / "src" / "not_yet.ml").root == root.resolve()


def test_opam_file_without_dune_files_nearest_wins(tmp_path):
    root = write_project(
        tmp_path / "p", {"outer.opam": "", "pkg/inner.opam": "", "pkg/src/a.ml": ""}
    )
    project = find_project(root / "pkg" / "src")
    assert project.root == (root / "pkg").resolve()
    assert project.kind == "opam"
    assert project.markers == ("inner.opam",)
    assert not project.is_dune_root


def test_esy_json(tmp_path):
    root = write_project(tmp_path / "p", {"esy.json": "{}\n", "src/a.ml": ""})
    project = find_project(root / "src" / "a.ml")
    assert (project.root, project.kind) == (root.resolve(), "esy")


def test_dune_files_win_over_opam_and_git(tmp_path):
    root = write_project(
        tmp_path / "p", {"demo.opam": "", "sub/dune-project": LANG, "sub/a.ml": ""}
    )
    require_tool("git", "apt-get install git")
    assert run(["git", "init", "-q", str(root)], cwd=tmp_path).returncode == 0
    project = find_project(root / "sub" / "a.ml")
    assert (project.root, project.kind) == ((root / "sub").resolve(), "dune-project")


def test_git_fallback(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    assert run(["git", "init", "-q", str(root)], cwd=tmp_path).returncode == 0
    (root / "notes").mkdir()
    project = find_project(root / "notes")
    assert (project.root, project.kind) == (root.resolve(), "git")
    assert ".git" in project.markers


def _has_marker_above(folder: Path) -> bool:
    names = ("dune-workspace", "dune-project", "esy.json", ".git")
    return any(
        any((p / n).exists() for n in names) or any(p.glob("*.opam"))
        for p in (folder, *folder.parents)
    )


def test_not_a_project(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    if _has_marker_above(folder):
        pytest.fail(f"the temporary folder {folder} is inside a project; cannot test this")
    with pytest.raises(NotAnOCamlProject) as caught:
        find_project(folder)
    message = str(caught.value)
    assert isinstance(caught.value, DevkitError)
    assert "\n" not in message
    for looked_for in ("dune-workspace", "dune-project", "*.opam", "esy.json", ".git"):
        assert looked_for in message


def test_project_or_reason_says_what_a_report_is_about(tmp_path):
    root = write_project(tmp_path / "proj", {"dune-project": "(lang dune 2.9)\n",
                                             "lib/a.ml": "let x = 1\n"})
    assert project_or_reason(root / "lib" / "a.ml") == (find_project(root), root)
    plain = tmp_path / "plain"
    (plain / "a.ml").parent.mkdir()
    (plain / "a.ml").write_text("let x = 1\n")
    if _has_marker_above(plain):
        pytest.fail(f"the temporary folder {plain} is inside a project; cannot test this")
    for path in (plain, plain / "a.ml"):  # a folder is reported on, a file's folder
        reason, folder = project_or_reason(path)
        assert folder == plain
        assert isinstance(reason, str) and "dune init project" in reason


def test_missing_path(tmp_path):
    with pytest.raises(NotAnOCamlProject, match="does not exist"):
        find_project(tmp_path / "no" / "such" / "file.ml")


def test_explicit_root_like_dune_root_option(tmp_path):
    root = write_project(tmp_path / "p", {"dune-project": LANG, "sub/dune-project": LANG})
    project = find_project(root / "sub", root=root / "sub")
    assert (project.root, project.kind) == ((root / "sub").resolve(), "explicit")
    with pytest.raises(OutsideProject):
        find_project(root, root=root / "sub")
    with pytest.raises(NotAnOCamlProject, match="not a folder"):
        find_project(root, root=root / "missing")


def test_relative(tmp_path):
    root = write_project(tmp_path / "p", {"dune-project": LANG, "bin/main.ml": ""})
    project = find_project(root)
    assert project.relative(root / "bin" / "main.ml") == Path("bin/main.ml")
    assert project.relative("bin/main.ml") == Path("bin/main.ml")
    assert project.relative(root / "bin" / ".." / "bin" / "main.ml") == Path("bin/main.ml")
    assert project.relative(root) == Path(".")


def test_relative_through_a_symlink(tmp_path):
    root = write_project(tmp_path / "p", {"dune-project": LANG, "bin/main.ml": ""})
    link = tmp_path / "link"
    os.symlink(root, link)
    project = find_project(root)
    assert project.relative(link / "bin" / "main.ml") == Path("bin/main.ml")


def test_relative_outside_the_project(tmp_path):
    root = write_project(tmp_path / "p", {"dune-project": LANG})
    other = write_project(tmp_path / "other", {"x.ml": ""})
    project = find_project(root)
    for outside in (other / "x.ml", root / ".." / "other" / "x.ml"):
        with pytest.raises(OutsideProject) as caught:
            project.relative(outside)
        assert isinstance(caught.value, DevkitError)
        assert str(project.root) in str(caught.value)
        assert "\n" not in str(caught.value)
