"""The CLI's error contract, command by command (annotate/cli/errors.py).

Every failure a user can cause or fix is one line on stderr, exit code 2, no traceback, and
the database exactly as it was. A table of bad inputs for every command (the hypothesis
fuzzing of the arguments is tests/contract/test_cli_fuzz.py; the shared runner and checks
are tests/contract/cli.py). The commands run in-process through the real entry point
(`annotate.cli.main.main`), on a real SQLite file; a few run as real processes where the
process itself matters (exit codes seen by a shell, a closed pipe).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from annotate.cli.errors import run_guarded
from tests.contract.cli import Cli, assert_one_line_error, fill, snapshot

ANNOTATE = [sys.executable, "-m", "annotate.cli.main"]


def damaged_databases(folder: Path, good: Path) -> dict[str, str]:
    """--db values that must each be refused with one line: URL -> what the line says."""
    (folder / "notdb.db").write_text("hello, I am not a database\n", encoding="utf-8")
    truncated = folder / "truncated.db"
    truncated.write_bytes(good.read_bytes()[:5000])
    future = folder / "future.db"
    dropped = folder / "dropped.db"
    foreign = folder / "foreign.db"
    for copy in (future, dropped):
        src = sqlite3.connect(good)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.close()
    for path, sql in ((future, "UPDATE alembic_version SET version_num = '9999'"),
                      (dropped, "DROP TABLE annotations"),
                      (foreign, "CREATE TABLE IF NOT EXISTS users (id INTEGER)")):
        conn = sqlite3.connect(path)
        conn.execute(sql)
        conn.commit()
        conn.close()
    return {
        "garbage": "neither a database URL nor a .db file",
        str(folder / "notdb.db"): "file is not a database",
        f"sqlite:///{truncated}": "malformed",
        f"sqlite:///{future}": "newer than this annotate knows",
        f"sqlite:///{foreign}": "belongs to another program",
        f"sqlite:///{folder / 'no' / 'such' / 'folder.db'}": "cannot open database",
        "postgresql+psycopg://nobody@127.0.0.1:1/x": "cannot open database",
        "mysql+nosuchdriver://x@127.0.0.1/x": "database",
    }


# argv (files relative to the scratch folder, `{d}`) -> a fragment of the one-line error
CASES: list[tuple[list[str], str]] = [
    # usage errors the argument parser finds
    (["--bogus"], "No such option"),
    (["nocmd"], "No such command"),
    (["project", "create"], "Missing argument"),
    (["status"], "Missing argument"),
    (["run", "p", "--workers", "0"], "--workers"),
    (["run", "p", "--workers", "abc"], "valid integer"),
    (["run", "p", "--role", "janitor"], "unknown role"),
    (["demo", "--items", "0"], "--items"),
    (["ui", "--port", "http"], "valid integer"),
    (["report", "p", "--bootstrap", "-5"], "--bootstrap"),
    # unknown names
    (["status", "nope"], "no project named 'nope'"),
    (["status", "[/bold]x"], "no project named"),
    (["export", "nope"], "no project named"),
    (["run", "nope", "--model", "dry-run"], "no project named"),
    (["report", "nope", "-o", "{d}/rep"], "no project named"),
    (["pilot", "nope"], "no project named"),
    (["expert", "anomalies", "nope"], "no project named"),
    (["policy", "show", "nope"], "no project named"),
    (["people", "token", "nobody"], "no person named"),
    (["ls", "config", "nope"], "no project named"),
    # names and values checked at the door
    (["project", "create", "[/bold]x", "--kind", "classification", "--labels", "a,b"],
     "not a usable project name"),
    (["project", "create", "../../pwn", "--kind", "classification", "--labels", "a,b"],
     "not a usable project name"),
    (["project", "create", "q", "--kind", "weird"], "unknown kind"),
    (["project", "create", "p", "--kind", "classification", "--labels", "a,b"],
     "already exists"),
    (["project", "create", "q", "--kind", "classification", "--labels", "a,a"], "unique"),
    (["project", "create", "q", "--kind", "classification", "--labels", ","], "label"),
    (["project", "create", "q", "--kind", "classification", "--labels", "a", "--budget",
      "nan"], "budget"),
    (["project", "create", "q", "--kind", "classification", "--labels", "a", "--budget",
      "inf"], "budget"),
    (["project", "create", "q", "--kind", "classification", "--labels", "a", "--budget",
      "-1"], "budget"),
    (["project", "create", "q", "--kind", "classification", "--schema",
      "{d}/schema_list.json"], "JSON object"),
    (["project", "create", "q", "--kind", "classification", "--schema",
      "{d}/schema_spans.json"], "spans"),
    (["project", "create", "q", "--kind", "classification", "--schema",
      "{d}/schema_bad.json"], "schema_bad.json"),
    (["project", "create", "q", "--kind", "classification", "--labels", "a", "--guideline",
      "{d}/notutf8.md"], "notutf8.md:2: the guideline is not valid UTF-8"),
    (["project", "create", "q", "--kind", "classification", "--labels", "a", "--guideline",
      "{d}/missing.md"], "missing.md"),
    (["people", "add", "bad/name\tx"], "not a usable name"),
    (["people", "add", "olga"], "already exists"),
    # bad files: FILE:LINE
    (["import", "p", "{d}/missing.csv"], "no such file"),
    (["import", "p", "{d}/adir"], "adir"),
    (["import", "p", "{d}/surrogate.jsonl"], "surrogate.jsonl:2: meta.a is not valid Unicode"),
    (["import", "p", "{d}/surrogate_text.jsonl"], "surrogate_text.jsonl:1: text"),
    (["import", "p", "{d}/nul.jsonl"], "nul.jsonl:1: id contains a NUL"),
    (["import", "p", "{d}/nul_meta.csv"], "nul_meta.csv:2"),
    (["import", "p", "{d}/deep.jsonl"], "deep.jsonl:1: JSON nested too deeply"),
    (["import", "p", "{d}/deep_meta.jsonl"], "deep_meta.jsonl:1: meta"),
    (["import", "p", "{d}/badjson.jsonl"], "badjson.jsonl:2: bad JSON"),
    (["import", "p", "{d}/latin1.csv"], "latin1.csv:2: not valid UTF-8"),
    (["import", "p", "{d}/empty.csv"], "empty.csv"),
    (["import", "p", "{d}/dupe.csv"], "dupe.csv:3: duplicate id"),
    (["import", "p", "{d}/items.csv", "--format", "spans"], "format"),
    (["policy", "set", "p", "{d}/policy_huge.json"], "llm_priority"),
    (["policy", "set", "p", "{d}/policy_attempts.json"], "max_attempts"),
    (["policy", "set", "p", "{d}/policy_unknown.json"], "humans"),
    (["policy", "set", "p", "{d}/policy_nan.json"], "adjudicate_below"),
    (["policy", "set", "p", "{d}/policy_neg.json"], "human_annotations"),
    (["policy", "set", "p", "{d}/policy_bad.toml"], "policy_bad.toml"),
    (["policy", "set", "p", "{d}/missing.json"], "missing.json"),
    (["agreement", "{d}/missing.csv"], "missing.csv"),
    (["agreement", "{d}/labels_bad.csv"], "labels_bad.csv"),
    (["bench", "replay", "{d}/no-such-dataset"], "no-such-dataset"),
    # output files: never replace what is not a regular file; a full disk is one line
    (["export", "p", "--format", "xml"], "unknown format"),
    (["report", "p", "-o", "{d}/target.txt"], "is not a folder"),
    (["export", "p", "-o", "{d}/adir"], "is a directory"),
    (["export", "p", "-o", "{d}/alink"], "symlink"),
    (["export", "p", "-o", "{d}/afifo"], "FIFO"),
    (["export", "p", "-o", "/dev/full"], "character device"),
    (["export", "p", "-o", "/dev/full", "--force"], "the disk is full"),
    (["export", "p", "-o", "{d}/no/such/folder/out.jsonl"], "does not exist"),
    (["export", "p", "-f", "parquet", "-o", "/dev/full", "--force"], "the disk is full"),
    # Label Studio that does not answer
    (["ls", "push", "p", "--url", "http://127.0.0.1:1", "--token", "t"], "127.0.0.1:1"),
    (["ls", "pull", "p", "--url", "http://127.0.0.1:1", "--token", "t"], "127.0.0.1:1"),
]


@pytest.mark.parametrize(("argv", "fragment"), CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
        argv: list[str], fragment: str, seeded: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(seeded)
    monkeypatch.setenv("COLUMNS", "80")  # rich must not wrap the line at any width
    cli = Cli(seeded, capsys)
    before = snapshot(cli.db)
    target = (seeded / "target.txt").read_text(encoding="utf-8")
    code, _out, err = cli(*fill(argv, seeded))
    assert_one_line_error(code, err, fragment, argv)
    assert snapshot(cli.db) == before, f"{argv} changed the database"
    assert (seeded / "target.txt").read_text(encoding="utf-8") == target
    assert (seeded / "alink").is_symlink() and (seeded / "afifo").is_fifo()
    assert not (seeded.parent / "pwn").exists()
    assert not (seeded / "garbage").exists()


def _files(folder: Path) -> dict[str, str]:
    """The database files of a folder and their contents' hashes (SQLite's -wal and -shm
    files come and go with connections)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
            if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


def test_databases_that_are_not_ours_are_refused(
        seeded: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    cli = Cli(seeded, capsys)
    for url, fragment in damaged_databases(tmp_path, cli.db).items():
        files = _files(tmp_path)
        for argv in (["project", "list"], ["status", "p"], ["export", "p"]):
            code, _out, err = cli(*argv, db=url)
            assert_one_line_error(code, err, fragment, (url, argv))
        assert _files(tmp_path) == files, url
    # a database whose table was dropped after it was opened is one line too
    code, _out, err = cli("export", "p", db=f"sqlite:///{tmp_path / 'dropped.db'}")
    assert_one_line_error(code, err, "no such table", "dropped")


def test_export_replaces_a_regular_file_whole(seeded: Path, capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    cli = Cli(seeded, capsys)
    out = tmp_path / "out.jsonl"
    out.write_text("stale\n", encoding="utf-8")
    out.chmod(0o640)
    code, _stdout, err = cli("export", "p", "-o", str(out))
    assert code == 0, err
    assert "wrote 3 items" in err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert oct(out.stat().st_mode & 0o777) == oct(0o640)  # permissions kept
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temporary file left
    code, stdout, _err = cli("export", "p", "-o", "-")
    assert code == 0 and len(stdout.splitlines()) == 3
    # --force writes through a symlink into the file it points to, keeping the link
    target, link = tmp_path / "target.jsonl", tmp_path / "link.jsonl"
    target.write_text("old\n", encoding="utf-8")
    link.symlink_to(target)
    assert cli("export", "p", "-o", str(link), "--force")[0] == 0
    assert link.is_symlink() and len(target.read_text(encoding="utf-8").splitlines()) == 3


def test_a_bug_is_a_traceback_a_report_line_and_exit_1(
        capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> None:
        raise ZeroDivisionError("division by zero")

    assert run_guarded(broken, ["status", "p"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err
    last = err.strip().splitlines()[-1]
    assert "this is a bug in annotate" in last and "annotate status p" in last
    assert "please report it" in last


def test_usage_errors_as_a_real_process(seeded: Path) -> None:
    env = {**os.environ, "ANNOTATE_DB": f"sqlite:///{seeded / 'contract.db'}"}
    for argv, fragment in ((["--bogus"], "No such option"),
                           (["run", "p", "--workers", "abc"], "valid integer"),
                           (["export", "p", "-o", "/dev/full", "--force"], "disk is full")):
        proc = subprocess.run([*ANNOTATE, *argv], capture_output=True, text=True, env=env,
                              cwd=seeded, timeout=120, check=False)
        assert_one_line_error(proc.returncode, proc.stderr, fragment, argv)


def test_a_closed_pipe_ends_quietly(seeded: Path, tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    shutil.copy(seeded / "contract.db", db)
    items = tmp_path / "many.jsonl"
    items.write_text("".join(json.dumps({"text": f"item {i} " + "x" * 200}) + "\n"
                             for i in range(3000)), encoding="utf-8")
    env = {**os.environ, "ANNOTATE_DB": f"sqlite:///{db}"}
    subprocess.run([*ANNOTATE, "import", "p", str(items)], env=env, check=True,
                   capture_output=True, timeout=300)
    proc = subprocess.Popen([*ANNOTATE, "export", "p"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert json.loads(first)["id"] == "a"
    assert err == "", err


