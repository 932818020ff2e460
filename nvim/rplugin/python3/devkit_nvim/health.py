"""What ``:checkhealth devkit`` reports from the Python side: the host (Python, pynvim, devkit)
and the OCaml toolchain of the project the user is looking at, as `doctor` sees it.

`health_report` returns plain dicts and lists (it crosses msgpack-RPC to Lua) and never raises:
a part that fails becomes a failed check whose advice names the log file with the traceback.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

from devkit_nvim import REPORT_VERSION
from devkit_nvim.editor import Editor


def _check(name: str, ok: bool, detail: str, advice: str | None = None,
           required: bool = True) -> dict:
    return {"name": name, "ok": ok, "detail": detail, "advice": advice, "required": required}


def _failed(editor: Editor, name: str, error: Exception) -> dict:
    """A check for a part of the report that raised, pointing at the logged traceback."""
    try:
        where = f"the traceback is in {editor.log_exception()}"
    except Exception:  # the log itself failed: say what we know
        where = "the log file could not be written"
    return _check(name, False, f"could not be checked: {type(error).__name__}: {error}",
                  f"{where}; please report it", required=False)


def _guarded(editor: Editor, name: str, part: Callable[[], list[dict]]) -> list[dict]:
    try:
        return part()
    except Exception as error:  # the report must come back whatever fails
        return [_failed(editor, name, error)]


def _host_checks() -> list[dict]:
    import pynvim

    import devkit

    checks = [
        _check("python", True, f"{sys.executable} ({platform.python_version()})"),
        _check("pynvim", True, f"{_version(pynvim)} ({Path(pynvim.__file__).parent})"),
        _check("devkit", True, f"{devkit.__version__} ({Path(devkit.__file__).parent})"),
    ]
    checks.append(_runtime_check())
    return checks


def _version(module) -> str:
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    info = getattr(module, "VERSION", None)  # pynvim's VersionInfo(major, minor, patch, …)
    if info is not None and hasattr(info, "major"):
        return f"{info.major}.{info.minor}.{info.patch}"
    return "version unknown"


def _runtime_check() -> dict:
    """Whether the plugin's files and the devkit the host imports come from one checkout: a
    plugin folder from one copy with the core of another is the mismatch this catches."""
    from devkit.nvim.neovim import RUNTIME

    plugin_runtime = Path(__file__).resolve().parents[3]
    if plugin_runtime == RUNTIME:
        return _check("plugin files", True, f"{plugin_runtime} (the same checkout as devkit)")
    return _check(
        "plugin files", False,
        f"the plugin runs from {plugin_runtime} but the host imports devkit from "
        f"{RUNTIME.parent}",
        f"install devkit from {plugin_runtime.parent} into {sys.executable} "
        f"(`{sys.executable} -m pip install -e {plugin_runtime.parent}`), or put "
        f"{RUNTIME} on 'runtimepath' instead, then run `devkit nvim install`",
        required=False,
    )


def _start(table: dict) -> Path:
    """The file or folder the report is about: the user's file, else Neovim's working folder."""
    file = table.get("file") or ""
    if file and Path(file).is_absolute() and Path(file).exists():
        return Path(file)
    cwd = table.get("cwd") or ""
    return Path(cwd) if cwd and Path(cwd).is_dir() else Path(os.getcwd())


def _toolchain_checks(table: dict, facts: dict) -> list[dict]:
    from devkit.ocaml.project import project_or_reason
    from devkit.ocaml.toolchain import detect_toolchain, doctor

    project, root = project_or_reason(_start(table))
    if isinstance(project, str):
        facts["project"] = {"root": None, "kind": None, "reason": project}
    else:
        facts["project"] = {"root": str(root), "kind": project.kind, "reason": None}
    checks = []
    for check in doctor(detect_toolchain(root, os.environ), project):
        required = check.required and check.name != "project"  # no project: devkit still runs
        checks.append(_check(check.name, check.ok, check.detail, check.advice, required))
    return checks


def health_report(editor: Editor, table: dict) -> dict:
    """The Python side of ``:checkhealth devkit``.

    `table` may carry ``cwd`` and ``file`` (the buffer the user was in). The answer is
    ``{"version": 1, "sections": [{"title", "checks": [{name, ok, detail, advice,
    required}]}], "project": {root, kind, reason}}``; a failed check with `required` is an
    error, without it a warning; `advice` is set on every failed check.
    """
    table = table if isinstance(table, dict) else {}
    facts: dict = {"project": {"root": None, "kind": None, "reason": "not checked"}}
    host = _guarded(editor, "python host", _host_checks)
    toolchain = _guarded(editor, "toolchain", lambda: _toolchain_checks(table, facts))
    where = facts["project"]["root"] or str(_safe_start(table))
    return {
        "version": REPORT_VERSION,
        "sections": [
            {"title": "Python host", "checks": host},
            {"title": f"OCaml project and toolchain ({where})", "checks": toolchain},
        ],
        **facts,
    }


def _safe_start(table: dict) -> Path | str:
    try:
        return _start(table)
    except Exception:
        return "unknown folder"
