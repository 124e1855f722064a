"""The one place the edge builds the LLM client for a project: the gateway, which holds the
personal-data door of the project's policy (redaction on by default for remote models, see
annotate.llm.redaction).
A model that cannot be called here (the embedded model not installed, no API key) is a
SetupError before any call."""

from __future__ import annotations

from annotate.llm.gateway import Gateway, GatewaySettings
from annotate.llm.model_check import ensure_model_ready
from annotate.llm.redaction import is_local
from annotate.llm.types import LLMClient
from annotate.projects.catalog import project_policy
from annotate.settings import DEFAULT_RESERVATION_TTL_S
from annotate.store.engine import Store
from annotate.store.models import Project


def make_client(store: Store, project_id: int | None, model: str, *, workers: int = 1,
                threads: int | None = None,
                reservation_ttl_s: float = DEFAULT_RESERVATION_TTL_S,
                asyncio_calls: bool = False) -> LLMClient:
    """With ``asyncio_calls`` a hosted model is called with ``litellm.acompletion`` on one
    event loop thread (:class:`~annotate.llm.async_gateway.LoopClient`), the worker threads
    handing their requests to it; the embedded model and dry-run stay in the caller's thread."""
    ensure_model_ready(model)
    gateway = Gateway(store, project_id, GatewaySettings(
        model=model, max_in_flight=workers, local_threads=threads,
        reservation_ttl_s=reservation_ttl_s))  # the edge passes ANNOTATE_RESERVATION_TTL_S
    client: LLMClient = gateway
    if asyncio_calls and not is_local(model):
        from annotate.llm.async_gateway import LoopClient

        client = LoopClient(gateway)
    if project_id is None:
        return client
    with store.session() as session:
        project = session.get(Project, project_id)
        policy = project_policy(project) if project is not None else None
    if policy is not None and policy.moderator_model:
        ensure_model_ready(policy.moderator_model)
    return client
