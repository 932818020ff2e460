"""`devkit nvim …`: registering the Neovim plugin with your own Neovim, and trying it in an
isolated session that leaves your configuration alone.

Only this module reads the environment and prints; `devkit.nvim.neovim` registers the plugin
and `devkit.nvim.isolated` writes the throw-away configuration.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from devkit.nvim.neovim import (
    NeovimError,
    Registration,
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


def _python_option(default: str):
    return click.option(
        "--python", metavar="PATH",
        help="The Python that runs the plugin (g:python3_host_prog); it must import pynvim "
             f"and devkit. Default: {default}.")


_TIMEOUT = 60.0


class PythonHostError(NeovimError):
    """The Python chosen as the plugin's host cannot import what the plugin needs."""


def _import_problem(python: str, modules: str) -> str | None:
    """Why `python` cannot import `modules` (``"pynvim, devkit"``), the way Neovim's Python host
    imports them (without the current folder on sys.path); None when it can. `PythonHostError`
    when `python` does not run at all."""
    code = f"import sys; sys.path = [p for p in sys.path if p != '']; import {modules}"
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True,
                              errors="replace", stdin=subprocess.DEVNULL, timeout=_TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PythonHostError(f"cannot run the Python host {python}: {error}") from error
    if done.returncode == 0:
        return None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit status {done.returncode}"


def _pip_install(python: str) -> str:
    """The command that installs this devkit checkout into `python`."""
    return f"{python} -m pip install -e {runtime_dir().parent}"


def _check_python(python: str) -> None:
    """`PythonHostError` unless `python` runs and imports pynvim and devkit."""
    reason = _import_problem(python, "pynvim, devkit")
    if reason is not None:
        raise PythonHostError(
            f"{python} cannot run the plugin ({reason}): install it there with "
            f"`{_pip_install(python)}`, or leave --python out"
        )


def _user_settings(nvim: Path, env: Mapping[str, str], runtime: Path) -> dict | None:
    """What the user's own configuration sets: its g:python3_host_prog as written (`python`)
    and the executable Neovim finds for it (`python_executable`, None when there is none), and
    whether it puts `runtime` on 'runtimepath' (`on_rtp`). None when that configuration cannot
    be asked (`install` then registers with devkit's Python, and still reports any remote
    plugin that loses its registration)."""
    with tempfile.TemporaryDirectory(prefix="devkit-nvim-") as folder:
        out = Path(folder) / "settings.json"
        probe = (
            "lua local prog = vim.g.python3_host_prog; "
            "local exe = type(prog) == 'string' and vim.fn.exepath(vim.fn.expand(prog)) or ''; "
            "vim.fn.writefile({vim.json.encode({"
            "python = prog or vim.NIL, python_executable = exe ~= '' and exe or vim.NIL, "
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


def _host_python(given: str | None, settings: dict | None) -> tuple[str, list[str]]:
    """The Python to register the plugin with, and warnings about it: `given` (--python, which
    must import pynvim and devkit), else the user's g:python3_host_prog (which must import
    pynvim: registering needs no more), else the Python running devkit."""
    if given:
        python = str(Path(shutil.which(given) or given).absolute())
        _check_python(python)
        return python, []
    configured = settings.get("python") if settings else None
    if not configured:
        return sys.executable, []
    python = settings.get("python_executable")
    if not python:
        raise PythonHostError(
            f"your configuration sets g:python3_host_prog to {configured}, which is not an "
            "executable: correct it (Neovim's Python host cannot start), or pass --python")
    reason = _import_problem(python, "pynvim")
    if reason is not None:
        raise PythonHostError(
            f"your g:python3_host_prog {python} cannot import pynvim ({reason}): install "
            f"devkit there with `{_pip_install(python)}`, or pass --python")
    reason = _import_problem(python, "devkit")
    if reason is None:
        return python, []
    return python, [
        f"your g:python3_host_prog {python} cannot import devkit ({reason}): the plugin is "
        f"registered, but :Dune and :OCaml will fail until you install devkit there "
        f"(`{_pip_install(python)}`) or point g:python3_host_prog at devkit's Python "
        f"({sys.executable})"]


def _lost_warning(registration: Registration, python: str) -> str | None:
    """A warning naming every remote plugin the new manifest no longer registers."""
    if not registration.lost:
        return None
    return (
        f"{len(registration.lost)} remote plugin(s) lost their registration in "
        f"{registration.manifest}: {', '.join(registration.lost)}; their host could not load "
        f"them (the Python host was {python}) or they are no longer on 'runtimepath': "
        ":UpdateRemotePlugins in your Neovim says why; run this again with --python set to "
        "the Python they need, with devkit installed in it")


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
@_python_option("the g:python3_host_prog your configuration sets, else the Python running "
                "devkit")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def install(nvim_path: str | None, python: str | None, as_json: bool) -> None:
    """Register the remote plugin with your Neovim and your configuration.

    Runs `:UpdateRemotePlugins` headless in your configuration, with the plugin's runtime
    folder on 'runtimepath', which writes the manifest that Neovim reads at start-up
    (stdpath('data')/rplugin.vim), and generates the help tags. Running it again is harmless:
    the manifest is rebuilt each time.

    Neovim has one Python host for all remote plugins, and the manifest lists only the plugins
    that host could load. So registering uses the Python your configuration sets as
    g:python3_host_prog, which your other Python remote plugins run in (--python overrides
    it; without either, the Python running devkit). A remote plugin that was registered
    before and is not after is named in a warning. When your g:python3_host_prog cannot
    import devkit, the plugin is registered all the same and a warning says how to install
    devkit there: until then :Dune and :OCaml say so instead of running.

    `:UpdateRemotePlugins` rebuilds the manifest from 'runtimepath' alone, so a later
    `:UpdateRemotePlugins` (yours, or a plugin manager's) drops devkit unless your
    configuration keeps the plugin on 'runtimepath' and sets its Python host: add the
    lazy.nvim spec or the two init.lua lines this command prints.

    \b
      devkit nvim install
      devkit nvim install --nvim ~/bin/nvim --python ~/.venvs/nvim/bin/python
    """
    env = os.environ
    binary = find_nvim(env, nvim_path)
    runtime = runtime_dir()
    settings = _user_settings(binary, env, runtime)
    python, warnings = _host_python(python, settings)
    registration = register(binary, env, python, runtime)
    for warning in (_lost_warning(registration, python),
                    ensure_helptags(binary, runtime, env)):
        if warning:
            warnings.append(warning)
    version = ".".join(map(str, nvim_version(binary)))
    spec, lines = lazy_spec(runtime, python), runtimepath_lines(runtime, python)
    their_python = settings.get("python_executable") if settings else None
    if their_python and their_python != python:
        warnings.append(
            f"your configuration sets g:python3_host_prog to {settings['python']}, so Neovim "
            f"runs devkit in {their_python}, not in {python}: use the line below instead of "
            "yours, or run this again without --python")
    if as_json:
        click.echo(json.dumps({
            "nvim": str(binary), "nvim_version": version,
            "manifest": str(registration.manifest), "runtime": str(runtime), "python": python,
            "lazy_spec": spec, "runtimepath_lua": lines, "configuration": settings,
            "lost": list(registration.lost), "warnings": warnings,
        }, indent=2))
        return
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"Registered devkit with Neovim {version} ({binary})")
    click.echo(f"  manifest:    {registration.manifest}")
    click.echo(f"  Python host: {python}")
    if settings is not None and settings.get("on_rtp") and their_python == python:
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
@_python_option("the Python running devkit")
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
