"""The `devkit` command: a click group whose subgroups live next to their domain.

This is the one place where a `DevkitError` from the core (or an OSError from the file system)
becomes a `click.ClickException`: one line on stderr ("Error: ...") and the error's exit
status, never a traceback.
"""

import click

from devkit import __version__
from devkit.algo.cli import algo
from devkit.bundle.cli import bundle
from devkit.errors import DevkitError
from devkit.nvim.cli import nvim
from devkit.ocaml.cli import ocaml


class _UserError(click.ClickException):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class DevkitGroup(click.Group):
    """A click group that reports `DevkitError`s from any subcommand as clean CLI errors."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DevkitError as error:
            raise _UserError(str(error), error.exit_code) from error
        except OSError as error:  # permissions, a full disk, a file where a folder should be
            where = f"{error.filename}: " if error.filename else ""
            raise _UserError(f"{where}{error.strerror or error}") from error


@click.group(cls=DevkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="devkit")
def cli() -> None:
    """devkit: git bundle chains, an OCaml workflow (core, CLI and Neovim plugin), and small
    exact algorithms."""


cli.add_command(bundle)
cli.add_command(ocaml)
cli.add_command(nvim)
cli.add_command(algo)


def main() -> None:
    cli(prog_name="devkit")
