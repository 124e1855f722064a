"""A person's history: their own answers page by page, changed within what the policy allows
(old versions kept with time; routing follows the change), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from annotate.errors import Conflict, InvalidInput, NotFound
from annotate.services.history import change_answer, my_answers, revisions_of
from annotate.services.review import set_final_answer
from annotate.services.workspace import open_next_task, submit_answer
from annotate.store.engine import Store
from annotate.store.models import Annotation, Task
from tests.ui.seed import LLM_GUESS, Seeded, seed


@pytest.fixture
def seeded(store: Store) -> Seeded:
    return seed(store)


def _answer(store: Store, pid: int, who: str, label: str, *, blind: bool = False) -> int:
    view = open_next_task(store, who, pid)
    assert view is not None
    return submit_answer(store, view, who, {"label": label}, seconds=2.0,
                         blind_phase=blind).id


def _adjudication_tasks(store: Store, annotation_id: int) -> list[str]:
    with store.session() as session:
        item_id = session.get_one(Annotation, annotation_id).item_id
        return list(session.scalars(select(Task.status).where(
            Task.item_id == item_id, Task.role == "adjudicator")))


def test_a_change_keeps_the_old_answer_and_routing_follows_it(store: Store,
                                                              seeded: Seeded) -> None:
    pid = seeded.projects["sentiment"]
    mine = _answer(store, pid, "ann", LLM_GUESS[0])
    _answer(store, pid, "bob", LLM_GUESS[0])  # the same item: all three agree
    assert _adjudication_tasks(store, mine) == []

    assert change_answer(store, "ann", mine, {"label": "neutral"}, seconds=3.0) == {
        "label": "neutral"}
    assert _adjudication_tasks(store, mine) == ["pending"]  # now they disagree
    with store.session() as session:
        row = session.get_one(Annotation, mine)
        assert row.value == {"label": "neutral"} and row.human_seconds == 5.0
        assert row.meta["revisions"] == 1 and row.meta["changed_at"]
        [old] = revisions_of(session, mine)
        assert old.value == {"label": LLM_GUESS[0]} and old.replaced_by == "ann"
        assert old.given_at == row.created_at and old.replaced_at >= old.given_at
        assert session.scalar(select(func.count()).select_from(Annotation).where(
            Annotation.annotator_id == "ann")) == 1  # one answer, counted once

    change_answer(store, "ann", mine, {"label": LLM_GUESS[0]})  # back: agreement again
    assert _adjudication_tasks(store, mine) == []
    with store.session() as session:
        page = my_answers(session, "ann", pid)
    assert page.total == 1 and page.answers[0].revisions == 2
    assert page.answers[0].locked is None


def test_no_change_after_adjudication_nor_of_someone_elses_answer(store: Store,
                                                                   seeded: Seeded) -> None:
    pid = seeded.projects["sentiment"]
    mine = _answer(store, pid, "ann", "negative")
    _answer(store, pid, "bob", "neutral")
    with pytest.raises(NotFound):
        change_answer(store, "bob", mine, {"label": "neutral"})
    with pytest.raises(InvalidInput):
        change_answer(store, "ann", mine, {"label": "bogus"})
    with store.session() as session:
        item_id = session.get_one(Annotation, mine).item_id
    set_final_answer(store, pid, item_id, {"label": "neutral"}, "olga")
    with store.session() as session:
        assert "adjudication" in (my_answers(session, "ann", pid).answers[0].locked or "")
    with pytest.raises(Conflict, match="adjudication"):
        change_answer(store, "ann", mine, {"label": "neutral"})
    with store.session() as session:
        assert session.get_one(Annotation, mine).value == {"label": "negative"}
        assert revisions_of(session, mine) == []


def test_a_blind_first_answer_stays_as_committed(store: Store, seeded: Seeded) -> None:
    pid = seeded.projects["sentiment-blind"]
    first = _answer(store, pid, "ann", "negative", blind=True)
    with pytest.raises(Conflict, match="blind"):
        change_answer(store, "ann", first, {"label": "positive"})


def test_pages_hold_only_the_persons_own_answers_newest_first(store: Store,
                                                              seeded: Seeded) -> None:
    pid = seeded.projects["sentiment"]
    ids = [_answer(store, pid, "ann", "neutral") for _ in range(6)]
    _answer(store, pid, "bob", "neutral")
    with store.session() as session:
        first = my_answers(session, "ann", pid, page=0, per_page=4)
        second = my_answers(session, "ann", pid, page=1, per_page=4)
        beyond = my_answers(session, "ann", pid, page=9, per_page=4)
    assert (first.total, first.pages) == (6, 2)
    assert [a.annotation_id for a in first.answers] == ids[::-1][:4]
    assert [a.annotation_id for a in second.answers] == ids[::-1][4:]
    assert beyond.page == 1  # clamped to the last page
