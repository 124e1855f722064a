"""Malformed imports, fuzzed: a clean import or one clear FILE:LINE error, never a partial
import or a traceback."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from annotate.errors import InvalidInput
from annotate.io.importing import import_file
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Task

CELLS = st.sampled_from(['"', '""', ",", "\n", "\r\n", "\ufeff", "é", "\x00", "pos", "neg",
                         "zzz", " ", "a,b", '"x\ny"', "{", "}", "\\", "\t"])
LINES = st.lists(st.lists(CELLS | st.text(max_size=12), min_size=0, max_size=5), max_size=8)


def _counts(store: Store, project_id: int) -> tuple[int, int, int]:
    with store.session() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(model).where(model.project_id == project_id))
            for model in (Item, Annotation, Task))


def _check(store: Store, project_id: int, path: Path) -> None:
    try:
        result = import_file(store, "fuzz", path)
    except InvalidInput as exc:
        assert re.match(rf"^{re.escape(str(path))}:\d+: \S", str(exc)), str(exc)
        assert _counts(store, project_id) == (0, 0, 0), "a failed import left rows behind"
        return
    items, _, _ = _counts(store, project_id)
    assert items == result.items


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.sampled_from(["id,text", "text", "item_id,text,annotator,label", "id,txt",
                               "\ufeffid,text", ""]),
       rows=LINES, encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
def test_fuzzed_csv(sqlite_store: Store, tmp_path: Path, header: str,
                    rows: list[list[str]], encoding: str) -> None:
    with sqlite_store.session() as s:
        project = create_project(s, "fuzz", LabelSchema(kind="classification",
                                                        labels=["pos", "neg"]),
                                 policy=RoutingPolicy(human_annotations=1))
        pid = project.id
    body = header + "\n" + "\n".join(",".join(cells) for cells in rows)
    path = tmp_path / "fuzz.csv"
    path.write_bytes(body.encode(encoding, errors="replace"))
    try:
        _check(sqlite_store, pid, path)
    finally:
        with sqlite_store.session() as s:
            from annotate.store.models import Project

            s.delete(s.get(Project, pid))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=400) | st.text(max_size=300).map(lambda t: t.encode()),
       suffix=st.sampled_from([".csv", ".jsonl"]))
def test_random_bytes(sqlite_store: Store, tmp_path: Path, blob: bytes, suffix: str) -> None:
    with sqlite_store.session() as s:
        project = create_project(s, "fuzz", LabelSchema(kind="classification",
                                                        labels=["pos", "neg"]))
        pid = project.id
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(blob)
    try:
        _check(sqlite_store, pid, path)
    finally:
        with sqlite_store.session() as s:
            from annotate.store.models import Project

            s.delete(s.get(Project, pid))


def test_huge_line_is_a_clear_error_or_clean_import(sqlite_store: Store, tmp_path: Path) -> None:
    with sqlite_store.session() as s:
        pid = create_project(s, "fuzz", LabelSchema(kind="classification",
                                                    labels=["pos", "neg"])).id
    path = tmp_path / "huge.jsonl"
    path.write_text('{"id": "a", "text": "' + "x" * 3_000_000 + '"}\n{"id": "b"}\n',
                    encoding="utf-8")
    _check(sqlite_store, pid, path)
