"""Group commit: shared transactions, per-caller domain errors, all-or-nothing batches."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Connection, text

from annotate.errors import BudgetExceeded
from annotate.llm.batch_writer import BatchWriter
from annotate.store.engine import Store


def _insert(name: str) -> Any:
    def op(conn: Connection) -> int:
        conn.execute(text("INSERT INTO projects (name, kind, schema, policy, description, "
                          "created_at) VALUES (:n, 'classification', '{}', '{}', '', "
                          "CURRENT_TIMESTAMP)"), {"n": name})
        return 1

    return op


def _names(store: Store) -> set[str]:
    with store.engine.begin() as conn:
        return {row[0] for row in conn.execute(text("SELECT name FROM projects"))}


def test_many_threads_share_transactions_and_each_sees_its_commit(store: Store) -> None:
    writer = BatchWriter(store.engine)
    seen: list[bool] = []

    def work(i: int) -> None:
        writer.run(_insert(f"p{i}"))
        seen.append(f"p{i}" in _names(store))  # committed by the time run() returns

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 20 and all(seen)
    assert _names(store) == {f"p{i}" for i in range(20)}


def test_a_domain_error_goes_to_its_caller_only(store: Store) -> None:
    writer = BatchWriter(store.engine)

    def refuse(conn: Connection) -> None:
        raise BudgetExceeded("no")

    with pytest.raises(BudgetExceeded):
        writer.run(refuse)
    assert writer.run(_insert("after")) == 1
    assert "after" in _names(store)


def test_a_database_error_fails_the_batch_and_writes_nothing(store: Store) -> None:
    writer = BatchWriter(store.engine)
    writer.run(_insert("dup"))

    def both(conn: Connection) -> None:
        _insert("fresh")(conn)
        _insert("dup")(conn)  # unique name: IntegrityError

    with pytest.raises(Exception, match="UNIQUE"):
        writer.run(both)
    assert "fresh" not in _names(store)
