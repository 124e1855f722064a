"""The kind seam, proved from the real `annotate` command in a subprocess: ``ranking``
lives only in ``tests/plugins/ranking_kind.py`` and reaches the platform only through the
``annotate.kinds`` entry point group of a tiny distribution (``*.dist-info/entry_points.txt``)
put on the subprocess's ``PYTHONPATH``. It is taken through project creation, import,
`annotate run --model dry-run`, the agreement report, export and `annotate ls config`;
without the distribution the same kind is refused."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANNOTATE = [sys.executable, "-m", "annotate.cli.main", "--quiet"]
ENTRY_POINTS = "[annotate.kinds]\nranking = tests.plugins.ranking_kind:KIND\n"
RANKINGS = {"q1": (["b", "a", "c"], ["b", "a", "c"]), "q2": (["a", "b", "c"], ["c", "b", "a"]),
            "q3": (["c", "a", "b"], ["c", "a", "b"])}


def plugin_site(folder: Path) -> Path:
    info = folder / "annotate_test_kinds-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: annotate-test-kinds\n"
                                   "Version: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(ENTRY_POINTS, encoding="utf-8")
    return folder


class Cli:
    def __init__(self, tmp_path: Path, site: Path | None) -> None:
        self.cwd = tmp_path
        self.env = {**os.environ, "ANNOTATE_DB": f"sqlite:///{tmp_path / 'kinds.db'}",
                    "COLUMNS": "200", "NO_COLOR": "1",
                    "PYTHONPATH": os.pathsep.join([str(site)] * (site is not None)
                                                  + [str(ROOT)])}

    def __call__(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*ANNOTATE, *args], env=self.env, cwd=self.cwd,
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == code, (args, proc.stdout, proc.stderr)
        return proc


@pytest.fixture
def items(tmp_path: Path) -> Path:
    path = tmp_path / "items.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for item_id, answers in RANKINGS.items():
            annotations = [{"annotator_id": who, "annotator_kind": "human",
                            "value": {"ranking": ranking}}
                           for who, ranking in zip(("ann1", "ann2"), answers, strict=True)]
            f.write(json.dumps({"id": item_id, "text": f"Which {item_id} first?",
                                "annotations": annotations}) + "\n")
    return path


def test_a_kind_from_an_entry_point_goes_through_the_whole_platform(
        tmp_path: Path, items: Path) -> None:
    cli = Cli(tmp_path, plugin_site(tmp_path / "site"))
    assert "ranking" in cli("project", "create", "--help").stdout
    cli("project", "create", "r", "--kind", "ranking", "--labels", "a,b,c")
    imported = json.loads(cli("import", "r", str(items), "--format", "export-jsonl",
                              "--json").stdout)
    assert (imported["items"], imported["annotations"]) == (3, 6)

    run = json.loads(cli("run", "r", "--model", "dry-run", "--json").stdout)
    assert run["by_role"]["annotator"] == 3 and run["failed_attempts"] == 0
    assert run["tasks"]["failed"] == 0

    cli("report", "r", "-o", str(tmp_path / "report"), "--bootstrap", "20")
    numbers = json.loads((tmp_path / "report" / "numbers.json").read_text(encoding="utf-8"))
    assert numbers["meta"]["task_kind"] == "ranking"
    labels = {row["label"] for row in csv.DictReader(
        (tmp_path / "report" / "per_label.csv").open(encoding="utf-8"))}
    assert {"b>a>c", "a>b>c", "c>b>a", "c>a>b"} <= labels

    cli("export", "r", "--format", "csv", "-o", str(tmp_path / "out.csv"))
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    people = {(r["item_id"], r["annotator_id"]): r["label"] for r in rows
              if r["annotator_kind"] == "human"}
    assert people == {(item, who): ">".join(answers[i]) for item, answers in RANKINGS.items()
                      for i, who in enumerate(("ann1", "ann2"))}
    llm = [r for r in rows if r["annotator_kind"] == "llm" and r["role"] == "annotator"]
    assert len(llm) == 3
    assert all(sorted(json.loads(r["value"])["ranking"]) == ["a", "b", "c"] for r in llm)

    config = cli("ls", "config", "r").stdout
    assert '<Ranker name="ranking" toName="options" />' in config


def test_without_the_entry_point_the_kind_is_refused(tmp_path: Path) -> None:
    cli = Cli(tmp_path, None)
    assert "ranking" not in cli("project", "create", "--help").stdout
    refused = cli("project", "create", "r", "--kind", "ranking", "--labels", "a,b,c", code=2)
    assert "unknown kind 'ranking'" in refused.stderr + refused.stdout
