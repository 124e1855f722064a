"""The seeded scratch folder the CLI contract tests share (tests/contract/cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotate.cli.main import main
from tests.contract.cli import write_files


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with a project `p` (3 items), a person, and the files the cases use."""
    folder = tmp_path_factory.mktemp("contract")
    db = folder / "contract.db"
    items = folder / "items.csv"
    items.write_text("id,text\na,good\nb,bad\nc,fine\n", encoding="utf-8")
    for argv in (["project", "create", "p", "--kind", "classification", "--labels", "pos,neg"],
                 ["import", "p", str(items)], ["people", "add", "olga"]):
        assert main(["--db", f"sqlite:///{db}", *argv]) == 0, argv
    write_files(folder)
    return folder
