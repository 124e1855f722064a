"""Label Studio JSON files that the REAL server wrote (marker ``labelstudio``).

Two people annotate through the server's API (one also cancels a task), a model's predictions
are added, the server exports the project (``/api/projects/{id}/export?exportType=JSON``), and
``import --format labelstudio`` reads that file; then our own export goes back into Label
Studio through its import API and out again.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from annotate.integrations.labelstudio.client import LabelStudioServer, connect
from annotate.integrations.labelstudio.config import labeling_config
from annotate.io.exporting import export_project
from annotate.io.importing import import_file
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project, get_project
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item
from tests.labelstudio.conftest import EMAIL, LabelStudioInstance

pytestmark = pytest.mark.labelstudio

NER = LabelSchema(kind="spans", labels=["PER", "LOC"])
NO_TASKS = RoutingPolicy(human_annotations=0, llm_annotations=0)
TEXTS = ["Анна 😀 живёт в Москве", "Пётр 🇷🇺 приехал в Казань", "Без сущностей 🙂"]


def utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def span(text: str, word: str, label: str) -> dict[str, Any]:
    """A result item as the Label Studio frontend makes it: UTF-16 offsets."""
    start = text.index(word)
    return {"from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": utf16(text, start), "end": utf16(text, start + len(word)),
                      "text": word, "labels": [label]}}


def raw_export(label_studio: LabelStudioInstance, ls_pid: int, path: Path) -> Path:
    """The server's JSON export, saved byte for byte."""
    request = urllib.request.Request(
        f"{label_studio.url}/api/projects/{ls_pid}/export?exportType=JSON",
        headers={"Authorization": f"Token {label_studio.token}"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        path.write_bytes(answer.read())
    return path


def snapshot_export(label_studio: LabelStudioInstance, ls_pid: int, path: Path) -> Path:
    """A snapshot export with the predictions and annotators expanded (the export the UI's
    dialog makes), downloaded as JSON byte for byte."""
    base = f"{label_studio.url}/api/projects/{ls_pid}/exports"
    headers = {"Authorization": f"Token {label_studio.token}",
               "Content-Type": "application/json"}
    body = {"title": "file test", "serialization_options": {
        "predictions": {"only_id": False}, "annotations__completed_by": {"only_id": False}},
        "task_filter_options": {"only_with_annotations": False}}
    request = urllib.request.Request(f"{base}/", data=json.dumps(body).encode(), method="POST",
                                     headers=headers)
    with urllib.request.urlopen(request, timeout=60) as answer:
        export_id = json.loads(answer.read())["id"]
    for _ in range(60):
        with urllib.request.urlopen(urllib.request.Request(
                f"{base}/{export_id}", headers=headers), timeout=60) as answer:
            if json.loads(answer.read())["status"] == "completed":
                break
        time.sleep(0.5)
    with urllib.request.urlopen(urllib.request.Request(
            f"{base}/{export_id}/download?exportType=JSON", headers=headers),
            timeout=60) as answer:
        path.write_bytes(answer.read())
    return path


def second_user(client: LabelStudioServer) -> tuple[int, str]:
    email = f"olga-{uuid.uuid4().hex[:8]}@example.com"
    user = client.sdk.users.create(username=email.split("@", maxsplit=1)[0], email=email,
                                   password="second-user-password-0123")
    return int(user.id), email


def spans_by_annotator(store: Store, project: str) -> dict[str, list[tuple[str, str, str]]]:
    """annotator -> sorted (item text, span text, label) of every answer."""
    with store.session() as session:
        pid = get_project(session, project).id
        rows = session.execute(select(Annotation, Item.text).join(Item)
                               .where(Annotation.project_id == pid))
        out: dict[str, list[tuple[str, str, str]]] = {}
        for ann, text in rows:
            out.setdefault(ann.annotator_id, []).extend(
                (text, text[s["start"]:s["end"]], s["label"]) for s in ann.value["spans"])
    return {who: sorted(found) for who, found in out.items()}


def test_a_file_the_server_wrote_imports_with_people_and_predictions(
        label_studio: LabelStudioInstance, sqlite_store: Store, tmp_path: Path) -> None:
    client = connect(label_studio.url, label_studio.token)
    ls_pid = client.create_project(title=f"file-{uuid.uuid4().hex[:6]}",
                                   label_config=labeling_config(NER))
    task_ids = client.import_tasks(ls_pid, [{"text": t, "source": "чат"} for t in TEXTS])
    olga_id, olga = second_user(client)
    anna, petr, _ = TEXTS
    client.sdk.annotations.create(id=task_ids[0], lead_time=4.5, result=[
        span(anna, "Анна", "PER"), span(anna, "Москве", "LOC")])
    client.sdk.annotations.create(id=task_ids[0], completed_by=olga_id, result=[
        span(anna, "Анна", "PER")])
    client.sdk.annotations.create(id=task_ids[1], result=[
        span(petr, "Пётр", "PER"), span(petr, "Казань", "LOC")])
    client.sdk.annotations.create(id=task_ids[1], completed_by=olga_id, was_cancelled=True,
                                  result=[])
    client.sdk.annotations.create(id=task_ids[2], completed_by=olga_id, result=[])
    client.sdk.predictions.create(task=task_ids[1], model_version="ner-v1", score=0.75,
                                  result=[span(petr, "Казань", "LOC")])

    # The plain export: predictions as ids only, annotators as user ids.
    plain = raw_export(label_studio, ls_pid, tmp_path / "plain.json")
    with sqlite_store.session() as session:
        create_project(session, "plain", NER, policy=NO_TASKS)
        create_project(session, "moved", NER, policy=NO_TASKS)
    result = import_file(sqlite_store, "plain", plain)  # detected from the file
    assert (result.format, result.items, result.annotations, result.skipped) == (
        "labelstudio", 3, 4, 2)
    assert any("prediction 1 is only an id" in note for note in result.notes)
    assert any("annotation 2 by ls:" in note and "was cancelled" in note
               for note in result.notes)
    me = next(iter(spans_by_annotator(sqlite_store, "plain")))
    assert spans_by_annotator(sqlite_store, "plain") == {
        me: sorted([(anna, "Анна", "PER"), (anna, "Москве", "LOC"),
                    (petr, "Пётр", "PER"), (petr, "Казань", "LOC")]),
        f"ls:{olga_id}": [(anna, "Анна", "PER")],  # and an empty answer on the third text
    }

    # The snapshot export with predictions and annotators: everything, people by email.
    path = snapshot_export(label_studio, ls_pid, tmp_path / "from-label-studio.json")
    result = import_file(sqlite_store, "moved", path)
    assert (result.format, result.items, result.annotations, result.skipped) == (
        "labelstudio", 3, 5, 1)
    assert spans_by_annotator(sqlite_store, "moved") == {
        f"ls:{EMAIL}": sorted([(anna, "Анна", "PER"), (anna, "Москве", "LOC"),
                               (petr, "Пётр", "PER"), (petr, "Казань", "LOC")]),
        f"ls:{olga}": [(anna, "Анна", "PER")],
        "ls-model:ner-v1": [(petr, "Казань", "LOC")],
    }
    with sqlite_store.session() as session:
        pid = get_project(session, "moved").id
        model = session.scalars(select(Annotation).where(
            Annotation.project_id == pid, Annotation.annotator_kind == "llm")).one()
        assert (model.model, model.confidence) == ("ner-v1", 0.75)
        timed = session.scalars(select(Annotation).where(
            Annotation.project_id == pid, Annotation.human_seconds == 4.5)).all()
        assert len(timed) == 1
        items = {i.text: i for i in session.scalars(select(Item).where(Item.project_id == pid))}
    assert items[anna].meta["source"] == "чат"
    assert items[anna].meta["ls_task_id"] == task_ids[0]
    assert items[anna].external_id == str(task_ids[0])


def test_our_export_goes_into_label_studio_and_back(
        label_studio: LabelStudioInstance, sqlite_store: Store, tmp_path: Path) -> None:
    """Label Studio imports our file (annotations and predictions); its own export of that
    project imports here with the same answers."""
    source = tmp_path / "source.jsonl"
    anna, petr, _ = TEXTS
    moscow, kazan = anna.index("Москве"), petr.index("Казань")
    source.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in [
        {"id": "a", "text": anna, "annotations": [
            {"annotator_id": "olga", "annotator_kind": "human", "human_seconds": 3.0,
             "value": {"spans": [{"start": moscow, "end": moscow + 6, "label": "LOC"}]}}]},
        {"id": "p", "text": petr, "annotations": [
            {"annotator_id": "llm:m", "annotator_kind": "llm", "model": "m", "confidence": 0.5,
             "value": {"spans": [{"start": kazan, "end": kazan + 6, "label": "LOC"}]}}]},
    ]), encoding="utf-8")
    with sqlite_store.session() as session:
        create_project(session, "ours", NER, policy=NO_TASKS)
        create_project(session, "back", NER, policy=NO_TASKS)
    import_file(sqlite_store, "ours", source)
    ours = tmp_path / "ours.json"
    with sqlite_store.session() as session:
        export_project(session, "ours", "labelstudio", ours)

    client = connect(label_studio.url, label_studio.token)
    ls_pid = client.create_project(title=f"ours-{uuid.uuid4().hex[:6]}",
                                   label_config=labeling_config(NER))
    client.import_tasks(ls_pid, json.loads(ours.read_text(encoding="utf-8")))
    tasks = {t["data"]["annotate_external_id"]: t for t in client.iter_tasks(ls_pid)}
    assert [len(tasks["a"]["annotations"]), len(tasks["p"]["predictions"])] == [1, 1]
    assert tasks["p"]["predictions"][0]["model_version"] == "m"

    path = snapshot_export(label_studio, ls_pid, tmp_path / "back.json")
    import_file(sqlite_store, "back", path, fmt="labelstudio")
    got = spans_by_annotator(sqlite_store, "back")
    assert got.pop("ls-model:m") == [(petr, "Казань", "LOC")]
    [(who, found)] = got.items()  # Label Studio gave the annotation to the importing user
    assert who.startswith("ls:") and found == [(anna, "Москве", "LOC")]
    with sqlite_store.session() as session:
        assert sorted(session.scalars(select(Item.external_id).join(Annotation).where(
            Item.project_id == get_project(session, "back").id))) == ["a", "p"]
