"""What each stage of a project's cascade did: items answered and decided there, items passed
on, and what the stage cost (from the ledger), then what was left to people.

A stage's tasks are the LLM annotator tasks in its slot (:mod:`annotate.queue.cascade`). An
item is *decided* at a stage when that stage's final answer stands (at or above its
threshold); *passed on* when its answer was below (phase ``passed``) or its task failed and
a later stage or people took the item. Cost is the sum of the ledger's calls for the
stage's tasks (failed and invalid calls included: they were paid for); a distilled model
makes no call and costs nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from annotate.projects.catalog import project_policy
from annotate.queue.cascade import PASSED
from annotate.store.models import Annotation, LLMCall, Project, Task

if TYPE_CHECKING:  # pandas only for the frame: `annotate status` reads the rows (#17 item 5)
    import pandas as pd

COLUMNS = ["stage", "annotator", "threshold", "reached", "answered", "failed", "decided",
           "passed_on", "cost_usd", "cost_per_item_usd"]
PEOPLE = "people"


def stage_table(session: Session, project: Project) -> pd.DataFrame:
    """One row per cascade stage and a last row for people (empty without a cascade)."""
    import pandas as pd

    return pd.DataFrame(stage_rows(session, project), columns=COLUMNS)


def stage_rows(session: Session, project: Project) -> list[dict[str, Any]]:
    """:func:`stage_table` as plain rows (``COLUMNS`` keys; none without a cascade)."""
    policy = project_policy(project)
    if not policy.cascade:
        return []
    pid = project.id
    stage_task = (Task.project_id == pid, Task.role == "annotator", Task.worker_kind == "llm")
    by_status: Counter[tuple[int, str]] = Counter({
        (slot, status): int(n) for slot, status, n in session.execute(
            select(Task.slot, Task.status, func.count()).where(*stage_task)
            .group_by(Task.slot, Task.status))})
    # decided (a final answer at or above its stage's threshold) and passed on, counted by
    # the database per slot: the answers themselves are not read (a million at 1M items)
    threshold = case({n: stage.threshold for n, stage in enumerate(policy.cascade)},
                     value=Task.slot, else_=None)
    sure = and_(Annotation.phase == "final",
                func.coalesce(Annotation.confidence, 0.0) >= threshold)
    answers: dict[int, tuple[int, int]] = {
        slot: (int(decided), int(passed)) for slot, decided, passed in session.execute(
            select(Task.slot, func.count(case((sure, 1))),
                   func.count(case((Annotation.phase == PASSED, 1))))
            .join(Task, Task.id == Annotation.task_id)
            .where(*stage_task, Annotation.annotator_kind == "llm").group_by(Task.slot))}
    cost: dict[int, float] = {slot: float(usd) for slot, usd in session.execute(
        select(Task.slot, func.coalesce(func.sum(LLMCall.cost_usd), 0.0))
        .join(Task, Task.id == LLMCall.task_id)
        .where(*stage_task, LLMCall.cached.is_(False)).group_by(Task.slot))}
    rows = []
    for number, stage in enumerate(policy.cascade):
        decided, passed = answers.get(number, (0, 0))
        failed = by_status[(number, "failed")]
        later = number + 1 < len(policy.cascade)
        spent = float(cost.get(number, 0.0))
        answered = by_status[(number, "done")]
        reached = sum(n for (slot, status), n in by_status.items()
                      if slot == number and status != "cancelled")
        rows.append({"stage": str(number + 1), "annotator": stage.annotator,
                     "threshold": stage.threshold, "reached": reached, "answered": answered,
                     "failed": failed,
                     "decided": decided,
                     "passed_on": passed + failed if later else answered - decided + failed,
                     "cost_usd": spent,
                     "cost_per_item_usd": spent / max(answered + failed, 1)})
    people = session.execute(
        select(func.count(func.distinct(Task.item_id)), func.count())
        .where(Task.project_id == pid, Task.role == "annotator", Task.worker_kind == "human",
               Task.status == "done")).one()
    sent = session.scalar(select(func.count(func.distinct(Task.item_id))).where(
        Task.project_id == pid, Task.role == "annotator", Task.worker_kind == "human",
        Task.status != "cancelled")) or 0
    rows.append({"stage": PEOPLE, "annotator": PEOPLE, "threshold": None,
                 "reached": int(sent), "answered": int(people[1]), "failed": 0,
                 "decided": int(people[0]), "passed_on": 0, "cost_usd": None,
                 "cost_per_item_usd": None})
    return rows


@dataclass(frozen=True)
class StageSaid:
    """What one LLM annotator answered on an item, how sure it was, and whether it passed
    the item on to the next stage (the workspace shows people each stage's answer)."""

    model: str | None
    value: dict[str, Any]
    confidence: float | None
    passed_on: bool


def stage_answers(session: Session, item_id: int) -> tuple[StageSaid, ...]:
    """The item's LLM annotator answers in order, when a cascade passed it on at least once
    (else none: the single LLM answer is the suggestion itself)."""
    rows = session.execute(
        select(Annotation.model, Annotation.value, Annotation.confidence, Annotation.phase)
        .where(Annotation.item_id == item_id, Annotation.role == "annotator",
               Annotation.annotator_kind == "llm", Annotation.phase.in_(("final", PASSED)))
        .order_by(Annotation.id)).all()
    if not any(phase == PASSED for *_, phase in rows):
        return ()
    return tuple(StageSaid(model, value, confidence, phase == PASSED)
                 for model, value, confidence, phase in rows)
