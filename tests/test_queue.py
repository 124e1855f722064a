"""The shared task queue on the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, update

from annotate.errors import Conflict, InvalidInput
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import (
    Provenance,
    claim_next_task,
    extend_lease,
    fail_task,
    release_task,
    submit_annotation,
)
from annotate.store.engine import Store
from annotate.store.models import Annotation, Task
from tests.factories import make_project


def test_claim_submit_and_empty_queue(store: Store) -> None:
    make_project(store, 2)
    seen = set()
    for _ in range(2):
        task = claim_next_task(store, "w1", worker_kind="llm")
        assert task is not None and task.id not in seen
        seen.add(task.id)
        submit_annotation(store, task.id, {"label": "a"}, Provenance("w1", "llm"))
    assert claim_next_task(store, "w1", worker_kind="llm") is None


def test_repeated_submit_creates_one_annotation(store: Store) -> None:
    make_project(store, 1)
    task = claim_next_task(store, "w1", worker_kind="llm")
    assert task is not None
    first = submit_annotation(store, task.id, {"label": "a"}, Provenance("w1", "llm"))
    again = submit_annotation(store, task.id, {"label": "b"}, Provenance("w1", "llm"))
    assert again.id == first.id and again.value == {"label": "a"}
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Annotation)) == 1


def test_invalid_value_is_not_stored_and_task_stays_leased(store: Store) -> None:
    make_project(store, 1)
    task = claim_next_task(store, "w1", worker_kind="llm")
    assert task is not None
    with pytest.raises(InvalidInput, match="not in the schema"):
        submit_annotation(store, task.id, {"label": "zzz"}, Provenance("w1", "llm"))
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Annotation)) == 0
        assert s.get(Task, task.id).status == "leased"  # type: ignore[union-attr]


def _expire(store: Store, task_id: int) -> None:
    with store.session() as s:
        s.execute(update(Task).where(Task.id == task_id)
                  .values(lease_expires_at=func.now() - func.now() + Task.created_at))


def test_expired_lease_returns_task_and_old_owner_cannot_submit(store: Store) -> None:
    make_project(store, 1)
    task = claim_next_task(store, "slow", worker_kind="llm", lease_seconds=1)
    assert task is not None
    assert claim_next_task(store, "other", worker_kind="llm") is None
    time.sleep(1.2)
    again = claim_next_task(store, "other", worker_kind="llm")
    assert again is not None and again.id == task.id and again.attempts == 2
    with pytest.raises(Conflict):
        submit_annotation(store, task.id, {"label": "a"}, Provenance("slow", "llm"))
    submit_annotation(store, task.id, {"label": "b"}, Provenance("other", "llm"))


def test_extend_lease_keeps_the_task(store: Store) -> None:
    make_project(store, 1)
    task = claim_next_task(store, "w", worker_kind="llm", lease_seconds=1)
    assert task is not None
    extend_lease(store, task.id, "w", seconds=60)
    time.sleep(1.2)
    assert claim_next_task(store, "x", worker_kind="llm") is None
    with pytest.raises(Conflict):
        extend_lease(store, task.id, "x")


def test_attempts_limit_marks_failed_with_reason(store: Store) -> None:
    make_project(store, 1, policy=RoutingPolicy(human_annotations=0, llm_annotations=1,
                                                max_attempts=2))
    for attempt in (1, 2):
        task = claim_next_task(store, "w", worker_kind="llm")
        assert task is not None and task.attempts == attempt
        state = fail_task(store, task.id, "w", "invalid JSON")
    assert state == "failed"
    assert claim_next_task(store, "w", worker_kind="llm") is None
    with store.session() as s:
        failed = s.scalars(select(Task)).one()
        assert failed.status == "failed" and "invalid JSON" in (failed.failure_reason or "")


def test_expired_last_attempt_is_failed(store: Store) -> None:
    make_project(store, 1, policy=RoutingPolicy(human_annotations=0, llm_annotations=1,
                                                max_attempts=1))
    task = claim_next_task(store, "w", worker_kind="llm", lease_seconds=1)
    assert task is not None
    time.sleep(1.2)
    assert claim_next_task(store, "w2", worker_kind="llm") is None
    with store.session() as s:
        t = s.get(Task, task.id)
        assert t is not None and t.status == "failed"
        assert "lease expired" in (t.failure_reason or "")


def test_release_gives_task_back_without_using_an_attempt(store: Store) -> None:
    make_project(store, 1)
    task = claim_next_task(store, "w", worker_kind="llm")
    assert task is not None
    release_task(store, task.id, "w")
    again = claim_next_task(store, "w2", worker_kind="llm")
    assert again is not None and again.id == task.id and again.attempts == 1


def test_filters_by_worker_kind_role_and_priority(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1, human_priority=5)
    make_project(store, 2, policy=policy)
    human = claim_next_task(store, "ann", worker_kind="human")
    assert human is not None and human.worker_kind == "human"
    assert claim_next_task(store, "m", worker_kind="llm", roles=["moderator"]) is None
    llm = claim_next_task(store, "m", worker_kind="llm", roles=["annotator"])
    assert llm is not None and llm.role == "annotator"


def test_one_person_never_fills_two_slots_of_an_item(store: Store) -> None:
    make_project(store, 1, policy=RoutingPolicy(human_annotations=2, llm_annotations=0))
    first = claim_next_task(store, "alice", worker_kind="human")
    assert first is not None
    submit_annotation(store, first.id, {"label": "a"}, Provenance("alice"))
    assert claim_next_task(store, "alice", worker_kind="human") is None
    assert claim_next_task(store, "bob", worker_kind="human") is not None


def test_disagreement_creates_moderator_then_low_confidence_adjudication(store: Store) -> None:
    make_project(store, 1, policy=RoutingPolicy(human_annotations=1, llm_annotations=1,
                                                adjudicate_below=0.7))
    h = claim_next_task(store, "alice", worker_kind="human")
    assert h is not None
    submit_annotation(store, h.id, {"label": "a"}, Provenance("alice"))
    m = claim_next_task(store, "llm", worker_kind="llm")
    assert m is not None and m.role == "annotator"
    submit_annotation(store, m.id, {"label": "b"}, Provenance("llm", "llm", confidence=0.9))
    mod = claim_next_task(store, "llm", worker_kind="llm")
    assert mod is not None and mod.role == "moderator"
    submit_annotation(store, mod.id, {"label": "a"},
                      Provenance("llm", "llm", confidence=0.5, rationale="closer to guideline"))
    adj = claim_next_task(store, "bob", worker_kind="human")
    assert adj is not None and adj.role == "adjudicator"


def test_agreement_creates_no_moderator(store: Store) -> None:
    make_project(store, 1, policy=RoutingPolicy(human_annotations=1, llm_annotations=1))
    for worker, kind in (("alice", "human"), ("llm", "llm")):
        t = claim_next_task(store, worker, worker_kind=kind)
        assert t is not None
        submit_annotation(store, t.id, {"label": "a"}, Provenance(worker, kind))
    assert claim_next_task(store, "llm", worker_kind="llm") is None
