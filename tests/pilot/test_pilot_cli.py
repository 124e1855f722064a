"""`annotate pilot` in-process on a real SQLite file, with the fake LLM at litellm's boundary:
the written policy is accepted by `annotate policy set`, errors are one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from annotate.cli.main import main
from annotate.kinds.schema import LabelSchema
from annotate.store.engine import open_store
from annotate.store.models import Task
from tests.pilot.pilot_data import MODEL, install_pilot_fake, make_pilot_project


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    make_pilot_project(store, right=6, wrong=4, neg=16, unlabelled=10)
    make_pilot_project(store, right=2, wrong=0, unlabelled=10, name="small")
    from annotate.projects.catalog import create_project

    with store.session() as session:
        create_project(session, "ner", LabelSchema(kind="spans", labels=["PER"]))
    store.dispose()
    install_pilot_fake()
    return url


def run(db: str, *args: str) -> int:
    return main(["--db", db, *args])


def test_pilot_writes_a_policy_that_policy_set_accepts(db: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run(db, "pilot", "p", "--models", MODEL, "--error-cost", "100", "--human-cost", "1",
               "--bootstrap", "100", "-o", str(out), "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["recommendation"]["model"] == MODEL
    assert summary["models"][0]["invalid"] == 0
    assert Path(summary["files"]["policy"]) == out / "policy.json"
    assert (out / "report.html").exists() and (out / "numbers.json").exists()
    assert run(db, "policy", "set", "p", str(out / "policy.json")) == 0
    capsys.readouterr()
    assert run(db, "policy", "show", "p", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["human_below_confidence"] == summary["recommendation"]["choice"]["threshold"]
    assert 0.4 < shown["human_below_confidence"] <= 0.9


def test_the_table_names_the_recommendation(db: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "pilot", "p", "--models", MODEL, "--error-cost", "1", "--human-cost", "100",
               "--bootstrap", "100", "-o", str(tmp_path / "o")) == 0
    printed = capsys.readouterr().out
    assert "LLM alone at confidence >= 0" in printed
    assert f"annotate policy set p {tmp_path / 'o' / 'policy.json'}" in printed


@pytest.mark.parametrize(("args", "message"), [
    (["pilot", "nope"], "no project named 'nope'"),
    (["pilot", "small"], "--ask-people"),
    (["pilot", "p", "--models", " , "], "--models needs at least one model"),
    (["pilot", "p", "--sample", "0"], "--sample must be at least 1"),
    (["pilot", "p", "--error-cost", "-1"], "must not be negative"),
    (["pilot", "ner"], "is spans"),
])
def test_errors_are_one_line_and_exit_2(db: str, args: list[str], message: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    argv = args if "--models" in args else [*args, "--models", MODEL]
    assert run(db, *argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_ask_people_queues_tasks_and_exits(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "pilot", "small", "--ask-people", "--sample", "8") == 0
    assert "queued 6 more for people" in capsys.readouterr().out
    store = open_store(db)
    with store.session() as session:
        n = session.scalar(select(func.count()).select_from(Task)
                           .where(Task.worker_kind == "human"))
    store.dispose()
    assert n == 6
