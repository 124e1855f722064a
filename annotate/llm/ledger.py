"""The LLM call ledger (table ``llm_calls``): request cache, budget reservations, outcomes.

Every model call is a row. Writes go through a :class:`~annotate.llm.batch_writer.BatchWriter`
(group commit: concurrent callers share transactions; each call returns after its commit).
A call's life:

1. :meth:`Ledger.open_call` in one transaction: answer from the cache (a prior ``ok`` row with
   the same request hash; a new row with ``cached=True`` and cost 0 is written), otherwise, if
   the project has a budget, check it and insert the call's row with ``outcome='pending'``,
   ``cost_usd`` = the call's worst-case cost (its reservation) and ``expires_at``.
2. Each failed attempt that is retried: :meth:`Ledger.record_attempt` (an ``error`` row, cost 0).
3. :meth:`Ledger.close_call` writes the outcome, real tokens, cost, latency and the overrun (the
   cost above the reservation): it updates the pending row, or inserts the call's row when no
   reservation was needed.

Budget guarantee. The check "spent + reserved + estimate <= budget" and the reservation row
are written in the same transaction, which holds the project's lock: ``SELECT ... FOR NO KEY
UPDATE`` on the project row on PostgreSQL, the database write lock (``BEGIN IMMEDIATE``) on SQLite.
So reservations are serialised across threads, processes and machines sharing the database.
The estimate is the worst case the provider may bill when it honours ``max_tokens`` (the
prompt's tokens with a margin plus the full ``max_tokens``, which is sent), so the cap holds
as long as it does. A provider that reports more is caught three ways:

- the call that overran is recorded (``overrun_usd``) and counted on the project
  (``projects.budget_overruns``); every ledger that sees the count rise refuses its next call
  with BudgetExceeded, so every process of a run stops;
- a model is *on probation* in a ledger until one of its answers came back within its
  reservation: meanwhile at most one call of it per project is in flight (across processes),
  so a provider that always over-reports crosses the cap by one call's overrun, not by one
  per worker;
- a call that does not fit while calls are in flight waits for them (they may cost less than
  reserved) instead of stopping the run early.

Reservations expire. A pending row counts until ``expires_at``; the ledger pushes it forward
every third of the reservation TTL while the call is in flight, so a worker killed mid-call
(SIGKILL, power loss) frees its reservation one TTL later, and the row is never a cache hit.
Models without a price in litellm's table are estimated and counted at $0, so a budget
cannot limit them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, case, func, insert, or_, select, update

from annotate.errors import BudgetExceeded
from annotate.llm.batch_writer import BatchWriter
from annotate.store.engine import Store
from annotate.store.models import LLMCall, Project, utcnow

log = logging.getLogger(__name__)

PENDING = "pending"
ANSWERED = ("ok", "invalid")  # the model answered: its usage is known
RESERVATION_TTL_S = 120.0
WAIT_S = (0.05, 0.25)  # a call that must wait polls the budget this often (jittered)
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
    select(PROJECTS.c.budget_usd, PROJECTS.c.budget_overruns)
    .where(PROJECTS.c.id == bindparam("project_id"))
    .with_for_update(key_share=True)
)
# A pending row (a reservation) counts until it expires; every other row counts for good.
_COUNTED = (CALLS.c.project_id == bindparam("project_id"),
            or_(CALLS.c.outcome != PENDING, CALLS.c.expires_at > bindparam("now")))
_IN_FLIGHT = (CALLS.c.project_id == bindparam("project_id"), CALLS.c.outcome == PENDING,
              CALLS.c.expires_at > bindparam("now"))
SPENT = select(
    func.coalesce(func.sum(CALLS.c.cost_usd), 0.0),
    func.coalesce(func.sum(case((CALLS.c.outcome == PENDING, CALLS.c.cost_usd), else_=0.0)), 0.0),
).where(*_COUNTED)
MODELS_IN_FLIGHT = select(CALLS.c.model).where(*_IN_FLIGHT).distinct()
EXTEND = (update(CALLS)
          .where(CALLS.c.id.in_(bindparam("ids", expanding=True)), CALLS.c.outcome == PENDING)
          .values(expires_at=bindparam("expires")))
COUNT_OVERRUN = (update(PROJECTS).where(PROJECTS.c.id == bindparam("project_id"))
                 .values(budget_overruns=PROJECTS.c.budget_overruns + 1))

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
    overrun_usd: float = 0.0  # cost above the call's reservation


@dataclass(frozen=True)
class Reservation:
    """A call about to be made: its pending row (when a budget needed one) and reserved cost."""

    call_id: int | None
    reserved_usd: float


class _Wait:
    """The call must wait: calls in flight hold the budget it needs, or its model is on
    probation and another call of it is in flight."""


WAIT = _Wait()


@dataclass
class _BudgetView:
    """The budget and spend as seen in one batch transaction (read once per batch)."""

    transaction: Any
    budget: float | None
    overruns: int
    spent: float  # reservations in flight included
    in_flight: float  # of which reserved by calls in flight
    models_in_flight: set[str] | None = None  # read when a model on probation asks
    now: Any = field(default_factory=utcnow)


class Ledger:
    """Ledger operations for one project (or none) on one store."""

    def __init__(self, store: Store, project_id: int | None, *,
                 reservation_ttl_s: float = RESERVATION_TTL_S) -> None:
        self.store = store
        self.project_id = project_id
        self.reservation_ttl_s = reservation_ttl_s
        self._writer = BatchWriter(store.engine)
        self._keeper = _ReservationKeeper(self._writer, reservation_ttl_s)
        self._view: _BudgetView | None = None  # touched only on the writer thread
        self._has_budget = False  # last seen; only decides where the estimate is computed
        self._overruns_seen: int | None = None  # the project's count when this ledger began
        self._trusted: set[str] = set()  # models that answered within their reservation

    def open_call(
        self, call: CallInfo, estimate_usd: Callable[[], float], *, use_cache: bool = True
    ) -> CachedAnswer | Reservation:
        """A cached answer, or the call's reservation (raises BudgetExceeded)."""
        if self._has_budget:  # price the call here, not on the writer thread
            precomputed = estimate_usd()
            estimate_usd = lambda: precomputed  # noqa: E731

        def op(conn: Connection) -> CachedAnswer | Reservation | _Wait:
            if use_cache:
                hit = self._cache_hit(conn, call)
                if hit is not None:
                    return hit
            return self._reserve(conn, call, estimate_usd)

        while True:
            opened = self._writer.run(op)
            if not isinstance(opened, _Wait):
                return opened
            time.sleep(random.uniform(*WAIT_S))

    def record_attempt(self, call: CallInfo, result: CallResult) -> int:
        """A failed attempt that will be retried (its own row; cost 0)."""
        return self._writer.run(lambda conn: self._insert(conn, call, **_values(result)))

    def close_call(self, call: CallInfo, reservation: Reservation, result: CallResult) -> int:
        """Write the call's outcome and real cost (replacing its reservation); its row id."""
        if reservation.call_id is None:
            return self.record_attempt(call, result)
        call_id = reservation.call_id
        params = {"call_id": call_id, **_values(result)}

        def op(conn: Connection) -> None:
            conn.execute(UPDATE_CALL, params)
            if result.overrun_usd > 0:
                conn.execute(COUNT_OVERRUN, {"project_id": self.project_id})

        try:
            self._writer.run(op)
        finally:
            self._keeper.drop(call_id)
        if result.outcome in ANSWERED and result.overrun_usd <= 0:
            self._trusted.add(call.model)
        return call_id

    def spent_usd(self) -> float:
        """Cost so far, including reservations of calls in flight (until they expire)."""
        with self.store.engine.begin() as conn:
            return _spent(conn, self.project_id)[0]

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
    ) -> Reservation | _Wait:
        view = self._budget_view(conn)
        if view is None or view.budget is None:
            return Reservation(None, 0.0)
        if self._overruns_seen is not None and view.overruns > self._overruns_seen:
            raise BudgetExceeded(
                f"stopped: a call of project {self.project_id} cost more than its reservation "
                "(its provider reported more tokens than max_tokens allows; overrun_usd on the "
                "ledger). Check that the provider honours max_tokens before running again.")
        estimate = estimate_usd()
        if estimate > 0 and call.model not in self._trusted and (
                call.model in self._models_in_flight(conn, view)):
            return WAIT  # on probation: one call of this model at a time
        if view.spent + estimate > view.budget:
            if view.spent - view.in_flight + estimate <= view.budget:
                return WAIT  # the calls in flight may cost less than they reserved
            raise BudgetExceeded(
                f"budget cap of ${view.budget:.6g} for project {self.project_id} reached: "
                f"${view.spent:.6g} spent or reserved (${view.in_flight:.6g} by calls in "
                f"flight), and the next call to {call.model} may cost up to ${estimate:.6g}. "
                "Raise the project's budget or switch to a cheaper or local model to continue."
            )
        view.spent += estimate
        view.in_flight += estimate
        if view.models_in_flight is not None:
            view.models_in_flight.add(call.model)
        expires = view.now + timedelta(seconds=self.reservation_ttl_s)
        call_id = self._insert(conn, call, outcome=PENDING, cost_usd=estimate, expires_at=expires)
        self._keeper.hold(call_id)
        return Reservation(call_id, estimate)

    def _models_in_flight(self, conn: Connection, view: _BudgetView) -> set[str]:
        if view.models_in_flight is None:
            rows = conn.execute(MODELS_IN_FLIGHT, {"project_id": self.project_id,
                                                   "now": view.now})
            view.models_in_flight = {str(m) for m in rows.scalars()}
        return view.models_in_flight

    def _budget_view(self, conn: Connection) -> _BudgetView | None:
        """Budget and spend, read (with the project row locked) once per transaction."""
        if self.project_id is None:
            return None
        transaction = conn.get_transaction()
        if self._view is not None and self._view.transaction is transaction:
            return self._view
        row = conn.execute(BUDGET, {"project_id": self.project_id}).first()
        budget, overruns = (row.budget_usd, int(row.budget_overruns)) if row else (None, 0)
        spent, in_flight = _spent(conn, self.project_id) if budget is not None else (0.0, 0.0)
        self._view = _BudgetView(transaction, budget, overruns, spent, in_flight)
        if self._overruns_seen is None:
            self._overruns_seen = overruns
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


def _spent(conn: Connection, project_id: int | None) -> tuple[float, float]:
    """Spent and reserved (reservations in flight included), and reserved in flight."""
    row = conn.execute(SPENT, {"project_id": project_id, "now": utcnow()}).one()
    return float(row[0]), float(row[1])


class _ReservationKeeper:
    """Pushes the expiry of the reservations of calls in flight forward, every third of the
    TTL, on one thread that runs while there are any (a killed process stops pushing)."""

    def __init__(self, writer: BatchWriter, ttl_s: float) -> None:
        self._writer = writer
        self._ttl_s = ttl_s
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._running = False

    def hold(self, call_id: int) -> None:
        with self._lock:
            self._held.add(call_id)
            if not self._running:
                self._running = True
                threading.Thread(target=self._loop, name="reservation-keeper",
                                 daemon=True).start()

    def drop(self, call_id: int) -> None:
        with self._lock:
            self._held.discard(call_id)

    def _loop(self) -> None:
        while True:
            time.sleep(self._ttl_s / 3)
            with self._lock:
                ids = sorted(self._held)
                if not ids:
                    self._running = False
                    return
            try:
                self._extend(ids)
            except Exception as exc:  # the call's own close reports a dead database
                log.warning("could not extend %d budget reservations: %s", len(ids), exc)

    def _extend(self, ids: list[int]) -> None:
        params = {"ids": ids, "expires": utcnow() + timedelta(seconds=self._ttl_s)}
        self._writer.run(lambda conn: conn.execute(EXTEND, params))


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
        "overrun_usd": result.overrun_usd,
    }
