"""Group commit: many threads' small database operations run in one transaction per batch.

Every model call writes the ledger twice (open and close). Run one transaction per operation
and a busy gateway spends more CPU in SQLAlchemy's transaction machinery than in litellm;
SQLite also serialises every writer. :class:`BatchWriter` runs operations on one thread that
takes whatever is queued, runs it in a single transaction and wakes the callers. A caller's
:meth:`BatchWriter.run` returns only after the transaction holding its operation committed,
so the semantics are those of a synchronous write; only the CPU cost is shared.

An operation may raise an :class:`~annotate.errors.AnnotateError` (e.g. BudgetExceeded)
*before it writes anything*; that error goes to its caller alone and the batch commits. Any
other error rolls the whole batch back and is raised to every caller in it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from annotate.errors import AnnotateError

T = TypeVar("T")
MAX_BATCH = 64
IDLE_EXIT_S = 2.0  # the thread exits when idle and restarts on demand

_Item = tuple[Callable[[Connection], Any], "Future[Any]"]


class BatchWriter:
    """Runs ``op(connection)`` calls in shared transactions on one background thread."""

    def __init__(self, engine: Engine, name: str = "ledger-writer") -> None:
        self.engine = engine
        self.name = name
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    def run(self, op: Callable[[Connection], T]) -> T:
        """Run ``op`` in the next batch's transaction; return once that transaction commits."""
        future: Future[T] = Future()
        self._queue.put((op, future))
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._loop, name=self.name, daemon=True).start()
        return future.result()

    def _loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Item]) -> None:
        outcomes: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            with self.engine.begin() as conn:
                for op, future in batch:
                    try:
                        outcomes.append((future, op(conn), None))
                    except AnnotateError as exc:  # raised before the op wrote anything
                        outcomes.append((future, None, exc))
        except BaseException as exc:  # the transaction failed: nobody's write happened
            for _op, future in batch:
                future.set_exception(exc)
            return
        for future, value, error in outcomes:
            if error is None:
                future.set_result(value)
            else:
                future.set_exception(error)
