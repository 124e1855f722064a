"""What the real-browser tests share: headless Debian Chromium driven by Playwright (never a
browser download) against ``annotate ui`` on a free port with a seeded SQLite file.

``running_ui`` serves a seeded database and yields a :class:`Ui`; the ``browser`` fixture
(tests/ui/conftest.py) launches Chromium; ``sign_in``, ``settled`` and ``query`` are the
steps every test takes."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


def settled(page: Any, pause_ms: int = 300, *, network: bool = False) -> None:
    """Wait until the script run is over (and, with ``network``, the page stopped loading),
    then ``pause_ms`` more."""
    if network:
        page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)
    page.wait_for_timeout(pause_ms)


def query(db: str, stmt: Any) -> list[Any]:
    """The rows of ``stmt`` on the database the UI serves (a connection of our own)."""
    store = open_store(db, migrate=False)
    try:
        with store.session() as session:
            return list(session.execute(stmt).all())
    finally:
        store.dispose()
