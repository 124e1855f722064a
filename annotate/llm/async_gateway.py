"""The gateway's asyncio path: ``await AsyncGateway(gateway).complete(request)``.

Everything but the call is the :class:`~annotate.llm.gateway.Gateway`'s own code: the
personal-data door, the cache, the budget reservation (made before the call), the ledger rows,
the answer checks, the pacer shared with the threaded path (:mod:`annotate.llm.pacing`) and the
retry decisions (:mod:`annotate.llm.attempts`). The call is ``litellm.acompletion`` under a
concurrency limit (an ``asyncio.Semaphore`` of ``max_in_flight``), so one event loop keeps many
hosted-model calls in flight without a thread each.

:class:`LoopClient` gives the worker threads of ``annotate run`` this path: their calls to a
hosted model run on one event loop thread of the process (``complete`` hands the request over
and waits). Besides fewer threads waiting on sockets, the pacer's turn and the send then happen
on one thread: with 16 worker threads each sending its own request, thread scheduling under
load delayed some sends past the next call's turn and the provider saw a burst (1-3 rejected of
300 at 600 rpm in BENCHMARKS.md; 0 on the loop).

The ledger's writes block (a database transaction, group-committed by
:mod:`annotate.llm.batch_writer`); they run on a small thread pool of this gateway, never on
the event loop. The embedded model and ``dry-run`` answer on that pool too (they are
synchronous).
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from annotate.llm.attempts import Attempts, CallFailure, ModelAnswer, answer_from
from annotate.llm.gateway import Gateway, Opened, call_kwargs, load_litellm
from annotate.llm.redaction import is_local, through_door
from annotate.llm.types import DRY_RUN_MODEL, Completion, LLMError, LLMRequest

T = TypeVar("T")
LEDGER_THREADS = 8  # blocking ledger operations at once (each waits for a group commit)


class AsyncGateway:
    """The asyncio face of ``gateway`` (same door, cache, budget, ledger, pacer)."""

    def __init__(self, gateway: Gateway, max_in_flight: int | None = None) -> None:
        self.gateway = gateway
        self.max_in_flight = max_in_flight or gateway.settings.max_in_flight
        self._in_flight: asyncio.Semaphore | None = None
        self._pool = ThreadPoolExecutor(LEDGER_THREADS, thread_name_prefix="gateway-ledger")

    async def complete(self, request: LLMRequest) -> Completion | LLMError:
        """Answer one request; failures come back as values, BudgetExceeded and SetupError
        are raised. What is sent has passed the personal-data door."""
        gateway = self.gateway
        model = request.model or gateway.settings.model
        outgoing = through_door(gateway.personal_data, request, model)
        if isinstance(outgoing, LLMError):
            return outgoing
        return outgoing.restore(await self._send(outgoing.request))

    def close(self) -> None:
        self._pool.shutdown(wait=False)

    async def _send(self, request: LLMRequest) -> Completion | LLMError:
        gateway = self.gateway
        model = request.model or gateway.settings.model
        if model == DRY_RUN_MODEL or is_local(model):  # no network call to await
            return await self._blocking(gateway.send, request)
        opened = await self._blocking(gateway.open_call, request)
        if not isinstance(opened, Opened):
            return opened
        result = await self._call_with_retries(request, opened)
        return await self._blocking(gateway.close_call, request, opened, result)

    async def _call_with_retries(self, request: LLMRequest, opened: Opened
                                 ) -> ModelAnswer | CallFailure:
        gateway, call = self.gateway, opened.call
        litellm = load_litellm()
        kwargs = call_kwargs(request, call.model, gateway.settings.timeout_s)
        pacer, tokens = gateway.pacing(litellm, request, call.model)
        attempts = Attempts(litellm, gateway.ledger, call, pacer, gateway.backoff)
        for attempt in attempts.numbers:
            started = time.perf_counter()
            try:
                async with self._semaphore():
                    await pacer.wait_async(tokens)
                    try:
                        response = await litellm.acompletion(**kwargs)
                    finally:
                        pacer.answered()
                return answer_from(litellm, response, call.model, attempt)
            except Exception as exc:
                latency = time.perf_counter() - started
                outcome = await self._blocking(attempts.after_failure, exc, attempt, latency)
            if isinstance(outcome, CallFailure):
                return outcome
            await asyncio.sleep(outcome)
        raise AssertionError("unreachable")  # pragma: no cover

    def _semaphore(self) -> asyncio.Semaphore:
        if self._in_flight is None:  # made on the loop that uses it
            self._in_flight = asyncio.Semaphore(self.max_in_flight)
        return self._in_flight

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))


class LoopClient:
    """An :class:`~annotate.llm.types.LLMClient` for worker threads: each ``complete`` runs
    :meth:`AsyncGateway.complete` on the process's gateway loop thread and waits for it.
    Errors (BudgetExceeded, SetupError) reach the calling thread as they were raised."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.front = AsyncGateway(gateway)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="gateway-loop",
                                        daemon=True)
        self._thread.start()

    def complete(self, request: LLMRequest) -> Completion | LLMError:
        return asyncio.run_coroutine_threadsafe(self.front.complete(request), self._loop).result()

    def close(self) -> None:
        """Stop the loop (litellm's background tasks on it are cancelled first)."""

        async def cancel_others() -> None:
            current = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not current:
                    task.cancel()

        asyncio.run_coroutine_threadsafe(cancel_others(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self.front.close()
