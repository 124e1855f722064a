"""The pilot's data: the seeded sample of human-labelled items (or tasks asking people for
labels), and one model's annotator answers on it, outside the queue, with what they cost
(from the ledger). :mod:`annotate.pilot.recommend` measures and recommends from these.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from annotate.agreement.reporting import annotations_frame, label_of, label_table
from annotate.errors import InvalidInput
from annotate.kinds.registry import get_kind, kind_names
from annotate.projects.catalog import project_policy
from annotate.queue.routing import task_row
from annotate.settings import DEFAULT_RESERVATION_TTL_S
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, LLMCall, Project, Task, utcnow

MIN_ITEMS = 10
CHUNK = 4  # items per annotate_items call (one progress step each)
Progress = Callable[[str, int, int], None]  # model, items done, items in the sample


# -- the sample -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    item_ids: tuple[int, ...]
    humans: pd.DataFrame  # item_id, annotator, annotator_kind, label (human annotator answers)
    available: int  # items with a human label in the project


def human_labelled(session: Session, project: Project) -> list[int]:
    """Items with at least one final human annotator answer."""
    return list(session.scalars(
        select(Annotation.item_id).where(
            Annotation.project_id == project.id, Annotation.annotator_kind == "human",
            Annotation.role == "annotator", Annotation.phase == "final")
        .distinct().order_by(Annotation.item_id)))


def choose_sample(session: Session, project: Project, n: int, seed: int) -> Sample:
    """``n`` human-labelled items picked with ``seed`` (all of them when there are fewer)."""
    label_kinds = [k for k in kind_names() if get_kind(k).agreement == "labels"]
    if project.kind not in label_kinds:
        raise InvalidInput(f"a pilot needs one label per answer ({', '.join(label_kinds)}); "
                           f"project {project.name!r} is {project.kind}")
    ids = human_labelled(session, project)
    if len(ids) < min(n, MIN_ITEMS):
        raise InvalidInput(
            f"only {len(ids)} items of {project.name!r} have a human label; a pilot needs at "
            f"least {min(n, MIN_ITEMS)}: run `annotate pilot {project.name} --ask-people "
            f"--sample {n}` to queue them for people, label them in `annotate ui`, then rerun")
    chosen = sorted(random.Random(seed).sample(ids, n)) if len(ids) > n else ids
    frame = label_table(annotations_frame(session, project))
    humans = frame[(frame["annotator_kind"] == "human") & (frame["role"] == "annotator")
                   & frame["item_id"].isin(_external_ids(session, chosen))]
    return Sample(tuple(chosen), humans[["item_id", "annotator", "annotator_kind", "label"]]
                  .reset_index(drop=True), len(ids))


def _external_ids(session: Session, item_ids: Sequence[int]) -> list[str]:
    return list(session.scalars(select(Item.external_id).where(Item.id.in_(list(item_ids)))))


def ask_people(session: Session, project: Project, n: int, seed: int) -> tuple[int, int]:
    """Queue human annotator tasks so that about ``n`` items get a human label: returns
    (tasks created, items that already have a label or a human task)."""
    has_task = select(Task.item_id).where(Task.project_id == project.id,
                                          Task.role == "annotator", Task.worker_kind == "human")
    done_or_queued = set(human_labelled(session, project)) | set(session.scalars(has_task))
    free = list(session.scalars(select(Item.id).where(
        Item.project_id == project.id, Item.id.not_in(done_or_queued or {-1}))
        .order_by(Item.id)))
    wanted = max(0, n - len(done_or_queued))
    picked = sorted(random.Random(seed).sample(free, min(wanted, len(free))))
    policy, now = project_policy(project), utcnow()
    if picked:
        session.execute(insert(Task), [task_row(project.id, policy, i, "annotator", "human", 0,
                                                now) for i in picked])
    return len(picked), len(done_or_queued)


# -- running a model ------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelAnswer:
    item_id: str  # the item's external id (as in the label tables)
    label: str | None
    confidence: float | None
    error: str | None = None
    confidence_raw: float | None = None  # before the project's calibrator, if one applies
    estimator: str | None = None

    @property
    def error_kind(self) -> str | None:
        return self.error.split(":", 1)[0].strip() if self.error else None


@dataclass(frozen=True)
class Usage:
    """The pilot's own ledger rows: calls, cache hits, cost and model time."""

    calls: int = 0
    cache_hits: int = 0
    cost_usd: float = 0.0  # what was paid in this run
    cost_usd_uncached: float = 0.0  # cache hits priced at their original call
    latency_s_uncached: float = 0.0  # the same for the model's time


@dataclass(frozen=True)
class ModelRun:
    model: str
    answers: tuple[ModelAnswer, ...]
    seconds: float  # wall time of the calls
    usage: Usage


def run_model(store: Store, project: Project, item_ids: Sequence[int], model: str,
              on_progress: Progress | None = None,
              reservation_ttl_s: float = DEFAULT_RESERVATION_TTL_S) -> ModelRun:
    """The annotator role on the items, a chunk at a time; stores no annotation."""
    from annotate.llm.client import make_client
    from roles.offline import annotate_items

    if on_progress is not None:
        on_progress(model, 0, len(item_ids))
    llm = make_client(store, project.id, model, reservation_ttl_s=reservation_ttl_s)
    names = _names(store, item_ids)
    before = _last_call_id(store, project.id)
    answers: list[ModelAnswer] = []
    started = time.perf_counter()
    for start in range(0, len(item_ids), CHUNK):
        chunk = list(item_ids[start:start + CHUNK])
        for out in annotate_items(store, project.id, chunk, model=model, llm=llm):
            label = label_of(project.kind, out.value) if out.value is not None else None
            answers.append(ModelAnswer(names[out.item_id], label, out.confidence, out.error,
                                       out.confidence_raw, out.estimator))
        if on_progress is not None:
            on_progress(model, len(answers), len(item_ids))
    seconds = time.perf_counter() - started
    return ModelRun(model, tuple(answers), seconds, pilot_usage(store, project.id, before))


def _names(store: Store, item_ids: Sequence[int]) -> dict[int, str]:
    with store.session() as session:
        rows = session.execute(select(Item.id, Item.external_id)
                               .where(Item.id.in_(list(item_ids)))).all()
    return {int(i): str(e) for i, e in rows}


def _last_call_id(store: Store, project_id: int) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.max(LLMCall.id))
                                  .where(LLMCall.project_id == project_id)) or 0)


def pilot_usage(store: Store, project_id: int, after_id: int) -> Usage:
    """Annotator calls made outside the queue since ledger row ``after_id``."""
    with store.session() as session:
        rows = session.execute(select(
            LLMCall.cached, LLMCall.cost_usd, LLMCall.latency_s, LLMCall.request_hash).where(
            LLMCall.project_id == project_id, LLMCall.id > after_id,
            LLMCall.role == "annotator", LLMCall.task_id.is_(None))).all()
        hashes = {r.request_hash for r in rows if r.cached}
        source = {h: (c, lat) for h, c, lat in session.execute(
            select(LLMCall.request_hash, LLMCall.cost_usd, LLMCall.latency_s).where(
                LLMCall.request_hash.in_(hashes), LLMCall.cached.is_(False),
                LLMCall.outcome == "ok").order_by(LLMCall.id))} if hashes else {}
    paid = [r for r in rows if not r.cached]
    hits = [source.get(r.request_hash, (0.0, 0.0)) for r in rows if r.cached]
    return Usage(calls=len(paid), cache_hits=len(rows) - len(paid),
                 cost_usd=sum((r.cost_usd for r in paid), 0.0),
                 cost_usd_uncached=sum((r.cost_usd for r in paid), 0.0)
                 + sum((c for c, _ in hits), 0.0),
                 latency_s_uncached=sum((r.latency_s for r in paid), 0.0)
                 + sum((t for _, t in hits), 0.0))
