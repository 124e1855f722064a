"""Pacing calls to a provider's rate limits: requests and tokens per minute.

A :class:`Pacer` spaces the calls of one model so a run stays just under its limits instead of
bouncing off 429s. It is the generic cell rate algorithm (GCRA) with a reservation per call:
each call asks :meth:`Pacer.reserve` for its turn and is told how long to wait, so the waits
are decided under one lock and the waiting itself (``time.sleep`` in a worker thread,
``asyncio.sleep`` on an event loop) happens outside it. One pacer per model is shared by every
thread and task of the process (:func:`pacer_for`); worker processes on other machines each
need their share of the limit (divide it in the policy).

Tokens are counted as providers count them when a request arrives: the prompt plus all of
``max_tokens``. A 429 that still happens holds every call of the model back for the answer's
``Retry-After`` (:meth:`Pacer.hold_off`).

Why not ``aiolimiter`` or ``pyrate-limiter`` (both maintained, on PyPI): aiolimiter is for
asyncio only, and the run's workers are threads; pyrate-limiter 4 serves both but keeps a
list entry per unit of weight in its in-memory bucket (a 200,000 tokens-per-minute limit is
200,000 entries per window) and lets a whole window's budget go in one burst, which a
provider that enforces its per-minute limit per second (as OpenAI documents) rejects. Neither
has a shared hold-off for Retry-After. GCRA is 20 lines, exact, O(1) per call and testable with
an injected clock.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

HEADROOM = 0.9  # pace at this share of a limit: arrival jitter (GIL, threads) stays under it
WARMUP_MAX_S = 10.0  # the first call goes alone for at most this long (see Pacer.answered)
POLL_S = 0.02  # how often a call waiting for the first one to finish looks again
RETRY_AFTER_MAX_S = 120.0  # a longer Retry-After fails the call instead of stalling the run


@dataclass(frozen=True)
class RateLimit:
    """A model's limits: requests and tokens per minute (None: no limit of that kind)."""

    rpm: float | None = None
    tpm: float | None = None

    @property
    def limited(self) -> bool:
        return bool(self.rpm) or bool(self.tpm)


class Pacer:
    """GCRA over requests and tokens of one model; thread-safe, clock injectable.

    ``burst`` calls may go at once after a quiet spell (1: evenly spaced from the first call).

    The first call of the process goes alone: it pays for litellm's first-call setup and a
    new connection (0.4 s measured here) and can reach the provider after the calls paced
    behind it, a burst the provider rejects. The others wait until :meth:`answered` is
    called (at most :data:`WARMUP_MAX_S`), and the schedule moves by the first call's delay.
    """

    def __init__(self, limit: RateLimit, *, headroom: float = HEADROOM, burst: int = 1,
                 warm_up: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        self.limit = limit
        self.clock = clock
        self._request_s = 60.0 / (limit.rpm * headroom) if limit.rpm else 0.0
        self._token_s = 60.0 / (limit.tpm * headroom) if limit.tpm else 0.0
        self._burst = max(1, burst)
        self._tat_requests = -float("inf")  # theoretical arrival time of the next call
        self._tat_tokens = -float("inf")
        self._first_at: float | None = None  # when the first call was to go, until answered
        self._warm = not (warm_up and limit.limited)
        self._lock = threading.Lock()

    def reserve(self, tokens: int = 0) -> float | None:
        """Take the next turn for a call of ``tokens`` tokens; seconds to wait before sending
        (None: the first call is still out, ask again in a moment)."""
        with self._lock:
            now = self.clock()
            if not self._warm:
                if self._first_at is not None and now - self._first_at < WARMUP_MAX_S:
                    return None
                self._warm = self._first_at is not None
                self._first_at = now
            extra = self._burst - 1  # calls of this size that may go before their turn
            at = max(now, self._tat_requests - extra * self._request_s,
                     self._tat_tokens - extra * self._token_s * tokens)
            self._tat_requests = max(self._tat_requests, at) + self._request_s
            self._tat_tokens = max(self._tat_tokens, at) + self._token_s * tokens
            return at - now

    def answered(self) -> None:
        """A call came back (answered or not): after the first, calls are paced again, from
        the first call's arrival at the latest (now)."""
        if self._warm:
            return
        with self._lock:
            if not self._warm and self._first_at is not None:
                late = max(0.0, self.clock() - self._first_at)
                self._tat_requests += late
                self._tat_tokens += late
                self._warm = True

    def hold_off(self, seconds: float) -> None:
        """The provider said "retry after ``seconds``": no call goes before then."""
        with self._lock:
            until = self.clock() + seconds
            self._tat_requests = max(self._tat_requests, until)
            self._tat_tokens = max(self._tat_tokens, until)

    def wait(self, tokens: int = 0, sleep: Callable[[float], Any] = time.sleep) -> float:
        """Block the calling thread until the call's turn; the seconds waited."""
        waited = 0.0
        while (delay := self.reserve(tokens)) is None:
            sleep(POLL_S)
            waited += POLL_S
        if delay > 0:
            sleep(delay)
        return waited + delay

    async def wait_async(self, tokens: int = 0) -> float:
        """Await the call's turn without blocking the event loop; the seconds waited."""
        waited = 0.0
        while (delay := self.reserve(tokens)) is None:
            await asyncio.sleep(POLL_S)
            waited += POLL_S
        if delay > 0:
            await asyncio.sleep(delay)
        return waited + delay


class _Pacers:
    """The process's pacers, one per (model, limit): every gateway of the process shares it."""

    lock = threading.Lock()
    by_model: ClassVar[dict[tuple[str, RateLimit], Pacer]] = {}


def pacer_for(model: str, limit: RateLimit) -> Pacer:
    """The process-wide pacer of ``model`` under ``limit``. A model without limits has one too
    (it never makes a call wait, except for a Retry-After, which holds back all its calls)."""
    key = (model, limit)
    with _Pacers.lock:
        pacer = _Pacers.by_model.get(key)
        if pacer is None:
            pacer = _Pacers.by_model[key] = Pacer(limit)
        return pacer


def resolve_limit(model: str, configured: Mapping[str, Mapping[str, float]],
                  known: Mapping[str, Any] | None) -> RateLimit:
    """A model's limits: the configured ones (policy ``rate_limits``; a key matches the model
    string exactly) over what the price table knows of it (litellm's ``rpm``/``tpm``)."""
    given = configured.get(model) or {}
    table = known or {}
    rpm = given.get("rpm", table.get("rpm"))
    tpm = given.get("tpm", table.get("tpm"))
    return RateLimit(float(rpm) if rpm else None, float(tpm) if tpm else None)


def retry_after_s(exc: BaseException, now: Callable[[], float] = time.time) -> float | None:
    """The seconds a rate-limit answer asks to wait (``Retry-After``: seconds or an HTTP
    date; ``retry-after-ms``), from the headers an exception carries; None if it says none."""
    headers = _headers_of(exc)
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now())
    except (TypeError, ValueError):
        return None


def _headers_of(exc: BaseException) -> Mapping[str, Any] | None:
    for name in ("litellm_response_headers", "headers"):
        headers = getattr(exc, name, None)
        if headers:
            return dict(headers)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return dict(headers) if headers else None
