"""The annotator's day in the workspace (issue #16): no accidental accept (the suggestion is
pre-selected only when confident enough; the browser-side submit gate gets the policy's
delay), progress and pace, the queue for owners, and the item's context fields. AppTests on
the seeded SQLite file; the services on SQLite and PostgreSQL. The double Enter itself is
tested in a real browser (test_browser_submit_gate.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.errors import InvalidInput
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy, parse_policy
from annotate.queue.routing import PlannedItem, plan_initial_tasks
from annotate.services.people import grant
from annotate.services.progress import my_progress, queue_overview
from annotate.services.workspace import item_context, open_next_task, submit_answer
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Project, Task, utcnow
from tests.ui.conftest import UiDb, button, sign_in, texts
from tests.ui.seed import LABELS, LLM_GUESS, Seeded, seed
from ui.views.workspace import PRESENCE_SECONDS


def _answers(ui_db: UiDb, who: str = "ann") -> list[Annotation]:
    with ui_db.store.session() as session:
        return list(session.scalars(select(Annotation).where(Annotation.annotator_id == who)
                                    .order_by(Annotation.id)))


def _set_policy(store: Store, project_id: int, **changes: Any) -> None:
    with store.session() as session:
        project = session.get_one(Project, project_id)
        project.policy_json = {**project.policy_json, **changes}


def _click(at: AppTest, label: str) -> AppTest:
    button(at, label).click().run()  # type: ignore[attr-defined]
    assert not at.exception, at.exception
    return at


def _gate(at: AppTest) -> str:
    bodies = [str(e.proto.body) for e in at.get("html") if "data-annotate-gate" in
              str(e.proto.body)]
    assert len(bodies) == 1, bodies
    return bodies[0]


# -- no accidental accept -------------------------------------------------------------------


def test_a_confident_suggestion_is_preselected(app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "ann", "sentiment")  # the LLM's confidence is 0.72, the bar 0.5
    assert "Not pre-selected" not in texts(app)
    _click(app, "Submit")
    [saved] = _answers(ui_db)
    assert saved.value == {"label": LLM_GUESS[0]} and saved.meta["accepted_suggestion"]


def test_a_suggestion_below_the_bar_is_shown_but_not_preselected(app: AppTest,
                                                                 ui_db: UiDb) -> None:
    _set_policy(ui_db.store, ui_db.seeded.projects["sentiment"], preselect_above=0.9)
    sign_in(app, ui_db, "ann", "sentiment")
    page = texts(app)
    assert "Suggestion" in page and "confidence 0.72" in page
    assert "Not pre-selected: below the project's confidence threshold (0.90)" in page
    _click(app, "Submit")
    assert "Choose an answer first." in texts(app)
    assert not _answers(ui_db)
    _click(app, "Accept the suggestion")  # still one key away
    _click(app, "Submit")
    [saved] = _answers(ui_db)
    assert saved.value == {"label": LLM_GUESS[0]}


def test_the_submit_gate_carries_the_task_and_the_policys_delay(app: AppTest,
                                                                ui_db: UiDb) -> None:
    _set_policy(ui_db.store, ui_db.seeded.projects["sentiment"], submit_delay_ms=750)
    sign_in(app, ui_db, "ann", "sentiment")
    first = _gate(app)
    assert "g.delay = 750;" in first and "st-key-ws-submit" in first
    _click(app, "neutral")
    assert _gate(app) != first  # a new body each run: the page script runs again
    _click(app, "Submit")
    assert _answers(ui_db)  # the server stores what the browser lets through


@pytest.mark.parametrize("data", [{"submit_delay_ms": -1}, {"submit_delay_ms": 5001},
                                  {"submit_delay_ms": True}, {"preselect_above": 1.5},
                                  {"preselect_above": -0.1}, {"context_fields": [3]},
                                  {"context_fields": ["a\nb"]}])
def test_bad_gate_and_context_settings_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match=next(iter(data))):
        parse_policy(data)


def test_defaults_and_the_context_fields_as_typed_in_a_form() -> None:
    policy = RoutingPolicy()
    assert (policy.submit_delay_ms, policy.preselect_above, policy.context_fields) == (
        400, 0.5, [])
    assert RoutingPolicy(context_fields="prev_user, prev_agent").context_fields == [
        "prev_user", "prev_agent"]
    assert RoutingPolicy(context_fields=str(["a", "b"])).context_fields == ["a", "b"]


# -- progress and pace ----------------------------------------------------------------------


def test_progress_counts_down_as_the_person_answers(app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "ann", "sentiment")
    assert ("**6** items left for you · **6** in the project · **0** done today (0 in all)"
            in texts(app).replace("\\", ""))
    _click(app, "neutral")
    _click(app, "Submit")
    page = texts(app)
    # bob's slot keeps the item open in the project; for ann it is done
    assert "**5** items left for you · **6** in the project · **1** done today (1 in all)" in page
    assert "median" in page and "min** left at that pace" in page
    assert not [e for e in app.expander if e.label.startswith("Project queue (owners")]


def test_owners_see_the_queue_and_who_holds_leases(app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "olga", "sentiment")
    _click(app, "Start annotating")
    [queue] = [e for e in app.expander if e.label.startswith("Project queue (owners")]
    frames = [d.value for d in queue.dataframe]
    waiting = frames[0]
    assert set(waiting["role"]) == {"annotator"}
    assert waiting["pending"].sum() + waiting["leased"].sum() == 12  # 6 items x 2 people
    assert list(frames[1]["lease holder"]) == ["olga"]  # the task on olga's screen


@pytest.fixture
def seeded(store: Store) -> Seeded:
    return seed(store)


def test_my_progress_on_known_answers(store: Store, seeded: Seeded) -> None:
    pid = seeded.projects["sentiment"]
    for seconds in (2.0, 4.0, 9.0):
        view = open_next_task(store, "ann", pid)
        assert view is not None
        submit_answer(store, view, "ann", {"label": "neutral"}, seconds=seconds)
    open_next_task(store, "bob", pid)  # bob holds one item: still left for ann
    with store.session() as session:
        ann = my_progress(session, "ann", pid)
        tomorrow = my_progress(session, "ann", pid, now=utcnow() + timedelta(days=1))
        bob = my_progress(session, "bob", pid)
        overview = queue_overview(session, pid)
    assert (ann.left_for_me, ann.left_overall, ann.done_today, ann.done_total) == (3, 6, 3, 3)
    assert ann.median_seconds == 4.0 and ann.minutes_left == pytest.approx(3 * 4 / 60)
    assert (tomorrow.done_today, tomorrow.done_total) == (0, 3)
    assert (bob.left_for_me, bob.done_total, bob.median_seconds) == (6, 0, None)
    assert [(h.who, h.tasks) for h in overview.leases] == [("bob", 1)]
    [row] = overview.rows
    assert (row.role, row.worker_kind, row.waiting_for, row.pending, row.leased) == (
        "annotator", "human", "anyone", 8, 1)


# -- context --------------------------------------------------------------------------------

TURNS = {"prev_agent": "Does that question interest you?",
         "prev_user": "because my finger is happy",
         "agent": "Why do you say your finger is happy?", "bot": "E.L.I.Z.A."}


def _dialogue_project(ui_db: UiDb, fields: list[str]) -> int:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=0, context_fields=fields)
    schema = LabelSchema(kind="classification", labels=LABELS)
    with ui_db.store.session() as session:
        project = create_project(session, "dialogue", schema, policy=policy)
        grant(session, "ann", "dialogue")
        item = Item(project_id=project.id, external_id="c1", text="do you rember japan",
                    data={}, meta=TURNS)
        session.add(item)
        session.flush()
        plan_initial_tasks(session, project, policy, [PlannedItem(item.id, item.external_id)])
        return project.id


def test_context_fields_are_shown_as_a_dialogue_above_the_item(app: AppTest,
                                                               ui_db: UiDb) -> None:
    pid = _dialogue_project(ui_db, ["prev_agent", "prev_user", "agent", "missing"])
    sign_in(app, ui_db, "ann")
    app.selectbox(key="w:sidebar:project").select(pid).run()
    assert not app.exception, app.exception
    shown = [t.value for t in app.text]
    assert shown[:4] == [TURNS["prev_agent"], TURNS["prev_user"], TURNS["agent"],
                         "do you rember japan"]  # the turns in order, then the item
    assert [m.name for m in app.chat_message] == ["agent", "user", "agent"]
    assert "E.L.I.Z.A." not in shown  # only the fields the policy names


def test_item_context_keeps_the_policys_order_and_skips_what_is_missing() -> None:
    assert item_context(["prev_user", "x", "note"], {"prev_user": "hi", "x": ""},
                        {"note": 3}) == (("prev_user", "hi"), ("note", "3"))
    assert item_context([], TURNS, {}) == ()


def test_the_demo_shows_the_dialogue_before_each_message(app: AppTest, ui_db: UiDb) -> None:
    """`annotate demo` imports ConvAbuse's turns into the item's metadata and its policy names
    them; with slots for people added (its items come with people's answers), the
    workspace shows them above the message."""
    from annotate.queue.reconcile import set_policy
    from annotate.services.demo import DEMO_POLICY, create_demo_project

    create_demo_project(ui_db.store, n_items=2)
    with ui_db.store.session() as session:
        project = session.scalars(select(Project).where(Project.name == "convabuse-demo")).one()
        set_policy(session, project, DEMO_POLICY.model_copy(update={"human_annotations": 20}))
        item = session.scalars(select(Item).where(Item.project_id == project.id)
                               .order_by(Item.id)).first()
        assert item is not None
        turns = [item.meta["prev_agent"], item.meta["prev_user"], item.meta["agent"], item.text]
        pid = project.id
    sign_in(app, ui_db, "olga")
    app.selectbox(key="w:sidebar:project").select(pid).run()
    _click(app, "Start annotating")
    assert [t.value for t in app.text][:4] == turns
    assert [m.name for m in app.chat_message] == ["agent", "user", "agent"]


# -- leases follow the person ---------------------------------------------------------------


def _leases(ui_db: UiDb, who: str) -> list[Task]:
    with ui_db.store.session() as session:
        return list(session.scalars(select(Task).where(Task.lease_owner == who,
                                                       Task.status == "leased")))


def test_an_owner_signing_in_claims_nothing_until_they_start(app: AppTest,
                                                            ui_db: UiDb) -> None:
    sign_in(app, ui_db, "olga", "sentiment")
    assert "no task is claimed for you until you start annotating" in texts(app)
    assert "6** items left for you" in texts(app)  # progress and the queue, no task
    assert not _leases(ui_db, "olga")
    _go_to(app, "views/review.py")
    _go_to(app, "views/workspace.py")
    assert not _leases(ui_db, "olga")  # still not: starting is a choice
    _click(app, "Start annotating")
    assert len(_leases(ui_db, "olga")) == 1 and button(app, "Submit")


def test_an_annotator_gets_a_task_leased_for_30_s_and_sign_out_gives_it_back(
        app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "ann", "sentiment")
    [task] = _leases(ui_db, "ann")
    assert task.lease_expires_at is not None
    ahead = (task.lease_expires_at - utcnow()).total_seconds()
    assert 20 < ahead <= PRESENCE_SECONDS  # a closed tab frees it within 30 s, not 5 min
    _click(app, "Sign out")
    assert not _leases(ui_db, "ann")
    with ui_db.store.session() as session:
        back = session.get_one(Task, task.id)
    assert back.status == "pending" and back.lease_owner is None


def test_a_run_of_the_open_page_extends_the_short_lease(app: AppTest,
                                                        ui_db: UiDb) -> None:
    """(The heartbeat itself, a fragment the browser runs, is in test_browser_leases.py.)"""
    sign_in(app, ui_db, "ann", "sentiment")
    [task] = _leases(ui_db, "ann")
    with ui_db.store.session() as session:  # as if the last beat was 25 s ago
        session.get_one(Task, task.id).lease_expires_at = utcnow() + timedelta(seconds=5)
    work = app.session_state["work"]
    work.extended_at -= 25
    app.run()  # a run of the page, as a beat of the fragment would do
    [again] = _leases(ui_db, "ann")
    assert again.lease_expires_at is not None
    assert (again.lease_expires_at - utcnow()).total_seconds() > 20


def _go_to(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at
