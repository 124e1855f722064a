"""The LLM gateway: the one module that imports litellm (lazily, on the first call).

``Gateway(store, project_id, settings).complete(request)`` returns a
:class:`~annotate.llm.types.Completion` or an :class:`~annotate.llm.types.LLMError` value, after:

- the personal-data door (:mod:`annotate.llm.redaction`), configured from the project's policy
  when the gateway is built: a request to a remote model is redacted (reversible placeholders,
  put back in the answer), sent to the local model under ``local_only_personal_data``, or not
  sent when it cannot be redacted with confidence. This is the one way to litellm, so every
  role and driver passes it, however its client was built;
- the request cache: a prior ``ok`` ledger row with the same request hash answers without a
  model call (a ``cached=True`` row with cost 0 is written);
- the budget cap: a call whose worst-case cost (``max_tokens``, which is sent to the provider,
  at the model's price plus the prompt, see :mod:`annotate.llm.budget`) would cross
  ``Project.budget_usd`` raises :class:`~annotate.errors.BudgetExceeded` before it is made; a
  provider that still bills more than the reservation has its overrun recorded and stops the
  run with BudgetExceeded (see :mod:`annotate.llm.ledger` for the guarantee across threads and
  processes, and reservation expiry);
- a concurrency limit (``max_in_flight`` calls in flight per gateway);
- pacing to the model's rate limits (requests and tokens per minute, from the policy's
  ``rate_limits`` or litellm's model table), shared by every gateway of the process
  (:mod:`annotate.llm.pacing`);
- retries with exponential backoff and jitter on 429s (after the answer's Retry-After, which
  holds back every call of the model), timeouts, 5xx and connection errors
  (:mod:`annotate.llm.attempts`, shared with :mod:`annotate.llm.async_gateway`);
- checks of the answer (not truncated, JSON valid against the request's schema);
- a ledger row for every model call: tokens, cost from litellm's price tables, latency, outcome;
- configuration failures raised as :class:`~annotate.errors.SetupError` instead of burning every
  task's attempts: refused credentials, an unknown model, a missing key, and a model server
  that no call of this gateway has ever reached (:data:`UNREACHABLE_CALLS` calls in a row).

Whether a model can be called at all is checked before any task is claimed, by
:mod:`annotate.llm.model_check`.

Any litellm model string works (``openai/...``, ``anthropic/...``, ``ollama/...``,
``hosted_vllm/...``). ``local/smollm2`` is the embedded model (litellm custom provider
``local``) and ``dry-run`` answers schema-valid random values without any model.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from annotate.errors import BudgetExceeded, SetupError
from annotate.llm import local_model
from annotate.llm.answers import check_answer
from annotate.llm.attempts import (
    Attempts,
    Backoff,
    CallFailure,
    ModelAnswer,
    answer_from,
    call_tokens,
)
from annotate.llm.budget import estimate_cost, overrun
from annotate.llm.custom_provider import adapter_class
from annotate.llm.dry_run import dry_run_text
from annotate.llm.ledger import (
    RESERVATION_TTL_S,
    CachedAnswer,
    CallInfo,
    CallResult,
    Ledger,
    Reservation,
)
from annotate.llm.pacing import Pacer, pacer_for, resolve_limit
from annotate.llm.redaction import PersonalDataRule, project_rule, through_door
from annotate.llm.types import (
    DEFAULT_MODEL,
    DRY_RUN_MODEL,
    ChatBackend,
    Completion,
    LLMError,
    LLMRequest,
    TokenLogprob,
    openai_body,
    parse_logprobs,
    request_hash,
)
from annotate.store.engine import Store
from annotate.store.models import LLMCall, Project

log = logging.getLogger(__name__)

LOCAL_PROVIDER = "local"
UNREACHABLE_CALLS = 3  # calls in a row that never reached the server, with none ever answered


class _Runtime:
    """Process-wide litellm state, filled on first use (never at import)."""

    lock = threading.RLock()
    litellm: Any = None


_runtime = _Runtime()


@dataclass(frozen=True)
class Opened:
    """A call the ledger let through: its reservation, and when it started."""

    call: CallInfo
    reservation: Reservation
    started: float


class GatewaySettings(BaseModel):
    """How the gateway calls models (built from the app's settings at the edge)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = DEFAULT_MODEL  # used when a request does not name one
    max_in_flight: int = Field(default=4, ge=1)
    retries: int = Field(default=3, ge=0)  # extra attempts after the first
    timeout_s: float = Field(default=120.0, gt=0)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    prompt_token_margin: float = Field(default=1.25, ge=1.0)  # budget estimate safety margin
    local_threads: int | None = Field(default=None, ge=1)  # None: ANNOTATE_THREADS, else 1
    # a killed worker's budget reservation is freed this long after its last heartbeat
    reservation_ttl_s: float = Field(default=RESERVATION_TTL_S, gt=0)
    # model string -> {"rpm": ..., "tpm": ...}; a project's policy rate_limits win over these
    rate_limits: dict[str, dict[str, float]] = Field(default_factory=dict)

    @property
    def backoff(self) -> Backoff:
        return Backoff(self.retries, self.backoff_base_s, self.backoff_max_s)


class Gateway:
    """Implements :class:`~annotate.llm.types.LLMClient` over litellm, the ledger and the cache,
    behind the personal-data door of ``project_id``'s policy (the default rule without one)."""

    def __init__(
        self, store: Store, project_id: int | None = None, settings: GatewaySettings | None = None
    ) -> None:
        self.settings = settings or GatewaySettings()
        self.ledger = Ledger(store, project_id, reservation_ttl_s=self.settings.reservation_ttl_s)
        self.personal_data: PersonalDataRule = project_rule(store, project_id)
        self.rate_limits = policy_rate_limits(store, project_id)
        self.backoff = self.settings.backoff
        self._pacers: dict[str, Pacer] = {}
        self._in_flight = threading.BoundedSemaphore(self.settings.max_in_flight)
        self._health = threading.Lock()
        self._answered = 0  # calls the model answered (ok or not)
        self._unreachable = 0  # calls in a row that never reached the model server
        if self.settings.local_threads is not None:
            local_model.configure(threads=self.settings.local_threads)

    def complete(self, request: LLMRequest) -> Completion | LLMError:
        """Answer one request; failures come back as values, BudgetExceeded is raised.
        What is sent has passed the personal-data door; the answer has the values back."""
        outgoing = through_door(self.personal_data, request, request.model or self.settings.model)
        if isinstance(outgoing, LLMError):
            return outgoing
        return outgoing.restore(self.send(outgoing.request))

    def send(self, request: LLMRequest) -> Completion | LLMError:
        """Answer a request that has passed the personal-data door (use :meth:`complete`)."""
        opened = self.open_call(request)
        if not isinstance(opened, Opened):
            return opened
        if opened.call.model == DRY_RUN_MODEL:
            text = dry_run_text(request.json_schema, opened.call.request_hash)
            result: ModelAnswer | CallFailure = ModelAnswer(text, "stop", 0, 0, 0.0,
                                                            DRY_RUN_MODEL, 1)
        else:
            result = self._call_with_retries(request, opened.call)
        return self.close_call(request, opened, result)

    def open_call(self, request: LLMRequest) -> Opened | Completion | LLMError:
        """The call's budget reservation, or its answer from the cache (raises
        BudgetExceeded). ``request`` has passed the personal-data door."""
        model = request.model or self.settings.model
        call = CallInfo(request_hash(request, model), model, request.role, request.task_id)
        started = time.perf_counter()
        opened = self.ledger.open_call(
            call, lambda: self.estimate_cost(request, model), use_cache=request.use_cache
        )
        if isinstance(opened, CachedAnswer):
            return self._cached(request, call, opened, time.perf_counter() - started)
        return Opened(call, opened, started)

    def close_call(self, request: LLMRequest, opened: Opened,
                   result: ModelAnswer | CallFailure) -> Completion | LLMError:
        """The call's ledger row, answer checks and budget overrun; SetupError when the
        failure is the configuration's."""
        closed = self._close(request, opened.call, opened.reservation, result,
                             time.perf_counter() - opened.started)
        self._watch_setup(opened.call.model, result)
        return closed

    def _watch_setup(self, model: str, result: ModelAnswer | CallFailure) -> None:
        """Raise SetupError when the failure is the configuration's, not this request's."""
        with self._health:
            if isinstance(result, ModelAnswer):
                self._answered += 1
                self._unreachable = 0
                return
            if result.setup is not None:
                raise SetupError(result.setup)
            if result.kind != "connection" or self._answered:
                self._unreachable = 0
                return
            self._unreachable += 1
            if self._unreachable >= UNREACHABLE_CALLS:
                raise SetupError(
                    f"cannot reach the model server of {model}: {self._unreachable} calls in a "
                    f"row failed after {result.attempts} attempts each ({result.message}); start "
                    "the server or fix its address (e.g. OPENAI_BASE_URL, OLLAMA_API_BASE)")

    def estimate_cost(self, request: LLMRequest, model: str | None = None) -> float:
        """Upper estimate of a call's cost (see :func:`annotate.llm.budget.estimate_cost`)."""
        model = model or request.model or self.settings.model
        if model == DRY_RUN_MODEL:
            return 0.0
        return estimate_cost(load_litellm(), request, model, self.settings.prompt_token_margin)

    def _call_with_retries(self, request: LLMRequest, call: CallInfo
                           ) -> ModelAnswer | CallFailure:
        litellm = load_litellm()
        kwargs = call_kwargs(request, call.model, self.settings.timeout_s)
        pacer, tokens = self.pacing(litellm, request, call.model)
        attempts = Attempts(litellm, self.ledger, call, pacer, self.backoff)
        for attempt in attempts.numbers:
            started = time.perf_counter()
            try:
                with self._in_flight:
                    pacer.wait(tokens)
                    try:
                        response = litellm.completion(**kwargs)
                    finally:
                        pacer.answered()
                return answer_from(litellm, response, call.model, attempt)
            except Exception as exc:
                outcome = attempts.after_failure(exc, attempt, time.perf_counter() - started)
            if isinstance(outcome, CallFailure):
                return outcome
            time.sleep(outcome)
        raise AssertionError("unreachable")  # pragma: no cover

    def pacing(self, litellm: Any, request: LLMRequest, model: str) -> tuple[Pacer, int]:
        """The process-wide pacer of ``model`` and what this request counts against it."""
        pacer = self._pacers.get(model)
        if pacer is None:
            known = litellm.model_cost.get(model) or litellm.model_cost.get(
                model.split("/", 1)[-1])
            limit = resolve_limit(model, {**self.settings.rate_limits, **self.rate_limits},
                                  known if isinstance(known, dict) else None)
            pacer = self._pacers[model] = pacer_for(model, limit)
        tokens = call_tokens(litellm, request, model) if pacer.limit.tpm else 0
        return pacer, tokens

    def _cached(
        self, request: LLMRequest, call: CallInfo, hit: CachedAnswer, latency: float
    ) -> Completion | LLMError:
        data, problem = check_answer(hit.text, hit.finish_reason, request.json_schema)
        if problem is not None:  # the schema changed its meaning? never serve a bad answer
            return LLMError(problem.kind, problem.message, hit.text, call.model,
                            call.request_hash, hit.call_id, 0)
        logprobs = self._cached_logprobs(hit) if request.params.logprobs else None
        return Completion(hit.text, data, call.model, hit.finish_reason, 0, 0, 0.0, latency,
                          True, call.request_hash, hit.call_id, logprobs)

    def _cached_logprobs(self, hit: CachedAnswer) -> tuple[TokenLogprob, ...] | None:
        """The token log-probabilities stored with the call a cache hit repeats."""
        with self.ledger.store.session() as session:
            response = session.get(LLMCall, hit.source_call_id)
            stored = (response.response or {}) if response is not None else {}
        return parse_logprobs({"content": stored.get("logprobs")})

    def _close(
        self, request: LLMRequest, call: CallInfo, reservation: Reservation,
        result: ModelAnswer | CallFailure, latency: float,
    ) -> Completion | LLMError:
        if isinstance(result, CallFailure):
            call_id = self.ledger.close_call(call, reservation, CallResult(
                "error", latency, error_kind=result.kind, error=result.message
            ))
            return LLMError(result.kind, result.message, None, call.model, call.request_hash,
                            call_id, result.attempts)
        data, problem = check_answer(result.text, result.finish_reason, request.json_schema)
        over = overrun(reservation, result.cost_usd)
        call_id = self.ledger.close_call(call, reservation, CallResult(
            "ok" if problem is None else "invalid", latency, result.prompt_tokens,
            result.completion_tokens, result.cost_usd, raw_text=result.text,
            error_kind=problem.kind if problem else None,
            error=problem.message if problem else None,
            response={"content": result.text, "finish_reason": result.finish_reason,
                      "provider_model": result.provider_model, "attempts": result.attempts,
                      **({"logprobs": [t.as_dict() for t in result.logprobs]}
                         if result.logprobs is not None else {})},
            overrun_usd=over,
        ))
        if over > 0:
            raise BudgetExceeded(
                f"{call.model} reported {result.completion_tokens} completion tokens for "
                f"max_tokens {request.params.max_tokens}: the call cost ${result.cost_usd:.6g}, "
                f"${over:.6g} more than it reserved (on the ledger as overrun_usd, call "
                f"{call_id}); stopped so the budget cap is crossed by this call at most. Check "
                "that the provider honours max_tokens before running again.")
        if problem is not None:
            return LLMError(problem.kind, problem.message, result.text,
                            call.model, call.request_hash, call_id, result.attempts)
        return Completion(result.text, data, call.model, result.finish_reason,
                          result.prompt_tokens, result.completion_tokens, result.cost_usd,
                          latency, False, call.request_hash, call_id, result.logprobs)


def call_kwargs(request: LLMRequest, model: str, timeout_s: float) -> dict[str, Any]:
    """What the gateway passes to ``litellm.completion`` / ``acompletion``."""
    return {
        **openai_body(request, model),
        "timeout": timeout_s,
        "num_retries": 0,  # the gateway retries, with its own backoff and ledger rows
        "drop_params": True,  # a provider without e.g. `seed` still answers
    }


def policy_rate_limits(store: Store, project_id: int | None
                       ) -> Mapping[str, Mapping[str, float]]:
    """The ``rate_limits`` of the project's stored policy (none without a project)."""
    from annotate.projects.catalog import project_policy

    if project_id is None:
        return {}
    with store.session() as session:
        project = session.get(Project, project_id)
        limits = project_policy(project).rate_limits if project is not None else {}
    return {model: {**({"rpm": limit["rpm"]} if "rpm" in limit else {}),
                    **({"tpm": limit["tpm"]} if "tpm" in limit else {})}
            for model, limit in limits.items()}


# ---- litellm, loaded once per process -------------------------------------------------------


def load_litellm() -> Any:
    """Import litellm once (offline price map, no debug banners) and register ``local``."""
    if _runtime.litellm is not None:
        return _runtime.litellm
    with _runtime.lock:
        if _runtime.litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            import litellm

            litellm.suppress_debug_info = True
            _runtime.litellm = litellm
            register_provider(LOCAL_PROVIDER, local_model.SmolLM2Backend())
            register_price(f"{LOCAL_PROVIDER}/{local_model.MODEL_NAME}", 0.0, 0.0)
        return _runtime.litellm


def register_provider(name: str, backend: ChatBackend) -> None:
    """Serve ``backend`` to litellm as custom provider ``name`` (model strings ``name/...``).
    Registering a name again replaces its backend."""
    litellm = load_litellm()
    with _runtime.lock:
        handler = adapter_class(litellm)(name, backend)
        others = [p for p in litellm.custom_provider_map if p["provider"] != name]
        litellm.custom_provider_map = [*others, {"provider": name, "custom_handler": handler}]
        litellm.utils.custom_llm_setup()


def register_price(model: str, input_per_token: float, output_per_token: float) -> None:
    """Add ``model`` (``provider/name``) to litellm's price table, in USD per token."""
    litellm = load_litellm()
    provider = model.split("/", 1)[0]
    with _runtime.lock:
        litellm.register_model({model: {
            "input_cost_per_token": input_per_token,
            "output_cost_per_token": output_per_token,
            "cache_creation_input_token_cost": 0.0,
            "cache_read_input_token_cost": 0.0,
            "litellm_provider": provider,
            "mode": "chat",
        }})
