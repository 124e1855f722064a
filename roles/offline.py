"""Labelling outside the queue: the annotator role on given texts or stored items, under the
saved guideline or a draft one, with nothing stored as an annotation.

Used by the guideline playground, pilots, replay and the Label Studio ML backend. The model
is passed in by the edge that read the settings; nothing here reads the environment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from annotate.llm.client import make_client
from annotate.llm.types import LLMClient
from annotate.projects.catalog import guideline_hash
from annotate.store.engine import Store
from annotate.store.models import Item, Project
from roles.annotator import Label, label_text
from roles.base import Attempt, ProjectContext, RoleContext, RoleFailure, guideline_examples
from roles.distilled import is_distilled, label_distilled


def annotate_texts(store: Store, project: str, texts: Sequence[str], *, model: str,
                   guideline: str | None = None, llm: LLMClient | None = None,
                   ) -> list[Label | RoleFailure]:
    """Label texts outside the queue (guideline playground, Label Studio backend, pilots),
    optionally under a draft ``guideline`` that is not saved yet."""
    context = _draft_context(ProjectContext.load(store, project), guideline)
    client = llm or make_client(store, context.project_id, model)
    ctx = RoleContext(store=store, llm=client, project=context, model=model)
    if is_distilled(model):
        return list(label_distilled(ctx, list(texts)))  # one batch of embeddings
    return [label_text(ctx, text, {}, {}, Attempt(role="annotator")) for text in texts]


@dataclass(frozen=True)
class ItemOutput:
    """One playground output: the value (or the error) for an item; nothing is stored."""

    item_id: int
    value: dict[str, Any] | None
    rationale: str | None = None
    confidence: float | None = None
    error: str | None = None
    confidence_raw: float | None = None  # the estimator's signal before calibration
    estimator: str | None = None


def annotate_items(store: Store, project_id: int, item_ids: Sequence[int], *,
                   model: str, guideline: str | None = None,
                   llm: LLMClient | None = None) -> list[ItemOutput]:
    """The guideline playground's call: label stored items under a draft guideline."""
    with store.session() as session:
        name = session.scalars(select(Project.name).where(Project.id == project_id)).one()
        items = {i.id: (i.text, dict(i.data or {}), dict(i.meta or {})) for i in
                 session.scalars(select(Item).where(Item.id.in_(list(item_ids))))}
    context = _draft_context(ProjectContext.load(store, name), guideline)
    ctx = RoleContext(store=store, llm=llm or make_client(store, project_id, model),
                      project=context, model=model, worker_id="playground")
    outputs = []
    batch = label_distilled(ctx, [items[i][0] for i in item_ids],
                            [items[i][1] for i in item_ids]) if is_distilled(model) else None
    for index, item_id in enumerate(item_ids):
        text, data, meta = items[item_id]
        result = batch[index] if batch is not None \
            else label_text(ctx, text, data, meta, Attempt(role="annotator"))
        if isinstance(result, RoleFailure):
            outputs.append(ItemOutput(item_id, None, error=f"{result.kind}: {result.message}"))
        else:
            outputs.append(ItemOutput(item_id, result.value, result.rationale,
                                      result.confidence, confidence_raw=result.confidence_raw,
                                      estimator=result.estimator))
    return outputs


def _draft_context(context: ProjectContext, guideline: str | None) -> ProjectContext:
    if guideline is None:
        return context
    return dataclasses.replace(
        context, guideline=guideline, guideline_version=guideline_hash(guideline),
        examples=tuple(guideline_examples(guideline, context.schema)))
