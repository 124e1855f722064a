"""Rate limits against a fake OpenAI-compatible server that enforces them (429 beyond), on
the threaded and the asyncio gateway; Retry-After; the budget under 429 retries; the
personal-data door on the asyncio path."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from annotate.errors import BudgetExceeded
from annotate.llm.async_gateway import AsyncGateway, LoopClient
from annotate.llm.client import make_client
from annotate.llm.fake_server import FakeServer, serve_fake
from annotate.llm.gateway import Gateway, GatewaySettings, register_price
from annotate.llm.testing import install_fake, rate_limited, reply
from annotate.llm.types import Completion, LLMClient, LLMError, LLMParams, LLMRequest
from annotate.store.engine import Store, open_store
from annotate.store.models import LLMCall, Project

PER_SECOND = 5  # the server's limit: 300 requests/minute, at most 5 in any second
SCHEMA = {"type": "object", "properties": {"label": {"type": "string"}},
          "required": ["label"], "additionalProperties": False}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with serve_fake(latency_s=0.02, rpm=PER_SECOND * 60, retry_after_s=0.2) as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/t.db")
    yield opened
    opened.dispose()


@pytest.fixture
def project(store: Store) -> Callable[..., int]:
    def make(policy: dict[str, Any] | None = None, budget_usd: float | None = None) -> int:
        with store.session() as session:
            row = Project(name=f"p{time.perf_counter_ns()}", kind="classification",
                          schema_json={}, policy_json=policy or {}, budget_usd=budget_usd)
            session.add(row)
            session.flush()
            return row.id
    return make


@pytest.fixture
def hosted(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    monkeypatch.setenv("OPENAI_API_BASE", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake")
    server.reset()
    return server


def _request(model: str, i: int) -> LLMRequest:
    return LLMRequest.chat("Label it.", f"Review number {i}: fine.", json_schema=SCHEMA,
                           model=model, params=LLMParams(max_tokens=16))


def _threaded(gateway: LLMClient, model: str, n: int, threads: int) -> list[Any]:
    results: list[Any] = []
    todo = iter(range(n))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            result = gateway.complete(_request(model, i))
            with lock:
                results.append(result)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


def test_threads_paced_by_the_policy_are_never_rejected(
        hosted: FakeServer, store: Store, project: Callable[..., int]) -> None:
    """The policy says 4 a second (paced at 3.6) where the server allows 5: 8 threads on a
    loaded machine reach the server up to 0.38 s off their turn and still never burst."""
    model = "openai/paced-threads"
    pid = project({"rate_limits": {model: {"rpm": (PER_SECOND - 1) * 60}}})
    gateway = Gateway(store, pid, GatewaySettings(model=model, max_in_flight=8,
                                                  backoff_base_s=0.01))
    started = time.perf_counter()
    results = _threaded(gateway, model, 20, threads=8)
    elapsed = time.perf_counter() - started

    assert all(isinstance(r, Completion) for r in results) and len(results) == 20
    assert hosted.stats()["rejected"] == 0
    assert elapsed >= 19 / (PER_SECOND - 1)  # paced, not a burst


def test_without_limits_the_same_run_bounces_off_429s(
        hosted: FakeServer, store: Store, project: Callable[..., int]) -> None:
    model = "openai/unpaced-threads"
    gateway = Gateway(store, project(), GatewaySettings(model=model, max_in_flight=8,
                                                        retries=20, backoff_base_s=0.01))
    results = _threaded(gateway, model, 20, threads=8)
    assert all(isinstance(r, Completion) for r in results)
    assert hosted.stats()["rejected"] > 0  # the server does enforce its limit


def test_asyncio_gateway_paced_by_the_policy_is_never_rejected(
        hosted: FakeServer, store: Store, project: Callable[..., int]) -> None:
    model = "openai/paced-async"
    pid = project({"rate_limits": {model: {"rpm": PER_SECOND * 60}}})
    front = AsyncGateway(Gateway(store, pid, GatewaySettings(model=model, max_in_flight=8)))

    async def run() -> list[Any]:
        return list(await asyncio.gather(*(front.complete(_request(model, i))
                                           for i in range(20))))

    results = asyncio.run(run())
    front.close()
    assert all(isinstance(r, Completion) for r in results)
    assert all(isinstance(r.data["label"], str) for r in results)
    assert hosted.stats()["rejected"] == 0


@pytest.mark.parametrize("path", ["threads", "asyncio"])
def test_retry_after_is_honoured(hosted: FakeServer, store: Store,
                                 project: Callable[..., int], path: str) -> None:
    """The server allows 5 a second and asks for 0.2 s; with a backoff of 1 ms the retries
    would be spent in a few ms if Retry-After were not honoured."""
    model = f"openai/retry-after-{path}"
    gateway = Gateway(store, project(), GatewaySettings(
        model=model, max_in_flight=8, retries=10, backoff_base_s=0.001, backoff_max_s=0.001))
    requests = [_request(model, i) for i in range(PER_SECOND + 1)]
    started = time.perf_counter()
    if path == "threads":
        results = [gateway.complete(r) for r in requests]
    else:
        front = AsyncGateway(gateway)

        async def run() -> list[Any]:
            return [await front.complete(r) for r in requests]

        results = asyncio.run(run())
        front.close()
    elapsed = time.perf_counter() - started

    assert all(isinstance(r, Completion) for r in results)
    with store.session() as session:
        errors = [c.error for c in session.query(LLMCall) if c.outcome == "error"]
    assert errors and all("Rate limit" in (e or "") for e in errors)
    assert len(errors) <= 1 / 0.2 + 1  # waited as asked, not retried every millisecond
    assert elapsed >= 0.2 * len(errors)


@pytest.mark.parametrize("path", ["threads", "asyncio"])
def test_the_budget_is_never_crossed_under_429_retries(
        store: Store, project: Callable[..., int], path: str) -> None:
    """Every answered call costs exactly its reservation (the worst case for the cap)."""
    install_fake("fakebudget", models=["m"], price_per_token=(1e-4, 1e-4))
    settings = GatewaySettings(model="fakebudget/m", backoff_base_s=0.001, backoff_max_s=0.001)
    estimate = Gateway(store, None, settings).estimate_cost(_request("fakebudget/m", 0))
    fake = install_fake("fakebudget", default=reply(
        '{"label": "x"}', prompt_tokens=round(estimate / 1e-4) - 16, completion_tokens=16))
    gateway = Gateway(store, project(budget_usd=2.5 * estimate), settings)
    front = AsyncGateway(gateway)
    outcomes: list[Any] = []
    for i in range(3):
        fake.push(rate_limited(), rate_limited())
        try:
            if path == "threads":
                outcomes.append(gateway.complete(_request("fakebudget/m", i)))
            else:
                outcomes.append(asyncio.run(front.complete(_request("fakebudget/m", i))))
        except BudgetExceeded as exc:
            outcomes.append(exc)
    front.close()

    assert [type(o) for o in outcomes] == [Completion, Completion, BudgetExceeded]
    assert fake.call_count == 6  # 2 calls x (2 rate-limited + 1 answered); the 3rd never sent
    assert gateway.ledger.spent_usd() <= 2.5 * estimate


def test_the_personal_data_door_on_the_asyncio_path(
        store: Store, project: Callable[..., int]) -> None:
    email = "anna.petrova@example.com"
    fake = install_fake("fakedoor", responder=lambda _m, messages, _p: reply(
        json.dumps({"label": messages[1]["content"].split()[-1]})))
    front = AsyncGateway(Gateway(store, project(), GatewaySettings(model="fakedoor/m")))
    request = LLMRequest.chat("Echo the last word.", f"Write to {email}", json_schema=SCHEMA)
    result = asyncio.run(front.complete(request))
    front.close()

    sent = fake.calls[-1]["messages"][1]["content"]
    assert email not in sent and "[EMAIL_1]" in sent
    assert isinstance(result, Completion) and result.data == {"label": email}  # put back
    calls = fake.call_count
    doubtful = "Reference 500100732259 attached."  # passes the INN checksum, no keyword
    front = AsyncGateway(Gateway(store, project(), GatewaySettings(model="fakedoor/m")))
    refused = asyncio.run(front.complete(LLMRequest.chat("s", doubtful, json_schema=SCHEMA)))
    front.close()
    assert isinstance(refused, LLMError) and refused.kind == "personal_data"
    assert fake.call_count == calls  # not sent


def test_worker_threads_hand_their_calls_to_one_loop(
        hosted: FakeServer, store: Store, project: Callable[..., int]) -> None:
    """`annotate run`'s client for a hosted model: acompletion on the gateway loop thread,
    paced there (0 rejected at the server's own limit), errors raised in the worker."""
    model = "openai/paced-loop"
    pid = project({"rate_limits": {model: {"rpm": PER_SECOND * 60}}}, budget_usd=0.0)
    client = make_client(store, pid, model, workers=8, asyncio_calls=True)
    assert isinstance(client, LoopClient)
    register_price(model, 1e-6, 1e-6)
    with pytest.raises(BudgetExceeded):  # raised on the loop, re-raised in the caller
        client.complete(_request(model, 0))
    with store.session() as session:
        session.get_one(Project, pid).budget_usd = None
    client = make_client(store, pid, model, workers=8, asyncio_calls=True)
    results = _threaded(client, model, 15, threads=8)
    assert all(isinstance(r, Completion) for r in results) and len(results) == 15
    assert hosted.stats()["rejected"] == 0
    assert isinstance(make_client(store, pid, "dry-run", asyncio_calls=True), Gateway)


def test_limits_come_from_the_policy_else_from_litellms_model_table(
        store: Store, project: Callable[..., int]) -> None:
    from annotate.llm.gateway import load_litellm
    from annotate.llm.pacing import RateLimit

    litellm = load_litellm()
    known = next(m for m, info in litellm.model_cost.items()  # rpm only: no token counting
                 if isinstance(info, dict) and info.get("rpm") and not info.get("tpm"))
    gateway = Gateway(store, project(), GatewaySettings(model=known))
    pacer, tokens = gateway.pacing(litellm, _request(known, 0), known)
    assert pacer.limit == RateLimit(rpm=float(litellm.model_cost[known]["rpm"]))
    assert tokens == 0
    model = "openai/configured"
    request = _request(model, 0)
    configured = Gateway(store, project({"rate_limits": {model: {"rpm": 7, "tpm": 900}}}),
                         GatewaySettings(model=model))
    pacer, tokens = configured.pacing(litellm, request, model)
    assert pacer.limit == RateLimit(rpm=7, tpm=900)
    assert tokens > request.params.max_tokens  # the prompt and all of max_tokens
