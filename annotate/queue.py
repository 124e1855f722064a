"""The shared task queue: people and LLM role workers claim tasks with a lease.

- ``claim_next_task``: one atomic statement picks and leases the best pending task
  (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite ``UPDATE ... RETURNING`` under
  ``BEGIN IMMEDIATE``). A task whose lease expired is claimable again; each claim counts an
  attempt and a task that used up its attempts is marked failed with the reason.
- ``extend_lease`` keeps a long piece of work, ``release_task`` gives a task back (a skip is
  not a failed attempt), ``fail_task`` records a failed attempt (e.g. invalid LLM output).
- ``submit_annotation`` is idempotent: the annotation's idempotency key is the task, so a
  repeated submit returns the first annotation and never creates a second one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from annotate.errors import Conflict, NotFound
from annotate.projects import project_policy, project_schema
from annotate.routing import on_task_done
from annotate.schema import validate_value
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Project, Task, utcnow


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


def _claimable(now: datetime, worker_id: str, worker_kind: str, roles: Sequence[str] | None,
               project_id: int | None, exclude: Sequence[int]) -> Any:
    conds = [
        Task.worker_kind == worker_kind,
        or_(Task.status == "pending",
            and_(Task.status == "leased", Task.lease_expires_at < now)),
        Task.attempts < Task.max_attempts,
        or_(Task.assignee.is_(None), Task.assignee == worker_id),
    ]
    if roles:
        conds.append(Task.role.in_(list(roles)))
    if project_id is not None:
        conds.append(Task.project_id == project_id)
    if exclude:
        conds.append(Task.id.not_in(list(exclude)))
    if worker_kind == "human":  # one person never fills two slots of the same item
        other = aliased(Task)
        conds.append(~exists().where(other.item_id == Task.item_id, other.role == Task.role,
                                     other.lease_owner == worker_id, other.id != Task.id))
    return and_(*conds)


def expire_exhausted(session: Session, now: datetime, project_id: int | None = None) -> int:
    """Mark failed every task whose lease expired after its last allowed attempt."""
    conds = [Task.status == "leased", Task.lease_expires_at < now,
             Task.attempts >= Task.max_attempts]
    if project_id is not None:
        conds.append(Task.project_id == project_id)
    result = session.execute(
        update(Task).where(*conds).values(
            status="failed", updated_at=now,
            failure_reason=func.coalesce(Task.failure_reason, "lease expired on the last attempt"),
        ).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


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
    now = utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    with store.session() as session:
        expire_exhausted(session, now, project_id)
        pick = (
            select(Task.id)
            .where(_claimable(now, worker_id, worker_kind, roles, project_id, exclude))
            .order_by(Task.priority.desc(), Task.id)
            .limit(1)
        )
        if store.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            update(Task)
            .where(Task.id == pick.scalar_subquery())
            .values(status="leased", lease_owner=worker_id, lease_expires_at=expires,
                    attempts=Task.attempts + 1, updated_at=now)
            .returning(Task.id, Task.project_id, Task.item_id, Task.role, Task.worker_kind,
                       Task.attempts)
            .execution_options(synchronize_session=False)
        )
        row = session.execute(stmt).first()
        if row is None:
            return None
        return ClaimedTask(id=row.id, project_id=row.project_id, item_id=row.item_id,
                           role=row.role, worker_kind=row.worker_kind, lease_owner=worker_id,
                           lease_expires_at=expires, attempts=row.attempts)


def _owned_task(session: Session, task_id: int, worker_id: str, *, lock: bool = True) -> Task:
    stmt = select(Task).where(Task.id == task_id)
    if lock:
        stmt = stmt.with_for_update()
    task = session.scalar(stmt)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.status != "leased" or task.lease_owner != worker_id:
        raise Conflict(f"task {task_id} is not leased by {worker_id} (status {task.status})")
    return task


def extend_lease(store: Store, task_id: int, worker_id: str, seconds: int = 300) -> datetime:
    """Push the lease's expiry forward while the worker is still at it."""
    expires = utcnow() + timedelta(seconds=seconds)
    with store.session() as session:
        task = _owned_task(session, task_id, worker_id)
        task.lease_expires_at = expires
        task.updated_at = utcnow()
    return expires


def release_task(store: Store, task_id: int, worker_id: str) -> None:
    """Give the task back to the queue (a skip, or a worker shutting down); no attempt used."""
    with store.session() as session:
        task = _owned_task(session, task_id, worker_id)
        task.status = "pending"
        task.lease_owner = None
        task.lease_expires_at = None
        task.attempts = max(0, task.attempts - 1)
        task.updated_at = utcnow()


def fail_task(store: Store, task_id: int, worker_id: str, reason: str) -> str:
    """Record a failed attempt; the task returns to the queue or, out of attempts, fails."""
    with store.session() as session:
        task = _owned_task(session, task_id, worker_id)
        task.failure_reason = reason
        task.updated_at = utcnow()
        task.lease_expires_at = None
        if task.attempts >= task.max_attempts:
            task.status = "failed"
            task.failure_reason = f"{reason} (after {task.attempts} attempts)"
        else:
            task.status = "pending"
            task.lease_owner = None
        return task.status


def task_key(task_id: int, phase: str = "final") -> str:
    return f"task:{task_id}" if phase == "final" else f"task:{task_id}:{phase}"


def submit_annotation(
    store: Store,
    task_id: int,
    value: Any,
    provenance: Provenance,
    *,
    phase: str = "final",
) -> Annotation:
    """Store the answer to a leased task and complete it; a repeated submit is a no-op.

    ``phase="blind"`` stores a person's first answer in blind mode without completing the task.
    """
    key = task_key(task_id, phase)
    try:
        with store.session() as session:
            existing = session.scalar(select(Annotation).where(Annotation.idempotency_key == key))
            if existing is not None:
                return existing
            task = _owned_task(session, task_id, provenance.annotator_id)
            annotation = _insert_annotation(session, task, value, provenance, key, phase)
            if phase == "final":
                _complete(session, task, annotation)
            return annotation
    except IntegrityError:  # a concurrent identical submit won the race: return its result
        with store.session() as session:
            existing = session.scalar(select(Annotation).where(Annotation.idempotency_key == key))
            if existing is None:
                raise
            return existing


def _insert_annotation(session: Session, task: Task, value: Any, prov: Provenance, key: str,
                       phase: str) -> Annotation:
    project = session.get(Project, task.project_id)
    item = session.get(Item, task.item_id)
    assert project is not None and item is not None
    if task.role == "moderator" and isinstance(value, dict) and value.get("decision") == "none":
        clean: dict[str, Any] = {"decision": "none"}
    else:
        clean = validate_value(project_schema(project), value, item.text)
    annotation = Annotation(
        project_id=task.project_id, item_id=task.item_id, task_id=task.id,
        idempotency_key=key, role=task.role, value=clean, phase=phase,
        **_provenance_columns(prov),
    )
    session.add(annotation)
    session.flush()
    return annotation


def _provenance_columns(prov: Provenance) -> dict[str, Any]:
    return {
        "annotator_id": prov.annotator_id, "annotator_kind": prov.annotator_kind,
        "rationale": prov.rationale, "confidence": prov.confidence,
        "guideline_version": prov.guideline_version, "prompt_hash": prov.prompt_hash,
        "model": prov.model, "params": prov.params or {}, "cost_usd": prov.cost_usd,
        "latency_s": prov.latency_s, "human_seconds": prov.human_seconds,
        "suggestion_visible": prov.suggestion_visible, "suggestion_id": prov.suggestion_id,
        "source": prov.source, "meta": prov.meta or {},
    }


def _complete(session: Session, task: Task, annotation: Annotation | None) -> None:
    now = utcnow()
    task.status = "done"
    task.done_at = now
    task.updated_at = now
    task.lease_expires_at = None
    session.flush()
    project = session.get(Project, task.project_id)
    assert project is not None
    on_task_done(session, project, project_policy(project), task, annotation)


def complete_without_annotation(store: Store, task_id: int, worker_id: str) -> None:
    """Finish a task whose output is not an annotation (e.g. the Helper's suggestions)."""
    with store.session() as session:
        task = _owned_task(session, task_id, worker_id)
        _complete(session, task, None)


def queue_counts(session: Session, project_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Task.status, func.count()).where(Task.project_id == project_id)
        .group_by(Task.status)
    )
    return {status: int(n) for status, n in rows}
