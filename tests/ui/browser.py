"""What the real-browser tests share: headless Debian Chromium driven by Playwright (never a
browser download) against ``annotate ui`` on a free port with a seeded SQLite file.

``running_ui`` serves a seeded database and yields a :class:`Ui`; the ``browser`` fixture
(tests/ui/conftest.py) launches Chromium; ``sign_in``, ``settled`` (or ``rerun_by``: an
action, then the run it starts is over) and ``query`` are the steps every test takes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from annotate.store.engine import open_store
from ui.launch import serving

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class Ui:
    url: str
    db: str
    tokens: dict[str, str]
    projects: dict[str, int] = field(default_factory=dict)


def need_chromium() -> None:
    """Skip (saying how to install it) where Chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run .ci/install-chromium.sh")
    pytest.importorskip("playwright.sync_api")


@contextmanager
def running_ui(db: str, tokens: dict[str, str],
               projects: dict[str, int] | None = None) -> Iterator[Ui]:
    """``annotate ui`` on a free port over the seeded database ``db``, stopped afterwards."""
    with serving(db) as url:
        yield Ui(url, db, tokens, dict(projects or {}))


def launch(playwright: Any) -> Any:
    """Headless Chromium from Debian's package."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)


def fill_token(page: Any, ui: Ui, who: str, path: str = "") -> None:
    """Open ``path`` and sign in with ``who``'s personal token (without waiting for the page)."""
    page.goto(f"{ui.url}/{path}")
    page.get_by_label("Personal token", exact=True).and_(page.locator("input")).fill(
        ui.tokens[who])
    page.get_by_role("button", name="Sign in").click()


def sign_in(page: Any, ui: Ui, who: str, path: str = "") -> None:
    """Sign in and wait until the sidebar says so and the session cookie is written (a
    full page load before the script that writes it ran would start signed out)."""
    from playwright.sync_api import expect

    fill_token(page, ui, who, path)
    expect(page.get_by_test_id("stSidebar").get_by_text("Signed in as")).to_be_visible(
        timeout=20_000)
    page.wait_for_function("document.cookie.includes('annotate_session=ses_')", timeout=20_000)


RUN_MARK_JS = """() => Math.max(0, ...[...document.querySelectorAll("[data-annotate-run]")]
  .map((e) => Number(e.dataset.annotateRun) || 0))"""
# A run is over when Streamlit's own state on the app root says so: its running indicator
# (stStatusWidget) shows only after a run has taken 500 ms, so a shorter run never showed it
NOT_RUNNING_JS = ("document.querySelector('[data-testid=\"stApp\"]')"
                  "?.getAttribute('data-test-script-state') === 'notRunning'")


def run_mark(page: Any) -> int:
    """How many runs of this tab have drawn their whole page (ui/app.py's ``mark_run``)."""
    return int(page.evaluate(RUN_MARK_JS))


def settled(page: Any, pause_ms: int = 300, *, network: bool = False,
            since: int | None = None) -> None:
    """Wait until no script run is in progress (and, with ``network``, the page stopped
    loading; with ``since``, until a run after that :func:`run_mark` drew its page), then
    ``pause_ms`` more."""
    if network:
        page.wait_for_load_state("networkidle")
    after = "true" if since is None else f"({RUN_MARK_JS})() > {int(since)}"
    page.wait_for_function(f"{NOT_RUNNING_JS} && {after}", timeout=30_000)
    page.wait_for_timeout(pause_ms)


def rerun_by(page: Any, action: Callable[[], Any], pause_ms: int = 100) -> None:
    """Do ``action`` (a key press, a click) and wait until the run it starts has drawn its
    page and ended: a key pressed before that reaches the old page (its shortcuts, the
    previous item), and two presses of one key within a run reach the script as one click.
    ``pause_ms`` after it: the page binds a button's shortcut just after drawing it."""
    settled(page, 0)  # a run still going would move the mark before the action's run
    since = run_mark(page)
    action()
    settled(page, pause_ms, since=since)


def query(db: str, stmt: Any) -> list[Any]:
    """The rows of ``stmt`` on the database the UI serves (a connection of our own)."""
    store = open_store(db, migrate=False)
    try:
        with store.session() as session:
            return list(session.execute(stmt).all())
    finally:
        store.dispose()
