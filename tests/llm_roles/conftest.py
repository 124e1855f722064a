"""Fixtures for role tests: a real SQLite store, projects with items, the scripted fake LLM."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from annotate.kinds.schema import LabelSchema
from annotate.llm.gateway import Gateway, GatewaySettings
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.queue.routing import PlannedItem, plan_initial_tasks
from annotate.store.engine import Store
from annotate.store.models import Item

GUIDELINE = """# Sentiment

## Task

Choose the sentiment of the review.

## Labels

- **pos**: the reviewer liked it. Example: "great phone, love it"
- **neg**: the reviewer did not. Example: "broke after a day"

## What makes an answer the best

The label the review's own words support.
"""


@pytest.fixture
def make_items(sqlite_store: Store) -> Callable[..., int]:
    """A project with items (text list) and the tasks its policy asks for."""

    def make(texts: list[str], schema: LabelSchema | None = None,
             policy: RoutingPolicy | None = None, name: str = "p",
             human_labels: dict[int, list[dict[str, Any]]] | None = None) -> int:
        from annotate.queue.leases import Provenance, _provenance_columns
        from annotate.store.models import Annotation

        schema = schema or LabelSchema(kind="classification", labels=["pos", "neg"])
        policy = policy or RoutingPolicy(human_annotations=0, llm_annotations=1)
        with sqlite_store.session() as session:
            project = create_project(session, name, schema, policy=policy, guideline=GUIDELINE)
            items = [Item(project_id=project.id, external_id=f"i{i}", text=t)
                     for i, t in enumerate(texts)]
            session.add_all(items)
            session.flush()
            present = {}
            for index, values in (human_labels or {}).items():
                for n, value in enumerate(values):
                    session.add(Annotation(project_id=project.id, item_id=items[index].id,
                                           value=value, role="annotator",
                                           **_provenance_columns(Provenance(f"h{n}"))))
                present[items[index].id] = len(values)
            session.flush()
            plan_initial_tasks(session, project, policy, [
                PlannedItem(it.id, it.external_id, humans_present=present.get(it.id, 0))
                for it in items])
            return project.id

    return make


@pytest.fixture
def gateway_for(sqlite_store: Store) -> Callable[[int], Gateway]:
    def make(project_id: int) -> Gateway:
        return Gateway(sqlite_store, project_id,
                       GatewaySettings(model="fake/m", backoff_base_s=0.001, backoff_max_s=0.01))

    return make


def answer_json(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False)
