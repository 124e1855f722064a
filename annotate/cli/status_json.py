"""``annotate status NAME --json`` on a database at head, answered without Typer,
SQLAlchemy or pydantic (#17 item 5: importing them was ~0.6 s of the command's ~0.7 s).

:func:`quick_status` reads the same SQL as the full command
(:mod:`annotate.projects.status_queries`) through the driver itself (the standard library's
``sqlite3``, or ``psycopg``) and returns the JSON text, or None whenever it cannot be sure to
give the full command's answer: another command line, a URL with query parameters or another
driver, a database that does not exist yet or does not answer, one not at the head
revision (the full path migrates or refuses it), a ``.env`` file that may name the database,
an unknown project (the full path says which exist), a project with a cascade (its table needs
the validated policy), any database error. The full command then runs as before. Without a
cascade the stored policy is not read (the full command also refuses a policy stored before
its fields had bounds).
``tests/test_status_queries.py`` compares both answers byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from annotate.defaults import DEFAULT_DB_URL, ENV_FILE, ENV_PREFIX
from annotate.errors import InvalidInput
from annotate.projects.status_queries import PROJECT, choice_table, status_counts
from annotate.store.head import head_revision_of_files
from annotate.store.urls import PG_CONNECT_TIMEOUT_S, SQLITE_BUSY_TIMEOUT_MS, normalise_url

_NAMED = re.compile(r"(?<![:\w]):(\w+)")  # `:name` parameters, the text's only colons
_ENV_NAME = f"{ENV_PREFIX}db".lower()  # the settings' `db` field
_RESERVED_ENV = f"{ENV_PREFIX}reservation_ttl_s".lower()  # a bad value fails every command


def quick_status(args: Sequence[str]) -> str | None:
    """The JSON ``annotate ARGS`` prints, when ARGS is ``[--db URL] [-q] status NAME --json``
    and the quick path can answer it exactly; else None."""
    parsed = _parse(args)
    if parsed is None:
        return None
    db, name = parsed
    url = db if db is not None else _db_from_environment()
    opened = None if url is None else _open(url)
    if opened is None:
        return None
    connection, dialect, errors = opened
    failures: tuple[type[Exception], ...] = (*errors, ValueError)
    try:
        info = _read(connection, dialect, name)
    except failures:
        return None
    finally:
        connection.close()
    return None if info is None else json.dumps(info, indent=2, ensure_ascii=False, default=str)


def _open(url: str) -> tuple[Any, str, tuple[type[Exception], ...]] | None:
    """A DB-API connection to the database ``url`` names (read as the store's engine reads
    it), its dialect and its errors."""
    try:
        url = normalise_url(url)
    except InvalidInput:
        return None  # the full path says why
    scheme, _, rest = url.partition("://")
    if "?" in rest:  # query parameters: SQLAlchemy may read them differently
        return None
    if scheme == "sqlite":
        return _open_sqlite(rest.removeprefix("/"))
    return _open_postgres(f"postgresql://{rest}") if scheme == "postgresql+psycopg" else None


def _open_sqlite(path: str) -> tuple[Any, str, tuple[type[Exception], ...]] | None:
    if not path or not Path(path).is_file():  # the full path creates a new database
        return None
    try:
        connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
                                     isolation_level=None)
        connection.execute("BEGIN")  # one snapshot for every count, as the full command's
    except sqlite3.Error:
        return None
    return connection, "sqlite", (sqlite3.Error,)


def _open_postgres(conninfo: str) -> tuple[Any, str, tuple[type[Exception], ...]] | None:
    try:
        import psycopg
    except ImportError:
        return None
    try:  # a transaction opens with the first statement, as the full command's session
        return (psycopg.connect(conninfo, connect_timeout=PG_CONNECT_TIMEOUT_S),
                "postgresql", (psycopg.Error,))
    except psycopg.Error:
        return None


def _parse(args: Sequence[str]) -> tuple[str | None, str] | None:
    """``(--db value or None, NAME)`` of the one command line this path answers."""
    rest = list(args)
    db: str | None = None
    while rest and rest[0] != "status":
        head = rest.pop(0)
        if head in ("-q", "--quiet"):
            continue
        if head == "--db" and rest:
            db = rest.pop(0)
        elif head.startswith("--db="):
            db = head.removeprefix("--db=")
        else:
            return None
    if rest[1:] == [] or "--json" not in rest[1:]:
        return None
    names = [a for a in rest[1:] if a != "--json"]
    if len(names) != 1 or len(rest) != 3 or names[0].startswith("-"):
        return None
    return (db or None), names[0]


def _db_from_environment() -> str | None:
    """ANNOTATE_DB as the settings read it (any case, empty is unset), else the default;
    None when a ``.env`` file or a setting that could fail leaves it to the full path."""
    values = {v for k, v in os.environ.items() if k.lower() == _ENV_NAME and v}
    if any(k.lower() == _RESERVED_ENV for k in os.environ) or len(values) > 1:
        return None
    if values:
        return values.pop()
    return None if Path(ENV_FILE).exists() else DEFAULT_DB_URL


def _read(connection: Any, dialect: str, name: str) -> dict[str, Any] | None:
    def rows(sql: str, params: Mapping[str, Any]) -> list[Any]:
        if dialect == "postgresql":  # psycopg's placeholders
            sql = _NAMED.sub(r"%(\1)s", sql)
        return list(connection.execute(sql, dict(params)).fetchall())

    stored = rows("SELECT version_num FROM alembic_version", {})
    head = head_revision_of_files()
    if head is None or [tuple(r) for r in stored] != [(head,)]:
        return None
    found = rows(PROJECT, {"name": name})
    if len(found) != 1:
        return None
    pid, name, kind, budget, policy = found[0]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    if not isinstance(policy, dict) or policy.get("cascade"):
        return None  # the full command validates the policy and reads the cascade's table
    info: dict[str, Any] = {"name": name, "kind": kind, **status_counts(rows, pid),
                            "budget_usd": budget}
    if choices := choice_table(rows, pid, dialect):
        info["candidate_choice"] = choices
    connection.execute("COMMIT")
    return info
