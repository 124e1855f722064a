"""The pilot's recommendation and the reasons it writes: the cheapest routing of a model
that can do the task as a full policy, how much double annotation, whether the LLM
moderator settles disagreements; people only when no model passes the skill gate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from annotate.pilot.measure import Choice, ModelReport
from annotate.pilot.metrics import Costs, HumanErrorRate, people_cost
from annotate.projects.catalog import project_policy
from annotate.projects.policy import RoutingPolicy
from annotate.store.models import Project

# -- the recommendation ---------------------------------------------------------------------

ALPHA_RELIABLE = 0.667  # Krippendorff's lowest alpha for tentative conclusions


@dataclass(frozen=True)
class Recommendation:
    model: str | None  # None: people only
    choice: Choice
    policy: dict[str, Any]
    people_only: Choice
    llm_only: Choice | None
    reasons: list[str]


def recommend(project: Project, reports: Sequence[ModelReport], costs: Costs,
              human_error: HumanErrorRate, humans_alpha: float | None,
              true_labels: Sequence[str] = ()) -> Recommendation:
    """The cheapest routing of a model that can do the task, written as a full policy for
    `annotate policy set`; people only when no model passes the skill gate."""
    rate = human_error.rate or 0.0
    people = Choice(None, 0.0, people_cost(costs, rate, true_labels), 1 - rate)
    able = [r for r in reports if r.skill.can_do_task]
    best = min(able, key=lambda r: r.best.expected_cost) if able else None
    share, why_share = double_share(human_error, humans_alpha)
    base = project_policy(project)
    reasons = [why_share]
    if best is None or best.best.threshold is None:
        policy = base.model_copy(update={
            "human_annotations": max(1, base.human_annotations), "llm_annotations": 0,
            "human_below_confidence": None, "double_annotation_share": share})
        reasons[:0] = [_people_only_reason(reports, best), *_unable(reports)]
        shown = best or (min(reports, key=lambda r: r.llm_only.expected_cost)
                         if reports else None)
        return Recommendation(None, people, _checked(policy), people,
                              shown.llm_only if shown else None, reasons)
    moderator, why_moderator = moderator_on(best, rate)
    if best.best.coverage >= 1.0:  # nobody labels anything: there is nothing to double
        share, why_share = 0.0, (
            "no double annotation: this routing sends no item to people (only failed calls), "
            "so their error rate stays unmeasured; rerun the pilot on new human labels to "
            "check the threshold")
        reasons = [why_share]
    policy = base.model_copy(update={
        "human_annotations": 1, "llm_annotations": max(1, base.llm_annotations),
        "helper_first": False, "human_below_confidence": best.best.threshold,
        "double_annotation_share": share, "moderator_on_disagreement": moderator})
    reasons.insert(0, f"{best.model}: LLM alone at confidence >= {best.best.threshold:g} "
                      f"({best.best.coverage:.0%} of items), people below it and on failures")
    reasons.append(why_moderator)
    return Recommendation(best.model, best.best, _checked(policy), people, best.llm_only,
                          reasons)


def _people_only_reason(reports: Sequence[ModelReport], best: ModelReport | None) -> str:
    if not reports:
        return "people only: no model was tried"
    if best is None:
        names = ", ".join(r.model for r in reports)
        return (f"people only: this model cannot do this task ({names})" if len(reports) == 1
                else f"people only: none of these models can do this task ({names})")
    return "people only: no model's routing is cheaper than people alone"


def _unable(reports: Sequence[ModelReport]) -> list[str]:
    """Why each model failed the skill gate, in plain words."""
    return [f"{r.model} cannot do this task: {'; '.join(r.skill.reasons)}"
            for r in reports if not r.skill.can_do_task]


def double_share(human_error: HumanErrorRate, humans_alpha: float | None) -> tuple[float, str]:
    """Extra human annotation: to measure people's error rate when unknown, more of it when
    people agree poorly, a little otherwise to keep the threshold calibrated."""
    if human_error.rate is None:
        return 0.1, ("no sampled item has two human labels: people's error rate is unmeasured "
                     "(taken as 0); double annotation on 10% of the items people label "
                     "measures it")
    if humans_alpha is not None and humans_alpha < ALPHA_RELIABLE:
        return 0.2, (f"people agree poorly (alpha {humans_alpha:.2f} < {ALPHA_RELIABLE}): "
                     "double annotation on 20% of the items people label")
    return 0.05, ("double annotation on 5% of the items people label keeps their error rate "
                  "measured")


MODERATOR_REASON = ("moderator on:", "moderator off:")  # how moderator_on's reasons begin


def moderator_on(report: ModelReport, human_error: float,
                 threshold: float | None = None) -> tuple[bool, str]:
    """On routed items the LLM's unsure answer meets a person's. The LLM moderator settles
    their disagreements only when the LLM is, below the threshold (``threshold``, default
    the model's recommended one; a cascade's last stage gives its own), as accurate as a
    person; otherwise a person adjudicates (the person's answer is the likelier right one)."""
    threshold = (report.best.threshold if threshold is None else threshold) or 0.0
    below = [p for p in report.coverage if p.threshold == 0.0]
    at = [p for p in report.coverage if p.threshold == threshold]
    if not below or not at or below[0].n == at[0].n:
        return True, "moderator on: no valid LLM answer falls below the threshold in the sample"
    all_n, all_acc, at_n = below[0].n, below[0].accuracy or 0.0, at[0].n
    acc_below = (all_n * all_acc - at_n * (at[0].accuracy or 0.0)) / (all_n - at_n)
    if acc_below >= 1 - human_error:
        return True, (f"moderator on: below the threshold the LLM is right {acc_below:.0%}, "
                      f"as often as a person ({1 - human_error:.0%})")
    return False, (f"moderator off: below the threshold the LLM is right only {acc_below:.0%} "
                   f"vs {1 - human_error:.0%} for a person, so a person settles disagreements")


def _checked(policy: RoutingPolicy) -> dict[str, Any]:
    return RoutingPolicy.model_validate(policy.model_dump()).model_dump(mode="json")

