"""The ML backend behind credentials, refusing malformed and oversized requests with a short
4xx, giving up on slow or lying bodies, and sharing the model fairly: a real server on a
free port, real HTTP and raw sockets, the real annotator role with a fake LLM at litellm's
boundary (annotate/llm/testing.py), and the real ledger."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.backend import (
    BackendLimits,
    BackendServer,
    make_backend_server,
)
from annotate.integrations.labelstudio.backend_auth import BasicCredentials, is_loopback
from annotate.integrations.labelstudio.config import labeling_config
from annotate.integrations.labelstudio.predictor import (
    ItemToPredict,
    PredictedValue,
    load_predictor,
)
from annotate.kinds.schema import LabelSchema
from annotate.llm.testing import ScriptedLLM, install_fake, reply
from annotate.store.engine import Store
from annotate.store.models import LLMCall
from tests.labelstudio.backend_http import (
    basic,
    head,
    raw_connection,
    read_answer,
    request,
    serving,
)
from tests.labelstudio.conftest import make_ls_project

SCHEMA = LabelSchema(kind="classification", labels=["pos", "neg"])
USER, PASSWORD = "label-studio", "a-test-password-of-some-length"
AUTH = basic(USER, PASSWORD)
LIMITS = BackendLimits(max_body_bytes=64 * 1024, max_tasks=50, read_timeout_s=1.0,
                       chunk_size=2, max_connections=4)


def _answer(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Any:
    label = "pos" if "good" in messages[-1]["content"] else "neg"
    return reply(json.dumps({"reason": "r", "label": label, "confidence": 80}))


@pytest.fixture
def fake_llm() -> ScriptedLLM:
    return install_fake(responder=_answer)


@pytest.fixture
def item_ids(sqlite_store: Store) -> list[int]:
    return make_ls_project(sqlite_store, "reviews", SCHEMA,
                           [("r1", "a good film", {}), ("r2", "a dull film", {})])


def start(store: Store, limits: BackendLimits = LIMITS,
          credentials: BasicCredentials | None = None) -> BackendServer:
    """The real annotator role behind the backend (the hook `annotate ls backend` loads)."""
    return make_backend_server(store, "reviews", load_predictor(store, "reviews", "fake/m"),
                               "127.0.0.1", 0, limits=limits,
                               credentials=credentials or BasicCredentials(USER, PASSWORD))


@pytest.fixture
def backend(sqlite_store: Store, item_ids: list[int],
            fake_llm: ScriptedLLM) -> Iterator[BackendServer]:
    with serving(start(sqlite_store)) as server:
        yield server


def ledger_rows(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(LLMCall)) or 0)


def predict_body(texts: list[str]) -> dict[str, Any]:
    return {"tasks": [{"id": n, "data": {"text": t}} for n, t in enumerate(texts)],
            "project": "1.1700000000", "label_config": labeling_config(SCHEMA), "params": {}}


# --- credentials -------------------------------------------------------------------------

WRONG = {
    "none": None,
    "wrong password": basic(USER, PASSWORD + "x"),
    "wrong user": basic("admin", PASSWORD),
    "password only": basic("", PASSWORD),
    "not base64": "Basic !!!not-base64!!!",
    "no colon": "Basic " + "YWRtaW4=",
    "bearer": f"Bearer {PASSWORD}",
    "empty": "",
}
CALLS = [("POST", "/predict"), ("POST", "/setup"), ("POST", "/webhook"), ("GET", "/nowhere"),
         ("POST", "/nowhere"), ("PUT", "/predict"), ("DELETE", "/predict"),
         ("OPTIONS", "/predict")]


def test_without_the_credentials_only_health_answers_and_nothing_reaches_the_model(
        backend: BackendServer, sqlite_store: Store, fake_llm: ScriptedLLM) -> None:
    for name, auth in WRONG.items():
        for method, path in CALLS:
            answer = request(backend, method, path, predict_body(["a good film"]), auth=auth)
            assert answer.status == 401, (name, method, path)
            assert answer.headers["www-authenticate"].startswith('Basic realm="annotate')
            assert answer.body == {"error": "authentication required"}
        health = request(backend, "GET", "/health", auth=auth)
        if auth:  # wrong credentials are told so, to a connecting Label Studio too
            assert (health.status, health.body) == (401, {"error": "authentication required"})
        else:
            assert (health.status, health.body) == (200, {"status": "UP"}), name
    assert fake_llm.call_count == 0 and ledger_rows(sqlite_store) == 0
    assert backend.service.events == {}

    answer = request(backend, "POST", "/predict", predict_body(["a good film"]), auth=AUTH)
    assert answer.status == 200
    assert answer.body["results"][0]["result"][0]["value"] == {"choices": ["pos"]}
    assert fake_llm.call_count == 1 and ledger_rows(sqlite_store) == 1


def test_health_names_the_model_only_to_the_credentials(backend: BackendServer) -> None:
    assert request(backend, "GET", "/", auth=None).body == {"status": "UP"}
    details = request(backend, "GET", "/health", auth=AUTH).body
    assert details["project"] == "reviews" and details["model_version"].startswith("fake/m@")
    assert request(backend, "POST", "/setup", {"schema": labeling_config(SCHEMA)},
                   auth=AUTH).body == {"model_version": details["model_version"]}


def test_weak_or_malformed_credentials_are_refused() -> None:
    with pytest.raises(InvalidInput, match="at least 16"):
        BasicCredentials("annotate", "short")
    with pytest.raises(InvalidInput, match="without ':'"):
        BasicCredentials("a:b", PASSWORD)
    first, second = BasicCredentials.generated(), BasicCredentials.generated()
    assert first.password != second.password and len(first.password) >= 32
    assert PASSWORD not in repr(BasicCredentials(USER, PASSWORD))


def test_no_credentials_only_on_a_loopback_address(sqlite_store: Store, item_ids: list[int],
                                                    fake_llm: ScriptedLLM) -> None:
    predictor = load_predictor(sqlite_store, "reviews", "fake/m")
    for host in ("0.0.0.0", "", "::"):
        with pytest.raises(InvalidInput, match="--no-auth serves only a loopback address"):
            make_backend_server(sqlite_store, "reviews", predictor, host, 0, credentials=None)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("no-such-host.invalid")
    server = make_backend_server(sqlite_store, "reviews", predictor, "127.0.0.1", 0,
                                 credentials=None)
    with serving(server):
        assert request(server, "POST", "/predict", predict_body(["x"])).status == 200


# --- malformed requests ------------------------------------------------------------------

OTHER_CONFIG = labeling_config(LabelSchema(kind="classification", labels=["yes", "no"]))
MALFORMED: dict[str, tuple[str, Any, int]] = {
    "not JSON": ("/predict", b"{not json", 400),
    "not UTF-8": ("/predict", b'{"tasks": "\xc3\x28"}', 400),
    "a JSON list": ("/predict", [1, 2], 400),
    "deeply nested": ("/predict", b"[" * 100_000 + b"]" * 100_000, 413),
    "nested within the limit": ("/predict", b"[" * 30_000 + b"]" * 30_000, 400),
    "no tasks": ("/predict", {"project": "1.1"}, 400),
    "tasks not a list": ("/predict", {"tasks": "x"}, 400),
    "a task not an object": ("/predict", {"tasks": [1]}, 400),
    "a task without data": ("/predict", {"tasks": [{"id": 1}]}, 400),
    "text not a string": ("/predict", {"tasks": [{"data": {"text": 5}}]}, 400),
    "item id a string": ("/predict", {"tasks": [{"data": {"annotate_item_id": "1"}}]}, 400),
    "item id a bool": ("/predict", {"tasks": [{"data": {"annotate_item_id": True}}]}, 400),
    "item id too large": ("/predict", {"tasks": [{"data": {"annotate_item_id": 10**30}}]}, 400),
    "label config not a string": ("/predict", {"tasks": [], "label_config": 7}, 400),
    "label config not XML": ("/predict", {"tasks": [], "label_config": "<View"}, 400),
    "another project's config": ("/predict", {"tasks": [], "label_config": OTHER_CONFIG}, 400),
    "params not an object": ("/predict", {"tasks": [], "params": [1]}, 400),
    "project a list": ("/predict", {"tasks": [], "project": [1]}, 400),
    "too many tasks": ("/predict", {"tasks": [{"data": {"text": "x"}}] * 51}, 413),
    "setup with another config": ("/setup", {"schema": OTHER_CONFIG}, 400),
    "setup schema not a string": ("/setup", {"schema": {"a": 1}}, 400),
    "webhook action not a string": ("/webhook", {"action": ["x"]}, 400),
    "unknown endpoint": ("/train", {}, 404),
}


def test_other_methods_are_405_with_the_credentials(backend: BackendServer) -> None:
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        answer = request(backend, method, "/predict", {}, auth=AUTH)
        assert (answer.status, answer.headers["allow"]) == (405, "GET, POST")


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_requests_get_a_short_4xx_and_no_model_call(
        backend: BackendServer, sqlite_store: Store, fake_llm: ScriptedLLM, case: str) -> None:
    path, body, status = MALFORMED[case]
    answer = request(backend, "POST", path, body, auth=AUTH)
    assert answer.status == status
    assert answer.headers["content-type"].startswith("application/json")
    assert list(answer.body) == ["error"]
    message = answer.body["error"]
    assert 0 < len(message) <= 300 and "\n" not in message
    assert not any(word in message for word in ("Traceback", "Error", "Exception", "line "))
    assert fake_llm.call_count == 0 and ledger_rows(sqlite_store) == 0


def test_the_limits_are_the_configured_ones(backend: BackendServer) -> None:
    fifty = {"tasks": [{"data": {"text": f"t{n}"}} for n in range(50)]}
    assert request(backend, "POST", "/predict", fifty, auth=AUTH).status == 200
    answer = request(backend, "POST", "/predict", {**fifty, "pad": "x" * 70_000}, auth=AUTH)
    assert answer.status == 413 and "at most 65536 bytes" in answer.body["error"]


def test_a_bug_is_a_generic_500_with_the_details_only_in_the_log(
        backend: BackendServer, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(schema: LabelSchema, items: list[ItemToPredict]) -> list[Any]:
        raise RuntimeError("secret detail at /srv/models/key.txt")

    monkeypatch.setattr(backend.service.predictor, "predict", broken)
    with caplog.at_level(logging.ERROR, logger="annotate.integrations.labelstudio.backend"):
        answer = request(backend, "POST", "/predict", predict_body(["x"]), auth=AUTH)
    assert answer.status == 500
    assert answer.body["error"].startswith("internal error (ref ")
    assert b"secret" not in answer.raw and b"RuntimeError" not in answer.raw
    reference = answer.body["error"].split("ref ")[1].split(")")[0]
    assert any(reference in r.getMessage() and r.exc_info and "secret detail" in
               str(r.exc_info[1]) for r in caplog.records)
    assert request(backend, "GET", "/health").status == 200  # still serving


# --- bodies that do not come, and clients that hold on -----------------------------------

@pytest.mark.parametrize("headers, status", [
    ({"Content-Length": "9999999999999"}, 413),
    ({"Content-Length": "-1"}, 400),
    ({"Content-Length": "12abc"}, 400),
    ({"Transfer-Encoding": "chunked"}, 411),
])
def test_bad_lengths_are_refused_before_reading(backend: BackendServer,
                                                headers: dict[str, str], status: int) -> None:
    with raw_connection(backend, timeout=10) as sock:
        sock.sendall(head("/predict", {"Authorization": AUTH, **headers}))
        got, raw = read_answer(sock)  # the server answers and closes; it does not wait
    assert got == status and b"Connection: close" in raw


@pytest.mark.parametrize("drip", [False, True], ids=["stops-sending", "drips"])
def test_a_body_shorter_than_its_length_times_out_and_frees_the_thread(
        backend: BackendServer, drip: bool) -> None:
    """A client declares 1,000 bytes and sends 10 (or one byte every 0.3 s): the server gives
    up after the read timeout (1 s here) with 408 and closes, whatever the client does."""
    with raw_connection(backend, timeout=15) as sock:
        started = time.monotonic()
        sock.sendall(head("/predict", {"Authorization": AUTH, "Content-Length": "1000"})
                     + b'{"tasks":[')
        if drip:
            for _ in range(8):
                time.sleep(0.3)
                try:
                    sock.sendall(b" ")
                except OSError:
                    break
        status, raw = read_answer(sock)
        waited = time.monotonic() - started
    assert status == 408 and b"did not arrive in time" in raw
    assert waited < 10  # read timeout 1 s; generous for a busy machine


def test_slow_clients_do_not_block_others_and_connections_are_bounded(
        backend: BackendServer) -> None:
    """Four connections (the limit here) hang with half-sent bodies: a fifth is told 503 at
    once; once they time out, requests are served again; none waited on the hanging ones."""
    hanging = [raw_connection(backend, timeout=15) for _ in range(4)]
    socks = [c.__enter__() for c in hanging]
    try:
        for sock in socks:
            sock.sendall(head("/predict", {"Authorization": AUTH, "Content-Length": "500"}))
        time.sleep(0.2)
        with raw_connection(backend, timeout=10) as extra:
            extra.sendall(head("/webhook", {"Authorization": AUTH, "Content-Length": "2"})
                          + b"{}")
            assert read_answer(extra)[0] == 503
        statuses = [read_answer(sock)[0] for sock in socks]
    finally:
        for connection in hanging:
            connection.__exit__(None, None, None)
    assert statuses == [408] * 4
    assert request(backend, "POST", "/webhook", {"action": "X"}, auth=AUTH).status == 200


def test_a_fast_request_is_served_while_a_slow_body_is_still_arriving(
        sqlite_store: Store, item_ids: list[int], fake_llm: ScriptedLLM) -> None:
    slow = BackendLimits(read_timeout_s=5.0)
    with serving(start(sqlite_store, slow)) as server, raw_connection(server) as sock:
        sock.sendall(head("/predict", {"Authorization": AUTH, "Content-Length": "100"}))
        started = time.monotonic()
        answer = request(server, "POST", "/predict", predict_body(["a good film"]), auth=AUTH)
        fast = time.monotonic() - started
        status, _ = read_answer(sock)
        slow_s = time.monotonic() - started
    assert answer.status == 200 and status == 408
    assert fast < slow_s / 3  # served long before the hanging body timed out (5 s)


def test_many_item_ids_are_looked_up_and_unknown_ones_use_the_task_text(
        sqlite_store: Store, item_ids: list[int]) -> None:
    from tests.labelstudio.fakes import ScriptedPredictor

    fake = ScriptedPredictor(lambda item: PredictedValue({"label": "pos"}, 0.9))
    server = make_backend_server(sqlite_store, "reviews", fake, "127.0.0.1", 0,
                                 credentials=BasicCredentials(USER, PASSWORD),
                                 limits=BackendLimits(max_tasks=2000, chunk_size=500))
    ids = [item_ids[0], *range(10_000, 11_500), item_ids[1]]  # 1,502 ids: several queries
    body = {"tasks": [{"data": {"annotate_item_id": i, "text": f"task {i}"}} for i in ids]}
    with serving(server):
        answer = request(server, "POST", "/predict", body, auth=AUTH)
    assert answer.status == 200 and len(answer.body["results"]) == len(ids)
    seen = [item for batch in fake.batches for item in batch]
    assert list(map(len, fake.batches)) == [500, 500, 500, 2]
    assert (seen[0].text, seen[0].item_id) == ("a good film", item_ids[0])
    assert (seen[-1].text, seen[-1].item_id) == ("a dull film", item_ids[1])
    assert (seen[1].text, seen[1].item_id) == ("task 10000", None)
