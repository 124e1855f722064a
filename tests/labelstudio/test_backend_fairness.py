"""No global lock across requests: a large /predict does not hold up a small one beyond a
fair share, and a request whose client left stops calling the model. The real annotator role
answers through a fake LLM at litellm's boundary that takes 20 ms per call
(annotate/llm/testing.py),
over real HTTP against a real backend server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from annotate.integrations.labelstudio.backend import (
    BackendLimits,
    BackendServer,
    make_backend_server,
)
from annotate.integrations.labelstudio.backend_auth import BasicCredentials
from annotate.integrations.labelstudio.predictor import load_predictor
from annotate.kinds.schema import LabelSchema
from annotate.llm.testing import ScriptedLLM, install_fake, reply
from annotate.store.engine import Store
from tests.labelstudio.backend_http import basic, head, raw_connection, request, serving
from tests.labelstudio.conftest import make_ls_project

SCHEMA = LabelSchema(kind="classification", labels=["pos", "neg"])
CREDENTIALS = BasicCredentials("label-studio", "a-test-password-of-some-length")
AUTH = basic(CREDENTIALS.user, CREDENTIALS.password)
LATENCY_S = 0.02
LARGE = 120  # tasks: at least 2.4 s of model time


def _answer(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Any:
    label = "pos" if "good" in messages[-1]["content"] else "neg"
    return reply(json.dumps({"reason": "r", "label": label, "confidence": 80}))


@pytest.fixture
def slow_llm() -> ScriptedLLM:
    return install_fake(responder=_answer, latency_s=LATENCY_S)


@pytest.fixture
def backend(sqlite_store: Store, slow_llm: ScriptedLLM) -> Iterator[BackendServer]:
    make_ls_project(sqlite_store, "reviews", SCHEMA, [("r1", "a good film", {})])
    server = make_backend_server(
        sqlite_store, "reviews", load_predictor(sqlite_store, "reviews", "fake/m"), "127.0.0.1", 0,
        credentials=CREDENTIALS, limits=BackendLimits(chunk_size=4, model_slots=1))
    with serving(server):
        yield server


def tasks(prefix: str, n: int) -> dict[str, Any]:  # distinct texts: no cached answers
    return {"tasks": [{"id": i, "data": {"text": f"{prefix} good text {i}"}} for i in range(n)]}


def wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_a_small_request_is_not_held_up_by_a_large_one(backend: BackendServer,
                                                       slow_llm: ScriptedLLM) -> None:
    finished: dict[str, float] = {}
    answers: dict[str, Any] = {}

    def send(name: str, n: int) -> None:
        answers[name] = request(backend, "POST", "/predict", tasks(name, n), auth=AUTH,
                                timeout=120)
        finished[name] = time.monotonic()

    large_started = time.monotonic()
    large = threading.Thread(target=send, args=("large", LARGE))
    large.start()
    wait_for(lambda: slow_llm.call_count >= 8)  # the large one is well under way
    small_started = time.monotonic()
    send("small", 1)
    calls_when_small_done = slow_llm.call_count
    large.join(timeout=120)

    small_s = finished["small"] - small_started
    large_s = finished["large"] - large_started
    print(f"\nsmall (1 task) {small_s * 1000:.0f} ms while large ({LARGE} tasks) "
          f"{large_s * 1000:.0f} ms; model calls when small was done: {calls_when_small_done}")
    assert answers["small"].status == answers["large"].status == 200
    assert len(answers["large"].body["results"]) == LARGE
    assert all(r["result"][0]["value"] == {"choices": ["pos"]}
               for r in answers["large"].body["results"])
    assert finished["small"] < finished["large"]
    assert calls_when_small_done < LARGE  # the large one was still running
    assert small_s < large_s / 5


def test_a_request_whose_client_left_stops_calling_the_model(backend: BackendServer,
                                                             slow_llm: ScriptedLLM) -> None:
    body = json.dumps(tasks("gone", LARGE)).encode()
    with raw_connection(backend) as sock:
        sock.sendall(head("/predict", {"Authorization": AUTH, "Content-Type":
                                       "application/json",
                                       "Content-Length": str(len(body))}) + body)
        wait_for(lambda: slow_llm.call_count >= 8)
    wait_for(lambda: backend.service.gate.waiting == 0)
    time.sleep(1.0)  # as long as 50 more calls would take
    stopped_at = slow_llm.call_count
    time.sleep(0.5)
    assert slow_llm.call_count == stopped_at <= LARGE // 3  # stopped soon, not at 120
    assert request(backend, "GET", "/health").status == 200
