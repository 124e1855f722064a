"""`annotate agreement PATH` on long-form CSV files, through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from annotate.cli.agreement_cmd import agreement
from annotate.errors import InvalidInput
from tests.agreement.agreement_data import KRIPPENDORFF_2011, long_frame

app = typer.Typer()
app.command("agreement")(agreement)


@app.callback()
def _root() -> None:
    """A stand-in for the main app (keeps `agreement` a subcommand)."""


runner = CliRunner()


@pytest.fixture
def paper_csv(tmp_path: Path) -> Path:
    path = tmp_path / "paper.csv"
    frame = long_frame(KRIPPENDORFF_2011)
    frame = frame.assign(label=frame["label"].astype(int), comment="ignored column")
    frame.to_csv(path, index=False)
    return path


def run_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["agreement", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize(("level", "expected"), [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_json_alpha_at_every_level(paper_csv: Path, level: str, expected: float) -> None:
    data = run_json(str(paper_csv), "--level", level)
    assert data["alpha"] == pytest.approx(expected, abs=5e-4)
    assert {"alpha", "percent_agreement", "cohen_kappa", "fleiss_kappa", "n_items",
            "n_annotators", "notes"} <= set(data)
    assert data["n_items"] == 12 and data["n_annotators"] == 4
    assert data["cohen_kappa"] is None and data["fleiss_kappa"] is None
    notes = data["notes"]
    assert isinstance(notes, list) and len(notes) == 2
    assert "ci" not in data


def test_json_with_bootstrap_has_a_seeded_ci(paper_csv: Path) -> None:
    first = run_json(str(paper_csv), "--bootstrap", "300", "--seed", "5")
    again = run_json(str(paper_csv), "--bootstrap", "300", "--seed", "5")
    assert first["ci"] == again["ci"]
    ci = first["ci"]
    assert isinstance(ci, dict) and ci["n_resamples"] == 300 and ci["low"] <= ci["high"]


def test_ordinal_text_labels_with_order(tmp_path: Path) -> None:
    path = tmp_path / "words.csv"
    pd.DataFrame({"item_id": [1, 1, 2, 2, 3, 3], "annotator": ["a", "b"] * 3,
                  "label": ["low", "low", "high", "mid", "mid", "mid"]}).to_csv(path, index=False)
    data = run_json(str(path), "--level", "ordinal", "--order", "low, mid,high")
    assert data["alpha"] is not None
    assert data["cohen_kappa"] is not None and data["cohen_kappa_weights"] == "linear"
    assert data["fleiss_kappa"] is not None
    failed = runner.invoke(app, ["agreement", str(path), "--level", "ordinal"])
    assert isinstance(failed.exception, InvalidInput)
    assert "order" in str(failed.exception)


def test_table_output(paper_csv: Path) -> None:
    result = runner.invoke(app, ["agreement", str(paper_csv), "--level", "interval",
                                 "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    assert "Krippendorff's alpha" in result.stdout
    assert "0.8491" in result.stdout
    assert "note: cohen_kappa" in result.stdout


def test_missing_file_is_invalid_input(tmp_path: Path) -> None:
    result = runner.invoke(app, ["agreement", str(tmp_path / "nope.csv")])
    assert isinstance(result.exception, InvalidInput)
    assert str(result.exception) == f"no such file: {tmp_path / 'nope.csv'}"


def test_missing_columns_are_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("item,annotator,label\n1,a,x\n", encoding="utf-8")
    result = runner.invoke(app, ["agreement", str(path)])
    assert isinstance(result.exception, InvalidInput)
    assert "item_id" in str(result.exception)
    assert "\n" not in str(result.exception)


def test_text_labels_at_interval_level_are_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    path.write_text("item_id,annotator,label\n1,a,x\n1,b,y\n", encoding="utf-8")
    result = runner.invoke(app, ["agreement", str(path), "--level", "interval"])
    assert isinstance(result.exception, InvalidInput)


def test_bad_level_is_a_usage_error(paper_csv: Path) -> None:
    result = runner.invoke(app, ["agreement", str(paper_csv), "--level", "fuzzy"])
    assert result.exit_code == 2
