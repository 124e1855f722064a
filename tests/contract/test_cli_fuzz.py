"""Hypothesis fuzzing of the CLI's arguments: no argument list may end in a traceback (exit 1
is reserved for bugs), and an error is one line (annotate/cli/errors.py; the table of known
bad inputs is tests/contract/test_error_contract.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract.cli import Cli, fill

WORDS = ["p", "nope", "", "-", "--", "0", "-1", "1e309", "nan", "inf", "99999999999999999999",
         "a,a", ",", "../x", "[/bold]x", "x\x00y", "\ud800", "é", "classification", "spans",
         "choice", "jsonl", "csv", "parquet", "xml", "--json", "--help", "-o", "--format",
         "--kind", "--labels", "--budget", "--force", "-f", "sqlite:///", "http://127.0.0.1:1"]
COMMANDS: dict[str, list[str]] = {
    "status": ["--json"],
    "project list": ["--json"],
    "project show": ["--json"],
    "project create": ["--kind", "--labels", "--budget", "--json", "--schema", "--guideline",
                       "--policy"],
    "policy show": ["--json"],
    "policy set": [],
    "import": ["--format", "--json"],
    "export": ["--format", "-f", "--force"],
    "db current": ["--json"],
    "agreement": ["--level", "--order", "--bootstrap", "--seed", "--json"],
    "people list": [],
    "people token": [],
    "ls config": [],
    "expert anomalies": ["--json"],
}


def argv_for(folder: Path) -> st.SearchStrategy[list[str]]:
    files = [str(folder / name) for name in ("items.csv", "surrogate.jsonl", "deep.jsonl",
                                             "nul.jsonl", "schema_list.json", "policy_huge.json",
                                             "notutf8.md", "adir", "missing.csv", "latin1.csv")]
    token = st.one_of(st.sampled_from(WORDS + files), st.text(max_size=12),
                      st.integers(-10**12, 10**12).map(str),
                      st.floats(allow_nan=True, allow_infinity=True).map(repr))

    def build(command: str) -> st.SearchStrategy[list[str]]:
        options = COMMANDS[command] or ["--json"]
        pieces = st.lists(st.one_of(token, st.sampled_from(options)), max_size=6)
        return pieces.map(lambda rest: [*command.split(), *rest])

    return st.sampled_from(sorted(COMMANDS)).flatmap(build)


def test_fuzzed_arguments_never_end_in_a_traceback(
        seeded: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "fuzz.db"
    shutil.copy(seeded / "contract.db", db)
    monkeypatch.chdir(tmp_path)  # -o and report folders land here
    cli = Cli(seeded, capsys)
    seen: dict[int, int] = {}

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(argv_for(seeded))
    def check(argv: list[str]) -> None:
        code, _out, err = cli(*fill(argv, seeded), db=f"sqlite:///{db}")
        seen[code] = seen.get(code, 0) + 1
        assert code in (0, 2), f"{argv!r}: exit {code}: {err[-1500:]}"
        assert "Traceback" not in err, f"{argv!r}: {err[-1500:]}"
        if code == 2 and err.startswith("error: "):
            assert len(err.strip().splitlines()) == 1, f"{argv!r}: {err}"

    check()
    assert seen.get(2, 0) > 20, seen  # the fuzzing reached the error paths, not only --help
