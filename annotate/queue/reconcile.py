"""A changed routing policy reaches the items already imported.

:func:`reconcile_tasks` compares, item by item, the tasks the new policy wants now with the
tasks there are: it creates the missing ones as pending and cancels the pending ones the
policy no longer wants. Leased, done and failed tasks are never touched. A cancelled task
keeps its row (status ``cancelled``, its reason in ``failure_reason``) so the history stays;
the claim statement only ever picks pending or expired leased tasks, so it is never worked.

The plan per item follows the routing rules of :mod:`annotate.queue.routing` and asks the
registered roles what they want (:mod:`annotate.queue.wants`): people wait for the roles that
come before them (the Helper with ``helper_first``), with ``human_below_confidence`` they wait
for the LLM annotator and are asked only where it is unsure
(:func:`~annotate.queue.routing.llm_unsure`), and an item whose open annotator tasks were
cancelled goes on to the roles that want tasks after a disagreement (the moderator) or
to adjudication through :func:`~annotate.queue.routing.after_annotators_done`, as if its last
answer had just come in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, column, func, insert, or_, select, update, values
from sqlalchemy.orm import Session

from annotate.projects.policy import RoutingPolicy
from annotate.queue.cascade import StageAnswer, StageTask, next_step
from annotate.queue.routing import CANCELLED, TASK_COLUMNS, after_annotators_done, task_row
from annotate.queue.wants import ADJUDICATOR, ANNOTATOR, RoleSet, Stage, registered_roles
from annotate.store.models import Annotation, Item, Project, Task, utcnow

CANCEL_REASON = "cancelled by a policy change"
INSERT_CHUNK = 500  # rows per INSERT ... SELECT (SQLite's limit on bound parameters)
Key = tuple[str, str]  # (role, worker kind)


@dataclass(frozen=True)
class TaskState:
    id: int
    role: str
    worker_kind: str
    slot: int
    status: str


@dataclass
class ItemState:
    """What one item has: its tasks, answers imported with it, its LLM annotator answers."""

    item_id: int
    external_id: str
    tasks: list[TaskState] = field(default_factory=list)
    imported: Counter[str] = field(default_factory=Counter)  # annotator kind -> answers
    llm_answers: list[StageAnswer] = field(default_factory=list)


@dataclass
class ItemPlan:
    create: Counter[Key] = field(default_factory=Counter)
    cancel: list[TaskState] = field(default_factory=list)


@dataclass
class PolicyChange:
    """What a policy change does to the tasks of the items already imported."""

    created: Counter[Key] = field(default_factory=Counter)
    cancelled: Counter[Key] = field(default_factory=Counter)
    updated: int = 0  # pending tasks given the new priority or attempts limit
    applied: bool = True  # False for a dry run

    def describe(self) -> str:
        """``creates 120 LLM annotator tasks, cancels 40 human annotator tasks`` (a dry run:
        ``would create ...``)."""
        s = "s" if self.applied else ""
        parts = []
        if self.created:
            parts.append(f"create{s} {_counts(self.created)}")
        if self.cancelled:
            parts.append(f"cancel{s} {_counts(self.cancelled)}")
        if self.updated:
            parts.append(f"update{s} priority or attempts of {self.updated} pending tasks")
        text = ", ".join(parts) or "no tasks to create or cancel"
        return text if self.applied or not parts else f"would {text}"

    def as_dict(self) -> dict[str, Any]:
        return {"created": _by_name(self.created), "cancelled": _by_name(self.cancelled),
                "updated": self.updated, "applied": self.applied}


def _name(key: Key) -> str:
    role, kind = key
    return f"{'LLM' if kind == 'llm' else 'human'} annotator" if role == ANNOTATOR else role


def _counts(counts: Counter[Key]) -> str:
    return ", ".join(f"{n} {_name(k)} task{'s' if n != 1 else ''}"
                     for k, n in sorted(counts.items(), key=lambda kv: _name(kv[0])))


def _by_name(counts: Counter[Key]) -> dict[str, int]:
    return {_name(k): n for k, n in counts.items()}


def plan_item(policy: RoutingPolicy, kind: str, item: ItemState,
              roles: RoleSet | None = None) -> ItemPlan:
    """The tasks to create and cancel so that ``item`` matches ``policy`` (no database)."""
    roles = roles or registered_roles()
    plan = ItemPlan()
    live = [t for t in item.tasks if t.status != CANCELLED]

    def of(role: str, worker_kind: str) -> list[TaskState]:
        return [t for t in live if t.role == role and t.worker_kind == worker_kind]

    def settle(role: str, worker_kind: str, target: int) -> None:
        have = of(role, worker_kind)
        if target > len(have):
            plan.create[(role, worker_kind)] += target - len(have)
            return
        pending = sorted((t for t in have if t.status == "pending"), key=lambda t: -t.slot)
        plan.cancel += pending[:len(have) - target]

    for role, wants in roles.at(Stage.FIRST_PASS):
        target = wants.count(policy, item.imported["llm"])
        if role == ANNOTATOR and policy.cascade:  # keep the stages the item has reached
            target = max(target, sum(t.slot < len(policy.cascade) for t in of(role, "llm")))
        settle(role, "llm", target)
    settle(ANNOTATOR, "human", _humans_wanted(policy, kind, item, plan, of, roles))
    _settle_escalation(policy, plan, of, roles)
    return plan


def _humans_wanted(policy: RoutingPolicy, kind: str, item: ItemState, plan: ItemPlan,
                   of: Any, roles: RoleSet) -> int:
    humans = max(0, policy.humans_for(item.external_id) - item.imported["human"])
    _cancel_unwanted(policy, plan, of, roles, Stage.BEFORE_PEOPLE)
    before = roles.wanted(Stage.BEFORE_PEOPLE, policy)
    helpers: list[TaskState] = [t for role, _ in before for t in of(role, "llm")]
    started = item.imported["human"] > 0 or any(t.status != "pending"
                                                for t in of(ANNOTATOR, "human"))
    if before and (helpers or not started):
        if not helpers:  # people choose from the Helper's candidates: it goes first
            plan.create.update({(role, "llm"): n for role, n in before})
            return 0
        return humans if any(h.status in ("done", "failed") for h in helpers) else 0
    if not (policy.llm_first and roles.wanted(Stage.FIRST_PASS, policy, item.imported["llm"])):
        return humans
    cancelled = {t.id for t in plan.cancel}
    tasks = [StageTask(t.slot, t.status) for t in of(ANNOTATOR, "llm") if t.id not in cancelled]
    tasks += [StageTask(0, "pending")] * plan.create[(ANNOTATOR, "llm")]
    step = next_step(kind, policy, tasks, item.llm_answers)
    if step.stage is not None:  # the next stage of the cascade answers first
        plan.create[(ANNOTATOR, "llm")] += 1
        return 0
    return humans if step.people else 0  # waiting: people wait for the LLM's answers


def _cancel_unwanted(policy: RoutingPolicy, plan: ItemPlan, of: Any, roles: RoleSet,
                     stage: Stage) -> None:
    """Pending tasks of the roles at ``stage`` that the policy now switches off."""
    for role, wants in roles.at(stage):
        if wants.count(policy) == 0:
            plan.cancel += [t for t in of(role, "llm") if t.status == "pending"]


def _settle_escalation(policy: RoutingPolicy, plan: ItemPlan, of: Any, roles: RoleSet) -> None:
    """A pending moderator task when the moderator is now off (or a pending adjudication
    instead of a moderator when it is now on) is cancelled; routing escalates afresh."""
    _cancel_unwanted(policy, plan, of, roles, Stage.AFTER_DISAGREEMENT)
    wanted = roles.wanted(Stage.AFTER_DISAGREEMENT, policy)
    if wanted and not any(of(role, "llm") for role, _ in wanted):
        plan.cancel += [t for t in of(ADJUDICATOR, "human") if t.status == "pending"]


def reconcile_tasks(session: Session, project: Project, policy: RoutingPolicy,
                    roles: RoleSet | None = None) -> PolicyChange:
    """Create and cancel tasks of ``project``'s items so they follow ``policy``."""
    roles = roles or registered_roles()
    change = PolicyChange()
    states = _item_states(session, project.id, policy.llm_first)
    plans = {item_id: plan_item(policy, project.kind, state, roles)
             for item_id, state in states.items()}
    now = utcnow()
    rows = []
    for item_id, plan in plans.items():
        for (role, kind), count in plan.create.items():
            rows += [task_row(project.id, policy, item_id, role, kind, k, now)
                     for k in range(count)]
            change.created[(role, kind)] += count
    _insert_after_taken_slots(session, rows)
    cancelled = _cancel(session, [t.id for p in plans.values() for t in p.cancel], now)
    change.cancelled.update((role, kind) for _, role, kind in cancelled)
    escalated = Counter(item_id for item_id, role, _ in cancelled)
    wanted = roles.wanted(Stage.AFTER_DISAGREEMENT, policy)
    escalation = (wanted[0][0], "llm") if wanted else (ADJUDICATOR, "human")
    for item_id in sorted(escalated):
        created = after_annotators_done(session, project.id, project.kind, policy, item_id,
                                        roles)
        change.created[escalation] += created
    change.created = +change.created
    change.updated = _update_pending(session, project.id, policy, now)
    session.flush()
    return change


def _insert_after_taken_slots(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new tasks numbered after every slot their item already has for that role and
    worker kind, read by the insert itself: a cancelled task, or one a worker's submit made
    after the reconcile read the item, keeps its slot. A row's ``slot`` is its place among
    the item's new tasks of that role and kind (0, 1, ...)."""
    types = {c.name: c.type for c in Task.__table__.columns}
    for start in range(0, len(rows), INSERT_CHUNK):
        new = values(*[column(name, types[name]) for name in TASK_COLUMNS], name="new").data(
            [tuple(row[name] for name in TASK_COLUMNS) for row in rows[start:start + INSERT_CHUNK]]
        ).cte("new")  # WITH new(columns) AS (VALUES ...): SQLite and PostgreSQL alike
        taken = (select(func.coalesce(func.max(Task.slot), -1))
                 .where(Task.item_id == new.c.item_id, Task.role == new.c.role,
                        Task.worker_kind == new.c.worker_kind).scalar_subquery())
        chosen = [taken + 1 + new.c.slot if name == "slot" else new.c[name]
                  for name in TASK_COLUMNS]
        session.execute(insert(Task).from_select(list(TASK_COLUMNS), select(*chosen)))


def _item_states(session: Session, project_id: int, llm_first: bool) -> dict[int, ItemState]:
    states = {item_id: ItemState(item_id, external_id) for item_id, external_id in
              session.execute(select(Item.id, Item.external_id)
                              .where(Item.project_id == project_id))}
    for row in session.execute(select(Task.item_id, Task.id, Task.role, Task.worker_kind,
                                      Task.slot, Task.status)
                               .where(Task.project_id == project_id)):
        states[row.item_id].tasks.append(TaskState(row.id, row.role, row.worker_kind,
                                                   row.slot, row.status))
    answers = (Annotation.project_id == project_id, Annotation.role == ANNOTATOR,
               Annotation.phase == "final")
    for item_id, kind in session.execute(select(Annotation.item_id, Annotation.annotator_kind)
                                         .where(*answers, Annotation.task_id.is_(None))):
        states[item_id].imported[kind] += 1
    if llm_first:
        for item_id, value, confidence, slot in session.execute(
                select(Annotation.item_id, Annotation.value, Annotation.confidence, Task.slot)
                .outerjoin(Task, Task.id == Annotation.task_id)
                .where(*answers, Annotation.annotator_kind == "llm")):
            states[item_id].llm_answers.append(StageAnswer(slot, value, confidence))
    return states


def _cancel(session: Session, task_ids: Sequence[int], now: Any) -> list[tuple[int, str, str]]:
    """Cancel the tasks that are still pending (a worker may have claimed one meanwhile)."""
    done: list[tuple[int, str, str]] = []
    for start in range(0, len(task_ids), 500):
        chunk = list(task_ids[start:start + 500])
        done += session.execute(
            update(Task).where(Task.id.in_(chunk), Task.status == "pending")
            .values(status=CANCELLED, failure_reason=CANCEL_REASON, updated_at=now)
            .returning(Task.item_id, Task.role, Task.worker_kind)
            .execution_options(synchronize_session=False)).all()
    return done


def _update_pending(session: Session, project_id: int, policy: RoutingPolicy, now: Any) -> int:
    """Pending tasks take the policy's priority and attempts limit (a task that already used
    that many attempts gets one more, so it is never left pending and unclaimable); return
    how many tasks changed."""
    limit = policy.max_attempts
    priority = case((Task.worker_kind == "llm", policy.llm_priority),
                    else_=policy.human_priority)
    attempts = case((Task.attempts < limit, limit), else_=Task.attempts + 1)
    stale = (Task.project_id == project_id, Task.status == "pending",
             or_(Task.priority != priority, Task.max_attempts != attempts))
    result = session.execute(update(Task).where(*stale)
                             .values(priority=priority, max_attempts=attempts, updated_at=now)
                             .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def set_policy(session: Session, project: Project, policy: RoutingPolicy, *,
               reconcile: bool = True, dry_run: bool = False) -> PolicyChange:
    """Store ``policy`` and bring the items already imported in line with it: the tasks it
    wants that are missing are created, pending ones it no longer wants are cancelled (see
    :mod:`annotate.queue.reconcile`). ``dry_run`` returns the same change and keeps nothing."""
    savepoint = session.begin_nested() if dry_run else None
    project.policy_json = policy.model_dump(mode="json")
    session.flush()
    change = reconcile_tasks(session, project, policy) if reconcile else PolicyChange()
    if savepoint is not None:
        savepoint.rollback()
        change.applied = False
    return change
