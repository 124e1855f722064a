"""The one adapter from the database to the agreement module's plain frames.

Reports, dashboards, pilots, replays and distillation all read a project's answers through
:func:`annotations_frame`, and every answer's ``label`` is its task kind's one projection
(:meth:`annotate.kinds.base.TaskKind.label`), so the same data gives the same agreement
wherever it is shown. An empty multilabel or spans answer is the label ``(none)``
everywhere; a moderator's "none of them" has no label.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.kinds.registry import label_of
from annotate.store.models import Annotation, Item, Project

__all__ = ["COLUMNS", "annotations_frame", "label_of", "latest_answers"]

COLUMNS = ["item_pk", "item_id", "annotator", "annotator_kind", "role", "phase", "value",
           "label", "confidence", "rationale", "text"]


def annotations_frame(session: Session, project: Project, *, feature: str | None = None,
                      unbiased: bool = False) -> pd.DataFrame:
    """Every final answer of the project, in the order given: ``item_pk`` (the item's row id),
    ``item_id`` (its external id), annotator, annotator_kind, role, phase, value, label,
    confidence, rationale, text.

    ``unbiased``: people's annotator answers made before they saw a suggestion (blind-first
    answers, and final answers given without one) instead of the assisted final answers, so
    human-LLM agreement is measured before anyone saw the LLM's answer."""
    rows = session.execute(
        select(Annotation.item_id, Item.external_id, Annotation.annotator_id,
               Annotation.annotator_kind, Annotation.role, Annotation.phase, Annotation.value,
               Annotation.confidence, Annotation.rationale, Item.text,
               Annotation.suggestion_visible)
        .join(Item, Item.id == Annotation.item_id)
        .where(Annotation.project_id == project.id)
        .order_by(Annotation.id)
    ).all()
    kept = []
    for (item_pk, item_id, who, kind, role, phase, value, confidence, rationale, text,
         visible) in rows:
        if unbiased and kind == "human" and role == "annotator":
            if phase == "final" and visible:
                continue  # an assisted answer: its blind twin (if any) is kept instead
        elif phase != "final":
            continue
        kept.append((item_pk, item_id, who, kind, role, phase, value,
                     label_of(project.kind, value, feature), confidence, rationale, text))
    return pd.DataFrame(kept, columns=COLUMNS)


def latest_answers(frame: pd.DataFrame) -> pd.DataFrame:
    """One answer per item, annotator and role: the latest one (e.g. after two imports), in
    the place of the first."""
    latest: dict[tuple[Any, Any, Any], int] = {}
    for position, key in enumerate(zip(frame["item_pk"], frame["annotator"], frame["role"],
                                       strict=True)):
        latest[key] = position
    return frame.iloc[list(latest.values())].reset_index(drop=True)
