"""The guideline playground: the working loop of 5-10 examples -> draft -> critique -> repeat.

Choose examples (with their expected answers: the reviewer's decision, else the people's
most common answer), run the LLM annotator role on them under a *draft* guideline, compare
its outputs with the expected answers, save the draft as a new guideline version with a
diff to the last one, and send a share of the items to two people (double annotation).

The playground calls :func:`roles.offline.annotate_items`, which returns one output per item
(``item_id``, ``value``, ``rationale``, ``confidence``, ``error``) and stores no annotation.
"""

from __future__ import annotations

import difflib
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from annotate.errors import InvalidInput
from annotate.kinds.schema import comparable
from annotate.llm.client import make_client
from annotate.projects.catalog import current_guideline, project_policy, save_guideline
from annotate.queue.reconcile import set_policy
from annotate.settings import DEFAULT_RESERVATION_TTL_S
from annotate.store.engine import Store
from annotate.store.models import Annotation, GuidelineVersion, Item, Project, Task, utcnow
from roles.offline import annotate_items


@dataclass(frozen=True)
class Example:
    item_id: int
    external_id: str
    text: str
    expected: dict[str, Any] | None


def pick_examples(session: Session, project: Project, n: int = 8, seed: int = 0
                  ) -> list[Example]:
    """``n`` items, those with an expected answer first, in a seeded random order."""
    answered = list(session.scalars(
        select(Annotation.item_id).where(Annotation.project_id == project.id,
                                         Annotation.annotator_kind == "human")
        .distinct().order_by(Annotation.item_id).limit(2000)))
    rng = random.Random(seed)
    rng.shuffle(answered)
    ids = answered[:n]
    if len(ids) < n:
        more = session.scalars(select(Item.id).where(Item.project_id == project.id,
                                                     Item.id.not_in(ids or [-1]))
                               .order_by(Item.id).limit(n - len(ids)))
        ids += list(more)
    return examples_for(session, project, ids)


def examples_for(session: Session, project: Project, item_ids: Sequence[int]) -> list[Example]:
    """The items with their expected answers, in the order given."""
    items = {i.id: i for i in session.scalars(select(Item).where(
        Item.project_id == project.id, Item.id.in_(list(item_ids))))}
    rows = session.execute(select(Annotation.item_id, Annotation.role, Annotation.value)
                           .where(Annotation.item_id.in_(list(items)),
                                  Annotation.annotator_kind == "human",
                                  Annotation.phase == "final")
                           .order_by(Annotation.id)).all()
    by_item: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for item_id, role, value in rows:
        by_item.setdefault(item_id, []).append((role, value))
    return [Example(item_id=i, external_id=items[i].external_id, text=items[i].text,
                    expected=_expected(project.kind, by_item.get(i, [])))
            for i in item_ids if i in items]


def _expected(kind: str, answers: list[tuple[str, dict[str, Any]]]) -> dict[str, Any] | None:
    decisions = [v for role, v in answers if role == "adjudicator"]
    if decisions:
        return decisions[-1]
    values = [v for role, v in answers if role == "annotator"]
    if not values:
        return None
    counts = Counter(comparable(kind, v) for v in values)
    best, _ = counts.most_common(1)[0]
    return next(v for v in values if comparable(kind, v) == best)


@dataclass(frozen=True)
class PlaygroundResult:
    item_id: int
    value: dict[str, Any] | None
    rationale: str | None
    confidence: float | None
    error: str | None
    matches: bool | None


@dataclass(frozen=True)
class PlaygroundRun:
    results: tuple[PlaygroundResult, ...] = ()
    error: str | None = None


def run_annotator(store: Store, project: Project, examples: Sequence[Example],
                  guideline: str, model: str,
                  reservation_ttl_s: float = DEFAULT_RESERVATION_TTL_S) -> PlaygroundRun:
    """Run the LLM annotator role under the draft guideline on the examples (nothing is
    stored as an annotation) and compare with the expected answers."""
    try:
        llm = make_client(store, project.id, model, reservation_ttl_s=reservation_ttl_s)
        outputs = annotate_items(store, project.id, [e.item_id for e in examples],
                                 guideline=guideline, model=model, llm=llm)
    except Exception as exc:  # a role failure is shown, never swallowed
        return PlaygroundRun(error=f"the annotator role failed: {exc}")
    by_item = {_field(o, "item_id"): o for o in outputs}
    results = []
    for example in examples:
        out = by_item.get(example.item_id)
        value = _field(out, "value") if out is not None else None
        error = _field(out, "error") if out is not None else "no output for this item"
        results.append(PlaygroundResult(
            item_id=example.item_id, value=value, rationale=_field(out, "rationale"),
            confidence=_field(out, "confidence"), error=str(error) if error else None,
            matches=_matches(project.kind, example.expected, value)))
    return PlaygroundRun(results=tuple(results))


def _field(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _matches(kind: str, expected: dict[str, Any] | None, value: Any) -> bool | None:
    if expected is None or not isinstance(value, dict):
        return None
    try:
        return bool(comparable(kind, expected) == comparable(kind, value))
    except (KeyError, TypeError):
        return False


def guideline_diff(old: str, new: str, old_name: str = "current", new_name: str = "draft"
                   ) -> str:
    """A unified diff of two guideline texts (empty when they are the same)."""
    return "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True),
                                        fromfile=old_name, tofile=new_name))


def save_draft(session: Session, project: Project, content: str, *, note: str = "",
               author: str = "") -> tuple[GuidelineVersion, str]:
    """Save the draft as the project's current guideline; return it and its diff to the
    previous version."""
    if not content.strip():
        raise InvalidInput("the guideline is empty")
    previous = current_guideline(session, project)
    saved = save_guideline(session, project, content, note=note, author=author)
    diff = guideline_diff(previous.content, content, f"v{previous.number}", f"v{saved.number}")
    return saved, diff


def guideline_versions(session: Session, project_id: int) -> list[GuidelineVersion]:
    return list(session.scalars(select(GuidelineVersion)
                                .where(GuidelineVersion.project_id == project_id)
                                .order_by(GuidelineVersion.number.desc())))


def send_to_double_annotation(session: Session, project: Project, share: float) -> int:
    """Give ``share`` of the items (a stable pick) a second person; return tasks added.

    Sets the policy's ``double_annotation_share`` (for items imported later) and adds a human
    annotator task to picked items that have fewer than two. Items still waiting for the
    Helper are left to the routing policy, which adds their people's tasks when it is done.
    """
    if not 0 <= share <= 1:
        raise InvalidInput("the share must be between 0 and 1")
    policy = project_policy(project).model_copy(update={"double_annotation_share": share})
    set_policy(session, project, policy, reconcile=False)  # its own top-up follows
    humans = (select(Task.item_id, func.count().label("n"), func.max(Task.slot).label("slot"))
              .where(Task.project_id == project.id, Task.role == "annotator",
                     Task.worker_kind == "human").group_by(Task.item_id).subquery())
    helper_open = select(Task.item_id).where(Task.project_id == project.id,
                                             Task.role == "helper",
                                             Task.status.in_(("pending", "leased")))
    rows = session.execute(
        select(Item.id, Item.external_id, humans.c.n, humans.c.slot)
        .outerjoin(humans, humans.c.item_id == Item.id)
        .where(Item.project_id == project.id, Item.id.not_in(helper_open),
               func.coalesce(humans.c.n, 0) < 2)).all()
    now = utcnow()
    new = []
    for item_id, external_id, n, slot in rows:
        if not policy.needs_double(external_id):
            continue
        first = 0 if slot is None else int(slot) + 1
        new += [{"project_id": project.id, "item_id": item_id, "role": "annotator",
                 "worker_kind": "human", "slot": first + k, "status": "pending",
                 "priority": policy.human_priority, "attempts": 0,
                 "max_attempts": policy.max_attempts, "created_at": now, "updated_at": now}
                for k in range(2 - int(n or 0))]
    if new:
        session.execute(insert(Task), new)
    return len(new)
