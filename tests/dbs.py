"""Real databases for tests: a fresh SQLite file, or a fresh PostgreSQL database, per test.

PostgreSQL databases are cloned from a migrated template created once per test session,
each with a random name, and dropped afterwards, so parallel runs never collide.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from annotate.store.engine import open_store

PG_ADMIN_URL = os.environ.get(
    "ANNOTATE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _admin_execute(sql: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def scratch_database(backend: str, folder: Path, prefix: str = "annotate_scratch"
                     ) -> Iterator[str | None]:
    """A fresh empty database for one benchmark or test run, removed afterwards: a SQLite file
    in ``folder``, or a PostgreSQL database with a random name (None when the server does not
    answer)."""
    tag = uuid.uuid4().hex[:8]
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{prefix}_{tag}.db'}"
        return
    if not pg_available():
        yield None
        return
    name = f"{prefix}_{tag}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PgTemplate:
    """A migrated template database; each test gets a clone."""

    def __init__(self) -> None:
        self.name = f"annotate_tmpl_{uuid.uuid4().hex[:10]}"
        _admin_execute(f'CREATE DATABASE "{self.name}"')
        store = open_store(pg_url(self.name))
        store.dispose()

    @contextmanager
    def clone(self) -> Iterator[str]:
        name = f"annotate_test_{uuid.uuid4().hex[:10]}"
        _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        try:
            yield pg_url(name)
        finally:
            _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop(self) -> None:
        _admin_execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class SqliteTemplate:
    """A migrated SQLite file copied for each test (faster than migrating each time)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.db"
        store = open_store(f"sqlite:///{self.path}")
        store.dispose()  # closing the last connection checkpoints the WAL into the file

    def clone(self, folder: Path) -> str:
        target = folder / "test.db"
        shutil.copy(self.path, target)
        return f"sqlite:///{target}"

