"""The OCaml workflow core: a plain library the Neovim plugin and the CLI both use.

Modules:

- `project`      the project root, found the way dune finds it
- `toolchain`    opam/esy switches and the tools (dune, ocaml, ocamllsp, ocamlformat, ocamlfind)
- `diagnostics`  compiler and dune output → `Diagnostic` records (quickfix and vim.diagnostic forms)
- `dune`         running dune asynchronously: streaming, cancellable, bounded; the watch process
- `promotion`    pending `dune promote` corrections (read from `_build/.to-promote`) and promoting
- `cmt`          the compiler-only engine's index of a `.cmt` file (via `ocamlcmt -annot`)
- `lookup`       type at a position and definition of an identifier, from the `.cmt` index
- `interface`    inferring a `.mli` and switching between `.ml` and `.mli`
- `lsp`          params and results of ocaml-lsp-server's custom requests
- `cli`          the `devkit ocaml` commands
"""
