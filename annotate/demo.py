"""`annotate demo`: the main job end to end on the embedded defaults.

On the given database it (re)creates a demo project from the shipped ConvAbuse slice,
imports the items with their recorded human labels, runs the LLM roles when they are
installed, and returns a summary for the CLI to print.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select

from annotate.datasets import CONVABUSE_LABELS, CONVABUSE_SAMPLE, DATASETS_DIR
from annotate.policy import RoutingPolicy
from annotate.projects import create_project, project_status
from annotate.schema import LabelSchema
from annotate.store.engine import Store
from annotate.store.models import Project

DEMO_PROJECT = "convabuse-demo"

DEMO_POLICY = RoutingPolicy(
    human_annotations=0,  # the people's labels come with the dataset
    llm_annotations=1,
    moderator_on_disagreement=True,
    adjudicate_below=0.6,
    double_annotation_share=0.0,
)


@dataclass
class DemoSummary:
    project: str
    items: int
    human_annotations: int
    status: dict[str, Any]
    seconds: float
    roles_ran: bool = False
    notes: list[str] = field(default_factory=list)


def reset_demo_project(store: Store, name: str = DEMO_PROJECT) -> None:
    """Remove an earlier demo project so the demo starts from scratch."""
    with store.session() as session:
        pid = session.scalar(select(Project.id).where(Project.name == name))
        if pid is not None:
            session.execute(delete(Project).where(Project.id == pid))


def create_demo_project(store: Store, name: str = DEMO_PROJECT,
                        policy: RoutingPolicy = DEMO_POLICY) -> tuple[int, int]:
    """Create the project and import the shipped slice; return (items, annotations)."""
    from annotate.importing import import_file

    guideline = (DATASETS_DIR / "convabuse_guideline.md").read_text(encoding="utf-8")
    schema = LabelSchema(kind="classification", labels=list(CONVABUSE_LABELS))
    with store.session() as session:
        project = create_project(session, name, schema, policy=policy, guideline=guideline,
                                 description="ConvAbuse slice shipped with the package")
        result = import_file(session, project, CONVABUSE_SAMPLE)
    return result.items, result.annotations


def run_demo(store: Store, name: str = DEMO_PROJECT) -> DemoSummary:
    """Foundation part of the demo: a fresh project with the dataset imported."""
    start = time.perf_counter()
    reset_demo_project(store, name)
    items, annotations = create_demo_project(store, name)
    with store.session() as session:
        project = session.scalars(select(Project).where(Project.name == name)).one()
        status = project_status(session, project).as_dict()
    return DemoSummary(project=name, items=items, human_annotations=annotations,
                       status=status, seconds=time.perf_counter() - start)
