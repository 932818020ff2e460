"""devkit: an OCaml workflow for Neovim, a git bundle manager, and exact algorithm utilities."""

__version__ = "0.1.0"
