"""Push, pull and the ML backend against a REAL Label Studio server (marker ``labelstudio``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from annotate.integrations.labelstudio.backend import BackendServer, make_backend_server
from annotate.integrations.labelstudio.backend_auth import BasicCredentials
from annotate.integrations.labelstudio.client import LabelStudioServer, connect
from annotate.integrations.labelstudio.config import labeling_config
from annotate.integrations.labelstudio.predictor import ItemToPredict, PredictedValue
from annotate.integrations.labelstudio.pull import pull
from annotate.integrations.labelstudio.push import push
from annotate.kinds.schema import LabelSchema, validate_value
from annotate.store.engine import Store
from annotate.store.labelstudio_models import LabelStudioTask
from annotate.store.models import Annotation
from tests.labelstudio.conftest import LabelStudioInstance, add_llm_answer, make_ls_project
from tests.labelstudio.fakes import ScriptedPredictor

pytestmark = pytest.mark.labelstudio

NER = LabelSchema(kind="spans", labels=["PER", "ORG", "LOC", "LOCORG"], allow_nested=True)
SENTIMENT = LabelSchema(kind="classification", labels=["pos", "neg"])


def factru_rows(shared_data: Path, n: int) -> list[dict[str, Any]]:
    """The first ``n`` sentences with nested entities or several of them (Cyrillic text)."""
    path = shared_data / "factrueval2016_ner" / "factrueval2016_ner_dev.jsonl"
    rows = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if len(row["spans"]) >= 2:
                rows.append(row)
            if len(rows) == n:
                break
    return rows


def humans(store: Store) -> list[Annotation]:
    with store.session() as session:
        return list(session.scalars(select(Annotation).where(
            Annotation.annotator_kind == "human").order_by(Annotation.id)))


def tasks_by_item(client: LabelStudioServer, ls_pid: int) -> dict[int, dict[str, Any]]:
    return {t["data"]["annotate_item_id"]: t for t in client.iter_tasks(ls_pid)}


def test_push_twice_annotate_pull_twice_cyrillic_spans(
        label_studio: LabelStudioInstance, store: Store, shared_data: Path) -> None:
    url, token = label_studio.url, label_studio.token
    rows = factru_rows(shared_data, 6)
    ids = make_ls_project(store, "factru", NER, [(r["id"], r["text"], {}) for r in rows])
    llm = [add_llm_answer(store, i, {"spans": r["spans"]}, confidence=0.7)
           for i, r in zip(ids, rows, strict=True)]

    progress: list[tuple[int, int]] = []
    first = push(store, "factru", url, token, batch_size=4,
                 on_progress=lambda done, total: progress.append((done, total)))
    again = push(store, "factru", url, token, batch_size=4)
    assert progress == [(4, 6), (6, 6)]
    assert (first.tasks_created, first.predictions_created, first.invalid) == (6, 6, [])
    assert (again.tasks_created, again.predictions_created) == (0, 0)
    assert (again.tasks_existing, again.predictions_existing) == (6, 6)
    assert again.ls_project_id == first.ls_project_id

    client = connect(url, token)
    tasks = tasks_by_item(client, first.ls_project_id)
    assert sorted(tasks) == sorted(ids)
    assert all(len(t["predictions"]) == 1 for t in tasks.values())
    prediction = tasks[ids[0]]["predictions"][0]
    assert prediction["score"] == pytest.approx(0.7)
    assert prediction["model_version"].startswith("fake-llm@")
    with store.session() as session:
        links = session.scalars(select(LabelStudioTask)).all()
        assert {link.predictions[f"a{llm[ids.index(link.item_id)]}"] for link in links} == {
            t["predictions"][0]["id"] for t in tasks.values()}

    # A person starts from the prediction, drops its first entity and saves, after 42.5 s.
    kept = prediction["result"][1:]
    created = client.sdk.annotations.create(id=tasks[ids[0]]["id"], result=kept, lead_time=42.5,
                                            parent_prediction=prediction["id"])
    reports = [pull(store, "factru", url, token), pull(store, "factru", url, token)]
    assert (reports[0].created, reports[0].unchanged) == (1, 0)
    assert (reports[1].created, reports[1].unchanged, reports[1].updated) == (0, 1, 0)

    [human] = humans(store)
    text = rows[0]["text"]
    expected = validate_value(NER, {"spans": rows[0]["spans"]}, text)["spans"][1:]
    assert human.value == {"spans": expected}
    assert all(text[s["start"]:s["end"]] == s["text"] for s in human.value["spans"])
    assert any(ord(ch) > 0x400 for s in human.value["spans"] for ch in s["text"])  # Cyrillic
    assert human.idempotency_key == f"ls:{created.id}"
    assert (human.annotator_id, human.source, human.human_seconds) == (
        label_studio.email, "labelstudio", 42.5)
    assert human.meta["parent_prediction"] == prediction["id"]
    assert human.meta["parent_annotation_id"] == llm[0]
    assert human.suggestion_visible and human.created_at is not None

    exported = client.export_json(first.ls_project_id)
    annotation_ids = [a["id"] for task in exported for a in task.get("annotations", [])]
    assert annotation_ids == [created.id]


def test_updated_skipped_deleted_and_invalid_annotations(
        label_studio: LabelStudioInstance, sqlite_store: Store) -> None:
    url, token = label_studio.url, label_studio.token
    ids = make_ls_project(sqlite_store, "reviews", SENTIMENT, [
        ("r1", "a good film", {}), ("r2", "a dull film", {}), ("r3", "so-so", {})])
    ls_pid = push(sqlite_store, "reviews", url, token).ls_project_id
    client = connect(url, token)
    tasks = tasks_by_item(client, ls_pid)

    def choose(label: str) -> list[dict[str, Any]]:
        return [{"from_name": "label", "to_name": "text", "type": "choices",
                 "value": {"choices": [label]}}]

    done = client.sdk.annotations.create(id=tasks[ids[0]]["id"], result=choose("pos"),
                                         lead_time=3.0)
    client.sdk.annotations.create(id=tasks[ids[1]]["id"], result=[], was_cancelled=True)
    client.sdk.annotations.create(id=tasks[ids[2]]["id"], result=choose("meh"))  # LS accepts it
    report = pull(sqlite_store, "reviews", url, token)
    assert (report.created, report.skipped) == (1, 1)
    assert len(report.invalid) == 1 and "'meh' is not in the schema" in report.invalid[0][1]
    assert [h.value for h in humans(sqlite_store)] == [{"label": "pos"}]

    client.sdk.annotations.update(id=done.id, result=choose("neg"), lead_time=5.0)
    report = pull(sqlite_store, "reviews", url, token)
    assert (report.created, report.updated) == (0, 1)
    [human] = humans(sqlite_store)
    assert (human.value, human.human_seconds) == ({"label": "neg"}, 5.0)

    client.sdk.annotations.delete(id=done.id)
    report = pull(sqlite_store, "reviews", url, token)
    assert report.deleted == 1
    assert humans(sqlite_store) == []


def test_a_project_deleted_in_label_studio_is_created_again(
        label_studio: LabelStudioInstance, sqlite_store: Store) -> None:
    url, token = label_studio.url, label_studio.token
    make_ls_project(sqlite_store, "again", SENTIMENT, [("1", "fine", {}), ("2", "bad", {})])
    first = push(sqlite_store, "again", url, token)
    connect(url, token).sdk.projects.delete(id=first.ls_project_id)
    second = push(sqlite_store, "again", url, token)
    assert second.project_created and second.ls_project_id != first.ls_project_id
    assert second.tasks_created == 2
    with sqlite_store.session() as session:
        assert {link.ls_project_id for link in session.scalars(select(LabelStudioTask))} == {
            second.ls_project_id}


def test_a_push_interrupted_before_saving_its_links_is_not_repeated(
        label_studio: LabelStudioInstance, sqlite_store: Store) -> None:
    url, token = label_studio.url, label_studio.token
    ids = make_ls_project(sqlite_store, "crash", SENTIMENT, [("1", "fine", {}), ("2", "bad", {})])
    for item_id in ids:
        add_llm_answer(sqlite_store, item_id, {"label": "pos"})
    first = push(sqlite_store, "crash", url, token)
    with sqlite_store.session() as session:  # as if the process died after Label Studio said OK
        before = {r.item_id: dict(r.predictions) for r in session.scalars(select(LabelStudioTask))}
        session.query(LabelStudioTask).delete()
    again = push(sqlite_store, "crash", url, token)
    assert (again.tasks_created, again.predictions_created) == (0, 0)
    assert (again.tasks_existing, again.predictions_existing) == (2, 2)
    with sqlite_store.session() as session:
        after = {r.item_id: dict(r.predictions) for r in session.scalars(select(LabelStudioTask))}
    assert after == before and None not in {v for p in after.values() for v in p.values()}
    assert len(list(connect(url, token).iter_tasks(first.ls_project_id))) == 2


KIND_CASES: dict[str, tuple[LabelSchema, str, dict[str, Any], dict[str, Any]]] = {
    "classification": (SENTIMENT, "хороший фильм", {}, {"label": "pos"}),
    "multilabel": (LabelSchema(kind="multilabel", labels=["toxic", "spam", "ok"]),
                   "купите сейчас!!!", {}, {"labels": ["toxic", "spam"]}),
    "spans": (NER, "Анна работает в «Газпроме» 😀 и в МИД России.", {},
              {"spans": [{"start": 0, "end": 4, "label": "PER"},
                         {"start": 17, "end": 25, "label": "ORG"},
                         {"start": 34, "end": 44, "label": "ORG"},
                         {"start": 38, "end": 44, "label": "LOCORG"}]}),
    "rating": (LabelSchema.default("rating", ["fluency", "relevance"]), "Ответ бота.", {},
               {"ratings": {"fluency": 4, "relevance": 2}}),
    "choice": (LabelSchema(kind="choice", options=["response1", "response2"]),
               "Какой ответ лучше?", {"options": {"response1": "Первый", "response2": "Второй"}},
               {"choice": "response2"}),
    "text": (LabelSchema(kind="text"), "Длинный исходный текст для пересказа.", {},
             {"text": "Короткий пересказ."}),
}


@pytest.mark.parametrize("kind", sorted(KIND_CASES))
def test_every_kind_round_trips_through_label_studio(
        label_studio: LabelStudioInstance, sqlite_store: Store, kind: str) -> None:
    """The server takes the config; a person accepting the LLM's pre-label gives its value."""
    url, token = label_studio.url, label_studio.token
    schema, text, data, value = KIND_CASES[kind]
    [item] = make_ls_project(sqlite_store, kind, schema, [("x1", text, data)])
    add_llm_answer(sqlite_store, item, value)
    if kind == "text":
        _add_candidates(sqlite_store, item, ["Первый вариант.", "Второй вариант."])
    report = push(sqlite_store, kind, url, token)
    client = connect(url, token)
    assert client.check_config(report.ls_project_id, labeling_config(schema)) == ""
    [task] = client.iter_tasks(report.ls_project_id)
    assert len(task["predictions"]) == (3 if kind == "text" else 1)  # text: + 2 candidates
    start = next(p for p in task["predictions"] if p["model_version"].startswith("fake-llm@"))
    client.sdk.annotations.create(id=task["id"], result=start["result"], lead_time=1.0,
                                  parent_prediction=start["id"])
    assert pull(sqlite_store, kind, url, token).created == 1
    [human] = humans(sqlite_store)
    assert human.value == validate_value(schema, value, text)


def _add_candidates(store: Store, item_id: int, texts: list[str]) -> None:
    from annotate.store.models import Item, Suggestion

    with store.session() as session:
        item = session.get(Item, item_id)
        assert item is not None
        session.add(Suggestion(project_id=item.project_id, item_id=item_id, model="fake-helper",
                               candidates=[{"text": t, "score": 0.5} for t in texts]))


def test_a_person_editing_a_helper_candidate(label_studio: LabelStudioInstance,
                                             sqlite_store: Store) -> None:
    url, token = label_studio.url, label_studio.token
    [item] = make_ls_project(sqlite_store, "summaries", LabelSchema(kind="text"),
                             [("s1", "Исходный текст.", {})])
    _add_candidates(sqlite_store, item, ["Первый вариант.", "Второй вариант."])
    ls_pid = push(sqlite_store, "summaries", url, token).ls_project_id
    client = connect(url, token)
    [task] = client.iter_tasks(ls_pid)
    assert task["data"]["candidates"] == "1. Первый вариант.\n\n2. Второй вариант."
    second = next(p for p in task["predictions"]
                  if p["result"][0]["value"]["text"] == ["Второй вариант."])
    assert second["model_version"].startswith("helper:fake-helper@")
    edited = [{**second["result"][0], "value": {"text": ["Второй вариант, чуть короче."]}}]
    client.sdk.annotations.create(id=task["id"], result=edited, parent_prediction=second["id"])
    pull(sqlite_store, "summaries", url, token)
    [human] = humans(sqlite_store)
    assert human.value == {"text": "Второй вариант, чуть короче.", "candidate": 1,
                           "edited": True}
    assert human.meta["parent_candidate"] == 1


BACKEND_CREDENTIALS = BasicCredentials("label-studio", "live-test-password-0123456789")


@pytest.fixture
def running_backend(sqlite_store: Store) -> Iterator[tuple[BackendServer, ScriptedPredictor]]:
    make_ls_project(sqlite_store, "live-backend", SENTIMENT, [
        ("b1", "a good film", {}), ("b2", "a dull film", {}), ("b3", "good fun", {})])

    def script(item: ItemToPredict) -> PredictedValue:
        return PredictedValue({"label": "pos" if "good" in item.text else "neg"}, 0.6)

    fake = ScriptedPredictor(script, model_version="fake-llm@v7")
    server = make_backend_server(sqlite_store, "live-backend", fake, "127.0.0.1", 0,
                                 credentials=BACKEND_CREDENTIALS)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server, fake
    server.shutdown()
    server.server_close()


def test_label_studio_itself_asks_the_backend_for_predictions(
        label_studio: LabelStudioInstance, sqlite_store: Store,
        running_backend: tuple[BackendServer, ScriptedPredictor]) -> None:
    server, fake = running_backend
    url, token = label_studio.url, label_studio.token
    ls_pid = push(sqlite_store, "live-backend", url, token).ls_project_id
    client = connect(url, token)
    tasks = list(client.iter_tasks(ls_pid))
    assert all(not t["predictions"] for t in tasks)

    with pytest.raises(Exception, match=r"401 Client Error: Unauthorized for url: \S+/setup"):
        client.sdk.ml.create(url=server.url, project=ls_pid, title="no credentials")
    with pytest.raises(Exception, match="authentication parameters"):
        client.sdk.ml.create(url=server.url, project=ls_pid, title="wrong password",
                             auth_method="BASIC_AUTH", basic_auth_user="label-studio",
                             basic_auth_pass="not-the-password-at-all")
    assert fake.batches == []
    backend = client.sdk.ml.create(url=server.url, project=ls_pid, title="annotate roles",
                                   auth_method="BASIC_AUTH",
                                   basic_auth_user=BACKEND_CREDENTIALS.user,
                                   basic_auth_pass=BACKEND_CREDENTIALS.password)
    assert backend.model_version == "fake-llm@v7"

    client.sdk.tasks.get(id=str(tasks[0]["id"]))  # a person opens a task: LS calls /predict
    client.sdk.actions.create(id="retrieve_tasks_predictions", project=ls_pid,
                              selected_items={"all": True, "excluded": []})
    by_text = {t["data"]["text"]: t["predictions"] for t in client.iter_tasks(ls_pid)}
    assert {text: [(p["model_version"], p["result"][0]["value"]["choices"]) for p in preds]
            for text, preds in by_text.items()} == {
        "a good film": [("fake-llm@v7", ["pos"])],
        "a dull film": [("fake-llm@v7", ["neg"])],
        "good fun": [("fake-llm@v7", ["pos"])],
    }
    assert [len(batch) for batch in fake.batches] == [1, 2]  # one task, then the other two
    assert server.service.predictor is fake
