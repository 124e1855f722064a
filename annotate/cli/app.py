"""The Typer application of the `annotate` command line (:mod:`annotate.cli.main` runs it).

`annotate --help` imports the command modules (Typer needs their signatures) and nothing
heavier: the settings, the store and the roles are imported when a command runs, and so not for
`annotate CMD --help` either (:class:`RootGroup`). The help is click's plain text (Typer's
`rich_markup_mode=None`): Typer's rich help imports rich's markdown and traceback modules and
took about half of the CPU of `annotate --help` (``benchmarks/cli_start.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperOption

from annotate import __version__
from annotate.cli import data_cmds, project_cmds
from annotate.cli.common import CliState, CommandsGroup, PlainOption, option_defaults
from annotate.defaults import DEFAULT_DB_URL, ENV_FILE


class RootGroup(CommandsGroup):
    """The root command. Each command's own function runs after :meth:`CliState.prepare`
    (settings, routing, threads), which is thereby skipped when click only shows a help or
    reports a usage error: it costs 0.2-0.8 s of imports (pydantic-settings, the roles and the
    queue they import)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _prepare_before_commands(self)
        for param in self.params:
            if isinstance(param, TyperOption):
                param.__class__ = PlainOption


def _prepare_before_commands(group: Any) -> None:
    for command in (getattr(group, "commands", None) or {}).values():
        if getattr(command, "commands", None) is not None:
            _prepare_before_commands(command)
        else:  # a command: click calls its invoke once its arguments are parsed
            setattr(command, "invoke", _prepared(command.invoke))  # noqa: B010


def _prepared(invoke: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(invoke)
    def run(ctx: Any) -> Any:
        state = ctx.find_root().obj
        if isinstance(state, CliState):
            state.prepare()
        return invoke(ctx)

    return run


app = typer.Typer(
    name="annotate",
    help="Human + LLM annotation: LLM roles and people on one shared task queue.\n\n"
    "Start with `annotate demo`, or `annotate project create NAME --kind classification "
    "--labels a,b` then `annotate import NAME FILE`.",
    no_args_is_help=True,
    cls=RootGroup,
    rich_markup_mode=None,
    context_settings={"max_content_width": 200},  # the terminal's width, as rich's help had
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
    # The edge: the settings are read once (environment, `.env`, then these flags) for the
    # whole command line, when the command first needs them (CliState.prepare, before it
    # runs); commands take their values from here, never from the environment.
    state = CliState(db=db or None, quiet=quiet)
    ctx.obj = state
    if Path(ENV_FILE).is_file():  # `.env` reaches --model etc. (click reads the env vars)
        ctx.default_map = option_defaults(ctx.command, state.settings)


project_cmds.register(app)
data_cmds.register(app)


def _register_optional() -> None:
    """Commands whose modules may pull heavier dependencies are registered lazily by name."""
    from annotate.cli import extra_cmds

    extra_cmds.register(app)
    from annotate.cli.bench_cmd import bench_app

    app.add_typer(bench_app, name="bench")


_register_optional()
