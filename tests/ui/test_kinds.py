"""The answer widgets of the other task kinds through streamlit.testing: spans as the span
component sends them, ratings per feature, and text by choosing (and editing) a Helper candidate."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.kinds.schema import LabelSchema, RatingFeature
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.services.people import grant
from annotate.store.models import Annotation, Suggestion
from tests.ui.conftest import UiDb, button, choose_project, sign_in, texts
from tests.ui.seed import _items
from ui.answers import spans_from_tokens, tokenize, tokens_of_spans

HUMAN_ONLY = RoutingPolicy(human_annotations=1, llm_annotations=0)


def _project(ui_db: UiDb, name: str, schema: LabelSchema, texts_: list[str]) -> list[int]:
    with ui_db.store.session() as session:
        pid = create_project(session, name, schema, policy=HUMAN_ONLY).id
        grant(session, "ann", name)
    ui_db.seeded.projects[name] = pid
    return _items(ui_db.store, pid, texts_, HUMAN_ONLY)


def _saved(ui_db: UiDb) -> dict[str, Any]:
    with ui_db.store.session() as session:
        return session.scalars(select(Annotation.value)
                               .where(Annotation.annotator_id == "ann")).one()


def _open(app: AppTest, ui_db: UiDb, project: str) -> AppTest:
    sign_in(app, ui_db, "ann")
    app.run()
    return choose_project(app, ui_db, project)


def _task_prefix(app: AppTest) -> str:
    return f"w:t{app.session_state['work'].view.task_id}"


def test_spans_the_browser_sends_are_what_is_saved(app: AppTest, ui_db: UiDb) -> None:
    """The span component (its JavaScript is tested in Chromium, test_browser_spans.py) sends
    the spans it marked; what is saved is the browser's spans, checked against the text."""
    _project(ui_db, "ner", LabelSchema(kind="spans", labels=["PER", "LOC"]),
             ["Anna Petrova flew to Kazan yesterday."])
    _open(app, ui_db, "ner")
    prefix = _task_prefix(app)
    app.session_state[f"{prefix}:spans"] = [  # as the component's callback stores them
        {"start": 21, "end": 26, "label": "LOC"}, {"start": 0, "end": 12, "label": "PER"},
        {"start": 0, "end": 99, "label": "PER"}, {"start": 0, "end": 4, "label": "ORG"}]
    app.run()
    button(app, "Submit").click().run()  # type: ignore[attr-defined]
    assert _saved(ui_db) == {"spans": [
        {"start": 0, "end": 12, "label": "PER", "text": "Anna Petrova"},
        {"start": 21, "end": 26, "label": "LOC", "text": "Kazan"}]}


def test_ratings_are_chosen_on_each_features_scale(app: AppTest, ui_db: UiDb) -> None:
    schema = LabelSchema(kind="rating", features=[
        RatingFeature(name="fluency", scale=[1, 2, 3]),
        RatingFeature(name="relevance", scale=["low", "high"])])
    _project(ui_db, "replies", schema, ["Sure, the shop opens at nine."])
    _open(app, ui_db, "replies")
    button(app, "Submit").click().run()  # type: ignore[attr-defined]
    assert "Choose an answer first" in texts(app)
    prefix = _task_prefix(app)

    def point(feature: str, index: int) -> None:
        [b] = [b for b in app.button if b.key == f"{prefix}:rb:{feature}:{index}"]
        b.click().run()

    def keyed() -> list[str]:  # the buttons that carry number keys: the active feature's
        return [b.key.split(":")[3] for b in app.button
                if b.key and ":rb:" in b.key and b.proto.shortcut]

    assert set(keyed()) == {"fluency"}
    point("fluency", 2)  # "3" typed: on to the next feature
    assert set(keyed()) == {"relevance"} and "▸ **relevance**" in texts(app)
    button(app, "Previous feature").click().run()  # type: ignore[attr-defined]
    button(app, "Lower point").click().run()  # type: ignore[attr-defined]
    button(app, "Next feature").click().run()  # type: ignore[attr-defined]
    button(app, "Higher point").click().run()  # type: ignore[attr-defined]
    button(app, "Higher point").click().run()  # type: ignore[attr-defined]
    button(app, "Submit").click().run()  # type: ignore[attr-defined]
    assert _saved(ui_db) == {"ratings": {"fluency": 2, "relevance": "high"}}


@pytest.mark.parametrize(("edit", "expected"), [
    (None, {"text": "The courier was late.", "candidate": 1, "edited": False}),
    ("The courier was very late.", {"text": "The courier was very late.", "candidate": 1,
                                    "edited": True}),
])
def test_text_is_chosen_from_candidates_then_edited(app: AppTest, ui_db: UiDb,
                                                    edit: str | None,
                                                    expected: dict[str, Any]) -> None:
    [item_id] = _project(ui_db, "paraphrase", LabelSchema(kind="text"),
                         ["The delivery guy showed up way after the slot."])
    with ui_db.store.session() as session:
        session.add(Suggestion(project_id=ui_db.seeded.projects["paraphrase"], item_id=item_id,
                               model="local/smollm2",
                               candidates=[{"text": "The parcel came.", "score": 0.2},
                                           {"text": "The courier was late.", "score": 0.9}]))
    _open(app, ui_db, "paraphrase")
    assert not app.text_area  # no blank box to type into before choosing
    button(app, "The courier was late.  ·  score 0.90").click().run()  # type: ignore[attr-defined]
    if edit is not None:
        app.text_area[0].input(edit).run()
    button(app, "Submit").click().run()  # type: ignore[attr-defined]
    assert _saved(ui_db) == expected


def test_none_fits_lets_a_person_write_their_own(app: AppTest, ui_db: UiDb) -> None:
    [item_id] = _project(ui_db, "paraphrase", LabelSchema(kind="text"), ["Late again."])
    with ui_db.store.session() as session:
        session.add(Suggestion(project_id=ui_db.seeded.projects["paraphrase"], item_id=item_id,
                               candidates=[{"text": "On time.", "score": 0.5}]))
    _open(app, ui_db, "paraphrase")
    button(app, "None fits — write my own").click().run()  # type: ignore[attr-defined]
    app.text_area[0].input("Delayed once more.").run()
    button(app, "Submit").click().run()  # type: ignore[attr-defined]
    assert _saved(ui_db) == {"text": "Delayed once more.", "edited": False}


def test_tokens_round_trip_to_spans() -> None:
    text = "Mary-Jane O'Neil met Bob."
    tokens = tokenize(text)
    assert [t.text for t in tokens] == ["Mary-Jane", "O'Neil", "met", "Bob", "."]
    spans = spans_from_tokens(text, tokens, {"PER": [0, 1, 3]})
    assert [(s["text"], s["label"]) for s in spans] == [("Mary-Jane O'Neil", "PER"),
                                                        ("Bob", "PER")]
    assert tokens_of_spans(tokens, spans) == {"PER": [0, 1, 3]}


def test_the_guideline_page_shows_the_current_version(app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "ann", "sentiment")
    app.switch_page("views/guideline.py").run()
    page = texts(app)
    assert "guideline v1" in page and "Sentiment of customer messages" in page
