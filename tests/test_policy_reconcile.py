"""A policy change reaches the items already imported (SQLite and PostgreSQL, real queue)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from annotate.cli.main import main
from annotate.projects.catalog import get_project, project_policy
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import Provenance, claim_next_task, submit_annotation
from annotate.queue.reconcile import set_policy
from annotate.store.engine import Store
from annotate.store.models import Item, Task
from tests.factories import make_project

Row = tuple[str, str, str, int, str]  # item, role, worker kind, slot, status


def _tasks(store: Store) -> list[Row]:
    with store.session() as session:
        rows = session.execute(select(Item.external_id, Task.role, Task.worker_kind, Task.slot,
                                      Task.status).join(Item).order_by(Task.id)).all()
    return sorted(rows)


def _count(store: Store, **match: object) -> int:
    keys = ("item", "role", "kind", "slot", "status")
    return sum(all(dict(zip(keys, row, strict=True))[k] == v for k, v in match.items())
               for row in _tasks(store))


def _apply(store: Store, policy: RoutingPolicy, *, dry_run: bool = False) -> str:
    with store.session() as session:
        return set_policy(session, get_project(session, "p"), policy,
                          dry_run=dry_run).describe()


def _answer(store: Store, kind: str, label: str, confidence: float | None = None) -> int:
    worker = f"{kind}-worker"
    task = claim_next_task(store, worker, worker_kind=kind)
    assert task is not None
    submit_annotation(store, task.id, {"label": label},
                      Provenance(worker, kind, confidence=confidence), worker_id=worker)
    return task.item_id


def test_the_issue_scenario_llm_tasks_are_created_and_run(db_url: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    data, before, after = tmp_path / "items.csv", tmp_path / "p0.json", tmp_path / "p1.json"
    data.write_text("id,text\n" + "".join(f"i{i},text {i}\n" for i in range(5)),
                    encoding="utf-8")
    before.write_text(json.dumps({"llm_annotations": 0}), encoding="utf-8")
    after.write_text(json.dumps({"llm_annotations": 1}), encoding="utf-8")
    cli = ["--db", db_url]
    assert main([*cli, "project", "create", "p", "--kind", "classification", "--labels", "a,b",
                 "--policy", str(before)]) == 0
    assert main([*cli, "import", "p", str(data)]) == 0
    capsys.readouterr()
    assert main([*cli, "policy", "set", "p", str(after), "--dry-run"]) == 0
    assert "would create 5 LLM annotator tasks" in capsys.readouterr().out
    assert main([*cli, "policy", "set", "p", str(after)]) == 0
    assert "creates 5 LLM annotator tasks" in capsys.readouterr().out
    assert main([*cli, "run", "p", "--model", "dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["done"] == 5
    assert main([*cli, "status", "p", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["tasks_by_role"]["annotator"] == {"done": 5, "pending": 5}  # people's wait
    assert status["annotations"] == {"llm": 5}


def test_fewer_humans_cancels_only_unclaimed_human_tasks(store: Store) -> None:
    make_project(store, 3, policy=RoutingPolicy(human_annotations=2, llm_annotations=0))
    done_item = _answer(store, "human", "a")  # one person answered
    leased = claim_next_task(store, "olga", worker_kind="human")  # another is at it
    assert leased is not None
    assert _apply(store, RoutingPolicy(human_annotations=0, llm_annotations=0)) == \
        "cancels 4 human annotator tasks"
    rows = _tasks(store)
    assert _count(store, status="done") == 1 and _count(store, status="leased") == 1
    assert _count(store, status="cancelled") == 4 and _count(store, status="pending") == 0
    assert len(rows) == 6  # nothing deleted: the history stays
    with store.session() as session:
        owner = session.get_one(Task, leased.id)
        assert (owner.status, owner.lease_owner) == ("leased", "olga")
        assert session.scalar(select(Task.status).where(Task.item_id == done_item,
                                                        Task.status == "done")) == "done"
    assert claim_next_task(store, "ivan", worker_kind="human") is None  # cancelled: never
    # raising it again tops the items up beside the cancelled rows (their slots stay taken)
    assert _apply(store, RoutingPolicy(human_annotations=2, llm_annotations=0)) == \
        "creates 4 human annotator tasks"
    assert _count(store, status="pending") == 4 and len(_tasks(store)) == 10


def test_dry_run_changes_nothing(store: Store) -> None:
    make_project(store, 4, policy=RoutingPolicy(human_annotations=1, llm_annotations=0))
    with store.session() as session:
        old_policy = project_policy(get_project(session, "p"))
    before = _tasks(store)
    new = RoutingPolicy(human_annotations=0, llm_annotations=2, llm_priority=5)
    assert _apply(store, new, dry_run=True) == (
        "would create 8 LLM annotator tasks, cancel 4 human annotator tasks")
    assert _tasks(store) == before
    with store.session() as session:
        assert project_policy(get_project(session, "p")) == old_policy
    assert _apply(store, new) == "creates 8 LLM annotator tasks, cancels 4 human annotator tasks"
    assert _apply(store, new) == "no tasks to create or cancel"  # idempotent


def test_llm_first_cancels_waiting_people_and_asks_them_where_the_llm_is_unsure(
        store: Store) -> None:
    make_project(store, 3, policy=RoutingPolicy(human_annotations=1, llm_annotations=1))
    sure = _answer(store, "llm", "a", confidence=0.95)
    unsure = _answer(store, "llm", "a", confidence=0.2)
    first = RoutingPolicy(human_annotations=1, llm_annotations=1, human_below_confidence=0.8)
    # i-sure: the LLM is sure, nobody needed; i-unsure keeps its person; the third waits
    assert _apply(store, first) == "cancels 2 human annotator tasks"
    with store.session() as session:
        pending = set(session.scalars(select(Task.item_id).where(
            Task.worker_kind == "human", Task.status == "pending")))
    assert pending == {unsure}
    waiting = _answer(store, "llm", "b", confidence=0.1)  # routing asks people afresh
    assert waiting not in (sure, unsure)
    with store.session() as session:
        slots = session.execute(select(Task.slot, Task.status).where(
            Task.item_id == waiting, Task.worker_kind == "human")).all()
    assert sorted(slots) == [(0, "cancelled"), (1, "pending")]


def test_helper_first_puts_the_helper_before_waiting_people(store: Store) -> None:
    make_project(store, 2, policy=RoutingPolicy(human_annotations=1, llm_annotations=0))
    helper = RoutingPolicy(human_annotations=1, llm_annotations=0, helper_first=True)
    assert _apply(store, helper) == "creates 2 helper tasks, cancels 2 human annotator tasks"
    assert _apply(store, RoutingPolicy(human_annotations=1, llm_annotations=0)) == (
        "creates 2 human annotator tasks, cancels 2 helper tasks")


def test_cancelled_people_leave_a_disagreement_to_the_moderator(store: Store) -> None:
    make_project(store, 1, policy=RoutingPolicy(human_annotations=1, llm_annotations=2))
    _answer(store, "llm", "a", confidence=0.9)
    _answer(store, "llm", "b", confidence=0.9)
    assert _count(store, role="moderator") == 0  # a person is still to answer
    assert _apply(store, RoutingPolicy(human_annotations=0, llm_annotations=2)) == (
        "creates 1 moderator task, cancels 1 human annotator task")
    off = RoutingPolicy(human_annotations=0, llm_annotations=2, moderator_on_disagreement=False)
    assert _apply(store, off) == "creates 1 adjudicator task, cancels 1 moderator task"


def test_pending_tasks_take_the_new_priority_and_attempts(store: Store) -> None:
    make_project(store, 2, policy=RoutingPolicy(human_annotations=1, llm_annotations=1))
    new = RoutingPolicy(human_annotations=1, llm_annotations=1, llm_priority=7,
                        human_priority=-3, max_attempts=9)
    assert _apply(store, new) == "updates priority or attempts of 4 pending tasks"
    with store.session() as session:
        rows = set(session.execute(select(Task.worker_kind, Task.priority, Task.max_attempts))
                   )
    assert rows == {("llm", 7, 9), ("human", -3, 9)}


def test_new_slots_follow_every_task_of_the_item_even_one_made_meanwhile(
        store: Store) -> None:
    """A task the reconcile did not read (made by a worker after it looked, or cancelled
    with a higher slot) keeps its slot: the new task goes after it instead of colliding
    with the unique (item, role, worker kind, slot)."""
    from sqlalchemy import event, insert

    from annotate.queue.routing import task_row

    make_project(store, 1, policy=RoutingPolicy(human_annotations=1, llm_annotations=0))
    with store.session() as session:
        item_id, project_id = session.execute(select(Item.id, Item.project_id)).one()
    policy = RoutingPolicy(human_annotations=2, llm_annotations=0)
    meanwhile = [task_row(project_id, policy, item_id, "annotator", "human", slot, None)
                 | {"status": status} for slot, status in ((1, "pending"), (2, "cancelled"))]
    fired: list[bool] = []

    def worker_adds_tasks(conn, cursor, statement, parameters, context, many) -> None:  # type: ignore[no-untyped-def]
        if fired or "INSERT INTO TASKS" not in statement.upper():
            return
        fired.append(True)  # between the reconcile's read and its insert
        conn.execute(insert(Task), meanwhile)

    event.listen(store.engine, "before_cursor_execute", worker_adds_tasks)
    try:
        assert _apply(store, policy) == "creates 1 human annotator task"
    finally:
        event.remove(store.engine, "before_cursor_execute", worker_adds_tasks)
    assert fired
    assert _tasks(store) == [("i0", "annotator", "human", 0, "pending"),
                             ("i0", "annotator", "human", 1, "pending"),
                             ("i0", "annotator", "human", 2, "cancelled"),
                             ("i0", "annotator", "human", 3, "pending")]
