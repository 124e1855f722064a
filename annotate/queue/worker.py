"""A worker loop over the shared queue: claim, answer, submit, until the queue is empty.

Used by LLM role workers (`annotate run`), the load tests and benchmarks. The answer is
produced by a callable, so the loop knows nothing of models; a failure of the callable is
recorded on the task (it returns to the queue or fails once out of attempts).

While an answer is being made, a heartbeat extends the task's lease every third of the lease,
so an answer slower than the lease (a slow model) never lets another worker claim the task
and pay for it again; a worker that dies stops the heartbeat and its lease expires.

``run_batch_worker`` does the same N tasks at a time for a backend that answers a batch in
one call (the distilled classifier embeds a batch): one claim statement, one answer call, one
submit transaction per batch; the heartbeat keeps every lease of the batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import OperationalError

from annotate.errors import Conflict, NotFound
from annotate.queue.batch import claim_tasks, submit_annotations
from annotate.queue.lease_expiry import extend_lease, fail_task, release_task
from annotate.queue.leases import (
    ClaimedTask,
    Provenance,
    claim_next_task,
    submit_annotation,
    submit_suggestion,
)
from annotate.store.engine import Store

log = logging.getLogger(__name__)


@dataclass
class Answer:
    """What a worker produced for a task: a value and its provenance, or a failure."""

    value: Any = None
    provenance: Provenance | None = None
    failure: str | None = None
    suggestion: list[dict[str, Any]] | None = None  # the Helper's candidates
    suggestion_meta: dict[str, Any] | None = None


@dataclass
class WorkerStats:
    claimed: int = 0
    submitted: int = 0
    failed: int = 0
    conflicts: int = 0
    reconnects: int = 0
    seconds: float = 0.0
    task_ids: list[int] = field(default_factory=list)


AnswerFn = Callable[[ClaimedTask], Answer]
BatchAnswerFn = Callable[[list[ClaimedTask]], list[Answer]]  # one answer per task, in order


def run_worker(
    store: Store,
    worker_id: str,
    answer: AnswerFn,
    *,
    worker_kind: str = "llm",
    roles: Sequence[str] | None = None,
    project_id: int | None = None,
    lease_seconds: int = 300,
    limit: int | None = None,
    on_done: Callable[[WorkerStats], None] | None = None,
    retry_db_errors: int = 5,
) -> WorkerStats:
    """Work until no claimable task is left (or ``limit`` tasks were handled)."""
    stats = WorkerStats()
    start = time.perf_counter()
    db_errors = 0
    heartbeat = LeaseHeartbeat(store, worker_id, lease_seconds)
    try:
        while limit is None or stats.claimed < limit:
            try:
                task = claim_next_task(store, worker_id, worker_kind=worker_kind, roles=roles,
                                       project_id=project_id, lease_seconds=lease_seconds)
                if task is None:
                    break
                stats.claimed += 1
                _handle(store, task, worker_id, answer, stats, heartbeat)
                db_errors = 0
            except OperationalError as exc:
                db_errors = _reconnect(store, stats, db_errors + 1, retry_db_errors, exc)
            if on_done is not None:
                on_done(stats)
    finally:
        heartbeat.close()
    stats.seconds = time.perf_counter() - start
    return stats


def _reconnect(store: Store, stats: WorkerStats, db_errors: int, retries: int,
               error: OperationalError) -> int:
    """The connection dropped (server restart, killed backend): reconnect and go on, or raise
    ``error`` after ``retries`` in a row; the lease of whatever was in flight expires
    and its task returns."""
    stats.reconnects += 1
    if db_errors > retries:
        raise error
    store.engine.dispose()
    time.sleep(min(2.0, 0.1 * 2**db_errors))
    return db_errors


class LeaseHeartbeat:
    """Extends the leases of the tasks a worker holds while their answers are being made:
    every third of the lease, on one thread per worker loop (started with the first task)."""

    def __init__(self, store: Store, worker_id: str, lease_seconds: int) -> None:
        self.store = store
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.interval = lease_seconds / 3
        self._tasks: tuple[ClaimedTask, ...] = ()
        self._since = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def holding(self, *tasks: ClaimedTask) -> Iterator[None]:
        with self._lock:
            self._tasks, self._since = tasks, time.monotonic()
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="lease-heartbeat",
                                                daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._tasks = ()

    def close(self) -> None:
        self._stop.set()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                tasks = self._tasks
                due = bool(tasks) and time.monotonic() - self._since >= self.interval
            for task in tasks if due else ():
                self._extend(task)

    def _extend(self, task: ClaimedTask) -> None:
        try:
            extend_lease(self.store, task.id, self.worker_id, self.lease_seconds)
        except (Conflict, NotFound):  # done, released or lost meanwhile: nothing to keep
            with self._lock:
                self._tasks = tuple(t for t in self._tasks if t is not task)
        except Exception as exc:  # the database hiccups: the next beat tries again
            log.warning("could not extend the lease of task %s: %s", task.id, exc)


def _handle(store: Store, task: ClaimedTask, worker_id: str, answer: AnswerFn,
            stats: WorkerStats, heartbeat: LeaseHeartbeat, retries: int = 5) -> None:
    """Record the answer; if the connection drops while doing so, reconnect and record it
    again (submits are idempotent, so a write that did commit is not made twice). If the
    answer raises (the run stops, a bug), the task goes back to the queue first."""
    try:
        with heartbeat.holding(task):
            result = answer(task)
    except BaseException:
        _release_quietly(store, task, worker_id)
        raise
    for attempt in range(retries + 1):
        try:
            _record(store, task, worker_id, result, stats)
            return
        except OperationalError:
            if attempt == retries:
                raise
            stats.reconnects += 1
            store.engine.dispose()
            time.sleep(min(2.0, 0.1 * 2**attempt))


def _release_quietly(store: Store, task: ClaimedTask, worker_id: str) -> None:
    """Give the task back; if that fails too (database gone, lease lost), its lease expires."""
    try:
        release_task(store, task.id, worker_id)
    except Exception:  # the original error is the one to report
        return


def _record(store: Store, task: ClaimedTask, worker_id: str, result: Answer,
            stats: WorkerStats) -> None:
    try:
        if result.suggestion is not None:
            submit_suggestion(store, task.id, worker_id, result.suggestion,
                              **(result.suggestion_meta or {}))
        elif result.failure is not None or result.provenance is None:
            fail_task(store, task.id, worker_id, result.failure or "no answer")
            stats.failed += 1
            return
        else:
            submit_annotation(store, task.id, result.value, result.provenance,
                              worker_id=worker_id)
        stats.submitted += 1
        stats.task_ids.append(task.id)
    except Conflict:
        stats.conflicts += 1  # the lease was lost (expired and re-claimed): nothing stored


def run_batch_worker(
    store: Store,
    worker_id: str,
    answer: BatchAnswerFn,
    *,
    batch_size: int = 32,
    worker_kind: str = "llm",
    roles: Sequence[str] | None = None,
    project_id: int | None = None,
    lease_seconds: int = 300,
    limit: int | None = None,
    on_done: Callable[[WorkerStats], None] | None = None,
    retry_db_errors: int = 5,
) -> WorkerStats:
    """:func:`run_worker` ``batch_size`` tasks at a time: claim them in one statement, answer
    them in one call, store the answers in one transaction (failures and the Helper's
    suggestions one by one, as :func:`run_worker` does). Same guarantees: a killed worker's
    leases expire and its tasks return; a repeated submit stores nothing twice."""
    stats = WorkerStats()
    start = time.perf_counter()
    db_errors = 0
    heartbeat = LeaseHeartbeat(store, worker_id, lease_seconds)
    try:
        while limit is None or stats.claimed < limit:
            n = batch_size if limit is None else min(batch_size, limit - stats.claimed)
            try:
                tasks = claim_tasks(store, worker_id, n, worker_kind=worker_kind, roles=roles,
                                    project_id=project_id, lease_seconds=lease_seconds)
                if not tasks:
                    break
                stats.claimed += len(tasks)
                _handle_batch(store, tasks, worker_id, answer, stats, heartbeat)
                db_errors = 0
            except OperationalError as exc:
                db_errors = _reconnect(store, stats, db_errors + 1, retry_db_errors, exc)
            if on_done is not None:
                on_done(stats)
    finally:
        heartbeat.close()
    stats.seconds = time.perf_counter() - start
    return stats


def _handle_batch(store: Store, tasks: list[ClaimedTask], worker_id: str,
                  answer: BatchAnswerFn, stats: WorkerStats, heartbeat: LeaseHeartbeat,
                  retries: int = 5) -> None:
    try:
        with heartbeat.holding(*tasks):
            results = answer(tasks)
        if len(results) != len(tasks):
            raise ValueError(f"{len(results)} answers for a batch of {len(tasks)} tasks")
    except BaseException:
        for task in tasks:
            _release_quietly(store, task, worker_id)
        raise
    for attempt in range(retries + 1):
        try:
            _record_batch(store, list(zip(tasks, results, strict=True)), worker_id, stats)
            return
        except OperationalError:  # reconnect and record again: submits are idempotent
            if attempt == retries:
                raise
            stats.reconnects += 1
            store.engine.dispose()
            time.sleep(min(2.0, 0.1 * 2**attempt))


def _record_batch(store: Store, pairs: list[tuple[ClaimedTask, Answer]], worker_id: str,
                  stats: WorkerStats) -> None:
    """The annotations in one transaction; failures and suggestions as :func:`_record` does."""
    final = [(task.id, result.value, result.provenance) for task, result in pairs
             if result.suggestion is None and result.failure is None
             and result.provenance is not None]
    done = submit_annotations(store, final, worker_id=worker_id) if final else None
    final_ids = {task_id for task_id, _, _ in final}
    for task, result in pairs:
        if done is None or task.id not in final_ids:
            _record(store, task, worker_id, result, stats)  # a failure or a suggestion
        elif task.id in done.stored:
            stats.submitted += 1
            stats.task_ids.append(task.id)
        elif task.id in done.conflicts:
            stats.conflicts += 1  # the lease was lost (expired and re-claimed): nothing stored
        else:  # the schema refused the value: a failed attempt, as an invalid model output is
            _record(store, task, worker_id,
                    Answer(failure=f"invalid value: {done.invalid[task.id]}"), stats)
