"""`devkit nvim install` and `devkit nvim run` end to end: the real CLI, the pinned Neovim, and a
user configuration (HOME and the XDG folders) of the test's own.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import devkit as devkit_package
from devkit.cli import cli
from devkit.nvim.cli import ensure_helptags
from devkit.nvim.isolated import embedded_neovim
from devkit.nvim.neovim import lua_string, registered_plugins, runtime_dir
from tests.nvim.conftest import messages, wait_for
from tests.nvim.ocamlnvim import notes, record_notifications, wait_note

PROJECT_ROOT = Path(devkit_package.__file__).resolve().parent.parent
OTHER_PLUGIN = '''\
import pynvim


@pynvim.plugin
class Other:
    def __init__(self, nvim):
        self.nvim = nvim

    @pynvim.function("OtherHello", sync=True)
    def hello(self, args):
        return "hello"
'''
#: A plugin whose import works only in the user's own host Python (like one importing
#: jupyter_client): its module `users_module` is on that Python's path alone.
USERS_PLUGIN = '''\
import pynvim

import users_module


@pynvim.plugin
class Users:
    def __init__(self, nvim):
        self.nvim = nvim

    @pynvim.function("UsersHello", sync=True)
    def hello(self, args):
        return users_module.GREETING
'''
NO_DEVKIT = 'raise ImportError("devkit is not installed in this Python")\n'


@pytest.fixture
def user(tmp_path, monkeypatch) -> Path:
    """A user's Neovim configuration: HOME and XDG folders under tmp_path, an init.lua that
    puts another Python remote plugin on 'runtimepath'. Returns the init.lua."""
    home = Path(os.environ["HOME"])
    for variable, folder in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                             ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):
        monkeypatch.setenv(variable, str(home / folder))
    for variable in ("NVIM_APPNAME", "NVIM_RPLUGIN_MANIFEST", "VIMINIT", "NVIM",
                     "NVIM_LISTEN_ADDRESS", "DEVKIT_NVIM"):
        monkeypatch.delenv(variable, raising=False)
    other = tmp_path / "other-plugin"
    (other / "rplugin" / "python3").mkdir(parents=True)
    (other / "rplugin" / "python3" / "other_plugin.py").write_text(OTHER_PLUGIN)
    init = home / ".config" / "nvim" / "init.lua"
    init.parent.mkdir(parents=True)
    init.write_text(f"vim.opt.runtimepath:append({lua_string(str(other))})\n"
                    "vim.g.user_config_loaded = 1\n")
    return init


def manifest_path() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "nvim" / "rplugin.vim"


def users_python(folder: Path, modules: dict[str, str]) -> Path:
    """The user's own host Python: an executable script running devkit's Python with a folder
    of its own first on PYTHONPATH, holding `modules` ({relative path: source})."""
    site = folder / "site"
    for name, source in modules.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(source)
    python = folder / "python3"
    python.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(site))}${{PYTHONPATH:+:$PYTHONPATH}}"
                      f" exec {shlex.quote(sys.executable)} \"$@\"\n")
    python.chmod(0o755)
    return python


def with_users_plugin(init: Path, tmp_path: Path, modules: dict[str, str]) -> Path:
    """Add to the user's `init` a Python remote plugin that imports `users_module`, and
    g:python3_host_prog set to a Python holding `modules`; return that Python."""
    plugin = tmp_path / "users-plugin"
    (plugin / "rplugin" / "python3").mkdir(parents=True)
    (plugin / "rplugin" / "python3" / "users_plugin.py").write_text(USERS_PLUGIN)
    python = users_python(tmp_path / "users-python", modules)
    with init.open("a") as lines:
        lines.write(f"vim.opt.runtimepath:append({lua_string(str(plugin))})\n"
                    f"vim.g.python3_host_prog = {lua_string(str(python))}\n")
    return python


def update_remote_plugins(nvim_binary: Path) -> tuple[str, ...]:
    """`:UpdateRemotePlugins` in the user's Neovim, as they would run it; the plugins it
    registered."""
    subprocess.run([str(nvim_binary), "--headless", "+UpdateRemotePlugins", "+qa"],
                   capture_output=True, stdin=subprocess.DEVNULL, timeout=120, check=True)
    return registered_plugins(manifest_path().read_text())


def users_neovim(nvim_binary: Path):
    """The user's own Neovim (their configuration and data), embedded and driven by pynvim."""
    return embedded_neovim(nvim_binary, os.environ)


def devkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "devkit", *args], capture_output=True,
                          text=True, env=environment, stdin=subprocess.DEVNULL, check=False,
                          timeout=120)


def assert_one_line_error(process: subprocess.CompletedProcess, fragment: str) -> None:
    assert process.returncode == 1, process
    assert "Traceback" not in process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], process.stderr


def install(nvim_binary: Path, *args: str):
    return CliRunner().invoke(cli, ["nvim", "install", "--nvim", str(nvim_binary), *args],
                              catch_exceptions=False)


def test_install_registers_the_plugin_and_keeps_the_users_other_ones(nvim_binary, user):
    first = install(nvim_binary)
    assert first.exit_code == 0, first.output
    manifest = manifest_path()
    text = manifest.read_text()
    assert f"'{runtime_dir()}/rplugin/python3/devkit_nvim'" in text
    assert "'DevkitRun'" in text and "'DevkitHealth'" in text
    assert "other_plugin.py" in text and "'OtherHello'" in text
    assert f"manifest:    {manifest}" in first.output

    second = install(nvim_binary)
    assert second.exit_code == 0, second.output
    assert manifest.read_text() == text


def test_install_prints_the_lazy_spec_and_the_runtimepath_lines(nvim_binary, user):
    result = install(nvim_binary)
    assert result.exit_code == 0, result.output
    runtime, python = lua_string(str(runtime_dir())), lua_string(sys.executable)
    for line in (f"dir = {runtime},", 'name = "devkit",', "lazy = false,",
                 f"vim.g.python3_host_prog = {python}", 'build = ":UpdateRemotePlugins",',
                 f"vim.opt.runtimepath:append({runtime})"):
        assert line in result.output


def test_help_tags_are_generated_when_missing_or_stale(nvim_binary, tmp_path):
    runtime = tmp_path / "runtime"
    shutil.copytree(runtime_dir() / "doc", runtime / "doc",
                    ignore=shutil.ignore_patterns("tags"))
    tags = runtime / "doc" / "tags"
    assert ensure_helptags(nvim_binary, runtime, os.environ) is None
    assert "devkit.txt" in tags.read_text() and ":Dune-build\t" in tags.read_text()
    os.utime(tags, (1, 1))
    stale = tags.stat().st_mtime_ns
    assert ensure_helptags(nvim_binary, runtime, os.environ) is None
    assert tags.stat().st_mtime_ns != stale  # older than the help file: generated again
    fresh = tags.stat().st_mtime_ns
    assert ensure_helptags(nvim_binary, runtime, os.environ) is None
    assert tags.stat().st_mtime_ns == fresh  # up to date: left alone

    (runtime / "doc" / "extra.txt").write_text("*extra.txt*\textra\n*devkit*\n")
    warning = ensure_helptags(nvim_binary, runtime, os.environ)
    assert warning is not None and 'E154: Duplicate tag "devkit"' in warning


def test_a_configuration_following_the_advice_runs_the_plugin(nvim_binary, user):
    runtime, python = lua_string(str(runtime_dir())), lua_string(sys.executable)
    with user.open("a") as init:
        init.write(f"vim.opt.runtimepath:append({runtime})\n"
                   f"vim.g.python3_host_prog = {python}\n")
    result = install(nvim_binary)
    assert result.exit_code == 0, result.output
    assert "already keeps devkit on 'runtimepath'" in result.output
    assert "lazy.nvim" not in result.output

    # The user's own Neovim, started as they would: the plugin answers, the other one too.
    probe = ("lua io.stdout:write(vim.fn.DevkitHealth({}).version, ' ', "
             "vim.fn.OtherHello(), ' ', vim.g.user_config_loaded)")
    started = subprocess.run([str(nvim_binary), "--headless", "-c", probe, "-c", "qall!"],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL,
                             timeout=120, check=False)
    assert started.stdout == "1 hello 1", started


def test_install_registers_with_the_users_python_and_keeps_their_plugins(nvim_binary, user,
                                                                         tmp_path):
    python = with_users_plugin(user, tmp_path, {"users_module.py": "GREETING = 'hi'\n"})
    plugin = str(tmp_path / "users-plugin" / "rplugin" / "python3" / "users_plugin.py")
    assert plugin in update_remote_plugins(nvim_binary)

    result = install(nvim_binary)
    assert result.exit_code == 0, result.output
    assert f"Python host: {python}" in result.output
    assert "warning" not in result.output
    registered = registered_plugins(manifest_path().read_text())
    assert plugin in registered and f"{runtime_dir()}/rplugin/python3/devkit_nvim" in registered
    text = manifest_path().read_text()
    assert install(nvim_binary).exit_code == 0 and manifest_path().read_text() == text

    with user.open("a") as init:  # the advice followed: the user's Neovim runs both plugins
        init.write(f"vim.opt.runtimepath:append({lua_string(str(runtime_dir()))})\n")
    with users_neovim(nvim_binary) as nvim:
        assert nvim.call("UsersHello") == "hi"
        assert nvim.call("DevkitHealth", {})["sections"][0]["checks"][0]["ok"]


def test_install_names_the_plugins_a_python_without_their_modules_drops(nvim_binary, user,
                                                                        tmp_path):
    python = with_users_plugin(user, tmp_path, {"users_module.py": "GREETING = 'hi'\n"})
    plugin = str(tmp_path / "users-plugin" / "rplugin" / "python3" / "users_plugin.py")
    assert plugin in update_remote_plugins(nvim_binary)

    result = install(nvim_binary, "--python", sys.executable)  # devkit's: no users_module
    assert result.exit_code == 0, result.output
    [lost] = [line for line in result.output.splitlines() if "lost their registration" in line]
    assert lost.startswith("warning: 1 remote plugin(s) lost their registration")
    assert plugin in lost and "--python set to the Python they need" in lost
    assert plugin not in registered_plugins(manifest_path().read_text())
    assert (f"sets g:python3_host_prog to {python}, so Neovim runs devkit in {python}, "
            f"not in {sys.executable}") in result.output

    as_json = install(nvim_binary, "--json")  # without --python: the user's Python again
    assert as_json.exit_code == 0, as_json.output
    assert f'"python": "{python}"' in as_json.output and '"lost": []' in as_json.output
    assert plugin in registered_plugins(manifest_path().read_text())


def test_install_with_a_users_python_lacking_devkit_says_what_to_do(nvim_binary, user, tmp_path):
    python = with_users_plugin(user, tmp_path, {"users_module.py": "GREETING = 'hi'\n",
                                                "devkit/__init__.py": NO_DEVKIT})
    with user.open("a") as init:
        init.write(f"vim.opt.runtimepath:append({lua_string(str(runtime_dir()))})\n")
    result = install(nvim_binary)
    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert warning == (
        f"warning: your g:python3_host_prog {python} cannot import devkit (ImportError: devkit "
        "is not installed in this Python): the plugin is registered, but :Dune and :OCaml will "
        f"fail until you install devkit there (`{python} -m pip install -e {PROJECT_ROOT}`) "
        f"or point g:python3_host_prog at devkit's Python ({sys.executable})")
    assert "'DevkitRun'" in manifest_path().read_text()  # registering needs only pynvim

    # In that Neovim each command is one [devkit] error with the fix, never a traceback.
    with users_neovim(nvim_binary) as nvim:
        record_notifications(nvim)
        assert nvim.call("UsersHello") == "hi"
        nvim.command(f"edit {tmp_path / 'a.ml'}")
        nvim.command("Dune build")
        note = wait_note(nvim, "cannot import devkit")
        assert note["level"] == 4  # vim.log.levels.ERROR
        host = sys.executable  # the interpreter the script runs
        assert note["msg"] == (
            f"[devkit] the Python host {host} cannot import devkit (ImportError: devkit is not "
            f"installed in this Python): install it there with `{host} -m pip install -e "
            f"{PROJECT_ROOT}`, or run `devkit nvim install` and set g:python3_host_prog to the "
            "Python it names")
        nvim.command("OCaml type")  # asked again at every request: never silent
        wait_for(lambda: len([n for n in notes(nvim) if "cannot import devkit" in n["msg"]]) == 2,
                 30, what="a second [devkit] error")
        nvim.command("checkhealth devkit")
        report = "\n".join(nvim.current.buffer[:])
        shown = messages(nvim)
    assert "Traceback" not in shown and "error caught" not in shown, shown
    assert f"ERROR devkit: the Python host {host} cannot import devkit" in report
    assert f"{host} -m pip install -e {PROJECT_ROOT}" in report


def test_install_with_a_configured_python_that_does_not_exist_is_one_line(nvim_binary, user):
    with user.open("a") as init:
        init.write('vim.g.python3_host_prog = "/usr/bin/some-other-python"\n')
    assert_one_line_error(
        devkit("nvim", "install", "--nvim", str(nvim_binary)),
        "sets g:python3_host_prog to /usr/bin/some-other-python, which is not an executable")
    assert not manifest_path().exists()


def test_install_with_a_missing_neovim_is_one_line(user, tmp_path):
    missing = tmp_path / "no-nvim"
    assert_one_line_error(devkit("nvim", "install", "--nvim", str(missing)),
                          f"{missing} does not exist")


def test_install_with_an_old_neovim_is_one_line(user, tmp_path):
    old = tmp_path / "nvim"
    old.write_text("#!/bin/sh\necho 'NVIM v0.9.5'\n")
    old.chmod(0o755)
    assert_one_line_error(devkit("nvim", "install", "--nvim", str(old)),
                          "is Neovim 0.9.5; devkit needs 0.10 or newer")
    assert not manifest_path().exists()


def test_install_with_a_python_lacking_pynvim_is_one_line(nvim_binary, user, tmp_path):
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'pynvim'\" >&2\n"
                      "exit 1\n")
    python.chmod(0o755)
    process = devkit("nvim", "install", "--nvim", str(nvim_binary), "--python", str(python))
    assert_one_line_error(process, "No module named 'pynvim'")
    assert f"{python} -m pip install -e" in process.stderr


def test_run_starts_an_isolated_neovim_and_removes_its_folder(nvim_binary, user, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    probe = ("lua io.stdout:write(vim.fn.exists(':Dune'), ' ', "
             "tostring(vim.g.user_config_loaded), ' ', vim.fn.DevkitHealth({}).version)")
    process = devkit("nvim", "run", "--nvim", str(nvim_binary), "--",
                     "--headless", f"+{probe}", "+qa", env={"TMPDIR": str(temporary)})
    assert process.returncode == 0, process
    assert process.stdout == "2 nil 1"  # the plugin works; the user's init.lua was not read
    assert list(temporary.glob("devkit-nvim-*")) == []  # (Neovim keeps its own nvim.USER)
    assert not manifest_path().exists()  # the user's data folder was not touched


def test_run_returns_neovims_exit_status(nvim_binary, user, tmp_path):
    process = devkit("nvim", "run", "--nvim", str(nvim_binary), "--", "--headless", "+cquit 3",
                     env={"TMPDIR": str(tmp_path)})
    assert process.returncode == 3, process


def test_run_keep_leaves_the_configuration_and_says_how_to_reuse_it(nvim_binary, user, tmp_path):
    process = devkit("nvim", "run", "--keep", "--nvim", str(nvim_binary), "--", "--headless",
                     "+qa", env={"TMPDIR": str(tmp_path)})
    assert process.returncode == 0, process
    [kept] = list(tmp_path.glob("devkit-nvim-*"))
    assert (kept / "config" / "nvim" / "init.lua").is_file()
    assert (kept / "data" / "nvim" / "rplugin.vim").is_file()
    assert str(kept) in process.stderr and f"XDG_CONFIG_HOME={kept}/config" in process.stderr
