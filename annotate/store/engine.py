"""One engine and session factory per process, created at the edge and passed in.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every transaction
starts with ``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead of failing
on a stale snapshot. PostgreSQL uses the same code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from annotate.errors import InvalidInput, StoreUnavailable
from annotate.store.head import head_revision_of_files
from annotate.store.urls import PG_CONNECT_TIMEOUT_S, SQLITE_BUSY_TIMEOUT_MS, normalise_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@dataclass
class Store:
    """The engine and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(f"not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise InvalidInput(f"unsupported database {parsed.drivername!r} in --db: use "
                           "sqlite:///FILE.db or postgresql+psycopg://USER@HOST/DB")
    if backend == "sqlite":
        return _sqlite_engine(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    try:
        return create_engine(url, **kwargs)
    except ModuleNotFoundError as exc:
        raise InvalidInput(
            f"no driver for {parsed.drivername}: {exc.name} is not installed") from None
    except ArgumentError as exc:  # NoSuchModuleError: an unknown driver name
        raise InvalidInput(f"no driver for {parsed.drivername}: {exc}") from None


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "isolation_level": None}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        # WAL is a persistent property of the file: set it on a new or an annotate database
        # only, never on a foreign one we are about to refuse.
        cur.execute("SELECT count(*), count(CASE WHEN name = 'alembic_version' THEN 1 END) "
                    "FROM sqlite_master")
        tables, ours = cur.fetchone()
        if tables == 0 or ours:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Create the engine, check the database answers, and apply pending migrations.

    A database already at the head revision (read with one statement, the head from the
    migration files: :mod:`annotate.store.head`) is opened without importing alembic.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            at_head = _stored_revision(conn) == head_revision_of_files()
    except DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreUnavailable(f"cannot open database {_safe(url)}: {reason}") from None
    store = Store(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
    if at_head:
        return store
    try:
        check_ours(store, url)
        if migrate:
            upgrade(store)
    except BaseException:
        store.dispose()
        raise
    return store


_SQLITE_HAS_VERSION = ("SELECT count(*) FROM sqlite_master "
                       "WHERE type = 'table' AND name = 'alembic_version'")


def _stored_revision(conn: Connection) -> str | None:
    """The one revision in ``alembic_version``; None when there is no such table (a new or a
    foreign database) or it holds anything else (the full checks then decide)."""
    exists = (_SQLITE_HAS_VERSION if conn.dialect.name == "sqlite"
              else "SELECT to_regclass('alembic_version') IS NOT NULL")
    if not conn.exec_driver_sql(exists).scalar():
        return None
    rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    return str(rows[0][0]) if len(rows) == 1 else None


def check_ours(store: Store, url: str) -> None:
    """Refuse a database another program owns, or one migrated by a newer annotate."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        current = current_revision(store)
        tables = [t for t in table_names(store) if t != "alembic_version"]
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreUnavailable(f"cannot read database {_safe(url)}: {reason} (not an "
                               "annotate database, or damaged)") from None
    if current is None:
        if tables:
            raise StoreUnavailable(
                f"database {_safe(url)} has tables ({', '.join(tables[:3])}...) but no annotate "
                "revision: it belongs to another program; use a new or an annotate database")
        return
    try:
        ScriptDirectory.from_config(_alembic_config(store)).get_revision(current)
    except CommandError:
        raise StoreUnavailable(
            f"database {_safe(url)} is at revision {current}, newer than this annotate knows "
            f"({head_revision(store)}): upgrade annotate (pip install -U annotate-platform)"
        ) from None


def _safe(url: str) -> str:
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def _alembic_config(store: Store) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def current_revision(store: Store) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(store: Store) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(store)).get_current_head()


def upgrade(store: Store) -> bool:
    """Apply pending migrations; return True if anything was applied."""
    if current_revision(store) == head_revision(store):
        return False
    from alembic import command

    cfg = _alembic_config(store)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return True


def table_names(store: Store) -> list[str]:
    return sorted(inspect(store.engine).get_table_names())
