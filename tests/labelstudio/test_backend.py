"""The ML backend over real HTTP (no Label Studio needed): the protocol's four endpoints."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.backend import BackendServer, make_backend_server
from annotate.integrations.labelstudio.config import labeling_config
from annotate.integrations.labelstudio.predictor import (
    ItemToPredict,
    PredictedValue,
    PredictionFailure,
    Predictor,
)
from annotate.kinds.schema import LabelSchema
from annotate.store.engine import Store
from tests.labelstudio.conftest import make_ls_project
from tests.labelstudio.fakes import Answer, ScriptedPredictor

SCHEMA = LabelSchema(kind="classification", labels=["pos", "neg"])


def script(item: ItemToPredict) -> Answer:
    if "broken" in item.text:
        return PredictionFailure("parse", "no JSON in the answer", raw="I think it is good")
    if "invalid" in item.text:
        return PredictedValue({"label": "maybe"}, 0.5)
    return PredictedValue({"label": "pos" if "good" in item.text else "neg"}, 0.9)


@pytest.fixture
def backend(sqlite_store: Store) -> Iterator[tuple[BackendServer, ScriptedPredictor, list[int]]]:
    ids = make_ls_project(sqlite_store, "reviews", SCHEMA, [
        ("r1", "a good film", {}), ("r2", "a dull film", {})])
    fake = ScriptedPredictor(script)
    server = make_backend_server(sqlite_store, "reviews", fake, "127.0.0.1", 0,
                                 credentials=None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, fake, ids
    server.shutdown()
    server.server_close()


def call(server: BackendServer, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body)
                                      .encode())
    request = urllib.request.Request(server.url + path, data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_health_and_setup_report_the_model_version(backend: Any) -> None:
    server, fake, _ = backend
    assert call(server, "/health") == (200, {
        "status": "UP", "model_class": "ScriptedPredictor", "project": "reviews",
        "model_version": fake.model_version})
    status, body = call(server, "/setup", {"project": "1.1700000000",
                                           "schema": labeling_config(SCHEMA),
                                           "hostname": "http://localhost", "access_token": "x"})
    assert (status, body) == (200, {"model_version": "fake-llm@guideline1"})


def test_predict_answers_one_result_per_task_in_order(backend: Any) -> None:
    server, fake, ids = backend
    tasks = [{"id": 11, "data": {"text": "ignored: the item's own text wins",
                                 "annotate_item_id": ids[0]}},
             {"id": 12, "data": {"text": "a task we never pushed, dull"}},
             {"id": 13, "data": {"text": "broken"}},
             {"id": 14, "data": {"text": "invalid"}}]
    status, body = call(server, "/predict", {"tasks": tasks, "project": "1.1",
                                             "label_config": labeling_config(SCHEMA),
                                             "params": {}})
    assert status == 200
    results = body["results"]
    assert len(results) == 4
    assert results[0] == {"model_version": "fake-llm@guideline1", "score": 0.9, "result": [
        {"from_name": "label", "to_name": "text", "type": "choices",
         "value": {"choices": ["pos"]}}]}
    assert results[1]["result"][0]["value"] == {"choices": ["neg"]}
    assert "result" not in results[2] and results[2]["error"].startswith("parse:")
    assert "result" not in results[3] and "not in the schema" in results[3]["error"]
    assert [i.item_id for i in fake.batches[0]] == [ids[0], None, None, None]
    assert fake.batches[0][0].text == "a good film"
    assert [f.kind for f in server.service.failures] == ["parse", "invalid"]


def test_the_predictor_is_loaded_once_and_reused(backend: Any) -> None:
    server, fake, ids = backend
    for _ in range(3):
        call(server, "/predict", {"tasks": [{"id": 1, "data": {"annotate_item_id": ids[1]}}]})
    assert server.service.predictor is fake
    assert len(fake.batches) == 3


def test_a_config_of_another_project_is_refused(backend: Any) -> None:
    server, _, _ = backend
    other = labeling_config(LabelSchema(kind="classification", labels=["yes", "no"]))
    status, body = call(server, "/setup", {"schema": other})
    assert status == 400 and "labeling config differs" in body["error"]
    status, body = call(server, "/predict", {"tasks": [], "label_config": other})
    assert status == 400


def test_webhook_answers_fast_and_counts_events(backend: Any) -> None:
    server, _, _ = backend
    started = time.monotonic()
    assert call(server, "/webhook", {"action": "ANNOTATION_CREATED", "annotation": {}}) == (
        200, {"status": "ok"})
    assert time.monotonic() - started < 1.0
    assert server.service.events["ANNOTATION_CREATED"] == 1


def test_bad_requests_get_a_status_and_one_line(backend: Any) -> None:
    server, _, _ = backend
    assert call(server, "/predict", b"{not json")[0] == 400
    assert call(server, "/predict", [1, 2])[0] == 400
    assert call(server, "/predict", {"tasks": "x"})[0] == 400
    assert call(server, "/nowhere", {})[0] == 404
    assert call(server, "/nowhere")[0] == 404


def test_busy_port_is_one_clear_error(backend: Any, sqlite_store: Store) -> None:
    server, fake, _ = backend
    with pytest.raises(InvalidInput, match=r"cannot listen on 127\.0\.0\.1"):
        make_backend_server(sqlite_store, "reviews", fake, "127.0.0.1",
                            server.server_address[1], credentials=None)


def test_scripted_predictor_satisfies_the_protocol() -> None:
    assert isinstance(ScriptedPredictor(script), Predictor)

