"""Entry point of the `annotate` console script."""

from __future__ import annotations

import os
import sys

import click
import typer

from annotate import __version__
from annotate.cli import data_cmds, project_cmds
from annotate.cli.common import CliState, console
from annotate.errors import AnnotateError
from annotate.settings import DEFAULT_DB_URL

app = typer.Typer(
    name="annotate",
    help="Human + LLM annotation: LLM roles and people on one shared task queue.\n\n"
    "Start with `annotate demo`, or `annotate project create NAME --kind classification "
    "--labels a,b` then `annotate import NAME FILE`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"annotate {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: str = typer.Option(
        None, "--db", envvar="ANNOTATE_DB", show_default=DEFAULT_DB_URL,
        help="Database URL: sqlite:///file.db (default) or postgresql+psycopg://user@host/db.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q",
                               help="No progress bars or spinners on stderr."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    ctx.obj = CliState(db=db or os.environ.get("ANNOTATE_DB", DEFAULT_DB_URL), quiet=quiet)


project_cmds.register(app)
data_cmds.register(app)


def _register_optional() -> None:
    """Commands whose modules may pull heavier dependencies are registered lazily by name."""
    from annotate.cli import extra_cmds

    extra_cmds.register(app)
    from annotate.cli.bench_cmd import bench_app

    app.add_typer(bench_app, name="bench")


_register_optional()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; domain errors become one line on stderr and exit code 2."""
    try:
        result = app(args=argv, standalone_mode=False)
    except AnnotateError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except click.exceptions.Abort:
        console.print("aborted")
        return 130
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:
        exc.show()
        return 2
    except KeyboardInterrupt:
        console.print("interrupted: leased tasks return to the queue when their lease expires")
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
