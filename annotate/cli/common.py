"""What every command shares: the settings and the store from --db, JSON output, the console.

Every module under ``annotate/cli`` is imported to build ``annotate --help``, so none imports
the settings model, the store (SQLAlchemy) or anything heavier at its top: a command imports
what it needs when it runs (``tests/test_cli_start.py``, ``benchmarks/cli_start.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:
    from annotate.settings import Settings
    from annotate.store.engine import Store

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

# Options that take their default from the settings (so a `.env` file reaches them too), by the
# env var they name. Secrets (--token, --auth-pass) are left to their env var alone: Typer would
# print a default in --help.
SETTING_OF_ENVVAR = {"ANNOTATE_MODEL": "model", "ANNOTATE_THREADS": "threads",
                     "ANNOTATE_BACKEND_USER": "backend_user",
                     "LABEL_STUDIO_URL": "label_studio_url"}


def load_settings(**overrides: Any) -> Settings:
    """:func:`annotate.settings.load_settings`, imported when a command runs."""
    from annotate.settings import load_settings as load

    return load(**overrides)


@dataclass
class CliState:
    """What the root command was given for the whole command line. The settings are read once,
    when a command first needs them: never for a ``--help`` or a usage error, which then
    cost no pydantic-settings (``benchmarks/cli_start.py``)."""

    db: str | None = None  # --db, applied over the environment and `.env`
    quiet: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _prepared: bool = field(default=False, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(db=self.db)
        return self._settings

    def prepare(self) -> None:
        """What every command runs after (once): the settings read (a bad value is one error
        line), routing asking the registered roles (plugins too) what they want, and the
        in-process models' CPU threads."""
        if self._prepared:
            return
        settings = self.settings
        from roles.registry import install_routing

        install_routing()
        if settings.threads is not None:
            from annotate.llm import local_model

            local_model.configure(threads=settings.threads)
        self._prepared = True


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root command read (the environment's when a sub-app runs alone)."""
    state = ctx.find_root().obj
    return state.settings if isinstance(state, CliState) else load_settings()


def option_defaults(command: Any, settings: Settings) -> dict[str, Any]:
    """Click's ``default_map`` for ``command`` and its subcommands: the settings' value of every
    option whose env var is in :data:`SETTING_OF_ENVVAR`. Click still prefers the flag, then
    the env var itself, to this default. (Typer's commands are its own click's, so they are
    read by their attributes, not by type.)"""
    defaults: dict[str, Any] = {}
    for param in command.params:
        names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
        values = [getattr(settings, SETTING_OF_ENVVAR[n]) for n in names if n in SETTING_OF_ENVVAR]
        if param.name and values and values[0] is not None:
            defaults[param.name] = values[0]
    for name, sub in (getattr(command, "commands", None) or {}).items():
        if below := option_defaults(sub, settings):
            defaults[name] = below
    return defaults


def progress_enabled(ctx: typer.Context) -> bool:
    """Progress bars and spinners go to stderr, only on a terminal and without ``--quiet``."""
    state = ctx.find_root().obj
    if isinstance(state, CliState) and state.quiet:
        return False
    return console.is_terminal


def db_url(ctx: typer.Context) -> str:
    return settings_of(ctx).db


@contextmanager
def store_from(ctx: typer.Context) -> Iterator[Store]:
    """Open the store named by --db / ANNOTATE_DB (migrations applied) for one command."""
    from annotate.store.engine import open_store

    store = open_store(db_url(ctx))
    try:
        yield store
    finally:
        store.dispose()


def print_json(data: Any) -> None:
    """Machine-readable output on stdout (plain print: no rich markup, no wrapping)."""
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def names_in_help(**lists: Callable[[], Sequence[str]]) -> type[TyperCommand]:
    """A command class whose options' help has each ``{NAME}`` replaced by the names
    ``lists[NAME]()`` returns, when the help is shown: registries (formats, kinds, roles) are
    read then, not when every command starts."""

    class NamesInHelp(TyperCommand):
        def format_help(self, ctx: Any, formatter: Any) -> None:
            for param in self.params:
                text = getattr(param, "help", None)
                for key, names in lists.items():
                    placeholder = "{" + key + "}"
                    if isinstance(text, str) and placeholder in text:
                        text = text.replace(placeholder, ", ".join(names()))
                        setattr(param, "help", text)  # noqa: B010
            super().format_help(ctx, formatter)

    return NamesInHelp


class PlainOption(TyperOption):
    """An option taken as click parsed it (the root's ``--db`` text and flags, a group's
    ``--help``). Typer checks an option's value through a pydantic adapter it builds on first
    use, and the options of the root and of the groups are read for `annotate CMD --help` too:
    that imported pydantic (about 70 ms of CPU) only to pass a string or a flag through."""

    def process_value(self, ctx: Any, value: Any) -> Any:
        if self.callback is not None:  # --help, --version
            value = self.callback(ctx, self, value)
        return value


class CommandsGroup(TyperGroup):
    """A group whose help lists each command with its whole first sentence (click cuts it
    to fit one line, ending in "..."), and whose ``--help`` is a :class:`PlainOption`."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if isinstance(option, TyperOption):
            option.__class__ = PlainOption
        return option

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
