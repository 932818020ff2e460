"""Shared test setup: a scrubbed environment for git, the tools the suite needs, and one
hypothesis profile.

Every test runs with HOME in a temporary folder, no system or global git config, and fixed
author/committer identities and dates, so that real git behaves the same on every machine.
Hypothesis keeps no example database (nothing is written into the checkout) and sets no
deadline (a busy 2-core machine is not a slow test); a test may still ask for more examples.
"""

import os
import shutil
from typing import NoReturn

import pytest
from hypothesis import settings

settings.register_profile("devkit", database=None, deadline=None)
settings.load_profile("devkit")


def require_tool(name: str, install: str) -> str:
    """The path of tool `name`; skip (or, under CI=true, fail) when it is missing."""
    path = shutil.which(name)
    if path:
        return path
    missing_tool(f"{name} is not installed; install it with: {install}")


def missing_tool(message: str) -> NoReturn:
    """Skip the test saying what to install; under CI=true fail it instead (a missing tool
    there is a missing install step, not a reason to skip)."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def git_environment(tmp_path_factory, monkeypatch):
    """Isolate git from the developer's configuration."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for variable in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada Tester")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Ada Tester")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.invalid")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
    monkeypatch.delenv("DEVKIT_TEST_CRASH_AT", raising=False)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n")
    require_tool("git", "apt-get install git")
    return home
