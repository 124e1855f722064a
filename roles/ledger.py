"""The LLM call ledger (table ``llm_calls``): request cache, budget reservations, outcomes.

Every model call is a row. Writes go through a :class:`~roles.batch_writer.BatchWriter`
(group commit: concurrent callers share transactions; each call returns after its commit).
A call's life:

1. :meth:`Ledger.open_call` in one transaction: answer from the cache (a prior ``ok`` row with
   the same request hash; a new row with ``cached=True`` and cost 0 is written), otherwise, if
   the project has a budget, check it and insert the call's row with ``outcome='pending'`` and
   ``cost_usd`` = the call's cost *estimate* (its reservation).
2. Each failed attempt that is retried: :meth:`Ledger.record_attempt` (an ``error`` row, cost 0).
3. :meth:`Ledger.close_call` writes the outcome, real tokens, cost and latency: it updates the
   pending row, or inserts the call's row when no reservation was needed.

Budget guarantee. The check "spent + reserved + estimate <= budget" and the reservation row
are written in the same transaction, which holds the project's lock: ``SELECT ... FOR NO KEY
UPDATE`` on the project row on PostgreSQL, the database write lock (``BEGIN IMMEDIATE``) on SQLite.
So reservations are serialised across threads, processes and machines sharing the database,
and the cap is never crossed as long as each call's real cost is at most its estimate (the
estimate prices the prompt's tokens with a margin plus the full ``max_tokens``). Inside a
process the writer thread also runs the checks one after another, so threads queue in Python
instead of spinning on SQLite's busy timeout. A worker killed mid-call leaves its ``pending``
row: its reservation keeps counting against the budget (conservative) and is never used as a
cache hit. Models without a price in litellm's table are estimated and counted at $0, so a
budget cannot limit them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update

from annotate.errors import BudgetExceeded
from annotate.store.engine import Store
from annotate.store.models import LLMCall, Project
from roles.batch_writer import BatchWriter

PENDING = "pending"
# Prebuilt Core statements with bound parameters: ledger writes are on every model call, and
# the ORM unit of work or building a statement per call costs several times the SQL itself.
CALLS = cast(Table, LLMCall.__table__)
PROJECTS = cast(Table, Project.__table__)
INSERT_CALL = insert(CALLS).returning(CALLS.c.id)
UPDATE_CALL = update(CALLS).where(CALLS.c.id == bindparam("call_id"))
LATEST_OK = (
    select(CALLS.c.id, CALLS.c.raw_text, CALLS.c.response)
    .where(CALLS.c.request_hash == bindparam("request_hash"), CALLS.c.outcome == "ok")
    .order_by(CALLS.c.id.desc())
    .limit(1)
)
# FOR NO KEY UPDATE, not FOR UPDATE: every insert of a row that references the project (an
# llm_calls row, an annotation) takes FOR KEY SHARE on it, which FOR UPDATE waits for. Two
# processes whose ledger batches each inserted a row (a cache hit, a retried attempt) and then
# asked for FOR UPDATE waited for each other: PostgreSQL's "deadlock detected" (reproduced
# with two connections in tests/test_run_truth.py). NO KEY UPDATE still serialises the budget
# checks with each other but ignores KEY SHARE.
BUDGET = (
    select(PROJECTS.c.budget_usd).where(PROJECTS.c.id == bindparam("project_id"))
    .with_for_update(key_share=True)
)
SPENT = select(func.coalesce(func.sum(CALLS.c.cost_usd), 0.0)).where(
    CALLS.c.project_id == bindparam("project_id")
)
SPENT_PENDING = SPENT.where(CALLS.c.outcome == PENDING)

@dataclass(frozen=True)
class CallInfo:
    """What the ledger records about who asked for a call."""

    request_hash: str
    model: str
    role: str | None
    task_id: int | None


@dataclass(frozen=True)
class CachedAnswer:
    """A prior ok answer for the same request, served without a model call."""

    call_id: int  # the new cached=True row
    source_call_id: int
    text: str
    finish_reason: str


@dataclass(frozen=True)
class CallResult:
    """How a call ended, for :meth:`Ledger.close_call`."""

    outcome: str  # ok | invalid | error
    latency_s: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    raw_text: str | None = None
    error_kind: str | None = None
    error: str | None = None
    response: dict[str, Any] | None = None


@dataclass(frozen=True)
class Reservation:
    """A call about to be made: its pending row (when a budget needed one) and reserved cost."""

    call_id: int | None
    reserved_usd: float


@dataclass
class _BudgetView:
    """The budget and spend as seen in one batch transaction (read once per batch)."""

    transaction: Any
    budget: float | None
    spent: float


class Ledger:
    """Ledger operations for one project (or none) on one store."""

    def __init__(self, store: Store, project_id: int | None) -> None:
        self.store = store
        self.project_id = project_id
        self._writer = BatchWriter(store.engine)
        self._view: _BudgetView | None = None  # touched only on the writer thread
        self._has_budget = False  # last seen; only decides where the estimate is computed

    def open_call(
        self, call: CallInfo, estimate_usd: Callable[[], float], *, use_cache: bool = True
    ) -> CachedAnswer | Reservation:
        """A cached answer, or the call's reservation (raises BudgetExceeded)."""
        if self._has_budget:  # price the call here, not on the writer thread
            precomputed = estimate_usd()
            estimate_usd = lambda: precomputed  # noqa: E731

        def op(conn: Connection) -> CachedAnswer | Reservation:
            if use_cache:
                hit = self._cache_hit(conn, call)
                if hit is not None:
                    return hit
            return self._reserve(conn, call, estimate_usd)

        return self._writer.run(op)

    def record_attempt(self, call: CallInfo, result: CallResult) -> int:
        """A failed attempt that will be retried (its own row; cost 0)."""
        return self._writer.run(lambda conn: self._insert(conn, call, **_values(result)))

    def close_call(self, call: CallInfo, reservation: Reservation, result: CallResult) -> int:
        """Write the call's outcome and real cost (replacing its reservation); its row id."""
        if reservation.call_id is None:
            return self.record_attempt(call, result)
        params = {"call_id": reservation.call_id, **_values(result)}
        self._writer.run(lambda conn: conn.execute(UPDATE_CALL, params))
        return reservation.call_id

    def spent_usd(self) -> float:
        """Cost so far, including reservations of calls in flight."""
        with self.store.engine.begin() as conn:
            return _spent(conn, self.project_id)

    def _cache_hit(self, conn: Connection, call: CallInfo) -> CachedAnswer | None:
        row = conn.execute(LATEST_OK, {"request_hash": call.request_hash}).first()
        if row is None or row.raw_text is None:
            return None
        response = row.response or {}
        call_id = self._insert(
            conn, call, outcome="ok", cached=True, raw_text=row.raw_text, response=response
        )
        finish = str(response.get("finish_reason", "stop"))
        return CachedAnswer(call_id, row.id, row.raw_text, finish)

    def _reserve(
        self, conn: Connection, call: CallInfo, estimate_usd: Callable[[], float]
    ) -> Reservation:
        view = self._budget_view(conn)
        if view is None or view.budget is None:
            return Reservation(None, 0.0)
        estimate = estimate_usd()
        if view.spent + estimate > view.budget:
            in_flight = _spent(conn, self.project_id, pending_only=True)
            raise BudgetExceeded(
                f"budget cap of ${view.budget:.6g} for project {self.project_id} reached: "
                f"${view.spent:.6g} spent or reserved (${in_flight:.6g} by calls in flight), "
                f"and the next call to {call.model} may cost up to ${estimate:.6g}. Raise the "
                "project's budget or switch to a cheaper or local model to continue."
            )
        view.spent += estimate
        call_id = self._insert(conn, call, outcome=PENDING, cost_usd=estimate)
        return Reservation(call_id, estimate)

    def _budget_view(self, conn: Connection) -> _BudgetView | None:
        """Budget and spend, read (with the project row locked) once per transaction."""
        if self.project_id is None:
            return None
        transaction = conn.get_transaction()
        if self._view is not None and self._view.transaction is transaction:
            return self._view
        budget = conn.execute(BUDGET, {"project_id": self.project_id}).scalar_one_or_none()
        spent = _spent(conn, self.project_id) if budget is not None else 0.0
        self._view = _BudgetView(transaction, budget, spent)
        self._has_budget = budget is not None
        return self._view

    def _insert(self, conn: Connection, call: CallInfo, **values: Any) -> int:
        row = {
            "project_id": self.project_id,
            "task_id": call.task_id,
            "role": call.role,
            "request_hash": call.request_hash,
            "model": call.model,
            **values,
        }
        return int(conn.execute(INSERT_CALL, row).scalar_one())


def _spent(conn: Connection, project_id: int | None, *, pending_only: bool = False) -> float:
    query = SPENT_PENDING if pending_only else SPENT
    return float(conn.execute(query, {"project_id": project_id}).scalar_one())


def _values(result: CallResult) -> dict[str, Any]:
    return {
        "outcome": result.outcome,
        "latency_s": result.latency_s,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "cost_usd": result.cost_usd,
        "raw_text": result.raw_text,
        "error_kind": result.error_kind,
        "error": result.error,
        "response": result.response,
    }
