"""`:checkhealth devkit` in a real headless Neovim, with the real OCaml tools on a PATH the test
chooses (so an ocamllsp or ocamlformat on the developer's machine does not change the result).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from devkit.nvim.isolated import init_lua
from devkit.nvim.neovim import runtime_dir
from tests.conftest import require_tool
from tests.nvim.conftest import running_nvim
from tests.ocaml.ocamlprojects import write_project

INSTALL = "apt-get install ocaml-nox ocaml-dune"


@pytest.fixture(autouse=True)
def tools():
    require_tool("dune", INSTALL)
    require_tool("ocamlc", INSTALL)


def tool_path(folder: Path, tools: tuple[str, ...]) -> str:
    """A PATH holding only links to `tools` (those that are installed)."""
    folder.mkdir()
    for name in tools:
        found = shutil.which(name)
        if found:
            (folder / name).symlink_to(found)
    return str(folder)


def project(root: Path) -> Path:
    return write_project(root, {
        "dune-project": "(lang dune 2.9)\n",
        "bin/dune": "(executable (name main))\n",
        "bin/main.ml": "let () = print_int 1\n",
    })


def checkhealth(nvim) -> str:
    nvim.command("checkhealth devkit")
    return "\n".join(nvim.current.buffer[:])


def line_of(report: str, pattern: str) -> str:
    """The report's line matching `pattern` (a regular expression), with its advice lines."""
    lines = report.splitlines()
    for index, line in enumerate(lines):
        if re.search(pattern, line):
            advice = []
            for following in lines[index + 1:]:
                if not following.startswith("  "):
                    break
                advice.append(following.strip())
            return "\n".join([line, *advice])
    raise AssertionError(f"no line matching {pattern!r} in:\n{report}")


@contextmanager
def session(nvim_binary, config: Path, path: str):
    """An embedded Neovim on `config` whose PATH is `path`; quit when the block ends."""
    with running_nvim(nvim_binary, config, {**os.environ, "PATH": path}) as nvim:
        yield nvim


def test_reports_the_toolchain_with_advice_for_optional_tools(
        nvim_binary, isolated_config, tmp_path):
    root = project(tmp_path / "proj")
    path = tool_path(tmp_path / "bin", ("dune", "ocamlc", "ocaml", "ocamlcmt"))
    with session(nvim_binary, isolated_config, path) as nvim:
        nvim.command(f"cd {root}")
        report = checkhealth(nvim)

    assert "ERROR" not in report, report
    for section in ("devkit: Neovim", "devkit: Python provider and remote plugin",
                    "devkit: Python host", f"devkit: OCaml project and toolchain ({root})"):
        assert section in report
    assert re.search(r"OK Neovim 0\.\d+", report)
    assert "OK the remote plugin is registered" in report
    assert f"OK python: {sys.executable}" in report
    assert f"OK project: dune-project root at {root}" in report
    assert re.search(r"OK dune: .*/bin/dune \(\d+\.\d+", report)
    assert re.search(r"OK ocaml: .*/bin/ocamlc \(\d+\.\d+", report)
    ocamllsp = line_of(report, r"WARNING ocamllsp: not found")
    assert "ADVICE" in ocamllsp and "opam install ocaml-lsp-server" in ocamllsp
    ocamlformat = line_of(report, r"WARNING ocamlformat: not found")
    assert "ADVICE" in ocamlformat and "opam install ocamlformat" in ocamlformat


def test_missing_dune_is_an_error_with_the_install_command(nvim_binary, isolated_config, tmp_path):
    root = project(tmp_path / "proj")
    path = tool_path(tmp_path / "bin", ("ocamlc", "ocaml", "ocamlcmt"))
    with session(nvim_binary, isolated_config, path) as nvim:
        nvim.command(f"cd {root}")
        report = checkhealth(nvim)

    dune = line_of(report, r"ERROR dune: not found on PATH")
    assert "ADVICE" in dune and "apt-get install ocaml-dune" in dune
    assert re.search(r"OK ocaml: ", report)


def test_the_project_is_the_one_of_the_file_being_edited(nvim_binary, isolated_config, tmp_path):
    root = project(tmp_path / "proj")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with session(nvim_binary, isolated_config, os.environ["PATH"]) as nvim:
        nvim.command(f"cd {elsewhere}")
        nvim.command(f"edit {root / 'bin' / 'main.ml'}")
        report = checkhealth(nvim)
        nvim.command("tabclose")
        nvim.command("enew")  # no file: the working folder, which is in no project
        outside = checkhealth(nvim)

    assert f"OK project: dune-project root at {root}" in report
    project_line = line_of(outside, r"WARNING project: no OCaml project here")
    assert "dune init project" in project_line


def test_unusable_python_host_is_an_error_with_advice(nvim_binary, isolated_config, tmp_path):
    with session(nvim_binary, isolated_config, os.environ["PATH"]) as nvim:
        nvim.vars["python3_host_prog"] = str(tmp_path / "no-python")
        report = checkhealth(nvim)

    python = line_of(report, r"ERROR g:python3_host_prog = .*no-python is not an executable")
    assert "ADVICE" in python and "devkit nvim install" in python
    assert "devkit: Python host" not in report  # not asked: it cannot start


def test_unregistered_plugin_is_an_error_naming_devkit_nvim_install(nvim_binary, tmp_path):
    base = tmp_path / "unregistered"
    config = base / "config" / "nvim"
    config.mkdir(parents=True)
    (config / "init.lua").write_text(init_lua(runtime_dir(), sys.executable))
    with session(nvim_binary, base, os.environ["PATH"]) as nvim:
        report = checkhealth(nvim)

    registered = line_of(report, r"ERROR the remote plugin is not registered")
    assert "ADVICE" in registered and "devkit nvim install" in registered
    assert "OK :Dune and :OCaml are defined" in report


def test_python_report_never_raises(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(runtime_dir() / "rplugin" / "python3"))
    from devkit_nvim import health

    def broken(*args, **kwargs):
        raise RuntimeError("detection exploded")

    monkeypatch.setattr("devkit.ocaml.toolchain.detect_toolchain", broken)

    class Editor:
        def log_exception(self) -> Path:
            return tmp_path / "devkit.log"

    report = health.health_report(Editor(), {"cwd": str(tmp_path), "file": ""})

    assert report["version"] == health.REPORT_VERSION
    host, toolchain = report["sections"]
    assert [c["name"] for c in host["checks"]] == ["python", "pynvim", "devkit", "plugin files"]
    assert all(c["ok"] for c in host["checks"])
    [failed] = toolchain["checks"]
    assert not failed["ok"] and "detection exploded" in failed["detail"]
    assert str(tmp_path / "devkit.log") in failed["advice"]
