"""Validating what readers yield and storing it in batches, with the tasks the policy asks for.

Items go in a batch at a time (``COPY`` on PostgreSQL, executemany on SQLite; no ORM
objects), their new ids are read back from the id range above the last batch, the
annotations follow the same way,
then :func:`plan_initial_tasks` creates the tasks each item still needs. Everything runs
inside the caller's transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.errors import InvalidInput
from annotate.io.importing.records import AnnotationDraft, ItemRecord, RowError
from annotate.io.importing.schema_extension import widened
from annotate.kinds.schema import LabelSchema, validate_value
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import _provenance_columns
from annotate.queue.routing import PlannedItem, plan_initial_tasks
from annotate.queue.wants import is_no_decision
from annotate.store.bulk import bulk_insert
from annotate.store.models import Base, Item, Project, Task, utcnow

MAX_KEY_LENGTH = 300  # Annotation.idempotency_key is String(300)
ITEMS = Base.metadata.tables["items"]
ANNOTATIONS = Base.metadata.tables["annotations"]
ITEM_COLUMNS = ("project_id", "external_id", "text", "data", "meta", "synthetic", "created_at")
ANNOTATION_COLUMNS = tuple(c.name for c in ANNOTATIONS.c if c.name != "id")


def annotation_key(project_id: int, external_id: str, annotator_id: str, suffix: str = "") -> str:
    """The idempotency key of an imported answer; re-importing it collides instead of doubling."""
    key = f"import:{project_id}:{external_id}:{annotator_id}{suffix}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"import:{project_id}:sha256:{digest}"


@dataclass(slots=True)
class _Pending:
    record: ItemRecord
    values: list[dict[str, Any]]
    keys: list[str]


class BatchWriter:
    """Takes item records one at a time; writes them a batch at a time."""

    def __init__(self, session: Session, project: Project, schema: LabelSchema,
                 policy: RoutingPolicy, *, plan_tasks: bool = True, batch_size: int = 2000,
                 on_progress: Callable[[int], None] | None = None,
                 extend_schema: bool = False) -> None:
        self.session = session
        self.project = project
        self.schema = schema
        self.extend_schema = extend_schema
        self.labels_added: list[str] = []  # by extend_schema, in the order first met
        self.policy = policy
        self.plan_tasks = plan_tasks
        self.batch_size = batch_size
        self.on_progress = on_progress
        self.items = self.annotations = self.tasks = 0
        self._lines: dict[str, int] = {}
        self._pending: list[_Pending] = []
        self._project_had_items = session.scalar(
            select(Item.id).where(Item.project_id == project.id).limit(1)) is not None
        self._tasks_before = self._count_tasks()
        self._id_floor = session.scalar(select(func.max(Item.id))) or 0  # new ids are above

    def add(self, record: ItemRecord) -> None:
        first = self._lines.setdefault(record.external_id, record.line)
        if first != record.line:
            raise RowError(record.line, f"duplicate id {record.external_id!r} "
                                        f"(first at line {first})")
        if record.annotations:
            self._pending.append(_Pending(record, *self._answers(record)))
        else:
            self._pending.append(_Pending(record, [], []))
        if len(self._pending) >= self.batch_size:
            self.flush()

    def _answers(self, record: ItemRecord) -> tuple[list[dict[str, Any]], list[str]]:
        values = [self._validated(record, draft) for draft in record.annotations]
        keys: list[str] = []
        for draft in record.annotations:
            key = annotation_key(self.project.id, record.external_id,
                                 draft.provenance.annotator_id, draft.key_suffix)
            if key in keys:
                raise RowError(draft.line, f"two answers from {draft.provenance.annotator_id} "
                                           f"on item {record.external_id!r}")
            keys.append(key)
        return values, keys

    def _validated(self, record: ItemRecord, draft: AnnotationDraft) -> dict[str, Any]:
        if is_no_decision(draft.role, draft.value):
            return {"decision": "none"}
        try:
            return validate_value(self.schema, draft.value, record.text)
        except InvalidInput as exc:
            wider = widened(self.schema, draft.value, record.text) if self.extend_schema else None
            if wider is None:
                raise RowError(draft.line, f"{draft.provenance.annotator_id}: {exc}") from None
        self.labels_added += [label for label in wider.labels if label not in self.schema.labels]
        self.schema = wider
        return validate_value(wider, draft.value, record.text)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        if self._project_had_items:
            self._reject_existing(pending)
        now = utcnow()
        item_ids = self._insert_items(pending, now)
        rows = [self._annotation_row(item_id, p, i, now)
                for item_id, p in zip(item_ids, pending, strict=True)
                for i in range(len(p.values))]
        bulk_insert(self.session, ANNOTATIONS, ANNOTATION_COLUMNS, rows)
        self.items += len(pending)
        self.annotations += len(rows)
        if self.plan_tasks:
            planned = [_planned(item_id, p.record)
                       for item_id, p in zip(item_ids, pending, strict=True)]
            plan_initial_tasks(self.session, self.project, self.policy, planned)
        if self.on_progress is not None:
            self.on_progress(self.items)

    def finish(self) -> None:
        """Write what is left and count the tasks created (follow-ups included)."""
        self.flush()
        self.tasks = self._count_tasks() - self._tasks_before

    def _count_tasks(self) -> int:
        return self.session.scalar(
            select(func.count()).select_from(Task).where(Task.project_id == self.project.id)
        ) or 0

    def _reject_existing(self, pending: list[_Pending]) -> None:
        by_id = {p.record.external_id: p.record.line for p in pending}
        taken = self.session.scalars(
            select(Item.external_id).where(Item.project_id == self.project.id,
                                           Item.external_id.in_(list(by_id)))
        ).all()
        if taken:
            first = min(taken, key=by_id.__getitem__)
            raise RowError(by_id[first], f"id {first!r} is already in the project")

    def _insert_items(self, pending: list[_Pending], now: Any) -> list[int]:
        pid = self.project.id
        new_ids = insert_items(self.session, pid, [
            (pid, p.record.external_id, p.record.text, p.record.data, p.record.meta,
             p.record.synthetic, now) for p in pending], self._id_floor)
        self._id_floor = max(new_ids)
        return new_ids

    def _annotation_row(self, item_id: int, p: _Pending, i: int, now: Any) -> tuple[Any, ...]:
        draft = p.record.annotations[i]
        row = {
            "project_id": self.project.id, "item_id": item_id, "task_id": None,
            "idempotency_key": p.keys[i], "role": draft.role, "phase": draft.phase,
            "value": p.values[i], "created_at": draft.created_at or now,
            **_provenance_columns(draft.provenance),
        }
        return tuple(row[name] for name in ANNOTATION_COLUMNS)


def insert_items(session: Session, project_id: int, rows: list[tuple[Any, ...]],
                 id_floor: int) -> list[int]:
    """Insert item ``rows`` (``ITEM_COLUMNS`` order) and return their new ids in row order,
    read back as this project's rows above ``id_floor``, the largest id before them (a
    range scan: a long IN list is matched row by row on PostgreSQL). Rows another import
    committed meanwhile have other external ids and are ignored."""
    bulk_insert(session, ITEMS, ITEM_COLUMNS, rows)
    ids: dict[str, int] = {ext: item_id for ext, item_id in session.execute(
        select(ITEMS.c.external_id, ITEMS.c.id)
        .where(ITEMS.c.project_id == project_id, ITEMS.c.id > id_floor)
    )}
    return [ids[row[1]] for row in rows]


def _planned(item_id: int, record: ItemRecord) -> PlannedItem:
    answers = [d.provenance.annotator_kind for d in record.annotations
               if d.role == "annotator" and d.phase == "final"]
    return PlannedItem(item_id=item_id, external_id=record.external_id,
                       humans_present=answers.count("human"), llms_present=answers.count("llm"))
