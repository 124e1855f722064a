"""`annotate demo`: the main job end to end on the embedded defaults.

On the given database it (re)creates a demo project from the shipped ConvAbuse slice,
imports the items with their recorded human labels, runs the LLM roles when they are
installed, lets the Helper write candidate rewrites of a few user messages (a ``text``
project beside it) and returns a summary for the CLI to print.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from annotate.datasets import CONVABUSE_LABELS, CONVABUSE_SAMPLE, DATASETS_DIR
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project, project_status
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Project

DEMO_PROJECT = "convabuse-demo"
HELPER_PROJECT = "convabuse-demo-rewrites"
HELPER_ITEMS = 3  # user messages the demo's Helper rewrites (a few seconds each)
HELPER_MIN_WORDS = 4  # "ok" has no rewrite worth choosing

HELPER_POLICY = RoutingPolicy(
    helper_first=True,  # the Helper writes candidates, a person chooses one
    helper_candidates=3,
    human_annotations=1,
    llm_annotations=0,
    double_annotation_share=0.0,
)

DEMO_POLICY = RoutingPolicy(
    human_annotations=0,  # the people's labels come with the dataset
    llm_annotations=1,
    moderator_on_disagreement=True,
    adjudicate_below=0.6,
    double_annotation_share=0.0,
    # the dialogue before each message, as the guideline asks annotators to read it
    # (the importer keeps these CSV columns in the item's metadata)
    context_fields=["prev_agent", "prev_user", "agent"],
)


@dataclass
class DemoSummary:
    project: str
    items: int
    human_annotations: int
    status: dict[str, Any]
    seconds: float
    roles_ran: bool = False
    run: dict[str, Any] = field(default_factory=dict)
    agreement: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    helper: list[dict[str, Any]] = field(default_factory=list)  # per item: text, candidates
    helper_run: dict[str, Any] = field(default_factory=dict)


def reset_demo_project(store: Store, name: str = DEMO_PROJECT) -> None:
    """Remove an earlier demo project so the demo starts from scratch."""
    with store.session() as session:
        pid = session.scalar(select(Project.id).where(Project.name == name))
        if pid is not None:
            session.execute(delete(Project).where(Project.id == pid))


def _slice(path: Path, n_items: int, folder: Path) -> Path:
    """The first ``n_items`` items of a long-form CSV (all their rows)."""
    import csv

    target = folder / f"{path.stem}_{n_items}.csv"
    with path.open(newline="", encoding="utf-8") as src, \
            target.open("w", newline="", encoding="utf-8") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=list(reader.fieldnames or []))
        writer.writeheader()
        seen: set[str] = set()
        for row in reader:
            if row["item_id"] not in seen and len(seen) >= n_items:
                break
            seen.add(row["item_id"])
            writer.writerow(row)
    return target


def create_demo_project(store: Store, name: str = DEMO_PROJECT,
                        policy: RoutingPolicy = DEMO_POLICY,
                        n_items: int = 200) -> tuple[int, int]:
    """Create the project and import the shipped slice; return (items, annotations)."""
    import tempfile

    from annotate.io.importing import import_file

    guideline = (DATASETS_DIR / "convabuse_guideline.md").read_text(encoding="utf-8")
    schema = LabelSchema(kind="classification", labels=list(CONVABUSE_LABELS))
    with tempfile.TemporaryDirectory() as tmp, store.session() as session:
        project = create_project(session, name, schema, policy=policy, guideline=guideline,
                                 description="ConvAbuse slice shipped with the package")
        result = import_file(session, project, _slice(CONVABUSE_SAMPLE, n_items, Path(tmp)))
    return result.items, result.annotations


def user_messages(path: Path, n: int, min_words: int = HELPER_MIN_WORDS) -> list[str]:
    """The first ``n`` distinct user messages of the slice with at least ``min_words``."""
    import csv

    found: list[str] = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = row["text"].strip()
            if len(text.split()) >= min_words and text not in found:
                found.append(text)
            if len(found) >= n:
                break
    return found


def create_helper_project(store: Store, name: str = HELPER_PROJECT,
                          n_items: int = HELPER_ITEMS) -> int:
    """A ``text`` project whose Helper rewrites a few user messages of the slice."""
    import csv
    import tempfile

    from annotate.io.importing import import_file

    reset_demo_project(store, name)
    guideline = (DATASETS_DIR / "convabuse_rewrite_guideline.md").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp, store.session() as session:
        path = Path(tmp) / "messages.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["item_id", "text"])
            writer.writerows((f"message_{i}", text) for i, text
                             in enumerate(user_messages(CONVABUSE_SAMPLE, n_items)))
        project = create_project(session, name, LabelSchema(kind="text"), policy=HELPER_POLICY,
                                 guideline=guideline,
                                 description="The Helper's rewrites of ConvAbuse user messages")
        return import_file(session, project, path).items


def helper_output(store: Store, name: str = HELPER_PROJECT) -> list[dict[str, Any]]:
    """Per item: its text, the Helper's candidates (best first, with their scores) and how
    many it dropped, and why."""
    from annotate.store.models import Item, Suggestion

    with store.session() as session:
        rows = session.execute(
            select(Item.text, Suggestion.candidates, Suggestion.stats)
            .join(Suggestion, Suggestion.item_id == Item.id)
            .join(Project, Project.id == Item.project_id)
            .where(Project.name == name).order_by(Item.id)).all()
    return [{"text": text, "candidates": [
        {"text": c.get("text"), "score": c.get("score"), "scores": c.get("scores", {})}
        for c in candidates or []], "stats": stats or {}} for text, candidates, stats in rows]


def run_demo(store: Store, name: str = DEMO_PROJECT, *, n_items: int = 200,
             run_roles: Callable[[str], dict[str, Any]] | None = None,
             on_phase: Callable[[str], None] | None = None) -> DemoSummary:
    """A fresh project with the dataset imported; then the LLM roles (``run_roles``, given
    the project name, returns the run's figures); then human-LLM agreement. ``on_phase`` is
    told what starts next."""
    from annotate.agreement.reporting import agreement_overview

    phase = on_phase or (lambda _text: None)
    start = time.perf_counter()
    reset_demo_project(store, name)
    phase(f"importing {n_items} items of ConvAbuse with their recorded expert labels")
    items, annotations = create_demo_project(store, name, n_items=n_items)
    summary = DemoSummary(project=name, items=items, human_annotations=annotations,
                          status={}, seconds=0.0)
    if run_roles is not None:
        summary.run = run_roles(name)
        summary.roles_ran = True
        phase(f"the Helper rewrites {HELPER_ITEMS} user messages ({HELPER_PROJECT})")
        create_helper_project(store)
        summary.helper_run = run_roles(HELPER_PROJECT)
        summary.helper = helper_output(store)
    phase("measuring agreement")
    with store.session() as session:
        project = session.scalars(select(Project).where(Project.name == name)).one()
        summary.status = project_status(session, project).as_dict()
        summary.agreement = agreement_overview(session, project).__dict__
    summary.seconds = time.perf_counter() - start
    return summary
