"""A budget that holds under faults (issue #15, item 5), through litellm's real HTTP path.

The model is faked at its boundary only: an OpenAI-compatible server on 127.0.0.1 that can
report more completion tokens than the request's ``max_tokens`` allows and answer slowly.

- an over-reporting provider, 8 worker threads, and 3 ``annotate run`` processes at once: the
  spend stays within the cap plus one call's cost (on main before this change: 5-7 calls'
  overruns), the overrun is on the ledger and the run stops saying why (exit 2);
- a run SIGKILLed with calls in flight leaves reservations that expire: a new run spends the
  budget they held (before: refused at once, the reservations counted forever);
- a lease shorter than the model's latency: a heartbeat extends it, so each task is paid for
  once (before: the task was claimed again and paid again while its first call was running).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from annotate.llm.gateway import Gateway, GatewaySettings
from annotate.store.engine import open_store
from annotate.store.models import LLMCall, Project, Task
from roles.runner import run_project
from tests.acceptance.fake_openai import example_of
from tests.test_run_truth import RUN_CLI, _env, make_project, one_error_line

ROOT = Path(__file__).resolve().parents[2]
MODEL = "openai/gpt-4o-mini"  # priced in litellm's offline table
OUT_PRICE = 6e-07  # its USD per completion token
MAX_TOKENS = 200  # what the annotator asks for on a classification project
ONE_LLM = {"human_annotations": 0, "llm_annotations": 1, "moderator_on_disagreement": False}


@dataclass
class FakeProvider:
    """What the fake server does: ``over`` times max_tokens reported (0: 8 tokens), slowly."""

    over: float = 0.0
    latency_s: float = 0.0
    max_tokens_seen: list[int | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeProvider

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.fake.lock:
            self.fake.max_tokens_seen.append(body.get("max_tokens"))
        time.sleep(self.fake.latency_s)
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
        completion = int(self.fake.over * (body.get("max_tokens") or 0)) or 8
        data = json.dumps({
            "id": "fake", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": json.dumps(example_of(schema or {}))}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": completion,
                      "total_tokens": 50 + completion},
        }).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client was killed


@contextmanager
def fake_provider(fake: FakeProvider) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Handler,), {"fake": fake}))
    server.daemon_threads = True
    server.block_on_close = False  # a slow answer to a killed client is not waited for
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def provider_env(base: str, **extra: str) -> dict[str, str]:
    return _env(OPENAI_API_KEY="sk-fake", OPENAI_BASE_URL=base, OPENAI_API_BASE=base, **extra)


@pytest.fixture
def provider_in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    fake = FakeProvider()
    with fake_provider(fake) as base:
        for name, value in provider_env(base).items():
            if name.startswith("OPENAI_"):
                monkeypatch.setenv(name, value)
        yield fake


def set_budget(url: str, usd: float) -> None:
    store = open_store(url)
    try:
        with store.session() as session:
            session.execute(update(Project).values(budget_usd=usd))
    finally:
        store.dispose()


def paid_calls(url: str) -> list[Any]:
    """Every call that reached the model (not cached, not a reservation still open)."""
    store = open_store(url)
    try:
        with store.session() as session:
            return list(session.execute(select(
                LLMCall.task_id, LLMCall.cost_usd, LLMCall.completion_tokens, LLMCall.outcome)
                .where(LLMCall.cached.is_(False), LLMCall.outcome.in_(("ok", "invalid")))))
    finally:
        store.dispose()


def spent(url: str) -> float:
    """Everything the ledger counts against the budget, reservations of live calls included
    (a reservation whose expiry passed no longer counts)."""
    from annotate.llm.ledger import Ledger

    store = open_store(url)
    try:
        with store.session() as session:
            project_id = session.scalar(select(Project.id))
        return Ledger(store, project_id).spent_usd()
    finally:
        store.dispose()


def assert_within_one_overrun(url: str, budget: float) -> None:
    calls = paid_calls(url)
    assert calls, "no call reached the model"
    one_call = max(c.cost_usd for c in calls)
    assert one_call > MAX_TOKENS * OUT_PRICE  # the provider did over-report
    total = spent(url)
    # the cap plus one call's overrun (an overrun is less than the call's whole cost)
    assert total <= budget + one_call, (
        f"spent ${total:.6f} = {total / budget:.2f}x the cap ${budget:.6f}; one call "
        f"${one_call:.6f}; {len(calls)} paid calls")


# ---- an over-reporting provider -------------------------------------------------------------


def test_over_reporting_provider_with_8_workers_crosses_the_cap_by_one_call_at_most(
        db_url: str, tmp_path: Path, provider_in_process: FakeProvider) -> None:
    provider_in_process.over = 5.0
    make_project(db_url, tmp_path, 40, policy=ONE_LLM)
    budget = 10 * MAX_TOKENS * OUT_PRICE  # room for about 6 worst-case reservations
    set_budget(db_url, budget)
    store = open_store(db_url)
    try:
        with store.session() as session:
            project_id = session.scalar(select(Project.id))
        gateway = Gateway(store, project_id, GatewaySettings(model=MODEL, max_in_flight=8,
                                                             retries=0, timeout_s=30))
        stats = run_project(store, "p", gateway, model=MODEL, roles=("annotator",), workers=8)
    finally:
        store.dispose()
    assert set(provider_in_process.max_tokens_seen) == {MAX_TOKENS}  # the cap was sent
    assert_within_one_overrun(db_url, budget)
    assert stats.stopped_by is not None and "max_tokens" in stats.stopped_by, stats
    overruns = overrun_rows(db_url)
    assert overruns and all(o > 0 for o in overruns)  # recorded on the ledger
    assert llm_task_statuses(db_url).get("leased", 0) == 0


def overrun_rows(url: str) -> list[float]:
    store = open_store(url)
    try:
        with store.session() as session:
            return [float(v) for v in session.scalars(
                select(LLMCall.overrun_usd).where(LLMCall.overrun_usd > 0))]
    finally:
        store.dispose()


def llm_task_statuses(url: str) -> dict[str, int]:
    store = open_store(url)
    try:
        with store.session() as session:
            rows = session.execute(select(Task.status, func.count()).group_by(Task.status))
            return {str(s): int(n) for s, n in rows}
    finally:
        store.dispose()


def start_run(url: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", RUN_CLI, "--db", url, "run", "p", "--model",
                             MODEL, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_three_run_processes_against_an_over_reporting_provider(
        db_url: str, tmp_path: Path) -> None:
    make_project(db_url, tmp_path, 60, policy=ONE_LLM)
    budget = 10 * MAX_TOKENS * OUT_PRICE
    set_budget(db_url, budget)
    fake = FakeProvider(over=5.0, latency_s=0.2)
    with fake_provider(fake) as base:
        procs = [start_run(db_url, provider_env(base), "--workers", "4") for _ in range(3)]
        results = [p.communicate(timeout=300) for p in procs]
    assert_within_one_overrun(db_url, budget)
    lines = []
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode in (0, 2), err
        if proc.returncode == 2:
            lines.append(one_error_line(err))
    assert any("max_tokens" in line for line in lines), lines  # said so, one line
    assert llm_task_statuses(db_url).get("leased", 0) == 0


# ---- reservations of a killed run expire ----------------------------------------------------


def open_reservations(url: str) -> list[float]:
    store = open_store(url)
    try:
        with store.session() as session:
            return [float(c) for c in session.scalars(
                select(LLMCall.cost_usd).where(LLMCall.outcome == "pending"))]
    finally:
        store.dispose()


def test_a_killed_runs_reservations_expire_and_a_new_run_spends_them(
        db_url: str, tmp_path: Path) -> None:
    make_project(db_url, tmp_path, 6, policy=ONE_LLM)
    set_budget(db_url, 1.0)
    fake = FakeProvider(latency_s=60.0)  # calls stay in flight until the kill
    with fake_provider(fake) as base:
        env = provider_env(base, ANNOTATE_RESERVATION_TTL_S="2")
        proc = start_run(db_url, env, "--workers", "3", "--lease-seconds", "2")
        deadline = time.monotonic() + 120
        while not open_reservations(db_url) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        held = open_reservations(db_url)
        assert held, "the run never reserved budget for a call"
        # The budget as the killed run left it: what it held plus half of one more call.
        settled = sum(c.cost_usd for c in paid_calls(db_url))
        set_budget(db_url, settled + sum(held) + 0.5 * max(held))
        fake.latency_s = 0.0
        done = subprocess.run([sys.executable, "-c", RUN_CLI, "--db", db_url, "run", "p",
                               "--model", MODEL, "--workers", "2"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode in (0, 2), done.stderr
    if done.returncode == 2:
        assert "budget cap" in one_error_line(done.stderr)
    new_calls = paid_calls(db_url)
    assert len(new_calls) >= len(held), (held, new_calls, done.stderr)  # the freed budget
    assert spent(db_url) <= settled + sum(held) + 0.5 * max(held) + 1e-12


# ---- a lease shorter than the model's latency -----------------------------------------------


def test_a_lease_shorter_than_the_latency_is_extended_and_each_task_paid_once(
        db_url: str, tmp_path: Path, provider_in_process: FakeProvider) -> None:
    provider_in_process.latency_s = 2.5
    make_project(db_url, tmp_path, 8, policy=ONE_LLM)
    set_budget(db_url, 1.0)
    store = open_store(db_url)
    try:
        with store.session() as session:
            project_id = session.scalar(select(Project.id))
        gateway = Gateway(store, project_id, GatewaySettings(model=MODEL, max_in_flight=4,
                                                             retries=0, timeout_s=30))
        stats = run_project(store, "p", gateway, model=MODEL, roles=("annotator",), workers=4,
                            lease_seconds=1)
    finally:
        store.dispose()
    assert stats.done == 8 and stats.conflicts == 0, stats
    per_task = Counter(c.task_id for c in paid_calls(db_url))
    assert len(per_task) == 8 and set(per_task.values()) == {1}, per_task
    assert llm_task_statuses(db_url) == {"done": 8}
