"""A failed LLM answer on a span item is not dropped: all of its gold entities count as missed
(#18: on 40 factRuEval sentences, 11 valid answers showed "33% missed over 6 entities"
instead of 95% of 82)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.agreement import compare_spans
from annotate.agreement.reporting import write_project_report
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project, get_project
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Task

PER = {"start": 0, "end": 4, "label": "PER"}
ORG = {"start": 10, "end": 15, "label": "ORG"}
LOC = {"start": 20, "end": 25, "label": "LOC"}


def test_a_failed_answer_misses_every_reference_entity() -> None:
    result = compare_spans([("ok", [PER], [PER]),
                            ("failed", [PER, ORG, LOC], None)])
    assert result.overall.n_reference == 4
    assert result.counts["missed"] == 3 and result.counts["exact"] == 1
    assert result.rates["missed"] == pytest.approx(3 / 4)
    assert (result.answers, result.failed_answers, result.failed_references) == (2, 1, 3)
    assert result.overall.exact[1] == pytest.approx(1 / 4)  # recall over every entity


def test_the_project_report_counts_items_whose_llm_answer_failed(sqlite_store: Store,
                                                                 tmp_path: Path) -> None:
    with sqlite_store.session() as session:
        project = create_project(session, "ner", LabelSchema(kind="spans",
                                                             labels=["PER", "ORG", "LOC"]))
        items = [Item(project_id=project.id, external_id=f"s{k}", text="Anna at Acme in Paris")
                 for k in range(3)]
        session.add_all(items)
        session.flush()
        for item in items:  # the people's (gold) entities: 3 per sentence
            session.add(Annotation(project_id=project.id, item_id=item.id, annotator_id="h",
                                   annotator_kind="human", role="annotator",
                                   value={"spans": [PER, ORG, LOC]}))
        # the LLM answered the first sentence (one entity right), failed on the two others
        session.add(Annotation(project_id=project.id, item_id=items[0].id, annotator_id="llm:m",
                               annotator_kind="llm", role="annotator", value={"spans": [PER]}))
        session.add_all(Task(project_id=project.id, item_id=item.id, role="annotator",
                             worker_kind="llm", status="failed", attempts=3,
                             failure_reason="invalid_json: not JSON (after 3 attempts)")
                        for item in items[1:])
    with sqlite_store.session() as session:
        files = write_project_report(session, get_project(session, "ner"), tmp_path / "out",
                                     bootstrap=0)
    spans = json.loads(files.json.read_text(encoding="utf-8"))["spans"]
    assert spans["counts"]["missed"] == 2 + 3 + 3  # not 2 of the 3 entities it saw
    assert spans["rates"]["missed"] == pytest.approx(8 / 9)
    assert (spans["answers"], spans["failed_answers"], spans["failed_references"]) == (3, 2, 6)
    html = files.html.read_text(encoding="utf-8")
    assert "2 of 3 answers failed" in html
