"""Wherever an LLM's accuracy against the people is shown, the majority-class share of the same
items stands beside it (#18): a model that answers one label must not look skilled."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from annotate.agreement import llm_vs_human_majority
from annotate.agreement.report import write_report
from annotate.agreement.reporting import agreement_overview
from annotate.cli.main import main
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project, get_project
from annotate.services.dashboards import agreement_view
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item

# people: majority "a" on 3 of 4 items; the LLM always answers "a"
PEOPLE = {"i1": ["a", "a"], "i2": ["a", "a"], "i3": ["a", "b", "a"], "i4": ["b", "b"]}


def one_label_frame() -> pd.DataFrame:
    rows = [{"item_id": i, "annotator": f"p{k}", "annotator_kind": "human", "label": lab}
            for i, labels in PEOPLE.items() for k, lab in enumerate(labels)]
    rows += [{"item_id": i, "annotator": "llm:m", "annotator_kind": "llm", "label": "a"}
             for i in PEOPLE]
    return pd.DataFrame(rows)


def one_label_project(store: Store) -> None:
    with store.session() as session:
        project = create_project(session, "one", LabelSchema(kind="classification",
                                                             labels=["a", "b"]))
        for external, labels in PEOPLE.items():
            item = Item(project_id=project.id, external_id=external, text=f"text {external}")
            session.add(item)
            session.flush()
            session.add_all(Annotation(project_id=project.id, item_id=item.id,
                                       annotator_id=f"p{k}", annotator_kind="human",
                                       role="annotator", value={"label": lab})
                            for k, lab in enumerate(labels))
            session.add(Annotation(project_id=project.id, item_id=item.id, annotator_id="llm:m",
                                   annotator_kind="llm", role="annotator", value={"label": "a"},
                                   confidence=0.9))


def test_the_match_table_carries_the_majority_class_share_of_the_same_items() -> None:
    match = llm_vs_human_majority(one_label_frame()).set_index("annotator")
    assert match.loc["llm:m", "match_rate"] == pytest.approx(0.75)
    assert match.loc["llm:m", "majority_label"] == "a"
    assert match.loc["llm:m", "majority_share"] == pytest.approx(0.75)


def test_the_report_says_it_beside_the_accuracy(tmp_path: Path) -> None:
    files = write_report(tmp_path, one_label_frame(), bootstrap=0)
    html = files.html.read_text(encoding="utf-8")
    assert ("llm:m matches the human majority on 0.750 of 4 items (always answering the most "
            "common label, a: 0.750)") in html


def test_the_demo_figures_and_the_dashboard_carry_it(sqlite_store: Store) -> None:
    one_label_project(sqlite_store)
    with sqlite_store.session() as session:
        project = get_project(session, "one")
        overview = agreement_overview(session, project)
        view = agreement_view(session, project, bootstrap=0)
    assert overview.llm_accuracy == pytest.approx(0.75)
    assert overview.llm_majority_share == pytest.approx(0.75)
    assert all(row["majority_share"] == pytest.approx(row["accuracy"])
               for row in overview.coverage)
    assert view.llm_match.set_index("annotator").loc["llm:m", "majority_share"] == \
        pytest.approx(0.75)


def test_the_demo_prints_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["--db", db, "demo", "--model", "dry-run", "--items", "15"]) == 0
    printed = capsys.readouterr().out
    assert "(always answering the most common label: " in printed
