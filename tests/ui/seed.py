"""A seeded database for the UI tests, the browser test and the screenshot: people, a
classification project with LLM pre-labels, a blind-first project and a pairwise project."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import Provenance, claim_next_task, submit_annotation
from annotate.queue.routing import PlannedItem, plan_initial_tasks
from annotate.services.people import add_person, grant
from annotate.store.engine import Store
from annotate.store.models import Item

LABELS = ["positive", "negative", "neutral"]
TEXTS = [
    "The delivery was quick and the staff were lovely.",
    "I waited two hours and nobody answered the phone.",
    "The parcel arrived on Tuesday.",
    "Great value, would order again!",
    "The screen cracked after one day. Terrible.",
    "It is a blue box with a lid.",
]
LLM_GUESS = ["positive", "negative", "positive", "positive", "negative", "neutral"]
GUIDELINE = """# Sentiment of customer messages

## Task

Choose the one label that fits the message best.

## Labels

- **positive**: the writer is pleased. Example: "Thanks, works perfectly!"
- **negative**: the writer is unhappy. Example: "Still broken after the repair."
- **neutral**: no feeling either way. Example: "My order number is 1234."
"""


@dataclass
class Seeded:
    tokens: dict[str, str] = field(default_factory=dict)
    projects: dict[str, int] = field(default_factory=dict)


def _items(store: Store, project_id: int, texts: list[str], policy: RoutingPolicy,
           data: list[dict[str, Any]] | None = None) -> list[int]:
    from annotate.store.models import Project

    with store.session() as session:
        project = session.get_one(Project, project_id)
        items = [Item(project_id=project_id, external_id=f"m{i + 1}", text=text,
                      data=(data[i] if data else {}), meta={})
                 for i, text in enumerate(texts)]
        session.add_all(items)
        session.flush()
        plan_initial_tasks(session, project, policy,
                           [PlannedItem(it.id, it.external_id) for it in items])
        return [it.id for it in items]


def answer_llm_tasks(store: Store, project_id: int, values: list[dict[str, Any]],
                     model: str = "local/smollm2") -> None:
    """Play the LLM annotator on the shared queue: one scripted answer per item, in order."""
    for value in values:
        task = claim_next_task(store, model, worker_kind="llm", roles=["annotator"],
                               project_id=project_id)
        assert task is not None
        submit_annotation(store, task.id, value, Provenance(
            annotator_id=model, annotator_kind="llm", model=model, confidence=0.72,
            rationale="the wording carries the feeling", source="llm"))


def seed(store: Store) -> Seeded:
    out = Seeded()
    with store.session() as session:
        _, out.tokens["olga"] = add_person(session, "olga", role="owner")
        _, out.tokens["ann"] = add_person(session, "ann")
        _, out.tokens["bob"] = add_person(session, "bob")
    schema = LabelSchema(kind="classification", labels=LABELS)
    open_policy = RoutingPolicy(human_annotations=2, llm_annotations=1,
                                moderator_on_disagreement=False)
    blind_policy = open_policy.model_copy(update={"blind": True})
    for name, policy in (("sentiment", open_policy), ("sentiment-blind", blind_policy)):
        with store.session() as session:
            pid = create_project(session, name, schema, policy=policy, guideline=GUIDELINE).id
        out.projects[name] = pid
        _items(store, pid, TEXTS, policy)
        answer_llm_tasks(store, pid, [{"label": g} for g in LLM_GUESS])
    pair = LabelSchema(kind="choice", options=["response1", "response2"])
    pair_policy = RoutingPolicy(human_annotations=1, llm_annotations=0)
    with store.session() as session:
        pid = create_project(session, "pairs", pair, policy=pair_policy).id
    out.projects["pairs"] = pid
    with store.session() as session:  # the annotators are members of every seeded project
        for who in ("ann", "bob"):
            for name in out.projects:
                grant(session, who, name, by="seed")
    _items(store, pid, ["Explain what a lease is in a task queue."], pair_policy,
           data=[{"options": {"response1": "A time-limited claim on a task.",
                              "response2": "A rental contract for a flat."}}])
    return out
