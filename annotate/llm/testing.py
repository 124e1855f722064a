"""A fake LLM at the litellm boundary, for tests of anything that calls the gateway.

:class:`ScriptedLLM` is a :class:`~annotate.llm.types.ChatBackend` that plays a queue of scripted
steps
(answers, malformed JSON, 429s, timeouts, 5xx) and records every payload it receives.
:func:`install_fake` registers it with litellm as a custom provider, so requests travel the
real path (gateway -> litellm -> provider) and failures arrive as litellm's own exceptions::

    fake = install_fake("fake", price_per_token=(1e-6, 2e-6))
    fake.push(rate_limited(), reply('{"label": "pos"}'))
    result = Gateway(store, project_id).complete(LLMRequest.chat(sys, user, model="fake/m"))
    assert fake.calls[-1]["messages"][1]["content"] == user
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from annotate.llm.types import ProviderError


@dataclass(frozen=True)
class Reply:
    """A scripted answer."""

    text: str
    finish_reason: str = "stop"
    prompt_tokens: int = 10
    completion_tokens: int = 5
    logprobs: tuple[dict[str, Any], ...] | None = None  # OpenAI-style logprobs.content


@dataclass(frozen=True)
class Fail:
    """A scripted failure: an HTTP-like status (429, 500...) or a timeout (status 0)."""

    status_code: int
    message: str = "scripted failure"


Step = Reply | Fail
Responder = Callable[[str, list[dict[str, Any]], dict[str, Any]], Step]


def reply(text: str, **fields: Any) -> Reply:
    return Reply(text, **fields)


def scored(text: str, value: str, alternatives: dict[str, float], **fields: Any) -> Reply:
    """An answer with token log-probabilities, as llama.cpp and OpenAI report them: ``text`` is
    cut into three tokens (before ``value``, ``value``'s first token, the rest) and at the
    value's position the model's top alternatives are ``alternatives`` (token -> logprob;
    include ``value``'s own token). Other positions are certain (logprob 0)."""
    start = text.index(value)
    first = next((t for t in sorted(alternatives, key=len, reverse=True)
                  if value.startswith(t)), value)
    pieces = [(text[:start], 0.0, {}), (first, alternatives.get(first, 0.0), alternatives),
              (text[start + len(first):], 0.0, {})]
    content = tuple({"token": token, "logprob": logprob, "bytes": list(token.encode()),
                     "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top.items()]}
                    for token, logprob, top in pieces if token)
    return Reply(text, logprobs=content, **fields)


def malformed(text: str = '{"label": "pos"') -> Reply:
    """An answer that is not valid JSON."""
    return Reply(text)


def truncated(text: str = '{"label": "po') -> Reply:
    """An answer cut off by max_tokens."""
    return Reply(text, finish_reason="length")


def rate_limited(message: str = "rate limit exceeded") -> Fail:
    return Fail(429, message)


def timed_out(message: str = "request timed out") -> Fail:
    return Fail(0, message)


def server_error(status_code: int = 500, message: str = "internal server error") -> Fail:
    return Fail(status_code, message)


@dataclass
class ScriptedLLM:
    """Plays ``script`` in order, then ``responder`` (or ``default``) once the script runs out.

    ``latency_s`` is slept (releasing the GIL) on every call, like a hosted model's round trip.
    """

    script: deque[Step] = field(default_factory=deque)
    default: Step | None = None
    responder: Responder | None = None
    latency_s: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def push(self, *steps: Step) -> ScriptedLLM:
        with self._lock:
            self.script.extend(steps)
        return self

    @property
    def call_count(self) -> int:
        return len(self.calls)

    def chat(
        self, model: str, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> dict[str, Any]:
        step = self._next(model, messages, params)
        if self.latency_s:
            time.sleep(self.latency_s)
        if isinstance(step, Fail):
            if step.status_code == 0:
                raise TimeoutError(step.message)
            raise ProviderError(step.status_code, step.message)
        choice: dict[str, Any] = {"index": 0, "finish_reason": step.finish_reason,
                                  "message": {"role": "assistant", "content": step.text}}
        if step.logprobs is not None and params.get("logprobs"):  # only when asked, like OpenAI
            choice["logprobs"] = {"content": list(step.logprobs)}
        return {
            "choices": [choice],
            "usage": {"prompt_tokens": step.prompt_tokens,
                      "completion_tokens": step.completion_tokens},
        }

    def _next(self, model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Step:
        with self._lock:
            self.calls.append({"model": model, "messages": messages, "params": params})
            if self.script:
                return self.script.popleft()
        if self.responder is not None:
            return self.responder(model, messages, params)
        if self.default is not None:
            return self.default
        raise AssertionError(f"ScriptedLLM ran out of script at call {len(self.calls)}")


def install_fake(
    provider: str = "fake",
    steps: Iterable[Step] = (),
    *,
    default: Step | None = None,
    responder: Responder | None = None,
    latency_s: float = 0.0,
    models: Iterable[str] = ("m",),
    price_per_token: tuple[float, float] | None = None,
) -> ScriptedLLM:
    """Register a fresh :class:`ScriptedLLM` as litellm provider ``provider`` (replacing any
    earlier one) and, if given, price ``provider/<model>`` for each of ``models``."""
    from annotate.llm.gateway import register_price, register_provider

    fake = ScriptedLLM(deque(steps), default=default, responder=responder, latency_s=latency_s)
    register_provider(provider, fake)
    if price_per_token is not None:
        for model in models:
            register_price(f"{provider}/{model}", *price_per_token)
    return fake
