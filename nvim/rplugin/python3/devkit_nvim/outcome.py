"""What a finished dune command shows: its diagnostics for Neovim, ``g:dune_last``, the summary.

`outcome_of` runs on the dune reader thread as dune exits (parsing 1,000 diagnostics there
keeps the event loop free); `Outcome.payload` is what ``require('devkit.dune').publish`` takes.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from devkit.ocaml.diagnostics import Diagnostic, parse
from devkit.ocaml.dune import DuneResult
from devkit.ocaml.project import Project
from devkit.ocaml.promotion import promoted_paths
from devkit_nvim.editor import INFO, WARN


@dataclass
class Outcome:
    """A finished dune command. `exited` is when dune's output was fully read
    (``time.monotonic``), before parsing it; `promoted` the files dune says it promoted
    (relative to the root); `replaces` whether its diagnostics replace the project's (a build)
    or are shown only when there are some (``dune promote``, ``clean``, ``@fmt``)."""

    label: str
    root: Path
    exit_code: int
    duration_ms: int
    diagnostics: list[Diagnostic]
    output: str
    truncated_bytes: int = 0
    promoted: list[str] = field(default_factory=list)
    replaces: bool = True
    blocked: bool = False
    exited: float = 0.0

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> int:
        return len(self.diagnostics) - self.errors

    @property
    def shows_diagnostics(self) -> bool:
        return not self.blocked and (self.replaces or bool(self.diagnostics))

    def payload(self, open_quickfix: bool) -> str:
        """What ``require('devkit.dune').publish`` takes, as JSON: Neovim decodes a JSON string
        several times faster than the same table sent as msgpack (1,000 diagnostics: about
        5 ms against 25-40 ms)."""
        by_file: dict[str, list[dict]] = {}
        for diagnostic in self.diagnostics:
            path = os.path.join(self.root, diagnostic.path)
            by_file.setdefault(path, []).append(diagnostic.vim_diagnostic())
        promoted = [os.path.join(self.root, path) for path in self.promoted]
        table: dict = {"root": str(self.root), "promoted": promoted}
        if self.shows_diagnostics:
            table.update({
                "title": self.label,
                "items": [d.quickfix(self.root) for d in self.diagnostics],
                "diagnostics": by_file,
                "open_quickfix": open_quickfix and self.errors > 0,
            })
        return json.dumps(table)

    def last(self, publish_ms: int) -> dict:
        """``g:dune_last``."""
        last = {
            "cmd": self.label,
            "exit_code": self.exit_code,
            "errors": self.errors,
            "warnings": self.warnings,
            "duration_ms": self.duration_ms,
            "publish_ms": publish_ms,
        }
        if self.blocked:
            last["blocked"] = True
        return last

    def summary(self) -> tuple[str, int]:
        """The message-area line and its level."""
        if self.blocked:  # by a watch this Neovim did not start
            return (f"`{self.label}` not started: {self.output.strip()} (:Dune! stop ends that "
                    "watch)"), WARN
        ms = self.duration_ms
        took = f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
        if self.truncated_bytes:
            took += f"; {self.truncated_bytes} bytes of output dropped"
        counts = [_plural(self.errors, "error"), _plural(self.warnings, "warning")]
        if self.promoted:
            counts.append("promoted " + ", ".join(self.promoted))
        found = ", ".join(c for c in counts if c)
        reason = _error_line(self.output)
        if self.exit_code == 0 or (self.promoted and not self.diagnostics and not reason):
            # `--auto-promote` exits 1 after promoting: that is its success.
            return f"{self.label}: ok{', ' + found if found else ''} ({took})", INFO
        if self.diagnostics:
            return f"{self.label}: {found} ({took})", WARN
        reason = reason or _last_line(self.output)
        return (f"{self.label} failed (exit {self.exit_code}){': ' + reason if reason else ''}"
                f"{'; ' + found if found else ''}; :Dune log shows the output ({took})", WARN)


def _plural(count: int, noun: str) -> str:
    return "" if count == 0 else f"{count} {noun}{'s' if count != 1 else ''}"


def _error_line(output: str) -> str:
    for line in output.splitlines():
        if line.strip().startswith("Error"):
            return line.strip()
    return ""


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def outcome_of(label: str, project: Project, result: DuneResult, replaces: bool = True,
               ) -> Outcome:
    """Parse a finished command's output (on the reader thread, as dune exits). A file dune
    promoted has its "output differs" diagnostic resolved: it is left out."""
    exited = time.monotonic()
    promoted = promoted_paths(result.output)
    diagnostics = [d for d in parse(result.output, project.root) if d.path not in promoted]
    return Outcome(
        label=label,
        root=project.root,
        exit_code=result.exit_code,
        duration_ms=result.duration_ms,
        diagnostics=diagnostics,
        output=result.output,
        truncated_bytes=result.truncated_bytes,
        promoted=promoted,
        replaces=replaces,
        blocked=result.blocked_by_watch,
        exited=exited,
    )
