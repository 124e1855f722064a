"""One model call's attempts, shared by the threaded and the asyncio gateway: what an answer
or a failure is, which failures are worth another attempt, and how long to wait before it.

The call itself (``litellm.completion`` or ``litellm.acompletion``) and the waiting (a sleep
or an await) stay with the caller; everything decided about an attempt is here, so both
paths retry, pace and record alike. The litellm module is passed in (only
:mod:`annotate.llm.gateway` imports it).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from annotate.llm.budget import response_cost
from annotate.llm.ledger import CallInfo, CallResult, Ledger
from annotate.llm.pacing import RETRY_AFTER_MAX_S, Pacer, retry_after_s
from annotate.llm.types import ErrorKind, LLMRequest, TokenLogprob, parse_logprobs


@dataclass(frozen=True)
class ModelAnswer:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    provider_model: str | None
    attempts: int
    logprobs: tuple[TokenLogprob, ...] | None = None


@dataclass(frozen=True)
class CallFailure:
    kind: ErrorKind
    message: str
    attempts: int
    setup: str | None = None  # a configuration problem: no later call can succeed either


@dataclass(frozen=True)
class Backoff:
    retries: int  # extra attempts after the first
    base_s: float
    max_s: float

    def delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: a random delay in [d/2, d], d = base * 2**(n-1)."""
        delay = min(self.max_s, self.base_s * 2.0 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)


@dataclass(frozen=True)
class Attempts:
    """The attempts of one call: ``after_failure`` says whether and when to try again."""

    litellm: Any
    ledger: Ledger
    call: CallInfo
    pacer: Pacer
    backoff: Backoff

    @property
    def numbers(self) -> range:
        return range(1, self.backoff.retries + 2)

    def after_failure(self, exc: Exception, attempt: int, latency: float
                      ) -> CallFailure | float:
        """The call's failure, or the seconds to wait before attempt ``attempt + 1`` (the
        failed attempt gets its ledger row). A 429's Retry-After holds back every call of the
        model (the pacer), and this one waits its turn there: the returned wait is then 0."""
        kind, retryable = classify(self.litellm, exc)
        message = error_line(exc)
        setup = setup_problem(self.litellm, exc, self.call.model, message)
        if setup is not None or not retryable or attempt > self.backoff.retries:
            return CallFailure(kind, message, attempt, setup)
        after = retry_after_s(exc) if kind == "rate_limit" else None
        if after is not None and after > RETRY_AFTER_MAX_S:
            return CallFailure(kind, f"{message} (the provider asks to wait {after:.0f} s, "
                               f"more than {RETRY_AFTER_MAX_S:.0f} s: lower the rate limits in "
                               "the policy, rate_limits)", attempt)
        self.ledger.record_attempt(self.call, CallResult(
            "error", latency, error_kind=kind, error=f"attempt {attempt}: {message}"))
        if after is not None:
            self.pacer.hold_off(after)
            return 0.0
        return self.backoff.delay(attempt)


def call_tokens(litellm: Any, request: LLMRequest, model: str) -> int:
    """The tokens a provider counts against a tokens-per-minute limit when the request
    arrives: the prompt and all of ``max_tokens``."""
    messages = [m.model_dump() for m in request.messages]
    try:
        prompt: int = litellm.token_counter(model=model, messages=messages)
    except Exception:  # no tokenizer for this model: assume 3 characters per token
        prompt = math.ceil(sum(len(m.content) for m in request.messages) / 3)
    return prompt + request.params.max_tokens


def answer_from(litellm: Any, response: Any, model: str, attempts: int) -> ModelAnswer:
    choice = response.choices[0]
    usage = getattr(response, "usage", None)
    return ModelAnswer(
        text=choice.message.content or "",
        finish_reason=str(choice.finish_reason or "stop"),
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost_usd=response_cost(litellm, response, model),
        provider_model=getattr(response, "model", None),
        attempts=attempts,
        logprobs=parse_logprobs(getattr(choice, "logprobs", None)),
    )


def classify(litellm: Any, exc: Exception) -> tuple[ErrorKind, bool]:
    """The failure's kind and whether it is worth retrying; re-raises non-provider errors."""
    import openai

    by_type: tuple[tuple[type[Exception], ErrorKind], ...] = (
        (litellm.Timeout, "timeout"),
        (litellm.RateLimitError, "rate_limit"),
        (litellm.APIConnectionError, "connection"),
    )
    for exc_type, kind in by_type:
        if isinstance(exc, exc_type):
            return kind, True
    if not isinstance(exc, openai.OpenAIError):
        raise exc  # a bug, not a provider failure: do not hide it
    if "connection error" in error_line(exc).lower():  # litellm reports it as a 500
        return "connection", True
    status = getattr(exc, "status_code", None)
    if status in (408, 429):
        return ("timeout" if status == 408 else "rate_limit"), True
    if isinstance(status, int) and status >= 500:
        return "server_error", True
    return "bad_request", False


def setup_problem(litellm: Any, exc: Exception, model: str, message: str) -> str | None:
    """A failure no retry or later task can fix: the credentials, or the model's name."""
    fix = f"(annotate doctor --model {model} shows what is missing)"
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
        return f"{model}: the provider refused the credentials ({message}); check its API key {fix}"
    if isinstance(exc, litellm.NotFoundError):
        return f"{model}: model not found ({message}); check the model string {fix}"
    lowered = message.lower()
    if "missing credentials" in lowered or "api_key client option must be set" in lowered:
        return f"{model}: no API key ({message}) {fix}"
    return None


def error_line(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text).strip().splitlines()[0][:500]
