"""Routing asks the roles what they want (annotate.queue.wants): a role at each stage - first
pass, before people, after a disagreement - gets its tasks without routing naming it; the
built-in roles declare exactly the routing they had."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from annotate.errors import InvalidInput
from annotate.projects.catalog import get_project
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import Provenance, claim_next_task, submit_annotation
from annotate.queue.reconcile import reconcile_tasks
from annotate.queue.wants import (
    BUILTIN_ROLES,
    RoleSet,
    RoleWants,
    Stage,
    registered_roles,
    use_roles,
)
from annotate.store.engine import Store
from annotate.store.models import Task
from roles.registry import install_routing, role_names, role_set
from tests.factories import make_project

CRITIC = RoleWants(Stage.FIRST_PASS, 1)
SCREENER = RoleWants(Stage.BEFORE_PEOPLE, 1)
JUDGE = RoleWants(Stage.AFTER_DISAGREEMENT, 1, when="moderator_on_disagreement")


@pytest.fixture
def with_roles() -> Iterator[object]:
    """Install a role set for routing (as an edge does); the built-ins again afterwards."""

    def install(**wants: RoleWants) -> RoleSet:
        roles = RoleSet(wants)
        use_roles(lambda: roles)
        return roles

    yield install
    use_roles(None)


def tasks(store: Store) -> list[tuple[str, str, str]]:
    with store.session() as session:
        rows = session.execute(select(Task.role, Task.worker_kind, Task.status)
                               .order_by(Task.id)).all()
    return [tuple(row) for row in rows]


def answer(store: Store, role: str, kind: str, label: str,
           confidence: float | None = None) -> None:
    worker = f"{role}-{label}-{confidence}"
    task = claim_next_task(store, worker, worker_kind=kind, roles=[role])
    assert task is not None, f"no {role} task"
    submit_annotation(store, task.id, {"label": label},
                      Provenance(worker, kind, confidence=confidence))


def test_the_built_in_roles_declare_the_routing_the_queue_falls_back_to() -> None:
    assert role_names()[:3] == ("helper", "annotator", "moderator")
    assert dict(role_set().wants) == dict(BUILTIN_ROLES.wants)
    use_roles(None)
    assert registered_roles() is BUILTIN_ROLES
    install_routing()
    try:
        assert dict(registered_roles().wants) == dict(BUILTIN_ROLES.wants)
    finally:
        use_roles(None)


def test_wants_read_the_policy() -> None:
    policy = RoutingPolicy(llm_annotations=3, helper_first=False)
    assert BUILTIN_ROLES.wanted(Stage.FIRST_PASS, policy, imported=1) == [("annotator", 2)]
    assert BUILTIN_ROLES.wanted(Stage.FIRST_PASS, policy, imported=5) == []
    assert BUILTIN_ROLES.wanted(Stage.BEFORE_PEOPLE, policy) == []
    assert BUILTIN_ROLES.wanted(Stage.BEFORE_PEOPLE, RoutingPolicy(helper_first=True)) == [
        ("helper", 1)]
    assert CRITIC.count(policy, imported=1) == 1  # imported answers are the annotator's
    with pytest.raises(InvalidInput, match="not a policy field"):
        RoleWants(Stage.FIRST_PASS, "llm_annotation")
    with pytest.raises(InvalidInput, match="not a policy field"):
        RoleWants(Stage.FIRST_PASS, 1, when="helper_firts")


def test_a_first_pass_role_gets_a_task_per_item(sqlite_store: Store, with_roles) -> None:
    with_roles(annotator=BUILTIN_ROLES.wants["annotator"], critic=CRITIC)
    make_project(sqlite_store, 2, policy=RoutingPolicy(human_annotations=1, llm_annotations=1))
    assert tasks(sqlite_store) == [("annotator", "human", "pending"),
                                   ("annotator", "llm", "pending"),
                                   ("critic", "llm", "pending")] * 2


def test_people_wait_for_a_role_that_comes_before_them(sqlite_store: Store,
                                                       with_roles) -> None:
    with_roles(screener=SCREENER)
    make_project(sqlite_store, 1, policy=RoutingPolicy(human_annotations=2, llm_annotations=0))
    assert tasks(sqlite_store) == [("screener", "llm", "pending")]
    answer(sqlite_store, "screener", "llm", "a")
    assert tasks(sqlite_store) == [("screener", "llm", "done"),
                                   ("annotator", "human", "pending"),
                                   ("annotator", "human", "pending")]


def test_a_disagreement_goes_to_the_role_that_wants_it_then_to_a_person(
        sqlite_store: Store, with_roles) -> None:
    with_roles(annotator=BUILTIN_ROLES.wants["annotator"], judge=JUDGE)
    make_project(sqlite_store, 1, policy=RoutingPolicy(human_annotations=0, llm_annotations=2))
    answer(sqlite_store, "annotator", "llm", "a")
    answer(sqlite_store, "annotator", "llm", "b")
    assert tasks(sqlite_store)[2:] == [("judge", "llm", "pending")]
    answer(sqlite_store, "judge", "llm", "a", confidence=0.2)  # below adjudicate_below
    assert tasks(sqlite_store)[2:] == [("judge", "llm", "done"),
                                       ("adjudicator", "human", "pending")]


def test_a_policy_change_asks_the_roles_again(sqlite_store: Store, with_roles) -> None:
    roles = with_roles(annotator=BUILTIN_ROLES.wants["annotator"], judge=JUDGE)
    off = RoutingPolicy(human_annotations=0, llm_annotations=2, moderator_on_disagreement=False)
    make_project(sqlite_store, 1, policy=off)
    answer(sqlite_store, "annotator", "llm", "a")
    answer(sqlite_store, "annotator", "llm", "b")
    assert tasks(sqlite_store)[2:] == [("adjudicator", "human", "pending")]
    with sqlite_store.session() as session:
        on = off.model_copy(update={"moderator_on_disagreement": True})
        change = reconcile_tasks(session, get_project(session, "p"), on, roles)
        assert change.describe() == "creates 1 judge task, cancels 1 adjudicator task"
    assert tasks(sqlite_store)[2:] == [("adjudicator", "human", "cancelled"),
                                       ("judge", "llm", "pending")]
    with sqlite_store.session() as session:
        change = reconcile_tasks(session, get_project(session, "p"), off, roles)
        assert change.describe() == "creates 1 adjudicator task, cancels 1 judge task"


def test_a_role_that_settles_disagreements_may_answer_none_and_no_other_may(
        sqlite_store: Store, with_roles) -> None:
    with_roles(annotator=BUILTIN_ROLES.wants["annotator"], judge=JUDGE, critic=CRITIC)
    make_project(sqlite_store, 1, policy=RoutingPolicy(human_annotations=0, llm_annotations=2))
    critic = claim_next_task(sqlite_store, "c", worker_kind="llm", roles=["critic"])
    assert critic is not None
    with pytest.raises(InvalidInput, match="invalid classification value"):
        submit_annotation(sqlite_store, critic.id, {"decision": "none"}, Provenance("c", "llm"))
    answer(sqlite_store, "annotator", "llm", "a")
    answer(sqlite_store, "annotator", "llm", "b")
    judge = claim_next_task(sqlite_store, "j", worker_kind="llm", roles=["judge"])
    assert judge is not None
    stored = submit_annotation(sqlite_store, judge.id, {"decision": "none"},
                               Provenance("j", "llm"))
    assert stored.value == {"decision": "none"}
    assert ("adjudicator", "human", "pending") in tasks(sqlite_store)


def test_a_first_pass_role_out_of_attempts_hands_the_item_to_people(
        sqlite_store: Store, with_roles) -> None:
    from annotate.queue.leases import fail_task

    with_roles(critic=CRITIC)
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1, human_below_confidence=0.8)
    make_project(sqlite_store, 1, policy=policy)
    assert tasks(sqlite_store) == [("critic", "llm", "pending")]
    for attempt in range(3):
        task = claim_next_task(sqlite_store, f"w{attempt}", worker_kind="llm", roles=["critic"])
        assert task is not None
        fail_task(sqlite_store, task.id, f"w{attempt}", "the model answered nonsense")
    assert tasks(sqlite_store) == [("critic", "llm", "failed"),
                                   ("annotator", "human", "pending")]
