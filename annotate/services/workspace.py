"""A person's work on the shared queue: the next task with everything its page shows, submit,
skip, blind-first answers and undo.

:func:`open_next_task` claims the person's next annotator task and loads, in one read, what
the workspace needs: the item, the schema, whether the project is blind, the guideline
version, the Helper's candidates and the LLM's pre-label (the LLM annotator's answer on the
item, else the Helper's top candidate). Nothing another person answered is ever loaded.

Blind-first: the person's first answer is stored with ``phase="blind"`` before the
suggestion is shown; the final answer (kept or revised) is stored as usual and says in its
``meta`` whether it was revised and whether it switched to the suggestion. A first answer is
the person's own: it is looked up by task *and* person, and stored under a key that names the
person, so whoever gets a task another person committed and then left starts blind.

Membership: a person gets tasks only of projects they may see
(:func:`annotate.services.people.may_see_project`), whatever project id the caller passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from annotate.errors import Conflict, NotFound
from annotate.kinds.schema import LabelSchema, comparable
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import (
    Provenance,
    claim_next_task,
    extend_lease,
    release_task,
    submit_annotation,
    task_key,
)
from annotate.services.cascade_stages import StageSaid, stage_answers
from annotate.services.choice_trace import KEY as CHOICE
from annotate.services.choice_trace import trace_of
from annotate.services.people import may_see_project
from annotate.store.engine import Store
from annotate.store.models import (
    Annotation,
    GuidelineVersion,
    Item,
    Project,
    Suggestion,
    Task,
    utcnow,
)

WORK_ROLES = ("annotator",)
FOLLOW_UP_ROLES = ("moderator", "adjudicator")


@dataclass(frozen=True)
class Candidate:
    """One option the Helper prepared: a value to choose, a text to choose or edit, or both."""

    index: int
    value: dict[str, Any] | None
    text: str | None
    score: float | None
    scores: dict[str, Any] = field(default_factory=dict)  # what the score is made of
    id: str | None = None  # stable id in the stored list ("c0", ...), when the Helper gave one


@dataclass(frozen=True)
class Prelabel:
    """The LLM's suggested answer for the item, with who made it."""

    value: dict[str, Any]
    model: str | None
    confidence: float | None
    rationale: str | None
    source: str  # "annotator" (an LLM annotator's answer) or "helper" (top candidate)
    annotation_id: int | None = None
    stages: tuple[StageSaid, ...] = ()  # a cascade's answers before people, in order


@dataclass(frozen=True)
class WorkView:
    """A claimed task and everything the workspace page shows for it."""

    task_id: int
    project_id: int
    item_id: int
    external_id: str
    text: str
    data: dict[str, Any]
    kind: str
    schema: LabelSchema
    blind: bool
    lease_seconds: int
    guideline_id: int | None
    guideline_version: str | None
    guideline_number: int | None
    suggestion_id: int | None = None
    candidates: tuple[Candidate, ...] = ()
    prelabel: Prelabel | None = None
    blind_answer: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    submit_delay_ms: int = 400
    preselect_above: float = 0.5
    context: tuple[tuple[str, str], ...] = ()

    @property
    def has_suggestion(self) -> bool:
        return self.prelabel is not None or bool(self.candidates)

    @property
    def hideable(self) -> bool:
        """Whether there is an LLM answer to hide in blind mode (a text task's candidates are
        its options, not an answer, so they always show)."""
        return self.prelabel is not None or (self.kind != "text" and bool(self.candidates))

    @property
    def hides_suggestion(self) -> bool:
        """Blind-first: the suggestion stays hidden until the person commits an answer."""
        return self.blind and self.hideable and self.blind_answer is None

    @property
    def preselects(self) -> bool:
        """Whether the answer starts from the LLM's pre-label: shown, not a text task, and
        confident enough (``preselect_above``; an unknown confidence only when that is 0)."""
        if self.prelabel is None or self.hides_suggestion or self.kind == "text":
            return False
        confidence = self.prelabel.confidence
        if confidence is None:
            return self.preselect_above <= 0
        return confidence >= self.preselect_above


def open_next_task(store: Store, person: str, project_id: int, *, lease_seconds: int = 300,
                   skipped_items: Sequence[int] = ()) -> WorkView | None:
    """Lease the person's next annotator task in the project and load its view.

    ``skipped_items``: items the person skipped in this session; none of their slots is
    offered again (another slot of the same item would be the same work).
    Raises NotFound for a project the person is not a member of."""
    exclude: list[int] = []
    with store.sessions() as session:
        if not may_see_project(session, person, project_id):
            raise NotFound(f"no project {project_id} for {person}")
        if skipped_items:
            exclude = list(session.scalars(select(Task.id).where(
                Task.item_id.in_(list(skipped_items)), Task.role.in_(WORK_ROLES),
                Task.worker_kind == "human", Task.status.in_(("pending", "leased")))))
    claimed = claim_next_task(store, person, worker_kind="human", roles=WORK_ROLES,
                              project_id=project_id, lease_seconds=lease_seconds,
                              exclude=exclude)
    if claimed is None:
        return None
    return load_view(store, claimed.id, person, member=True)


def resume_task(store: Store, person: str, project_id: int,
                lease_seconds: int = 300) -> WorkView | None:
    """The task the person still holds in the project (a live lease from a page that was
    reloaded), its lease extended by ``lease_seconds``: a reload shows the same item, with a
    blind-first answer committed on it, not a new one while that task stays leased to nobody
    on screen. None without one."""
    with store.sessions() as session:
        task_id = session.scalar(select(Task.id).where(
            Task.project_id == project_id, Task.lease_owner == person,
            Task.status == "leased", Task.worker_kind == "human",
            Task.role.in_(WORK_ROLES), Task.lease_expires_at > utcnow())
            .order_by(Task.id).limit(1))
    if task_id is None:
        return None
    try:
        extend_lease(store, task_id, person, lease_seconds)
        return load_view(store, task_id, person)
    except (Conflict, NotFound):  # ran out or given back, or no longer a member, meanwhile
        return None


def load_view(store: Store, task_id: int, person: str, *, member: bool = False) -> WorkView:
    """The view of a task the person holds (after a claim, an undo, or a page reload);
    ``member``: the caller has just checked that the person may see the project."""
    with store.sessions() as session:
        row = session.execute(
            select(Task, Item, Project).join(Item, Item.id == Task.item_id)
            .join(Project, Project.id == Task.project_id).where(Task.id == task_id)
        ).first()
        if row is None:
            raise NotFound(f"no task {task_id}")
        task, item, project = row
        if task.lease_owner != person or task.status != "leased":
            raise Conflict(f"task {task_id} is not leased by {person}")
        if not member and not may_see_project(session, person, project.id):
            raise NotFound(f"no project {project.id} for {person}")
        policy = RoutingPolicy.model_validate(project.policy_json)
        guideline = (session.get(GuidelineVersion, project.current_guideline_id)
                     if project.current_guideline_id is not None else None)
        suggestion_id, candidates = _candidates(session, item.id)
        return WorkView(
            task_id=task.id, project_id=project.id, item_id=item.id,
            external_id=item.external_id, text=item.text, data=dict(item.data or {}),
            kind=project.kind, schema=LabelSchema.model_validate(project.schema_json),
            blind=policy.blind, lease_seconds=policy.lease_seconds,
            guideline_id=guideline.id if guideline else None,
            guideline_version=guideline.version if guideline else None,
            guideline_number=guideline.number if guideline else None,
            suggestion_id=suggestion_id, candidates=candidates,
            prelabel=_prelabel(session, item.id, candidates),
            blind_answer=_blind_answer(session, task.id, person), meta=dict(item.meta or {}),
            submit_delay_ms=policy.submit_delay_ms, preselect_above=policy.preselect_above,
            context=item_context(policy.context_fields, item.meta, item.data),
        )


def item_context(names: Sequence[str], meta: dict[str, Any] | None,
                 data: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """The item's context fields named by the policy, in its order, as (name, text): from the
    item's metadata, else its data; missing or empty fields are left out."""
    out = []
    for name in names:
        value = (meta or {}).get(name)
        if value in (None, ""):
            value = (data or {}).get(name)
        if value not in (None, ""):
            out.append((name, value if isinstance(value, str) else str(value)))
    return tuple(out)


def _candidates(session: Session, item_id: int) -> tuple[int | None, tuple[Candidate, ...]]:
    suggestion = session.scalar(select(Suggestion).where(Suggestion.item_id == item_id)
                                .order_by(Suggestion.id.desc()).limit(1))
    if suggestion is None:
        return None, ()
    out = []
    for index, entry in enumerate(suggestion.candidates or []):
        raw = entry if isinstance(entry, dict) else {"text": str(entry)}
        value = raw.get("value")
        score, scores = raw.get("score"), raw.get("scores")
        out.append(Candidate(index=index, value=value if isinstance(value, dict) else None,
                             text=raw.get("text"),
                             score=float(score) if isinstance(score, int | float) else None,
                             scores=scores if isinstance(scores, dict) else {},
                             id=str(raw["id"]) if raw.get("id") is not None else None))
    return suggestion.id, tuple(out)


def _prelabel(session: Session, item_id: int,
              candidates: tuple[Candidate, ...]) -> Prelabel | None:
    llm = session.scalar(
        select(Annotation).where(Annotation.item_id == item_id, Annotation.annotator_kind == "llm",
                                 Annotation.role == "annotator", Annotation.phase == "final")
        .order_by(Annotation.id.desc()).limit(1))
    if llm is not None:
        return Prelabel(value=llm.value, model=llm.model, confidence=llm.confidence,
                        rationale=llm.rationale, source="annotator", annotation_id=llm.id,
                        stages=stage_answers(session, item_id))
    with_value = [c for c in candidates if c.value is not None]
    if not with_value:
        return None
    top = max(with_value, key=lambda c: c.score if c.score is not None else float("-inf"))
    assert top.value is not None
    return Prelabel(value=top.value, model=None, confidence=top.score, rationale=top.text,
                    source="helper")


def _blind_answer(session: Session, task_id: int, person: str) -> dict[str, Any] | None:
    """The person's own committed first answer on the task (never another person's)."""
    value = session.scalar(select(Annotation.value).where(
        Annotation.task_id == task_id, Annotation.phase == "blind",
        Annotation.annotator_id == person, Annotation.annotator_kind == "human")
        .order_by(Annotation.id.desc()).limit(1))
    return dict(value) if value is not None else None


def matches_suggestion(view: WorkView, value: dict[str, Any]) -> bool:
    """Whether an answer is exactly the LLM's pre-label or an unedited candidate."""
    if view.prelabel is not None and _same(view.kind, view.prelabel.value, value):
        return True
    if view.kind == "text":
        return value.get("candidate") is not None and not value.get("edited", False)
    return any(c.value is not None and _same(view.kind, c.value, value) for c in view.candidates)


def _same(kind: str, a: dict[str, Any], b: dict[str, Any]) -> bool:
    try:
        return bool(comparable(kind, a) == comparable(kind, b))
    except (KeyError, TypeError):
        return False


def submit_answer(store: Store, view: WorkView, person: str, value: dict[str, Any], *,
                  seconds: float, blind_phase: bool = False) -> Annotation:
    """Store the person's answer with its time and what they saw.

    ``blind_phase`` stores the first, unassisted answer of a blind-first task (the task stays
    leased); the final answer after the reveal says whether it was revised and whether it
    switched to the suggestion.
    """
    visible = view.has_suggestion and not blind_phase and not view.hides_suggestion
    meta: dict[str, Any] = {"accepted_suggestion": visible and matches_suggestion(view, value)}
    if view.blind_answer is not None and not blind_phase:
        revised = not _same(view.kind, view.blind_answer, value)
        meta["revised_after_reveal"] = revised
        meta["switched_to_suggestion"] = revised and matches_suggestion(view, value)
    trace = trace_of(view, value, blind_phase=blind_phase)
    if trace is not None:
        meta[CHOICE] = trace
    provenance = Provenance(
        annotator_id=person, annotator_kind="human", guideline_version=view.guideline_version,
        human_seconds=round(max(seconds, 0.0), 3), suggestion_visible=visible,
        suggestion_id=view.suggestion_id if visible else None, source="ui", meta=meta)
    if blind_phase:
        _set_aside_first_answers_of_others(store, view.task_id, person)
    return submit_annotation(store, view.task_id, value, provenance,
                             phase="blind" if blind_phase else "final")


def _set_aside_first_answers_of_others(store: Store, task_id: int, person: str) -> None:
    """A first answer someone committed on this task before leaving it (skip, closed tab)
    holds the task's blind key, and the queue's idempotent submit would hand it back as this
    person's answer: give it a key that names its author (it stays, as theirs)."""
    key = task_key(task_id, "blind")
    with store.session() as session:
        other = session.scalar(select(Annotation).where(Annotation.idempotency_key == key,
                                                        Annotation.annotator_id != person))
        if other is not None:
            other.idempotency_key = f"{key}:{other.annotator_id}:{other.id}"


def skip_task(store: Store, view: WorkView, person: str) -> None:
    """Give the task back to the queue (no attempt used)."""
    # the lease may have expired or the task be gone: then there is nothing to give back
    with suppress(Conflict, NotFound):
        release_task(store, view.task_id, person)


def keep_alive(store: Store, view: WorkView, person: str, seconds: int | None = None) -> None:
    """Extend the lease while the person is still on the task (by ``seconds``, else by the
    policy's lease)."""
    extend_lease(store, view.task_id, person, seconds or view.lease_seconds)


def undo_submit(store: Store, person: str, annotation_id: int, *,
                lease_seconds: int = 300) -> tuple[int, dict[str, Any]]:
    """Take back the person's last answer: delete it, lease its task to them again and
    drop follow-up tasks it caused that nobody started. Return the task and the answer."""
    with store.session() as session:
        annotation = session.get(Annotation, annotation_id)
        if annotation is None or annotation.annotator_id != person or annotation.task_id is None:
            raise NotFound("nothing of yours to undo")
        task = session.scalar(select(Task).where(Task.id == annotation.task_id)
                              .with_for_update())
        if task is None or task.status != "done":
            raise Conflict("that answer can no longer be undone")
        follow_ups = session.scalars(select(Task).where(
            Task.item_id == annotation.item_id, Task.role.in_(FOLLOW_UP_ROLES),
            Task.created_at >= annotation.created_at)).all()
        if any(t.status != "pending" for t in follow_ups):
            raise Conflict("the item has already gone on to review; ask an owner to change it")
        if follow_ups:
            session.execute(delete(Task).where(Task.id.in_([t.id for t in follow_ups])))
        value = dict(annotation.value)
        session.delete(annotation)
        now = utcnow()
        task.status, task.lease_owner, task.done_at = "leased", person, None
        task.lease_expires_at = now + timedelta(seconds=lease_seconds)
        task.updated_at = now
        return task.id, value


@dataclass(frozen=True)
class MyAnswer:
    annotation_id: int
    item_id: int
    external_id: str
    value: dict[str, Any]
    seconds: float | None
    phase: str


def my_recent_answers(session: Session, person: str, project_id: int,
                      limit: int = 10) -> list[MyAnswer]:
    """The person's own latest answers in a project (never anyone else's)."""
    rows = session.execute(
        select(Annotation.id, Annotation.item_id, Item.external_id, Annotation.value,
               Annotation.human_seconds, Annotation.phase)
        .join(Item, Item.id == Annotation.item_id)
        .where(Annotation.annotator_id == person, Annotation.annotator_kind == "human",
               Annotation.project_id == project_id)
        .order_by(Annotation.id.desc()).limit(limit))
    return [MyAnswer(annotation_id=r[0], item_id=r[1], external_id=r[2], value=r[3],
                     seconds=r[4], phase=r[5]) for r in rows]

