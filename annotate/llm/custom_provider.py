"""Serving an in-process :class:`~annotate.llm.types.ChatBackend` to litellm as a custom
provider (the embedded model, the scripted fake in tests).

litellm itself is imported only by :mod:`annotate.llm.gateway`, which passes the module in:
``adapter_class(litellm)`` builds (once per process) the ``litellm.CustomLLM`` subclass that
calls the backend, maps its :class:`~annotate.llm.types.ProviderError` to litellm's exception
types (so retries, budget and ledger treat it like any provider) and fills litellm's response
with the backend's text, finish reason, log-probabilities and token usage.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from annotate.llm import local_model
from annotate.llm.types import ChatBackend, ProviderError


class _State:
    """Built on first use (never at import)."""

    lock = threading.RLock()
    adapter_class: Any = None
    backend_pool: ThreadPoolExecutor | None = None


_state = _State()


def adapter_class(litellm: Any) -> Any:
    """The litellm.CustomLLM subclass that serves a ChatBackend (built once)."""
    if _state.adapter_class is not None:
        return _state.adapter_class

    class BackendAdapter(litellm.CustomLLM):  # type: ignore[misc]
        def __init__(self, provider: str, backend: ChatBackend) -> None:
            super().__init__()
            self.provider = provider
            self.backend = backend

        def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
            model_response = kwargs["model_response"]
            params = dict(kwargs.get("optional_params") or {})
            try:
                result = self.backend.chat(model, messages, params)
            except local_model.LocalModelMissing as exc:
                raise litellm.NotFoundError(message=exc.message, model=model,
                                            llm_provider=self.provider) from None
            except ProviderError as exc:
                raise _provider_exception(litellm, exc, self.provider, model) from None
            except TimeoutError as exc:
                raise litellm.Timeout(message=str(exc) or "timed out", model=model,
                                      llm_provider=self.provider) from None
            return _fill_response(litellm, model_response, result, f"{self.provider}/{model}")

        async def acompletion(self, model: str, messages: list[Any], *args: Any,
                              **kwargs: Any) -> Any:
            # a ChatBackend is synchronous (a local model, the scripted fake): off the loop, on
            # a pool as wide as the widest run (asyncio's default pool has cores + 4 threads)
            call = functools.partial(self.completion, model, messages, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(_backend_pool(), call)

    _state.adapter_class = BackendAdapter
    return BackendAdapter


def _backend_pool() -> ThreadPoolExecutor:
    with _state.lock:
        if _state.backend_pool is None:
            _state.backend_pool = ThreadPoolExecutor(64, thread_name_prefix="chat-backend")
        return _state.backend_pool


def _fill_response(litellm: Any, model_response: Any, result: dict[str, Any], model: str) -> Any:
    choice = result["choices"][0]
    model_response.choices[0].message.content = choice.get("message", {}).get("content") or ""
    model_response.choices[0].finish_reason = choice.get("finish_reason") or "stop"
    if choice.get("logprobs") is not None:  # llama.cpp and the fake report them like OpenAI
        model_response.choices[0].logprobs = choice["logprobs"]
    usage = result.get("usage") or {}
    prompt, completion = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    model_response.usage = litellm.Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )
    model_response.model = model
    return model_response


def _provider_exception(litellm: Any, exc: ProviderError, provider: str, model: str) -> Exception:
    common = {"message": exc.message, "llm_provider": provider, "model": model}
    status = exc.status_code
    if status == 429:
        return litellm.RateLimitError(**common)  # type: ignore[no-any-return]
    if status == 408:
        return litellm.Timeout(**common)  # type: ignore[no-any-return]
    if status in (401, 403):
        return litellm.AuthenticationError(**common)  # type: ignore[no-any-return]
    if status == 503:
        return litellm.ServiceUnavailableError(**common)  # type: ignore[no-any-return]
    if status >= 500:
        return litellm.InternalServerError(**common)  # type: ignore[no-any-return]
    return litellm.BadRequestError(**common)  # type: ignore[no-any-return]
