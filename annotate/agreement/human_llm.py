"""LLM answers against the human majority: a confusion table and each LLM's match rate.

The human majority is the majority vote of the human annotations with ties left unresolved;
items without a unique human majority are left out of both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from annotate.agreement.aggregate import majority_vote
from annotate.agreement.table import annotation_rows

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from annotate.store.models import Project


def human_majority_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per LLM annotation of an item that has a unique human majority:
    ``item_id, annotator, human_label, llm_label``."""
    rows = annotation_rows(frame)
    columns = ["item_id", "annotator", "human_label", "llm_label"]
    if "annotator_kind" not in rows.columns:
        return pd.DataFrame(columns=columns)
    human = rows[rows["annotator_kind"] == "human"]
    llm = rows[rows["annotator_kind"] == "llm"]
    if human.empty or llm.empty:
        return pd.DataFrame(columns=columns)
    majority = majority_vote(human).dropna(subset=["label"])
    joined = llm.merge(majority[["item_id", "label"]], on="item_id", suffixes=("_llm", "_human"))
    return pd.DataFrame({"item_id": joined["item_id"], "annotator": joined["annotator"],
                         "human_label": joined["label_human"].astype(str),
                         "llm_label": joined["label_llm"].astype(str)})[columns]


def human_llm_confusion(frame: pd.DataFrame, order: Sequence[object] | None = None
                        ) -> pd.DataFrame:
    """Counts: rows = human majority label, columns = LLM label (all LLM annotators pooled)."""
    pairs = human_majority_pairs(frame)
    if pairs.empty:
        return pd.DataFrame()
    table = pd.crosstab(pairs["human_label"], pairs["llm_label"])
    labels = sorted(set(table.index) | set(table.columns))
    if order:
        rank = {str(o): i for i, o in enumerate(order)}
        labels.sort(key=lambda label: (rank.get(label, len(rank)), label))
    table = table.reindex(index=labels, columns=labels, fill_value=0)
    table.index.name = "human majority"
    table.columns.name = "LLM"
    return table


def llm_vs_human_majority(frame: pd.DataFrame) -> pd.DataFrame:
    """Per LLM annotator: items compared and the share matching the human majority."""
    pairs = human_majority_pairs(frame)
    if pairs.empty:
        return pd.DataFrame(columns=["annotator", "n_items", "match_rate"])
    match = pairs["human_label"] == pairs["llm_label"]
    grouped = match.groupby(pairs["annotator"])
    return pd.DataFrame({"annotator": grouped.size().index, "n_items": grouped.size().to_numpy(),
                         "match_rate": grouped.mean().to_numpy()})


def failed_llm_items(session: Session, project: Project) -> list[str]:
    """External ids of the items whose LLM annotator task failed for good and which have no
    LLM annotator answer: their answer failed, and a report must count it, not drop it."""
    from sqlalchemy import select

    from annotate.store.models import Annotation, Item, Task

    answered = select(Annotation.item_id).where(
        Annotation.project_id == project.id, Annotation.annotator_kind == "llm",
        Annotation.role == "annotator")
    return list(session.scalars(
        select(Item.external_id).join(Task, Task.item_id == Item.id).where(
            Task.project_id == project.id, Task.role == "annotator", Task.worker_kind == "llm",
            Task.status == "failed", Task.item_id.not_in(answered))
        .distinct().order_by(Item.external_id)))
