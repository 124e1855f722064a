"""Prodigy and doccano JSONL in and out (#20): files written as the tools document them
(Cyrillic and emoji text), every person's answer under their own id, rejects skipped and
counted, errors as FILE:LINE with nothing stored, and the round trip: export, import into a
new project, the same items and answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from annotate.errors import InvalidInput
from annotate.io.exporting import export_project
from annotate.io.importing import detect_format, import_file
from annotate.kinds.schema import LabelSchema
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Project
from tests.importing.conftest import MakeProject, WriteFile
from tests.importing.helpers import NO_TASKS, counts
from tests.importing.test_export import snapshot

CLASSES = LabelSchema(kind="classification", labels=["POS", "NEG"])
MULTI = LabelSchema(kind="multilabel", labels=["радость", "гнев", "страх"])
SPANS = LabelSchema(kind="spans", labels=["PER", "LOC"])
HELLO = "Привет, мир 👋"
MOSCOW = "Анна живёт в Москве 🏙️"  # Анна 0-4, Москве 13-19


def lines(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def answers(store: Store, project: str) -> dict[str, dict[str, Any]]:
    """``{item external id: {annotator: value}}`` of the project."""
    with store.session() as session:
        pid = session.scalar(select(Project.id).where(Project.name == project))
        rows = session.execute(select(Item.external_id, Annotation.annotator_id,
                                      Annotation.value)
                               .join(Item, Item.id == Annotation.item_id)
                               .where(Annotation.project_id == pid))
        out: dict[str, dict[str, Any]] = {}
        for ext, who, value in rows:
            out.setdefault(ext, {})[who] = value
        return out


# ---- Prodigy ---------------------------------------------------------------------------------

PRODIGY_TEXTCAT = lines(
    {"text": HELLO, "label": "POS", "answer": "accept", "_input_hash": 101, "_task_hash": 1,
     "_annotator_id": "news-anna", "_session_id": "news-anna", "_timestamp": 1700000000,
     "meta": {"source": "чат"}},
    {"text": HELLO, "label": "POS", "answer": "reject", "_input_hash": 101, "_task_hash": 1,
     "_annotator_id": "news-boris", "_session_id": "news-boris"},
    {"text": HELLO, "label": "POS", "answer": "ignore", "_input_hash": 101, "_task_hash": 1,
     "_session_id": "news-vera"},
    {"text": "Плохо 😞", "options": [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}],
     "accept": ["NEG"], "answer": "accept", "_input_hash": 102, "_task_hash": 2,
     "_session_id": "news-vera", "_view_id": "choice"},
    {"text": "Без ответа 🤷", "_input_hash": 103, "_task_hash": 3},
)


def test_prodigy_answers_go_under_each_annotator_and_rejects_are_counted(
        store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    path = write_file("news.jsonl", PRODIGY_TEXTCAT)
    project = make_project("news", CLASSES, NO_TASKS)
    assert detect_format(path, CLASSES) == "prodigy"
    result = import_file(store, project, path)
    assert (result.format, result.items, result.annotations) == ("prodigy", 3, 2)
    assert result.skipped == 2
    assert "rejected answer from news-boris skipped" in result.notes[0]
    assert result.notes[0].startswith(f"{path}:2:")
    assert "ignored answer from news-vera" in result.notes[1]
    assert answers(store, project) == {"101": {"news-anna": {"label": "POS"}},
                                       "102": {"news-vera": {"label": "NEG"}}}
    with store.session() as session:
        item = session.scalar(select(Item).where(Item.external_id == "101"))
        assert item is not None and item.text == HELLO and item.meta == {"source": "чат"}
        ann = session.scalar(select(Annotation).where(Annotation.annotator_id == "news-anna"))
        assert ann is not None and ann.created_at.isoformat() == "2023-11-14T22:13:20"


def test_prodigy_binary_spans_of_one_person_add_up(store: Store, make_project: MakeProject,
                                                   write_file: WriteFile) -> None:
    """ner.teach asks about one span a line: the accepted ones are the person's answer."""
    tokens = [{"text": "Анна", "start": 0, "end": 4, "id": 0}]
    path = write_file("teach.jsonl", lines(
        {"text": MOSCOW, "spans": [{"start": 0, "end": 4, "label": "PER", "token_start": 0,
                                    "token_end": 0}], "tokens": tokens,
         "answer": "accept", "_input_hash": 7, "_annotator_id": "anna"},
        {"text": MOSCOW, "spans": [{"start": 13, "end": 19, "label": "LOC"}],
         "answer": "accept", "_input_hash": 7, "_annotator_id": "anna"},
        {"text": MOSCOW, "spans": [{"start": 5, "end": 10, "label": "LOC"}],
         "answer": "reject", "_input_hash": 7, "_annotator_id": "anna"},
        {"text": MOSCOW, "spans": [{"start": 0, "end": 4, "label": "PER"}],
         "answer": "accept", "_input_hash": 7}))
    project = make_project("teach", SPANS, NO_TASKS)
    result = import_file(store, project, path, fmt="prodigy")
    assert (result.items, result.annotations, result.skipped) == (1, 2, 1)
    got = answers(store, project)["7"]
    assert [(s["start"], s["end"], s["label"]) for s in got["anna"]["spans"]] == [
        (0, 4, "PER"), (13, 19, "LOC")]
    assert [s["text"] for s in got["prodigy"]["spans"]] == ["Анна"]  # no annotator named


def test_prodigy_choice_options_by_number_read_their_text(
        store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    options = [{"id": 0, "text": "радость"}, {"id": 1, "text": "гнев"}, {"id": 2, "text": "страх"}]
    path = write_file("multi.jsonl", lines(
        {"text": "Ура!!! 🎉 но страшно", "options": options, "accept": [0, 2],
         "answer": "accept", "_annotator_id": "anna"}))
    project = make_project("multi", MULTI, NO_TASKS)
    import_file(store, project, path, fmt="prodigy")
    assert list(answers(store, project).values()) == [{"anna": {"labels": ["радость",
                                                                            "страх"]}}]


@pytest.mark.parametrize(("record", "line", "message"), [
    ({"text": HELLO, "label": "POS", "answer": "maybe", "_input_hash": 5}, 2,
     "answer must be one of accept, reject, ignore, not 'maybe'"),
    ({"text": HELLO, "accept": ["POS", "NEG"], "answer": "accept", "_input_hash": 5}, 2,
     "2 options accepted (POS, NEG) but the project takes one label"),
    ({"text": "другой текст", "label": "POS", "answer": "accept", "_input_hash": 1}, 2,
     "the text differs from line 1, which has the same _input_hash"),
    ({"text": HELLO, "label": "NEG", "answer": "accept", "_input_hash": 1,
      "_annotator_id": "anna"}, 2, "a second answer from anna on this item (the first is at "
                                   "line 1)"),
    ({"text": HELLO, "label": "MAYBE", "answer": "accept", "_input_hash": 5}, 2, "MAYBE"),
])
def test_a_bad_prodigy_line_is_named_and_nothing_is_stored(
        store: Store, make_project: MakeProject, write_file: WriteFile,
        record: dict[str, Any], line: int, message: str) -> None:
    first = {"text": HELLO, "label": "POS", "answer": "accept", "_input_hash": 1,
             "_annotator_id": "anna"}
    path = write_file("bad.jsonl", lines(first, record))
    project = make_project("bad", CLASSES, NO_TASKS)
    with pytest.raises(InvalidInput) as err:
        import_file(store, project, path, fmt="prodigy")
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert message in str(err.value)
    assert counts(store, project) == {"items": 0, "annotations": 0, "tasks": 0}


# ---- doccano ---------------------------------------------------------------------------------


def test_doccano_sequence_labelling_per_user(store: Store, make_project: MakeProject,
                                            write_file: WriteFile) -> None:
    path = write_file("ner.jsonl", lines(
        {"id": 1, "text": MOSCOW, "label": [[0, 4, "PER"], [13, 19, "LOC"]], "user": "anna",
         "Comments": []},
        {"id": 1, "text": MOSCOW, "label": [[0, 4, "PER"]], "user": "boris", "Comments": []},
        {"id": 2, "text": "Ничего 🙃", "label": []},
        {"text": "Борис 🙂", "label": [[0, 5, "PER"]]}))
    project = make_project("ner", SPANS, NO_TASKS)
    assert detect_format(path, SPANS) == "doccano"
    result = import_file(store, project, path)
    assert (result.format, result.items, result.annotations) == ("doccano", 3, 3)
    got = answers(store, project)
    assert {who: len(v["spans"]) for who, v in got["1"].items()} == {"anna": 2, "boris": 1}
    assert got["ner-4"] == {"doccano": {"spans": [{"start": 0, "end": 5, "label": "PER",
                                                  "text": "Борис"}]}}
    assert "2" not in got  # an unlabelled example is an item without answers


def test_doccano_classification_and_its_errors(store: Store, make_project: MakeProject,
                                               write_file: WriteFile) -> None:
    good = write_file("cls.jsonl", lines(
        {"id": "a", "text": HELLO, "label": ["POS"], "user": "anna"},
        {"id": "a", "text": HELLO, "label": ["NEG"], "annotator": "boris"},
        {"id": "a", "text": HELLO, "label": [], "user": "vera"}))
    project = make_project("cls", CLASSES, NO_TASKS)
    result = import_file(store, project, good, fmt="doccano")
    assert (result.items, result.annotations, result.skipped) == (1, 2, 1)
    assert answers(store, project) == {"a": {"anna": {"label": "POS"},
                                             "boris": {"label": "NEG"}}}
    bad = write_file("bad.jsonl", lines({"id": "z", "text": HELLO, "label": ["POS"]},
                                        {"id": "y", "text": HELLO, "label": [[0, 3, "POS"]]}))
    with pytest.raises(InvalidInput, match=r"bad\.jsonl:2: 'label' must list class names"):
        import_file(store, project, bad, fmt="doccano")
    assert counts(store, project)["items"] == 1


# ---- round trips -----------------------------------------------------------------------------

LLM = {"annotator_kind": "llm", "model": "gpt-4o-mini", "confidence": 0.875,
       "rationale": "явно 👍", "cost_usd": 0.0004, "params": {"temperature": 0.0},
       "guideline_version": "a1b2c3", "source": "queue"}
VALUES = {
    "classification": ({"label": "POS"}, {"label": "NEG"}),
    "multilabel": ({"labels": ["радость", "страх"]}, {"labels": []}),
    "spans": ({"spans": [{"start": 0, "end": 4, "label": "PER"},
                         {"start": 13, "end": 19, "label": "LOC"}]},
              {"spans": [{"start": 0, "end": 4, "label": "PER"}]}),
}
SCHEMAS = {"classification": CLASSES, "multilabel": MULTI, "spans": SPANS}


def source_file(kind: str) -> str:
    """An export-jsonl file: two people and a model disagree, a lead adjudicates, one
    person's blind answer came first; an item nobody answered."""
    one, two = VALUES[kind]
    when = "2026-03-01T10:00:00"

    def ann(who: str, value: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"annotator_id": who, "annotator_kind": "human", "value": value,
                "created_at": when, **extra}

    return lines(
        {"id": "a", "text": MOSCOW, "meta": {"lang": "ru"}, "annotations": [
            ann("anna", one), ann("борис", two), ann("борис", one, phase="blind"),
            ann("gpt-4o-mini", one, **LLM), ann("lead", two, role="adjudicator")]},
        {"id": "b", "text": MOSCOW, "annotations": [ann("anna", two)]},
        {"id": "c", "text": "Пусто 🫙", "synthetic": True, "annotations": []})


@pytest.mark.parametrize("fmt", ["prodigy", "doccano"])
@pytest.mark.parametrize("kind", ["classification", "multilabel", "spans"])
def test_export_then_import_gives_the_same_items_and_answers(
        store: Store, make_project: MakeProject, write_file: WriteFile, tmp_path: Path,
        fmt: str, kind: str) -> None:
    source = make_project("source", SCHEMAS[kind], NO_TASKS)
    import_file(store, source, write_file("source.jsonl", source_file(kind)))
    out = tmp_path / f"out.{fmt}.jsonl"
    with store.session() as session:
        result = export_project(session, source, fmt, out)
    assert (result.items, result.annotations) == (3, 6)
    assert result.cannot_carry  # the closing line always says what the tools do not read
    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    final = _final_of(exported, fmt, "a")
    assert final == _in_format(VALUES[kind][1], fmt)  # the adjudicator's answer wins
    copy = make_project("copy", SCHEMAS[kind], NO_TASKS)
    back = import_file(store, copy, out)  # format detected from the first line
    assert (back.format, back.items, back.annotations, back.skipped) == (fmt, 3, 6, 0)
    assert snapshot(store, copy) == snapshot(store, source)


def _final_of(exported: list[dict[str, Any]], fmt: str, item: str) -> Any:
    line = next(x for x in exported if x["id"] == item)
    return line["_final"] if fmt == "prodigy" else line["label"]


def _in_format(value: dict[str, Any], fmt: str) -> Any:
    if "spans" in value:
        spans = value["spans"]
        return ({"spans": spans} if fmt == "prodigy"
                else [[s["start"], s["end"], s["label"]] for s in spans])
    names = value.get("labels", [value.get("label")])
    return {"accept": names} if fmt == "prodigy" else names


def test_prodigy_and_doccano_refuse_a_rating_project(store: Store, make_project: MakeProject,
                                                    tmp_path: Path) -> None:
    rating = LabelSchema.model_validate({"kind": "rating", "features": [
        {"name": "fluency", "scale": [1, 2, 3]}]})
    project = make_project("rated", rating)
    for fmt in ("prodigy", "doccano"):
        with store.session() as session, pytest.raises(
                InvalidInput, match=f"{fmt} export cannot carry rating answers"):
            export_project(session, project, fmt, tmp_path / "x.jsonl")
    assert not (tmp_path / "x.jsonl").exists()
