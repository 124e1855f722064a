"""The pilot recommends a cascade when one is cheaper than every single stage, and drops a
stage whose confidence carries no information (real database, scripted fake models).

The sample is built so the answer is known: 60 items, half ``a`` half ``b`` (two people
agree on each). ``fake/cheap`` (free) is sure and right on the first 30 items and unsure
(0.55) on the rest, right on half of those; ``fake/dear`` (0.05 USD a call) is the mirror
image. With an error costing 10 and a human label 1, each alone at threshold 0.95 leaves half
the items to people (0.5 and 0.55 per item); cheap then dear decides every item right and
pays dear on half of them (0.025 per item). ``fake/flat`` answers every item with confidence
0.8, right on two thirds: its confidence cannot separate right from wrong (AUROC 0.5).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from annotate.cli.main import main
from annotate.kinds.schema import LabelSchema
from annotate.llm.gateway import register_price
from annotate.llm.testing import Reply, install_fake, reply
from annotate.pilot.cascade import NO_INFORMATION
from annotate.pilot.metrics import Costs
from annotate.pilot.recommend import PilotOptions, run_pilot
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy, parse_policy
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item

N = 60
DEAR_CALL = 0.05  # USD: 10 prompt + 5 completion tokens at DEAR_CALL / 15 each


def truth(k: int) -> str:
    return "a" if k % 2 == 0 else "b"


def make_sample(store: Store) -> None:
    with store.session() as session:
        project = create_project(session, "p", LabelSchema(kind="classification",
                                                           labels=["a", "b"]),
                                 policy=RoutingPolicy(human_annotations=1, llm_annotations=1))
        for k in range(N):
            item = Item(project_id=project.id, external_id=f"i{k}", text=f"ITEM-{k:02d}-END")
            session.add(item)
            session.flush()
            session.add_all(Annotation(project_id=project.id, item_id=item.id,
                                       annotator_id=who, annotator_kind="human",
                                       role="annotator", value={"label": truth(k)})
                            for who in ("h0", "h1"))


def _answer(label: str, confidence: int) -> Reply:
    return reply(json.dumps({"label": label, "reason": "r", "confidence": confidence}))


def respond(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
    found = re.search(r"ITEM-(\d\d)-END", messages[-1]["content"])
    assert found is not None
    k = int(found.group(1))
    right, wrong = truth(k), "b" if truth(k) == "a" else "a"
    name = model.rsplit("/", 1)[-1]
    if name == "flat":
        return _answer(right if k % 3 else wrong, 80)
    if name == "perfect":
        return _answer(right, 90)
    mine = k < N // 2 if name == "cheap" else k >= N // 2
    if mine:
        return _answer(right, 95)
    return _answer(right if k % 4 in (0, 1) else wrong, 55)


def _fakes() -> None:
    install_fake("fake", responder=respond, models=("cheap", "flat", "perfect"),
                 price_per_token=(0, 0))
    register_price("fake/dear", DEAR_CALL / 15, DEAR_CALL / 15)


def _pilot(store: Store, models: tuple[str, ...]) -> Any:
    return run_pilot(store, "p", PilotOptions(costs=Costs(10, 1), models=models, sample=N,
                                              bootstrap=300))


def test_the_pilot_recommends_a_cascade_cheaper_than_each_stage_alone(
        sqlite_store: Store) -> None:
    make_sample(sqlite_store)
    _fakes()
    result = _pilot(sqlite_store, ("fake/dear", "fake/flat", "fake/cheap"))
    advice = result.cascade
    singles = {p["stages"][0]["annotator"]: p["expected_cost"] for p in advice["singles"]}
    assert singles == pytest.approx({"fake/cheap": 0.5, "fake/dear": 0.5 + DEAR_CALL})
    best = advice["best"]
    assert [(s["annotator"], s["threshold"]) for s in best["stages"]] == [
        ("fake/cheap", 0.95), ("fake/dear", 0.95)]
    assert best["expected_cost"] == pytest.approx(DEAR_CALL / 2)
    assert best["human_share"] == 0.0 and best["expected_accuracy"] == 1.0
    assert advice["recommends_cascade"]
    policy = result.recommendation.policy
    assert policy["cascade"] == [{"annotator": "fake/cheap", "threshold": 0.95},
                                 {"annotator": "fake/dear", "threshold": 0.95}]
    assert policy["human_below_confidence"] is None and policy["llm_annotations"] == 1
    assert policy["double_annotation_share"] == 0.0  # nobody labels: nothing to double
    assert parse_policy(policy).cascade  # `annotate policy set` takes it as written
    assert result.recommendation.reasons[0].startswith("cascade: fake/cheap at confidence")
    assert result.recommendation.choice.expected_cost == pytest.approx(DEAR_CALL / 2)


def test_a_stage_whose_confidence_says_nothing_is_dropped_and_named(
        sqlite_store: Store) -> None:
    make_sample(sqlite_store)
    _fakes()
    result = _pilot(sqlite_store, ("fake/flat", "fake/cheap"))
    flat = next(c for c in result.cascade["candidates"] if c["model"] == "fake/flat")
    assert not flat["kept"] and flat["reason"].startswith(NO_INFORMATION)
    assert any(n.startswith("fake/flat dropped as a cascade stage: " + NO_INFORMATION)
               for n in result.notes)
    # one stage left: the single-model routing, no cascade in the policy
    assert not result.cascade["recommends_cascade"]
    assert result.recommendation.policy["cascade"] == []
    assert result.recommendation.policy["human_below_confidence"] == 0.95
    curves = {(c["model"], c["threshold"]) for c in result.cascade["accuracy_at_coverage"]}
    assert ("fake/flat", 0.95) in curves and ("fake/cheap", 0.5) in curves


def test_annotate_pilot_prints_the_cascade_and_writes_it_to_the_policy_file(
        sqlite_store: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    make_sample(sqlite_store)
    _fakes()
    out = tmp_path / "pilot"
    assert main(["--db", str(sqlite_store.engine.url), "pilot", "p", "--models",
                 "fake/cheap,fake/dear", "--sample", str(N), "--bootstrap", "200",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Accuracy@coverage" in text and "cascade: fake/cheap at confidence >= 0.95" in text
    written = json.loads((out / "policy.json").read_text())
    assert [s["annotator"] for s in written["cascade"]] == ["fake/cheap", "fake/dear"]
    assert "Cascade" in (out / "report.html").read_text()


def test_a_stage_cost_given_as_an_option_replaces_the_ledger_price(
        sqlite_store: Store) -> None:
    make_sample(sqlite_store)
    _fakes()
    result = run_pilot(sqlite_store, "p", PilotOptions(
        costs=Costs(10, 1), models=("fake/cheap", "fake/dear"), sample=N, bootstrap=300,
        stage_costs={"fake/dear": 0.0}))
    dear = next(c for c in result.cascade["candidates"] if c["model"] == "fake/dear")
    assert dear["cost_per_item"] == 0.0
    assert result.cascade["best"]["expected_cost"] == pytest.approx(0.0)


@pytest.mark.parametrize(("value", "message"), [
    ("fake/other=1", "is not one of --models"), ("fake/cheap=abc", "give MODEL=USD"),
    ("fake/cheap=-1", "give MODEL=USD"), ("=1", "give MODEL=USD"),
    ("fake/cheap=nan", "give MODEL=USD")])
def test_a_bad_stage_cost_is_one_line_and_exit_2(
        sqlite_store: Store, capsys: pytest.CaptureFixture[str], value: str,
        message: str) -> None:
    make_sample(sqlite_store)
    _fakes()
    assert main(["--db", str(sqlite_store.engine.url), "pilot", "p", "--models",
                 "fake/cheap", "--stage-cost", value]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_stage_without_wrong_answers_is_dropped_as_unchecked(sqlite_store: Store) -> None:
    make_sample(sqlite_store)
    _fakes()
    result = _pilot(sqlite_store, ("fake/perfect", "fake/cheap"))
    perfect = next(c for c in result.cascade["candidates"] if c["model"] == "fake/perfect")
    assert not perfect["kept"]
    assert perfect["reason"].startswith("its confidence cannot be checked: no wrong answers")
