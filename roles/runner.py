"""`annotate run`: LLM role workers take LLM tasks from the shared queue until none are left.

K worker threads share one gateway (its semaphore caps requests in flight) and one store.
Each task is dispatched to the role named on it; a role's failure goes back to the queue as
a failed attempt; a budget cap stops every worker before the call that would cross it, and
the task in hand is released untouched. Safe to interrupt (leases expire and tasks return)
and to run on several machines at once against PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from annotate.errors import BudgetExceeded
from annotate.queue import ClaimedTask, release_task
from annotate.store.engine import Store
from annotate.store.models import Task
from annotate.worker import Answer, run_worker
from roles.base import ProjectContext, Role, RoleContext
from roles.llm import LLMClient
from roles.registry import load_role

LLM_ROLES = ("helper", "annotator", "moderator")


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
    """Unwinds a worker thread when the run must stop (budget reached)."""


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
    handlers: dict[str, Role] = field(default_factory=dict)
    stats: RunStats = field(default_factory=RunStats)
    stop: threading.Event = field(default_factory=threading.Event)
    budget_errors: list[BudgetExceeded] = field(default_factory=list)
    claimed: int = 0

    def take_quota(self) -> int | None:
        """None: no limit; 1: one more task may be claimed; 0: the limit is reached."""
        if self.limit is None:
            return None
        with self.stats.lock:
            if self.claimed >= self.limit:
                return 0
            self.claimed += 1
            return 1

    def answer(self, ctx: RoleContext, task: ClaimedTask) -> Answer:
        if self.stop.is_set():
            release_task(self.store, task.id, ctx.worker_id)
            raise _Stop
        try:
            result = self.handlers[task.role].answer(ctx, task)
        except BudgetExceeded as exc:
            self.budget_errors.append(exc)
            self.stop.set()
            release_task(self.store, task.id, ctx.worker_id)
            raise _Stop from None
        self.stats.record(task.role, result)
        if self.on_progress is not None:
            self.on_progress(self.stats)
        return result

    def work(self, index: int) -> None:
        ctx = RoleContext(store=self.store, llm=self.llm, project=self.context, model=self.model,
                          worker_id=worker_name(self.model, index))
        try:
            while not self.stop.is_set():
                quota = self.take_quota()
                if quota == 0:
                    return
                result = run_worker(self.store, ctx.worker_id, lambda t: self.answer(ctx, t),
                                    worker_kind="llm", roles=list(self.roles),
                                    project_id=self.context.project_id,
                                    lease_seconds=self.lease_seconds, limit=quota)
                with self.stats.lock:
                    self.stats.conflicts += result.conflicts
                if result.claimed == 0:
                    return
        except _Stop:
            return


def run_project(
    store: Store,
    project: str,
    llm: LLMClient,
    *,
    model: str,
    roles: Sequence[str] = LLM_ROLES,
    workers: int = 1,
    limit: int | None = None,
    lease_seconds: int | None = None,
    on_progress: Callable[[RunStats], None] | None = None,
) -> RunStats:
    """Work the project's LLM tasks for ``roles`` until none are left (or ``limit``)."""
    context = ProjectContext.load(store, project)
    run = _Run(store=store, llm=llm, context=context, model=model, roles=roles,
               lease_seconds=lease_seconds or context.policy.lease_seconds, limit=limit,
               on_progress=on_progress, handlers={name: load_role(name) for name in roles})
    start = time.perf_counter()
    threads = [threading.Thread(target=run.work, args=(i,), daemon=True) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(timeout=0.2)
    run.stats.seconds = time.perf_counter() - start
    if run.budget_errors:
        run.stats.stopped_by = str(run.budget_errors[0])
    return run.stats


def ledger_totals(store: Store, project_id: int) -> dict[str, float]:
    """Calls (not cached), their cost and tokens, cache hits and failed calls so far."""
    from annotate.projects import ledger_summary

    with store.session() as session:
        return ledger_summary(session, project_id)
