"""The counts `annotate status` reads from ``project_counts`` (migration 0013), kept by
database triggers, equal the rows counted one by one after every kind of writer: imports
(fast and row path), the queue one task and a batch at a time, eight concurrent workers,
releases, failures and expiry, deleted items and projects; and the migration's backfill and
downgrade. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, inspect, select, text, update

from annotate.io.importing import import_file
from annotate.projects.policy import RoutingPolicy
from annotate.projects.status_queries import session_rows, status_counts
from annotate.queue.batch import claim_tasks, submit_annotations
from annotate.queue.leases import (
    Provenance,
    claim_next_task,
    expire_exhausted,
    fail_task,
    release_task,
    submit_annotation,
)
from annotate.store.engine import Store, _alembic_config
from annotate.store.models import Annotation, Item, Project, Task, utcnow
from tests.factories import make_project

TWO_LLMS = RoutingPolicy(human_annotations=0, llm_annotations=2)


def _kept(store: Store, pid: int) -> dict[str, Any]:
    """What `status` reads: the counters."""
    with store.session() as session:
        counts = status_counts(session_rows(session), pid)
    return {k: counts[k] for k in ("items", "tasks", "tasks_by_role", "annotations")}


def _counted(store: Store, pid: int) -> dict[str, Any]:
    """The same counted row by row, as `status` did before 0013."""
    with store.session() as s:
        items = s.scalar(select(func.count()).select_from(Item).where(Item.project_id == pid))
        tasks = s.execute(select(Task.role, Task.status, func.count()).where(
            Task.project_id == pid).group_by(Task.role, Task.status)).all()
        kinds = s.execute(select(Annotation.annotator_kind, func.count()).where(
            Annotation.project_id == pid).group_by(Annotation.annotator_kind)).all()
    by_state: dict[str, int] = {}
    by_role: dict[str, dict[str, int]] = {}
    for role, state, n in sorted(tasks):
        by_state[state] = by_state.get(state, 0) + n
        by_role.setdefault(role, {})[state] = n
    return {"items": items, "tasks": by_state, "tasks_by_role": by_role,
            "annotations": dict(sorted(kinds))}


def _same(store: Store, pid: int) -> dict[str, Any]:
    kept = _kept(store, pid)
    assert kept == _counted(store, pid)
    assert list(kept["tasks"]) == list(_counted(store, pid)["tasks"])  # the same order too
    return kept


def _rows(store: Store, pid: int | None = None) -> int:
    with store.session() as s:
        where = "" if pid is None else f" WHERE project_id = {int(pid)}"
        return int(s.execute(text(f"SELECT count(*) FROM project_counts{where}")).scalar_one())


@pytest.mark.parametrize("fast", [True, False])
def test_counts_follow_an_import(store: Store, tmp_path: Path, fast: bool) -> None:
    pid = make_project(store, 0, policy=TWO_LLMS)
    source = tmp_path / "items.csv"
    source.write_text("id,text\n" + "".join(f"x{n},text {n}\n" for n in range(300)))
    import_file(store, "p", source, fast=fast, batch_size=64)
    kept = _same(store, pid)
    assert kept["items"] == 300 and kept["tasks"] == {"pending": 600}


def _llm_answers(tasks: list[Any], worker: str) -> list[tuple[int, object, Provenance]]:
    return [(t.id, {"label": "a"}, Provenance(worker, "llm")) for t in tasks]


def test_counts_follow_the_queue(store: Store) -> None:
    pid = make_project(store, 40, policy=TWO_LLMS)
    other = make_project(store, 5, name="other")
    _same(store, pid)
    one = claim_next_task(store, "m1", worker_kind="llm", project_id=pid)
    assert one is not None
    assert _same(store, pid)["tasks"] == {"leased": 1, "pending": 79}
    submit_annotation(store, one.id, {"label": "a"}, Provenance("m1", "llm"))
    assert _same(store, pid)["annotations"] == {"llm": 1}
    batch = claim_tasks(store, "m2", 32, project_id=pid)
    submit_annotations(store, _llm_answers(batch[:30], "m2"), worker_id="m2")
    release_task(store, batch[30].id, "m2")
    fail_task(store, batch[31].id, "m2", "a timeout")
    _same(store, pid)
    gone = claim_next_task(store, "m3", worker_kind="llm", project_id=pid)
    assert gone is not None
    with store.session() as session:  # its lease ran out on its last attempt
        session.execute(update(Task).where(Task.id == gone.id).values(
            lease_expires_at=utcnow().replace(year=2000), max_attempts=1))
    with store.session() as session:
        assert expire_exhausted(session, utcnow(), pid) == 1
    kept = _same(store, pid)
    assert kept["tasks"]["failed"] == 1 and kept["tasks"]["done"] == 31
    assert _same(store, other) == {"items": 5, "tasks": {"pending": 5},
                                   "tasks_by_role": {"annotator": {"pending": 5}},
                                   "annotations": {}}


def test_counts_follow_eight_concurrent_workers(store: Store) -> None:
    pid = make_project(store, 120, policy=TWO_LLMS)
    errors: list[BaseException] = []

    def work(worker: str) -> None:
        try:
            while True:
                if worker.endswith(("0", "1")):  # two take one task at a time
                    task = claim_next_task(store, worker, worker_kind="llm", project_id=pid)
                    if task is None:
                        return
                    submit_annotation(store, task.id, {"label": "b"}, Provenance(worker, "llm"))
                    continue
                tasks = claim_tasks(store, worker, 4, project_id=pid)
                if not tasks:
                    return
                submit_annotations(store, _llm_answers(tasks, worker), worker_id=worker)
        except BaseException as error:  # shown by the assert below, in the test thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    kept = _same(store, pid)
    assert kept["annotations"] == {"llm": kept["tasks"]["done"]}  # routing may add some
    assert kept["tasks"]["done"] >= 240 and set(kept["tasks"]) <= {"done", "pending"}


def test_postgresql_folds_its_delta_rows(store: Store) -> None:
    pid = make_project(store, 150, policy=TWO_LLMS)
    for _ in range(300):  # a statement or two each, several delta rows apiece on PostgreSQL
        task = claim_next_task(store, "m", worker_kind="llm", project_id=pid)
        assert task is not None
        submit_annotation(store, task.id, {"label": "a"}, Provenance("m", "llm"))
    _same(store, pid)
    assert _rows(store, pid) < 300  # unfolded, more than 900; SQLite keeps one row a key
    if store.dialect == "sqlite":
        assert _rows(store, pid) <= 5  # items, LLM answers, tasks pending, leased, done


def test_counts_follow_deleted_items_and_projects(store: Store) -> None:
    pid = make_project(store, 20, policy=TWO_LLMS)
    other = make_project(store, 3, name="other")
    batch = claim_tasks(store, "m", 10, project_id=pid)
    submit_annotations(store, _llm_answers(batch, "m"), worker_id="m")
    with store.session() as session:  # the cascade takes the item's tasks and answers along
        first = session.scalars(select(Item.id).where(Item.project_id == pid)
                                .order_by(Item.id).limit(3)).all()
        session.execute(delete(Item).where(Item.id.in_(first)))
    kept = _same(store, pid)
    assert kept["items"] == 17
    with store.session() as session:
        session.execute(delete(Project).where(Project.id == pid))
    assert _rows(store, pid) == 0
    assert _same(store, other)["items"] == 3


def test_the_migration_counts_what_is_there_and_goes_back(store: Store) -> None:
    from alembic import command

    cfg = _alembic_config(store)
    pid = make_project(store, 30, policy=TWO_LLMS)
    batch = claim_tasks(store, "m", 8, project_id=pid)
    submit_annotations(store, _llm_answers(batch, "m"), worker_id="m")
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    assert "project_counts" not in inspect(store.engine).get_table_names()
    other = make_project(store, 12, policy=TWO_LLMS, name="other")  # no trigger left to trip over
    claim_tasks(store, "m", 5, project_id=other)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert _same(store, pid)["annotations"] == {"llm": 8}
    assert _same(store, other)["tasks"] == {"leased": 5, "pending": 19}
    submit_annotations(store, _llm_answers(claim_tasks(store, "m", 3, project_id=other), "m"),
                       worker_id="m")  # and the triggers keep them from there
    assert _same(store, other)["tasks"] == {"done": 3, "leased": 5, "pending": 16}


@pytest.mark.parametrize("fast", [True, False])
def test_bulk_inserts_of_several_statements_keep_every_row_in_order(
        store: Store, tmp_path: Path, fast: bool) -> None:
    """SQLite's bulk insert goes 500 rows a statement (annotate/store/bulk.py): 1,234 items in
    one batch are three statements, the last a short one; every item, in file order, counted."""
    pid = make_project(store, 0, policy=TWO_LLMS)
    source = tmp_path / "items.csv"
    source.write_text("id,text\n" + "".join(f"x{n},text {n}\n" for n in range(1234)))
    import_file(store, "p", source, fast=fast, batch_size=5000)
    with store.session() as s:
        stored = s.execute(select(Item.external_id, Item.text).where(Item.project_id == pid)
                           .order_by(Item.id)).all()
    assert stored == [(f"x{n}", f"text {n}") for n in range(1234)]
    kept = _same(store, pid)
    assert kept["items"] == 1234 and kept["tasks"] == {"pending": 2468}
