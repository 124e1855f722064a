"""Review (issue #16 item 6): every answer shown (five here, more than a row holds),
numbered 1..n so no answer reads like a pair's A/B option, a tally per distinct answer, and a
next-item flow. The services on SQLite and PostgreSQL; the page through AppTest."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.services.people import add_person, grant
from annotate.services.review import (
    ReviewAnswer,
    agreement_with_final,
    review_item,
    review_queue,
    set_final_answer,
    tally,
)
from annotate.services.workspace import open_next_task, submit_answer
from annotate.store.engine import Store
from annotate.store.models import Annotation
from tests.ui.conftest import UiDb, button, sign_in, texts
from tests.ui.seed import LABELS, _items, answer_llm_tasks, seed

PANEL = ["ann", "bob", "cy", "di"]
# per item: the LLM's answer, then ann, bob, cy, di
ANSWERS = [["positive", "negative", "neutral", "negative", "positive"],
           ["negative", "negative", "negative", "neutral", "neutral"],
           ["neutral", "positive", "positive", "positive", "negative"]]


def _panel_project(store: Store) -> int:
    """Three items, each answered by the LLM and four people (five answers, two or three
    distinct)."""
    policy = RoutingPolicy(human_annotations=4, llm_annotations=1,
                           moderator_on_disagreement=False)
    schema = LabelSchema(kind="classification", labels=LABELS)
    with store.session() as session:
        pid = create_project(session, "panel", schema, policy=policy).id
        for who in PANEL[2:]:
            add_person(session, who)
        for who in PANEL:
            grant(session, who, "panel", by="test")
    _items(store, pid, ["first text", "second text", "third text"], policy)
    answer_llm_tasks(store, pid, [{"label": row[0]} for row in ANSWERS])
    for column, who in enumerate(PANEL, start=1):
        for _ in ANSWERS:
            view = open_next_task(store, who, pid)
            assert view is not None
            row = ANSWERS[int(view.external_id[1:]) - 1]
            submit_answer(store, view, who, {"label": row[column]}, seconds=3)
    return pid


def _answer(number: int, label: str) -> ReviewAnswer:
    return ReviewAnswer(number=number, value={"label": label}, source=None, rationale=None,
                        confidence=None, seconds=None)


def test_tally_counts_each_distinct_answer_most_votes_first() -> None:
    answers = tuple(_answer(i, label) for i, label in
                    enumerate(["b", "a", "b", "c", "a", "b"], start=1))
    rows = tally("classification", answers)
    assert [(r.value["label"], r.votes, r.numbers) for r in rows] == [
        ("b", 3, (1, 3, 6)), ("a", 2, (2, 5)), ("c", 1, (4,))]
    assert tally("classification", ()) == ()


@pytest.fixture
def panel(store: Store) -> int:
    seed(store)
    return _panel_project(store)


def test_review_item_shows_every_answer_numbered_with_a_tally(store: Store,
                                                              panel: int) -> None:
    with store.session() as session:
        rows = review_queue(session, panel)
        view = review_item(session, panel, rows[0].item_id)
    assert [a.number for a in view.answers] == [1, 2, 3, 4, 5]
    assert [a.value["label"] for a in view.answers] == ANSWERS[0]
    assert [(r.value["label"], r.numbers) for r in view.tally] == [
        ("positive", (1, 5)), ("negative", (2, 4)), ("neutral", (3,))]


def _go_review(app: AppTest) -> AppTest:
    app.switch_page("views/review.py").run()
    assert not app.exception, app.exception
    return app


def _click(at: AppTest, label: str) -> AppTest:
    button(at, label).click().run()  # type: ignore[attr-defined]
    assert not at.exception, at.exception
    return at


def _item(app: AppTest) -> Any:
    return app.selectbox(key="w:review:item").value


def test_the_page_shows_all_answers_a_tally_and_goes_on_to_the_next_item(
        app: AppTest, ui_db: UiDb) -> None:
    pid = _panel_project(ui_db.store)
    sign_in(app, ui_db, "olga")
    app.selectbox(key="w:sidebar:project").select(pid).run()
    _go_review(app)
    page = texts(app)
    assert all(f"Answer {n}" in page for n in range(1, 6))
    assert "Answer A" not in page and "not shown" not in page
    [frame] = [d.value for d in app.dataframe]
    assert list(frame["answer"]) == ["positive", "negative", "neutral"]
    assert list(frame["votes"]) == [2, 2, 1] and list(frame["answers"]) == ["1, 5", "2, 4", "3"]
    first = _item(app)
    _click(app, "Next item")
    assert _item(app) != first
    _click(app, "Previous item")
    assert _item(app) == first
    _click(app, "Use answer 5")
    _click(app, "Set final answer")
    with ui_db.store.session() as session:
        decision = session.scalars(select(Annotation).where(
            Annotation.item_id == first, Annotation.role == "adjudicator")).one()
    assert decision.value == {"label": "positive"}
    assert any("here is the next item" in s.value for s in app.success)
    second = _item(app)
    assert second != first  # the decided item left the queue; the next one is on screen
    assert "Item 1 of 2 to review" in texts(app)
    [agreement] = [e for e in app.expander
                   if e.label == "Agreement with the final answers so far"]
    [table] = [d.value for d in agreement.dataframe]
    shares = dict(zip(table["annotator"], table["agreement"], strict=True))
    assert shares == {"ann": "0%", "bob": "0%", "cy": "0%", "di": "100%",
                      "local/smollm2": "100%"}


def test_agreement_with_the_final_answers_on_known_decisions(store: Store, panel: int) -> None:
    with store.session() as session:
        assert agreement_with_final(session, panel) == []
        first, second, _ = [r.item_id for r in review_queue(session, panel)]
    set_final_answer(store, panel, first, {"label": "negative"}, "olga")
    set_final_answer(store, panel, second, {"label": "negative"}, "olga")
    with store.session() as session:
        rows = {r.who: (r.kind, r.compared, r.agreed) for r in
                agreement_with_final(session, panel)}
    # item 1: positive ann=negative bob=neutral cy=negative di=positive -> final negative
    # item 2: negative ann=negative bob=negative cy=neutral di=neutral -> final negative
    assert rows == {"ann": ("human", 2, 2), "bob": ("human", 2, 1), "cy": ("human", 2, 1),
                    "di": ("human", 2, 0), "local/smollm2": ("llm", 2, 1)}
