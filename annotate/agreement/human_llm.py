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


MATCH_COLUMNS = ["annotator", "n_items", "match_rate", "majority_label", "majority_share"]


def llm_vs_human_majority(frame: pd.DataFrame) -> pd.DataFrame:
    """Per LLM annotator: items compared, the share matching the human majority, and beside
    it the majority-class baseline on the same items: the most common human-majority label
    among them (``majority_label``) and the share of them it is (``majority_share``) - what
    always answering that one label would score."""
    pairs = human_majority_pairs(frame)
    if pairs.empty:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    rows = []
    for annotator, group in pairs.groupby("annotator", sort=True):
        label, share = majority_class(group["human_label"])
        rows.append({"annotator": annotator, "n_items": len(group),
                     "match_rate": float((group["human_label"] == group["llm_label"]).mean()),
                     "majority_label": label, "majority_share": share})
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


def majority_class(labels: pd.Series) -> tuple[str, float]:
    """The most common label (a tie: the first in spelling order) and its share."""
    counts = labels.astype(str).value_counts()
    top = sorted(counts[counts == counts.max()].index)[0]
    return str(top), float(counts[top] / counts.sum())


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
