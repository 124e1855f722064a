"""Batched leases for machine workers: ``claim_tasks`` leases up to N tasks in one statement
and ``submit_annotations`` stores their answers in one transaction, with the guarantees of
the single-task queue (:mod:`annotate.queue.leases`): each task is still leased, counted,
idempotent and routed on its own.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, TextClause, bindparam, insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotate.errors import Conflict, InvalidInput, NotFound
from annotate.kinds.schema import LabelSchema
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import (
    _ANNOTATIONS,
    ClaimedTask,
    Provenance,
    _claimable,
    _complete_sql,
    _prepare_answer,
    _submit_select,
    expire_exhausted,
    submit_annotation,
)
from annotate.queue.routing import Done, on_tasks_done
from annotate.store.engine import Store
from annotate.store.models import Annotation, Task, utcnow


@functools.lru_cache(maxsize=32)
def _claim_batch_sql(dialect: str, by_roles: bool, by_project: bool) -> TextClause:
    """Lease up to ``:n`` machine tasks in one statement (built once per shape)."""
    conds = _claimable(by_roles, by_project)
    pick = ("SELECT t.id FROM tasks t WHERE " + " AND ".join(conds)
            + " ORDER BY t.priority DESC, t.id LIMIT :n")
    sets = ("status = 'leased', lease_owner = :worker, lease_expires_at = :expires, "
            "attempts = tasks.attempts + 1, updated_at = :now")
    returning = ("tasks.id, tasks.project_id, tasks.item_id, tasks.role, tasks.worker_kind, "
                 "tasks.attempts, tasks.priority")
    if dialect == "postgresql":
        # The locking CTE runs once: `id IN (subquery ... SKIP LOCKED)` may be re-run by the
        # planner and lease more than :n rows.
        sql = (f"WITH picked AS ({pick} FOR UPDATE SKIP LOCKED) UPDATE tasks SET {sets} "
               f"FROM picked WHERE tasks.id = picked.id RETURNING {returning}")
    else:  # under BEGIN IMMEDIATE nobody else writes between the pick and the update
        sql = (f"UPDATE tasks SET {sets} WHERE id IN ({pick}) RETURNING "
               + returning.replace("tasks.", ""))
    stmt = text(sql)
    if by_roles:
        stmt = stmt.bindparams(bindparam("roles", expanding=True))
    return stmt


def claim_tasks(
    store: Store,
    worker_id: str,
    n: int,
    *,
    worker_kind: str = "llm",
    roles: Sequence[str] | None = None,
    project_id: int | None = None,
    lease_seconds: int = 300,
) -> list[ClaimedTask]:
    """Lease up to ``n`` of the highest-priority claimable tasks in one statement (machine
    workers only: a person takes one task at a time, never two slots of one item); an empty
    list when there is none. Each task counts an attempt, as :func:`claim_next_task` does."""
    if worker_kind == "human":
        raise ValueError("claim_tasks is for machine workers; people claim one task at a time")
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    now = utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    stmt = _claim_batch_sql(store.dialect, bool(roles), project_id is not None)
    params: dict[str, Any] = {"kind": worker_kind, "now": now, "worker": worker_id,
                              "expires": expires, "roles": list(roles or []),
                              "project": project_id, "n": n}
    with store.engine.begin() as conn:
        rows = conn.execute(stmt, params).all()
        if not rows:
            with Session(bind=conn) as session:
                expire_exhausted(session, now, project_id)
            return []
    return [ClaimedTask(id=r.id, project_id=r.project_id, item_id=r.item_id, role=r.role,
                        worker_kind=r.worker_kind, lease_owner=worker_id,
                        lease_expires_at=expires, attempts=r.attempts)
            for r in sorted(rows, key=lambda r: (-r.priority, r.id))]


@dataclass
class BatchSubmit:
    """What :func:`submit_annotations` did with each answer, by task id."""

    stored: dict[int, int] = field(default_factory=dict)  # annotation id (a repeat: the first)
    conflicts: dict[int, str] = field(default_factory=dict)  # lease lost: nothing stored
    invalid: dict[int, str] = field(default_factory=dict)  # value refused: task untouched


def submit_annotations(store: Store, answers: Sequence[tuple[int, Any, Provenance]], *,
                       worker_id: str) -> BatchSubmit:
    """Store the final answers to tasks ``worker_id`` leased, in one transaction, with what
    :func:`submit_annotation` guarantees for each: idempotent per task, a lost lease or an
    invalid value reported for its task without stopping the others.

    One read of the tasks, then the annotations inserted and the tasks completed in bulk and
    routing asked per task, in the given order. Two answers on one item go in successive
    rounds, so routing sees the first before the second is stored, as one-by-one submits do.
    """
    try:
        with store.session() as session:
            return _submit_batch(session, store.dialect, answers, worker_id)
    except IntegrityError:  # a concurrent identical submit won a race: each on its own
        return _submit_one_by_one(store, answers, worker_id)


def _submit_batch(session: Session, dialect: str,
                  answers: Sequence[tuple[int, Any, Provenance]], worker_id: str) -> BatchSubmit:
    ids = sorted({task_id for task_id, _, _ in answers})
    rows = {row.id: row for row in session.execute(_submit_rows_sql(dialect), {"ids": ids})}
    result = BatchSubmit()
    parsed: dict[int, tuple[LabelSchema, RoutingPolicy]] = {}
    rounds: list[list[tuple[int, dict[str, Any], Done]]] = []
    seen_items: dict[int, int] = {}
    for task_id, value, provenance in answers:
        if task_id not in rows:
            raise NotFound(f"no task {task_id}")
        row = rows[task_id]
        try:
            prepared = _prepare_answer(session, row, value, provenance, "final", worker_id,
                                       parsed)
        except Conflict as exc:
            result.conflicts[task_id] = str(exc)
            continue
        except InvalidInput as exc:
            result.invalid[task_id] = str(exc)
            continue
        if isinstance(prepared, Annotation):
            result.stored[task_id] = prepared.id
            continue
        cols, done = prepared
        assert done is not None
        turn = seen_items[row.item_id] = seen_items.get(row.item_id, -1) + 1
        if turn == len(rounds):
            rounds.append([])
        rounds[turn].append((row.project_id, cols, done))
    for answers_of_round in rounds:
        new_ids = session.execute(_insert_annotations_sql(),
                                  [cols for _, cols, _ in answers_of_round]).scalars().all()
        now = utcnow()
        session.execute(_complete_sql(), [{"task_id": cols["task_id"], "now": now}
                                          for _, cols, _ in answers_of_round])
        by_project: dict[int, list[Done]] = {}
        for (project_id, cols, done), new_id in zip(answers_of_round, new_ids, strict=True):
            result.stored[cols["task_id"]] = new_id
            by_project.setdefault(project_id, []).append(done)
        for project_id, dones in by_project.items():  # one item appears once per round
            on_tasks_done(session, dones, parsed[project_id][1])
    return result


def _submit_one_by_one(store: Store, answers: Sequence[tuple[int, Any, Provenance]],
                       worker_id: str) -> BatchSubmit:
    result = BatchSubmit()
    for task_id, value, provenance in answers:
        try:
            result.stored[task_id] = submit_annotation(store, task_id, value, provenance,
                                                       worker_id=worker_id).id
        except Conflict as exc:
            result.conflicts[task_id] = str(exc)
        except InvalidInput as exc:
            result.invalid[task_id] = str(exc)
    return result


@functools.lru_cache(maxsize=4)
def _submit_rows_sql(dialect: str) -> Select[Any]:
    stmt = _submit_select().where(Task.id.in_(bindparam("ids", expanding=True)))
    return stmt.with_for_update(of=Task) if dialect == "postgresql" else stmt


@functools.lru_cache(maxsize=1)
def _insert_annotations_sql() -> Any:
    """Many rows, their ids returned in the rows' order (SQLAlchemy's insertmanyvalues)."""
    return insert(_ANNOTATIONS).returning(_ANNOTATIONS.c.id, sort_by_parameter_order=True)
