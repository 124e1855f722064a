"""`annotate distill` on the command line: a report as JSON, and one-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.cli.main import main
from tests.distill.conftest import TOY, write_labels


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ANNOTATE_MODELS_DIR", str(tmp_path / "models"))
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(db: str, *args: str) -> int:
    return main(["--db", db, *args])


def test_distill_prints_a_json_report_and_saves_the_model(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "project", "create", "toy", "--kind", "classification", "--labels",
               "sports,cooking") == 0
    assert run(db, "import", "toy", str(write_labels(tmp_path / "toy.csv", TOY))) == 0
    capsys.readouterr()
    assert run(db, "distill", "toy", "--min-confidence", "0.9", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "distilled:toy" and report["n_train"] == 32
    assert report["distilled"]["accuracy"] >= 0.9 and report["llm"] == []
    assert (tmp_path / "models" / "toy" / "model.json").is_file()
    assert run(db, "distill", "toy", "--bootstrap", "0") == 0
    shown = capsys.readouterr().out
    assert "distilled:toy" in shown and "no LLM answers on these items" in shown


@pytest.mark.parametrize(("setup", "args", "message"), [
    ([], ["distill", "nope"], "no project named 'nope'"),
    ([["project", "create", "ner", "--kind", "spans", "--labels", "PER,LOC"]],
     ["distill", "ner"], "spans is not supported yet"),
    ([["project", "create", "empty", "--kind", "classification", "--labels", "a,b"]],
     ["distill", "empty"], "has no final labels to learn from"),
])
def test_errors_are_one_line_and_exit_2(db: str, capsys: pytest.CaptureFixture[str],
                                        setup: list[list[str]], args: list[str],
                                        message: str) -> None:
    for command in setup:
        assert run(db, *command) == 0
    capsys.readouterr()
    assert run(db, *args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_run_with_a_distilled_model_checks_it_first(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing model is one error before any task is touched; other roles are refused."""
    assert run(db, "project", "create", "toy", "--kind", "classification", "--labels",
               "sports,cooking") == 0
    assert run(db, "import", "toy", str(write_labels(tmp_path / "toy.csv", TOY[:4]))) == 0
    capsys.readouterr()
    assert run(db, "run", "toy", "--model", "distilled:nothing-here") == 2
    assert run(db, "run", "toy", "--model", "distilled:x", "--role", "moderator") == 2
    err = capsys.readouterr().err
    assert "no distilled model" in err and "can only take the annotator role" in err
    assert run(db, "status", "toy", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["tasks"].get("failed", 0) == 0  # nothing was attempted
