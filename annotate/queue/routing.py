"""Turning the routing policy into tasks: the initial plan per item and follow-ups on submit.

Routing names no LLM role: it asks the registered roles what they want
(:mod:`annotate.queue.wants`: first pass, before people, after a disagreement). With the
built-in roles:

- On import, each item gets the annotator tasks its policy asks for, minus the annotations it
  already has (a labelled dataset brings its human labels along).
- With ``helper_first``, a Helper task comes first and people's tasks appear once it is done.
- When an item's annotator tasks are all done and the answers disagree, a Moderator task is
  created (or an adjudication task for a person when the moderator is off).
- With ``human_below_confidence`` (LLM first), people's tasks appear only for items whose LLM
  annotator answered below that confidence, disagreed with itself or failed.
- With a ``cascade`` (LLM first, stage by stage, :mod:`annotate.queue.cascade`), an item's
  first LLM annotator task is stage 0; an unsure or failed stage hands the item to the next
  stage (a task in the next slot), the last one to people.
- A moderator that picks "none" or is less confident than ``adjudicate_below`` sends the item
  to a person for adjudication.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from annotate.kinds.schema import comparable
from annotate.projects.policy import RoutingPolicy
from annotate.queue.cascade import (
    OPEN_STATES,
    PASSED,
    StageAnswer,
    StageTask,
    next_step,
    passed_on,
    stage_sure,
)
from annotate.queue.wants import ADJUDICATOR, ANNOTATOR, RoleSet, Stage, registered_roles
from annotate.store.bulk import bulk_insert
from annotate.store.models import Annotation, Project, Task, utcnow

CANCELLED = "cancelled"  # a pending task a policy change no longer wants; kept for history


@dataclass(frozen=True)
class PlannedItem:
    item_id: int
    external_id: str
    humans_present: int = 0
    llms_present: int = 0


TASK_COLUMNS = ("project_id", "item_id", "role", "worker_kind", "slot", "status", "priority",
                "attempts", "max_attempts", "created_at", "updated_at")


def task_row(project_id: int, policy: RoutingPolicy, item_id: int, role: str, kind: str,
             slot: int, now: datetime | None = None) -> dict[str, Any]:
    """The row of a new pending task, with the policy's priority and attempts."""
    now = now or utcnow()
    priority = policy.llm_priority if kind == "llm" else policy.human_priority
    values = (project_id, item_id, role, kind, slot, "pending", priority, 0,
              policy.max_attempts, now, now)
    return dict(zip(TASK_COLUMNS, values, strict=True))


def plan_initial_tasks(
    session: Session, project: Project, policy: RoutingPolicy, items: Sequence[PlannedItem],
    roles: RoleSet | None = None,
) -> int:
    """Create the first tasks for freshly imported items; return how many were created."""
    roles = roles or registered_roles()
    now = utcnow()
    pid = project.id
    human = (pid, "pending", policy.human_priority, 0, policy.max_attempts, now, now)
    llm = (pid, "pending", policy.llm_priority, 0, policy.max_attempts, now, now)
    before = roles.wanted(Stage.BEFORE_PEOPLE, policy)
    rows: list[tuple[Any, ...]] = []
    settled: list[int] = []
    for item in items:
        humans = max(0, policy.humans_for(item.external_id) - item.humans_present)
        first = roles.wanted(Stage.FIRST_PASS, policy, item.llms_present)
        i = item.item_id
        if before:  # people's tasks appear once these are done
            rows += [(i, role, "llm", s, *llm) for role, n in before for s in range(n)]
        elif policy.llm_first and first:
            pass  # people are asked later, only where the LLM is unsure
        else:
            rows += [(i, ANNOTATOR, "human", s, *human) for s in range(humans)]
        rows += [(i, role, "llm", s, *llm) for role, n in first for s in range(n)]
        if not before and humans == 0 and not first:
            settled.append(i)
    columns = ("item_id", "role", "worker_kind", "slot", "project_id", "status", "priority",
               "attempts", "max_attempts", "created_at", "updated_at")
    bulk_insert(session, cast(Table, Task.__table__), columns, rows)
    for item_id in settled:  # everything already answered: route disagreements now
        after_annotators_done(session, project.id, project.kind, policy, item_id, roles)
    return len(rows)


@dataclass(frozen=True)
class Done:
    """A task that was just completed, and the answer it produced (if any)."""

    project_id: int
    kind: str
    item_id: int
    role: str
    value: dict[str, Any] | None
    confidence: float | None
    worker_kind: str = "human"


def on_task_done(session: Session, done: Done, policy: RoutingPolicy,
                 roles: RoleSet | None = None) -> int:
    """Create the follow-up tasks the policy asks for; return how many were created."""
    roles = roles or registered_roles()
    stage = roles.stage_of(done.role)
    if stage is Stage.FIRST_PASS and done.worker_kind == "llm" and policy.llm_first:
        return after_llm_first(session, done.project_id, done.kind, policy, done.item_id)
    if stage is Stage.BEFORE_PEOPLE:
        humans = policy.humans_for(_external_id(session, done.item_id))
        return _add_tasks(session, done.project_id, policy, done.item_id, ANNOTATOR, "human",
                          humans)
    if done.role == ANNOTATOR:
        return after_annotators_done(session, done.project_id, done.kind, policy, done.item_id,
                                     roles)
    if stage is Stage.AFTER_DISAGREEMENT and needs_adjudication(policy, done.value,
                                                                done.confidence):
        return _add_tasks(session, done.project_id, policy, done.item_id, ADJUDICATOR,
                          "human", 1)
    return 0


def on_tasks_done(session: Session, dones: Sequence[Done], policy: RoutingPolicy,
                  roles: RoleSet | None = None) -> int:
    """:func:`on_task_done` for the tasks of one batch submit (one project, one policy, at
    most one task per item): the common case, an annotator's answer that may start a
    disagreement, is decided for the whole batch with two queries instead of one or two per
    task; everything else goes through :func:`on_task_done` one by one."""
    roles = roles or registered_roles()
    plain: list[Done] = []
    created = 0
    for done in dones:
        if _settles_like_annotators(done, policy, roles):
            plain.append(done)
        else:
            created += on_task_done(session, done, policy, roles)
    if not plain:
        return created
    items = [d.item_id for d in plain]
    conn = session.connection()  # Core on the session's transaction: no ORM per statement
    values: dict[int, list[dict[str, Any]]] = {}
    for item_id, value in conn.execute(_answered_twice_sql(), {"items": items}):
        values.setdefault(item_id, []).append(value)
    kind = {d.item_id: d.kind for d in plain}
    split = [i for i in items if i in values and disagree(kind[i], values[i])]
    if not split:
        return created
    open_items = set(conn.execute(_open_annotator_items_sql(), {"items": split}).scalars())
    project = {d.item_id: d.project_id for d in plain}
    for item_id in split:
        if item_id not in open_items:  # rare: decide it as one-by-one submits do
            created += after_annotators_done(session, project[item_id], kind[item_id],
                                             policy, item_id, roles)
    return created


@functools.lru_cache(maxsize=1)
def _answered_twice_sql() -> Any:
    """The final annotator answers of those of ``:items`` that have two or more (only they
    can disagree): the common single answer is counted, not read and decoded."""
    a = cast(Table, Annotation.__table__)
    final = (a.c.role == ANNOTATOR, a.c.phase == "final")
    twice = (select(a.c.item_id).where(a.c.item_id.in_(bindparam("items", expanding=True)),
                                       *final)
             .group_by(a.c.item_id).having(func.count() > 1))
    return select(a.c.item_id, a.c.value).where(a.c.item_id.in_(twice), *final)


@functools.lru_cache(maxsize=1)
def _open_annotator_items_sql() -> Any:
    t = cast(Table, Task.__table__)
    return select(t.c.item_id).where(t.c.item_id.in_(bindparam("items", expanding=True)),
                                     t.c.role == ANNOTATOR, t.c.status.in_(OPEN_STATES))


def _settles_like_annotators(done: Done, policy: RoutingPolicy, roles: RoleSet) -> bool:
    """Whether :func:`on_task_done` would only ask :func:`after_annotators_done`."""
    stage = roles.stage_of(done.role)
    if stage is Stage.FIRST_PASS and done.worker_kind == "llm" and policy.llm_first:
        return False
    return stage is not Stage.BEFORE_PEOPLE and done.role == ANNOTATOR


def after_llm_first(session: Session, project_id: int, kind: str, policy: RoutingPolicy,
                    item_id: int) -> int:
    """LLM first: once the item's LLM annotator tasks are settled, ask people only where the
    LLM is unsure (low confidence, answers that disagree, or a task that failed); with a
    cascade, first the next stage (:func:`~annotate.queue.cascade.next_step`)."""
    tasks = [StageTask(slot, status) for slot, status in session.execute(
        select(Task.slot, Task.status).where(Task.item_id == item_id, Task.role == ANNOTATOR,
                                             Task.worker_kind == "llm", Task.status != CANCELLED))]
    answers = [StageAnswer(slot, value, confidence, annotation_id)
               for annotation_id, value, confidence, slot in session.execute(
                   select(Annotation.id, Annotation.value, Annotation.confidence, Task.slot)
                   .outerjoin(Task, Task.id == Annotation.task_id)
                   .where(Annotation.item_id == item_id, Annotation.role == ANNOTATOR,
                          Annotation.annotator_kind == "llm", Annotation.phase == "final"))]
    step = next_step(kind, policy, tasks, answers)
    passed = passed_on(policy, tasks, answers, step)
    if passed:  # no longer votes: the next stage (or people) decide
        session.execute(update(Annotation).where(Annotation.id.in_(passed))
                        .values(phase=PASSED).execution_options(synchronize_session=False))
    if step.stage is not None:
        session.execute(insert(Task), [task_row(project_id, policy, item_id, ANNOTATOR, "llm",
                                                step.stage)])
        return 1
    if not step.people:
        return 0
    humans = policy.humans_for(_external_id(session, item_id))
    return _add_tasks(session, project_id, policy, item_id, ANNOTATOR, "human", humans)


def llm_unsure(kind: str, policy: RoutingPolicy, statuses: Sequence[str],
               answers: Sequence[tuple[dict[str, Any], float | None]]) -> bool | None:
    """LLM first without a cascade, for one item: None while its LLM annotator tasks
    (``statuses``, cancelled ones left out) are open; else whether people are needed: an
    answer below the threshold, answers that disagree, or a task without an answer (it
    failed)."""
    sure = stage_sure(kind, policy.human_below_confidence or 0.0, statuses, answers)
    return None if sure is None else not sure


def needs_adjudication(policy: RoutingPolicy, value: dict[str, Any] | None,
                       confidence: float | None) -> bool:
    if value is None or value.get("decision") == "none":
        return True
    return (confidence if confidence is not None else 0.0) < policy.adjudicate_below


def after_annotators_done(session: Session, project_id: int, kind: str, policy: RoutingPolicy,
                          item_id: int, roles: RoleSet | None = None) -> int:
    """If every annotator task of the item is done and the answers disagree, escalate: to the
    roles that want tasks after a disagreement, else to a person."""
    values = session.scalars(_values_sql(), {"item_id": item_id}).all()
    if len(values) < 2 or not disagree(kind, values):
        return 0
    open_tasks = session.scalar(_open_annotator_task_sql(), {"item_id": item_id})
    if open_tasks is not None:
        return 0
    escalation = (roles or registered_roles()).wanted(Stage.AFTER_DISAGREEMENT, policy)
    if escalation:
        return sum(_add_tasks(session, project_id, policy, item_id, role, "llm", n)
                   for role, n in escalation)
    return _add_tasks(session, project_id, policy, item_id, ADJUDICATOR, "human", 1)


@functools.lru_cache(maxsize=1)
def _values_sql() -> Any:
    return select(Annotation.value).where(Annotation.item_id == bindparam("item_id"),
                                          Annotation.role == ANNOTATOR,
                                          Annotation.phase == "final")


@functools.lru_cache(maxsize=1)
def _open_annotator_task_sql() -> Any:
    return select(Task.id).where(Task.item_id == bindparam("item_id"), Task.role == ANNOTATOR,
                                 Task.status.in_(OPEN_STATES)).limit(1)


def disagree(kind: str, values: Iterable[dict[str, Any]]) -> bool:
    """True when at least two answers differ."""
    distinct = Counter(comparable(kind, v) for v in values)
    return len(distinct) > 1


def _add_tasks(session: Session, project_id: int, policy: RoutingPolicy, item_id: int,
               role: str, kind: str, count: int) -> int:
    """Top the item's tasks of this role and worker kind up to ``count`` (cancelled ones do
    not count, but keep their slots); return how many were created."""
    slots = session.execute(
        select(Task.slot, Task.status).where(Task.item_id == item_id, Task.role == role,
                                             Task.worker_kind == kind)).all()
    missing = count - sum(1 for _, status in slots if status != CANCELLED)
    if missing <= 0:
        return 0
    first = max((slot for slot, _ in slots), default=-1) + 1
    session.execute(insert(Task), [task_row(project_id, policy, item_id, role, kind, first + k)
                                   for k in range(missing)])
    return missing


def _external_id(session: Session, item_id: int) -> str:
    from annotate.store.models import Item

    return session.scalar(select(Item.external_id).where(Item.id == item_id)) or ""
