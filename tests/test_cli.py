"""The `annotate` command line, run in-process on a real SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotate.cli.main import main


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(db: str, *args: str) -> int:
    return main(["--db", db, *args])


def test_create_import_status_json(db: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "items.csv"
    data.write_text("id,text,source\na,good phone,web\nb,bad phone,app\n", encoding="utf-8")
    assert run(db, "project", "create", "p", "--kind", "classification", "--labels",
               "pos,neg") == 0
    assert run(db, "import", "p", str(data)) == 0
    capsys.readouterr()
    assert run(db, "status", "p", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["items"] == 2 and isinstance(status["items"], int)
    assert status["tasks"]["pending"] >= 2
    assert run(db, "project", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "p"


def test_errors_are_one_line_and_exit_2(db: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "status", "nope") == 2
    err = capsys.readouterr().err
    assert "no project named 'nope'" in err and "Traceback" not in err
    run(db, "project", "create", "p", "--kind", "classification", "--labels", "pos,neg")
    bad = tmp_path / "bad.csv"
    bad.write_text('id,text\na,"fine\nline two"\nb,\n', encoding="utf-8")
    capsys.readouterr()
    assert run(db, "import", "p", str(bad)) == 2
    err = capsys.readouterr().err
    assert f"{bad}:4:" in err and "Traceback" not in err
    assert run(db, "project", "create", "q", "--kind", "weird") == 2
    assert run("postgresql+psycopg://nobody@127.0.0.1:1/x", "project", "list") == 2
    assert "cannot open database" in capsys.readouterr().err


def test_policy_set_and_show(db: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    run(db, "project", "create", "p", "--kind", "choice")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"human_annotations": 2, "blind": True}), encoding="utf-8")
    assert run(db, "policy", "set", "p", str(policy)) == 0
    capsys.readouterr()
    assert run(db, "policy", "show", "p", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["human_annotations"] == 2 and shown["blind"] is True
    policy.write_text(json.dumps({"human_annotations": -1}), encoding="utf-8")
    assert run(db, "policy", "set", "p", str(policy)) == 2
    assert "human_annotations" in capsys.readouterr().err


def test_demo_run_and_report_with_the_dry_run_model(db: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "demo", "--model", "dry-run", "--items", "15", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["items"] == 15 and summary["roles_ran"] is True
    assert summary["run"]["by_role"]["annotator"] == 15
    assert summary["agreement"]["llm_items"] > 0
    # a second run finds nothing left to do; the report reads what is there
    assert run(db, "run", "convabuse-demo", "--model", "dry-run", "--json") == 0
    assert json.loads(capsys.readouterr().out)["done"] == 0
    assert run(db, "report", "convabuse-demo", "-o", str(tmp_path / "rep"),
               "--bootstrap", "50") == 0
    html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert "convabuse-demo" in html and "<img" in html


def test_console_script_help_lists_the_commands() -> None:
    result = subprocess.run([sys.executable, "-m", "annotate.cli.main", "--help"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in ("project", "import", "export", "status", "policy", "run", "demo",
                    "agreement", "report"):
        assert command in result.stdout
