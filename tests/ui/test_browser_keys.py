"""Keys in a real browser (headless Debian Chromium, Playwright), two people at once on a
rating project: one rates with number keys (a point moves on to the next feature), the
other with the arrow keys; both submit with Enter; "?" opens the list of every key and Esc
closes it; then one changes an earlier answer from their history while the other works on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from annotate.kinds.schema import LabelSchema, RatingFeature
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.services.people import add_person, grant
from annotate.store.engine import open_store
from annotate.store.models import Annotation, AnnotationRevision
from tests.dbs import SqliteTemplate
from tests.ui.browser import Ui, need_chromium, rerun_by, running_ui, settled, sign_in
from tests.ui.seed import _items

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

TEXTS = [f"Reply {n}: the shop opens at nine." for n in range(1, 7)]


@pytest.fixture
def ui(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Ui]:
    need_chromium()
    db = sqlite_template.clone(tmp_path)
    store = open_store(db)
    policy = RoutingPolicy(human_annotations=1, llm_annotations=0)
    schema = LabelSchema(kind="rating", features=[
        RatingFeature(name="fluency", scale=[1, 2, 3, 4, 5]),
        RatingFeature(name="relevance", scale=["low", "high"])])
    tokens = {}
    with store.session() as session:
        for who in ("ann", "bob"):
            _, tokens[who] = add_person(session, who)
        pid = create_project(session, "replies", schema, policy=policy).id
        for who in ("ann", "bob"):
            grant(session, who, "replies")
    _items(store, pid, TEXTS, policy)
    store.dispose()
    with running_ui(db, tokens, {"replies": pid}) as ui:
        yield ui


def _sign_in(page: Any, ui: Ui, who: str) -> None:
    from playwright.sync_api import expect

    sign_in(page, ui, who)
    expect(page.get_by_text("▸ fluency")).to_be_visible(timeout=20_000)
    settled(page, 0, since=0)  # a run has drawn the whole page (its keys too) and ended


def _press(page: Any, *keys: str) -> None:
    """Press keys one at a time, each once the run the last one started is over (drawn and
    ended: two presses of the same key within one run reach the script as one click)."""
    for key in keys:
        rerun_by(page, lambda key=key: page.keyboard.press(key))


def _answers(ui: Ui, who: str) -> list[Any]:
    store = open_store(ui.db, migrate=False)
    try:
        with store.session() as session:
            return [a.value for a in session.scalars(
                select(Annotation).where(Annotation.annotator_id == who)
                .order_by(Annotation.id))]
    finally:
        store.dispose()


def _wait_for_answers(page: Any, ui: Ui, who: str, count: int) -> list[Any]:
    for _ in range(100):
        answers = _answers(ui, who)
        if len(answers) >= count:
            return answers
        page.wait_for_timeout(200)
    raise AssertionError(f"{who} has {len(_answers(ui, who))} answers, not {count}")


def test_two_people_rate_by_keys_and_one_changes_an_answer(ui: Ui, browser: Any) -> None:
    from playwright.sync_api import expect

    ann = browser.new_context().new_page()
    bob = browser.new_context().new_page()
    _sign_in(ann, ui, "ann")
    _sign_in(bob, ui, "bob")

    ann.keyboard.press("?")  # the list of every key, over the page (the page's own script)
    overlay = ann.locator("#annotate-keys")
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("point on the active feature")
    expect(overlay).to_contain_text("undo the last answer")
    ann.keyboard.press("Escape")
    expect(overlay).to_have_count(0)

    _press(ann, "4")  # fluency 4, and on to relevance
    expect(ann.get_by_text("▸ relevance")).to_be_visible()
    _press(bob, "ArrowRight", "ArrowRight")  # fluency: nothing -> 1 -> 2
    _press(ann, "2")  # relevance: high
    _press(bob, "ArrowDown", "1")  # relevance: low
    ann.wait_for_timeout(500)  # the submit gate lets Enter through once the item has settled
    _press(ann, "Enter")
    _press(bob, "Enter")
    assert _wait_for_answers(ann, ui, "ann", 1) == [
        {"ratings": {"fluency": 4, "relevance": "high"}}]
    assert _wait_for_answers(bob, ui, "bob", 1) == [
        {"ratings": {"fluency": 2, "relevance": "low"}}]

    # ann changes her answer from her history while bob rates his next item
    expect(ann.get_by_text("▸ fluency")).to_be_visible(timeout=20_000)
    ann.get_by_text("My answers (change one)").click()
    rerun_by(ann, ann.get_by_role("button", name="Change").first.click)
    expect(ann.get_by_text("Changing your answer")).to_be_visible(timeout=20_000)
    rerun_by(ann, ann.get_by_role("button", name="1").first.click)  # fluency 4 -> 1
    _press(bob, "5", "1")
    bob.wait_for_timeout(500)
    _press(bob, "Enter")
    ann.get_by_role("button", name="Save change").click()
    expect(ann.get_by_text("▸ fluency")).to_be_visible(timeout=20_000)  # back to work
    assert _wait_for_answers(bob, ui, "bob", 2)[1] == {
        "ratings": {"fluency": 5, "relevance": "low"}}
    assert _answers(ui, "ann") == [{"ratings": {"fluency": 1, "relevance": "high"}}]
    store = open_store(ui.db, migrate=False)
    try:
        with store.session() as session:
            [old] = session.scalars(select(AnnotationRevision.value)).all()
    finally:
        store.dispose()
    assert old == {"ratings": {"fluency": 4, "relevance": "high"}}
