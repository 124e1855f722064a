"""`annotate run`: LLM role workers take LLM tasks from the shared queue until none are left.

K worker threads share one gateway (its semaphore caps requests in flight) and one store.
Each task is dispatched to the role named on it; a role's failure goes back to the queue as
a failed attempt; a budget cap stops every worker before the call that would cross it (or
after a call that cost more than it reserved: the provider ignored max_tokens), and the task
in hand is released untouched. The worker loop extends a task's lease while its call runs, so
a lease shorter than the model's latency never gets a task paid for twice. Safe to interrupt
(leases expire and tasks return) and to run on several machines at once against PostgreSQL.

With ``batch_size`` > 1 each worker claims, answers and stores that many tasks at a time
(:func:`~annotate.queue.worker.run_batch_worker`); a role with an ``answer_batch(ctx, tasks)``
method answers the batch in one call (the annotator with a distilled model embeds the batch),
any other role one task after another.

A run tells the truth: a configuration failure (:class:`~annotate.errors.SetupError` from the
gateway: refused key, unknown model, unreachable server), a worker thread that dies, or a
SQLite file deleted or replaced under the run stops every worker, releases the tasks they hold
and is raised by :func:`run_project` once the threads are joined, so the CLI exits non-zero
with the reason instead of a summary of work that did not happen.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from annotate.errors import AnnotateError, BudgetExceeded, SetupError, StoreUnavailable
from annotate.llm.types import LLMClient
from annotate.queue.leases import ClaimedTask
from annotate.queue.worker import Answer, run_batch_worker, run_worker
from annotate.store.engine import Store
from annotate.store.models import Task
from roles.base import ProjectContext, Role, RoleContext
from roles.registry import load_role, role_names

LLM_ROLES = ("helper", "annotator", "moderator")  # the built-in ones; plugins add more
STOP_WAIT_S = 30.0  # on Ctrl-C, how long workers get to finish the call in hand and release


@dataclass
class RunStats:
    done: int = 0
    failed: int = 0
    conflicts: int = 0
    cache_hits: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    by_role: dict[str, int] = field(default_factory=dict)
    stopped_by: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, role: str, answer: Answer) -> None:
        with self.lock:
            if answer.failure is not None:
                self.failed += 1
                return
            self.done += 1
            self.by_role[role] = self.by_role.get(role, 0) + 1
            prov = answer.provenance
            if prov is not None:
                self.cost_usd += prov.cost_usd
                if (prov.meta or {}).get("cached"):
                    self.cache_hits += 1


class _Stop(Exception):
    """Unwinds a worker thread when the run must stop (budget reached, another worker failed);
    the worker loop releases the task in hand."""


@dataclass(frozen=True)
class DatabaseFile:
    """The SQLite file a run started on; a run whose file was deleted or replaced writes to
    an inode nobody will ever open again, so every answer after that is lost."""

    path: str | None
    identity: tuple[int, int] | None

    @classmethod
    def of(cls, store: Store) -> DatabaseFile:
        path = store.engine.url.database if store.dialect == "sqlite" else None
        if not path or path == ":memory:" or path.startswith("file:"):
            return cls(None, None)
        return cls(path, _identity(path))

    def check(self) -> None:
        if self.path is not None and _identity(self.path) != self.identity:
            raise StoreUnavailable(
                f"the database file {self.path} was deleted or replaced during the run; answers "
                "written since then are lost. Restore the file (or use a new --db) and run "
                "again")


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def task_counts(store: Store, project_id: int, roles: Sequence[str]) -> dict[str, int]:
    """The project's LLM tasks of ``roles`` by status (pending, leased, done, failed...)."""
    with store.session() as session:
        rows = session.execute(
            select(Task.status, func.count()).where(
                Task.project_id == project_id, Task.worker_kind == "llm",
                Task.role.in_(list(roles))).group_by(Task.status)).all()
    return {str(status): int(n) for status, n in rows}


def open_llm_tasks(store: Store, project_id: int, roles: Sequence[str]) -> int:
    with store.session() as session:
        return int(session.scalar(
            select(func.count()).select_from(Task).where(
                Task.project_id == project_id, Task.worker_kind == "llm",
                Task.role.in_(list(roles)), Task.status.in_(("pending", "leased")))
        ) or 0)


def worker_name(model: str, index: int) -> str:
    return f"llm:{model}:{socket.gethostname()}:{os.getpid()}:{index}"


@dataclass
class _Run:
    store: Store
    llm: LLMClient
    context: ProjectContext
    model: str
    roles: Sequence[str]
    lease_seconds: int
    limit: int | None
    on_progress: Callable[[RunStats], None] | None
    batch_size: int = 1
    handlers: dict[str, Role] = field(default_factory=dict)
    stats: RunStats = field(default_factory=RunStats)
    stop: threading.Event = field(default_factory=threading.Event)
    database: DatabaseFile = DatabaseFile(None, None)
    budget_errors: list[BudgetExceeded] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)  # what stopped the run
    claimed: int = 0

    def take_quota(self, n: int = 1) -> int | None:
        """None: no limit; k > 0: k more tasks (at most ``n``) may be claimed; 0: the limit
        is reached."""
        if self.limit is None:
            return None
        with self.stats.lock:
            k = min(n, self.limit - self.claimed)
            if k <= 0:
                return 0
            self.claimed += k
            return k

    def answer(self, ctx: RoleContext, task: ClaimedTask) -> Answer:
        if self.stop.is_set():
            raise _Stop
        self.database.check()
        try:
            result = self.handlers[task.role].answer(ctx, task)
        except BudgetExceeded as exc:
            self.budget_errors.append(exc)
            self.stop.set()
            raise _Stop from None
        self.stats.record(task.role, result)
        if self.on_progress is not None:
            self.on_progress(self.stats)
        return result

    def answer_batch(self, ctx: RoleContext, tasks: list[ClaimedTask]) -> list[Answer]:
        """The batch's answers: in one call when every task has the same role and the role
        has ``answer_batch``, else one task after another."""
        handler = self.handlers[tasks[0].role]
        batched = getattr(handler, "answer_batch", None)
        if batched is None or any(t.role != tasks[0].role for t in tasks):
            return [self.answer(ctx, t) for t in tasks]
        if self.stop.is_set():
            raise _Stop
        self.database.check()
        try:
            results: list[Answer] = batched(ctx, tasks)
        except BudgetExceeded as exc:
            self.budget_errors.append(exc)
            self.stop.set()
            raise _Stop from None
        for task, result in zip(tasks, results, strict=True):
            self.stats.record(task.role, result)
        if self.on_progress is not None:
            self.on_progress(self.stats)
        return results

    def drain(self, ctx: RoleContext, quota: int | None) -> Any:
        """One worker loop over the queue, one task or ``batch_size`` tasks at a time."""
        common: dict[str, Any] = {"worker_kind": "llm", "roles": list(self.roles),
                                  "project_id": self.context.project_id,
                                  "lease_seconds": self.lease_seconds, "limit": quota}
        if self.batch_size > 1:
            return run_batch_worker(self.store, ctx.worker_id,
                                    lambda tasks: self.answer_batch(ctx, tasks),
                                    batch_size=self.batch_size, **common)
        return run_worker(self.store, ctx.worker_id, lambda t: self.answer(ctx, t), **common)

    def work(self, index: int) -> None:
        ctx = RoleContext(store=self.store, llm=self.llm, project=self.context, model=self.model,
                          worker_id=worker_name(self.model, index))
        try:
            while not self.stop.is_set():
                quota = self.take_quota(self.batch_size)
                if quota == 0:
                    return
                result = self.drain(ctx, quota)
                with self.stats.lock:
                    self.stats.conflicts += result.conflicts
                if result.claimed == 0:
                    return
        except _Stop:
            return
        except BaseException as exc:  # raised by run_project after the join
            with self.stats.lock:
                self.errors.append(exc)
            self.stop.set()

    def start_and_wait(self, threads: list[threading.Thread],
                       finished: list[threading.Event]) -> None:
        """Start the workers and wait until each has ``finished``.

        Ctrl-C (SIGINT, in the main thread) only asks the workers to stop: each finishes or
        gives back the task in hand, then KeyboardInterrupt is raised here; a second Ctrl-C
        raises at once. The workers are never joined with ``Thread.join`` under a pending
        KeyboardInterrupt: in CPython 3.11 an interrupted join can mark a running thread as
        stopped, and the process would exit while a worker still holds a task.
        """
        interrupted = threading.Event()

        def on_sigint(_signum: int, _frame: object) -> None:
            if interrupted.is_set():
                raise KeyboardInterrupt
            interrupted.set()
            self.stop.set()

        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, on_sigint) if main else None
        try:
            for t in threads:
                t.start()
            deadline: float | None = None
            for done in finished:
                while not done.wait(0.2):
                    if interrupted.is_set() and deadline is None:
                        deadline = time.monotonic() + STOP_WAIT_S
                    if deadline is not None and time.monotonic() > deadline:
                        break
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        if interrupted.is_set():
            raise KeyboardInterrupt

    def raise_failure(self) -> None:
        """The run's first real failure, as the error the CLI should report."""
        if not self.errors:
            self.database.check()  # deleted after the last task: nothing written survived
            return
        first = self.errors[0]
        for exc in self.errors:  # a configuration error explains the others
            if isinstance(exc, SetupError):
                raise exc
        if isinstance(first, AnnotateError):
            raise first
        if isinstance(first, DBAPIError):
            detail = str(first.orig or first).strip().splitlines()[0]
            self.database.check()
            raise StoreUnavailable(f"the database failed during the run: {detail}; "
                                   "tasks in hand were released or return when their lease "
                                   "expires") from first
        raise RuntimeError(f"an LLM worker thread failed: {first!r}") from first


def run_project(
    store: Store,
    project: str,
    llm: LLMClient,
    *,
    model: str,
    roles: Sequence[str] | None = None,
    workers: int = 1,
    limit: int | None = None,
    lease_seconds: int | None = None,
    on_progress: Callable[[RunStats], None] | None = None,
    batch_size: int = 1,
) -> RunStats:
    """Work the project's LLM tasks for ``roles`` (default: every registered role) until none
    are left (or ``limit``), ``batch_size`` tasks per claim."""
    roles = tuple(roles) if roles is not None else role_names()
    context = ProjectContext.load(store, project)
    run = _Run(store=store, llm=llm, context=context, model=model, roles=roles,
               lease_seconds=lease_seconds or context.policy.lease_seconds, limit=limit,
               on_progress=on_progress, batch_size=max(1, batch_size),
               handlers={name: load_role(name) for name in roles},
               database=DatabaseFile.of(store))
    start = time.perf_counter()
    finished = [threading.Event() for _ in range(workers)]

    def work(index: int) -> None:
        try:
            run.work(index)
        finally:
            finished[index].set()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(workers)]
    run.start_and_wait(threads, finished)
    run.stats.seconds = time.perf_counter() - start
    run.raise_failure()
    if run.budget_errors:
        run.stats.stopped_by = str(run.budget_errors[0])
    return run.stats


def ledger_totals(store: Store, project_id: int) -> dict[str, float]:
    """Calls (not cached), their cost and tokens, cache hits and failed calls so far."""
    from annotate.projects.catalog import ledger_summary

    with store.session() as session:
        return ledger_summary(session, project_id)
