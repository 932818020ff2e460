"""What :checkhealth devkit reports from the Python side (placeholder)."""

from __future__ import annotations

from devkit_nvim.editor import Editor


def health_report(editor: Editor, table: dict) -> dict:
    return {}
