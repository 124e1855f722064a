"""Span labelling in a real browser (headless Debian Chromium, Playwright), against `annotate ui`
on a free port, two people at once: one drags over Cyrillic text (with an emoji before the span, so
UTF-16 and code-point offsets differ) and the stored offsets are checked; a selection snaps to
word edges unless Alt is held; a click on a span and Delete removes it; a key chooses the
label; the other gets the LLM's spans as suggestions to accept or reject one by one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.services.people import add_person, grant
from annotate.store.engine import open_store
from annotate.store.models import Annotation, Item
from tests.dbs import SqliteTemplate
from tests.ui.browser import Ui, need_chromium, running_ui, sign_in
from tests.ui.seed import _items, answer_llm_tasks

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

FIRST = "Анна Петрова 🚀 прилетела в Казань вчера."
SECOND = "Мария живёт в Москве."
NESTED = "Банк Москвы открылся."
SUGGESTED = {"spans": [{"start": 0, "end": 5, "label": "PER", "text": "Мария"},
                       {"start": 14, "end": 20, "label": "LOC", "text": "Москве"}]}

# The box of the characters [start, end) (code points) inside the span component's text.
BOX_JS = """([start, end]) => {
  const text = document.querySelector('[data-testid="span-select-text"]');
  const place = (cp) => {
    for (const seg of text.querySelectorAll('[data-s]')) {
      const s = Number(seg.dataset.s), e = Number(seg.dataset.e);
      if (cp >= s && cp <= e) {
        const node = seg.firstChild;
        const units = Array.from(node.data).slice(0, cp - s).join('').length;
        return [node, units];
      }
    }
    throw new Error('no segment for ' + cp);
  };
  const range = document.createRange();
  range.setStart(...place(start));
  range.setEnd(...place(end));
  const r = range.getBoundingClientRect();
  return {x: r.x, y: r.y, w: r.width, h: r.height};
}"""


@pytest.fixture
def ui(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Ui]:
    need_chromium()
    db = sqlite_template.clone(tmp_path)
    store = open_store(db)
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1,
                           moderator_on_disagreement=False)
    tokens = {}
    with store.session() as session:
        for who in ("ann", "bob"):
            _, tokens[who] = add_person(session, who)
        pid = create_project(session, "ner", LabelSchema(kind="spans", labels=["PER", "LOC"]),
                             policy=policy).id
        for who in ("ann", "bob"):
            grant(session, who, "ner")
    _items(store, pid, [FIRST, SECOND], policy)
    answer_llm_tasks(store, pid, [{"spans": []}, SUGGESTED])
    people = RoutingPolicy(human_annotations=1, llm_annotations=0)
    with store.session() as session:
        nested = create_project(session, "nested", LabelSchema(
            kind="spans", labels=["ORG", "LOC"], allow_nested=True), policy=people).id
        grant(session, "ann", "nested")
    _items(store, nested, [NESTED], people)
    store.dispose()
    with running_ui(db, tokens, {"ner": pid, "nested": nested}) as ui:
        yield ui


def _page(browser: Any) -> Any:
    """A page of its own browser context: one person."""
    return browser.new_context(viewport={"width": 1300, "height": 900}).new_page()


def _drag(page: Any, start: int, end: int, *, alt: bool = False) -> None:
    """Press the mouse at the left edge of character ``start`` and release it at the right
    edge of character ``end - 1``, as a person drags (Alt held if asked)."""
    first = page.evaluate(BOX_JS, [start, start + 1])
    last = page.evaluate(BOX_JS, [end - 1, end])
    y = first["y"] + first["h"] / 2
    if alt:
        page.keyboard.down("Alt")
    page.mouse.move(first["x"] + 1, y)
    page.mouse.down()
    page.mouse.move(last["x"] + last["w"] - 1, last["y"] + last["h"] / 2, steps=8)
    page.mouse.up()
    if alt:
        page.keyboard.up("Alt")


def _click_char(page: Any, offset: int) -> None:
    box = page.evaluate(BOX_JS, [offset, offset + 1])
    page.mouse.click(box["x"] + box["w"] / 2, box["y"] + box["h"] / 2)


def _badges(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(".asel-badge").all_inner_texts()]


def _saved(db: str, text: str, who: str = "ann") -> Any:
    store = open_store(db, migrate=False)
    try:
        with store.session() as session:
            return session.scalars(
                select(Annotation.value).join(Item, Item.id == Annotation.item_id)
                .where(Annotation.annotator_id == who, Item.text == text)).all()
    finally:
        store.dispose()


def _submit_and_wait(page: Any, ui: Ui, text: str, who: str = "ann") -> Any:
    from playwright.sync_api import expect

    page.wait_for_timeout(700)  # the component's last change reaches the server
    expect(page.locator(".asel-info")).not_to_contain_text("(suggested)")
    page.get_by_role("button", name="Submit").click()
    for _ in range(100):
        saved = _saved(ui.db, text, who)
        if saved:
            return saved
        page.wait_for_timeout(200)
    raise AssertionError(f"nothing saved for {text!r}")


def test_two_people_mark_cyrillic_spans_at_once(ui: Ui, browser: Any) -> None:
    """ann drags over her item while bob accepts and rejects the LLM's suggestions on his."""
    from playwright.sync_api import expect

    ann, bob = _page(browser), _page(browser)
    sign_in(ann, ui, "ann")
    expect(ann.get_by_test_id("span-select-text")).to_contain_text("Анна Петрова",
                                                                  timeout=20_000)
    sign_in(bob, ui, "bob")  # the other item: ann holds the first
    expect(bob.get_by_test_id("span-select-text")).to_contain_text("Мария", timeout=20_000)
    assert ann.get_by_test_id("span-select-text").inner_text().count("Анна") == 1  # drawn once

    _drag(ann, 2, 8)  # from inside "Анна" to inside "Петрова": snaps to both words
    expect(ann.locator(".asel-badge")).to_have_count(1)
    assert _badges(bob) == ["PER?", "LOC?"]  # bob's suggestions, not yet his spans
    expect(bob.locator(".asel-info")).to_contain_text("2 suggestions left")
    _click_char(bob, 1)
    bob.get_by_test_id("span-select").get_by_role("button", name="Accept span").click()
    ann.keyboard.press("2")  # ann's active label is now LOC
    expect(ann.locator(".asel-label.asel-active")).to_contain_text("LOC")
    expect(bob.locator(".asel-label.asel-active")).to_contain_text("PER")  # his own page
    _drag(ann, 28, 31)  # inside "Казань", after the emoji
    _click_char(bob, 16)
    expect(bob.locator(".asel-info")).to_contain_text("«Москве» LOC (suggested)")
    bob.keyboard.press("Delete")
    _drag(ann, 15, 19, alt=True)  # Alt: exactly "прил", inside a word
    expect(ann.locator(".asel-badge")).to_have_count(3)
    assert _badges(ann) == ["PER", "LOC", "LOC"]
    _click_char(ann, 16)  # the "прил" span, then Delete removes it
    expect(ann.locator(".asel-info")).to_contain_text("«прил» LOC")
    ann.keyboard.press("Delete")
    expect(ann.locator(".asel-badge")).to_have_count(2)
    assert _badges(bob) == ["PER"]

    assert _submit_and_wait(ann, ui, FIRST) == [{"spans": [
        {"start": 0, "end": 12, "label": "PER", "text": "Анна Петрова"},
        {"start": 27, "end": 33, "label": "LOC", "text": "Казань"}]}]
    assert _submit_and_wait(bob, ui, SECOND, "bob") == [{"spans": [
        {"start": 0, "end": 5, "label": "PER", "text": "Мария"}]}]


def test_nested_spans_where_the_schema_allows_them(ui: Ui, browser: Any) -> None:
    from playwright.sync_api import expect

    page = _page(browser)
    sign_in(page, ui, "ann", f"?project={ui.projects['nested']}")
    expect(page.get_by_test_id("span-select-text")).to_contain_text("Банк", timeout=20_000)
    _drag(page, 1, 10)  # "Банк Москвы" as ORG
    page.keyboard.press("2")
    _drag(page, 6, 9)  # "Москвы" inside it, as LOC: both stay
    expect(page.locator(".asel-badge")).to_have_count(2)
    saved = _submit_and_wait(page, ui, NESTED)
    assert saved == [{"spans": [
        {"start": 0, "end": 11, "label": "ORG", "text": "Банк Москвы"},
        {"start": 5, "end": 11, "label": "LOC", "text": "Москвы"}]}]
