"""Label Studio's JSON export ("Export -> JSON"): one JSON array of tasks.

Each task ``{"id", "data": {"text", ...}, "annotations": [...], "predictions": [...]}``
becomes an item:

- the text is ``data.text`` (the ``$text`` the labeling configs read); the item id is
  ``data.annotate_external_id`` (our own export and push), else ``data.id``, else the task's
  ``id``; the other ``data`` fields are kept in the item's meta, and the task's ``id`` as
  ``ls_task_id``;
- every entry of ``annotations`` is a person's answer under ``ls:<email or user id>`` (from
  ``completed_by``, a user id or an object with ``email``), with ``lead_time`` as the seconds
  spent; a cancelled (skipped) annotation, or an empty result that is no answer of the kind,
  is left out and counted;
- every entry of ``predictions`` is a model's answer under ``ls-model:<model_version>``, with
  ``model_version`` as the model and ``score`` as the confidence (kept in meta as well); the
  plain ``GET /api/projects/{id}/export`` of Label Studio 1.x writes predictions as their ids
  only (and ``completed_by`` as a user id): those are counted as skipped; a snapshot export
  with ``predictions`` and ``annotations__completed_by`` expanded brings them (and emails);
- results are read by the project's kind (its Label Studio mapping, offsets in UTF-16 code
  units); the writer then checks every answer against the schema and the text (a span whose
  ``text`` differs from the item text at its offsets is an error).

Our own export (:mod:`annotate.io.export_formats.labelstudio`) adds an ``annotate`` object to
each annotation and prediction with its full provenance, read back here, and
``annotate_data``/``annotate_meta`` to the task data, so the round trip loses nothing.

The file is read whole (``json.load``: one array; streaming it would need an incremental JSON
parser the project does not depend on). Errors name the task: ``FILE:task 3 (id 17): ...``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from annotate.errors import InvalidInput
from annotate.io.exporting import ExportedAnnotation
from annotate.io.importing.context import ReadContext
from annotate.io.importing.lines import BOM
from annotate.io.importing.records import (
    AnnotationDraft,
    ItemRecord,
    RowError,
    check_annotator,
    check_id,
    check_text,
)
from annotate.io.labelstudio_results import TEXT, form_of, raw_value
from annotate.kinds.schema import comparable, validate_value
from annotate.queue.leases import Provenance

OURS = "annotate"  # the provenance our export adds to an annotation or prediction
RESERVED = (TEXT, "annotate_external_id", "annotate_item_id", "annotate_data", "annotate_meta",
            "annotate_synthetic")
HUMAN_PREFIX = "ls:"
MODEL_PREFIX = "ls-model:"
DETECT_BYTES = 1 << 20  # how much of a file detection reads to see its first task


def read_labelstudio(stream: BinaryIO, ctx: ReadContext) -> Iterator[ItemRecord]:
    """Every task of a Label Studio JSON export, as an item with its answers."""
    tasks = _load(stream)
    ids: dict[int, str] = {}
    if tasks:
        ctx.where = lambda n: f"task {n}" + (f" (id {ids[n]})" if n in ids else "")
    for index, task in enumerate(tasks, start=1):
        if isinstance(task, dict) and isinstance(task.get("id"), str | int):
            ids[index] = str(task["id"])[:40]
        yield parse_task(index, task, ctx)


def looks_like(path: Path) -> bool:
    """Whether ``path`` is a JSON array whose first element is a task (an object with a
    ``data`` object), read from its first megabyte. An array whose first element does not
    parse there counts too, so that the JSON error is reported at its line."""
    with path.open("rb") as stream:
        head = stream.read(DETECT_BYTES).removeprefix(BOM).decode("utf-8", errors="replace")
    head = head.lstrip()
    if not head.startswith("["):
        return False
    try:
        first, _ = json.JSONDecoder().raw_decode(head[1:].lstrip())
    except (ValueError, RecursionError):
        return True
    return isinstance(first, dict) and isinstance(first.get("data"), dict)


def _load(stream: BinaryIO) -> list[Any]:
    raw = stream.read().removeprefix(BOM)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RowError(line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})") from None
    try:
        tasks = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowError(exc.lineno, f"bad JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise RowError(1, "JSON nested too deeply") from None
    if not isinstance(tasks, list):
        raise RowError(1, f"a Label Studio JSON export is one array of tasks, not a "
                          f"{type(tasks).__name__}")
    return tasks


def parse_task(index: int, task: Any, ctx: ReadContext) -> ItemRecord:
    """One task as an item with its annotations and predictions."""
    if not isinstance(task, dict):
        raise RowError(index, f"a task must be a JSON object, not {type(task).__name__}")
    data = task.get("data")
    if not isinstance(data, dict):
        raise RowError(index, "the task has no 'data' object")
    text = check_text(index, data.get(TEXT))
    item_data = _object(index, data, "annotate_data")
    raw_id = data.get("annotate_external_id", data.get("id", task.get("id")))
    synthetic = data.get("annotate_synthetic", False)
    if not isinstance(synthetic, bool):
        raise RowError(index, "'annotate_synthetic' must be true or false")
    item = ItemRecord(line=index, external_id=check_id(index, raw_id, ctx.fallback_id),
                      text=text, data=item_data, meta=_meta(index, task, data, ctx),
                      synthetic=synthetic)
    seen: dict[str, int] = {}
    for n, entry in enumerate(_list(index, task, "annotations"), start=1):
        draft = _answer(index, f"annotation {n}", entry, text, ctx, human=True)
        if draft is not None:
            item.annotations.append(_unique(draft, seen))
    for n, entry in enumerate(_list(index, task, "predictions"), start=1):
        if isinstance(entry, int) and not isinstance(entry, bool):
            ctx.skipped.add(index, f"prediction {n} is only an id ({entry}) in this file; "
                                   "export with predictions included to bring them")
            continue
        draft = _answer(index, f"prediction {n}", entry, text, ctx, human=False)
        if draft is not None:
            item.annotations.append(_unique(draft, seen))
    return item


def _meta(index: int, task: dict[str, Any], data: dict[str, Any],
          ctx: ReadContext) -> dict[str, Any]:
    """The item meta: ours when our export wrote it, plus every data field the labeling
    config does not derive from the item, plus the task's id and meta."""
    meta = dict(_object(index, data, "annotate_meta"))
    derived: set[str] = set()
    if "annotate_external_id" in data:  # ours: drop the fields added for the config to show
        try:
            form = form_of(ctx.schema)
        except InvalidInput:
            form = None
        if form is not None:
            derived = set(form.task_data(ctx.schema, _object(index, data, "annotate_data"), ()))
    meta.update({k: v for k, v in data.items() if k not in RESERVED and k not in derived})
    if task.get("id") is not None:
        meta["ls_task_id"] = task["id"]
    if isinstance(task.get("meta"), dict) and task["meta"]:
        meta["ls_meta"] = task["meta"]
    return meta


def _answer(index: int, what: str, entry: Any, text: str, ctx: ReadContext, *,
            human: bool) -> AnnotationDraft | None:
    if not isinstance(entry, dict):
        raise RowError(index, f"{what} must be a JSON object, not {type(entry).__name__}")
    ours = entry.get(OURS) if isinstance(entry.get(OURS), dict) else None
    who = _annotator(index, entry, ours, human)
    if human and entry.get("was_cancelled"):
        ctx.skipped.add(index, f"{what} by {who} was cancelled (skipped in Label Studio)")
        return None
    result = entry.get("result")
    try:
        value = raw_value(ctx.schema, result if result is not None else [], text)
    except InvalidInput as exc:
        if not result:
            ctx.skipped.add(index, f"{what} by {who} has an empty result")
            return None
        raise RowError(index, f"{what} by {who}: {exc}") from None
    if ours is not None:
        return _our_draft(index, what, ours, _richer(ctx, ours.get("value"), value, text))
    prov = (_human(entry, who) if human else _model(entry, who))
    return AnnotationDraft(line=index, value=value, provenance=prov,
                           created_at=_time(entry.get("created_at")))


def _annotator(index: int, entry: dict[str, Any], ours: dict[str, Any] | None,
               human: bool) -> str:
    if ours is not None and ours.get("annotator_id") is not None:
        return check_annotator(index, ours.get("annotator_id"))
    if not human:
        version = entry.get("model_version")
        return check_annotator(index, f"{MODEL_PREFIX}{version or 'unknown'}")
    user = entry.get("completed_by")
    if isinstance(user, dict):
        user = user.get("email") or user.get("id")
    return check_annotator(index, f"{HUMAN_PREFIX}{user if user is not None else 'unknown'}")


def _human(entry: dict[str, Any], who: str) -> Provenance:
    lead = entry.get("lead_time")
    keep = {f"ls_{k}": entry[k] for k in ("id", "updated_at", "parent_prediction",
                                          "parent_annotation", "ground_truth")
            if entry.get(k) not in (None, False)}
    return Provenance(annotator_id=who, annotator_kind="human", source="import",
                      human_seconds=_in_range(lead, 0, 1e9),
                      meta=keep)


def _model(entry: dict[str, Any], who: str) -> Provenance:
    score = entry.get("score")
    keep = {f"ls_{k}": entry[k] for k in ("id", "score") if entry.get(k) is not None}
    version = entry.get("model_version")
    return Provenance(annotator_id=who, annotator_kind="llm", source="import",
                      model=str(version)[:200] if version else None, meta=keep,
                      confidence=_in_range(score, 0, 1))


def _richer(ctx: ReadContext, ours: Any, value: dict[str, Any], text: str) -> dict[str, Any]:
    """Our export's own copy of the value when it is the same answer as the result says (it
    may hold more, e.g. which Helper candidate a text started from), else the result's."""
    if not isinstance(ours, dict):
        return value
    try:
        same = (comparable(ctx.schema.kind, validate_value(ctx.schema, ours, text))
                == comparable(ctx.schema.kind, validate_value(ctx.schema, value, text)))
    except InvalidInput:
        return value
    return ours if same else value


def _our_draft(index: int, what: str, ours: dict[str, Any],
               value: dict[str, Any]) -> AnnotationDraft:
    """An answer our own export wrote, with every field of its provenance."""
    try:
        ann = ExportedAnnotation.model_validate({**ours, "value": value})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in (OURS, *first["loc"]))
        raise RowError(index, f"{what}: {where}: {first['msg']}") from None
    prov = Provenance(**ann.model_dump(exclude={"id", "task_id", "role", "phase", "value",
                                                 "created_at", "suggestion_id"}))
    suffix = "".join(f":{part}" for part, default in ((ann.role, "annotator"),
                                                      (ann.phase, "final")) if part != default)
    return AnnotationDraft(line=index, value=value, provenance=prov, role=ann.role,
                           phase=ann.phase, created_at=_naive(ann.created_at),
                           key_suffix=suffix)


def _unique(draft: AnnotationDraft, seen: dict[str, int]) -> AnnotationDraft:
    """A second answer by the same annotator on one task gets its own key (``#2``)."""
    base = f"{draft.provenance.annotator_id}{draft.key_suffix}"
    seen[base] = seen.get(base, 0) + 1
    if seen[base] > 1:
        draft.key_suffix += f"#{seen[base]}"
    return draft


def _time(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return _naive(datetime.fromisoformat(raw))
    except ValueError:
        return None


def _naive(moment: datetime | None) -> datetime | None:
    """Stored as naive UTC."""
    if moment is not None and moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _in_range(value: Any, low: float, high: float) -> float | None:
    """``value`` as a float when it is a number (not true/false) from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if low <= value <= high else None


def _object(index: int, obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RowError(index, f"{key!r} must be a JSON object, not {type(value).__name__}")
    return value


def _list(index: int, obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RowError(index, f"{key!r} must be a list, not {type(value).__name__}")
    return value
