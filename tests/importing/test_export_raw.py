"""The fast JSONL and Parquet exports (JSON spliced as stored text, columns built per batch)
write the same bytes as the item-dict path they replace, on awkward values and across batch
and row-group boundaries."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pyarrow.parquet as pq
import pytest

from annotate.io import exporting
from annotate.io.export_formats import raw_batches
from annotate.io.exporting import (
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
             rationale="ясно, \"clear\"", confidence=0.875, confidence_raw=1e-07,
             confidence_estimator="verbalized", guideline_version="a1b2", prompt_hash="9f" * 32,
             model="gpt-4o-mini", params={"temperature": 0.0, "seed": 7, "big": 2**63},
             cost_usd=0.00042, latency_s=1.25, suggestion_visible=True, suggestion_id=5,
             phase="blind", source="queue", meta={"attempt": 1})]),
    ({"external_id": "b", "text": "nobody answered", "synthetic": True}, []),
    ({"external_id": "c ü", "text": "", "data": [], "meta": None},
     [answer(value={"label": "pos", "note": "emoji 😀, \u2028 and \\u0041"},
             meta={"choice": "not a trace"}, created_at=datetime(2026, 1, 2, 3, 4, 5))]),
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
    monkeypatch.setattr(exporting, "ROW_GROUP", row_group)
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
