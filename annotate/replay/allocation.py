"""Allocating items between people and a model, replayed (#18 item 6): what each share of
human labels buys.

An allocation ranks the replayed items by how unsure a model is of them; the most unsure go
to people (all of the item's pooled people, majority vote with the replay's one tie rule),
the others keep the model's answer. Walking the ranking up to a human share (0, 10, ...,
100% of the pooled human labels) gives a curve of quality against human share, each point
scored like every other system of the replay: against the same held-out people, with its
paired difference to majority vote over all pooled people (``majority_all``) and a
bootstrap interval. At 100% every item goes to people: the point is ``majority_all``.

- ``allocation_entropy``: the entropy of k sampled LLM answers (temperature 0.7), as in
  CoAnnotating (Li et al., EMNLP 2023); the items' label is the samples' majority. An item
  whose samples all failed goes to people first.
- ``allocation_distilled``: the distilled model's probability of its label (the model
  ``--train-share`` trained on items the replay does not score); least sure first.
- ``allocation_random``: the same walk over a seeded random order, with the LLM
  annotator's answer elsewhere: what the ranking adds.

:func:`non_inferior_share` is the smallest human share whose paired difference to
``majority_all`` has a 95% lower bound above :data:`MARGIN`; one minus it is the share of
human labels saved at non-inferior quality. :func:`non_inferior_onwards` is the stricter
reading: the smallest share from which every larger share is non-inferior too.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from annotate.replay.metrics import (
    FloatArray,
    label_order,
    majority_of,
    score_items,
    score_system,
)
from annotate.replay.simulate import ReplayRun
from annotate.store.engine import Store

SHARES = tuple(step / 10 for step in range(11))
MARGIN = -0.03
"""Non-inferior: the paired difference to majority_all has its 95% lower bound above this."""


@dataclass(frozen=True)
class ItemSignal:
    """A model's answer on one item (None: it gave none) and how unsure it was (higher:
    people first)."""

    label: str | None
    uncertainty: float


@dataclass
class AllocationCurve:
    name: str
    description: str
    points: list[dict[str, float]] = field(default_factory=list)
    """target_share, human_share, human_labels, quality, ci_low, ci_high, diff, diff_low,
    diff_high (the paired difference to majority_all), items_to_people."""
    non_inferior_share: float | None = None
    labels_saved: float | None = None
    margin: float = MARGIN
    non_inferior_onwards: float | None = None
    """The smallest human share from which every larger share on the curve is non-inferior
    too (the first non-inferior point can be a lucky one between two that are not)."""


def allocate(run: ReplayRun, signals: Mapping[str, ItemSignal], share: float, seed: int
             ) -> tuple[dict[str, str | None], dict[str, set[str]]]:
    """Labels and people used when the most unsure items go to people until ``share`` of the
    pooled human labels is spent (a prefix of the ranking: the walk stops at the first item
    that does not fit)."""
    order = label_order(run)
    pool_total = sum(len(p) for p in run.pool.values())
    budget = share * pool_total + 1e-9
    ranking = ranked(run, signals, seed)
    labels: dict[str, str | None] = {i: signals[i].label if i in signals else None
                                     for i in ranking}
    used: dict[str, set[str]] = {}
    spent = 0
    for item_id in ranking:
        people = run.pool.get(item_id, {})
        if spent + len(people) > budget:
            break
        spent += len(people)
        used[item_id] = set(people)
        labels[item_id] = majority_of(list(people.values()), order)
    return labels, used


def ranked(run: ReplayRun, signals: Mapping[str, ItemSignal], seed: int) -> list[str]:
    """Item ids, most unsure first; equal uncertainty in a seeded random order."""
    rng = random.Random(f"allocation:{seed}")
    ids = [it.external_id for it in run.items]
    tiebreak = {i: rng.random() for i in ids}

    def unsure(item_id: str) -> float:
        signal = signals.get(item_id)
        return math.inf if signal is None or signal.label is None else signal.uncertainty

    return sorted(ids, key=lambda i: (-unsure(i), tiebreak[i]))


def allocation_curve(run: ReplayRun, name: str, description: str,
                     signals: Mapping[str, ItemSignal], seed: int, reference: FloatArray,
                     shares: Sequence[float] = SHARES) -> AllocationCurve:
    """The curve of quality against human share (one point per target share)."""
    curve = AllocationCurve(name, description)
    for share in shares:
        labels, used = allocate(run, signals, share, seed)
        score = score_system(run, name, description, labels, used, seed, reference)
        diff = score.minus_majority_all or (math.nan, math.nan, math.nan)
        curve.points.append({
            "target_share": share, "human_share": score.human_share,
            "human_labels": float(score.human_labels_used), "quality": score.quality,
            "ci_low": score.ci[0], "ci_high": score.ci[1], "diff": diff[0],
            "diff_low": diff[1], "diff_high": diff[2], "items_to_people": float(len(used))})
    curve.non_inferior_share = non_inferior_share(curve.points)
    curve.non_inferior_onwards = non_inferior_onwards(curve.points)
    if curve.non_inferior_share is not None:
        curve.labels_saved = 1.0 - curve.non_inferior_share
    return curve


def non_inferior_share(points: Sequence[Mapping[str, float]], margin: float = MARGIN
                       ) -> float | None:
    """The smallest human share whose paired difference to majority_all has its lower bound
    above ``margin`` (None: no point is non-inferior)."""
    good = [p["human_share"] for p in points
            if not math.isnan(p["diff_low"]) and p["diff_low"] > margin]
    return min(good) if good else None


def non_inferior_onwards(points: Sequence[Mapping[str, float]], margin: float = MARGIN
                         ) -> float | None:
    """The smallest human share from which every point of larger share is non-inferior."""
    onwards = None
    for point in sorted(points, key=lambda p: p["human_share"], reverse=True):
        if math.isnan(point["diff_low"]) or point["diff_low"] <= margin:
            break
        onwards = point["human_share"]
    return onwards


def sampled_signals(store: Store, project_id: int, model: str, samples: int,
                    llm: Any = None) -> dict[str, ItemSignal]:
    """Per item (external id), the majority of ``samples`` sampled answers of the annotator
    role (each a call through the gateway, cached and in the ledger) and, as uncertainty,
    their entropy in nats plus the share of samples that failed; nothing is stored as an
    annotation."""
    from sqlalchemy import select

    from annotate.agreement.frames import label_of
    from annotate.llm.client import make_client
    from annotate.store.models import Item, Project
    from roles.annotator import label_text
    from roles.base import Attempt, ProjectContext, RoleContext, RoleFailure

    with store.session() as session:
        rows = session.execute(select(Item.external_id, Item.text, Item.data, Item.meta)
                               .where(Item.project_id == project_id).order_by(Item.id)).all()
        name = session.get_one(Project, project_id).name
    context = ProjectContext.load(store, name)
    policy = context.policy.model_copy(update={
        "confidence": "consistency", "confidence_by_model": {}, "consistency_samples": samples})
    ctx = RoleContext(store=store, llm=llm or make_client(store, project_id, model),
                      project=dataclasses.replace(context, policy=policy), model=model,
                      worker_id="replay:allocation")
    out: dict[str, ItemSignal] = {}
    for external_id, text, data, meta in rows:
        result = label_text(ctx, text, dict(data or {}), dict(meta or {}),
                            Attempt(role="annotator"))
        if isinstance(result, RoleFailure):
            out[external_id] = ItemSignal(None, math.inf)
            continue
        estimate = getattr(result, "estimate", None)  # a distilled --model has none
        detail = estimate.detail if estimate is not None else {}
        entropy = float(detail.get("entropy", 0.0))
        share_failed = 1.0 - float(detail.get("valid", samples)) / samples
        out[external_id] = ItemSignal(label_of(context.schema.kind, result.value),
                                      entropy + share_failed)
    return out


def distilled_signals(store: Store, run: ReplayRun, model: str) -> dict[str, ItemSignal]:
    """Per item, the distilled model's label and one minus its probability."""
    from annotate.projects.catalog import project_schema
    from annotate.store.models import Project
    from roles.distilled import load_distilled

    with store.session() as session:
        schema = project_schema(session.get_one(Project, run.project_id))
    predictions = load_distilled(model).predict_items(
        schema, [(it.text, it.data) for it in run.items])
    return {it.external_id: ItemSignal(p.label, 1.0 - p.confidence)
            for it, p in zip(run.items, predictions, strict=True)}


def replay_allocations(store: Store, run: ReplayRun,
                       llm_answers: Mapping[str, tuple[str, float | None]], *, model: str,
                       samples: int, distilled: str | None, seed: int, llm: Any = None,
                       ) -> tuple[list[AllocationCurve], list[str]]:
    """The allocation curves of a finished replay (random always; entropy with ``samples``;
    distilled with a trained ``distilled`` model) and notes on what was not run and what the
    sampling cost."""
    from roles.runner import ledger_totals

    order = label_order(run)
    reference = score_items(run, {i: majority_of(list(p.values()), order)
                                  for i, p in run.pool.items()})
    curves = [allocation_curve(
        run, "allocation_random", "items in a seeded random order go to people; the LLM "
        "annotator's answer elsewhere", {i: ItemSignal(lab, 0.0) for i, (lab, _) in
                                         llm_answers.items()}, seed, reference)]
    notes = []
    if samples:
        before = ledger_totals(store, run.project_id)
        signals = sampled_signals(store, run.project_id, model, samples, llm)
        after = ledger_totals(store, run.project_id)
        curves.append(allocation_curve(
            run, "allocation_entropy", f"the items whose {samples} sampled answers of {model} "
            "disagree most (entropy) go to people; the samples' majority elsewhere", signals,
            seed, reference))
        notes.append(f"allocation by entropy: {samples} sampled answers per item, "
                     f"{int(after.get('calls', 0) - before.get('calls', 0))} calls, "
                     f"${after.get('cost_usd', 0) - before.get('cost_usd', 0):.4f} (not in the "
                     "LLM totals above)")
    else:
        notes.append("allocation by the entropy of sampled answers not run (--samples 0)")
    if distilled:
        curves.append(allocation_curve(
            run, "allocation_distilled", f"the items {distilled} is least sure of go to "
            "people; its label elsewhere", distilled_signals(store, run, distilled), seed,
            reference))
    else:
        notes.append("allocation by the distilled model's probability not run (it needs "
                     "--train-share to train one on items the replay does not score)")
    return curves, notes
