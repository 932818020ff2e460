"""An isolated Neovim configuration with the plugin registered: how a newcomer tries devkit
without touching their own setup (`devkit nvim run`), and how the tests and the demo drive it.

Everything lives under one folder: ``config/nvim/init.lua`` (the plugin's runtime folder on the
runtimepath, devkit's Python as the host, other providers off) and the data, state and cache
folders, selected through the XDG variables of the returned environment.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from devkit.nvim.neovim import lua_string, register, runtime_dir

if TYPE_CHECKING:
    import pynvim

_XDG = {
    "XDG_CONFIG_HOME": "config",
    "XDG_DATA_HOME": "data",
    "XDG_STATE_HOME": "state",
    "XDG_CACHE_HOME": "cache",
}

#: Variables that would point the isolated Neovim at another configuration or a parent Neovim.
_INHERITED_NVIM_VARIABLES = (
    "NVIM_APPNAME", "NVIM_RPLUGIN_MANIFEST", "VIMINIT", "NVIM", "NVIM_LISTEN_ADDRESS",
)


def init_lua(runtime: Path, python: str, extra: str = "") -> str:
    """The isolated ``init.lua``: the plugin on the runtimepath, `python` as the Python host."""
    return (
        "-- written by devkit: an isolated configuration with the devkit plugin\n"
        f"vim.opt.runtimepath:prepend({lua_string(str(runtime))})\n"
        f"vim.g.python3_host_prog = {lua_string(python)}\n"
        "vim.g.loaded_ruby_provider = 0\n"
        "vim.g.loaded_node_provider = 0\n"
        "vim.g.loaded_perl_provider = 0\n"
        f"{extra}"
    )


def isolated_environment(base: Path, env: Mapping[str, str]) -> dict[str, str]:
    """`env` with Neovim's configuration, data, state and cache folders under `base`."""
    isolated = dict(env)
    for variable, folder in _XDG.items():
        isolated[variable] = str(base / folder)
    for variable in _INHERITED_NVIM_VARIABLES:
        isolated.pop(variable, None)
    return isolated


def prepare(
    base: Path,
    nvim: Path,
    env: Mapping[str, str] = os.environ,
    python: str = sys.executable,
    extra_init: str = "",
) -> dict[str, str]:
    """Write an isolated configuration under `base`, register the plugin in it exactly as
    `devkit nvim install` does, and return the environment that selects it."""
    runtime = runtime_dir()
    isolated = isolated_environment(base, env)
    for folder in _XDG.values():
        (base / folder).mkdir(parents=True, exist_ok=True)
    config = base / "config" / "nvim"
    config.mkdir(parents=True, exist_ok=True)
    (config / "init.lua").write_text(init_lua(runtime, python, extra_init))
    register(nvim, isolated, python, runtime)
    return isolated


def embedded_command(nvim: Path, env: Mapping[str, str]) -> list[str]:
    """The command line of an ``nvim --embed --headless`` that runs in exactly `env` (for
    ``pynvim.attach("child", argv=...)``, which passes on its own environment otherwise)."""
    return ["env", "-i", *(f"{key}={value}" for key, value in env.items()),
            str(nvim), "--embed", "--headless"]


@contextlib.contextmanager
def embedded_neovim(nvim: Path, env: Mapping[str, str]) -> Iterator[pynvim.Nvim]:
    """A headless Neovim in `env` (e.g. from `prepare`), driven through pynvim; it quits when
    the block ends."""
    import pynvim  # only the tests, the demo and the benchmark drive Neovim from Python

    session = pynvim.attach("child", argv=embedded_command(nvim, env))
    try:
        yield session
    finally:
        try:
            session.command("qall!")
        except Exception:  # Neovim exits while answering, closing the channel
            pass
        session.close()
