"""`devkit nvim …`: registering the Neovim plugin with your own Neovim, and trying it in an
isolated session that leaves your configuration alone.

Only this module reads the environment and prints; `devkit.nvim.neovim` registers the plugin
and `devkit.nvim.isolated` writes the throw-away configuration.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from devkit.nvim.neovim import (
    NeovimError,
    find_nvim,
    lua_string,
    nvim_version,
    register,
    runtime_dir,
)

_nvim_option = click.option(
    "--nvim", "nvim_path", metavar="PATH",
    help="The Neovim to use (default: $DEVKIT_NVIM, else `nvim` on PATH when it is 0.10 or "
         "newer, else the pinned build of devkit's test extra).")
_python_option = click.option(
    "--python", metavar="PATH",
    help="The Python that runs the plugin (g:python3_host_prog); it must import pynvim and "
         "devkit. Default: the Python running devkit.")
_TIMEOUT = 60.0


class PythonHostError(NeovimError):
    """The Python chosen as the plugin's host cannot import what the plugin needs."""


def _check_python(python: str) -> None:
    """`PythonHostError` unless `python` runs and imports pynvim and devkit."""
    code = "import pynvim, devkit"
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True,
                              errors="replace", stdin=subprocess.DEVNULL, timeout=_TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PythonHostError(f"cannot run the Python host {python}: {error}") from error
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit status {done.returncode}"
        root = Path(runtime_dir()).parent
        raise PythonHostError(
            f"{python} cannot run the plugin ({reason}): install it there with "
            f"`{python} -m pip install -e {root}`, or leave --python out"
        )


def _user_settings(nvim: Path, env: Mapping[str, str], runtime: Path) -> dict | None:
    """What the user's own configuration sets: its g:python3_host_prog and whether it puts
    `runtime` on 'runtimepath'. None when that configuration cannot be asked (the answer only
    shapes the advice printed, so a failure here is not an error)."""
    with tempfile.TemporaryDirectory(prefix="devkit-nvim-") as folder:
        out = Path(folder) / "settings.json"
        probe = (
            "lua vim.fn.writefile({vim.json.encode({"
            "python = vim.g.python3_host_prog or vim.NIL, "
            "on_rtp = vim.tbl_contains(vim.tbl_map(function(p) "
            "return vim.fn.resolve(vim.fs.normalize(p)) end, vim.api.nvim_list_runtime_paths()), "
            f"{lua_string(str(runtime))})}})}}, {lua_string(str(out))})"
        )
        try:
            subprocess.run([str(nvim), "--headless", "-c", probe, "-c", "qall!"],
                           capture_output=True, env=dict(env), stdin=subprocess.DEVNULL,
                           timeout=_TIMEOUT, check=False)
            return json.loads(out.read_text())
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return None


def ensure_helptags(nvim: Path, runtime: Path, env: Mapping[str, str]) -> str | None:
    """Generate ``doc/tags`` of the plugin (what ``:help devkit`` reads) when it is missing or
    older than the help file; return None, or a warning saying why it could not be done."""
    doc = runtime / "doc"
    tags = doc / "tags"
    try:
        pages = [page.stat().st_mtime for page in doc.glob("*.txt")]
        if not pages or (tags.is_file() and tags.stat().st_mtime >= max(pages)):
            return None
    except OSError:
        pass  # let :helptags say what is wrong
    command = f"lua vim.cmd.helptags(vim.fn.fnameescape({lua_string(str(doc))}))"
    try:
        done = subprocess.run(
            [str(nvim), "--headless", "--clean", "-c", command, "-c", "qall!"],
            capture_output=True, text=True, errors="replace", env=dict(env),
            stdin=subprocess.DEVNULL, timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"could not generate {tags} (:help devkit needs it): {error}"
    errors = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    if done.returncode != 0 or errors or not tags.is_file():
        vim_errors = [line for line in errors if "E" in line and ": " in line]
        reason = (vim_errors or errors or [f"exit status {done.returncode}"])[0]
        reason = reason.split("Vim:", 1)[-1]
        return f"could not generate {tags} (:help devkit needs it): {reason}"
    return None


def lazy_spec(runtime: Path, python: str) -> str:
    """The lazy.nvim plugin spec that keeps devkit on 'runtimepath' with its Python host."""
    return (
        "{\n"
        f"  dir = {lua_string(str(runtime))},\n"
        '  name = "devkit",\n'
        "  lazy = false, -- on 'runtimepath' whenever :UpdateRemotePlugins runs\n"
        "  init = function()\n"
        f"    vim.g.python3_host_prog = {lua_string(python)}\n"
        "  end,\n"
        '  build = ":UpdateRemotePlugins", -- :Lazy build devkit re-registers it\n'
        "}"
    )


def runtimepath_lines(runtime: Path, python: str) -> str:
    """The two init.lua lines that do the same without a plugin manager."""
    return (f"vim.opt.runtimepath:append({lua_string(str(runtime))})\n"
            f"vim.g.python3_host_prog = {lua_string(python)}")


@click.group()
def nvim() -> None:
    """The Neovim plugin (:Dune, :OCaml, :checkhealth devkit, :help devkit).

    `install` registers it with your own Neovim; `run` starts Neovim with the plugin in a
    temporary configuration of its own, leaving yours untouched. Both need Neovim 0.10 or
    newer.

    \b
      devkit nvim run                 # try it: a throw-away configuration
      devkit nvim run -- lib/a.ml     # ... opening a file (arguments go to nvim)
      devkit nvim install             # register it with your Neovim, then follow the hint
    """


@nvim.command()
@_nvim_option
@_python_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def install(nvim_path: str | None, python: str | None, as_json: bool) -> None:
    """Register the remote plugin with your Neovim and your configuration.

    Runs `:UpdateRemotePlugins` headless with the plugin's runtime folder on 'runtimepath' and
    the plugin's Python as g:python3_host_prog, which writes the manifest that Neovim reads at
    start-up (stdpath('data')/rplugin.vim), and generates the help tags. Running it again is
    harmless: the manifest is rebuilt each time, keeping your other remote plugins.

    `:UpdateRemotePlugins` rebuilds the manifest from 'runtimepath' alone, so a later
    `:UpdateRemotePlugins` (yours, or a plugin manager's) drops devkit unless your
    configuration keeps the plugin on 'runtimepath' and sets its Python host: add the
    lazy.nvim spec or the two init.lua lines this command prints.

    Neovim has one Python host for all remote plugins: if you set g:python3_host_prog for
    another plugin, install devkit into that Python and pass it as --python.

    \b
      devkit nvim install
      devkit nvim install --nvim ~/bin/nvim --python ~/.venvs/nvim/bin/python
    """
    env = os.environ
    binary = find_nvim(env, nvim_path)
    runtime = runtime_dir()
    if python:  # devkit's own Python has both (pynvim is a dependency of devkit)
        _check_python(python)
    python = python or sys.executable
    manifest = register(binary, env, python, runtime)
    tags_warning = ensure_helptags(binary, runtime, env)
    settings = _user_settings(binary, env, runtime)
    version = ".".join(map(str, nvim_version(binary)))
    spec, lines = lazy_spec(runtime, python), runtimepath_lines(runtime, python)
    if as_json:
        click.echo(json.dumps({
            "nvim": str(binary), "nvim_version": version, "manifest": str(manifest),
            "runtime": str(runtime), "python": python, "lazy_spec": spec,
            "runtimepath_lua": lines, "configuration": settings,
            "warnings": [tags_warning] if tags_warning else [],
        }, indent=2))
        return
    if tags_warning:
        click.echo(f"warning: {tags_warning}", err=True)
    click.echo(f"Registered devkit with Neovim {version} ({binary})")
    click.echo(f"  manifest:    {manifest}")
    click.echo(f"  Python host: {python}")
    configured = settings is not None and settings.get("on_rtp")
    their_python = settings.get("python") if settings else None
    if their_python and their_python != python:
        click.echo(f"\nwarning: your configuration sets g:python3_host_prog to {their_python}; "
                   f"devkit runs in {python}: use the line below instead of yours, or run "
                   "this again with --python set to yours (it needs pynvim and devkit).",
                   err=True)
    if configured and their_python == python:
        click.echo("\nYour configuration already keeps devkit on 'runtimepath' with this "
                   "Python host. Restart Neovim; :checkhealth devkit reports on it.")
        return
    click.echo(
        "\n:UpdateRemotePlugins rebuilds the manifest from 'runtimepath', so keep the plugin "
        "there.\nWith lazy.nvim, add this spec:\n")
    click.echo(_indent(spec))
    click.echo("\nWithout a plugin manager, add to init.lua:\n")
    click.echo(_indent(lines))
    click.echo("\nThen restart Neovim: :checkhealth devkit reports on it, :help devkit "
               "tells the rest.")


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


@nvim.command(context_settings={"ignore_unknown_options": True,
                                "allow_interspersed_args": False})
@_nvim_option
@_python_option
@click.option("--keep", is_flag=True,
              help="Keep the temporary configuration and print where it is, with the "
                   "environment that selects it.")
@click.argument("nvim_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx: click.Context, nvim_path: str | None, python: str | None, keep: bool,
        nvim_args: Sequence[str]) -> None:
    """Start Neovim with the plugin, in a temporary configuration of its own.

    Your own configuration, plugins and data are not read or changed: Neovim's config, data,
    state and cache folders are a new temporary folder, removed when Neovim exits (unless
    --keep). NVIM_ARGS go to nvim unchanged (put `--` before them when they start with `-`);
    the exit status is nvim's.

    \b
      devkit nvim run
      devkit nvim run bin/main.ml
      devkit nvim run -- --headless +'Dune build' +qa
    """
    env = os.environ
    binary = find_nvim(env, nvim_path)
    if python:  # devkit's own Python has both (pynvim is a dependency of devkit)
        _check_python(python)
    python = python or sys.executable
    if keep:
        base = Path(tempfile.mkdtemp(prefix="devkit-nvim-"))
        status = _run_isolated(base, binary, env, python, nvim_args)
        isolated = {name: str(base / folder) for name, folder in
                    (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                     ("XDG_STATE_HOME", "state"), ("XDG_CACHE_HOME", "cache"))}
        click.echo(f"kept the configuration in {base}; to start it again:", err=True)
        click.echo("  env " + " ".join(f"{k}={v}" for k, v in isolated.items())
                   + f" {binary}", err=True)
    else:
        with tempfile.TemporaryDirectory(prefix="devkit-nvim-") as folder:
            status = _run_isolated(Path(folder), binary, env, python, nvim_args)
    ctx.exit(status)


def _run_isolated(base: Path, binary: Path, env: Mapping[str, str], python: str,
                  nvim_args: Sequence[str]) -> int:
    from devkit.nvim.isolated import prepare

    isolated = prepare(base, binary, env, python)
    ensure_helptags(binary, runtime_dir(), env)
    process = subprocess.Popen([str(binary), *nvim_args], env=isolated)
    # Ctrl-C belongs to Neovim while it runs; this process only waits for it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
