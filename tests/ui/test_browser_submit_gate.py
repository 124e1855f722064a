"""No accidental accept, in a real browser (headless Debian Chromium, Playwright) against
`annotate ui` on a free port with a seeded SQLite file.

The seeded items come with the LLM's label pre-selected (confidence 0.72), so every Enter
that reaches the Submit button stores an answer:

- Enter pressed twice 150 ms apart stores one answer, not two (the second press lands on
  the next item before it has been on screen for the policy's ``submit_delay_ms``);
- Enter held down (auto-repeat) stores one answer; released and pressed again once the next
  item has been on screen long enough, it stores the next one (the gate lets work through);
- Enter pressed the moment the next item is drawn is held back, and with
  ``submit_delay_ms: 0`` (the gate off) that same press stores a second answer: the control
  that shows these tests can fail;
- after choosing a project in the sidebar, number keys choose labels (the project box gives
  the keyboard back).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.services.people import grant
from annotate.store.engine import Store, open_store
from annotate.store.models import Annotation
from tests.dbs import SqliteTemplate
from tests.ui.browser import Ui, fill_token, launch, need_chromium, running_ui
from tests.ui.seed import LABELS, LLM_GUESS, TEXTS, _items, answer_llm_tasks, seed

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def _ungated_project(store: Store) -> int:
    """The seeded sentiment project again, with the gate off."""
    policy = RoutingPolicy(human_annotations=2, llm_annotations=1,
                           moderator_on_disagreement=False, submit_delay_ms=0)
    schema = LabelSchema(kind="classification", labels=LABELS)
    with store.session() as session:
        pid = create_project(session, "ungated", schema, policy=policy).id
        grant(session, "ann", "ungated")
    _items(store, pid, TEXTS, policy)
    answer_llm_tasks(store, pid, [{"label": g} for g in LLM_GUESS])
    return pid


@pytest.fixture
def ui(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Ui]:
    need_chromium()
    db = sqlite_template.clone(tmp_path)
    store = open_store(db)
    seeded = seed(store)
    seeded.projects["ungated"] = _ungated_project(store)
    store.dispose()
    with running_ui(db, seeded.tokens, seeded.projects) as ui:
        yield ui


def _answers(db: str, project_id: int) -> list[Annotation]:
    store = open_store(db, migrate=False)
    try:
        with store.session() as session:
            return list(session.scalars(select(Annotation).where(
                Annotation.annotator_id == "ann", Annotation.project_id == project_id)))
    finally:
        store.dispose()


def _open_workspace(page: Any, ui: Ui, project: str, ready: str = "Suggestion") -> None:
    from playwright.sync_api import expect

    fill_token(page, ui, "ann", f"?project={ui.projects[project]}")
    expect(page.get_by_text(ready, exact=False).first).to_be_visible(timeout=30_000)
    _settled(page)


def _settled(page: Any) -> None:
    """The run is over, the gate is on the page and the item has been on screen a while."""
    page.wait_for_function(
        "!document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('[data-annotate-gate]')", timeout=30_000)
    page.wait_for_timeout(800)
    page.get_by_text("Keys:", exact=False).first.click()  # focus the page, not an input


def _wait_for(db: str, project_id: int, count: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while len(_answers(db, project_id)) < count and time.monotonic() < deadline:
        time.sleep(0.2)


def _double_enter(page: Any) -> None:
    page.keyboard.press("Enter")
    page.wait_for_timeout(150)
    page.keyboard.press("Enter")


def test_enter_twice_in_150_ms_stores_one_answer(ui: Ui) -> None:
    from playwright.sync_api import sync_playwright

    pid = ui.projects["sentiment"]
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _open_workspace(page, ui, "sentiment")
        _double_enter(page)
        _wait_for(ui.db, pid, 1)
        page.wait_for_timeout(3000)  # time for a second answer to arrive, if one would
        held_back = page.evaluate("window.__annotateGate.ignored")
        browser.close()
    answers = _answers(ui.db, pid)
    assert len(answers) == 1, [a.value for a in answers]
    assert answers[0].value == {"label": LLM_GUESS[0]}
    assert answers[0].meta["accepted_suggestion"] is True
    assert held_back >= 1  # the second press reached the page and was held back


def test_a_held_enter_answers_once_and_a_new_press_answers_the_next(ui: Ui) -> None:
    from playwright.sync_api import sync_playwright

    pid = ui.projects["sentiment"]
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _open_workspace(page, ui, "sentiment")
        page.keyboard.down("Enter")
        for _ in range(15):  # auto-repeat for 1.5 s: the next item comes and stays
            page.wait_for_timeout(100)
            page.keyboard.down("Enter")
        page.keyboard.up("Enter")
        _wait_for(ui.db, pid, 1)
        page.wait_for_timeout(1000)
        assert len(_answers(ui.db, pid)) == 1
        _settled(page)
        page.keyboard.press("Enter")  # a deliberate press on an item long on screen
        _wait_for(ui.db, pid, 2)
        browser.close()
    assert len(_answers(ui.db, pid)) == 2


def _enter_as_the_next_item_appears(page: Any) -> None:
    """Enter, then Enter again the moment the gate script of the next task has run (the
    next item is drawn above it)."""
    first = page.locator("[data-annotate-gate]").get_attribute("data-annotate-gate")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(t) => { const m = document.querySelector('[data-annotate-gate]');"
        " return m && m.getAttribute('data-annotate-gate') !== t; }", arg=first,
        timeout=15_000, polling=5)
    page.keyboard.press("Enter")


@pytest.mark.parametrize(("project", "stored"), [("sentiment", 1), ("ungated", 2)])
def test_enter_as_the_next_item_appears_is_held_back_unless_the_gate_is_off(
        ui: Ui, project: str, stored: int) -> None:
    from playwright.sync_api import sync_playwright

    pid = ui.projects[project]
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _open_workspace(page, ui, project)
        _enter_as_the_next_item_appears(page)
        _wait_for(ui.db, pid, stored)
        page.wait_for_timeout(3000)  # time for one more answer to arrive, if one would
        browser.close()
    assert len(_answers(ui.db, pid)) == stored


def test_after_choosing_a_project_number_keys_choose_labels(ui: Ui) -> None:
    """Keys go to the page, not into the sidebar's project box just used."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _open_workspace(page, ui, "pairs", "Explain what a lease is")  # another project
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_test_id("stSelectbox").click()
        page.get_by_role("option", name="sentiment · classification").click()
        expect(page.get_by_text("Suggestion", exact=False).first).to_be_visible(
            timeout=30_000)
        page.wait_for_function(
            "!document.querySelector('[data-testid=\"stStatusWidget\"]')"
            " && document.activeElement === document.body", timeout=30_000)
        neutral = page.get_by_role("button", name="neutral")
        # a key pressed while Streamlit re-attaches its shortcut handlers can be lost (as in
        # test_browser.py): press again, up to three times, with no click on the page
        for _ in range(3):
            page.wait_for_timeout(1000)
            page.keyboard.press("3")
            try:
                expect(neutral).to_have_attribute("data-testid", "stBaseButton-primary",
                                                  timeout=3_000)
                break
            except AssertionError:
                continue
        expect(neutral).to_have_attribute("data-testid", "stBaseButton-primary")
        box = sidebar.get_by_test_id("stSelectbox").locator("input")
        assert "3" not in (box.input_value() or "")
        browser.close()
