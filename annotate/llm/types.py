"""The LLM seam: what a role sends (:class:`LLMRequest`), what it gets back (:class:`Completion`
or :class:`LLMError`), and the small protocols on either side of the gateway.

Nothing here imports litellm: roles build requests and read results with these types only;
:mod:`annotate.llm.gateway` is the one module that talks to litellm.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from annotate.settings import DEFAULT_MODEL as DEFAULT_MODEL  # noqa: PLC0414  (defined there)

DRY_RUN_MODEL = "dry-run"
"""The built-in model that answers schema-valid random values instantly (no litellm call)."""

ErrorKind = Literal[
    "rate_limit",  # 429 after all retries
    "timeout",  # the provider did not answer in time, after all retries
    "server_error",  # 5xx after all retries
    "connection",  # could not reach the provider
    "bad_request",  # the provider refused the request (4xx, bad schema, unknown model...)
    "truncated",  # finish_reason == "length": the answer was cut off
    "invalid_json",  # a JSON schema was given but the answer does not parse
    "schema_mismatch",  # the answer parses but does not match the schema
    "personal_data",  # not sent: personal data that cannot be redacted with confidence
]
Outcome = Literal["ok", "invalid", "error"]
INVALID_KINDS: frozenset[str] = frozenset({"truncated", "invalid_json", "schema_mismatch"})


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class LLMParams(BaseModel):
    """Sampling parameters passed to the model. Part of the cache key.

    Vary ``seed`` to get distinct samples of the same prompt (e.g. two annotator slots):
    identical requests are answered from the cache.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    # token log-probabilities of the answer (the logprob confidence estimator); None, not
    # False, by default so that requests without them keep their cache keys
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)


class LLMRequest(BaseModel):
    """One model call as a role describes it.

    ``json_schema`` asks for structured output (``response_format`` json_schema; a grammar on
    the local model). Cap free-text fields with ``maxLength`` and leave headroom in
    ``params.max_tokens``: a cut-off answer is a ``truncated`` failure.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: tuple[Message, ...] = Field(min_length=1)
    model: str | None = None  # None: the gateway's default model
    params: LLMParams = LLMParams()
    json_schema: dict[str, Any] | None = None
    schema_name: str = Field(default="answer", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    role: str | None = None  # provenance only, not part of the cache key
    task_id: int | None = None  # provenance only, not part of the cache key
    use_cache: bool = True

    @classmethod
    def chat(
        cls, system: str, user: str, *, json_schema: dict[str, Any] | None = None, **fields: Any
    ) -> LLMRequest:
        """The common shape: one system and one user message."""
        messages = (Message(role="system", content=system), Message(role="user", content=user))
        return cls(messages=messages, json_schema=json_schema, **fields)


def request_hash(request: LLMRequest, model: str) -> str:
    """sha256 of (model, messages, params, schema): the cache key and the ledger's request_hash."""
    key = {
        "model": model,
        "messages": [m.model_dump() for m in request.messages],
        "params": request.params.model_dump(exclude_none=True),
        "schema": request.json_schema,
        "schema_name": request.schema_name if request.json_schema is not None else None,
    }
    blob = json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def openai_body(request: LLMRequest, model: str) -> dict[str, Any]:
    """The request as an OpenAI-style chat completion body (what litellm and llama.cpp take)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [m.model_dump() for m in request.messages],
        **request.params.model_dump(exclude_none=True),
    }
    if "stop" in body:
        body["stop"] = list(body["stop"])
    if request.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": request.schema_name, "schema": request.json_schema},
        }
    return body


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log-probability and the most likely alternatives at its
    position (OpenAI's ``choices[0].logprobs.content[i]``; llama.cpp reports the model's
    distribution before its grammar, so alternatives may be tokens the schema forbids)."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()

    @classmethod
    def parse(cls, raw: Any) -> TokenLogprob | None:
        """One entry of an OpenAI-style ``logprobs.content`` list (dict or object)."""
        def get(obj: Any, key: str) -> Any:
            return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)

        token, logprob = get(raw, "token"), get(raw, "logprob")
        if not isinstance(token, str) or not isinstance(logprob, int | float):
            return None
        top = tuple((str(get(t, "token")), float(get(t, "logprob")))
                    for t in (get(raw, "top_logprobs") or [])
                    if isinstance(get(t, "token"), str)
                    and isinstance(get(t, "logprob"), int | float))
        return cls(token, float(logprob), top)

    def as_dict(self) -> dict[str, Any]:
        return {"token": self.token, "logprob": self.logprob,
                "top_logprobs": [{"token": t, "logprob": lp} for t, lp in self.top]}


def parse_logprobs(raw: Any) -> tuple[TokenLogprob, ...] | None:
    """``choices[0].logprobs`` (``{"content": [...]}``, dict or object) as token values."""
    if raw is None:
        return None
    content = raw.get("content") if isinstance(raw, dict) else getattr(raw, "content", None)
    if not isinstance(content, list | tuple):
        return None
    tokens = [TokenLogprob.parse(entry) for entry in content]
    return tuple(t for t in tokens if t is not None)


@dataclass(frozen=True)
class Completion:
    """A successful answer, with what it cost and where it is on the ledger."""

    text: str
    data: Any  # the parsed JSON when the request had a schema, else None
    model: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float
    cached: bool
    request_hash: str
    call_id: int  # the LLMCall ledger row
    logprobs: tuple[TokenLogprob, ...] | None = None  # when the request asked for them

    @property
    def dry_run(self) -> bool:
        """True when the answer is random filler from the ``dry-run`` model, not a model's."""
        return self.model == DRY_RUN_MODEL

    @property
    def provenance(self) -> dict[str, Any]:
        """What an annotation should store about who answered."""
        return {"model": self.model, "dry_run": self.dry_run, "cached": self.cached,
                "llm_call_id": self.call_id, "request_hash": self.request_hash}


@dataclass(frozen=True)
class LLMError:
    """A failed call as a value: its kind, a message, and the raw model output if any."""

    kind: ErrorKind
    message: str
    raw_text: str | None
    model: str
    request_hash: str
    call_id: int | None
    attempts: int = 1

    @property
    def outcome(self) -> Outcome:
        """``invalid`` when the model answered unusably, ``error`` when no answer came back."""
        return "invalid" if self.kind in INVALID_KINDS else "error"


class LLMClient(Protocol):
    """What a role needs from the gateway (tests may pass any object with this method)."""

    def complete(self, request: LLMRequest) -> Completion | LLMError: ...


class ProviderError(Exception):
    """Raised by a :class:`ChatBackend` to report an HTTP-like failure (429, 500, 400...)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class ChatBackend(Protocol):
    """An in-process model served through litellm as a custom provider.

    ``chat`` gets the model name (without the provider prefix), the messages and the
    OpenAI-style parameters (temperature, max_tokens, response_format, seed...), and returns
    an OpenAI-style chat completion dict (``choices[0].message.content``,
    ``choices[0].finish_reason``, ``usage``). It raises :class:`ProviderError` for an
    HTTP-like failure and :class:`TimeoutError` for a timeout.
    """

    def chat(
        self, model: str, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> dict[str, Any]: ...
