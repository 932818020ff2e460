"""devkit's remote plugin: the Python side of :Dune and :OCaml.

Nothing happens at import time (``:UpdateRemotePlugins`` imports this to read the specs): the
handlers and `devkit.ocaml` are imported on the first request. The commands themselves are
defined in Lua (``nvim/plugin/devkit.lua``) and call `DevkitRun` with one request table; that
keeps completion instant, a dead Python host a clear message, and the editor state in one
round trip.
"""

import pynvim


@pynvim.plugin
class DevkitPlugin:
    def __init__(self, nvim: pynvim.Nvim) -> None:
        self.nvim = nvim
        self._handlers = None

    def _get(self):
        if self._handlers is None:
            from devkit_nvim.handlers import Handlers

            self._handlers = Handlers(self.nvim)
        return self._handlers

    @pynvim.function("DevkitRun", sync=False)
    def run(self, args: list) -> None:
        """`:Dune …`/`:OCaml …`: one request table from ``require('devkit').request``."""
        self._get().run(args[0])

    @pynvim.function("DevkitHealth", sync=True)
    def health(self, args: list) -> dict:
        """What ``:checkhealth devkit`` reports about the Python side and the toolchain."""
        return self._get().health(args[0] if args else {})

    @pynvim.function("DevkitShutdown", sync=True)
    def shutdown(self, args: list) -> None:
        """Neovim is exiting: stop the dune processes the plugin started."""
        if self._handlers is not None:
            self._handlers.shutdown()

    @pynvim.function("DevkitLspReply", sync=False)
    def lsp_reply(self, args: list) -> None:
        """The answer to an LSP request made through ``require('devkit.lsp').request``."""
        self._get().lsp_reply(*args)
