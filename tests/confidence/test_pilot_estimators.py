"""The pilot compares estimators per model (#18 item 3, first part): a model whose written
number is the same on every answer but whose token probabilities and sampled answers tell
right from wrong; the report says which estimator carries information."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from annotate.cli.main import main
from annotate.llm.testing import Reply, install_fake, reply, scored
from annotate.pilot.metrics import Costs
from annotate.pilot.recommend import PilotOptions, run_pilot
from annotate.store.engine import Store, open_store
from tests.pilot.pilot_data import MODEL, PRICE, make_pilot_project


def answer(label: str) -> str:
    return json.dumps({"label": label, "reason": "r", "confidence": 90})


def respond(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
    text = messages[-1]["content"]
    if "ITEM-RIGHT" in text:  # people say pos: sure, stable, right
        return scored(answer("pos"), "pos", {"pos": -0.05, "neg": -3.0})
    if params.get("seed") is not None and params["seed"] % 2 == 0:
        return reply(answer("pos"))  # a sample of an unsure item flips
    return scored(answer("neg"), "neg", {"neg": -0.6, "pos": -0.8})  # unsure and wrong


def test_each_estimator_is_scored_and_an_uninformative_one_is_named(
        sqlite_store: Store) -> None:
    make_pilot_project(sqlite_store, right=20, wrong=10)
    fake = install_fake("fake", responder=respond, price_per_token=PRICE)
    options = PilotOptions(costs=Costs(10, 1), models=(MODEL,), sample=30, bootstrap=200,
                           estimators=("verbalized", "logprob", "consistency"))
    before = fake.call_count
    result = run_pilot(sqlite_store, "p", options)
    by_name = {s["estimator"]: s for s in result.estimators}
    assert list(by_name) == ["verbalized", "logprob", "consistency"]
    assert {s["answers"] for s in by_name.values()} == {30}
    assert by_name["verbalized"]["auroc"] == 0.5 and not by_name["verbalized"]["informative"]
    assert by_name["logprob"]["auroc"] == 1.0 and by_name["logprob"]["informative"]
    assert by_name["consistency"]["auroc"] == 1.0 and by_name["consistency"]["informative"]
    assert by_name["verbalized"]["ece"] == pytest.approx(0.9 - 20 / 30)  # one bin
    # the pilot's own run (30), one logprob pass read for both greedy estimators (30), and
    # k = 5 samples per item for consistency (150)
    assert fake.call_count - before == 30 + 30 + 150
    assert by_name["consistency"]["calls"] == 150 and by_name["consistency"]["cost_usd"] > 0
    assert any("verbalized confidence: its confidence carries no information" in n
               for n in result.notes)


def test_cli_prints_the_estimator_table_and_refuses_an_unknown_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    make_pilot_project(store, right=20, wrong=10)
    store.dispose()
    install_fake("fake", responder=respond, price_per_token=PRICE)
    assert main(["--db", url, "pilot", "p", "--models", MODEL, "--sample", "30",
                 "--bootstrap", "50", "--estimators", "logprob", "-o",
                 str(tmp_path / "out")]) == 0
    shown = capsys.readouterr().out
    assert "Confidence estimators" in shown and "logprob" in shown
    assert main(["--db", url, "pilot", "p", "--models", MODEL, "--estimators", "vibes",
                 "-o", str(tmp_path / "out")]) == 2
    assert "known estimators are verbalized, logprob, consistency" in capsys.readouterr().err


def test_the_html_report_has_the_estimator_table(sqlite_store: Store, tmp_path: Path) -> None:
    from annotate.pilot.report import write_pilot_files

    make_pilot_project(sqlite_store, right=20, wrong=10)
    install_fake("fake", responder=respond, price_per_token=PRICE)
    result = run_pilot(sqlite_store, "p", PilotOptions(
        costs=Costs(10, 1), models=(MODEL,), sample=30, bootstrap=50,
        estimators=("verbalized", "logprob")))
    files = write_pilot_files(sqlite_store, result, tmp_path / "out")
    html = files.html.read_text(encoding="utf-8")
    assert "Confidence estimators" in html and "ECE calibrated (out of fold)" in html
    assert "its confidence carries no information" in html  # the verbalized row's verdict
    numbers = json.loads(files.json.read_text(encoding="utf-8"))
    assert [s["estimator"] for s in numbers["estimators"]] == ["verbalized", "logprob"]
