"""The plugin seams, proved from the real `annotate` command in a subprocess: a role, an import
format and an export format that live only in ``tests/plugins/`` and reach the platform only
through entry points (a tiny distribution, ``*.dist-info/entry_points.txt``, put on the
subprocess's ``PYTHONPATH``). Without it on the path the same names are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ANNOTATE = [sys.executable, "-m", "annotate.cli.main"]
ENTRY_POINTS = """\
[annotate.roles]
critic = tests.plugins.critic_role:CriticRole

[annotate.importers]
lines = tests.plugins.lines_importer:read_lines

[annotate.exporters]
markdown = tests.plugins.markdown_exporter:MarkdownExporter
"""


def plugin_site(folder: Path) -> Path:
    """A folder holding one installed test distribution that declares the three plugins."""
    info = folder / "annotate_test_plugins-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: annotate-test-plugins\n"
                                   "Version: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(ENTRY_POINTS, encoding="utf-8")
    return folder


class Cli:
    def __init__(self, db: str, site: Path | None) -> None:
        self.cwd = Path(db.removeprefix("sqlite:///")).parent
        self.env = {**os.environ, "ANNOTATE_DB": db, "COLUMNS": "200", "NO_COLOR": "1"}
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(site)] * (site is not None) + [str(ROOT)])

    def __call__(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*ANNOTATE, "--quiet", *args], env=self.env, cwd=self.cwd,
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == code, (args, proc.stdout, proc.stderr)
        return proc


@pytest.fixture
def items(tmp_path: Path) -> Path:
    path = tmp_path / "items.txt"
    path.write_text("great phone\n\nbroken on arrival\nworks as described\n", encoding="utf-8")
    return path


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(f"sqlite:///{tmp_path / 'plugins.db'}", plugin_site(tmp_path / "site"))
    cli("project", "create", "p", "--kind", "classification", "--labels", "pos,neg")
    return cli


def test_plugin_role_importer_and_exporter_from_the_cli(cli: Cli, items: Path,
                                                        tmp_path: Path) -> None:
    imported = json.loads(cli("import", "p", str(items), "--format", "lines", "--json").stdout)
    assert imported["items"] == 3

    run = json.loads(cli("run", "p", "--role", "critic", "--model", "dry-run", "--json").stdout)
    assert run["by_role"] == {"critic": 3}
    assert run["tasks"] == {"pending": 0, "leased": 0, "done": 3, "failed": 0}

    out = tmp_path / "out.md"
    cli("export", "p", "--format", "markdown", "-o", str(out))
    rows = out.read_text(encoding="utf-8").splitlines()[2:]
    assert [row.split(" | ")[1] for row in rows] == [
        "great phone", "broken on arrival", "works as described"]
    assert all(row.split(" | ")[2] == "critic" for row in rows)
    assert all(row.split(" | ")[3] in ("pos |", "neg |") for row in rows)


def test_the_built_in_roles_still_get_their_tasks_beside_the_plugin(cli: Cli,
                                                                   items: Path) -> None:
    cli("import", "p", str(items), "--format", "lines")
    run = json.loads(cli("run", "p", "--model", "dry-run", "--json").stdout)
    assert run["by_role"]["critic"] == 3 and run["by_role"]["annotator"] == 3
    assert run["open_human_tasks"] >= 3


def test_a_policy_change_asks_the_plugin_role_too(cli: Cli, items: Path, tmp_path: Path) -> None:
    cli("import", "p", str(items), "--format", "lines")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"human_annotations": 1, "llm_annotations": 2}),
                      encoding="utf-8")
    change = json.loads(cli("policy", "set", "p", str(policy), "--json").stdout)
    assert change["created"] == {"critic": 3, "LLM annotator": 3}


def test_help_lists_exactly_the_registered_names(cli: Cli) -> None:
    assert "helper, annotator, moderator, critic" in cli("run", "--help").stdout
    import_help = " ".join(cli("import", "--help").stdout.split())
    assert ("csv, labelled-csv, jsonl, spans-jsonl, pairwise-jsonl, export-jsonl, "
            "labelstudio, prodigy, doccano, lines" in import_help.replace("│ ", ""))
    for pseudo in ("longform", "pairwise or", "spans,"):
        assert pseudo not in import_help
    export_help = " ".join(cli("export", "--help").stdout.split()).replace("│ ", "")
    assert "jsonl, csv, parquet, labelstudio, prodigy, doccano, hf, spacy, markdown" in export_help


@pytest.mark.parametrize(("args", "error"), [
    (["run", "p", "--role", "critic", "--model", "dry-run"], "unknown role(s) critic"),
    (["import", "p", "ITEMS", "--format", "lines"], "unknown import format 'lines'"),
    (["export", "p", "--format", "markdown"], "unknown format 'markdown'; choose one of jsonl, "
                                              "csv, parquet"),
])
def test_without_the_plugin_the_names_are_refused_in_one_line(
        tmp_path: Path, items: Path, args: list[str], error: str) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'bare.db'}", None)
    cli("project", "create", "p", "--kind", "classification", "--labels", "pos,neg")
    proc = cli(*[str(items) if a == "ITEMS" else a for a in args], code=2)
    assert error in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
