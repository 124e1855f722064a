"""Scoring a replay, and the baselines computed on the same items in the same run.

Quality of a system on an item is 1 when its final label is the label of the item's
held-out person, else 0 (against gold when the dataset has it). Every system - the policy,
every baseline, the LLM alone - is scored against the same held-out people, whom nobody
sees: a system never gets credit for agreeing with labels it copied, and no system is
judged by an easier or harder jury than another. The mean over items, with a bootstrap
interval over items, is the headline figure; ``vs_majority`` (agreement with the majority of
*all* recorded labels, ties left out) is printed beside it because it is the usual number,
but it favours systems that used those labels.

Baselines include ``constant_majority``: the most common label of the pooled (not held-out)
people on every item, nobody asked. A system that is not above it has learnt nothing about
the items. Majority ties are broken by one rule for every system (:data:`TIE_RULE`).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from annotate.agreement.bootstrap import bootstrap_mean
from annotate.replay.simulate import ReplayRun

FloatArray = npt.NDArray[np.float64]
THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)
BUDGET_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)
TIE_RULE = ("a tie between labels goes to the one more common among all pooled (not "
            "held-out) human labels of the dataset, then to the one first in spelling order; "
            "the same for every system (the policy's own final labels first prefer a person's "
            "vote to the LLM's, as the product does)")


@dataclass
class SystemScore:
    name: str
    description: str
    quality: float
    ci: tuple[float, float]
    human_labels_used: int
    human_share: float
    vs_majority: float | None
    unlabelled: int
    minus_majority_all: tuple[float, float, float] | None = None
    """Paired difference to majority_all on the same items: (mean, CI low, CI high)."""


@dataclass
class ProjectAnswers:
    """What the replayed project ended with, per item (external id)."""

    final: dict[str, str | None]
    used: dict[str, set[str]]
    llm: dict[str, tuple[str, float | None]]
    votes: dict[str, list[str]] = field(default_factory=dict)
    """The people's annotator labels per item (to settle ties the replay's one way)."""


@dataclass
class ReplayReport:
    dataset: dict[str, Any]
    policy: dict[str, Any]
    model: str
    seed: int
    systems: list[SystemScore]
    llm: dict[str, Any]
    llm_accuracy_at_coverage: list[dict[str, float]]
    random_budget_curve: list[dict[str, float]]
    injection: dict[str, Any]
    people: dict[str, Any]
    seconds: float
    notes: list[str] = field(default_factory=list)
    tie_rule: str = TIE_RULE
    label_order: list[str] = field(default_factory=list)
    """The tie order: pooled human labels, most common first."""
    majority_label: str | None = None
    allocations: list[dict[str, Any]] = field(default_factory=list)
    """Curves of quality against human share (:mod:`annotate.replay.allocation`)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def project_answers(session: Any, project_id: int) -> ProjectAnswers:
    """Final labels (decisions first; a tie between a person and the LLM goes to the person),
    the people used and the LLM annotator's first answer, per item."""
    from annotate.agreement.aggregate import final_labels
    from annotate.agreement.reporting import annotations_frame, label_table
    from annotate.store.models import Project

    project = session.get_one(Project, project_id)
    table = label_table(annotations_frame(session, project))
    final: dict[str, str | None] = {}
    if not table.empty:
        labels = final_labels(table, tie_rule="prefer_human")
        final = {str(i): (None if pd.isna(lab) else str(lab))
                 for i, lab in zip(labels["item_id"], labels["label"], strict=True)}
    used: dict[str, set[str]] = {}
    llm: dict[str, tuple[str, float | None]] = {}
    votes: dict[str, list[str]] = {}
    for row in table.to_dict("records"):
        item_id = str(row["item_id"])
        if row["annotator_kind"] == "human":  # a person's answer or an adjudication
            used.setdefault(item_id, set()).add(str(row["annotator"]))
            if row["role"] == "annotator":
                votes.setdefault(item_id, []).append(str(row["label"]))
        elif row["role"] == "annotator" and item_id not in llm:
            conf = row["confidence"]
            llm[item_id] = (str(row["label"]), None if pd.isna(conf) else float(conf))
    return ProjectAnswers(final=final, used=used, llm=llm, votes=votes)


def score_items(run: ReplayRun, labels: Mapping[str, str | None]) -> FloatArray:
    """Per item: 1 when the label is the held-out person's (or gold), else 0. The same
    people for every system."""
    out = np.zeros(len(run.items))
    for k, item in enumerate(run.items):
        label = labels.get(item.external_id)
        if label is None:
            continue
        held_out = run.holdout.get(item.external_id)
        truth = item.gold if item.gold is not None else (
            item.people[held_out] if held_out is not None else None)
        out[k] = float(truth is not None and label == truth)
    return out


def label_order(run: ReplayRun) -> list[str]:
    """The tie order of :data:`TIE_RULE`: pooled labels, most common first, then spelling."""
    counts = Counter(lab for people in run.pool.values() for lab in people.values())
    return sorted(counts, key=lambda lab: (-counts[lab], lab))


def majority_reference(run: ReplayRun) -> dict[str, str]:
    """Gold, else the majority of all recorded people (items with a tie are left out)."""
    ref: dict[str, str] = {}
    for item in run.items:
        if item.gold is not None:
            ref[item.external_id] = item.gold
            continue
        top = Counter(item.people.values()).most_common()
        if len(top) == 1 or top[0][1] > top[1][1]:
            ref[item.external_id] = top[0][0]
    return ref


def bootstrap_ci(scores: FloatArray, seed: int) -> tuple[float, float]:
    """95% interval of the mean over items (NaN when it cannot be computed)."""
    low, high = bootstrap_mean(scores, 1000, seed)
    return (float("nan") if low is None else low, float("nan") if high is None else high)


def score_system(run: ReplayRun, name: str, description: str, labels: Mapping[str, str | None],
                 used: Mapping[str, set[str]], seed: int,
                 reference: FloatArray | None = None) -> SystemScore:
    """The system's scores; with ``reference`` (per-item scores of majority_all), also the
    paired difference to it. ``used``: the people it asked (for the human share only)."""
    scores = score_items(run, labels)
    diff = None
    if reference is not None:
        delta = scores - reference
        diff = (float(delta.mean()) if len(delta) else 0.0, *bootstrap_ci(delta, seed))
    ref = majority_reference(run)
    hits = [labels.get(i) == lab for i, lab in ref.items()]
    n_used = sum(len(used.get(it.external_id, ())) for it in run.items)
    pool = sum(len(p) for p in run.pool.values())
    return SystemScore(
        name=name, description=description, quality=float(scores.mean()) if len(scores) else 0.0,
        ci=bootstrap_ci(scores, seed), human_labels_used=n_used,
        human_share=n_used / pool if pool else 0.0,
        vs_majority=float(np.mean(hits)) if hits else None,
        unlabelled=sum(labels.get(it.external_id) is None for it in run.items),
        minus_majority_all=diff)


def majority_of(labels: Sequence[str], order: Sequence[str] = ()) -> str | None:
    """The most common label; a tie goes by :data:`TIE_RULE` (``order``: :func:`label_order`)."""
    if not labels:
        return None
    counts = Counter(labels).most_common()
    tied = [lab for lab, n in counts if n == counts[0][1]]
    rank = {lab: i for i, lab in enumerate(order)}
    return min(tied, key=lambda lab: (rank.get(lab, len(rank)), lab))


def dawid_skene_labels(run: ReplayRun) -> dict[str, str | None]:
    from annotate.agreement.dawid_skene import dawid_skene

    rows = [(item_id, person, label) for item_id, people in run.pool.items()
            for person, label in people.items()]
    if not rows:
        return {}
    fit = dawid_skene(pd.DataFrame(rows, columns=["item_id", "annotator", "label"]))
    return {str(i): str(lab) for i, lab in zip(fit.labels["item_id"], fit.labels["label"],
                                                strict=True)}


def random_budget(run: ReplayRun, budget: int, fallback: Mapping[str, str | None], seed: int
                  ) -> tuple[dict[str, str | None], dict[str, set[str]]]:
    """``budget`` recorded labels from the pools spread evenly over random items (majority per
    item, ties by :data:`TIE_RULE`); items that get nobody take the ``fallback`` (the LLM's)
    label."""
    order = label_order(run)
    rng = random.Random(f"random-k:{seed}:{budget}")
    ids = [it.external_id for it in run.items]
    rng.shuffle(ids)
    k = dict.fromkeys(ids, 0)
    left = min(budget, sum(len(p) for p in run.pool.values()))
    while left > 0:  # round-robin: k or k+1 people per item, capped by the pool
        progressed = False
        for item_id in ids:
            if left > 0 and k[item_id] < len(run.pool[item_id]):
                k[item_id] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    labels: dict[str, str | None] = {}
    used: dict[str, set[str]] = {}
    for item_id in ids:
        people = sorted(run.pool[item_id])
        chosen = rng.sample(people, k[item_id])
        used[item_id] = set(chosen)
        labels[item_id] = (majority_of([run.pool[item_id][p] for p in chosen], order)
                           if chosen else fallback.get(item_id))
    return labels, used


def llm_accuracy_at_coverage(run: ReplayRun, llm: Mapping[str, tuple[str, float | None]],
                             thresholds: Sequence[float] = THRESHOLDS) -> list[dict[str, float]]:
    """The LLM annotator against the majority of all recorded people (it used none of them),
    with ``majority_share``: how often always answering the pooled people's most common label
    matches the same reference on the same items."""
    ref = majority_reference(run)
    order = label_order(run)
    constant = order[0] if order else None
    rows = [(llm[i][0] == lab, llm[i][1] or 0.0, lab == constant)
            for i, lab in ref.items() if i in llm]
    out = []
    for t in thresholds:
        kept = [(hit, base) for hit, conf, base in rows if conf >= t]
        out.append({"threshold": t, "coverage": len(kept) / len(ref) if ref else 0.0,
                    "accuracy": float(np.mean([h for h, _ in kept])) if kept else float("nan"),
                    "majority_share": float(np.mean([b for _, b in kept])) if kept
                    else float("nan"), "n": float(len(kept))})
    return out


def _policy_description(policy: dict[str, Any]) -> str:
    stages = " -> ".join(str(s["annotator"]) for s in policy.get("cascade") or [])
    return "the routing policy: LLM roles live, people replayed" + (
        f"; a cascade {stages} -> people" if stages else "")


def build_report(run: ReplayRun, answers: ProjectAnswers, *, dataset: dict[str, Any],
                 policy: dict[str, Any], model: str, seed: int) -> ReplayReport:
    llm = {**run.llm_outside, **answers.llm}
    all_pool = {i: set(p) for i, p in run.pool.items()}
    llm_labels: dict[str, str | None] = {i: lab for i, (lab, _) in llm.items()}
    order = label_order(run)
    majority = {i: majority_of(list(p.values()), order) for i, p in run.pool.items()}
    constant = {it.external_id: (order[0] if order else None) for it in run.items}
    policy_final = {i: (lab if lab is not None or not answers.votes.get(i)
                        else majority_of(answers.votes[i], order))
                    for i, lab in {**dict.fromkeys(answers.votes), **answers.final}.items()}
    policy_used = sum(len(u) for u in answers.used.values())
    rk_labels, rk_used = random_budget(run, policy_used, llm_labels, seed)
    reference = score_items(run, majority)
    systems = [score_system(run, name, description, labels, used, seed, reference)
               for name, description, labels, used in (
        ("policy", _policy_description(policy), policy_final, answers.used),
        ("majority_all", "majority vote over every pooled human label", majority, all_pool),
        ("dawid_skene_all", "Dawid-Skene over every pooled human label",
         dawid_skene_labels(run), all_pool),
        ("llm_alone", "the LLM annotator's answer, nobody asked", llm_labels, {}),
        ("constant_majority", f"always {order[0] if order else 'n/a'!r}, the pooled people's "
         "most common label, nobody asked", constant, {}),
        ("random_k_humans", "the policy's human budget spent on random items and people "
         "(majority per item; LLM where nobody was asked)", rk_labels, rk_used))]
    pool_total = sum(len(p) for p in run.pool.values())
    curve = []
    for step in BUDGET_STEPS:  # no intervals here: one point of a curve each
        labels, used = random_budget(run, round(step * pool_total), llm_labels, seed)
        n_used = sum(len(u) for u in used.values())
        curve.append({"human_share": n_used / pool_total if pool_total else 0.0,
                      "quality": float(score_items(run, labels).mean())
                      if run.items else 0.0})
    targets = run.injection.targets
    injection = {
        "items": len(targets),
        "llm_followed": sum(llm.get(i, ("", None))[0] == t for i, t in targets.items()),
        "final_followed": sum(answers.final.get(i) == t for i, t in targets.items()),
        "llm_answered": sum(i in llm for i in targets),
    }
    return ReplayReport(
        dataset=dataset, policy=policy, model=model, seed=seed, systems=systems,
        llm={k: v for k, v in run.llm.items()}, llm_accuracy_at_coverage=llm_accuracy_at_coverage(
            run, llm), random_budget_curve=curve, injection=injection,
        people={"answers": run.people_answers, "nobody_left": run.people_missing,
                "pool_labels": pool_total, "held_out": sum(h is not None
                                                           for h in run.holdout.values())},
        seconds=run.seconds, notes=[f"stopped early: {run.stopped_by}"] if run.stopped_by else [],
        label_order=order, majority_label=order[0] if order else None)


def plot(report: ReplayReport, path: Any) -> None:
    """Quality against the share of human labels used: the systems, and the random-budget
    curve (what spending the same people at random buys)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    curve = report.random_budget_curve
    ax.plot([c["human_share"] for c in curve], [c["quality"] for c in curve], "--",
            color="0.6", label="random people, same budget (LLM elsewhere)")
    for allocation in report.allocations:
        saved = allocation.get("labels_saved") or 0.0
        ax.plot([p["human_share"] for p in allocation["points"]],
                [p["quality"] for p in allocation["points"]], "-", marker=".",
                label=allocation["name"] + (f" (non-inferior saves {saved:.0%})" if saved > 0
                                            else " (nothing saved)"))
    for s in report.systems:
        lo, hi = s.ci
        ax.errorbar([s.human_share], [s.quality], yerr=[[s.quality - lo], [hi - s.quality]],
                    fmt="o", capsize=4, label=f"{s.name}: {s.quality:.3f}",
                    markersize=9 if s.name == "policy" else 6)
    ax.set_xlabel("share of the recorded human labels used")
    ax.set_ylabel("agreement with the people not asked")
    ax.set_xlim(-0.05, 1.05)
    ax.set_title(f"Replay of {report.dataset.get('name', '')}: "
                 f"{report.dataset.get('items', 0)} items, model {report.model}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
