"""Where a person stands in a project, and what the project's queue holds: the items left
for the person and for everyone, the person's answers today and in all, their pace (median
seconds an item), and for owners what waits for whom and who holds leases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from annotate.services.workspace import WORK_ROLES
from annotate.store.models import Annotation, Task, utcnow

PACE_WINDOW = 50  # the person's latest answers the pace is the median of


@dataclass(frozen=True)
class Progress:
    """Where a person stands in a project: items left for them and for everyone, their
    answers today and in all, and their pace (median seconds over their latest answers)."""

    left_for_me: int
    left_overall: int
    done_today: int
    done_total: int
    median_seconds: float | None

    @property
    def minutes_left(self) -> float | None:
        """At this pace, the minutes the items left for the person take."""
        if self.median_seconds is None:
            return None
        return self.left_for_me * self.median_seconds / 60


def _open_human_tasks(project_id: int) -> Any:
    return select(Task.item_id).where(
        Task.project_id == project_id, Task.role.in_(WORK_ROLES), Task.worker_kind == "human",
        Task.status.in_(("pending", "leased")))


@dataclass(frozen=True)
class ItemsLeft:
    for_me: int
    overall: int


@dataclass(frozen=True)
class MyAnswers:
    today: int
    total: int
    median_seconds: float | None


def _mine(person: str, project_id: int) -> tuple[Any, ...]:
    return (Annotation.project_id == project_id, Annotation.annotator_id == person,
            Annotation.annotator_kind == "human", Annotation.role.in_(WORK_ROLES),
            Annotation.phase == "final")


def items_left(session: Session, person: str, project_id: int, *,
               now: datetime | None = None) -> ItemsLeft:
    """Items that still need a person's answer: those the person may still take (not
    answered by them, not assigned to or held by someone else), and all of them. This walks
    the project's open tasks: 30-60 ms each at 100k items on SQLite, so the page keeps the
    figures for a few seconds (see ui/views/workspace.py, LEFT_SECONDS)."""
    now = now or utcnow()
    answered = select(Annotation.item_id).where(*_mine(person, project_id))
    open_tasks = _open_human_tasks(project_id)
    mine_to_take = open_tasks.where(
        or_(Task.assignee.is_(None), Task.assignee == person),
        or_(Task.status == "pending", Task.lease_owner == person,
            Task.lease_expires_at < now),
        Task.item_id.not_in(answered))
    count = func.count(func.distinct(Task.item_id))
    return ItemsLeft(for_me=session.scalar(mine_to_take.with_only_columns(count)) or 0,
                     overall=session.scalar(open_tasks.with_only_columns(count)) or 0)


def my_answers_so_far(session: Session, person: str, project_id: int, *,
                      now: datetime | None = None) -> MyAnswers:
    """The person's answers in the project today (``now``: naive UTC) and in all, and their
    pace: the median seconds over their latest answers (under 1 ms: index lookups)."""
    from statistics import median

    now = now or utcnow()
    mine = _mine(person, project_id)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = session.scalar(select(func.count()).where(
        *mine, Annotation.created_at >= midnight)) or 0
    total = session.scalar(select(func.count()).where(*mine)) or 0
    seconds = [s for s in session.scalars(select(Annotation.human_seconds).where(
        *mine, Annotation.human_seconds.is_not(None))
        .order_by(Annotation.id.desc()).limit(PACE_WINDOW)) if s is not None]
    return MyAnswers(today=today, total=total,
                     median_seconds=float(median(seconds)) if seconds else None)


def progress_of(left: ItemsLeft, answers: MyAnswers, *, answered_since: int = 0) -> Progress:
    """Progress from the items left (perhaps counted a moment ago, before the person's last
    ``answered_since`` answers) and the person's answers now."""
    return Progress(left_for_me=max(0, left.for_me - answered_since), left_overall=left.overall,
                    done_today=answers.today, done_total=answers.total,
                    median_seconds=answers.median_seconds)


def my_progress(session: Session, person: str, project_id: int, *,
                now: datetime | None = None) -> Progress:
    """The person's progress in the project, all counted now."""
    return progress_of(items_left(session, person, project_id, now=now),
                       my_answers_so_far(session, person, project_id, now=now))


@dataclass(frozen=True)
class QueueRow:
    """Open tasks of one role and kind of worker, and for whom they wait."""

    role: str
    worker_kind: str
    waiting_for: str  # a person the tasks are assigned to, or "anyone"
    pending: int
    leased: int


@dataclass(frozen=True)
class LeaseHolder:
    who: str
    tasks: int
    held_since: datetime  # the oldest of their leases was taken or last extended then
    expires_at: datetime | None


@dataclass(frozen=True)
class QueueOverview:
    rows: tuple[QueueRow, ...]
    leases: tuple[LeaseHolder, ...]


def queue_overview(session: Session, project_id: int) -> QueueOverview:
    """For owners: what is waiting for whom in the project, and who holds leases (oldest
    first)."""
    status = func.sum(case((Task.status == "pending", 1), else_=0))
    leased = func.sum(case((Task.status == "leased", 1), else_=0))
    rows = session.execute(
        select(Task.role, Task.worker_kind, Task.assignee, status, leased)
        .where(Task.project_id == project_id, Task.status.in_(("pending", "leased")))
        .group_by(Task.role, Task.worker_kind, Task.assignee)
        .order_by(Task.role, Task.worker_kind, Task.assignee))
    holders = session.execute(
        select(Task.lease_owner, func.count(), func.min(Task.updated_at),
               func.min(Task.lease_expires_at))
        .where(Task.project_id == project_id, Task.status == "leased",
               Task.lease_owner.is_not(None))
        .group_by(Task.lease_owner).order_by(func.min(Task.updated_at)))
    return QueueOverview(
        rows=tuple(QueueRow(role=r[0], worker_kind=r[1], waiting_for=r[2] or "anyone",
                            pending=int(r[3] or 0), leased=int(r[4] or 0)) for r in rows),
        leases=tuple(LeaseHolder(who=str(h[0]), tasks=int(h[1]), held_since=h[2], expires_at=h[3])
                     for h in holders))
