"""One real-browser test: `annotate ui` on a free port with a seeded SQLite file, driven in
headless Debian Chromium with Playwright (never a browser download): sign in, choose the
project, choose a label with the keyboard, submit, and find the answer in the database.
It also saves the workspace screenshot shown in the docs (docs/workspace.png)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from annotate.store.engine import open_store
from annotate.store.models import Annotation
from tests.dbs import SqliteTemplate
from tests.ui.browser import Ui, fill_token, need_chromium, running_ui
from tests.ui.seed import TEXTS, seed

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "workspace.png"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture
def ui(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Ui]:
    need_chromium()
    db = sqlite_template.clone(tmp_path)
    store = open_store(db)
    seeded = seed(store)
    store.dispose()
    with running_ui(db, seeded.tokens, seeded.projects) as ui:
        yield ui


def _annotations(db: str) -> list[Annotation]:
    store = open_store(db, migrate=False)
    try:
        with store.session() as session:
            return list(session.scalars(select(Annotation).where(
                Annotation.annotator_id == "ann")))
    finally:
        store.dispose()


def test_sign_in_choose_submit_in_a_real_browser(ui: Ui, browser: Any) -> None:
    from playwright.sync_api import expect

    db = ui.db
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    fill_token(page, ui, "ann")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Signed in as")).to_be_visible(timeout=20_000)
    sidebar.get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name="sentiment · classification").click()
    expect(page.get_by_text("Suggestion", exact=False).first).to_be_visible(timeout=20_000)
    expect(page.get_by_text("local/smollm2").first).to_be_visible()
    neutral = page.get_by_role("button", name="neutral")
    # A key pressed while Streamlit is rerunning the page can be lost (the shortcut
    # handlers are re-attached); press it again, up to three times, then require it.
    for _ in range(3):
        page.get_by_text(TEXTS[0]).click()  # focus the page, not an input
        page.keyboard.press("3")  # the third label: neutral
        try:
            expect(neutral).to_have_attribute("data-testid", "stBaseButton-primary",
                                              timeout=5_000)
            break
        except AssertionError:
            continue
    expect(neutral).to_have_attribute("data-testid", "stBaseButton-primary",
                                      timeout=5_000)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    for _ in range(3):  # the same for Enter: pressed again only if nothing was stored
        page.keyboard.press("Enter")
        deadline = time.monotonic() + 8
        while not _annotations(db) and time.monotonic() < deadline:
            time.sleep(0.3)
        if _annotations(db):
            break
    [saved] = _annotations(db)
    assert saved.value == {"label": "neutral"}
    assert saved.annotator_kind == "human" and saved.suggestion_visible is True
    assert saved.human_seconds is not None and saved.human_seconds > 0
