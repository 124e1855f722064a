"""The fast JSONL and Parquet exports (JSON spliced as stored text, columns built per batch)
write the same bytes as the item-dict path they replace, on awkward values and across batch
and row-group boundaries."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from annotate.io.export_formats import long_form, raw_batches
from annotate.io.exporting import (
    ANNOTATION_FIELDS,
    JsonlExporter,
    ParquetExporter,
    export_project,
    iter_export_items,
)
from annotate.projects.catalog import get_project
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item
from tests.importing.conftest import MakeProject
from tests.importing.helpers import CLASSES

CHOICE_TRACE = {"action": "edited", "chosen": 1, "edit_distance": 3,
                "candidates": [{"value": {"label": "pos"}, "text": "pos", "score": 0.5}]}


def answer(**fields: Any) -> dict[str, Any]:
    return {"annotator_id": "ann1", "annotator_kind": "human", "role": "annotator",
            "value": {"label": "pos"}, "source": "ui",
            "created_at": datetime(2026, 1, 2, 3, 4, 5, 678901), **fields}


ITEMS: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
    ({"external_id": "a", "text": 'good\nfilm, "quoted", Анна 😀\t\u2028',
      "data": {"lang": "ru", "nested": [1, 2.5, None, True, {"k": "é"}]},
      "meta": {"raw": "x\\u0041 stays a backslash"}},
     [answer(meta={"choice": CHOICE_TRACE}, human_seconds=4.0),
      answer(annotator_id="gpt-4o-mini", annotator_kind="llm", value={"label": "neg"},
             rationale="ясно, \"clear\", 100% %s", confidence=0.875, confidence_raw=1e-07,
             confidence_estimator="verbalized", guideline_version="a1b2", prompt_hash="9f" * 32,
             model="gpt-4o-mini", params={"temperature": 0.0, "seed": 7, "big": 2**63},
             cost_usd=0.00042, latency_s=1.25, suggestion_visible=True, suggestion_id=5,
             phase="blind", source="queue", meta={"attempt": 1})]),
    ({"external_id": "b", "text": "nobody answered", "synthetic": True}, []),
    ({"external_id": "c ü", "text": "", "data": [], "meta": None},
     [answer(value={"label": "pos", "note": "emoji 😀, \u2028 and \\u0041"},
             meta={"choice": "not a trace"}, created_at=datetime(2026, 1, 2, 3, 4, 5),
             rationale="50% %s %(x)s")]),
    ({"external_id": "d", "text": "many"},
     [answer(annotator_id=f"p{n}", value={"labels": ["pos", "neg"]} if n % 2 else
             {"label": "neg"}, meta={} if n else {"choice": {"action": "own"}})
      for n in range(5)]),
    ({"external_id": "e", "text": "last"}, []),
]


@pytest.fixture
def awkward(store: Store, make_project: MakeProject) -> str:
    name = make_project("awkward", CLASSES)
    with store.session() as session:
        pid = get_project(session, name).id
        for item_fields, answers in ITEMS:
            item = Item(project_id=pid, **item_fields)
            session.add(item)
            session.flush()
            session.add_all(Annotation(project_id=pid, item_id=item.id, **fields)
                            for fields in answers)
    return name


def reference(store: Store, project: str, exporter: Any) -> bytes:
    """What the item-dict path writes (``write`` over ``iter_export_items``)."""
    out = io.BytesIO()
    with store.session() as session:
        items = iter_export_items(session, get_project(session, project))
        if exporter.binary:
            exporter.write(items, out)
        else:
            text = io.StringIO()
            exporter.write(items, text)
            out.write(text.getvalue().encode("utf-8"))
    return out.getvalue()


def exported(store: Store, project: str, fmt: str) -> bytes:
    out = io.BytesIO()
    with store.session() as session:
        result = export_project(session, project, fmt, out)
    assert (result.items, result.annotations) == (5, 8)
    return out.getvalue()


@pytest.mark.parametrize("batch", [1, 2, 1000])
def test_jsonl_is_the_same_bytes(store: Store, awkward: str, batch: int,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(raw_batches, "BATCH", batch)
    expected = reference(store, awkward, JsonlExporter())
    assert expected.count(b"\n") == 5 and "Анна 😀".encode() in expected
    assert exported(store, awkward, "jsonl") == expected


@pytest.mark.parametrize(("batch", "row_group"), [(1, 5000), (2, 3), (1000, 4)])
def test_parquet_is_the_same_bytes(store: Store, awkward: str, batch: int, row_group: int,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(raw_batches, "BATCH", batch)
    monkeypatch.setattr(long_form, "ROW_GROUP", row_group)
    expected = reference(store, awkward, ParquetExporter())
    got = exported(store, awkward, "parquet")
    table = pq.read_table(io.BytesIO(got))
    assert table.equals(pq.read_table(io.BytesIO(expected)))
    assert table.num_rows == 10  # 8 answers + 2 unanswered items
    assert table.column("label").to_pylist()[:5] == ["pos", "neg", None, None, "neg"]
    assert table.column("edit_distance").to_pylist()[0] == 3
    assert got == expected


def test_json_text_is_what_json_dumps_writes() -> None:
    import json

    for value in ({"a": "Анна"}, {"b": "x\\u0041"}, {"n": [1e-07, 2**70, -0.0, None]}, [], None,
                  0, "", {"q": "\"\\\n\t\u2028\x01"}):
        stored = json.dumps(value)  # how SQLAlchemy writes a JSON column
        assert raw_batches.json_text(stored) == json.dumps(value, ensure_ascii=False)
        assert raw_batches.json_text(stored, True) == json.dumps(value or {}, ensure_ascii=False)
    assert raw_batches.json_text(None) == "null" and raw_batches.json_text(None, True) == "{}"


def orm_items(store: Store, project: str) -> list[dict[str, Any]]:
    """The project's items as the ORM loads them (SQLAlchemy's rows and type conversions),
    in the shape :func:`iter_export_items` gives."""
    with store.session() as session:
        pid = get_project(session, project).id
        answers: dict[int, list[dict[str, Any]]] = {}
        for ann in session.scalars(select(Annotation).where(Annotation.project_id == pid)
                                   .order_by(Annotation.id)):
            fields = {name: getattr(ann, name) for name in ANNOTATION_FIELDS}
            answers.setdefault(ann.item_id, []).append(
                {**fields, "params": ann.params or {}, "meta": ann.meta or {}})
        return [{"id": item.external_id, "text": item.text, "data": item.data or {},
                 "meta": item.meta or {}, "synthetic": item.synthetic,
                 "annotations": answers.get(item.id, [])}
                for item in session.scalars(select(Item).where(Item.project_id == pid)
                                            .order_by(Item.id))]


@pytest.mark.parametrize("batch", [1, 2, 1000])
def test_the_driver_cursor_reads_what_the_orm_reads(store: Store, awkward: str, batch: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(raw_batches, "BATCH", batch)
    with store.session() as session:
        got = list(iter_export_items(session, get_project(session, awkward)))
    expected = orm_items(store, awkward)
    assert got == expected
    first = got[0]["annotations"][1]  # the types too: == takes 1 for True and 1.0 for 1
    assert [type(first[k]) for k in ("suggestion_visible", "created_at", "cost_usd")] == [
        type(v) for v in (True, datetime(2026, 1, 1), 0.5)]
    assert type(got[1]["synthetic"]) is bool and got[1]["synthetic"]


@pytest.mark.parametrize("batch", [1, 2, 1000])
def test_items_of_another_project_between_ours_are_left_out(
        store: Store, make_project: MakeProject, batch: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch reads the answers of its item-id range: another project's items inside
    that range (projects imported in turns) bring their answers, which must not show."""
    monkeypatch.setattr(raw_batches, "BATCH", batch)
    ours, theirs = make_project("ours", CLASSES), make_project("theirs", CLASSES)
    with store.session() as session:
        pids = {name: get_project(session, name).id for name in (ours, theirs)}
        for n in range(6):
            for name in (ours, theirs):
                item = Item(project_id=pids[name], external_id=f"{name}{n}", text="t")
                session.add(item)
                session.flush()
                session.add_all(Annotation(project_id=pids[name], item_id=item.id,
                                           **answer(annotator_id=f"{name}-p{k}"))
                                for k in range(n % 3))
    for fmt in ("jsonl", "parquet"):
        out = io.BytesIO()
        with store.session() as session:
            result = export_project(session, ours, fmt, out)
        assert (result.items, result.annotations) == (6, 6)
        assert b"ours-p1" in out.getvalue() and b"theirs" not in out.getvalue()
    with store.session() as session:
        got = list(iter_export_items(session, get_project(session, ours)))
    assert got == orm_items(store, ours)
