"""Database URLs and connection settings, importable without SQLAlchemy.

The store's engine (:mod:`annotate.store.engine`) and ``status --json``'s quick path
(:mod:`annotate.cli.status_json`, which answers before SQLAlchemy is imported) read the same
URL the same way and wait as long for a lock or a server: one definition for both.
"""

from __future__ import annotations

from pathlib import Path

from annotate.errors import InvalidInput

SQLITE_BUSY_TIMEOUT_MS = 30_000  # how long a statement waits for another writer's lock
PG_CONNECT_TIMEOUT_S = 5
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and a bare file path as well as full SQLAlchemy URLs.

    A bare path must be an existing file or end in .db, .sqlite or .sqlite3, so that a typo
    (``--db garbage``) is an error instead of a new, empty database named after it.
    """
    if "://" not in url:
        if not url.strip() or not (Path(url).is_file() or url.endswith(SQLITE_SUFFIXES)):
            raise InvalidInput(
                f"--db {url!r} is neither a database URL nor a .db file; use "
                "sqlite:///FILE.db or postgresql+psycopg://USER@HOST/DB")
        return f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url
