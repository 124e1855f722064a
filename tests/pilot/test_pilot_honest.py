"""The pilot cannot flatter: a model without skill never takes people away, per-label error
costs, and a policy that does not double-annotate items nobody labels.

``convabuse_50.csv`` is the first 50 items of ConvAbuse dev (``../shared/data/convabuse``,
CC BY 4.0, Cercas Curry et al., EMNLP 2021; the columns item_id, text, annotator, label
only): 41 of its 47 items with a unique people's majority are ``not_abusive``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from annotate.cli.main import main
from annotate.kinds.schema import LabelSchema
from annotate.llm.testing import Reply, install_fake, reply
from annotate.pilot.metrics import Costs, auroc, bootstrap_auroc, coverage_curve, skill_gate
from annotate.pilot.recommend import PilotOptions, run_pilot
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store, open_store
from annotate.store.models import Annotation, Item
from tests.pilot.pilot_data import MODEL, install_pilot_fake, make_pilot_project

CONVABUSE = Path(__file__).with_name("convabuse_50.csv")
LABELS = ["not_abusive", "ambiguous", "mildly_abusive", "strongly_abusive",
          "very_strongly_abusive"]


def convabuse_project(store: Store, name: str = "convabuse") -> None:
    rows = pd.read_csv(CONVABUSE)
    with store.session() as session:
        project = create_project(session, name, LabelSchema(kind="classification",
                                                            labels=LABELS),
                                 policy=RoutingPolicy(human_annotations=1, llm_annotations=1,
                                                      double_annotation_share=0.1))
        for item_id, group in rows.groupby("item_id", sort=False):
            item = Item(project_id=project.id, external_id=str(item_id),
                        text=str(group["text"].iloc[0]))
            session.add(item)
            session.flush()
            session.add_all(Annotation(project_id=project.id, item_id=item.id,
                                       annotator_id=str(who), annotator_kind="human",
                                       role="annotator", value={"label": str(label)})
                            for who, label in zip(group["annotator"], group["label"],
                                                  strict=True))


def always_not_abusive(model: str, messages: list[dict[str, Any]],
                       params: dict[str, Any]) -> Reply:
    """The embedded model on held-out ConvAbuse: one label on every item, always sure."""
    return reply(json.dumps({"label": "not_abusive", "reason": "r", "confidence": 95}))


def test_a_model_that_always_answers_the_majority_label_takes_nobody_away(
        sqlite_store: Store) -> None:
    convabuse_project(sqlite_store)
    install_fake("fake", responder=always_not_abusive, price_per_token=(1e-6, 2e-6))
    result = run_pilot(sqlite_store, "convabuse", PilotOptions(
        costs=Costs(10, 1), models=(MODEL,), sample=50, bootstrap=300))
    (report,) = result.models
    # 47 items have a unique human majority (3 tie), 41 of them not_abusive
    assert report.valid == 47 and report.accuracy == pytest.approx(41 / 47)
    # cheaper by cost alone (the scenario: LLM alone on 100% of items) ...
    assert report.cheapest.threshold is not None and report.cheapest.coverage == 1.0
    # ... but it is the constant label, and its confidence says nothing
    assert report.skill.majority_share == pytest.approx(report.accuracy)
    assert report.skill.difference == pytest.approx(0.0)
    assert not report.skill.beats_majority and not report.skill.confidence_separates
    assert report.best.threshold is None
    rec = result.recommendation
    assert rec.model is None and rec.choice.coverage == 0.0
    assert rec.policy["human_below_confidence"] is None and rec.policy["llm_annotations"] == 0
    assert "this model cannot do this task" in rec.reasons[0]
    assert any("does not beat the most common label" in r for r in rec.reasons)


def test_a_model_worse_than_the_constant_label_is_not_trusted(sqlite_store: Store) -> None:
    # people say pos on all 10 items; the model is right on 6 (confidence 0.9), wrong on 4:
    # "always pos" is right on 10, so the model has no business deciding anything
    make_pilot_project(sqlite_store, right=6, wrong=4)
    install_pilot_fake()
    result = run_pilot(sqlite_store, "p", PilotOptions(costs=Costs(100, 1), models=(MODEL,),
                                                       bootstrap=200))
    (report,) = result.models
    assert report.cheapest.threshold == pytest.approx(0.9)  # by cost alone: trust it at 0.9
    assert not report.skill.beats_majority and report.skill.confidence_separates
    assert result.recommendation.model is None
    assert result.recommendation.policy["human_below_confidence"] is None


def test_per_label_error_costs_price_each_error_by_its_true_label() -> None:
    evals = pd.DataFrame({"human_label": ["abusive", "abusive", "ok", "ok"],
                          "llm_label": ["ok", "abusive", "abusive", "ok"],
                          "confidence": [0.9, 0.9, 0.9, 0.9], "valid": [True] * 4,
                          "correct": [False, True, False, True]})
    flat = coverage_curve(evals, [0.0], Costs(10, 1), 0.0, 0.0)[0]
    weighted = coverage_curve(evals, [0.0], Costs(10, 1, {"abusive": 20}), 0.0, 0.0)[0]
    assert flat.expected_cost == pytest.approx((10 + 10) / 4)
    assert weighted.expected_cost == pytest.approx((20 + 10) / 4)  # a missed abusive item: 20
    # a person's error costs the mean over the items' true labels: 0.5 * (20 + 10) = 15
    people = coverage_curve(evals, [1.0], Costs(10, 1, {"abusive": 20}), 0.1, 0.0)[0]
    assert people.coverage == 0.0 and people.expected_cost == pytest.approx(1 + 0.1 * 15)


def test_auroc_and_its_interval_on_hand_made_scores() -> None:
    assert auroc([0.9, 0.8, 0.3, 0.2], [True, True, False, False]) == pytest.approx(1.0)
    assert auroc([0.9, 0.9, 0.9, 0.9], [True, False, True, False]) == pytest.approx(0.5)
    assert auroc([0.2, 0.9], [True, False]) == pytest.approx(0.0)
    assert auroc([0.5, 0.6], [True, True]) is None
    low, high = bootstrap_auroc([0.9] * 10 + [0.1] * 10, [True] * 10 + [False] * 10, 200)
    assert low == high == pytest.approx(1.0)
    assert bootstrap_auroc([0.5] * 4, [True, False, True, False], 0) == (None, None)


def test_the_skill_gate_needs_an_interval_not_a_point() -> None:
    # right on 3 items more than the constant label out of 4: a point above, no interval
    evals = pd.DataFrame({"human_label": ["a", "b", "b", "b"], "llm_label": ["a", "b", "b", "b"],
                          "confidence": [0.9, 0.9, 0.9, 0.1], "valid": [True] * 4,
                          "correct": [True, True, True, True]})
    skill = skill_gate(evals, "a", 200)
    assert skill.difference == pytest.approx(0.75) and skill.auroc is None
    assert not skill.confidence_separates and not skill.can_do_task
    assert "no wrong answers" in " ".join(skill.reasons)


def test_cli_takes_per_label_costs_and_says_plainly_when_the_model_cannot_do_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    convabuse_project(store)
    store.dispose()
    install_fake("fake", responder=always_not_abusive, price_per_token=(1e-6, 2e-6))
    out = tmp_path / "o"
    assert main(["--db", url, "pilot", "convabuse", "--models", MODEL, "--error-cost",
                 "strongly_abusive=50", "--error-cost", "10", "--bootstrap", "200",
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "this model cannot do this task" in printed
    assert "always answering" in printed  # the majority-class share beside the accuracy
    numbers = json.loads((out / "numbers.json").read_text(encoding="utf-8"))
    assert numbers["costs"]["label_costs"] == {"strongly_abusive": 50.0}
    assert numbers["costs"]["error_cost"] == 10.0
    policy = json.loads((out / "policy.json").read_text(encoding="utf-8"))
    assert policy["human_below_confidence"] is None


@pytest.mark.parametrize(("costs", "message"), [
    (["nope=3"], "no label 'nope'"),
    (["10", "20"], "one default --error-cost"),
    (["abusive=x"], "--error-cost"),
])
def test_cli_rejects_bad_error_costs(tmp_path: Path, costs: list[str], message: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    convabuse_project(store)
    store.dispose()
    install_fake("fake", responder=always_not_abusive)
    args = [a for c in costs for a in ("--error-cost", c)]
    assert main(["--db", url, "pilot", "convabuse", "--models", MODEL, *args,
                 "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
