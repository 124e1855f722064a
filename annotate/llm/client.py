"""The one place the edge builds the LLM client for a project: the gateway, wrapped in
the personal-data door (redaction on by default for remote models, see annotate.llm.redaction).
A model that cannot be called here (the embedded model not installed, no API key) is a
SetupError before any call."""

from __future__ import annotations

from annotate.llm.gateway import Gateway, GatewaySettings
from annotate.llm.model_check import ensure_model_ready
from annotate.llm.redaction import RedactingClient
from annotate.llm.types import LLMClient
from annotate.projects.catalog import project_policy
from annotate.settings import load_settings
from annotate.store.engine import Store
from annotate.store.models import Project


def make_client(store: Store, project_id: int | None, model: str, *, workers: int = 1,
                threads: int | None = None) -> LLMClient:
    ensure_model_ready(model)
    gateway = Gateway(store, project_id, GatewaySettings(
        model=model, max_in_flight=workers, local_threads=threads,
        reservation_ttl_s=load_settings().reservation_ttl_s))  # ANNOTATE_RESERVATION_TTL_S
    if project_id is None:
        return RedactingClient(gateway, default_model=model)
    with store.session() as session:
        project = session.get(Project, project_id)
        policy = project_policy(project) if project is not None else None
    if policy is not None and policy.moderator_model:
        ensure_model_ready(policy.moderator_model)
    if policy is None:
        return RedactingClient(gateway, default_model=model)
    # Redaction is on for remote models unless the policy turns it off (False).
    return RedactingClient(gateway, default_model=model,
                           redact=policy.redact_personal_data is not False,
                           local_only=policy.local_only_personal_data)
