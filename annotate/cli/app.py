"""The Typer application of the `annotate` command line (:mod:`annotate.cli.main` runs it).

`annotate --help` imports the command modules (Typer needs their signatures) and nothing
heavier: the settings, the store and the roles are imported when a command runs.
"""

from __future__ import annotations

import typer

from annotate import __version__
from annotate.cli import data_cmds, project_cmds
from annotate.cli.common import CliState, load_settings, option_defaults
from annotate.defaults import DEFAULT_DB_URL

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
    from roles.registry import install_routing

    # The edge: the settings are read once (environment, `.env`, then these flags) for the
    # whole command line; commands take their values from here, never from the environment.
    settings = load_settings(db=db or None)
    install_routing()  # routing asks the registered roles (plugins too) what they want
    ctx.obj = CliState(settings=settings, quiet=quiet)
    ctx.default_map = option_defaults(ctx.command, settings)  # `.env` reaches --model etc.
    if settings.threads is not None:  # in-process models load with these CPU threads
        from annotate.llm import local_model

        local_model.configure(threads=settings.threads)


project_cmds.register(app)
data_cmds.register(app)


def _register_optional() -> None:
    """Commands whose modules may pull heavier dependencies are registered lazily by name."""
    from annotate.cli import extra_cmds

    extra_cmds.register(app)
    from annotate.cli.bench_cmd import bench_app

    app.add_typer(bench_app, name="bench")


_register_optional()
