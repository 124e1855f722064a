"""From the database to the agreement module's plain tables, and the project summaries.

The agreement module works on long-form frames; :mod:`annotate.agreement.frames` builds
them from a project's annotations (one row per final answer, decisions by moderators and
adjudicators tagged by ``role``) and this module computes what the demo and
`annotate report` print on top of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from annotate.agreement import frames
from annotate.agreement.frames import label_of
from annotate.kinds.registry import get_kind
from annotate.projects.catalog import project_schema
from annotate.store.models import Project

__all__ = ["AgreementOverview", "agreement_overview", "annotations_frame", "label_of",
           "label_table", "write_project_report"]

THRESHOLDS = (0.0, 0.5, 0.7, 0.8, 0.9)
REPORT_COLUMNS = ["annotator", "annotator_kind", "role", "value", "confidence", "rationale",
                  "item_id", "text", "label"]


def annotations_frame(session: Session, project: Project) -> pd.DataFrame:
    """Every final answer: item_id, annotator, annotator_kind, role, value, label, confidence,
    rationale, text (:func:`annotate.agreement.frames.annotations_frame`)."""
    return frames.annotations_frame(session, project)[REPORT_COLUMNS]


def label_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The long form the agreement module takes, one answer per annotator and item (the
    latest one when an annotator answered twice, e.g. through two imports)."""
    labels = frame.dropna(subset=["label"])
    labels = labels.drop_duplicates(subset=["item_id", "annotator", "role"], keep="last")
    return labels[["item_id", "annotator", "annotator_kind", "role", "label", "rationale",
                   "confidence", "text"]].reset_index(drop=True)


def accuracy_at_coverage(frame: pd.DataFrame,
                         thresholds: tuple[float, ...] = THRESHOLDS) -> list[dict[str, float]]:
    """The LLM annotator's accuracy against the human majority at confidence thresholds:
    coverage = share of its labels at or above the threshold, accuracy among those."""
    from annotate.agreement.human_llm import human_majority_pairs

    table = label_table(frame[frame["role"] == "annotator"])
    pairs = human_majority_pairs(table)
    if pairs.empty:
        return []
    conf = table[table["annotator_kind"] == "llm"][["item_id", "annotator", "confidence"]]
    pairs = pairs.merge(conf, on=["item_id", "annotator"], how="left")
    pairs["confidence"] = pairs["confidence"].fillna(0.0)
    top = pairs["human_label"].value_counts().index[0]  # majority class, shown beside accuracy
    out = []
    for t in thresholds:
        kept = pairs[pairs["confidence"] >= t]
        out.append({"threshold": t, "coverage": len(kept) / len(pairs),
                    "accuracy": float((kept["human_label"] == kept["llm_label"]).mean())
                    if len(kept) else float("nan"), "n": float(len(kept)),
                    "majority_share": float((kept["human_label"] == top).mean())
                    if len(kept) else float("nan")})
    return out


@dataclass
class AgreementOverview:
    """Human-LLM agreement on a project, as the demo prints it."""

    n_items: int
    alpha_humans: float | None
    alpha_all: float | None
    llm_accuracy: float | None
    llm_items: int
    coverage: list[dict[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    llm_majority_share: float | None = None  # always the most common label, same items


def agreement_overview(session: Session, project: Project) -> AgreementOverview:
    from annotate.agreement import krippendorff_alpha, llm_vs_human_majority

    frame = annotations_frame(session, project)
    table = label_table(frame[frame["role"] == "annotator"])
    if table.empty:
        return AgreementOverview(0, None, None, None, 0, notes=["no labels yet"])
    humans = table[table["annotator_kind"] == "human"]
    alpha_h = krippendorff_alpha(humans) if not humans.empty else None
    alpha_a = krippendorff_alpha(table)
    match = llm_vs_human_majority(table)
    notes = [r for r in (getattr(alpha_h, "reason", None), alpha_a.reason) if r]
    accuracy = float((match["match_rate"] * match["n_items"]).sum() / match["n_items"].sum()) \
        if not match.empty else None
    return AgreementOverview(
        n_items=int(table["item_id"].nunique()),
        alpha_humans=alpha_h.value if alpha_h is not None else None,
        alpha_all=alpha_a.value, llm_accuracy=accuracy,
        llm_items=int(match["n_items"].sum()) if not match.empty else 0,
        coverage=accuracy_at_coverage(frame), notes=notes,
        llm_majority_share=float((match["majority_share"] * match["n_items"]).sum()
                                 / match["n_items"].sum()) if not match.empty else None)


def write_project_report(session: Session, project: Project, out_dir: Path,
                         bootstrap: int = 1000, aggregation: str = "majority") -> Any:
    """The agreement report (HTML + CSV + JSON) of a project's annotations; ``aggregation``:
    how the final labels are made (majority or dawid_skene)."""
    from annotate.agreement.report import write_report

    schema = project_schema(project)
    frame = annotations_frame(session, project)
    kwargs: dict[str, Any] = {"task_kind": project.kind, "title": f"Agreement: {project.name}",
                              "bootstrap": bootstrap, "aggregation": aggregation}
    measure = get_kind(project.kind).agreement
    if measure == "labels":
        kwargs["labels"] = labels = label_table(frame)
        order = schema.labels or schema.choices()
        if set(labels["label"]) <= set(order):  # not for "a|b" multilabel or ranking labels
            kwargs["order"] = order
    elif measure == "spans":
        from annotate.agreement.human_llm import failed_llm_items

        kwargs["spans"] = span_pairs(frame, failed=failed_llm_items(session, project))
    elif measure == "ratings":
        kwargs["ratings"] = rating_table(frame)
        kwargs["rating_scales"] = {f.name: list(f.scale) for f in schema.features}
    return write_report(out_dir, **kwargs)


def span_pairs(frame: pd.DataFrame, failed: Sequence[str] = ()) -> pd.DataFrame:
    """(item_id, reference, predicted): the human (or gold) spans against each LLM's;
    ``failed``: items whose LLM answer failed (predicted None: all their entities missed)."""
    answers = frame[frame["role"] == "annotator"]
    rows = []
    for failed_id in failed:
        human = answers[(answers["item_id"] == failed_id)
                        & (answers["annotator_kind"] == "human")]
        if not human.empty:
            rows.append({"item_id": failed_id, "reference": human.iloc[0]["value"]["spans"],
                         "predicted": None})
    for item_id, group in answers.groupby("item_id", sort=False):
        human = group[group["annotator_kind"] == "human"]
        llm = group[group["annotator_kind"] == "llm"]
        if human.empty or llm.empty:
            continue
        reference = human.iloc[0]["value"]["spans"]
        for _, row in llm.iterrows():
            rows.append({"item_id": item_id, "reference": reference,
                         "predicted": row["value"]["spans"]})
    return pd.DataFrame(rows, columns=["item_id", "reference", "predicted"])


def rating_table(frame: pd.DataFrame) -> pd.DataFrame:
    answers = frame[frame["role"] == "annotator"]
    return pd.DataFrame({"item_id": answers["item_id"], "annotator": answers["annotator"],
                         "annotator_kind": answers["annotator_kind"],
                         "ratings": [v.get("ratings", {}) for v in answers["value"]]})

