"""`devkit ocaml …` end to end, through the real CLI, on real dune projects."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import devkit as devkit_package
from tests.conftest import require_tool
from tests.ocaml.ocamlprojects import run, tool_environment, write_project

INSTALL = "apt-get install ocaml-nox ocaml-dune"
LIB = 'let greeting = "h\u00e9llo"\nlet shout s = s ^ "!"\nlet loud = shout greeting\n'
MAIN = "let () = print_endline Mylib.A.loud\n"
BAD = 'let count : int = "three"\n'


PROJECT_ROOT = Path(devkit_package.__file__).resolve().parent.parent


def devkit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = tool_environment({"PYTHONPATH": str(PROJECT_ROOT)})
    return subprocess.run([sys.executable, "-m", "devkit", *args], cwd=cwd, capture_output=True,
                          text=True, env=environment, check=False)


def assert_one_line_error(process: subprocess.CompletedProcess, fragment: str) -> None:
    assert process.returncode == 1, process
    assert "Traceback" not in process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], process.stderr


@pytest.fixture
def project(tmp_path) -> Path:
    require_tool("dune", INSTALL)
    require_tool("ocamlcmt", INSTALL)
    return write_project(tmp_path / "proj", {
        "dune-project": "(lang dune 2.9)\n",
        "lib/dune": "(library (name mylib))\n",
        "lib/a.ml": LIB,
        "bin/dune": "(executable (name main) (libraries mylib))\n",
        "bin/main.ml": MAIN,
    })


def test_doctor_reports_the_real_tools(project):
    report = devkit("ocaml", "doctor", "--json", cwd=project)
    assert report.returncode == 0, report.stderr
    checks = {check["name"]: check for check in json.loads(report.stdout)}
    dune_version = run(["dune", "--version"], cwd=project).stdout.strip()
    assert checks["dune"]["ok"] and dune_version in checks["dune"]["detail"]
    compiler_version = run(["ocamlc", "-version"], cwd=project).stdout.strip()
    assert checks["ocaml"]["ok"] and compiler_version in checks["ocaml"]["detail"]
    assert not checks["ocamllsp"]["required"]
    text = devkit("ocaml", "doctor", cwd=project).stdout.splitlines()
    assert text[0] == f"devkit doctor: {project}"
    assert any(line.startswith("      ok  dune: ") and dune_version in line for line in text)
    assert any(line.endswith("  ocamllsp: not found on PATH") for line in text) == (
        not checks["ocamllsp"]["ok"])
    assert text[-1] == "everything devkit needs is there"


def test_build_prints_diagnostics_in_every_format_and_exits_as_dune(project):
    (project / "lib" / "b.ml").write_text(BAD)
    start = BAD.index('"three"')  # byte offsets: the line is ASCII
    end = start + len('"three"')

    quickfix = devkit("ocaml", "build", "--format", "quickfix", cwd=project)
    assert quickfix.returncode == run(["dune", "build"], cwd=project).returncode == 1
    assert quickfix.stdout.splitlines() == [
        f"lib/b.ml:1:{start + 1}: error: This expression has type string but an expression was "
        f"expected of type int"]

    diagnostics = json.loads(devkit("ocaml", "build", "--format", "json", cwd=project).stdout)
    assert [(d["path"], d["line"], d["col"], d["end_col"], d["severity"])
            for d in diagnostics] == [("lib/b.ml", 1, start, end, "error")]

    github = devkit("ocaml", "build", "--format", "github", cwd=project).stdout.splitlines()
    assert github == [f"::error file=lib/b.ml,line=1,col={start + 1},endLine=1,"
                      f"endColumn={end + 1},title=error::This expression has type string but an "
                      f"expression was expected of type%0A  int"]

    # From elsewhere, paths are relative to where the command runs (as Vim's :cfile reads them).
    text = devkit("ocaml", "build", str(project / "lib"), cwd=project.parent)
    assert text.returncode == 1
    assert f"proj/lib/b.ml:1:{start + 1}: error:" in text.stdout
    assert "1 error(s)" in text.stderr
    inside = devkit("ocaml", "build", "--format", "quickfix", cwd=project / "lib")
    assert inside.stdout.startswith(f"b.ml:1:{start + 1}: error:")
    assert diagnostics[0]["file"] == str(project / "lib" / "b.ml")


def test_build_of_a_clean_project_exits_0(project):
    built = devkit("ocaml", "build", cwd=project)
    assert built.returncode == 0, built.stderr
    assert built.stdout == ""


def test_type_def_and_intf_from_the_compilers_own_files(project):
    assert run(["dune", "build"], cwd=project).returncode == 0
    line3 = LIB.splitlines()[2]
    column = line3.index("shout greeting") + 1  # 1-based, on `shout`
    typed = devkit("ocaml", "type", f"lib/a.ml:3:{column}", cwd=project)
    assert typed.returncode == 0, typed.stderr
    assert typed.stdout.strip() == "string -> string"

    wider = json.loads(devkit("ocaml", "type", f"lib/a.ml:3:{column}", "--json",
                              cwd=project).stdout)
    assert wider["start"] == [3, column]
    assert wider["enclosing"][0]["type"] == "string"

    use = MAIN.index("loud") + 1
    found = devkit("ocaml", "def", f"bin/main.ml:1:{use}", cwd=project)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == f"{project / 'lib' / 'a.ml'}:3:5"

    interface = devkit("ocaml", "intf", "lib/a.ml", cwd=project)
    assert interface.returncode == 0, interface.stderr
    assert interface.stdout == ("val greeting : string\nval shout : string -> string\n"
                                "val loud : string\n")


def test_errors_are_one_line(project, tmp_path):
    assert_one_line_error(devkit("ocaml", "type", "lib/a.ml:1:1", cwd=project), "dune build")
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    assert_one_line_error(devkit("ocaml", "build", cwd=nowhere), "not in an OCaml project")
    # doctor still reports the tools, with the missing project as a failed check
    report = devkit("ocaml", "doctor", "--json", cwd=nowhere)
    assert report.returncode == 1
    checks = {check["name"]: check for check in json.loads(report.stdout)}
    assert not checks["project"]["ok"] and "dune init project" in checks["project"]["advice"]
    assert checks["dune"]["ok"]
    text = devkit("ocaml", "doctor", cwd=nowhere)
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert lines[0] == f"devkit doctor: {nowhere}" and "MISSING  project: " in lines[2]
    assert lines[-1] == "1 required check(s) failed: project"
    bad = devkit("ocaml", "type", "lib/a.ml", cwd=project)
    assert bad.returncode == 2 and "FILE:LINE:COL" in bad.stderr
