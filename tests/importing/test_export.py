"""Export with full provenance, and the round trip: export, import into a new project, compare."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from annotate.errors import InvalidInput
from annotate.io.export_formats.long_form import FLAT_COLUMNS
from annotate.io.exporting import export_project
from annotate.io.importing import import_file
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import Provenance, claim_next_task, submit_annotation
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Project, Task
from tests.importing.conftest import MakeProject, WriteFile
from tests.importing.helpers import CHOICE, CLASSES, counts

ONE_LLM = RoutingPolicy(human_annotations=0, llm_annotations=1, moderator_on_disagreement=False)
DB_ONLY = {"id", "project_id", "item_id", "task_id", "idempotency_key", "suggestion_id"}
LLM_PROVENANCE = Provenance(
    annotator_id="gpt-4o-mini", annotator_kind="llm", rationale="clearly positive",
    confidence=0.875, guideline_version="a1b2c3d4e5f6", prompt_hash="9f" * 32,
    model="gpt-4o-mini", params={"temperature": 0.0, "seed": 7}, cost_usd=0.00042,
    latency_s=1.25, meta={"attempt": 1},
)


@pytest.fixture
def labelled(store: Store, make_project: MakeProject, write_file: WriteFile) -> str:
    """A project with imported human answers, an LLM answer made through the queue (full
    provenance) and an item nobody answered yet."""
    project = make_project("source", CLASSES, ONE_LLM)
    import_file(store, project, write_file("labels.csv",
                "item_id,text,annotator,label,context\n"
                "a,\"good\nfilm\",ann1,pos,cinema\n"
                "a,\"good\nfilm\",ann2,neg,cinema\n"
                "b,\"meh, \"\"ok\"\"\",ann1,neg,\n"))
    task = claim_next_task(store, "gpt-4o-mini", worker_kind="llm")
    assert task is not None
    submit_annotation(store, task.id, {"label": "pos"}, LLM_PROVENANCE)
    import_file(store, project, write_file("more.jsonl",
                '{"id": "c", "text": "Анна", "meta": {"lang": "ru"}, "synthetic": true}\n'))
    return project


def snapshot(store: Store, project: str) -> dict[str, Any]:
    """Items and annotations of a project without database ids, comparable across projects."""
    with store.session() as session:
        pid = session.scalar(select(Project.id).where(Project.name == project))
        items = {i.id: i for i in session.scalars(select(Item).where(Item.project_id == pid))}
        out: dict[str, Any] = {
            i.external_id: {"text": i.text, "data": i.data, "meta": i.meta,
                            "synthetic": i.synthetic, "annotations": []}
            for i in items.values()}
        for ann in session.scalars(select(Annotation).where(Annotation.project_id == pid)
                                   .order_by(Annotation.item_id, Annotation.id)):
            fields = {c.name: getattr(ann, c.key) for c in Annotation.__table__.c
                      if c.name not in DB_ONLY}
            out[items[ann.item_id].external_id]["annotations"].append(fields)
        return out


def open_tasks(store: Store, project: str) -> set[tuple[str, str, str]]:
    with store.session() as session:
        rows = session.execute(
            select(Item.external_id, Task.role, Task.worker_kind)
            .join(Item, Item.id == Task.item_id).join(Project, Project.id == Task.project_id)
            .where(Project.name == project, Task.status == "pending"))
        return {(ext, role, kind) for ext, role, kind in rows}


def test_jsonl_round_trip(store: Store, make_project: MakeProject, labelled: str,
                          tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    with store.session() as session:
        result = export_project(session, labelled, "jsonl", path)
    assert (result.items, result.annotations) == (3, 4)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    llm = lines[0]["annotations"][-1]
    assert {k: llm[k] for k in ("annotator_id", "annotator_kind", "role", "model", "params",
                                "cost_usd", "latency_s", "confidence", "guideline_version",
                                "prompt_hash", "rationale", "source")} == {
        "annotator_id": "gpt-4o-mini", "annotator_kind": "llm", "role": "annotator",
        "model": "gpt-4o-mini", "params": {"temperature": 0.0, "seed": 7}, "cost_usd": 0.00042,
        "latency_s": 1.25, "confidence": 0.875, "guideline_version": "a1b2c3d4e5f6",
        "prompt_hash": "9f" * 32, "rationale": "clearly positive", "source": "queue"}

    copy = make_project("copy", CLASSES, ONE_LLM)
    back = import_file(store, copy, path)
    assert (back.format, back.items, back.annotations) == ("export-jsonl", 3, 4)
    assert snapshot(store, copy) == snapshot(store, labelled)
    # The copy's queue holds the same open work: LLM answers for b and c, adjudication for a.
    assert open_tasks(store, copy) == open_tasks(store, labelled) == {
        ("a", "adjudicator", "human"), ("b", "annotator", "llm"), ("c", "annotator", "llm")}


def test_round_trip_of_a_shipped_dataset(store: Store, make_project: MakeProject,
                                         shared_data: Path, tmp_path: Path) -> None:
    source = make_project("pandalm", CHOICE)
    import_file(store, source, shared_data / "pandalm_pairwise" / "pandalm_pairwise_dev.jsonl")
    out = io.BytesIO()
    with store.session() as session:
        export_project(session, source, "jsonl", out)
    path = tmp_path / "pandalm.jsonl"
    path.write_bytes(out.getvalue())
    copy = make_project("copy", CHOICE)
    import_file(store, copy, path)
    assert snapshot(store, copy) == snapshot(store, source)
    assert counts(store, copy)["tasks"] == counts(store, source)["tasks"]


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_is_long_form_with_provenance(store: Store, labelled: str, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    with store.session() as session:
        result = export_project(session, labelled, "csv", path)
    rows = read_csv_rows(path)
    assert result.annotations == 4 and len(rows) == 5  # 4 answers + 1 row for unanswered c
    assert tuple(rows[0]) == FLAT_COLUMNS
    assert [(r["item_id"], r["annotator_id"], r["label"]) for r in rows] == [
        ("a", "ann1", "pos"), ("a", "ann2", "neg"), ("a", "gpt-4o-mini", "pos"),
        ("b", "ann1", "neg"), ("c", "", "")]
    assert rows[0]["text"] == "good\nfilm"
    assert json.loads(rows[0]["item_meta"]) == {"context": "cinema"}
    assert json.loads(rows[1]["value"]) == {"label": "neg"}
    llm = rows[2]
    assert (llm["annotator_kind"], llm["model"], llm["cost_usd"], llm["confidence"]) == (
        "llm", "gpt-4o-mini", "0.00042", "0.875")
    assert json.loads(llm["params"]) == {"temperature": 0.0, "seed": 7}
    assert llm["task_id"] != "" and llm["created_at"] != ""
    assert rows[4]["value"] == "" and rows[4]["synthetic"] == "True"


def test_parquet_has_the_csv_rows_typed(store: Store, labelled: str, tmp_path: Path) -> None:
    with store.session() as session:
        export_project(session, labelled, "csv", tmp_path / "e.csv")
        export_project(session, labelled, "parquet", tmp_path / "e.parquet")
    frame = pd.read_parquet(tmp_path / "e.parquet")
    assert tuple(frame.columns) == FLAT_COLUMNS
    assert frame["cost_usd"].dtype == "float64" and frame["synthetic"].dtype == "bool"
    assert str(frame["created_at"].dtype).startswith("datetime64")
    rows = read_csv_rows(tmp_path / "e.csv")
    for col in ("item_id", "text", "annotator_id", "label", "value", "model", "item_meta"):
        assert [v if isinstance(v, str) else "" for v in frame[col]] == [r[col] for r in rows]
    assert frame["confidence"].tolist()[2] == 0.875


def test_export_to_streams_and_errors(store: Store, labelled: str, tmp_path: Path) -> None:
    with store.session() as session:
        text, data = io.StringIO(), io.BytesIO()
        export_project(session, labelled, "csv", text)
        export_project(session, labelled, "parquet", data)
        assert text.getvalue().startswith("item_id,text,")
        assert data.getvalue()[:4] == b"PAR1"
        with pytest.raises(InvalidInput, match="parquet export needs a binary stream"):
            export_project(session, labelled, "parquet", io.StringIO())
        with pytest.raises(InvalidInput, match="unknown export format 'xlsx'"):
            export_project(session, labelled, "xlsx", tmp_path / "x.xlsx")
    assert not list(tmp_path.glob("*.part"))


def test_export_of_an_empty_project(store: Store, make_project: MakeProject,
                                    tmp_path: Path) -> None:
    project = make_project("empty", CLASSES)
    with store.session() as session:
        for fmt in ("jsonl", "csv", "parquet"):
            result = export_project(session, project, fmt, tmp_path / f"e.{fmt}")
            assert (result.items, result.annotations) == (0, 0)
    assert (tmp_path / "e.jsonl").read_text() == ""
    assert read_csv_rows(tmp_path / "e.csv") == []
    assert len(pd.read_parquet(tmp_path / "e.parquet")) == 0
