"""What the CLI contract tests share: an in-process runner on a scratch SQLite file, the
files the bad-input cases read, a hash of the database to prove nothing changed, and the
check of a one-line error."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from annotate.cli.main import main


def snapshot(db: Path) -> str:
    """A hash of every row of the SQLite database (WAL included)."""
    conn = sqlite3.connect(db)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


class Cli:
    """Runs `annotate --db DB ...` in-process in a scratch folder; captures the streams."""

    def __init__(self, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.folder, self.capsys = folder, capsys
        self.db = folder / "contract.db"
        self.url = f"sqlite:///{self.db}"

    def __call__(self, *args: str, db: str | None = None) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--db", db or self.url, *args])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


def write_files(folder: Path) -> None:
    """Bad files of every kind the commands read."""
    files: dict[str, str | bytes] = {
        "surrogate.jsonl": '{"text": "ok"}\n{"text": "x", "meta": {"a": "\\ud800"}}\n',
        "surrogate_text.jsonl": '{"text": "bad \\udfff"}\n',
        "nul.jsonl": '{"id": "a\\u0000b", "text": "x"}\n',
        "nul_meta.csv": b"id,text,src\nz,x,b\x00c\n",
        "deep.jsonl": '{"text": "x", "meta": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
        "deep_meta.jsonl": '{"text": "x", "meta": {"a": ' + '{"a": ' * 40 + "1" + "}" * 41
                           + "}\n",
        "badjson.jsonl": '{"text": "ok"}\n{"text": \n',
        "latin1.csv": b"id,text\nq,caf\xe9\n",
        "empty.csv": "",
        "dupe.csv": "id,text\nx,one\nx,two\n",
        "notutf8.md": b"# Guide\n\xff\xfe\n",
        "schema_list.json": "[]",
        "schema_spans.json": json.dumps({"kind": "spans", "labels": ["PER"]}),
        "schema_bad.json": "{not json",
        "policy_huge.json": json.dumps({"llm_priority": 10**30}),
        "policy_attempts.json": json.dumps({"max_attempts": 10**12}),
        "policy_unknown.json": json.dumps({"humans": 2}),
        "policy_nan.json": '{"adjudicate_below": NaN}',
        "policy_neg.json": json.dumps({"human_annotations": -1}),
        "policy_bad.toml": "human_annotations = [",
        "labels_bad.csv": "item,annotator\n",
        "notdb.db": "hello, I am not a database\n",
    }
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    (folder / "adir").mkdir(exist_ok=True)
    (folder / "target.txt").write_text("old contents\n", encoding="utf-8")
    link = folder / "alink"
    if not link.exists():
        link.symlink_to(folder / "target.txt")
    fifo = folder / "afifo"
    if not fifo.exists():
        os.mkfifo(fifo)


def fill(argv: list[str], folder: Path) -> list[str]:
    """``argv`` with ``{d}`` replaced by the scratch folder."""
    return [a.replace("{d}", str(folder)) for a in argv]



def assert_one_line_error(code: int, err: str, fragment: str, what: object) -> None:
    assert code == 2, f"{what}: exit {code}, stderr: {err[-800:]}"
    assert "Traceback" not in err, f"{what}: {err[-1500:]}"
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, f"{what}: expected one error line, got {lines}"
    assert lines[-1] == errors[0], f"{what}: the error is not the last line: {lines}"
    assert len(lines) <= 2, f"{what}: more than a progress line before the error: {lines}"
    assert fragment.lower() in errors[0].lower(), f"{what}: {fragment!r} not in {errors[0]!r}"
