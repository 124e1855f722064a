"""How a lease ends without an answer, beside the claim (:mod:`annotate.queue.leases`):

- ``extend_lease`` keeps a long piece of work (the worker's heartbeat calls it);
- ``release_task`` gives a task back (a skip, or a worker stopping: not a failed attempt);
- ``fail_task`` records a failed attempt (e.g. invalid LLM output): the task returns to the
  queue or, out of attempts, fails;
- ``expire_exhausted`` fails the tasks whose lease expired on their last allowed attempt (a
  claim that finds nothing calls it, so status reports show them).

A first-pass LLM task that fails for good hands its item to people (LLM first).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from annotate.errors import Conflict, NotFound
from annotate.projects.catalog import project_policy
from annotate.queue.routing import after_llm_first
from annotate.queue.wants import Stage, registered_roles
from annotate.store.engine import Store
from annotate.store.models import Project, Task, utcnow


def expire_exhausted(session: Session, now: datetime, project_id: int | None = None) -> int:
    """Mark failed every task whose lease expired after its last allowed attempt."""
    conds = [Task.status == "leased", Task.lease_expires_at < now,
             Task.attempts >= Task.max_attempts]
    if project_id is not None:
        conds.append(Task.project_id == project_id)
    expired = session.scalars(select(Task.id).where(*conds)).all()
    if not expired:
        return 0
    session.execute(
        update(Task).where(Task.id.in_(expired)).values(
            status="failed", updated_at=now,
            failure_reason=func.coalesce(Task.failure_reason, "lease expired on the last attempt"),
        ).execution_options(synchronize_session=False)
    )
    session.flush()
    first_pass = [name for name, _ in registered_roles().at(Stage.FIRST_PASS)]
    for task in session.scalars(select(Task).where(Task.id.in_(expired),
                                                   Task.role.in_(first_pass),
                                                   Task.worker_kind == "llm")):
        _after_failure(session, task)
    return len(expired)


def _owned_task(session: Session, task_id: int, worker_id: str, *, lock: bool = True) -> Task:
    stmt = select(Task).where(Task.id == task_id)
    if lock:
        stmt = stmt.with_for_update()
    task = session.scalar(stmt)
    if task is None:
        raise NotFound(f"no task {task_id}")
    _check_owner(task, worker_id)
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
            _after_failure(session, task)
        else:
            task.status = "pending"
            task.lease_owner = None
        return task.status


def _after_failure(session: Session, task: Task) -> None:
    """A first-pass LLM task (the annotator's) that failed for good hands its item to people
    (LLM first)."""
    if task.worker_kind != "llm" or registered_roles().stage_of(task.role) is not Stage.FIRST_PASS:
        return
    project = session.get(Project, task.project_id)
    assert project is not None
    policy = project_policy(project)
    if policy.llm_first:
        session.flush()
        after_llm_first(session, project.id, project.kind, policy, task.item_id)


def _check_owner(task: Task, worker_id: str) -> None:
    if task.status != "leased" or task.lease_owner != worker_id:
        raise Conflict(f"task {task.id} is not leased by {worker_id} (status {task.status})")
