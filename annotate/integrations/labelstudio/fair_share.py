"""Sharing the one loaded model between concurrent ``/predict`` requests, fairly.

A request's tasks are predicted in chunks; each chunk waits for a model slot in a first-come
first-served queue and gives the slot back when done, so the next chunk of a large request
queues behind whatever arrived meanwhile. A request of one task therefore waits for at most
one chunk per request ahead of it, not for a whole request of 15,000 tasks (before this, one
lock around the whole request held every other ``/predict`` for 17 s).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from annotate.integrations.labelstudio.predictor import (
    ItemToPredict,
    PredictedValue,
    PredictionFailure,
    Predictor,
)
from annotate.kinds.schema import LabelSchema

Output = PredictedValue | PredictionFailure


class RequestAbandoned(Exception):
    """The client went away before its request was done; the rest is not predicted."""


class FairGate:
    """At most ``slots`` holders at once, admitted in arrival order (FIFO tickets).

    ``threading.Lock`` and ``Semaphore`` promise no order: a thread that releases and at once
    acquires again often wins, which is how one large request starved the others.
    """

    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError("a gate needs at least one slot")
        self._free = slots
        self._line: deque[object] = deque()
        self._changed = threading.Condition()

    @contextmanager
    def turn(self) -> Iterator[None]:
        ticket = object()
        with self._changed:
            self._line.append(ticket)
            try:
                self._changed.wait_for(lambda: self._free > 0 and self._line[0] is ticket)
            except BaseException:
                self._line.remove(ticket)
                self._changed.notify_all()
                raise
            self._line.popleft()
            self._free -= 1
            self._changed.notify_all()  # with slots left, the next in line may go too
        try:
            yield
        finally:
            with self._changed:
                self._free += 1
                self._changed.notify_all()

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._line)


class PredictorMismatch(RuntimeError):
    """The predictor answered a different number of values than it was given items (a bug)."""


def predict_in_turns(predictor: Predictor, schema: LabelSchema,
                     items: Sequence[ItemToPredict], gate: FairGate, chunk_size: int,
                     still_wanted: Callable[[], bool] = lambda: True) -> list[Output]:
    """One answer per item, in order, taking one turn at the gate per chunk of items.

    Between chunks, ``still_wanted()`` is asked; when the client has gone the rest is not
    predicted (no model calls, no ledger rows for nobody) and :class:`RequestAbandoned` is
    raised.
    """
    outputs: list[Output] = []
    for start in range(0, len(items), chunk_size):
        if not still_wanted():
            raise RequestAbandoned(f"client left after {start} of {len(items)} tasks")
        chunk = items[start:start + chunk_size]
        with gate.turn():
            answered = list(predictor.predict(schema, chunk))
        if len(answered) != len(chunk):
            raise PredictorMismatch(f"the predictor answered {len(answered)} values for "
                                    f"{len(chunk)} items")
        outputs.extend(answered)
    return outputs
