"""LLM first, stage by stage: which annotator answers an item next, or whether people must.

The policy's ``cascade`` lists annotators in order, each with a threshold. An item's first
LLM annotator task is stage 0 (its ``slot`` is the stage); when its answer is below the
stage's threshold, or the task failed, the item moves on to the next stage, and after the
last one to people. An answer at or above its threshold settles the item.

Without a cascade the same rule runs on one implicit stage: every LLM annotator answer of
the item (imported ones too), ``human_below_confidence`` as the threshold, and answers that
disagree count as unsure. That is the "LLM first, people where unsure" routing as it was.

An answer that passed the item on is stored with ``phase = "passed"``
(:data:`PASSED`): kept, shown to people as what that stage said, but not a vote in final
labels or agreement (which read final answers only). The last stage's answer stays final
when the item goes to people, as the single LLM answer does without a cascade.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from annotate.kinds.schema import comparable
from annotate.projects.policy import RoutingPolicy

OPEN_STATES = ("pending", "leased")
PASSED = "passed"  # the phase of a stage's answer that sent the item on to the next stage


@dataclass(frozen=True)
class StageTask:
    """One live (not cancelled) LLM annotator task of an item: its stage and status."""

    stage: int
    status: str


@dataclass(frozen=True)
class StageAnswer:
    """One final LLM annotator answer of an item; ``stage`` None: imported with the item."""

    stage: int | None
    value: dict[str, Any]
    confidence: float | None
    annotation_id: int | None = None


@dataclass(frozen=True)
class Step:
    """What routing does next for an item: wait, nothing (settled), ask ``stage``, or
    ask people."""

    wait: bool = False
    people: bool = False
    stage: int | None = None


WAIT = Step(wait=True)
SETTLED = Step()
PEOPLE = Step(people=True)


def stage_sure(kind: str, threshold: float, statuses: Sequence[str],
               answers: Sequence[tuple[dict[str, Any], float | None]]) -> bool | None:
    """One stage: None while any of its tasks is open; else whether its answers stand: at
    least one answer, no failed task, every confidence at the threshold or above, and no two
    answers that differ."""
    if any(status in OPEN_STATES for status in statuses):
        return None
    return (len(answers) > 0 and "failed" not in statuses
            and all((c if c is not None else 0.0) >= threshold for _, c in answers)
            and len(Counter(comparable(kind, v) for v, _ in answers)) <= 1)


def next_step(kind: str, policy: RoutingPolicy, tasks: Sequence[StageTask],
              answers: Sequence[StageAnswer]) -> Step:
    """The item's next step under ``policy`` (LLM first) from its live LLM annotator tasks
    and its final LLM annotator answers."""
    if not policy.cascade:
        sure = stage_sure(kind, policy.human_below_confidence or 0.0,
                          [t.status for t in tasks], [(a.value, a.confidence) for a in answers])
        return WAIT if sure is None else SETTLED if sure else PEOPLE
    if any(t.status in OPEN_STATES for t in tasks):
        return WAIT
    reached = max((t.stage for t in tasks), default=None)
    if reached is None or reached >= len(policy.cascade):
        return PEOPLE  # no stage task (LLM answers came with the item) or a shorter cascade
    sure = stage_sure(kind, policy.cascade[reached].threshold,
                      [t.status for t in tasks if t.stage == reached],
                      [(a.value, a.confidence) for a in answers if a.stage == reached])
    if sure:
        return SETTLED
    return Step(stage=reached + 1) if reached + 1 < len(policy.cascade) else PEOPLE


def passed_on(policy: RoutingPolicy, tasks: Sequence[StageTask],
              answers: Sequence[StageAnswer], step: Step) -> list[int]:
    """The answers that passed the item on: every stage answer before the stage now asked
    (or, once the item is settled or with people, before the last stage it reached). A
    policy change may leave earlier ones still final; they are caught up here."""
    if not policy.cascade or step.wait:
        return []
    current = step.stage if step.stage is not None else max(
        (t.stage for t in tasks), default=0)
    return [a.annotation_id for a in answers if a.annotation_id is not None
            and a.stage is not None and a.stage < current]


def stage_annotator(policy: RoutingPolicy, slot: int) -> str | None:
    """The annotator that answers an LLM annotator task in ``slot`` (None: no cascade, or a
    slot past its end: the run's own model)."""
    if 0 <= slot < len(policy.cascade):
        return policy.cascade[slot].annotator
    return None
