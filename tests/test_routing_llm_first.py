"""LLM first: people are asked only where the LLM annotator is unsure (real database)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from annotate.projects.policy import RoutingPolicy, parse_policy
from annotate.queue.leases import (
    Provenance,
    claim_next_task,
    claim_task,
    fail_task,
    submit_annotation,
)
from annotate.store.engine import Store
from annotate.store.models import Item, Task, utcnow
from tests.factories import make_project

POLICY = RoutingPolicy(human_annotations=1, llm_annotations=1, human_below_confidence=0.8,
                       max_attempts=1)


def _human_tasks(store: Store) -> dict[str, int]:
    with store.session() as session:
        rows = session.execute(select(Item.external_id, Task.id).join(Item).where(
            Task.worker_kind == "human")).all()
    return {external: task_id for external, task_id in rows}


def _answer_llm(store: Store, confidence: float, label: str = "a") -> int:
    task = claim_next_task(store, "llm-w", worker_kind="llm")
    assert task is not None
    submit_annotation(store, task.id, {"label": label},
                      Provenance("model-x", "llm", confidence=confidence), worker_id="llm-w")
    return task.item_id


def test_people_wait_for_the_llm_and_see_only_unsure_items(store: Store) -> None:
    make_project(store, 3, policy=POLICY)
    assert _human_tasks(store) == {}  # nobody is asked before the LLM answered
    _answer_llm(store, 0.95)  # i0: sure -> the LLM's label stands
    _answer_llm(store, 0.40)  # i1: unsure -> a person is asked
    task = claim_next_task(store, "llm-w", worker_kind="llm")
    assert task is not None
    assert fail_task(store, task.id, "llm-w", "invalid output") == "failed"  # i2: failed
    assert sorted(_human_tasks(store)) == ["i1", "i2"]


def test_an_llm_task_whose_last_lease_expired_goes_to_people(store: Store) -> None:
    make_project(store, 1, policy=POLICY)
    task = claim_next_task(store, "llm-w", worker_kind="llm", lease_seconds=1)
    assert task is not None
    with store.session() as session:  # the worker died: its last lease ran out
        session.execute(update(Task).where(Task.id == task.id).values(
            lease_expires_at=utcnow() - timedelta(seconds=5)))
    assert claim_next_task(store, "llm-w", worker_kind="llm") is None  # expires it
    with store.session() as session:
        assert session.get_one(Task, task.id).status == "failed"
    assert sorted(_human_tasks(store)) == ["i0"]


def test_without_threshold_people_are_asked_from_the_start(store: Store) -> None:
    make_project(store, 2, policy=POLICY.model_copy(update={"human_below_confidence": None}))
    assert sorted(_human_tasks(store)) == ["i0", "i1"]


def test_claim_task_leases_that_task_once(store: Store) -> None:
    make_project(store, 2, policy=RoutingPolicy(human_annotations=1, llm_annotations=0))
    task_id = max(_human_tasks(store).values())
    first = claim_task(store, task_id, "ann-1")
    assert first is not None and first.id == task_id and first.lease_owner == "ann-1"
    assert claim_task(store, task_id, "ann-2") is None  # held by ann-1
    submit_annotation(store, task_id, {"label": "b"}, Provenance("ann-1"))
    assert claim_task(store, task_id, "ann-2") is None  # done


def test_policy_file_field_is_validated() -> None:
    assert parse_policy({"human_below_confidence": 0.7}).llm_first
    assert not parse_policy({"human_below_confidence": 0.7, "helper_first": True}).llm_first
