"""Toolchain detection and doctor, with the real Debian dune and compiler.

ocaml-lsp-server, ocamlformat, opam and esy are not installable on these machines. Where a test
needs one of them to be *present* for detection, it puts a `version_printer` script on a PATH
the test controls: a fixture for detection that prints a version and nothing else, not an
imitation of the tool.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from devkit.ocaml.project import find_project
from devkit.ocaml.toolchain import (
    DEBIAN_INSTALL,
    Check,
    detect_environment,
    detect_toolchain,
    doctor,
    parse_sh_env,
    parse_version,
    tool_version,
)
from tests.conftest import require_tool
from tests.ocaml.ocamlprojects import write_project

INSTALL = "apt-get install ocaml-nox ocaml-dune"


@pytest.fixture
def real_tools():
    """Paths of the real dune, ocamlc and ocamlcmt."""
    return {name: Path(require_tool(name, INSTALL)) for name in ("dune", "ocamlc", "ocamlcmt")}


def bin_dir(folder: Path, links: dict[str, Path]) -> Path:
    """A folder of symlinks to real executables, to make a PATH that holds only those."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, target in links.items():
        os.symlink(target, folder / name)
    return folder


def version_printer(folder: Path, name: str, version: str, log: Path | None = None) -> Path:
    """Detection fixture: an executable `name` that prints `version` for a version flag and
    fails for anything else (optionally logging each run to `log`)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    logging = f'echo run >> "{log}"\n' if log else ""
    path.write_text(
        "#!/bin/sh\n"
        f"{logging}"
        'case "$1" in\n'
        f"  --version|-version) echo '{version}' ;;\n"
        f"  *) echo '{name}: this detection fixture only prints a version' >&2; exit 2 ;;\n"
        "esac\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def debian_version(package: str) -> str | None:
    """The upstream version of an installed Debian package (``2.9.3`` for ``2.9.3-1``)."""
    if not shutil.which("dpkg-query"):
        return None
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True
    )
    if done.returncode != 0 or not done.stdout:
        return None
    version = done.stdout.split(":", 1)[-1]
    return version.rsplit("-", 1)[0]


def env_with_path(*folders: Path) -> dict[str, str]:
    return {"PATH": os.pathsep.join(str(f) for f in folders), "HOME": os.environ["HOME"]}


def project_at(tmp_path: Path, files: dict[str, str] | None = None):
    root = write_project(tmp_path / "proj", files or {"dune-project": "(lang dune 2.9)\n"})
    return find_project(root)


def checks_by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_real_tools_with_exact_versions(tmp_path, real_tools):
    project = project_at(tmp_path)
    path = bin_dir(tmp_path / "bin", real_tools)
    toolchain = detect_toolchain(project.root, env_with_path(path))

    assert toolchain.switch is None
    assert toolchain.problems == ()
    dune = toolchain.tool("dune")
    ocaml = toolchain.tool("ocaml")
    assert dune.path == path / "dune"
    assert ocaml.path == path / "ocamlc"
    expected_dune = (
        debian_version("ocaml-dune")
        or subprocess.check_output([real_tools["dune"], "--version"], text=True).strip()
    )
    expected_ocaml = (
        debian_version("ocaml-nox")
        or subprocess.check_output([real_tools["ocamlc"], "-version"], text=True).strip()
    )
    assert dune.version == expected_dune
    assert ocaml.version == expected_ocaml
    # ocamlcmt has no version flag; it is the compiler's own tool.
    assert toolchain.tool("ocamlcmt").version == expected_ocaml
    for absent in ("ocamllsp", "ocamlformat", "ocamlfind", "opam"):
        assert toolchain.tool(absent).path is None


def test_ocaml_toplevel_version_line_parses_like_ocamlc():
    ocaml = require_tool("ocaml", INSTALL)
    ocamlc = require_tool("ocamlc", INSTALL)
    banner = subprocess.run([ocaml, "-version"], capture_output=True, text=True).stdout
    assert banner.startswith("The OCaml toplevel, version ")
    assert parse_version(banner) == subprocess.check_output([ocamlc, "-version"], text=True).strip()


def test_toplevel_alone_gives_the_version(tmp_path):
    ocaml = Path(require_tool("ocaml", INSTALL))
    path = bin_dir(tmp_path / "bin", {"ocaml": ocaml})
    toolchain = detect_toolchain(project_at(tmp_path).root, env_with_path(path))
    assert toolchain.tool("ocaml").path == path / "ocaml"
    assert toolchain.tool("ocaml").version == parse_version(
        subprocess.check_output([ocaml, "-version"], text=True)
    )


def test_doctor_without_ocamllsp_gives_advice_not_failure(tmp_path, real_tools):
    project = project_at(tmp_path)
    toolchain = detect_toolchain(project.root, env_with_path(bin_dir(tmp_path / "b", real_tools)))
    checks = checks_by_name(doctor(toolchain, project))

    for name in ("project", "dune", "ocaml", "ocamlcmt", "dune-lang"):
        assert checks[name].ok, checks[name]
    lsp = checks["ocamllsp"]
    assert (lsp.ok, lsp.required) == (False, False)
    assert "opam install ocaml-lsp-server" in lsp.advice
    for optional in ("ocamlformat", "ocamlfind"):
        assert not checks[optional].ok and not checks[optional].required
        assert f"install {optional}" in checks[optional].advice
    failures = [c for c in checks.values() if c.required and not c.ok]
    assert failures == []


def test_doctor_without_dune_fails_with_the_install_command(tmp_path):
    project = project_at(tmp_path)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    checks = checks_by_name(doctor(detect_toolchain(project.root, env_with_path(empty)), project))
    for name in ("dune", "ocaml"):
        assert not checks[name].ok and checks[name].required
        assert DEBIAN_INSTALL in checks[name].advice
    assert "dune-lang" not in checks  # nothing to compare with


def test_doctor_reports_a_dune_lang_newer_than_dune(tmp_path, real_tools):
    project = project_at(tmp_path, {"dune-project": "(lang dune 99.0)\n"})
    toolchain = detect_toolchain(project.root, env_with_path(bin_dir(tmp_path / "b", real_tools)))
    check = checks_by_name(doctor(toolchain, project))["dune-lang"]
    assert not check.ok
    assert "99.0" in check.detail and "upgrade dune" in check.advice


def test_doctor_watch_needs_inotifywait_with_dune_2(tmp_path, real_tools):
    project = project_at(tmp_path)
    without = bin_dir(tmp_path / "without", real_tools)
    toolchain = detect_toolchain(project.root, env_with_path(without))
    if toolchain.tool("dune").version.startswith(("1.", "2.")):
        watch = checks_by_name(doctor(toolchain, project))["watch"]
        assert (watch.ok, watch.required) == (False, False)
        assert watch.advice == "install it with: apt-get install inotify-tools"
        inotifywait = Path(require_tool("inotifywait", "apt-get install inotify-tools"))
        with_it = bin_dir(tmp_path / "with", {**real_tools, "inotifywait": inotifywait})
        toolchain = detect_toolchain(project.root, env_with_path(with_it))
        assert checks_by_name(doctor(toolchain, project))["watch"].ok
    else:
        assert "watch" not in checks_by_name(doctor(toolchain, project))


def test_local_opam_switch_layout_wins(tmp_path, real_tools):
    project = project_at(tmp_path)
    switch_bin = bin_dir(project.root / "_opam" / "bin", {"dune": real_tools["dune"]})
    version_printer(switch_bin, "ocamllsp", "1.17.0")
    version_printer(switch_bin, "ocamlformat", "0.26.1")
    system = bin_dir(tmp_path / "system-bin", real_tools)
    base = env_with_path(system)

    toolchain = detect_toolchain(project.root, base)

    assert toolchain.switch is not None
    assert toolchain.switch.kind == "opam-local"
    assert toolchain.switch.prefix == project.root / "_opam"
    assert toolchain.env["OPAM_SWITCH_PREFIX"] == str(project.root / "_opam")
    assert toolchain.env["PATH"].split(os.pathsep) == [str(switch_bin), str(system)]
    assert toolchain.tool("dune").path == switch_bin / "dune"
    assert toolchain.tool("dune").version == toolchain.tool("dune").version.strip()
    assert toolchain.tool("ocamllsp").path == switch_bin / "ocamllsp"
    assert toolchain.tool("ocamllsp").version == "1.17.0"
    assert toolchain.tool("ocamlformat").version == "0.26.1"
    assert toolchain.tool("ocaml").path == system / "ocamlc"  # not in the switch: from PATH
    assert base["PATH"] == str(system)  # the caller's mapping is not changed
    checks = checks_by_name(doctor(toolchain, project))
    assert checks["ocamllsp"].ok and checks["switch"].ok
    assert "opam-local" in checks["switch"].detail

    # Running the tools needs only the environment: the same, with no tool looked up.
    environment = detect_environment(project.root, base)
    assert (environment.switch, environment.env) == (toolchain.switch, toolchain.env)
    assert environment.tools == {}


def test_local_switch_in_a_parent_folder(tmp_path, real_tools):
    outer = tmp_path / "mono"
    bin_dir(outer / "_opam" / "bin", {"dune": real_tools["dune"]})
    project = find_project(write_project(outer / "pkg", {"dune-project": "(lang dune 2.9)\n"}))
    toolchain = detect_toolchain(project.root, env_with_path(tmp_path))
    assert toolchain.switch.name == str(outer)
    assert toolchain.tool("dune").path == outer / "_opam" / "bin" / "dune"


def test_opam_present_but_env_failing_is_reported(tmp_path, real_tools):
    project = project_at(tmp_path)
    bin_dir(project.root / "_opam" / "bin", {})
    fixtures = tmp_path / "fixture-bin"
    version_printer(fixtures, "opam", "2.1.5")
    toolchain = detect_toolchain(project.root, env_with_path(fixtures))
    assert toolchain.tool("opam").version == "2.1.5"
    assert toolchain.switch.kind == "opam-local"
    assert toolchain.env["OPAM_SWITCH_PREFIX"] == str(project.root / "_opam")
    assert len(toolchain.problems) == 1
    assert "opam env" in toolchain.problems[0] and "failed" in toolchain.problems[0]
    switch = checks_by_name(doctor(toolchain, project))["switch"]
    assert not switch.ok and not switch.required and switch.advice


def test_opam_env_hanging_is_cut_by_the_timeout(tmp_path):
    project = project_at(tmp_path)
    fixtures = tmp_path / "fixture-bin"
    fixtures.mkdir()
    slow = fixtures / "opam"
    # A wrapper that starts a child and waits: the child must not keep the pipe open either.
    slow.write_text(f"#!/bin/sh\n{shutil.which('sleep')} 30\n")
    slow.chmod(0o755)
    started = time.monotonic()
    toolchain = detect_toolchain(project.root, env_with_path(fixtures), timeout=0.5)
    assert time.monotonic() - started < 5
    assert toolchain.switch is None
    assert any("did not answer" in problem for problem in toolchain.problems)
    assert toolchain.tool("opam").version is None


def test_esy_project_with_esy_present(tmp_path):
    project = project_at(tmp_path, {"esy.json": "{}\n"})
    fixtures = tmp_path / "fixture-bin"
    version_printer(fixtures, "esy", "0.7.2")
    toolchain = detect_toolchain(project.root, env_with_path(fixtures))
    assert toolchain.tool("esy").version == "0.7.2"
    assert [p.split("`")[1] for p in toolchain.problems] == ["esy command-env"]
    assert "esy" in checks_by_name(doctor(toolchain, project))


def test_esy_is_tried_before_the_current_opam_switch(tmp_path):
    project = project_at(tmp_path, {"esy.json": "{}\n"})
    fixtures = tmp_path / "fixture-bin"
    version_printer(fixtures, "esy", "0.7.2")
    version_printer(fixtures, "opam", "2.1.5")
    toolchain = detect_toolchain(project.root, env_with_path(fixtures))
    # Both fixtures only print versions, so both environment commands fail, in this order.
    assert [p.split("`")[1] for p in toolchain.problems] == [
        "esy command-env",
        "opam env --shell=sh",
    ]
    assert toolchain.switch is None


def test_esy_absent_is_advised_only_for_esy_projects(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    plain = project_at(tmp_path / "a")
    assert "esy" not in checks_by_name(doctor(detect_toolchain(plain.root, {}), plain))
    esy_project = project_at(tmp_path / "b", {"esy.json": "{}\n"})
    check = checks_by_name(
        doctor(detect_toolchain(esy_project.root, env_with_path(empty)), esy_project)
    )["esy"]
    assert not check.ok and "esy" in check.advice


def test_versions_are_cached_by_path_and_mtime(tmp_path):
    log = tmp_path / "runs.log"
    tool = version_printer(tmp_path / "bin", "ocamlformat", "0.26.1", log=log)
    env = env_with_path(tmp_path / "bin")
    assert tool_version(tool, ("--version",), env) == "0.26.1"
    assert tool_version(tool, ("--version",), env) == "0.26.1"
    assert log.read_text().count("run") == 1
    # A reinstalled tool (new mtime, new output) is asked again.
    version_printer(tmp_path / "bin", "ocamlformat", "0.27.0", log=log)
    later = tool.stat().st_mtime_ns + 5_000_000_000
    os.utime(tool, ns=(later, later))
    assert tool_version(tool, ("--version",), env) == "0.27.0"
    assert log.read_text().count("run") == 2


OPAM_ENV_SH = (
    # The shape `opam env --shell=sh` prints (opam 2.x, OpamEnv): one assignment and export per
    # variable, values in single quotes with ' written as '\''.
    "OPAM_SWITCH_PREFIX='/home/ada/proj/_opam'; export OPAM_SWITCH_PREFIX;\n"
    "CAML_LD_LIBRARY_PATH='/home/ada/proj/_opam/lib/stublibs:/usr/lib/ocaml/stublibs'; "
    "export CAML_LD_LIBRARY_PATH;\n"
    "OCAML_TOPLEVEL_PATH='/home/ada/proj/_opam/lib/toplevel'; export OCAML_TOPLEVEL_PATH;\n"
    "MANPATH=':/home/ada/proj/_opam/man'; export MANPATH;\n"
    "PATH='/home/ada/proj/_opam/bin:/usr/bin:/bin'; export PATH;\n"
    "unset OPAMSWITCH;\n"
)


def test_parse_opam_env_output():
    assert parse_sh_env(OPAM_ENV_SH) == {
        "OPAM_SWITCH_PREFIX": "/home/ada/proj/_opam",
        "CAML_LD_LIBRARY_PATH": "/home/ada/proj/_opam/lib/stublibs:/usr/lib/ocaml/stublibs",
        "OCAML_TOPLEVEL_PATH": "/home/ada/proj/_opam/lib/toplevel",
        "MANPATH": ":/home/ada/proj/_opam/man",
        "PATH": "/home/ada/proj/_opam/bin:/usr/bin:/bin",
        "OPAMSWITCH": None,
    }


def test_parse_export_lines_quotes_and_comments():
    text = (
        "# Command environment\n"
        'export PATH="/sandbox/bin:/usr/bin"\n'
        'export OCAMLFIND_CONF="/with space/findlib.conf"\n'
        "QUOTED='it'\\''s'; export QUOTED;\n"
        "MULTI='two\nlines'; export MULTI;\n"
    )
    assert parse_sh_env(text) == {
        "PATH": "/sandbox/bin:/usr/bin",
        "OCAMLFIND_CONF": "/with space/findlib.conf",
        "QUOTED": "it's",
        "MULTI": "two\nlines",
    }


def test_parse_never_runs_anything(tmp_path):
    marker = tmp_path / "ran"
    text = f'A="$(touch {marker})"; export A;\nB=`touch {marker}`; export B;\ntouch {marker};\n'
    parse_sh_env(text)
    assert not marker.exists()
    assert parse_sh_env("A='unterminated; export A;") == {}


def test_parse_version_forms():
    assert parse_version("2.9.3\n") == "2.9.3"
    assert parse_version("The OCaml toplevel, version 4.14.1+flambda\n") == "4.14.1+flambda"
    assert parse_version("n/a\n") == "n/a"
    assert parse_version("") is None
