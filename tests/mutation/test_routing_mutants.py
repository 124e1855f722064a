"""Routing with known answers: the rows a plan creates, the follow-ups each finished task
brings, and the thresholds at their boundaries (real SQLite file, no mocks)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import Provenance, claim_next_task, submit_annotation
from annotate.queue.routing import (
    CANCELLED,
    Done,
    PlannedItem,
    after_annotators_done,
    after_llm_first,
    disagree,
    needs_adjudication,
    on_task_done,
    plan_initial_tasks,
    task_row,
)
from annotate.store.engine import Store, open_store
from annotate.store.models import Annotation, Item, Project, Task
from tests.dbs import SqliteTemplate

NOW = datetime(2026, 1, 2, 3, 4, 5)
ROW = ("role", "worker_kind", "slot", "status", "priority", "attempts", "max_attempts")


@pytest.fixture
def store(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Store]:
    s = open_store(sqlite_template.clone(tmp_path))
    yield s
    s.dispose()


def _plan(store: Store, policy: RoutingPolicy, items: list[PlannedItem] | None = None,
          answers: dict[str, list[tuple[str, str]]] | None = None) -> tuple[int, int]:
    """A project with items i0, i1, ... (``answers`` already stored per external id as
    ``(annotator_kind, label)``), planned under ``policy``; returns (project id, created)."""
    items = items or [PlannedItem(0, "i0")]
    with store.session() as session:
        project = create_project(session, "p", LabelSchema(kind="classification",
                                                           labels=["a", "b"]), policy=policy)
        rows = [Item(project_id=project.id, external_id=p.external_id, text=f"text {p.external_id}")
                for p in items]
        session.add_all(rows)
        session.flush()
        for row in rows:
            for n, (kind, label) in enumerate((answers or {}).get(row.external_id, [])):
                session.add(Annotation(
                    project_id=project.id, item_id=row.id, role="annotator",
                    idempotency_key=f"import:{row.id}:{n}", annotator_id=f"{kind}{n}",
                    annotator_kind=kind, value={"label": label}, phase="final",
                    source="import"))
        session.flush()
        planned = [PlannedItem(row.id, p.external_id, p.humans_present, p.llms_present)
                   for row, p in zip(rows, items, strict=True)]
        return project.id, plan_initial_tasks(session, project, policy, planned)


def _rows(store: Store) -> list[tuple[object, ...]]:
    with store.session() as session:
        tasks = session.scalars(select(Task).order_by(Task.id))
        return [tuple(getattr(t, c) for c in ROW) for t in tasks]


def _answer(store: Store, worker: str, kind: str, label: str, confidence: float | None = None,
            role: str = "annotator") -> None:
    task = claim_next_task(store, worker, worker_kind=kind, roles=[role])
    assert task is not None, f"no {role} task for {worker}"
    submit_annotation(store, task.id, {"label": label}, Provenance(worker, kind,
                                                                   confidence=confidence))


def test_task_row_takes_priority_and_attempts_from_the_policy() -> None:
    policy = RoutingPolicy(llm_priority=7, human_priority=-2, max_attempts=4)
    assert task_row(3, policy, 9, "annotator", "llm", 1, NOW) == {
        "project_id": 3, "item_id": 9, "role": "annotator", "worker_kind": "llm", "slot": 1,
        "status": "pending", "priority": 7, "attempts": 0, "max_attempts": 4,
        "created_at": NOW, "updated_at": NOW}
    human = task_row(3, policy, 9, "adjudicator", "human", 0)
    assert human["priority"] == -2 and human["created_at"] == human["updated_at"]
    assert isinstance(human["created_at"], datetime)


def test_disagree_needs_two_different_answers() -> None:
    assert not disagree("classification", [])
    assert not disagree("classification", [{"label": "a"}])
    assert not disagree("classification", [{"label": "a"}, {"label": "a"}])
    assert disagree("classification", [{"label": "a"}, {"label": "a"}, {"label": "b"}])
    assert not disagree("multilabel", [{"labels": ["x", "y"]}, {"labels": ["y", "x"]}])


def test_adjudication_below_the_threshold_or_without_a_decision() -> None:
    policy = RoutingPolicy(adjudicate_below=0.6)
    assert needs_adjudication(policy, None, 0.99)
    assert needs_adjudication(policy, {"decision": "none"}, 0.99)
    assert needs_adjudication(policy, {"label": "a"}, 0.59)
    assert not needs_adjudication(policy, {"label": "a"}, 0.6)  # at the threshold: accepted
    assert needs_adjudication(policy, {"label": "a"}, None)  # no confidence counts as 0
    assert not needs_adjudication(RoutingPolicy(adjudicate_below=0.0), {"label": "a"}, None)


def test_the_plan_creates_each_slot_with_the_policy_priorities(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=2, llm_annotations=1, human_priority=4,
                           llm_priority=1, max_attempts=5)
    _, created = _plan(store, policy)
    assert created == 3
    assert _rows(store) == [("annotator", "human", 0, "pending", 4, 0, 5),
                            ("annotator", "human", 1, "pending", 4, 0, 5),
                            ("annotator", "llm", 0, "pending", 1, 0, 5)]


def test_answers_already_present_reduce_the_plan(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=2, llm_annotations=2)
    items = [PlannedItem(0, "i0", humans_present=1, llms_present=2),
             PlannedItem(0, "i1", humans_present=5, llms_present=0)]
    _, created = _plan(store, policy, items)
    assert created == 3
    assert [r[:3] for r in _rows(store)] == [("annotator", "human", 0),
                                             ("annotator", "llm", 0), ("annotator", "llm", 1)]


def test_helper_first_plans_the_helper_and_its_llm_slots_only(store: Store) -> None:
    policy = RoutingPolicy(helper_first=True, human_annotations=2, llm_annotations=1,
                           llm_priority=3)
    _, created = _plan(store, policy)
    assert created == 2
    assert [r[:5] for r in _rows(store)] == [("helper", "llm", 0, "pending", 3),
                                             ("annotator", "llm", 0, "pending", 3)]


def test_llm_first_plans_no_people_until_the_llm_answers(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1, human_below_confidence=0.8)
    _, created = _plan(store, policy)
    assert created == 1 and [r[:2] for r in _rows(store)] == [("annotator", "llm")]


def test_llm_first_with_the_llm_answer_already_there_asks_people(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1, human_below_confidence=0.8)
    _, created = _plan(store, policy, [PlannedItem(0, "i0", llms_present=1)])
    assert created == 1 and [r[:2] for r in _rows(store)] == [("annotator", "human")]


def test_a_fully_answered_item_that_disagrees_goes_to_the_moderator(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1)
    items = [PlannedItem(0, "i0", 1, 1), PlannedItem(0, "i1", 1, 1)]
    answers = {"i0": [("human", "a"), ("llm", "b")], "i1": [("human", "a"), ("llm", "a")]}
    _, created = _plan(store, policy, items, answers)
    assert created == 0  # the count is of planned rows; the moderator is a follow-up
    with store.session() as session:
        rows = session.execute(select(Item.external_id, Task.role, Task.worker_kind)
                               .join(Item, Item.id == Task.item_id)).all()
    assert [tuple(r) for r in rows] == [("i0", "moderator", "llm")]


def test_without_the_moderator_a_disagreement_goes_to_a_person(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=2, llm_annotations=0,
                           moderator_on_disagreement=False)
    _plan(store, policy)
    _answer(store, "ann", "human", "a")
    assert _rows(store)[-1][:2] == ("annotator", "human")  # one answer: nothing yet
    _answer(store, "bob", "human", "b")
    assert [r[:3] for r in _rows(store)][-1] == ("adjudicator", "human", 0)
    assert len(_rows(store)) == 3


def test_no_escalation_while_an_annotator_task_is_open(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=2, llm_annotations=1)
    _plan(store, policy)
    _answer(store, "ann", "human", "a")
    _answer(store, "m", "llm", "b")  # disagrees, but bob has not answered yet
    assert len(_rows(store)) == 3
    _answer(store, "bob", "human", "a")
    assert [r[:2] for r in _rows(store)][-1] == ("moderator", "llm")


def test_a_sure_moderator_settles_the_item_and_an_unsure_one_calls_a_person(
        store: Store) -> None:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1, adjudicate_below=0.7)
    _plan(store, policy, [PlannedItem(0, "i0"), PlannedItem(0, "i1")])
    for _ in range(2):
        _answer(store, "ann", "human", "a")
        _answer(store, "m", "llm", "b")
    _answer(store, "mod", "llm", "a", confidence=0.7, role="moderator")  # at the threshold
    assert claim_next_task(store, "olga", roles=["adjudicator"]) is None
    _answer(store, "mod", "llm", "a", confidence=0.69, role="moderator")
    assert claim_next_task(store, "olga", roles=["adjudicator"]) is not None
    assert [r[:3] for r in _rows(store)].count(("adjudicator", "human", 0)) == 1
    assert len(_rows(store)) == 7  # 2 x (person, LLM, moderator) + one adjudicator


def test_llm_first_asks_people_below_the_threshold_only(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=2, llm_annotations=1, human_below_confidence=0.8)
    items = [PlannedItem(0, f"i{n}") for n in range(3)]
    _plan(store, policy, items)
    for confidence in (0.8, 0.79, None):  # at the threshold: sure; no confidence: unsure
        _answer(store, "m", "llm", "a", confidence=confidence)
    with store.session() as session:
        asked = session.execute(select(Item.external_id, Task.slot).join(
            Item, Item.id == Task.item_id).where(Task.worker_kind == "human")
            .order_by(Item.external_id, Task.slot)).all()
    assert [tuple(r) for r in asked] == [("i1", 0), ("i1", 1), ("i2", 0), ("i2", 1)]


def test_llm_first_with_two_llm_answers_waits_for_both_and_asks_when_they_differ(
        store: Store) -> None:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=2, human_below_confidence=0.5)
    _plan(store, policy)
    _answer(store, "m1", "llm", "a", confidence=0.9)
    assert [r[1] for r in _rows(store)] == ["llm", "llm"]  # the second LLM task is open
    _answer(store, "m2", "llm", "b", confidence=0.9)
    assert [r[1] for r in _rows(store)] == ["llm", "llm", "human"]


def test_a_finished_task_of_another_role_creates_nothing(store: Store) -> None:
    pid, _ = _plan(store, RoutingPolicy(human_annotations=1, llm_annotations=0))
    with store.session() as session:
        item_id = session.scalars(select(Item.id)).one()
        done = Done(project_id=pid, kind="classification", item_id=item_id,
                    role="adjudicator", value={"label": "a"}, confidence=None)
        assert on_task_done(session, done, RoutingPolicy()) == 0
        helper = Done(project_id=pid, kind="classification", item_id=item_id,
                      role="helper", value=None, confidence=None, worker_kind="llm")
        project = session.get_one(Project, pid)
        assert project.id == pid
        assert on_task_done(session, helper, RoutingPolicy(human_annotations=3)) == 2
    assert [r[:3] for r in _rows(store)] == [("annotator", "human", 0),
                                             ("annotator", "human", 1),
                                             ("annotator", "human", 2)]


def test_double_annotation_follows_each_items_external_id(store: Store) -> None:
    # with a 0.5 share, i1 is picked for a second person and i0 is not (a stable hash)
    policy = RoutingPolicy(human_annotations=1, llm_annotations=0, double_annotation_share=0.5)
    assert (policy.humans_for("i0"), policy.humans_for("i1")) == (1, 2)
    _plan(store, policy, [PlannedItem(0, "i0"), PlannedItem(0, "i1")])
    helper = policy.model_copy(update={"helper_first": True})
    pid = _project_id(store)
    with store.session() as session:
        items = {external: item_id for external, item_id in
                 session.execute(select(Item.external_id, Item.id))}
        for external_id in ("i0", "i1"):
            done = Done(project_id=pid, kind="classification", item_id=items[external_id],
                        role="helper", value=None, confidence=None, worker_kind="llm")
            session.execute(delete(Task).where(Task.item_id == items[external_id]))
            assert on_task_done(session, done, helper) == policy.humans_for(external_id)
    with store.session() as session:
        per_item = session.execute(select(Item.external_id, Task.slot).join(
            Item, Item.id == Task.item_id).order_by(Item.external_id, Task.slot)).all()
    assert [tuple(r) for r in per_item] == [("i0", 0), ("i1", 0), ("i1", 1)]


def test_llm_first_asks_the_double_share_too(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1, human_below_confidence=0.9,
                           double_annotation_share=0.5)
    _plan(store, policy, [PlannedItem(0, "i0"), PlannedItem(0, "i1")])
    for _ in range(2):
        _answer(store, "m", "llm", "a", confidence=0.1)
    with store.session() as session:
        asked = session.execute(select(Item.external_id).select_from(Task).join(
            Item, Item.id == Task.item_id).where(Task.worker_kind == "human")
            .order_by(Item.external_id)).scalars().all()
    assert asked == ["i0", "i1", "i1"]


def _project_id(store: Store) -> int:
    with store.session() as session:
        return session.scalars(select(Project.id)).one()


def test_llm_first_leaves_confident_items_to_the_llm(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1, human_below_confidence=0.5)
    _plan(store, policy, [PlannedItem(0, "i0"), PlannedItem(0, "i1")])
    for _ in range(2):
        _answer(store, "m", "llm", "a", confidence=0.95)
    assert [r[1] for r in _rows(store)] == ["llm", "llm"]  # nobody asked, for either item


def test_llm_first_ignores_cancelled_llm_tasks(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=2, human_below_confidence=0.5)
    pid, _ = _plan(store, policy)
    with store.session() as session:
        second = session.scalars(select(Task).where(Task.slot == 1)).one()
        second.status = CANCELLED  # a policy change no longer wants it
    _answer(store, "m", "llm", "a", confidence=0.9)
    assert [r[1] for r in _rows(store)] == ["llm", "llm"]
    with store.session() as session:  # every LLM task cancelled: people are asked
        item_id = session.scalars(select(Item.id)).one()
        session.execute(update(Task).values(status=CANCELLED))
        session.execute(delete(Annotation))
        assert after_llm_first(session, pid, "classification", policy, item_id) == 1


def test_follow_up_counts(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1)
    pid, _ = _plan(store, policy)
    with store.session() as session:
        item_id = session.scalars(select(Item.id)).one()

    def done(role: str, kind: str, value: dict[str, str] | None = None) -> Done:
        return Done(project_id=pid, kind="classification", item_id=item_id, role=role,
                    value=value, confidence=0.99, worker_kind=kind)

    with store.session() as session:  # both annotator tasks still open
        assert on_task_done(session, done("annotator", "human"), policy) == 0
    _answer(store, "ann", "human", "a")
    _answer(store, "m", "llm", "a")
    with store.session() as session:  # they agree
        assert on_task_done(session, done("annotator", "llm"), policy) == 0
        assert after_annotators_done(session, pid, "classification", policy, item_id) == 0
        sure = policy.model_copy(update={"human_below_confidence": 0.5})
        assert on_task_done(session, done("annotator", "llm"), sure) == 0
        assert on_task_done(session, done("helper", "llm"), policy) == 0  # already there
        assert on_task_done(session, done("moderator", "llm", {"label": "a"}), policy) == 0


def test_llm_first_counts_an_imported_llm_answer_beside_its_own_tasks() -> None:
    """Found by the mutation run: an item imported with one LLM answer and given one more LLM
    task has two answers for one task; agreeing, confident answers need no person."""
    from annotate.queue.routing import llm_unsure

    policy = RoutingPolicy(human_below_confidence=0.9)
    sure = [({"label": "pos"}, 0.99), ({"label": "pos"}, 0.95)]
    assert llm_unsure("classification", policy, ["done"], sure) is False
    assert llm_unsure("classification", policy, ["done"], [({"label": "pos"}, 0.99),
                                                           ({"label": "neg"}, 0.99)]) is True
    assert llm_unsure("classification", policy, ["done", "failed"], sure) is True
    assert llm_unsure("classification", policy, ["done", "leased"], sure) is None
    assert llm_unsure("classification", policy, ["failed"], []) is True
