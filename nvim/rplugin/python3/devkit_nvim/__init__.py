"""devkit's remote plugin: the Python side of :Dune and :OCaml.

Nothing happens at import time (``:UpdateRemotePlugins`` imports this to read the specs): the
handlers and `devkit.ocaml` are imported on the first request. The commands themselves are
defined in Lua (``nvim/plugin/devkit.lua``) and call `DevkitRun` with one request table; that
keeps completion instant, a dead Python host a clear message, and the editor state in one
round trip.

Registering needs only pynvim, so the host may be a Python without devkit (the user's
g:python3_host_prog): then every request answers with one error saying how to install it.
"""

import sys
from pathlib import Path

import pynvim

#: The checkout these plugin files belong to (…/nvim/rplugin/python3/devkit_nvim/__init__.py).
CHECKOUT = Path(__file__).resolve().parents[4]
#: Bumped when the shape of `DevkitHealth`'s answer changes (``nvim/lua/devkit/health.lua``
#: reads it).
REPORT_VERSION = 1


def _no_devkit(error: Exception) -> tuple[str, str]:
    """What is wrong when this host's Python cannot import devkit, and what to do."""
    return (f"the Python host {sys.executable} cannot import devkit "
            f"({type(error).__name__}: {error})",
            f"install it there with `{sys.executable} -m pip install -e {CHECKOUT}`, or run "
            "`devkit nvim install` and set g:python3_host_prog to the Python it names")


@pynvim.plugin
class DevkitPlugin:
    def __init__(self, nvim: pynvim.Nvim) -> None:
        self.nvim = nvim
        self._handlers = None

    def _load(self):
        """The handlers, imported on first use, or the exception that stopped the import (this
        Python has no devkit: asked again on the next request, in case it was installed)."""
        if self._handlers is None:
            try:
                from devkit_nvim.handlers import Handlers
            except Exception as error:  # reported by the caller, never as a traceback
                return error
            self._handlers = Handlers(self.nvim)
        return self._handlers

    def _get(self):
        """The handlers; None, after one [devkit] error saying how to install devkit, when
        this Python cannot import it."""
        loaded = self._load()
        if isinstance(loaded, Exception):
            self.nvim.exec_lua("vim.notify('[devkit] ' .. ..., vim.log.levels.ERROR)",
                               ": ".join(_no_devkit(loaded)))
            return None
        return loaded

    @pynvim.function("DevkitRun", sync=False)
    def run(self, args: list) -> None:
        """`:Dune …`/`:OCaml …`: one request table from ``require('devkit').request``."""
        handlers = self._get()
        if handlers is not None:
            handlers.run(args[0])

    @pynvim.function("DevkitHealth", sync=True)
    def health(self, args: list) -> dict:
        """What ``:checkhealth devkit`` reports about the Python side and the toolchain."""
        loaded = self._load()
        if isinstance(loaded, Exception):
            problem, advice = _no_devkit(loaded)
            check = {"name": "devkit", "ok": False, "detail": problem, "advice": advice,
                     "required": True}
            return {"version": REPORT_VERSION,
                    "sections": [{"title": "Python host", "checks": [check]}],
                    "project": {"root": None, "kind": None, "reason": "not checked"}}
        return loaded.health(args[0] if args else {})

    @pynvim.function("DevkitShutdown", sync=True)
    def shutdown(self, args: list) -> None:
        """Neovim is exiting: stop the dune processes the plugin started."""
        if self._handlers is not None:
            self._handlers.shutdown()

    @pynvim.function("DevkitLspReply", sync=False)
    def lsp_reply(self, args: list) -> None:
        """The answer to an LSP request made through ``require('devkit.lsp').request``."""
        handlers = self._get()
        if handlers is not None:
            handlers.lsp_reply(*args)
