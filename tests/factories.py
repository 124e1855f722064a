"""Small builders for test data on a real store (no mocks of our own code)."""

from __future__ import annotations

from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.queue.routing import PlannedItem, plan_initial_tasks
from annotate.store.engine import Store
from annotate.store.models import Item


def make_project(store: Store, n_items: int, *, policy: RoutingPolicy | None = None,
                 labels: tuple[str, ...] = ("a", "b"), name: str = "p") -> int:
    """A classification project with ``n_items`` items and the tasks its policy asks for."""
    policy = policy or RoutingPolicy(human_annotations=0, llm_annotations=1)
    with store.session() as session:
        project = create_project(session, name, LabelSchema(kind="classification",
                                                            labels=list(labels)), policy=policy)
        items = [Item(project_id=project.id, external_id=f"i{i}", text=f"text number {i}")
                 for i in range(n_items)]
        session.add_all(items)
        session.flush()
        plan_initial_tasks(session, project, policy,
                           [PlannedItem(it.id, it.external_id) for it in items])
        return project.id
