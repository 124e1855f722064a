"""UI fixtures: a seeded SQLite file per test, the app under streamlit.testing's AppTest, and
headless Chromium for the real-browser tests (tests/ui/browser.py has their steps)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from annotate.store.engine import Store, open_store
from tests.dbs import SqliteTemplate
from tests.ui.seed import Seeded, seed

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"


@dataclass
class UiDb:
    url: str
    store: Store
    seeded: Seeded


@pytest.fixture
def ui_db(tmp_path: Path, sqlite_template: SqliteTemplate,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[UiDb]:
    url = sqlite_template.clone(tmp_path)
    store = open_store(url)
    seeded = seed(store)
    monkeypatch.setenv("ANNOTATE_DB", url)
    yield UiDb(url=url, store=store, seeded=seeded)
    store.dispose()


@pytest.fixture
def app(ui_db: UiDb) -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60).run()


def sign_in(at: AppTest, ui_db: UiDb, who: str, project: str | None = None) -> AppTest:
    at.text_input[0].input(ui_db.seeded.tokens[who])
    at.button[0].click().run()
    assert not at.exception, at.exception
    if project is not None:
        choose_project(at, ui_db, project)
    return at


def choose_project(at: AppTest, ui_db: UiDb, project: str) -> AppTest:
    at.selectbox(key="w:sidebar:project").select(ui_db.seeded.projects[project]).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Everything the page says, as one string (for asserting on messages); Markdown's
    backslash escapes are removed, as the browser shows the text."""
    parts = [e.value for kind in ("markdown", "caption", "info", "success", "warning", "error",
                                  "title", "subheader", "text")
             for e in getattr(at, kind)]
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", "\n".join(str(p) for p in parts))


def button(at: AppTest, label: str) -> object:
    """The button whose label reads ``label`` (Markdown escapes removed)."""
    matches = [b for b in at.button
               if re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", b.label) == label]
    assert matches, f"no button {label!r}; have {[b.label for b in at.button]}"
    return matches[0]


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), closed after the test; one context per person."""
    from playwright.sync_api import sync_playwright

    from tests.ui.browser import launch, need_chromium

    need_chromium()
    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()
