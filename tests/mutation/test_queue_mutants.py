"""The queue's edges, with known answers, on a real SQLite file: which task a claim picks under
each filter, what a lease, a release, a failure and an expiry leave behind, what a submit
stores. Leases are aged by writing ``lease_expires_at``, never by sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from annotate.errors import Conflict, NotFound
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import (
    Provenance,
    claim_next_task,
    claim_task,
    expire_exhausted,
    extend_lease,
    fail_task,
    release_task,
    submit_annotation,
    submit_suggestion,
    task_key,
)
from annotate.store.engine import Store, open_store
from annotate.store.models import Annotation, Item, Suggestion, Task, utcnow
from tests.dbs import SqliteTemplate
from tests.factories import make_project

LLM_ONLY = RoutingPolicy(human_annotations=0, llm_annotations=1, max_attempts=2)
LLM_FIRST = RoutingPolicy(human_annotations=1, llm_annotations=1, human_below_confidence=0.8,
                          max_attempts=1)


@pytest.fixture
def store(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Store]:
    s = open_store(sqlite_template.clone(tmp_path))
    yield s
    s.dispose()


def _tasks(store: Store) -> list[Task]:
    with store.session() as session:
        return list(session.scalars(select(Task).order_by(Task.id)))


def _set(store: Store, task_id: int, **values: object) -> None:
    with store.session() as session:
        session.execute(update(Task).where(Task.id == task_id).values(**values))


def _age_lease(store: Store, task_id: int) -> None:
    _set(store, task_id, lease_expires_at=utcnow() - timedelta(seconds=5))


def _close_to(when: datetime, expected: datetime) -> bool:
    return abs((when - expected).total_seconds()) < 5


def test_task_keys() -> None:
    assert task_key(7) == "task:7"
    assert task_key(7, "final") == "task:7"
    assert task_key(7, "blind") == "task:7:blind"


def test_a_claim_reports_the_task_and_leases_it_for_the_asked_time(store: Store) -> None:
    pid = make_project(store, 1, policy=LLM_ONLY)
    claimed = claim_next_task(store, "w", worker_kind="llm", lease_seconds=600)
    assert claimed is not None
    (task,) = _tasks(store)
    with store.session() as session:
        item_id = session.scalars(select(Item.id)).one()
    assert (claimed.id, claimed.project_id, claimed.item_id) == (task.id, pid, item_id)
    assert (claimed.role, claimed.worker_kind, claimed.lease_owner) == ("annotator", "llm", "w")
    assert claimed.attempts == 1 and _close_to(claimed.lease_expires_at,
                                               utcnow() + timedelta(seconds=600))
    assert task.status == "leased" and task.lease_owner == "w" and task.attempts == 1
    assert task.lease_expires_at == claimed.lease_expires_at


def test_claims_follow_priority_then_creation_order(store: Store) -> None:
    make_project(store, 3, policy=LLM_ONLY)
    first, second, third = (t.id for t in _tasks(store))
    _set(store, third, priority=5)
    order = []
    while (claimed := claim_next_task(store, "w", worker_kind="llm")) is not None:
        order.append(claimed.id)
    assert order == [third, first, second]


def test_a_claim_stays_in_its_project_and_skips_excluded_tasks(store: Store) -> None:
    make_project(store, 2, policy=LLM_ONLY, name="one")
    other = make_project(store, 2, policy=LLM_ONLY, name="two")
    ids = [t.id for t in _tasks(store) if t.project_id == other]
    claimed = claim_next_task(store, "w", worker_kind="llm", project_id=other, exclude=[ids[0]])
    assert claimed is not None and claimed.id == ids[1] and claimed.project_id == other
    assert claim_next_task(store, "w", worker_kind="llm", project_id=other,
                           exclude=[ids[0]]) is None


def test_an_assigned_task_goes_to_its_assignee_only(store: Store) -> None:
    make_project(store, 1, policy=RoutingPolicy(human_annotations=1, llm_annotations=0))
    (task,) = _tasks(store)
    _set(store, task.id, assignee="bob")
    assert claim_next_task(store, "ann") is None
    assert claim_task(store, task.id, "ann") is None
    claimed = claim_next_task(store, "bob", roles=["annotator"])
    assert claimed is not None and claimed.id == task.id


def test_a_task_at_its_attempt_limit_is_not_claimable(store: Store) -> None:
    make_project(store, 2, policy=LLM_ONLY)
    spent, fresh = (t.id for t in _tasks(store))
    _set(store, spent, attempts=2)  # max_attempts is 2
    claimed = claim_next_task(store, "w", worker_kind="llm")
    assert claimed is not None and claimed.id == fresh
    assert claim_task(store, spent, "w") is None


def test_an_empty_claim_fails_only_the_exhausted_tasks_of_its_project(store: Store) -> None:
    make_project(store, 1, policy=LLM_ONLY, name="one")
    two = make_project(store, 1, policy=LLM_ONLY, name="two")
    mine, theirs = (t.id for t in _tasks(store))
    for task_id in (mine, theirs):
        _set(store, task_id, status="leased", lease_owner="w", attempts=2,
             lease_expires_at=utcnow() - timedelta(seconds=5))
    assert claim_next_task(store, "w", worker_kind="llm", project_id=two) is None
    status = {t.id: t.status for t in _tasks(store)}
    assert status == {mine: "leased", theirs: "failed"}


def test_expiry_fails_exactly_the_leases_that_ran_out_on_their_last_attempt(store: Store) -> None:
    make_project(store, 5, policy=LLM_ONLY)
    last, early, running, pending, reasoned = (t.id for t in _tasks(store))
    past = utcnow() - timedelta(seconds=5)
    _set(store, last, status="leased", attempts=2, lease_expires_at=past)
    _set(store, early, status="leased", attempts=1, lease_expires_at=past)
    _set(store, running, status="leased", attempts=2,
         lease_expires_at=utcnow() + timedelta(hours=1))
    _set(store, pending, attempts=2)
    _set(store, reasoned, status="leased", attempts=3, lease_expires_at=past,
         failure_reason="invalid JSON")
    with store.session() as session:  # a lease ending exactly now has not run out yet
        assert expire_exhausted(session, past) == 0
    with store.session() as session:
        assert expire_exhausted(session, utcnow()) == 2
    with store.session() as session:
        assert expire_exhausted(session, utcnow()) == 0
    after = {t.id: (t.status, t.failure_reason) for t in _tasks(store)}
    assert after == {last: ("failed", "lease expired on the last attempt"),
                     early: ("leased", None), running: ("leased", None),
                     pending: ("pending", None), reasoned: ("failed", "invalid JSON")}


def test_an_expired_llm_first_task_hands_its_item_to_people(store: Store) -> None:
    make_project(store, 1, policy=LLM_FIRST)
    (task,) = _tasks(store)
    assert task.worker_kind == "llm"
    _set(store, task.id, status="leased", attempts=1, lease_expires_at=utcnow())
    with store.session() as session:
        assert expire_exhausted(session, utcnow() + timedelta(seconds=1)) == 1
    assert [(t.role, t.worker_kind, t.status) for t in _tasks(store)] == [
        ("annotator", "llm", "failed"), ("annotator", "human", "pending")]


def test_claiming_one_given_task(store: Store) -> None:
    make_project(store, 2, policy=LLM_ONLY)
    first, done = (t.id for t in _tasks(store))
    with pytest.raises(NotFound, match="no task 999"):
        claim_task(store, 999, "w")
    claimed = claim_task(store, first, "ann", lease_seconds=120)
    assert claimed is not None and claimed.attempts == 1 and claimed.lease_owner == "ann"
    task = _tasks(store)[0]
    assert (claimed.id, claimed.project_id, claimed.item_id) == (first, task.project_id,
                                                                 task.item_id)
    assert (claimed.role, claimed.worker_kind) == ("annotator", "llm")
    assert _close_to(claimed.lease_expires_at, utcnow() + timedelta(seconds=120))
    assert claim_task(store, first, "bob") is None  # ann holds it
    _age_lease(store, first)
    again = claim_task(store, first, "bob")
    assert again is not None and again.attempts == 2 and again.lease_owner == "bob"
    (task, _) = _tasks(store)
    assert task.status == "leased" and task.lease_owner == "bob" and task.attempts == 2
    assert task.lease_expires_at == again.lease_expires_at
    _set(store, done, status="done")
    assert claim_task(store, done, "w") is None


def test_extend_lease_moves_the_expiry(store: Store) -> None:
    make_project(store, 1, policy=LLM_ONLY)
    claimed = claim_next_task(store, "w", worker_kind="llm", lease_seconds=10)
    assert claimed is not None
    expires = extend_lease(store, claimed.id, "w", seconds=900)
    assert _close_to(expires, utcnow() + timedelta(seconds=900))
    assert _tasks(store)[0].lease_expires_at == expires
    with pytest.raises(NotFound):
        extend_lease(store, 999, "w")


def test_release_returns_the_task_without_spending_an_attempt(store: Store) -> None:
    make_project(store, 1, policy=LLM_ONLY)
    claimed = claim_next_task(store, "w", worker_kind="llm")
    assert claimed is not None
    release_task(store, claimed.id, "w")
    (task,) = _tasks(store)
    assert (task.status, task.lease_owner, task.lease_expires_at, task.attempts) == (
        "pending", None, None, 0)
    with pytest.raises(Conflict, match="not leased by w"):
        release_task(store, claimed.id, "w")  # no longer held
    _set(store, claimed.id, status="leased", lease_owner="w", attempts=2)
    release_task(store, claimed.id, "w")
    assert _tasks(store)[0].attempts == 1
    _set(store, claimed.id, status="leased", lease_owner="w", attempts=0)
    release_task(store, claimed.id, "w")  # never below zero
    assert _tasks(store)[0].attempts == 0


def test_a_failed_attempt_returns_the_task_until_the_last_one(store: Store) -> None:
    make_project(store, 1, policy=LLM_ONLY)
    first = claim_next_task(store, "w", worker_kind="llm")
    assert first is not None
    assert fail_task(store, first.id, "w", "invalid JSON") == "pending"
    (task,) = _tasks(store)
    assert (task.status, task.lease_owner, task.lease_expires_at, task.failure_reason) == (
        "pending", None, None, "invalid JSON")
    second = claim_next_task(store, "v", worker_kind="llm")
    assert second is not None and second.attempts == 2
    with pytest.raises(Conflict):
        fail_task(store, second.id, "w", "not mine")
    assert fail_task(store, second.id, "v", "timeout") == "failed"
    (task,) = _tasks(store)
    assert (task.status, task.lease_owner, task.failure_reason) == (
        "failed", "v", "timeout (after 2 attempts)")


def test_a_failed_llm_first_task_hands_its_item_to_people(store: Store) -> None:
    make_project(store, 1, policy=LLM_FIRST)
    claimed = claim_next_task(store, "w", worker_kind="llm")
    assert claimed is not None
    assert fail_task(store, claimed.id, "w", "invalid JSON") == "failed"
    assert [(t.worker_kind, t.status) for t in _tasks(store)] == [
        ("llm", "failed"), ("human", "pending")]


def test_a_failed_human_task_creates_nothing(store: Store) -> None:
    make_project(store, 1, policy=RoutingPolicy(human_annotations=1, llm_annotations=0,
                                                human_below_confidence=0.8, max_attempts=1))
    claimed = claim_next_task(store, "ann")
    assert claimed is not None
    assert fail_task(store, claimed.id, "ann", "gave up") == "failed"
    assert len(_tasks(store)) == 1


def test_submit_stores_the_full_provenance(store: Store) -> None:
    pid = make_project(store, 1, policy=LLM_ONLY)
    claimed = claim_next_task(store, "worker-1", worker_kind="llm")
    assert claimed is not None
    prov = Provenance(annotator_id="model-x", annotator_kind="llm", rationale="because",
                      confidence=0.75, guideline_version="g1", prompt_hash="h1", model="m",
                      params={"temperature": 0}, cost_usd=0.5, latency_s=1.5,
                      human_seconds=None, suggestion_visible=True, suggestion_id=None,
                      source="test", meta={"k": 1})
    with pytest.raises(Conflict, match="not leased by model-x"):
        submit_annotation(store, claimed.id, {"label": "a"}, prov)
    returned = submit_annotation(store, claimed.id, {"label": "a"}, prov, worker_id="worker-1")
    with store.session() as session:
        stored = session.scalars(select(Annotation)).one()
    for annotation in (returned, stored):
        assert (annotation.project_id, annotation.item_id, annotation.task_id) == (
            pid, claimed.item_id, claimed.id)
        assert (annotation.idempotency_key, annotation.role, annotation.phase) == (
            f"task:{claimed.id}", "annotator", "final")
        assert (annotation.annotator_id, annotation.annotator_kind, annotation.value) == (
            "model-x", "llm", {"label": "a"})
        assert (annotation.rationale, annotation.confidence, annotation.guideline_version,
                annotation.prompt_hash, annotation.model) == ("because", 0.75, "g1", "h1", "m")
        assert (annotation.params, annotation.cost_usd, annotation.latency_s) == (
            {"temperature": 0}, 0.5, 1.5)
        assert (annotation.suggestion_visible, annotation.source, annotation.meta) == (
            True, "test", {"k": 1})
    (task,) = _tasks(store)
    assert task.status == "done" and task.done_at is not None and task.lease_expires_at is None


def test_submit_without_params_or_meta_stores_empty_objects(store: Store) -> None:
    make_project(store, 1, policy=LLM_ONLY)
    claimed = claim_next_task(store, "w", worker_kind="llm")
    assert claimed is not None
    submit_annotation(store, claimed.id, {"label": "b"}, Provenance("w", "llm"))
    with store.session() as session:
        stored = session.scalars(select(Annotation)).one()
    assert stored.params == {} and stored.meta == {} and stored.source == "queue"


def test_submit_to_a_missing_or_unleased_task_is_refused(store: Store) -> None:
    make_project(store, 1, policy=LLM_ONLY)
    (task,) = _tasks(store)
    with pytest.raises(NotFound, match="no task 999"):
        submit_annotation(store, 999, {"label": "a"}, Provenance("w", "llm"))
    with pytest.raises(Conflict, match="status pending"):
        submit_annotation(store, task.id, {"label": "a"}, Provenance("w", "llm"))


def test_a_blind_answer_is_stored_once_and_leaves_the_task_open(store: Store) -> None:
    make_project(store, 1, policy=RoutingPolicy(human_annotations=1, llm_annotations=0))
    claimed = claim_next_task(store, "ann")
    assert claimed is not None
    blind = submit_annotation(store, claimed.id, {"label": "a"}, Provenance("ann"),
                              phase="blind")
    again = submit_annotation(store, claimed.id, {"label": "b"}, Provenance("ann"),
                              phase="blind")
    assert again.id == blind.id and again.value == {"label": "a"}
    assert blind.idempotency_key == f"task:{claimed.id}:blind" and blind.phase == "blind"
    assert _tasks(store)[0].status == "leased"
    final = submit_annotation(store, claimed.id, {"label": "b"}, Provenance("ann"))
    assert final.id != blind.id and final.value == {"label": "b"}
    assert _tasks(store)[0].status == "done"


def test_a_moderator_may_decide_none(store: Store) -> None:
    make_project(store, 1, policy=RoutingPolicy(human_annotations=1, llm_annotations=1))
    for worker, kind, label in (("ann", "human", "a"), ("m", "llm", "b")):
        claimed = claim_next_task(store, worker, worker_kind=kind)
        assert claimed is not None
        submit_annotation(store, claimed.id, {"label": label}, Provenance(worker, kind))
    moderator = claim_next_task(store, "m", worker_kind="llm", roles=["moderator"])
    assert moderator is not None
    stored = submit_annotation(store, moderator.id, {"decision": "none", "why": "x"},
                               Provenance("m", "llm", confidence=0.9))
    assert stored.value == {"decision": "none"}
    adjudicator = claim_next_task(store, "olga", roles=["adjudicator"])
    assert adjudicator is not None and adjudicator.item_id == moderator.item_id


def test_a_helper_suggestion_is_stored_once_and_opens_the_human_tasks(store: Store) -> None:
    pid = make_project(store, 1, policy=RoutingPolicy(helper_first=True, human_annotations=2,
                                                      llm_annotations=0))
    helper = claim_next_task(store, "h", worker_kind="llm", roles=["helper"])
    assert helper is not None
    candidates = [{"value": {"label": "a"}, "text": "a", "score": 0.9}]
    with pytest.raises(Conflict):
        submit_suggestion(store, helper.id, "someone-else", candidates)
    first = submit_suggestion(store, helper.id, "h", candidates, model="m",
                              guideline_version="g1", prompt_hash="p1")
    assert submit_suggestion(store, helper.id, "h", []) == first
    with store.session() as session:
        stored = session.scalars(select(Suggestion)).one()
    assert stored.id == first and stored.candidates == candidates
    assert (stored.project_id, stored.item_id, stored.task_id) == (pid, helper.item_id, helper.id)
    assert (stored.model, stored.guideline_version, stored.prompt_hash) == ("m", "g1", "p1")
    assert [(t.role, t.worker_kind, t.status, t.slot) for t in _tasks(store)] == [
        ("helper", "llm", "done", 0), ("annotator", "human", "pending", 0),
        ("annotator", "human", "pending", 1)]


def test_a_submit_that_lost_the_race_returns_the_winners_annotation(store: Store) -> None:
    pid = make_project(store, 1, policy=LLM_ONLY)
    claimed = claim_next_task(store, "w", worker_kind="llm")
    assert claimed is not None
    with store.session() as session:  # a concurrent submit stored its answer a moment ago
        session.add(Annotation(project_id=pid, item_id=claimed.item_id, task_id=claimed.id,
                               idempotency_key=f"task:{claimed.id}", role="annotator",
                               annotator_id="w", annotator_kind="llm", value={"label": "b"},
                               phase="final", source="queue"))
    again = submit_annotation(store, claimed.id, {"label": "a"}, Provenance("w", "llm"))
    assert again.value == {"label": "b"} and again.task_id == claimed.id
    with store.session() as session:
        assert session.scalars(select(Annotation.value)).all() == [{"label": "b"}]


def test_a_span_answer_is_checked_against_the_item_text(store: Store) -> None:
    from annotate.kinds.schema import LabelSchema
    from annotate.projects.catalog import create_project
    from annotate.queue.routing import PlannedItem, plan_initial_tasks

    with store.session() as session:
        project = create_project(session, "spans", LabelSchema(kind="spans", labels=["PER"]),
                                 policy=LLM_ONLY)
        item = Item(project_id=project.id, external_id="s1", text="Anna met Bob.")
        session.add(item)
        session.flush()
        plan_initial_tasks(session, project, LLM_ONLY, [PlannedItem(item.id, "s1")])
    claimed = claim_next_task(store, "w", worker_kind="llm")
    assert claimed is not None
    stored = submit_annotation(store, claimed.id, {"spans": [
        {"start": 9, "end": 12, "label": "PER"}]}, Provenance("w", "llm"))
    assert stored.value == {"spans": [{"start": 9, "end": 12, "label": "PER", "text": "Bob"}]}
