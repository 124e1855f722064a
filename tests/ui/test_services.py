"""The services behind the pages, on SQLite and PostgreSQL: the workspace (claim, blind,
undo), review (queue, decisions with and without an adjudication task), dashboards and the
playground."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from annotate.errors import Conflict
from annotate.llm.testing import Reply, install_fake, reply
from annotate.services.dashboards import agreement_view, answers_frame, progress, suggestion_use
from annotate.services.playground import (
    pick_examples,
    run_annotator,
    save_draft,
    send_to_double_annotation,
)
from annotate.services.review import review_item, review_queue, set_final_answer
from annotate.services.workspace import (
    open_next_task,
    resume_task,
    skip_task,
    submit_answer,
    undo_submit,
)
from annotate.store.engine import Store
from annotate.store.models import Project, Task
from tests.ui.seed import LLM_GUESS, TEXTS, Seeded, seed


@pytest.fixture
def seeded(store: Store) -> Seeded:
    return seed(store)


def _answer(store: Store, pid: int, who: str, labels: list[str]) -> None:
    for label in labels:
        view = open_next_task(store, who, pid)
        assert view is not None
        submit_answer(store, view, who, {"label": label}, seconds=2.5)


def test_the_view_carries_the_prelabel_and_never_a_second_slot(store: Store,
                                                               seeded: Seeded) -> None:
    pid = seeded.projects["sentiment"]
    view = open_next_task(store, "ann", pid)
    assert view is not None and view.prelabel is not None
    assert view.prelabel.value == {"label": LLM_GUESS[0]} and view.prelabel.model
    submit_answer(store, view, "ann", {"label": "neutral"}, seconds=1)
    seen = {view.item_id}
    while (nxt := open_next_task(store, "ann", pid)) is not None:
        assert nxt.item_id not in seen  # the item's other slot is for someone else
        seen.add(nxt.item_id)
        submit_answer(store, nxt, "ann", {"label": "neutral"}, seconds=1)
    assert len(seen) == 6


def test_resume_gives_the_task_the_person_holds_until_it_is_answered_or_left(
        store: Store, seeded: Seeded) -> None:
    pid = seeded.projects["sentiment-blind"]
    assert resume_task(store, "ann", pid) is None  # nothing held yet
    view = open_next_task(store, "ann", pid, lease_seconds=30)
    assert view is not None
    submit_answer(store, view, "ann", {"label": "negative"}, seconds=1, blind_phase=True)
    again = resume_task(store, "ann", pid, lease_seconds=600)
    assert again is not None and again.task_id == view.task_id
    assert again.blind_answer == {"label": "negative"}
    assert resume_task(store, "bob", pid) is None  # ann's task is not bob's
    with store.session() as session:  # claimed for 30 s, extended by the resume to 600 s
        task = session.get_one(Task, view.task_id)
        assert task.lease_expires_at is not None
        assert (task.lease_expires_at - task.updated_at).total_seconds() > 300
    skip_task(store, again, "ann")
    assert resume_task(store, "ann", pid) is None


def test_undo_reopens_the_task_and_drops_untouched_follow_ups(store: Store,
                                                              seeded: Seeded) -> None:
    pid = seeded.projects["sentiment"]
    _answer(store, pid, "ann", ["negative"])
    view = open_next_task(store, "bob", pid)
    assert view is not None
    last = submit_answer(store, view, "bob", {"label": "neutral"}, seconds=1)
    with store.session() as session:  # three different answers: a person must adjudicate
        assert session.scalar(select(func.count()).select_from(Task).where(
            Task.item_id == view.item_id, Task.role == "adjudicator")) == 1
    task_id, value = undo_submit(store, "bob", last.id)
    assert task_id == view.task_id and value == {"label": "neutral"}
    with store.session() as session:
        task = session.get_one(Task, task_id)
        assert task.status == "leased" and task.lease_owner == "bob"
        assert session.scalar(select(func.count()).select_from(Task).where(
            Task.item_id == view.item_id, Task.role == "adjudicator")) == 0
    with pytest.raises(Exception, match="nothing of yours"):
        undo_submit(store, "ann", last.id)


def test_review_decides_with_and_without_an_adjudication_task(store: Store,
                                                              seeded: Seeded) -> None:
    pid = seeded.projects["sentiment"]
    _answer(store, pid, "ann", ["negative"] * 6)
    _answer(store, pid, "bob", ["neutral"] * 6)
    with store.session() as session:
        rows = review_queue(session, pid)
        view = review_item(session, pid, rows[0].item_id)
    assert rows[0].open_adjudication and len(view.answers) == 3
    assert all(a.source is None for a in view.answers)  # anonymised by default
    set_final_answer(store, pid, rows[0].item_id, {"label": "negative"}, "olga", seconds=4)
    with store.session() as session:
        task = session.scalars(select(Task).where(Task.item_id == rows[0].item_id,
                                                  Task.role == "adjudicator")).one()
        assert task.status == "done"
    decision = set_final_answer(store, pid, rows[1].item_id, {"label": "positive"}, "olga")
    assert decision.role == "adjudicator"
    with store.session() as session:
        decided = review_queue(session, pid, undecided_only=True)
    assert {r.item_id for r in decided}.isdisjoint({rows[0].item_id, rows[1].item_id})


def test_an_adjudication_held_by_someone_else_is_a_conflict(store: Store,
                                                            seeded: Seeded) -> None:
    pid = seeded.projects["sentiment"]
    _answer(store, pid, "ann", ["negative"] * 6)
    _answer(store, pid, "bob", ["neutral"] * 6)
    from annotate.queue.leases import claim_next_task

    claimed = claim_next_task(store, "pia", roles=["adjudicator"], project_id=pid)
    assert claimed is not None
    with pytest.raises(Conflict, match="pia is adjudicating"):
        set_final_answer(store, pid, claimed.item_id, {"label": "neutral"}, "olga")


def test_dashboards_figures_come_from_the_agreement_module(store: Store,
                                                           seeded: Seeded) -> None:
    pid = seeded.projects["sentiment"]
    _answer(store, pid, "ann", ["positive", "negative", "neutral"] * 2)
    _answer(store, pid, "bob", ["positive", "negative", "positive"] * 2)
    with store.session() as session:
        project = session.get_one(Project, pid)
        frame = answers_frame(session, project)
        view = agreement_view(session, project, bootstrap=100)
        prog = progress(session, project)
        usage = suggestion_use(session, pid)
    assert set(frame["annotator_kind"]) == {"human", "llm"} and len(frame) == 18
    # Items 3 and 6 split (neutral/positive), the other four are unanimous: with 9 positive,
    # 6 negative and 3 neutral answers, D_o = 4/18 and D_e = 198/306, so alpha = 65/99.
    assert view.summary is not None and view.summary.alpha.value == pytest.approx(65 / 99)
    ci = view.summary.alpha.ci
    assert ci is not None and ci.low is not None and ci.high is not None
    assert ci.low <= 65 / 99 <= ci.high
    assert set(view.matrix.index) == {"ann (human)", "bob (human)", "local/smollm2 (llm)"}
    assert view.matrix.loc["ann (human)", "bob (human)"] == pytest.approx(0.5)
    # the people agree on items 1, 2, 4, 5, and so does the LLM
    assert view.confusion.to_dict() == {"negative": {"negative": 2, "positive": 0},
                                        "positive": {"negative": 0, "positive": 2}}
    split = frame.groupby("item_id")["label"].nunique()
    assert len(split[split > 1]) == 2  # the third and sixth items
    assert sorted(view.examples["item_id"]) == sorted(list(split[split > 1].index) * 3)
    assert prog.status.items == 6 and int(prog.per_day["answers"].sum()) == 18
    assert list(usage["person"]) == ["ann", "bob"]


def test_playground_saves_versions_and_sends_double_annotation(store: Store,
                                                               seeded: Seeded) -> None:
    pid = seeded.projects["pairs"]
    with store.session() as session:
        project = session.get_one(Project, pid)
        examples = pick_examples(session, project)
        saved, diff = save_draft(session, project, "# Pairs\n\nPrefer the correct answer.\n",
                                 note="first draft", author="olga")
        assert saved.number == 2 and "+Prefer the correct answer." in diff
        assert send_to_double_annotation(session, project, 1.0) == 1
        assert send_to_double_annotation(session, project, 1.0) == 0
    fake = install_fake(default=reply(json.dumps(
        {"choice": "response1", "reason": "it answers the question", "confidence": 80})))
    run = run_annotator(store, project, examples, "# draft: prefer the on-topic answer",
                        model="fake/m")
    assert run.error is None
    assert [e.item_id for e in examples] == [r.item_id for r in run.results] and examples
    (result,) = run.results
    assert result.value == {"choice": "response1"} and result.error is None
    assert result.rationale == "it answers the question" and result.confidence == 0.8
    assert result.matches is None  # nobody has answered the pair yet: nothing to compare
    system = fake.calls[-1]["messages"][0]["content"]
    assert "# draft: prefer the on-topic answer" in system  # the draft, not the saved version


def test_playground_compares_the_annotator_with_the_expected_answers(store: Store,
                                                                     seeded: Seeded) -> None:
    pid = seeded.projects["sentiment"]
    _answer(store, pid, "ann", ["negative"] * 6)
    _answer(store, pid, "bob", ["negative"] * 6)
    install_fake(responder=_negative_when_unhappy)
    with store.session() as session:
        project = session.get_one(Project, pid)
        examples = pick_examples(session, project, n=6)
    assert all(e.expected == {"label": "negative"} for e in examples)
    run = run_annotator(store, project, examples, "# draft", model="fake/m")
    assert run.error is None
    got = {e.text: (r.value, r.matches) for e, r in zip(examples, run.results, strict=True)}
    assert got == {text: ({"label": "negative"}, True) if text in UNHAPPY
                   else ({"label": "positive"}, False) for text in TEXTS}



UNHAPPY = {TEXTS[1], TEXTS[4]}


def _negative_when_unhappy(model: str, messages: list[dict[str, Any]],
                           params: dict[str, Any]) -> Reply:
    label = "negative" if any(t in messages[-1]["content"] for t in UNHAPPY) else "positive"
    return reply(json.dumps({"label": label, "reason": "r", "confidence": 70}))
