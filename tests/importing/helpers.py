"""Shared bits of the import/export tests: schemas, policies and counting rows."""

from __future__ import annotations

from sqlalchemy import func, select

from annotate.kinds.schema import LabelSchema
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Project, Task


def counts(store: Store, project: str) -> dict[str, int]:
    """Items, annotations and tasks of a project."""
    with store.session() as session:
        pid = session.scalar(select(Project.id).where(Project.name == project))
        return {
            table.__tablename__: session.scalar(
                select(func.count()).select_from(table).where(table.project_id == pid)
            ) or 0
            for table in (Item, Annotation, Task)
        }


CLASSES = LabelSchema(kind="classification", labels=["pos", "neg"])
SPANS = LabelSchema(kind="spans", labels=["PER", "ORG", "LOC", "LOCORG"], allow_nested=True)
CHOICE = LabelSchema(kind="choice", options=["response1", "response2"])
NO_TASKS = RoutingPolicy(human_annotations=0, llm_annotations=0)
