"""Small OCaml/dune projects in temporary folders, and running the real tools on them.

    root = write_project(tmp_path / "proj", {"dune-project": "(lang dune 2.9)\\n",
                                            "bin/dune": "(executable (name main))\\n",
                                            "bin/main.ml": "let () = print_int 1\\n"})
    done = run(["dune", "build"], cwd=root)

Tools are run with argument lists (never a shell), a timeout, stdout and stderr captured as text
decoded with ``errors="replace"``, in an environment without the variables that change what the
compiler or dune print (``OCAMLPARAM``, ``OCAML_ERROR_STYLE``, ``OCAML_COLOR``, ``INSIDE_DUNE``,
``DUNE_*``…), so a test sees the tools' defaults unless it asks otherwise.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

TIMEOUT = 120  # seconds; a dune build of a test project takes about one

# Variables that change what ocamlc/dune print, or where dune thinks it runs.
SCRUBBED = ("OCAMLPARAM", "OCAMLRUNPARAM", "OCAML_ERROR_STYLE", "OCAML_COLOR", "OCAMLFIND_CONF",
            "INSIDE_DUNE", "INSIDE_EMACS", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE")


def write_project(root: Path, files: Mapping[str, str]) -> Path:
    """Write `files` (relative '/'-separated path → text, written as UTF-8) under `root`,
    creating folders as needed; return `root`. Existing files are overwritten."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return root


def tool_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without `SCRUBBED` and ``DUNE_*`` variables, then `env` on top."""
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED and not key.startswith("DUNE_")
    }
    base.update(env or {})
    return base


def run(cmd: list[str], cwd: Path, env: Mapping[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    """Run `cmd` in `cwd` and return the finished process, whatever its exit status.

    `env` holds variables to set on top of the scrubbed environment (see `tool_environment`).
    stdout and stderr are captured separately as text (``errors="replace"``).
    """
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=tool_environment(env),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=TIMEOUT,
        check=False,
    )


def count_tool_runs(monkeypatch) -> list[list[str]]:
    """Record every command `devkit.ocaml.cmt.run_tool` runs (and still run it)."""
    from devkit.ocaml import cmt

    calls: list[list[str]] = []
    real = cmt.run_tool

    def counting(argv, cwd, env=None, timeout=cmt.TOOL_TIMEOUT):
        calls.append(list(argv))
        return real(argv, cwd, env, timeout)

    monkeypatch.setattr(cmt, "run_tool", counting)
    return calls
