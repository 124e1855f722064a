"""Fixtures for the gateway tests: a real SQLite database and the scripted fake LLM."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from annotate.llm.gateway import Gateway, GatewaySettings
from annotate.store.engine import Store, open_store
from annotate.store.models import LLMCall, Project

LABEL_SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string", "enum": ["pos", "neg", "neutral"]}},
    "required": ["label"],
    "additionalProperties": False,
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/t.db")
    yield opened
    opened.dispose()


@pytest.fixture
def make_project(store: Store) -> Callable[..., int]:
    def make(name: str = "p", budget_usd: float | None = None) -> int:
        with store.session() as session:
            project = Project(name=name, kind="classification", schema_json={},
                              policy_json={}, budget_usd=budget_usd)
            session.add(project)
            session.flush()
            return project.id

    return make


@pytest.fixture
def fast_settings() -> GatewaySettings:
    """The fake model, with backoff short enough for tests."""
    return GatewaySettings(model="fake/m", backoff_base_s=0.001, backoff_max_s=0.01)


@pytest.fixture
def gateway(store: Store, make_project: Callable[..., int],
            fast_settings: GatewaySettings) -> Gateway:
    return Gateway(store, make_project(), fast_settings)


@pytest.fixture
def ledger_rows(store: Store) -> Callable[[], list[LLMCall]]:
    """All ledger rows, oldest first."""

    def rows() -> list[LLMCall]:
        with store.session() as session:
            return list(session.query(LLMCall).order_by(LLMCall.id))

    return rows


@pytest.fixture
def label_schema() -> dict[str, object]:
    return dict(LABEL_SCHEMA)
