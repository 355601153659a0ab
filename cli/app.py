"""The ``graphdex`` command: one Typer app; each command group lives in its own module.

Errors a user can act on (``GraphdexError``) are printed as one message, without a traceback, and
exit with the error's code (2 for an invalid definition, 1 otherwise).
"""

from __future__ import annotations

import sys

import typer

from schema_gen.errors import GraphdexError

app = typer.Typer(
    name="graphdex",
    help="Make a federated GraphQL graph searchable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    # Imported here so that each module can import ``app`` from this one.
    from cli import backfill, dev, generate, provision, run, search  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _register_commands()
    try:
        code = app(args=argv, prog_name="graphdex", standalone_mode=False)
    except GraphdexError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as error:  # usage errors arrive here in non-standalone mode
        import click

        # Typer vendors click (typer._click): its usage errors derive from typer.TyperException.
        if isinstance(error, click.ClickException | typer.TyperException) and hasattr(error, "show"):
            error.show()
            sys.exit(getattr(error, "exit_code", 2))
        raise
    if isinstance(code, int) and code != 0:  # ``typer.Exit(code)`` is returned, not raised, outside standalone mode
        sys.exit(code)
