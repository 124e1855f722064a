"""A person's own answers in a project, page by page, and changing one of them.

Changing an answer keeps the old one: it moves to ``annotation_revisions`` (value, guideline
version, seconds, when it was given, when and by whom it was replaced) and the annotation
takes the new value, so every reader (agreement, export, routing) counts the item's answer
once, and the whole history stays in the database (as Label Studio's annotation history).

An answer can be changed only by its author, only while nothing downstream has used it:
not once a moderator, adjudicator or reviewer has started on the item or answered it, and
not a blind-first answer before the reveal (the revised answer after the reveal can be).
After a change, follow-up tasks nobody started are dropped and the item is routed again
(a new disagreement escalates, a settled one does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from annotate.errors import Conflict, NotFound
from annotate.kinds.schema import LabelSchema, validate_value
from annotate.projects.catalog import project_policy, project_schema
from annotate.queue.routing import after_annotators_done
from annotate.services.choice_trace import retraced
from annotate.store.engine import Store
from annotate.store.models import (
    Annotation,
    AnnotationRevision,
    GuidelineVersion,
    Item,
    Project,
    Task,
    utcnow,
)

FOLLOW_UP_ROLES = ("moderator", "adjudicator")
PAGE = 10


@dataclass(frozen=True)
class PastAnswer:
    annotation_id: int
    item_id: int
    external_id: str
    text: str
    kind: str
    value: dict[str, Any]
    seconds: float | None
    phase: str
    given_at: datetime
    revisions: int  # how many times it was changed
    locked: str | None  # why it can no longer be changed (None: it can)


@dataclass(frozen=True)
class HistoryPage:
    answers: tuple[PastAnswer, ...]
    page: int
    pages: int
    total: int


def _locked(session: Session, annotation: Annotation) -> str | None:
    """Why this answer can no longer be changed, or None."""
    if annotation.annotator_kind != "human" or annotation.role != "annotator":
        return "only your own answers as an annotator can be changed here"
    if annotation.phase != "final":
        return "a blind-first answer is kept as it was; revise the answer after the reveal"
    decided = session.scalar(select(func.count()).select_from(Annotation).where(
        Annotation.item_id == annotation.item_id, Annotation.role.in_(FOLLOW_UP_ROLES)))
    started = session.scalar(select(func.count()).select_from(Task).where(
        Task.item_id == annotation.item_id, Task.role.in_(FOLLOW_UP_ROLES),
        Task.status.notin_(("pending", "cancelled"))))
    if decided or started:
        return "the item has gone on to adjudication; ask an owner to change it"
    return None


def my_answers(session: Session, person: str, project_id: int, page: int = 0,
               per_page: int = PAGE) -> HistoryPage:
    """One page of the person's own answers in the project, newest first."""
    mine = (Annotation.annotator_id == person, Annotation.annotator_kind == "human",
            Annotation.project_id == project_id)
    total = int(session.scalar(select(func.count()).select_from(Annotation).where(*mine)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    rows = session.scalars(select(Annotation).where(*mine).order_by(Annotation.id.desc())
                           .offset(page * per_page).limit(per_page)).all()
    ids = [r.id for r in rows]
    changed = dict(session.execute(
        select(AnnotationRevision.annotation_id, func.count())
        .where(AnnotationRevision.annotation_id.in_(ids))
        .group_by(AnnotationRevision.annotation_id)).all()) if ids else {}
    kind = session.get_one(Project, project_id).kind
    items = {i.id: i for i in session.scalars(
        select(Item).where(Item.id.in_([r.item_id for r in rows])))} if rows else {}
    answers = tuple(PastAnswer(
        annotation_id=r.id, item_id=r.item_id, external_id=items[r.item_id].external_id,
        text=items[r.item_id].text, kind=kind, value=dict(r.value), seconds=r.human_seconds,
        phase=r.phase, given_at=r.created_at, revisions=int(changed.get(r.id, 0)),
        locked=_locked(session, r)) for r in rows)
    return HistoryPage(answers=answers, page=page, pages=pages, total=total)


@dataclass(frozen=True)
class ChangeView:
    """What the page shows to change one answer."""

    annotation_id: int
    project_id: int
    kind: str
    schema: LabelSchema
    external_id: str
    text: str
    data: dict[str, Any]
    value: dict[str, Any]
    given_at: datetime
    earlier: tuple[dict[str, Any], ...]  # earlier versions, oldest first
    locked: str | None


def answer_to_change(session: Session, person: str, annotation_id: int) -> ChangeView:
    """One of the person's answers, with its item, to change (NotFound for anyone else)."""
    annotation = session.get(Annotation, annotation_id)
    if annotation is None or annotation.annotator_id != person:
        raise NotFound("no answer of yours with that id")
    project = session.get_one(Project, annotation.project_id)
    item = session.get_one(Item, annotation.item_id)
    return ChangeView(
        annotation_id=annotation.id, project_id=project.id, kind=project.kind,
        schema=project_schema(project), external_id=item.external_id, text=item.text,
        data=dict(item.data or {}), value=dict(annotation.value),
        given_at=annotation.created_at,
        earlier=tuple(dict(r.value) for r in revisions_of(session, annotation.id)),
        locked=_locked(session, annotation))


def revisions_of(session: Session, annotation_id: int) -> list[AnnotationRevision]:
    """The earlier versions of an answer, oldest first."""
    return list(session.scalars(select(AnnotationRevision).where(
        AnnotationRevision.annotation_id == annotation_id).order_by(AnnotationRevision.id)))


def change_answer(store: Store, person: str, annotation_id: int, value: dict[str, Any], *,
                  seconds: float | None = None) -> dict[str, Any]:
    """Replace the person's answer with ``value`` (checked against the project's schema);
    the old one is kept as a revision. Return the stored value."""
    with store.session() as session:
        annotation = session.get(Annotation, annotation_id, with_for_update=True)
        if annotation is None or annotation.annotator_id != person:
            raise NotFound("no answer of yours with that id")
        reason = _locked(session, annotation)
        if reason:
            raise Conflict(f"this answer can no longer be changed: {reason}")
        project = session.get_one(Project, annotation.project_id)
        item = session.get_one(Item, annotation.item_id)
        clean = validate_value(project_schema(project), value, item.text)
        if clean == annotation.value:
            return dict(clean)
        now = utcnow()
        session.add(AnnotationRevision(
            annotation_id=annotation.id, value=dict(annotation.value),
            guideline_version=annotation.guideline_version,
            human_seconds=annotation.human_seconds, given_at=annotation.created_at,
            replaced_at=now, replaced_by=person))
        annotation.value = clean
        annotation.guideline_version = _current_guideline(session, project.id)
        if seconds is not None:
            annotation.human_seconds = (annotation.human_seconds or 0.0) + seconds
        annotation.meta = {**retraced(annotation.meta, project.kind, clean),
                           "changed_at": now.isoformat(),
                           "revisions": len(revisions_of(session, annotation.id))}
        session.execute(delete(Task).where(
            Task.item_id == annotation.item_id, Task.role.in_(FOLLOW_UP_ROLES),
            Task.status == "pending"))
        session.flush()
        after_annotators_done(session, project.id, project.kind, project_policy(project),
                              annotation.item_id)
        return dict(clean)


def _current_guideline(session: Session, project_id: int) -> str | None:
    return session.scalar(select(GuidelineVersion.version)
                          .where(GuidelineVersion.project_id == project_id)
                          .order_by(GuidelineVersion.id.desc()).limit(1))
