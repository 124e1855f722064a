"""A cascade from the command line, as a user runs it: `policy set` refuses unknown
annotators in one line, `annotate run` (a subprocess) answers each stage with its own
annotator (a distilled model, then dry-run), and `status` shows what each stage decided."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from annotate.cli.main import main
from tests.distill.conftest import TOY, write_labels

ANNOTATE = Path(sys.executable).with_name("annotate")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ANNOTATE_MODELS_DIR", str(tmp_path / "models"))
    return f"sqlite:///{tmp_path / 'cli.db'}"


def _policy(tmp_path: Path, *stages: tuple[str, float], **extra: object) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"human_annotations": 1, "double_annotation_share": 0, **extra,
                                "cascade": [{"annotator": a, "threshold": t}
                                            for a, t in stages]}))
    return str(path)


def _work_project(db: str, tmp_path: Path) -> None:
    """``toy`` labelled by people and distilled; ``work``, the same labels, items to label."""
    assert main(["--db", db, "project", "create", "toy", "--kind", "classification",
                 "--labels", "sports,cooking"]) == 0
    assert main(["--db", db, "import", "toy", str(write_labels(tmp_path / "toy.csv", TOY))]) == 0
    assert main(["--db", db, "distill", "toy", "--bootstrap", "0"]) == 0
    assert main(["--db", db, "project", "create", "work", "--kind", "classification",
                 "--labels", "sports,cooking"]) == 0
    new = tmp_path / "new.csv"
    new.write_text("item_id,text\n" + "".join(f"n{i},{text}\n" for i, (_, text, _) in
                                              enumerate(TOY[::4])))


@pytest.mark.parametrize(("stages", "extra", "message"), [
    ([("distilled:nosuch", 0.9)], {}, "cascade stage 1 (distilled:nosuch): no distilled model"),
    ([("distilled:toy", 0.9), ("local/llama9", 0.5)], {},
     "cascade stage 2 (local/llama9): unknown embedded model"),
    ([("distilled:toy", 0.9)], {"llm_annotations": 3}, "llm_annotations must be 1"),
    ([("distilled:toy", 1.5)], {}, "cascade.0.threshold"),
])
def test_policy_set_refuses_an_unknown_or_invalid_cascade(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        stages: list[tuple[str, float]], extra: dict[str, object], message: str) -> None:
    _work_project(db, tmp_path)
    capsys.readouterr()
    assert main(["--db", db, "policy", "set", "work", _policy(tmp_path, *stages, **extra)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_annotate_run_answers_each_stage_with_its_annotator(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _work_project(db, tmp_path)
    policy = _policy(tmp_path, ("distilled:toy", 0.99), ("dry-run", 0.5))
    assert main(["--db", db, "policy", "set", "work", policy]) == 0
    assert main(["--db", db, "import", "work", str(tmp_path / "new.csv")]) == 0
    env = {**os.environ, "ANNOTATE_MODELS_DIR": str(tmp_path / "models")}
    done = subprocess.run([str(ANNOTATE), "-q", "--db", db, "run", "work", "--model", "dry-run",
                           "--json"], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["tasks"]["pending"] == 0 and summary["failed_attempts"] == 0
    capsys.readouterr()
    assert main(["--db", db, "status", "work", "--json"]) == 0
    first, second, people = json.loads(capsys.readouterr().out)["cascade"]
    assert (first["annotator"], second["annotator"]) == ("distilled:toy", "dry-run")
    assert first["reached"] == 10 and first["answered"] == 10
    assert first["decided"] + first["passed_on"] == 10 and first["passed_on"] > 0
    assert second["reached"] == first["passed_on"] == second["answered"]
    assert people["reached"] == second["passed_on"]
    assert summary["done"] == first["answered"] + second["answered"]
    shutil.rmtree(tmp_path / "models" / "toy")  # the model is gone: the run says so first
    gone = subprocess.run([str(ANNOTATE), "-q", "--db", db, "run", "work", "--model",
                           "dry-run"], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert gone.returncode != 0 and "Traceback" not in gone.stderr
    assert "cascade stage distilled:toy: no distilled model" in gone.stderr
    assert len(gone.stderr.strip().splitlines()) == 1
