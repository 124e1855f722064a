"""What the ML backend's endpoints do, without HTTP: validate the request, predict, answer.

Every request body is checked before any model call: a malformed one raises
:class:`BackendError` with a 4xx status and one short line that quotes no exception text.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.config import describe_difference, labeling_config
from annotate.integrations.labelstudio.convert import LabelStudioCheck, to_result
from annotate.integrations.labelstudio.fair_share import FairGate, predict_in_turns
from annotate.integrations.labelstudio.predictor import (
    ItemToPredict,
    PredictedValue,
    PredictionFailure,
    Predictor,
)
from annotate.projects.catalog import get_project, project_schema
from annotate.store.engine import Store
from annotate.store.models import Item

log = logging.getLogger(__name__)
KEPT_FAILURES = 1000  # the latest prediction failures, for a look from a debugger or a test
MAX_ITEM_ID = 1 << 63
IDS_PER_QUERY = 500  # well under SQLite's bound on query parameters
KNOWN_ACTION = re.compile(r"[A-Z][A-Z_]{0,63}")


class BackendError(Exception):
    """A request the backend refuses: answered with its status and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class BackendLimits:
    """What one request may ask of the backend, and how the model is shared."""

    max_body_bytes: int = 10 * 1024 * 1024
    max_tasks: int = 1000
    read_timeout_s: float = 10.0  # for the whole body, and for each wait on the socket
    chunk_size: int = 4  # tasks per turn at the model; a small request waits one chunk
    model_slots: int = 1  # predictions at once (the embedded model: 1)
    max_connections: int = 64

    def __post_init__(self) -> None:
        bounds = {"max_body_bytes": (1024, 1 << 30), "max_tasks": (1, 1_000_000),
                  "read_timeout_s": (0.1, 3600.0), "chunk_size": (1, 10_000),
                  "model_slots": (1, 256), "max_connections": (1, 10_000)}
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise InvalidInput(f"backend limit {name} must be between {low} and {high}, "
                                   f"not {value}")


class PredictionService:
    """The endpoints' work for one project, with the predictor loaded once and shared."""

    def __init__(self, store: Store, project: str, predictor: Predictor,
                 limits: BackendLimits | None = None) -> None:
        with store.session() as session:
            proj = get_project(session, project)
            self.project_id = proj.id
            self.project_name = proj.name
            self.schema = project_schema(proj)
        self.store = store
        self.predictor = predictor
        self.limits = limits or BackendLimits()
        self.config = labeling_config(self.schema)
        self.check = LabelStudioCheck(self.config)
        self.events: Counter[str] = Counter()
        self.failures: deque[PredictionFailure] = deque(maxlen=KEPT_FAILURES)
        self.gate = FairGate(self.limits.model_slots)

    @property
    def model_version(self) -> str:
        return self.predictor.model_version

    def health(self, *, details: bool) -> dict[str, Any]:
        """``UP``; the model and project only to a caller who may see them."""
        if not details:
            return {"status": "UP"}
        return {"status": "UP", "model_class": type(self.predictor).__name__,
                "project": self.project_name, "model_version": self.model_version}

    def setup(self, body: dict[str, Any]) -> dict[str, Any]:
        _optional(body, "project", (str, int), "a string or a number")
        self._check_config(_optional(body, "schema", str, "a string"))
        return {"model_version": self.model_version}

    def predict(self, body: dict[str, Any],
                still_wanted: Callable[[], bool] = lambda: True) -> dict[str, Any]:
        _optional(body, "project", (str, int), "a string or a number")
        _optional(body, "params", dict, "an object")
        self._check_config(_optional(body, "label_config", str, "a string"))
        tasks = self._tasks(body)
        items = self._items_for(tasks)
        outputs = predict_in_turns(self.predictor, self.schema, items, self.gate,
                                   self.limits.chunk_size, still_wanted)
        return {"results": [self._entry(item, out)
                            for item, out in zip(items, outputs, strict=True)]}

    def webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        action = _optional(body, "action", str, "a string")
        known = isinstance(action, str) and KNOWN_ACTION.fullmatch(action)
        self.events[action if known and action else "other"] += 1
        return {"status": "ok"}

    def _check_config(self, label_config: str | None) -> None:
        if not label_config:
            return
        try:
            difference = describe_difference(self.config, label_config)
        except InvalidInput:
            raise BackendError(400, "the labeling config is not valid XML") from None
        if difference:
            raise BackendError(400, f"this backend serves project {self.project_name!r} and "
                                    f"the labeling config differs ({difference[:200]})")

    def _tasks(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        tasks = body.get("tasks")
        if tasks is None:
            raise BackendError(400, "tasks is missing")
        if not isinstance(tasks, list):
            raise BackendError(400, "tasks must be a list of task objects")
        if len(tasks) > self.limits.max_tasks:
            raise BackendError(413, f"too many tasks: {len(tasks)} (at most "
                                    f"{self.limits.max_tasks} per request)")
        for number, task in enumerate(tasks):
            _check_task(number, task)
        return tasks

    def _items_for(self, tasks: Sequence[dict[str, Any]]) -> list[ItemToPredict]:
        """Our item's own text for a task we pushed (one query); the task's text otherwise."""
        wanted = {t["data"].get("annotate_item_id") for t in tasks} - {None}
        known = self._known_items(wanted) if wanted else {}
        return [known.get(t["data"].get("annotate_item_id"))
                or ItemToPredict(text=str(t["data"].get("text", "")), data=dict(t["data"]))
                for t in tasks]

    def _known_items(self, ids: set[int]) -> dict[int, ItemToPredict]:
        wanted = sorted(ids)
        known: dict[int, ItemToPredict] = {}
        with self.store.session() as session:
            for start in range(0, len(wanted), IDS_PER_QUERY):
                rows = session.scalars(select(Item).where(
                    Item.id.in_(wanted[start:start + IDS_PER_QUERY]),
                    Item.project_id == self.project_id))
                known.update({row.id: ItemToPredict(text=row.text, item_id=row.id,
                                                    external_id=row.external_id,
                                                    data=dict(row.data)) for row in rows})
        return known

    def _entry(self, item: ItemToPredict,
               out: PredictedValue | PredictionFailure) -> dict[str, Any]:
        entry: dict[str, Any] = {"model_version": self.model_version}
        if isinstance(out, PredictedValue):
            try:
                entry["result"] = self.check.check(to_result(self.schema, out.value, item.text))
                entry["score"] = out.confidence
                return entry
            except InvalidInput as exc:
                out = PredictionFailure("invalid", str(exc), json.dumps(out.value))
        self.failures.append(out)
        log.warning("no prediction for item %s: %s: %s", item.item_id, out.kind, out.message)
        entry["error"] = f"{out.kind}: {out.message}"
        return entry


def _optional(body: dict[str, Any], name: str, types: type | tuple[type, ...],
              what: str) -> Any:
    """``body[name]`` when absent, null or of ``types`` (never a bool for a number)."""
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
        raise BackendError(400, f"{name} must be {what}")
    return value


def _check_task(number: int, task: Any) -> None:
    if not isinstance(task, dict):
        raise BackendError(400, f"task {number} is not an object")
    data = task.get("data")
    if not isinstance(data, dict):
        raise BackendError(400, f"task {number} has no data object")
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        raise BackendError(400, f"task {number}: data.text must be a string")
    item_id = data.get("annotate_item_id")
    if item_id is not None and (isinstance(item_id, bool) or not isinstance(item_id, int)
                                or not 0 < item_id < MAX_ITEM_ID):
        raise BackendError(400, f"task {number}: data.annotate_item_id must be a positive "
                                f"64-bit number")
