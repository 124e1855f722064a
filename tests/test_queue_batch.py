"""Batched leases for machine workers on the real database (SQLite and PostgreSQL): up to N
tasks claimed in one statement, their answers stored in one transaction, with the single-task
guarantees (attempts, lease expiry, idempotent submit, nothing lost when a worker is killed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update

from annotate.projects.policy import RoutingPolicy
from annotate.queue.batch import claim_tasks, submit_annotations
from annotate.queue.leases import ClaimedTask, Provenance, claim_next_task
from annotate.queue.worker import Answer, run_batch_worker
from annotate.store.engine import Store
from annotate.store.models import Annotation, Task
from tests.factories import make_project

ROOT = Path(__file__).resolve().parents[1]


def _answers(tasks: list[ClaimedTask], worker: str, label: str = "a"
             ) -> list[tuple[int, object, Provenance]]:
    return [(t.id, {"label": label}, Provenance(worker, "llm")) for t in tasks]


def _count(store: Store, *where: object) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Task).where(*where)) or 0)


def _annotations(store: Store) -> tuple[int, int]:
    with store.session() as s:
        total = s.scalar(select(func.count()).select_from(Annotation)) or 0
        distinct = s.scalar(select(func.count(func.distinct(Annotation.task_id)))) or 0
    return int(total), int(distinct)


def test_claims_up_to_n_distinct_tasks_in_priority_order(store: Store) -> None:
    make_project(store, 5)
    with store.session() as s:  # the last task first
        s.execute(update(Task).where(Task.id == 5).values(priority=9))
    first = claim_tasks(store, "w1", 3)
    second = claim_tasks(store, "w2", 3)
    assert [t.id for t in first] == [5, 1, 2]
    assert [t.id for t in second] == [3, 4]  # fewer left than asked for
    assert all(t.attempts == 1 and t.lease_owner == "w1" for t in first)
    assert claim_tasks(store, "w3", 3) == []
    assert _count(store, Task.status == "leased") == 5


def test_people_claim_one_task_at_a_time(store: Store) -> None:
    make_project(store, 2, policy=RoutingPolicy(human_annotations=2, llm_annotations=0))
    with pytest.raises(ValueError, match="machine workers"):
        claim_tasks(store, "alice", 2, worker_kind="human")
    with pytest.raises(ValueError):
        claim_tasks(store, "w", 0)


def test_submit_stores_the_batch_and_a_repeat_stores_nothing_twice(store: Store) -> None:
    make_project(store, 4)
    tasks = claim_tasks(store, "w", 4)
    done = submit_annotations(store, _answers(tasks, "w"), worker_id="w")
    assert sorted(done.stored) == [t.id for t in tasks] and not done.conflicts
    again = submit_annotations(store, _answers(tasks, "w", "b"), worker_id="w")
    assert again.stored == done.stored and not again.conflicts
    with store.session() as s:
        assert set(map(str, s.scalars(select(Annotation.value)))) == {str({"label": "a"})}
    assert _annotations(store) == (4, 4)
    assert _count(store, Task.status == "done") == 4


def test_a_batch_is_stored_in_a_handful_of_statements_whatever_its_size(store: Store) -> None:
    """Reading, inserting, completing and routing a batch take a fixed number of statements,
    none per task (SQLite once inserted the annotations one row per statement)."""
    make_project(store, 40)
    tasks = claim_tasks(store, "w", 40)
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        done = submit_annotations(store, _answers(tasks, "w"), worker_id="w")
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert len(done.stored) == 40
    assert len(statements) <= 8, statements
    assert _annotations(store) == (40, 40)


def test_a_lost_lease_is_a_conflict_for_its_task_only(store: Store) -> None:
    make_project(store, 3)
    tasks = claim_tasks(store, "slow", 3, lease_seconds=1)
    time.sleep(1.2)  # all three leases expire; another worker re-claims the first only
    other = claim_next_task(store, "other", worker_kind="llm")
    assert other is not None and other.id == tasks[0].id and other.attempts == 2
    done = submit_annotations(store, _answers(tasks, "slow"), worker_id="slow")
    assert list(done.conflicts) == [tasks[0].id]
    assert sorted(done.stored) == [t.id for t in tasks[1:]]
    assert _annotations(store) == (2, 2)


def test_answers_in_a_batch_are_routed(store: Store) -> None:
    """Two LLM annotators disagree on each of three items, both answers in one batch (two
    rounds: one answer per item each): every item is escalated, once."""
    make_project(store, 3, policy=RoutingPolicy(human_annotations=0, llm_annotations=2))
    tasks = claim_tasks(store, "w", 6)
    labels = {t.id: "ab"[i % 2] for i, t in enumerate(sorted(tasks, key=lambda t: t.item_id))}
    answers = [(t.id, {"label": labels[t.id]}, Provenance("w", "llm")) for t in tasks]
    done = submit_annotations(store, answers, worker_id="w")
    assert len(done.stored) == 6
    with store.session() as s:
        escalated = s.execute(select(Task.item_id, func.count()).where(
            Task.role != "annotator").group_by(Task.item_id)).all()
    assert sorted(n for _, n in escalated) == [1, 1, 1]


def test_a_batch_escalates_only_settled_disagreements(store: Store) -> None:
    """Routed for the whole batch at once: an item whose answers agree is not escalated, one
    that disagrees while an annotator task is still open waits, and is escalated by the
    batch that settles it."""
    make_project(store, 2, policy=RoutingPolicy(human_annotations=0, llm_annotations=3))
    tasks = sorted(claim_tasks(store, "w", 6), key=lambda t: (t.item_id, t.id))
    first, second = tasks[0].item_id, tasks[3].item_id
    later = tasks[2]  # the third answer on the first item, held back
    labels = {tasks[0].id: "a", tasks[1].id: "b", tasks[3].id: "a", tasks[4].id: "a",
              tasks[5].id: "a"}
    done = submit_annotations(store, [(t, {"label": v}, Provenance("w", "llm"))
                                      for t, v in labels.items()], worker_id="w")
    assert len(done.stored) == 5

    def escalated() -> dict[int, int]:
        with store.session() as s:
            return dict(s.execute(select(Task.item_id, func.count()).where(
                Task.role != "annotator").group_by(Task.item_id)).all())

    assert escalated() == {}  # first: a task still open; second: all agree
    submit_annotations(store, [(later.id, {"label": "a"}, Provenance("w", "llm"))],
                       worker_id="w")
    assert escalated() == {first: 1} and second not in escalated()


def test_an_invalid_value_is_reported_and_the_others_are_stored(store: Store) -> None:
    make_project(store, 2)
    tasks = claim_tasks(store, "w", 2)
    answers = [(tasks[0].id, {"label": "zzz"}, Provenance("w", "llm")),
               (tasks[1].id, {"label": "b"}, Provenance("w", "llm"))]
    done = submit_annotations(store, answers, worker_id="w")
    assert "not in the schema" in done.invalid[tasks[0].id]
    assert list(done.stored) == [tasks[1].id]
    with store.session() as s:
        assert s.get(Task, tasks[0].id).status == "leased"  # type: ignore[union-attr]


def test_expired_batch_returns_and_last_attempts_fail(store: Store) -> None:
    make_project(store, 2, policy=RoutingPolicy(human_annotations=0, llm_annotations=1,
                                                max_attempts=2))
    first = claim_tasks(store, "a", 2, lease_seconds=1)
    time.sleep(1.2)
    second = claim_tasks(store, "b", 2, lease_seconds=1)
    assert [t.id for t in second] == [t.id for t in first]
    assert all(t.attempts == 2 for t in second)
    time.sleep(1.2)
    assert claim_tasks(store, "c", 2) == []  # out of attempts: failed, with the reason
    with store.session() as s:
        reasons = s.scalars(select(Task.failure_reason).where(Task.status == "failed")).all()
    assert len(reasons) == 2 and all("lease expired" in (r or "") for r in reasons)


def test_batch_worker_drains_the_queue_and_records_failures(store: Store) -> None:
    make_project(store, 10)
    sizes: list[int] = []

    def answer(tasks: list[ClaimedTask]) -> list[Answer]:
        sizes.append(len(tasks))
        return [Answer(failure="model said nothing") if t.id == 3 else
                Answer(value={"label": "zzz"} if t.id == 4 else {"label": "a"},
                       provenance=Provenance("w", "llm")) for t in tasks]

    stats = run_batch_worker(store, "w", answer, batch_size=4)
    assert sizes[:2] == [4, 4]
    # 3 and 4 fail on every attempt (3 by default), then stay failed with the reason
    assert stats.submitted == 8 and stats.failed == 6 and stats.claimed == 14
    with store.session() as s:
        failed = {row.id: row.failure_reason for row in s.execute(
            select(Task.id, Task.failure_reason).where(Task.status == "failed"))}
    assert sorted(failed) == [3, 4]
    assert "model said nothing" in (failed[3] or "")
    assert "invalid value" in (failed[4] or "") and "not in the schema" in (failed[4] or "")
    assert _annotations(store) == (8, 8)


def test_a_batch_whose_answer_raises_goes_back_untouched(store: Store) -> None:
    make_project(store, 3)

    def answer(tasks: list[ClaimedTask]) -> list[Answer]:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch_worker(store, "w", answer, batch_size=3)
    again = claim_tasks(store, "x", 3)
    assert len(again) == 3 and all(t.attempts == 1 for t in again)


def _spawn(url: str, worker: str, batch: int, pause: float, lease: int
           ) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.queue_batch_worker", url, worker, str(batch), str(pause),
         str(lease)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkilled_batch_workers_lose_nothing(store: Store, db_url: str) -> None:
    n = 80
    make_project(store, n)
    workers = [_spawn(db_url, f"k{i}", 8, 0.3, 2) for i in range(2)]
    kills = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and kills < 3:
        time.sleep(0.5)
        victim = workers[kills % len(workers)]
        if victim.poll() is None:  # killed holding a batch (it pauses 0.3 s per batch)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            kills += 1
            workers[workers.index(victim)] = _spawn(db_url, f"k-restart{kills}", 8, 0.3, 2)
    assert kills >= 1
    for p in workers:
        p.wait(timeout=180)
    time.sleep(2.2)  # the killed workers' leases expire; a sweeper takes their batches
    sweeper = _spawn(db_url, "sweeper", 8, 0.0, 2)
    sweeper.communicate(timeout=120)
    assert _count(store) == n
    assert _count(store, Task.status == "done") == n, "a task was lost"
    assert _annotations(store) == (n, n), "a task was annotated twice"


def test_eight_batch_workers_no_duplicates(store: Store, db_url: str) -> None:
    n = 240
    make_project(store, n)
    procs = [_spawn(db_url, f"w{i}", 16, 0.0, 300) for i in range(8)]
    claimed: list[int] = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=240)
        assert p.returncode == 0, stderr[-2000:]
        claimed += json.loads(stdout.strip().splitlines()[-1])["task_ids"]
    assert len(claimed) == len(set(claimed)) == n
    assert _annotations(store) == (n, n)
