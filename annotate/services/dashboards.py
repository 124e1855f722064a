"""What the owner's dashboards show, read from the database; statistics come from
:mod:`annotate.agreement` (this module only builds its long-form input and collects results).

- :func:`progress`: tasks by role and state, answers per day, cost and budget left, and with
  a cascade the items decided and the cost per stage;
- :func:`answers_frame`: the long-form ``item_id, annotator, label, annotator_kind, role,
  rationale`` frame of a project (``unbiased=True`` takes people's blind-first answers, so
  human-LLM agreement is measured before anyone saw the LLM's suggestion);
- :func:`agreement_view`: alpha with its bootstrap CI, the annotator heatmap, human/LLM
  groups, the human-majority x LLM confusion matrix, the disagreement examples and each
  person's and model's competence (Dawid-Skene, with a bootstrap interval);
- :func:`suggestion_use`: per person, how often suggestions are accepted and how fast
  (the rubber-stamping signal), and in blind mode how often people switch to the suggestion;
- :func:`annotate.services.choice_trace.choice_use` (beside the traces it reads): per
  person, how often they chose one of the Helper's candidates as it was, edited one, or
  wrote their own, and the median seconds an item took for each.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.agreement.frames import annotations_frame, label_of, latest_answers
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import ProjectStatus, project_schema, project_status
from annotate.services.cascade_stages import stage_table
from annotate.store.models import Annotation, Item, Project

FRAME_COLUMNS = ["item_id", "annotator", "label", "annotator_kind", "role", "rationale"]


@dataclass(frozen=True)
class Progress:
    status: ProjectStatus
    tasks: pd.DataFrame  # role, state, tasks
    per_day: pd.DataFrame  # day, annotator_kind, answers
    budget_left: float | None
    stages: pd.DataFrame | None = None  # a cascade's stages and people (cascade_stages)


def progress(session: Session, project: Project) -> Progress:
    status = project_status(session, project)
    tasks = pd.DataFrame(
        [(role, state, n) for role, states in status.tasks_by_role.items()
         for state, n in states.items()], columns=["role", "state", "tasks"])
    day = func.date(Annotation.created_at)
    rows = session.execute(
        select(day, Annotation.annotator_kind, func.count())
        .where(Annotation.project_id == project.id, Annotation.phase == "final")
        .group_by(day, Annotation.annotator_kind).order_by(day)).all()
    per_day = pd.DataFrame([(str(d), k, int(n)) for d, k, n in rows],
                           columns=["day", "annotator_kind", "answers"])
    left = None if status.budget_usd is None else status.budget_usd - status.cost_usd
    return Progress(status=status, tasks=tasks, per_day=per_day, budget_left=left,
                    stages=stage_table(session, project))


def value_label(kind: str, value: dict[str, Any] | None, feature: str | None = None
                ) -> str | None:
    """One comparable label for an answer (per feature for ratings); None when it has none
    (:func:`annotate.agreement.frames.label_of`)."""
    return label_of(kind, value, feature)


def answers_frame(session: Session, project: Project, *, feature: str | None = None,
                  unbiased: bool = False) -> pd.DataFrame:
    """The project's answers as the agreement module's long-form frame (one per item and
    annotator: the latest; ``item_id`` is the item's row id). ``unbiased``: people's answers
    made before seeing a suggestion."""
    frame = latest_answers(annotations_frame(session, project, feature=feature,
                                             unbiased=unbiased))
    frame = frame.rename(columns={"item_id": "external_id", "item_pk": "item_id"})
    return frame.loc[frame["label"].notna(), FRAME_COLUMNS].reset_index(drop=True)


def level_and_order(schema: LabelSchema, feature: str | None) -> tuple[str, list[str] | None]:
    """Answers on one feature's scale are ordinal; other labels are nominal."""
    if feature and schema.features:
        scale = next((f.scale for f in schema.features if f.name == feature), None)
        return "ordinal", [str(s) for s in scale] if scale else None
    return "nominal", None


@dataclass
class AgreementView:
    frame: pd.DataFrame
    summary: Any = None  # annotate.agreement.AgreementSummary
    matrix: pd.DataFrame = field(default_factory=pd.DataFrame)
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    confusion: pd.DataFrame = field(default_factory=pd.DataFrame)
    llm_match: pd.DataFrame = field(default_factory=pd.DataFrame)
    examples: pd.DataFrame = field(default_factory=pd.DataFrame)
    reason: str | None = None
    competence: pd.DataFrame = field(default_factory=pd.DataFrame)
    """annotator, annotator_kind, items, competence, ci_low, ci_high, agrees_with_final
    (:func:`annotate.agreement.competence.annotator_competence`)."""


def agreement_view(session: Session, project: Project, *, feature: str | None = None,
                   unbiased: bool = False, bootstrap: int = 500, top: int = 20
                   ) -> AgreementView:
    """Every agreement figure of the dashboard, computed by :mod:`annotate.agreement`."""
    from annotate import agreement as ag
    from annotate.agreement.competence import annotator_competence
    from annotate.agreement.disagreement import examples_frame

    frame = answers_frame(session, project, feature=feature, unbiased=unbiased)
    rated = frame[frame["role"] == "annotator"]
    if rated["annotator"].nunique() < 2 or not rated["item_id"].duplicated().any():
        return AgreementView(frame=frame, reason="no item has answers from two annotators yet")
    level, order = level_and_order(project_schema(project), feature)
    summary = ag.agreement_summary(frame, level, order, bootstrap=bootstrap, seed=0)
    pairs = ag.pairwise_agreement(frame, level, order)
    kinds = dict(zip(frame["annotator"], frame["annotator_kind"], strict=False))
    def named(a: str) -> str:
        return f"{a} ({kinds.get(a, '?')})"

    matrix = ag.agreement_matrix(pairs, "alpha").rename(index=named, columns=named)
    groups = pd.DataFrame([
        {"group": g.group, "alpha": g.alpha, "ci_low": g.ci.low if g.ci else None,
         "ci_high": g.ci.high if g.ci else None, "percent_agreement": g.percent_agreement,
         "shared_items": g.n_shared_items, "note": g.reason or ""}
        for g in ag.group_agreement(frame, level, order, bootstrap=min(bootstrap, 200))])
    examples = ag.disagreement_examples(frame, top=top, order=order)
    texts = _texts(session, [e.item_id for e in examples])
    examples = [replace(e, text=texts.get(int(str(e.item_id)))) for e in examples]
    return AgreementView(frame=frame, summary=summary, matrix=matrix,
                         groups=groups, confusion=ag.human_llm_confusion(frame, order),
                         llm_match=ag.llm_vs_human_majority(frame),
                         examples=examples_frame(examples),
                         competence=annotator_competence(
                             frame, n_resamples=min(bootstrap, 200), seed=0).table)


def _texts(session: Session, item_ids: Sequence[object]) -> dict[int, str]:
    ids = [int(str(i)) for i in item_ids]
    if not ids:
        return {}
    rows = session.execute(select(Item.id, Item.text).where(Item.id.in_(ids)))
    return {item_id: text for item_id, text in rows}


def suggestion_use(session: Session, project_id: int) -> pd.DataFrame:
    """Per person: answers, share made with a suggestion visible that accepted it as is,
    median seconds per accept (fast, frequent accepts = rubber-stamping), and blind-first
    answers revised after the reveal and switched to the suggestion."""
    rows = session.execute(
        select(Annotation.annotator_id, Annotation.phase, Annotation.suggestion_visible,
               Annotation.human_seconds, Annotation.meta)
        .where(Annotation.project_id == project_id, Annotation.annotator_kind == "human",
               Annotation.role == "annotator")).all()
    people: dict[str, dict[str, Any]] = {}
    for who, phase, visible, seconds, raw_meta in rows:
        p = people.setdefault(who, {"answers": 0, "with_suggestion": 0, "accepted": [],
                                    "seconds": [], "blind": 0, "revised": 0, "switched": 0})
        meta = raw_meta or {}
        if phase == "blind":
            p["blind"] += 1
            continue
        p["answers"] += 1
        if seconds is not None:
            p["seconds"].append(float(seconds))
        p["with_suggestion"] += int(bool(visible))
        if visible and meta.get("accepted_suggestion"):
            p["accepted"].append(seconds)
        p["revised"] += int(bool(meta.get("revised_after_reveal")))
        p["switched"] += int(bool(meta.get("switched_to_suggestion")))
    return pd.DataFrame([_use_row(who, p) for who, p in sorted(people.items())],
                        columns=["person", "answers", "with_suggestion", "accepted",
                                 "accept_share", "median_s_per_accept", "median_s",
                                 "blind_first", "revised_share", "switched_share"])


def _use_row(who: str, p: dict[str, Any]) -> dict[str, Any]:
    accepted = [s for s in p["accepted"] if s is not None]
    return {
        "person": who, "answers": p["answers"], "with_suggestion": p["with_suggestion"],
        "accepted": len(p["accepted"]),
        "accept_share": (len(p["accepted"]) / p["with_suggestion"]
                         if p["with_suggestion"] else None),
        "median_s_per_accept": statistics.median(accepted) if accepted else None,
        "median_s": statistics.median(p["seconds"]) if p["seconds"] else None,
        "blind_first": p["blind"],
        "revised_share": p["revised"] / p["blind"] if p["blind"] else None,
        "switched_share": p["switched"] / p["blind"] if p["blind"] else None,
    }
