"""Each import format read into a real project: ids, text, meta, data and answers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from annotate.io.importing import detect_format, import_file
from annotate.kinds.schema import LabelSchema, RatingFeature
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item
from tests.importing.conftest import MakeProject, WriteFile
from tests.importing.helpers import CLASSES, NO_TASKS


def items_of(store: Store) -> dict[str, dict[str, Any]]:
    with store.session() as session:
        rows = session.execute(select(Item.external_id, Item.text, Item.data, Item.meta))
        return {r.external_id: {"text": r.text, "data": r.data, "meta": r.meta} for r in rows}


def answers_of(store: Store) -> list[Annotation]:
    with store.session() as session:
        return list(session.scalars(select(Annotation).order_by(Annotation.id)))


def test_csv_with_ids_keeps_other_columns_as_meta(store: Store, make_project: MakeProject,
                                                   write_file: WriteFile) -> None:
    project = make_project("p", CLASSES, NO_TASKS)
    path = write_file("items.csv", "id,text,source,lang\na,Hello,web,en\nb,\"Hi, there\",chat,\n")
    result = import_file(store, project, path)
    assert (result.format, result.items, result.annotations, result.tasks) == ("csv", 2, 0, 0)
    assert items_of(store) == {
        "a": {"text": "Hello", "data": {}, "meta": {"source": "web", "lang": "en"}},
        "b": {"text": "Hi, there", "data": {}, "meta": {"source": "chat", "lang": ""}},
    }


def test_csv_without_ids_names_items_by_file_and_line(store: Store, make_project: MakeProject,
                                                      write_file: WriteFile) -> None:
    project = make_project("p", CLASSES, NO_TASKS)
    path = write_file("plain.csv", 'text\n"two\nlines"\nthird\n')
    import_file(store, project, path)
    assert {k: v["text"] for k, v in items_of(store).items()} == {
        "plain-2": "two\nlines", "plain-4": "third"}


def test_bom_crlf_and_tsv(store: Store, make_project: MakeProject,
                          write_file: WriteFile) -> None:
    project = make_project("p", CLASSES, NO_TASKS)
    import_file(store, project, write_file("bom.csv", b"\xef\xbb\xbfid,text\r\na,x\r\n"))
    import_file(store, project, write_file("tab.tsv", "id\ttext\tlang\nb\tone, two\tru\n"))
    import_file(store, project, write_file("bom.jsonl",
                                           b'\xef\xbb\xbf{"id": "c", "text": "y"}\r\n'))
    assert items_of(store) == {
        "a": {"text": "x", "data": {}, "meta": {}},
        "b": {"text": "one, two", "data": {}, "meta": {"lang": "ru"}},
        "c": {"text": "y", "data": {}, "meta": {}},
    }


def test_jsonl_keeps_meta_data_and_other_keys(store: Store, make_project: MakeProject,
                                              write_file: WriteFile) -> None:
    project = make_project("p", CLASSES, NO_TASKS)
    path = write_file("items.jsonl",
                      '{"id": 7, "text": "x", "meta": {"k": 1}, "lang": "en", '
                      '"data": {"context": "before"}}\n\n{"text": "no id"}\n')
    result = import_file(store, project, path)
    assert result.format == "jsonl"
    assert items_of(store) == {
        "7": {"text": "x", "data": {"context": "before"}, "meta": {"k": 1, "lang": "en"}},
        "items-3": {"text": "no id", "data": {}, "meta": {}},
    }


def test_labelled_csv_brings_answers_and_notes_empty_labels(
        store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    project = make_project("p", CLASSES, NO_TASKS)
    path = write_file("labels.csv",
                      "item_id,text,annotator,annotator_type,label,bot\n"
                      "a,\"hi\nthere\",ann1,human,pos,E.L.I.Z.A.\n"
                      "a,\"hi\nthere\",gpt-4o,llm,neg,E.L.I.Z.A.\n"
                      "b,yo,ann1,,,CarbonBot\n")
    result = import_file(store, project, path)
    assert (result.format, result.items, result.annotations, result.skipped) == (
        "labelled-csv", 2, 2, 1)
    assert result.notes == [f"{path}:6: empty label from ann1 skipped"]
    assert items_of(store)["a"] == {"text": "hi\nthere", "data": {}, "meta": {"bot": "E.L.I.Z.A."}}
    human, llm = answers_of(store)
    assert (human.annotator_id, human.annotator_kind, human.value, human.source, human.model) == (
        "ann1", "human", {"label": "pos"}, "import", None)
    assert (llm.annotator_id, llm.annotator_kind, llm.value, llm.model) == (
        "gpt-4o", "llm", {"label": "neg"}, "gpt-4o")
    assert human.idempotency_key is not None and human.idempotency_key.endswith(":a:ann1")


def test_labels_of_other_kinds(store: Store, make_project: MakeProject,
                               write_file: WriteFile) -> None:
    multi = make_project("multi", LabelSchema(kind="multilabel", labels=["x", "y", "z"]),
                         NO_TASKS)
    import_file(store, multi, write_file("m.csv", "id,text,annotator,label\na,t,w,z|x\n"))
    rating = make_project("rating", LabelSchema(kind="rating", features=[
        RatingFeature(name="fluency", scale=[1, 2, 3])]), NO_TASKS)
    import_file(store, rating, write_file("r.csv", "id,text,annotator,label\nb,t,w,3\n"))
    spans = make_project("spans", LabelSchema(kind="spans", labels=["PER"]), NO_TASKS)
    import_file(store, spans, write_file(
        "s.csv", 'id,text,annotator,label\nc,Анна,w,"[{""start"": 0, ""end"": 4, '
                 '""label"": ""PER""}]"\n'))
    assert [a.value for a in answers_of(store)] == [
        {"labels": ["x", "z"]},
        {"ratings": {"fluency": 3}},
        {"spans": [{"start": 0, "end": 4, "label": "PER", "text": "Анна"}]},
    ]


def test_explicit_format_wins_over_detection(store: Store, make_project: MakeProject,
                                             write_file: WriteFile) -> None:
    project = make_project("p", CLASSES, NO_TASKS)
    path = write_file("labels.csv", "item_id,text,annotator,label\na,hi,x,pos\n")
    result = import_file(store, project, path, fmt="csv")
    assert (result.items, result.annotations) == (1, 0)
    assert items_of(store)["a"]["meta"] == {"annotator": "x", "label": "pos"}


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("a.csv", "id,text\n", "csv"),
    ("a.csv", "item_id,text,annotator,label\n", "labelled-csv"),
    ("a.txt", "text,lang\n", "csv"),
    ("a.jsonl", '{"id": 1, "text": "x"}\n', "jsonl"),
    ("a.ndjson", '\n{"id": 1, "text": "x", "spans": []}\n', "spans-jsonl"),
    ("a.jsonl", '{"id": 1, "instruction": "x", "human_labels": {}}\n', "pairwise-jsonl"),
    ("a.data", '{"id": 1, "text": "x", "annotations": []}\n', "export-jsonl"),
])
def test_detect_format(write_file: WriteFile, name: str, content: str, expected: str) -> None:
    assert detect_format(write_file(name, content), CLASSES) == expected


def test_progress_is_reported_per_batch(store: Store, make_project: MakeProject,
                                        write_file: WriteFile) -> None:
    project = make_project("p", CLASSES, RoutingPolicy(human_annotations=1, llm_annotations=0))
    path = write_file("items.csv", "text\n" + "".join(f"t{i}\n" for i in range(25)))
    seen: list[int] = []
    result = import_file(store, project, path, batch_size=10, on_progress=seen.append)
    assert seen == [10, 20, 25]
    assert (result.items, result.tasks) == (25, 25)
