"""The shared task queue: people and LLM role workers claim tasks with a lease.

- ``claim_next_task``: one atomic statement picks and leases the best pending task
  (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite ``UPDATE ... RETURNING`` under
  ``BEGIN IMMEDIATE``). A task whose lease expired is claimable again; each claim counts an
  attempt and a task that used up its attempts is marked failed with the reason.
- ``extend_lease``, ``release_task``, ``fail_task`` and ``expire_exhausted`` (a lease that
  ends without an answer) are in :mod:`annotate.queue.lease_expiry`, and importable here.
- ``submit_annotation`` is idempotent: the annotation's idempotency key is the task, so a
  repeated submit returns the first annotation and never creates a second one.
- Machine workers may batch: :mod:`annotate.queue.batch` (``claim_tasks``,
  ``submit_annotations``) gives the same guarantees N tasks at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, Table, TextClause, bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotate.errors import Conflict, NotFound
from annotate.kinds.schema import LabelSchema, validate_value
from annotate.projects.catalog import project_policy
from annotate.projects.policy import RoutingPolicy
from annotate.queue.lease_expiry import (
    _owned_task,
    expire_exhausted,
    extend_lease,
    fail_task,
    release_task,
)
from annotate.queue.routing import Done, on_task_done
from annotate.queue.wants import NO_DECISION, is_no_decision
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Project, Suggestion, Task, utcnow

# The lease's other ends are re-exported from here, where callers have always found them.
__all__ = ["ClaimedTask", "Provenance", "claim_next_task", "claim_task", "expire_exhausted",
           "extend_lease", "fail_task", "release_task", "submit_annotation", "submit_suggestion",
           "task_key"]

_ANNOTATIONS = cast(Table, Annotation.__table__)
_TASKS = cast(Table, Task.__table__)


@dataclass(frozen=True)
class ClaimedTask:
    id: int
    project_id: int
    item_id: int
    role: str
    worker_kind: str
    lease_owner: str
    lease_expires_at: datetime
    attempts: int


@dataclass
class Provenance:
    """Who made an answer and how: stored on the annotation."""

    annotator_id: str
    annotator_kind: str = "human"
    rationale: str | None = None
    confidence: float | None = None
    guideline_version: str | None = None
    prompt_hash: str | None = None
    model: str | None = None
    params: dict[str, Any] | None = None
    cost_usd: float = 0.0
    latency_s: float | None = None
    human_seconds: float | None = None
    suggestion_visible: bool = False
    suggestion_id: int | None = None
    source: str = "queue"
    meta: dict[str, Any] | None = None
    confidence_estimator: str | None = None  # how ``confidence`` was made (LLM answers)
    confidence_raw: float | None = None  # the estimator's signal before calibration


def _claimable(by_roles: bool, by_project: bool) -> list[str]:
    """The conditions a task must meet to be claimed, for the single and the batched claim."""
    conds = [
        "t.worker_kind = :kind",
        "t.status IN ('pending', 'leased')",  # implies the open-task partial indexes' WHERE
        "(t.status = 'pending' OR (t.status = 'leased' AND t.lease_expires_at < :now))",
        "t.attempts < t.max_attempts",
        "(t.assignee IS NULL OR t.assignee = :worker)",
    ]
    if by_roles:
        conds.append("t.role IN :roles")
    if by_project:
        conds.append("t.project_id = :project")
    return conds


def _claim_params(worker_id: str, worker_kind: str, roles: Sequence[str] | None,
                  project_id: int | None, lease_seconds: int) -> dict[str, Any]:
    """The values bound to a claim statement, single or batched (:func:`_claimable`'s
    conditions and the lease it sets): who claims what kind of task, now, and until when."""
    now = utcnow()
    return {"kind": worker_kind, "now": now, "worker": worker_id,
            "expires": now + timedelta(seconds=lease_seconds), "roles": list(roles or []),
            "project": project_id}


@functools.lru_cache(maxsize=64)
def _claim_sql(dialect: str, human: bool, by_roles: bool, by_project: bool,
               excluding: bool) -> TextClause:
    """The one atomic claim statement, built once per shape and reused (the hot path)."""
    conds = _claimable(by_roles, by_project)
    if excluding:
        conds.append("t.id NOT IN :exclude")
    if human:  # one person never fills two slots of the same item
        conds.append("NOT EXISTS (SELECT 1 FROM tasks o WHERE o.item_id = t.item_id "
                     "AND o.role = t.role AND o.lease_owner = :worker AND o.id <> t.id)")
    lock = " FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    sql = (
        "UPDATE tasks SET status = 'leased', lease_owner = :worker, lease_expires_at = :expires,"
        " attempts = attempts + 1, updated_at = :now WHERE id = (SELECT t.id FROM tasks t WHERE "
        + " AND ".join(conds)
        + f" ORDER BY t.priority DESC, t.id LIMIT 1{lock})"
        " RETURNING id, project_id, item_id, role, worker_kind, attempts"
    )
    stmt = text(sql)
    if by_roles:
        stmt = stmt.bindparams(bindparam("roles", expanding=True))
    if excluding:
        stmt = stmt.bindparams(bindparam("exclude", expanding=True))
    return stmt


def claim_next_task(
    store: Store,
    worker_id: str,
    *,
    worker_kind: str = "human",
    roles: Sequence[str] | None = None,
    project_id: int | None = None,
    lease_seconds: int = 300,
    exclude: Sequence[int] = (),
) -> ClaimedTask | None:
    """Lease the highest-priority claimable task, or return None when there is none."""
    stmt = _claim_sql(store.dialect, worker_kind == "human", bool(roles), project_id is not None,
                      bool(exclude))
    params = _claim_params(worker_id, worker_kind, roles, project_id, lease_seconds)
    params["exclude"] = list(exclude)
    now, expires = params["now"], params["expires"]
    with store.engine.begin() as conn:
        row = conn.execute(stmt, params).first()
        if row is None:
            # Nothing claimable: tasks that expired on their last attempt are failed now, so
            # status reports show them (they are never claimable, so the hot path skips this).
            with Session(bind=conn) as session:
                expire_exhausted(session, now, project_id)
            return None
        return ClaimedTask(id=row.id, project_id=row.project_id, item_id=row.item_id,
                           role=row.role, worker_kind=row.worker_kind, lease_owner=worker_id,
                           lease_expires_at=expires, attempts=row.attempts)


def claim_task(store: Store, task_id: int, worker_id: str, *,
               lease_seconds: int = 300) -> ClaimedTask | None:
    """Lease one given task if it is claimable now (a person picking an item, or a replay
    driving simulated people); None when someone else holds it or it is finished."""
    now = utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    with store.session() as session:
        stmt = select(Task).where(Task.id == task_id)
        task = session.scalar(stmt.with_for_update())
        if task is None:
            raise NotFound(f"no task {task_id}")
        claimable = (task.status == "pending" or (
            task.status == "leased" and task.lease_expires_at is not None
            and task.lease_expires_at < now))
        if not claimable or task.attempts >= task.max_attempts or (
                task.assignee is not None and task.assignee != worker_id):
            return None
        task.status, task.lease_owner, task.lease_expires_at = "leased", worker_id, expires
        task.attempts += 1
        task.updated_at = now
        return ClaimedTask(id=task.id, project_id=task.project_id, item_id=task.item_id,
                           role=task.role, worker_kind=task.worker_kind, lease_owner=worker_id,
                           lease_expires_at=expires, attempts=task.attempts)


def task_key(task_id: int, phase: str = "final") -> str:
    return f"task:{task_id}" if phase == "final" else f"task:{task_id}:{phase}"


def submit_annotation(
    store: Store,
    task_id: int,
    value: Any,
    provenance: Provenance,
    *,
    phase: str = "final",
    worker_id: str | None = None,
) -> Annotation:
    """Store the answer to a leased task and complete it; a repeated submit is a no-op.

    The lease must be held by ``worker_id`` (default: the annotator id; an LLM worker leases
    as itself and records the model as the annotator).
    ``phase="blind"`` stores a person's first answer in blind mode without completing the task.
    The hot path is a handful of Core statements in one transaction; the returned annotation
    is a detached record of what was stored.
    """
    key = task_key(task_id, phase)
    try:
        with store.session() as session:
            row = session.execute(_submit_row_sql(store.dialect), {"task_id": task_id}).first()
            if row is None:
                raise NotFound(f"no task {task_id}")
            return _store_answer(session, row, value, provenance, phase,
                                 worker_id or provenance.annotator_id, {})
    except IntegrityError:  # a concurrent identical submit won the race: return its result
        with store.session() as session:
            existing = _by_key(session, key)
            if existing is None:
                raise
            return existing


def _store_answer(session: Session, row: Any, value: Any, provenance: Provenance, phase: str,
                  owner: str, parsed: dict[int, tuple[LabelSchema, RoutingPolicy]]
                  ) -> Annotation:
    """Store one answer to the task of ``row`` (a :func:`_submit_row_sql` row) and complete
    the task; the first annotation when it was stored already."""
    prepared = _prepare_answer(session, row, value, provenance, phase, owner, parsed)
    if isinstance(prepared, Annotation):
        return prepared
    cols, done = prepared
    new_id = session.execute(_insert_annotation_sql(), cols).scalar_one()
    if done is not None:
        _complete(session, row.id, done, parsed[row.project_id][1])
    return Annotation(id=new_id, **cols)


def _prepare_answer(session: Session, row: Any, value: Any, provenance: Provenance, phase: str,
                    owner: str, parsed: dict[int, tuple[LabelSchema, RoutingPolicy]]
                    ) -> Annotation | tuple[dict[str, Any], Done | None]:
    """The stored annotation of a repeated submit, or the annotation's columns and (for a
    final answer) what completing the task tells routing. Raises :class:`Conflict` for a
    lease not held by ``owner``, :class:`InvalidInput` for a value the schema refuses.
    ``parsed`` caches each project's schema and policy across the answers of a transaction."""
    key = task_key(row.id, phase)
    if row.status == "done" or phase != "final":
        existing = _by_key(session, key)
        if existing is not None:
            return existing
    if row.status != "leased" or row.lease_owner != owner:
        raise Conflict(f"task {row.id} is not leased by {owner} (status {row.status})")
    if row.project_id not in parsed:
        parsed[row.project_id] = (LabelSchema.model_validate(row.schema),
                                  RoutingPolicy.model_validate(row.policy))
    clean = _clean_value(parsed[row.project_id][0], row.role, value, row.text)
    cols = {"project_id": row.project_id, "item_id": row.item_id, "task_id": row.id,
            "idempotency_key": key, "role": row.role, "value": clean, "phase": phase,
            "created_at": utcnow(), **_provenance_columns(provenance)}
    done = None if phase != "final" else Done(
        project_id=row.project_id, kind=row.kind, item_id=row.item_id, role=row.role,
        value=clean, confidence=provenance.confidence, worker_kind=row.worker_kind)
    return cols, done


@functools.lru_cache(maxsize=4)
def _submit_row_sql(dialect: str) -> Select[Any]:
    stmt = _submit_select().where(Task.id == bindparam("task_id"))
    return stmt.with_for_update(of=Task) if dialect == "postgresql" else stmt


def _submit_select() -> Select[Any]:
    return (
        select(Task.id, Task.project_id, Task.item_id, Task.role, Task.worker_kind, Task.status,
               Task.lease_owner,
               Item.text, Project.kind, Project.schema_json.label("schema"),
               Project.policy_json.label("policy"))
        .join(Item, Item.id == Task.item_id)
        .join(Project, Project.id == Task.project_id)
    )


def _by_key(session: Session, key: str) -> Annotation | None:
    return session.scalar(select(Annotation).where(Annotation.idempotency_key == key))


def _clean_value(schema: LabelSchema, role: str, value: Any, item_text: str) -> dict[str, Any]:
    if is_no_decision(role, value):
        return dict(NO_DECISION)
    return validate_value(schema, value, item_text)


def _provenance_columns(prov: Provenance) -> dict[str, Any]:
    return {
        "annotator_id": prov.annotator_id, "annotator_kind": prov.annotator_kind,
        "rationale": prov.rationale, "confidence": prov.confidence,
        "guideline_version": prov.guideline_version, "prompt_hash": prov.prompt_hash,
        "model": prov.model, "params": prov.params or {}, "cost_usd": prov.cost_usd,
        "latency_s": prov.latency_s, "human_seconds": prov.human_seconds,
        "suggestion_visible": prov.suggestion_visible, "suggestion_id": prov.suggestion_id,
        "source": prov.source, "meta": prov.meta or {},
        "confidence_estimator": prov.confidence_estimator, "confidence_raw": prov.confidence_raw,
    }


def _complete(session: Session, task_id: int, done: Done, policy: RoutingPolicy) -> None:
    now = utcnow()
    session.execute(_complete_sql(), {"task_id": task_id, "now": now})
    on_task_done(session, done, policy)


# The hot path's statements are built once: building SQLAlchemy constructs per call costs
# more than the database round trips (measured with cProfile on benchmarks/queue.py).
@functools.lru_cache(maxsize=1)
def _insert_annotation_sql() -> Any:
    return insert(_ANNOTATIONS).returning(_ANNOTATIONS.c.id)


@functools.lru_cache(maxsize=1)
def _complete_sql() -> Any:
    return (update(_TASKS).where(_TASKS.c.id == bindparam("task_id"))
            .values(status="done", done_at=bindparam("now"), updated_at=bindparam("now"),
                    lease_expires_at=None))


def submit_suggestion(store: Store, task_id: int, worker_id: str,
                      candidates: list[dict[str, Any]], *, model: str | None = None,
                      guideline_version: str | None = None,
                      prompt_hash: str | None = None,
                      stats: dict[str, Any] | None = None) -> int:
    """Store the Helper's candidates (and how it got them, ``stats``) for the task's item and
    complete the task (idempotent: one suggestion per task)."""
    with store.session() as session:
        existing = session.scalar(select(Suggestion.id).where(Suggestion.task_id == task_id))
        if existing is not None:
            return existing
        task = _owned_task(session, task_id, worker_id)
        project = session.get(Project, task.project_id)
        assert project is not None
        suggestion = Suggestion(project_id=task.project_id, item_id=task.item_id,
                                task_id=task_id, candidates=candidates, model=model,
                                guideline_version=guideline_version, prompt_hash=prompt_hash,
                                stats=stats)
        session.add(suggestion)
        session.flush()
        done = Done(project_id=project.id, kind=project.kind, item_id=task.item_id,
                    role=task.role, value=None, confidence=None)
        _complete(session, task.id, done, project_policy(project))
        return suggestion.id

