"""Fast multi-row inserts for imports: ``COPY`` on PostgreSQL, DB-API executemany on SQLite.

SQLAlchemy's executemany spends most of its time building parameters row by row; here each
value goes through its column type's own bind processor (so JSON and datetimes are stored
exactly as the ORM stores them) and the rows go straight to the driver. Other dialects fall
back to a Core ``INSERT``. Everything runs on the session's connection, in its transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import JSON, Table, insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

Row = Sequence[Any]
Processor = Callable[[Any], Any]


def bulk_insert(session: Session, table: Table, columns: Sequence[str],
                rows: Sequence[Row]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``."""
    if not rows:
        return
    conn = session.connection()
    name = conn.dialect.name
    if name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy(conn, table, columns, rows)
    elif name == "sqlite":
        _executemany(conn, table, columns, rows)
    else:
        session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _processors(dialect: Dialect, table: Table, columns: Sequence[str]) -> list[Processor | None]:
    types = [table.c[name].type.dialect_impl(dialect) for name in columns]
    return [_memoised(t.bind_processor(dialect)) for t in types]


def _memoised(process: Processor | None) -> Processor | None:
    """``process`` that reuses its answer for the same object (a batch's shared time) and
    for empty dicts (most items' data and meta)."""
    if process is None:
        return None
    last: list[Any] = [object(), None]
    empty = process({}) if _accepts_dict(process) else None

    def run(value: Any) -> Any:
        if value is last[0]:
            return last[1]
        if value is None:
            return None
        if empty is not None and type(value) is dict and not value:
            return empty
        last[0], last[1] = value, process(value)
        return last[1]

    return run


def _accepts_dict(process: Processor) -> bool:
    try:
        process({})
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def _converted(rows: Sequence[Row], processors: list[Processor | None]) -> list[tuple[Any, ...]]:
    active = [(i, p) for i, p in enumerate(processors) if p is not None]
    if not active:
        return [tuple(row) for row in rows]
    out = []
    for row in rows:
        values = list(row)
        for i, process in active:
            values[i] = process(values[i])
        out.append(tuple(values))
    return out


ROWS_PER_STATEMENT = 500


def _executemany(conn: Connection, table: Table, columns: Sequence[str],
                 rows: Sequence[Row]) -> None:
    """Multi-row ``INSERT``s of up to :data:`ROWS_PER_STATEMENT` rows (within SQLite's limit
    on bound variables), not one statement per row: every statement that fires the count
    triggers (migration 0013) opens and closes a statement journal, which per row doubled an
    import's inserts; per 500 rows it is less than executemany cost without triggers."""
    params = _converted(rows, _processors(conn.dialect, table, columns))
    marks = "(" + ", ".join("?" for _ in columns) + ")"
    head = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES '
    per = max(1, min(ROWS_PER_STATEMENT, _max_variables(conn) // len(columns)))
    full = head + ", ".join([marks] * per)
    for start in range(0, len(params), per):
        chunk = params[start:start + per]
        sql = full if len(chunk) == per else head + ", ".join([marks] * len(chunk))
        conn.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))


def _max_variables(conn: Connection) -> int:
    driver = conn.connection.driver_connection
    getlimit = getattr(driver, "getlimit", None)  # Python 3.11+
    if getlimit is None:
        return 999  # the oldest SQLite's limit
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


def _copy_processors(dialect: Dialect, table: Table, columns: Sequence[str]
                     ) -> list[Processor | None]:
    """:func:`_processors`, but a JSON value goes to ``COPY`` as its text, made by the
    dialect's serializer as psycopg would: the bind processor wraps it in ``psycopg.Json``,
    which psycopg serializes again for every row (the same empty dict 100,000 times was a
    third of an import's time on PostgreSQL)."""
    serialize: Processor = getattr(dialect, "_json_serializer", None) or json.dumps
    return [_memoised(serialize) if isinstance(table.c[name].type, JSON) else process
            for name, process in zip(columns, _processors(dialect, table, columns), strict=True)]


def _copy(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
    params = _converted(rows, _copy_processors(conn.dialect, table, columns))
    driver_conn = conn.connection.driver_connection
    assert driver_conn is not None
    sql = f'COPY "{table.name}" ({", ".join(columns)}) FROM STDIN'
    with driver_conn.cursor() as cursor, cursor.copy(sql) as copy:
        for row in params:
            copy.write_row(row)
