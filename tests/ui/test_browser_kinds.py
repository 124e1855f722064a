"""Every built-in task kind in a real browser (headless Debian Chromium, Playwright): the
workspace of a project of each kind draws its answer input (with the LLM's suggestion or the
Helper's candidates where the kind has them) and no error. With UPDATE_SCREENSHOTS=1 the
pages are saved as docs/workspace-<kind>.png, the pictures the README shows."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from annotate.kinds.schema import LabelSchema, RatingFeature
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.services.people import add_person, grant
from annotate.store.engine import Store, open_store
from annotate.store.models import Suggestion
from tests.dbs import SqliteTemplate
from tests.ui.browser import Ui, fill_token, launch, need_chromium, running_ui
from tests.ui.seed import _items, answer_llm_tasks

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
WITH_LLM = RoutingPolicy(human_annotations=1, llm_annotations=1,
                         moderator_on_disagreement=False)
PEOPLE = RoutingPolicy(human_annotations=1, llm_annotations=0)


@dataclass(frozen=True)
class Kind:
    name: str
    schema: LabelSchema
    text: str
    # what the page must show once the input is drawn (a locator's text or test id)
    shows: tuple[str, ...]
    llm: dict[str, Any] | None = None
    data: dict[str, Any] | None = None


KINDS = [
    Kind("classification", LabelSchema(kind="classification",
                                       labels=["positive", "negative", "neutral"]),
         "The parcel came two days late and the box was crushed.",
         ("negative", "Suggestion"), llm={"label": "negative"}),
    Kind("multilabel", LabelSchema(kind="multilabel",
                                   labels=["delivery", "billing", "product"]),
         "I was charged twice and the parcel still has not arrived.",
         ("billing", "Choose every label that applies"),
         llm={"labels": ["billing", "delivery"]}),
    Kind("spans", LabelSchema(kind="spans", labels=["PER", "LOC", "ORG"]),
         "Анна Петрова из «Яндекса» прилетела в Казань 🚀 вчера.",
         ("span-select-text", "PER?"),
         llm={"spans": [{"start": 0, "end": 12, "label": "PER"},
                        {"start": 38, "end": 44, "label": "LOC"}]}),
    Kind("rating", LabelSchema(kind="rating", features=[
        RatingFeature(name="fluency", scale=[1, 2, 3, 4, 5], description="Reads naturally"),
        RatingFeature(name="helpfulness", scale=["low", "medium", "high"])]),
         "Sure! The shop opens at nine on weekdays and at ten on Saturdays.",
         ("▸ fluency", "helpfulness")),
    Kind("choice", LabelSchema(kind="choice", options=["response1", "response2"]),
         "Explain what a lease is in a task queue.",
         ("A time-limited claim on a task", "Prompt"),
         data={"options": {"response1": "A time-limited claim on a task: if the worker "
                                        "does not finish in time, the task goes back.",
                           "response2": "A rental contract for a flat."}}),
    Kind("text", LabelSchema(kind="text"),
         "the delivery guy showed up way after the slot they gave me",
         ("The courier arrived well after", "write my own")),
]


def _seed(store: Store) -> tuple[str, dict[str, int]]:
    projects = {}
    with store.session() as session:
        _, token = add_person(session, "ann")
    for kind in KINDS:
        policy = WITH_LLM if kind.llm else PEOPLE
        with store.session() as session:
            pid = create_project(session, kind.name, kind.schema, policy=policy).id
            grant(session, "ann", kind.name)
        projects[kind.name] = pid
        [item_id] = _items(store, pid, [kind.text], policy,
                           data=[kind.data] if kind.data else None)
        if kind.llm:
            answer_llm_tasks(store, pid, [kind.llm])
        if kind.name == "text":
            with store.session() as session:
                session.add(Suggestion(project_id=pid, item_id=item_id, model="local/smollm2",
                                       candidates=[
                    {"text": "The courier arrived well after the promised slot.",
                     "score": 0.91},
                    {"text": "My delivery came much later than the time window.",
                     "score": 0.84},
                    {"text": "The driver was late for the delivery slot.", "score": 0.77}]))
    return token, projects


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory,
       sqlite_template: SqliteTemplate) -> Iterator[Ui]:
    need_chromium()
    db = sqlite_template.clone(tmp_path_factory.mktemp("kinds"))
    store = open_store(db)
    token, projects = _seed(store)
    store.dispose()
    with running_ui(db, {"ann": token}, projects) as ui:
        yield ui


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_the_workspace_draws_every_kind(ui: Ui, kind: Kind, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        fill_token(page, ui, "ann", f"?project={ui.projects[kind.name]}")
        expect(page.get_by_text(f"{kind.name} · item", exact=False)).to_be_visible(
            timeout=30_000)
        for shown in kind.shows:
            target = (page.get_by_test_id(shown) if shown.endswith("-text")
                      else page.get_by_text(shown, exact=False).first)
            expect(target).to_be_visible(timeout=20_000)
        page.wait_for_function(
            "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)
        page.wait_for_timeout(800)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert errors == []
        shot = tmp_path / f"workspace-{kind.name}.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copy(shot, DOCS / shot.name)
