"""A project's final answers under its policy's ``aggregation``, read from the database.

Export, review, distillation and the report make final labels the same way: a moderator's
or adjudicator's decision first, else the aggregate of the annotations by the method the
project's routing policy names (``majority`` or ``dawid_skene``,
:func:`annotate.agreement.aggregate.final_labels`). Here the aggregate's labels become the
answers they stand for (the first answer on the item with that label), which is what the
exporters and the review page show.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from annotate.agreement.aggregate import Method, final_labels
from annotate.agreement.frames import annotations_frame, latest_answers
from annotate.agreement.table import DECISION_ROLES
from annotate.projects.catalog import project_policy
from annotate.store.models import Project

COUNTED_ROLES = ("annotator", *sorted(DECISION_ROLES))
FinalAnswer = tuple[dict[str, Any] | None, str]
"""An item's final value (None when unresolved) and its source: ``adjudicator``,
``moderator``, ``majority``, ``dawid_skene`` or ``unresolved``."""


def policy_aggregation(project: Project) -> Method:
    """The aggregation method the project's routing policy names."""
    return project_policy(project).aggregation


def final_answers(frame: pd.DataFrame, method: Method) -> dict[str, FinalAnswer]:
    """Per item (external id) of an :func:`annotations_frame`, its final value and source."""
    answers = latest_answers(frame).dropna(subset=["label"])
    answers = answers[answers["role"].isin(COUNTED_ROLES)]  # not a Helper's candidates
    if answers.empty:
        return {}
    finals = final_labels(answers, method)
    first = answers.drop_duplicates(["item_id", "label"])
    value_of = dict(zip(zip(first["item_id"], first["label"], strict=True), first["value"],
                        strict=True))
    anywhere = dict(zip(first["label"], first["value"], strict=True))  # a label nobody on
    out: dict[str, FinalAnswer] = {}  # the item gave (Dawid-Skene may infer one)
    for item_id, label, source in zip(finals["item_id"], finals["label"], finals["source"],
                                      strict=True):
        if source == "unresolved" or pd.isna(label):
            out[str(item_id)] = (None, "unresolved")
            continue
        value = value_of.get((item_id, label), anywhere.get(label))
        out[str(item_id)] = (value, str(source))
    return out


def project_final_answers(session: Session, project: Project,
                          method: Method | None = None) -> dict[str, FinalAnswer]:
    """Every item's final answer under ``method`` (default: the project's policy)."""
    return final_answers(annotations_frame(session, project),
                         method or policy_aggregation(project))


def aggregated_values(session: Session, project: Project) -> dict[str, dict[str, Any]] | None:
    """For exporters: the values the project's aggregation gives the items nobody decided,
    by external id, when the policy aggregates by Dawid-Skene; None under majority (each
    exporter counts an item's votes itself, a batch at a time)."""
    method = policy_aggregation(project)
    if method == "majority":
        return None
    return {item_id: value for item_id, (value, source) in
            project_final_answers(session, project, method).items()
            if source == method and value is not None}
