"""Review and adjudication: items whose answers disagree, side by side, and the final answer.

Every answer is shown, numbered ("Answer 1", "Answer 2": numbers, so they cannot be taken for
a pair's A/B options), with a tally per distinct answer. Answers are anonymised (no
human/LLM tag) unless the project's policy sets ``show_sources_in_review``. The Moderator's
pick and rationale are shown beside them. The reviewer's final answer is stored as an
``adjudicator`` annotation (through the queue when the routing policy opened an adjudication
task for the item), and the agreement module's ``final_labels`` puts it before every other
answer. Until someone decides, the item's final answer is the aggregate of its answers by
the project's policy (``aggregation``: majority or Dawid-Skene), as export takes it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import String, cast, func, or_, select, update
from sqlalchemy.orm import Session

from annotate.errors import Conflict, NotFound
from annotate.kinds.schema import LabelSchema, comparable, validate_value
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import Provenance, submit_annotation
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Project, Task, utcnow

OPEN = ("pending", "leased")


@dataclass(frozen=True)
class ReviewRow:
    item_id: int
    external_id: str
    snippet: str
    n_answers: int
    n_distinct: int
    open_adjudication: bool
    decided: bool


@dataclass(frozen=True)
class ReviewAnswer:
    """One answer as the reviewer sees it, numbered from 1."""

    number: int
    value: dict[str, Any]
    source: str | None  # annotator and kind, None when anonymised
    rationale: str | None
    confidence: float | None
    seconds: float | None


@dataclass(frozen=True)
class ModeratorPick:
    value: dict[str, Any]
    picks: str | None  # the number of the first answer it matches, "none", or None
    rationale: str | None
    confidence: float | None
    model: str | None


@dataclass(frozen=True)
class TallyRow:
    """One distinct answer and the answers that gave it."""

    value: dict[str, Any]
    numbers: tuple[int, ...]

    @property
    def votes(self) -> int:
        return len(self.numbers)


@dataclass(frozen=True)
class ReviewView:
    item_id: int
    external_id: str
    text: str
    data: dict[str, Any]
    kind: str
    schema: LabelSchema
    answers: tuple[ReviewAnswer, ...]
    moderator: tuple[ModeratorPick, ...]
    decision: dict[str, Any] | None
    decided_by: str | None
    open_task_id: int | None
    show_sources: bool
    tally: tuple[TallyRow, ...] = ()
    final: dict[str, Any] | None = None
    """The item's final answer as export and distillation take it: the decision, else the
    aggregate of the answers by the project's policy (``aggregation``)."""
    final_source: str = "none"  # adjudicator, moderator, majority, dawid_skene, unresolved


def tally(kind: str, answers: tuple[ReviewAnswer, ...]) -> tuple[TallyRow, ...]:
    """The distinct answers (compared as the kind compares them), most votes first, ties in
    the order they were first given."""
    groups: dict[Hashable, list[ReviewAnswer]] = {}
    for answer in answers:
        try:
            key: Hashable = ("v", comparable(kind, answer.value))
        except (KeyError, TypeError):  # a malformed answer stands alone
            key = ("n", answer.number)
        groups.setdefault(key, []).append(answer)
    rows = [TallyRow(value=group[0].value, numbers=tuple(a.number for a in group))
            for group in groups.values()]
    return tuple(sorted(rows, key=lambda r: (-r.votes, r.numbers[0])))


def _disagreeing_items(project_id: int) -> Any:
    distinct = func.count(func.distinct(cast(Annotation.value, String)))
    return (select(Annotation.item_id.label("item_id"), func.count().label("n"),
                   distinct.label("d"))
            .where(Annotation.project_id == project_id, Annotation.role == "annotator",
                   Annotation.phase == "final")
            .group_by(Annotation.item_id).having(distinct > 1))


def review_queue(session: Session, project_id: int, *, limit: int = 50,
                 undecided_only: bool = False) -> list[ReviewRow]:
    """Items to review: open adjudication tasks first, then other items whose answers differ."""
    counts = _disagreeing_items(project_id).subquery()
    open_adj = (select(Task.item_id).where(Task.project_id == project_id,
                                           Task.role == "adjudicator",
                                           Task.status.in_(OPEN)))
    decided = (select(Annotation.item_id).where(Annotation.project_id == project_id,
                                                Annotation.role == "adjudicator"))
    is_open = Item.id.in_(open_adj)
    is_decided = Item.id.in_(decided)
    stmt = (select(Item.id, Item.external_id, func.substr(Item.text, 1, 120), counts.c.n,
                   counts.c.d, is_open, is_decided)
            .outerjoin(counts, counts.c.item_id == Item.id)
            .where(Item.project_id == project_id, or_(counts.c.item_id.is_not(None), is_open))
            .order_by(is_open.desc(), Item.id).limit(limit))
    if undecided_only:
        stmt = stmt.where(~is_decided)
    return [ReviewRow(item_id=r[0], external_id=r[1], snippet=r[2], n_answers=int(r[3] or 0),
                      n_distinct=int(r[4] or 0), open_adjudication=bool(r[5]),
                      decided=bool(r[6]))
            for r in session.execute(stmt)]


def review_item(session: Session, project_id: int, item_id: int) -> ReviewView:
    """The item, its answers (anonymised per policy), the Moderator's picks, the decision."""
    item = session.get(Item, item_id)
    project = session.get(Project, project_id)
    if item is None or project is None or item.project_id != project_id:
        raise NotFound(f"no item {item_id} in this project")
    policy = RoutingPolicy.model_validate(project.policy_json)
    rows = session.scalars(select(Annotation).where(Annotation.item_id == item_id)
                           .order_by(Annotation.id)).all()
    answers = tuple(
        ReviewAnswer(number=i + 1, value=a.value,
                     source=(f"{a.annotator_id} ({a.annotator_kind}"
                             + (f", {a.model}" if a.model else "") + ")")
                     if policy.show_sources_in_review else None,
                     rationale=a.rationale, confidence=a.confidence, seconds=a.human_seconds)
        for i, a in enumerate(r for r in rows if r.role == "annotator" and r.phase == "final"))
    picks = tuple(_pick(project.kind, a, answers) for a in rows if a.role == "moderator")
    decision = next((a for a in reversed(rows) if a.role == "adjudicator"), None)
    open_task = session.scalar(select(Task.id).where(
        Task.item_id == item_id, Task.role == "adjudicator", Task.status.in_(OPEN)).limit(1))
    return ReviewView(item_id=item.id, external_id=item.external_id, text=item.text,
                      data=dict(item.data or {}), kind=project.kind,
                      schema=LabelSchema.model_validate(project.schema_json), answers=answers,
                      moderator=picks, decision=decision.value if decision else None,
                      decided_by=decision.annotator_id if decision else None,
                      open_task_id=open_task, show_sources=policy.show_sources_in_review,
                      tally=tally(project.kind, answers),
                      **_final(session, project, item, rows, policy.aggregation))


def _final(session: Session, project: Project, item: Item, rows: Sequence[Annotation],
           aggregation: str) -> dict[str, Any]:
    """``final`` and ``final_source`` of the item: Dawid-Skene needs every item of the
    project; the majority (and any decision) needs this item's answers only."""
    import pandas as pd

    from annotate.agreement.frames import COLUMNS, label_of
    from annotate.agreement.project_finals import final_answers

    if aggregation == "dawid_skene":
        answers = _project_finals(session, project)
    else:
        frame = pd.DataFrame([(item.id, item.external_id, a.annotator_id, a.annotator_kind,
                               a.role, a.phase, a.value, label_of(project.kind, a.value),
                               a.confidence, a.rationale, item.text)
                              for a in rows if a.phase == "final"], columns=COLUMNS)
        answers = final_answers(frame, "majority")
    final, source = answers.get(item.external_id, (None, "none"))
    return {"final": final, "final_source": source}


_FINALS: dict[tuple[str, int], tuple[Hashable, Any]] = {}
"""Per (database, project): the version of its answers and the Dawid-Skene final answers
fitted on it, so that reviewing item after item fits the project once, not once per item."""


def _project_finals(session: Session, project: Project) -> Any:
    """The project's Dawid-Skene final answers, refitted only when its answers changed: one
    was added, passed on or changed from its author's history (the count and last id of its
    final answers, and the count of their revisions)."""
    from annotate.agreement.project_finals import project_final_answers
    from annotate.store.models import AnnotationRevision

    finals = select(func.count(), func.max(Annotation.id)).where(
        Annotation.project_id == project.id, Annotation.phase == "final")
    revised = (select(func.count()).select_from(AnnotationRevision)
               .join(Annotation, Annotation.id == AnnotationRevision.annotation_id)
               .where(Annotation.project_id == project.id))
    version = (*session.execute(finals).one(), session.scalar(revised))
    key = (str(session.get_bind().engine.url), project.id)
    cached = _FINALS.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    answers = project_final_answers(session, project, "dawid_skene")
    _FINALS[key] = (version, answers)
    return answers


def _pick(kind: str, moderator: Annotation, answers: tuple[ReviewAnswer, ...]) -> ModeratorPick:
    value = moderator.value or {}
    picks: str | None = None
    if value.get("decision") == "none":
        picks = "none"
    else:
        for answer in answers:
            try:
                if comparable(kind, answer.value) == comparable(kind, value):
                    picks = str(answer.number)
                    break
            except (KeyError, TypeError):
                break
    return ModeratorPick(value=value, picks=picks, rationale=moderator.rationale,
                         confidence=moderator.confidence, model=moderator.model)


def set_final_answer(store: Store, project_id: int, item_id: int, value: dict[str, Any],
                     reviewer: str, *, seconds: float | None = None) -> Annotation:
    """Store the reviewer's final answer for the item.

    When the routing policy opened an adjudication task for the item, the reviewer takes it
    and the answer completes it through the queue; otherwise the decision is stored directly
    (an owner overriding a settled item). A later decision replaces an earlier one.
    """
    prov = Provenance(annotator_id=reviewer, annotator_kind="human", human_seconds=seconds,
                      source="review")
    with store.session() as session:
        task_id = _take_adjudication(session, item_id, reviewer)
        if task_id is None:
            return _store_decision(session, project_id, item_id, value, prov)
    return submit_annotation(store, task_id, value, prov)


def _take_adjudication(session: Session, item_id: int, reviewer: str) -> int | None:
    task = session.scalar(select(Task).where(
        Task.item_id == item_id, Task.role == "adjudicator", Task.worker_kind == "human",
        Task.status.in_(OPEN)).order_by(Task.id).limit(1).with_for_update())
    if task is None:
        return None
    now = utcnow()
    held_by_other = (task.status == "leased" and task.lease_owner != reviewer
                     and task.lease_expires_at is not None and task.lease_expires_at > now)
    if held_by_other:
        raise Conflict(f"{task.lease_owner} is adjudicating this item right now")
    session.execute(update(Task).where(Task.id == task.id).values(
        status="leased", lease_owner=reviewer, lease_expires_at=now + timedelta(minutes=5),
        attempts=Task.attempts + (0 if task.lease_owner == reviewer else 1), updated_at=now))
    return task.id


def _store_decision(session: Session, project_id: int, item_id: int, value: dict[str, Any],
                    prov: Provenance) -> Annotation:
    project = session.get_one(Project, project_id)
    item = session.get_one(Item, item_id)
    clean = validate_value(LabelSchema.model_validate(project.schema_json), value, item.text)
    annotation = Annotation(
        project_id=project_id, item_id=item_id, task_id=None, annotator_id=prov.annotator_id,
        annotator_kind="human", role="adjudicator", value=clean, phase="final",
        human_seconds=prov.human_seconds, source=prov.source, created_at=utcnow(),
        params={}, meta={})
    session.add(annotation)
    session.flush()
    return annotation


@dataclass(frozen=True)
class SourceAgreement:
    """How often one person or model gave the answer that became final."""

    who: str
    kind: str  # "human" or "llm"
    compared: int  # their answers on items with a final answer
    agreed: int

    @property
    def share(self) -> float:
        return self.agreed / self.compared if self.compared else 0.0


def agreement_with_final(session: Session, project_id: int) -> list[SourceAgreement]:
    """Each annotator's (person or model) agreement with the reviewers' final answers so far,
    on the items that have one; answers compared by the kind's one label projection."""
    from annotate.agreement.frames import annotations_frame, latest_answers

    project = session.get_one(Project, project_id)
    frame = latest_answers(annotations_frame(session, project)).dropna(subset=["label"])
    finals = frame[frame["role"] == "adjudicator"].drop_duplicates("item_pk", keep="last")
    final = dict(zip(finals["item_pk"], finals["label"], strict=True))
    answers = frame[(frame["role"] == "annotator") & frame["item_pk"].isin(list(final))]
    out = []
    for (who, kind), rows in answers.groupby(["annotator", "annotator_kind"], sort=True):
        agreed = sum(final[pk] == label for pk, label in
                     zip(rows["item_pk"], rows["label"], strict=True))
        out.append(SourceAgreement(who=str(who), kind=str(kind), compared=len(rows),
                                   agreed=int(agreed)))
    return sorted(out, key=lambda a: (-a.compared, a.who))
