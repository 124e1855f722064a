"""What every command shares: the store from --db, JSON output, the console."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console

from annotate.settings import DEFAULT_DB_URL
from annotate.store.engine import Store, open_store

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


@dataclass
class CliState:
    db: str
    quiet: bool = False


def progress_enabled(ctx: typer.Context) -> bool:
    """Progress bars and spinners go to stderr, only on a terminal and without ``--quiet``."""
    state = ctx.find_root().obj
    if isinstance(state, CliState) and state.quiet:
        return False
    return console.is_terminal


def db_url(ctx: typer.Context) -> str:
    state = ctx.find_root().obj
    if isinstance(state, CliState):
        return state.db
    return os.environ.get("ANNOTATE_DB", DEFAULT_DB_URL)


@contextmanager
def store_from(ctx: typer.Context) -> Iterator[Store]:
    """Open the store named by --db / ANNOTATE_DB (migrations applied) for one command."""
    store = open_store(db_url(ctx))
    try:
        yield store
    finally:
        store.dispose()


def print_json(data: Any) -> None:
    """Machine-readable output on stdout (plain print: no rich markup, no wrapping)."""
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
