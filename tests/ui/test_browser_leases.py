"""Leases follow the person, in a real browser (headless Debian Chromium, Playwright) against
`annotate ui` on a free port: while the workspace is open and untouched, its heartbeat keeps
the task leased past the 30 s presence lease; once the tab is closed, the lease runs out
within about 30 s and another person gets the task."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from annotate.queue.leases import claim_task
from annotate.store.engine import open_store
from annotate.store.models import Task, utcnow
from tests.dbs import SqliteTemplate
from tests.ui.browser import Ui, fill_token, launch, need_chromium, running_ui
from tests.ui.seed import seed
from ui.views.workspace import PRESENCE_SECONDS

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture
def ui(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Ui]:
    need_chromium()
    db = sqlite_template.clone(tmp_path)
    store = open_store(db)
    seeded = seed(store)
    store.dispose()
    with running_ui(db, seeded.tokens, seeded.projects) as ui:
        yield ui


def _leased_by(db: str, who: str) -> list[Task]:
    store = open_store(db, migrate=False)
    try:
        with store.session() as session:
            return list(session.scalars(select(Task).where(Task.lease_owner == who,
                                                           Task.status == "leased")))
    finally:
        store.dispose()


def test_the_heartbeat_holds_the_task_and_a_closed_tab_lets_it_go(ui: Ui) -> None:
    from playwright.sync_api import expect, sync_playwright

    db = ui.db
    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context()
        page = context.new_page()
        fill_token(page, ui, "ann", f"?project={ui.projects['sentiment']}")
        expect(page.get_by_text("Suggestion", exact=False).first).to_be_visible(
            timeout=30_000)
        [task] = _leased_by(db, "ann")
        page.wait_for_timeout((PRESENCE_SECONDS + 10) * 1000)  # nobody touches the page
        [held] = _leased_by(db, "ann")
        assert held.id == task.id and held.lease_expires_at is not None
        assert held.lease_expires_at > utcnow()  # the heartbeat extended it
        context.close()  # the tab is closed
        closed_at = time.monotonic()
        deadline = closed_at + PRESENCE_SECONDS + 15
        while time.monotonic() < deadline:
            [held] = _leased_by(db, "ann") or [None]
            if held is None or (held.lease_expires_at or utcnow()) < utcnow():
                break
            time.sleep(1)
        browser.close()
    freed_after = time.monotonic() - closed_at
    assert freed_after <= PRESENCE_SECONDS + 12, freed_after
    store = open_store(db, migrate=False)
    try:
        assert claim_task(store, task.id, "bob") is not None  # another person gets it
    finally:
        store.dispose()
