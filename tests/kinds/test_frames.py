"""One database-to-frame adapter: the report, the dashboard and the export read the same
labels from the same answers (an empty multilabel answer used to be "" in the report and
"(none)" on the dashboard)."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from annotate.agreement.reporting import annotations_frame, label_table
from annotate.io.exporting import export_project
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.services.dashboards import answers_frame
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Project

NO_TASKS = RoutingPolicy(human_annotations=0, llm_annotations=0)
ANSWERS: list[tuple[str, str, str, dict[str, Any]]] = [  # item, annotator, kind, value
    ("x", "ann1", "human", {"labels": []}),
    ("x", "ann2", "human", {"labels": ["b", "a"]}),
    ("x", "llm", "llm", {"labels": []}),
    ("y", "ann1", "human", {"labels": ["a"]}),
    ("y", "ann2", "human", {"labels": []}),
]
EXPECTED = {("x", "ann1"): "(none)", ("x", "ann2"): "a|b", ("x", "llm"): "(none)",
            ("y", "ann1"): "a", ("y", "ann2"): "(none)"}


def _project(store: Store) -> Project:
    with store.session() as session:
        project = create_project(session, "tags", LabelSchema(kind="multilabel",
                                                              labels=["b", "a"]), policy=NO_TASKS)
        items = {name: Item(project_id=project.id, external_id=name, text=f"text {name}")
                 for name in ("x", "y")}
        session.add_all(items.values())
        session.flush()
        session.add_all(Annotation(project_id=project.id, item_id=items[item].id,
                                   annotator_id=who, annotator_kind=kind, value=value)
                        for item, who, kind, value in ANSWERS)
        session.add(Annotation(project_id=project.id, item_id=items["x"].id,
                               annotator_id="mod", annotator_kind="llm", role="moderator",
                               value={"decision": "none"}))
        session.expunge(project)
        return project


def test_report_dashboard_and_export_read_the_same_labels(store: Store) -> None:
    project = _project(store)
    with store.session() as session:
        report = label_table(annotations_frame(session, project))
        dashboard = answers_frame(session, project)
        out = io.StringIO()
        export_project(session, project.name, "csv", out)
        names = dict(session.query(Item.id, Item.external_id).all())
    assert {(r.item_id, r.annotator): r.label for r in report.itertuples()} == EXPECTED
    assert {(names[int(str(r.item_id))], r.annotator): r.label
            for r in dashboard.itertuples()} == EXPECTED
    exported = pd.read_csv(io.StringIO(out.getvalue()), keep_default_na=False)
    assert {(r.item_id, r.annotator_id): r.label for r in exported.itertuples()
            if r.role == "annotator"} == EXPECTED
    assert exported.loc[exported["role"] == "moderator", "label"].tolist() == [""]


def test_the_dashboards_unbiased_frame_keeps_blind_first_answers(store: Store) -> None:
    project = _project(store)
    with store.session() as session:
        item = session.query(Item).filter_by(project_id=project.id, external_id="y").one()
        session.add(Annotation(project_id=project.id, item_id=item.id, annotator_id="ann3",
                               annotator_kind="human", value={"labels": ["b"]}, phase="blind"))
        session.add(Annotation(project_id=project.id, item_id=item.id, annotator_id="ann3",
                               annotator_kind="human", value={"labels": ["a"]},
                               suggestion_visible=True))
    with store.session() as session:
        assisted = answers_frame(session, project)
        blind = answers_frame(session, project, unbiased=True)
    assert assisted.loc[assisted["annotator"] == "ann3", "label"].tolist() == ["a"]
    assert blind.loc[blind["annotator"] == "ann3", "label"].tolist() == ["b"]
    assert len(assisted) == len(blind) == len(EXPECTED) + 1
