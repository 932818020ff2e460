"""`devkit nvim`: finding a Neovim, registering the remote plugin, isolated editor sessions.

The plugin itself (what runs inside Neovim) is the runtime folder `nvim/` at the top of the
source tree; this package only prepares Neovim to load it.
"""
