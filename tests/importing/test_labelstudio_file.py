"""Label Studio JSON files: import (people, models, UTF-16 spans, skipped answers, errors that
name the task, --extend-schema) and export, with a round trip for every kind Label Studio maps.

Files here are written by hand in the shape Label Studio exports; the live server writes one in
tests/labelstudio/test_file_roundtrip.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from annotate.cli.main import main
from annotate.errors import InvalidInput
from annotate.io.exporting import export_project
from annotate.io.importing import detect_format, import_file
from annotate.kinds.schema import LabelSchema, RatingFeature
from annotate.projects.catalog import current_guideline, get_project, project_schema
from annotate.store.engine import Store
from annotate.store.models import Annotation, GuidelineVersion, Item
from tests.importing.conftest import MakeProject, WriteFile
from tests.importing.helpers import CLASSES, NO_TASKS, counts
from tests.importing.test_export import snapshot

TEXT = "Анна 😀 живёт в Москве"  # the emoji is two UTF-16 units: later offsets differ
MOSCOW = TEXT.index("Москве")  # 15 code points, 16 UTF-16 units
SPANS = LabelSchema(kind="spans", labels=["PER", "LOC"])


def span(start: int, end: int, label: str, quoted: str) -> dict[str, Any]:
    return {"from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": quoted, "labels": [label]}}


def studio_export(**changes: Any) -> list[dict[str, Any]]:
    """Two tasks as Label Studio 1.x exports them: people's annotations (one cancelled),
    completed_by as an id and as an object, and a model's prediction."""
    first = {
        "id": 7, "data": {"text": TEXT, "source": "чат"}, "meta": {}, "inner_id": 1,
        "annotations": [
            {"id": 11, "completed_by": 1, "was_cancelled": False, "ground_truth": False,
             "lead_time": 12.5, "created_at": "2025-03-01T10:00:00.000000Z",
             "result": [span(0, 4, "PER", "Анна"), span(MOSCOW + 1, MOSCOW + 7, "LOC", "Москве")]},
            {"id": 12, "completed_by": {"id": 2, "email": "olga@example.com"},
             "was_cancelled": False, "lead_time": 3.0, "result": [span(0, 4, "PER", "Анна")]},
            {"id": 13, "completed_by": 3, "was_cancelled": True, "result": []},
        ],
        "predictions": [{"id": 5, "model_version": "ner-v2", "score": 0.82,
                         "result": [span(0, 4, "PER", "Анна")]}],
    }
    second = {"id": 8, "data": {"text": "Пусто"}, "annotations": [], "predictions": []}
    first.update(changes)
    return [first, second]


def write_json(write_file: WriteFile, tasks: Any, name: str = "studio.json") -> Path:
    return write_file(name, json.dumps(tasks, ensure_ascii=False, indent=2))


def answers(store: Store, project: str) -> dict[str, Annotation]:
    with store.session() as session:
        pid = get_project(session, project).id
        rows = session.scalars(select(Annotation).where(Annotation.project_id == pid))
        return {a.annotator_id: a for a in rows}


def test_a_studio_export_brings_people_models_and_utf16_spans(
        store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    project = make_project("ner", SPANS, NO_TASKS)
    path = write_json(write_file, studio_export())
    assert detect_format(path, SPANS) == "labelstudio"
    result = import_file(store, project, path)
    assert (result.format, result.items, result.annotations, result.skipped) == (
        "labelstudio", 2, 3, 1)
    assert result.notes == [f"{path}:task 1 (id 7): annotation 3 by ls:3 was cancelled "
                            "(skipped in Label Studio)"]
    got = answers(store, project)
    assert sorted(got) == ["ls-model:ner-v2", "ls:1", "ls:olga@example.com"]
    assert got["ls:1"].value == {"spans": [
        {"start": 0, "end": 4, "label": "PER", "text": "Анна"},
        {"start": MOSCOW, "end": MOSCOW + 6, "label": "LOC", "text": "Москве"}]}
    assert got["ls:1"].human_seconds == 12.5 and got["ls:1"].annotator_kind == "human"
    assert got["ls:1"].meta == {"ls_id": 11}
    assert got["ls:1"].created_at.isoformat() == "2025-03-01T10:00:00"
    model = got["ls-model:ner-v2"]
    assert (model.annotator_kind, model.model, model.confidence) == ("llm", "ner-v2", 0.82)
    assert model.meta == {"ls_id": 5, "ls_score": 0.82}
    with store.session() as session:
        items = {i.external_id: i for i in session.scalars(select(Item))}
    assert items["7"].meta == {"source": "чат", "ls_task_id": 7}
    assert items["8"].text == "Пусто"


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("tasks.json", '[{"data": {"text": "a"}, "annotations": []}]', "labelstudio"),
    ("tasks.txt", '\ufeff  [\n {"data": {"text": "a"}}]', "labelstudio"),  # data-only tasks
    ("broken.json", '[{"data": {"text": }]', "labelstudio"),  # its JSON error at its line
    ("items.json", '{"id": 1, "text": "a"}\n', "jsonl"),
])
def test_detection_of_a_json_array_of_tasks(write_file: WriteFile, name: str, content: str,
                                            expected: str) -> None:
    assert detect_format(write_file(name, content), SPANS) == expected


def test_predictions_exported_as_ids_are_counted_not_lost_silently(
        store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    project = make_project("ner", SPANS, NO_TASKS)
    result = import_file(store, project, write_json(write_file, studio_export(predictions=[5])))
    assert (result.annotations, result.skipped) == (2, 2)
    assert result.notes[1].endswith("task 1 (id 7): prediction 1 is only an id (5) in this "
                                    "file; export with predictions included to bring them")


@pytest.mark.parametrize(("task", "message"), [
    ({"annotations": [{"completed_by": 1, "result": [span(MOSCOW, MOSCOW + 6, "LOC", "Москве")]}]},
     "ls:1: span 14-20 quotes 'Москве' but the text there is ' Москв'"),
    ({"annotations": [{"completed_by": 1, "result": [span(5, 6, "PER", "x")]}]},
     "annotation 1 by ls:1: offset 6 falls inside a character of the text"),
    ({"predictions": [{"model_version": "m", "result": [
        {"from_name": "sentiment", "to_name": "text", "type": "choices",
         "value": {"choices": ["pos"]}}]}]},
     "prediction 1 by ls-model:m: result for unknown control(s) sentiment (the config "
     "has label)"),
    ({"annotations": [{"completed_by": 1, "result": [span(0, 4, "ORG", "Анна")]}]},
     "ls:1: label 'ORG' is not in the schema (PER, LOC)"),
    ({"data": {"body": TEXT}}, "missing or empty text"),
    ({"annotations": {"id": 1}}, "'annotations' must be a list, not dict"),
])
def test_a_bad_task_is_named_and_nothing_is_stored(
        store: Store, make_project: MakeProject, write_file: WriteFile,
        task: dict[str, Any], message: str) -> None:
    project = make_project("ner", SPANS, NO_TASKS)
    tasks = [{"id": 1, "data": {"text": "ok"}},
             {"id": 17, "data": {"text": TEXT}, "annotations": [], **task}]
    path = write_json(write_file, tasks)
    with pytest.raises(InvalidInput) as caught:
        import_file(store, project, path, fmt="labelstudio")
    assert str(caught.value) == f"{path}:task 2 (id 17): {message}"
    assert counts(store, project) == {"items": 0, "annotations": 0, "tasks": 0}


@pytest.mark.parametrize(("content", "message"), [
    ('[{"id": 1, "data": {"text": "a"}},\n {"id": 2,, }]', ":2: bad JSON: Expecting property name"),
    ('{"data": {"text": "a"}}', ":1: a Label Studio JSON export is one array of tasks, not a dict"),
    ('[{"id": 1, "data": {"text": "a"}}, 5]', ":task 2: a task must be a JSON object, not int"),
    ("[]", ":1: no items in the file"),
])
def test_a_file_that_is_no_export_is_refused(
        store: Store, make_project: MakeProject, write_file: WriteFile,
        content: str, message: str) -> None:
    project = make_project("ner", SPANS, NO_TASKS)
    path = write_file("bad.json", content)
    with pytest.raises(InvalidInput, match="^" + str(path)) as caught:
        import_file(store, project, path, fmt="labelstudio")
    assert message in str(caught.value)


def test_extend_schema_adds_the_labels_in_a_new_guideline_version(
        store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    project = make_project("ner", SPANS, NO_TASKS)
    tasks = studio_export()
    tasks[0]["annotations"][1]["result"] = [span(0, 4, "ИМЯ", "Анна"), span(5, 7, "EMOJI", "😀")]
    path = write_json(write_file, tasks)
    with store.session() as session:
        before = current_guideline(session, get_project(session, project)).version
    with pytest.raises(InvalidInput, match="label 'ИМЯ' is not in the schema"):
        import_file(store, project, path)
    result = import_file(store, project, path, extend_schema=True)
    assert result.labels_added == ["ИМЯ", "EMOJI"] and result.annotations == 3
    with store.session() as session:
        found = get_project(session, project)
        assert project_schema(found).labels == ["PER", "LOC", "ИМЯ", "EMOJI"]
        guideline = current_guideline(session, found)
        assert guideline.version != before and guideline.number == 2
        assert "- **EMOJI**: (define; added by importing studio.json)" in guideline.content
        assert "ИМЯ, EMOJI" in guideline.note
    emoji = answers(store, project)["ls:olga@example.com"].value["spans"][1]
    assert emoji == {"start": 5, "end": 6, "label": "EMOJI", "text": "😀"}


def test_extend_schema_adds_nothing_when_the_import_fails(
        store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    project = make_project("ner", SPANS, NO_TASKS)
    tasks = studio_export()
    tasks[0]["annotations"][0]["result"] = [span(0, 4, "NEW", "Анна")]
    tasks[1]["annotations"] = [{"completed_by": 1, "result": [span(0, 2, "PER", "ZZ")]}]
    with pytest.raises(InvalidInput, match="task 2 \\(id 8\\)"):
        import_file(store, project, write_json(write_file, tasks), extend_schema=True)
    with store.session() as session:
        assert project_schema(get_project(session, project)).labels == ["PER", "LOC"]
        assert session.scalar(select(GuidelineVersion.number).order_by(
            GuidelineVersion.number.desc()).limit(1)) == 1


def test_extend_schema_does_not_add_what_cannot_be_a_label(
        store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    project = make_project("sentiment", CLASSES, NO_TASKS)
    bad = {"from_name": "label", "to_name": "text", "type": "choices",
           "value": {"choices": ["bad\x07label"]}}
    tasks = [{"data": {"text": "ok"}, "annotations": [{"completed_by": 1, "result": [bad]}]}]
    with pytest.raises(InvalidInput, match="is not in the schema"):
        import_file(store, project, write_json(write_file, tasks), extend_schema=True)


# ---- export, and the round trip for every kind Label Studio maps -----------------------------

KINDS: dict[str, tuple[LabelSchema, list[dict[str, Any]]]] = {
    "classification": (CLASSES, [{"label": "pos"}, {"label": "neg"}]),
    "multilabel": (LabelSchema(kind="multilabel", labels=["a", "b", "c"]),
                   [{"labels": ["a", "c"]}, {"labels": []}]),
    "spans": (LabelSchema(kind="spans", labels=["PER", "LOC"], allow_nested=True),
              [{"spans": [{"start": 0, "end": 4, "label": "PER"},
                          {"start": MOSCOW, "end": MOSCOW + 6, "label": "LOC"}]},
               {"spans": [{"start": 0, "end": 4, "label": "PER"},
                          {"start": 0, "end": 4, "label": "LOC"}]}]),
    "rating": (LabelSchema(kind="rating", features=[
        RatingFeature(name="fluency", scale=[1, 2, 3, 4, 5]),
        RatingFeature(name="tone", scale=["rude", "ok", "kind"])]),
        [{"ratings": {"fluency": 4, "tone": "kind"}}, {"ratings": {"fluency": 1, "tone": "ok"}}]),
    "choice-pairwise": (LabelSchema(kind="choice", options=["response1", "response2"]),
                        [{"choice": "response2"}, {"choice": "tie"}]),
    "choice-three": (LabelSchema(kind="choice", options=["a", "b", "c"], allow_tie=False),
                     [{"choice": "c"}, {"choice": "a"}]),
    "text": (LabelSchema(kind="text"), [{"text": "Ответ 😀"},
                                        {"text": "второй", "candidate": 1, "edited": True}]),
}


def export_jsonl_lines(schema: LabelSchema, values: list[dict[str, Any]]) -> str:
    """Two items (one with option texts and meta), each answered by a person and a model
    with provenance, in our own JSONL export format."""
    data = ({"options": {o: f"{o} — ответ" for o in schema.options}} if schema.options else {})
    people = [{"annotator_id": "olga", "annotator_kind": "human", "value": values[0],
               "human_seconds": 7.5, "created_at": "2025-01-02T03:04:05"},
              {"annotator_id": "llm:m1", "annotator_kind": "llm", "value": values[1],
               "model": "m1", "confidence": 0.625, "rationale": "потому что",
               "guideline_version": "abc", "prompt_hash": "f" * 64, "cost_usd": 0.001,
               "params": {"temperature": 0}, "source": "queue"}]
    lines = [{"id": "x1", "text": TEXT, "data": data, "meta": {"lang": "ru", "n": 1},
              "annotations": people},
             {"id": "x2", "text": TEXT + "!", "data": data, "synthetic": True,
              "annotations": [{**people[0], "annotator_id": "ivan", "role": "expert"}]}]
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_round_trip_through_a_labelstudio_file(
        store: Store, make_project: MakeProject, write_file: WriteFile, tmp_path: Path,
        kind: str) -> None:
    schema, values = KINDS[kind]
    source = make_project("source", schema, NO_TASKS)
    import_file(store, source, write_file("source.jsonl", export_jsonl_lines(schema, values)))
    path = tmp_path / "studio.json"
    with store.session() as session:
        result = export_project(session, source, "labelstudio", path)
    assert (result.items, result.annotations) == (2, 3)
    assert result.cannot_carry == ("who made each annotation, once Label Studio imports the "
                                   "file (it gives them to the importing user; the names stay "
                                   "in each answer's 'annotate' field)",)
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert [len(t["annotations"]) for t in tasks] == [1, 1]
    assert tasks[0]["predictions"][0]["model_version"] == "m1"
    assert tasks[0]["predictions"][0]["score"] == 0.625
    assert tasks[0]["data"]["text"] == TEXT and "completed_by" not in tasks[0]["annotations"][0]
    copy = make_project("copy", schema, NO_TASKS)
    back = import_file(store, copy, path)
    assert (back.format, back.items, back.annotations) == ("labelstudio", 2, 3)
    assert snapshot(store, copy) == snapshot(store, source)


def test_a_studio_file_without_our_fields_keeps_the_answers(
        store: Store, make_project: MakeProject, write_file: WriteFile, tmp_path: Path) -> None:
    """What Label Studio itself writes back (no 'annotate' fields) gives the same values."""
    schema, given = KINDS["spans"]
    source = make_project("source", schema, NO_TASKS)
    import_file(store, source, write_file("source.jsonl", export_jsonl_lines(schema, given)))
    path = tmp_path / "studio.json"
    with store.session() as session:
        export_project(session, source, "labelstudio", path)
    tasks = json.loads(path.read_text(encoding="utf-8"))
    for task in tasks:
        for entry in task["annotations"] + task["predictions"]:
            del entry["annotate"]
    stripped = write_json(write_file, tasks, "stripped.json")
    copy = make_project("copy", schema, NO_TASKS)
    import_file(store, copy, stripped)
    assert sorted(answers(store, copy)) == ["ls-model:m1", "ls:unknown"]  # no names left

    def values(project: str) -> list[str]:
        with store.session() as session:
            return sorted(json.dumps(v, ensure_ascii=False) for v in session.scalars(
                select(Annotation.value).where(
                    Annotation.project_id == get_project(session, project).id)))

    assert values(copy) == values(source)


def test_moderator_none_answers_are_left_out_and_said(
        store: Store, make_project: MakeProject, write_file: WriteFile, tmp_path: Path) -> None:
    source = make_project("source", CLASSES, NO_TASKS)
    line = {"id": "a", "text": "t", "annotations": [
        {"annotator_id": "m", "annotator_kind": "llm", "role": "moderator",
         "value": {"decision": "none"}}]}
    import_file(store, source, write_file("s.jsonl", json.dumps(line) + "\n"))
    with store.session() as session:
        result = export_project(session, source, "labelstudio", tmp_path / "o.json")
    assert result.cannot_carry == ("1 answers that are no value of the kind (e.g. a "
                                   "moderator's 'none of them'), left out",)


def test_cli_import_and_export(tmp_path: Path, write_file: WriteFile,
                               capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    path = write_json(write_file, studio_export())
    assert main(["--db", db, "project", "create", "ner", "--kind", "spans",
                 "--labels", "PER"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "import", "ner", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:task 1 (id 7): ls:1: label 'LOC' is not in the schema" in err
    assert "import again with --extend-schema" in err  # what to do
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert main(["--db", db, "import", "ner", str(path), "--extend-schema"]) == 0
    printed = capsys.readouterr().out
    assert "imported 2 items, 3 annotations" in printed
    assert "skipped 1 answers (first: " in printed and "was cancelled" in printed
    assert "added to the schema: LOC" in printed
    out = tmp_path / "out.json"
    assert main(["--db", db, "export", "ner", "--format", "labelstudio", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "labelstudio cannot carry: who made each annotation" in err
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 2
