"""JSONL readers: plain items, gold spans, pairwise comparisons with their judges, our export.

Every format reads one JSON object per non-blank line; what differs is how an object
becomes an :class:`ItemRecord`. Keys a format does not use are kept in the item's meta.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any, BinaryIO

from pydantic import ValidationError

from annotate.io.exporting import ExportedAnnotation
from annotate.io.importing.context import ReadContext
from annotate.io.importing.lines import numbered_lines
from annotate.io.importing.records import (
    AnnotationDraft,
    ItemRecord,
    RowError,
    check_id,
    check_text,
    label_draft,
)
from annotate.kinds.optional import option_fields
from annotate.queue.leases import Provenance

ITEM_KEYS = ("id", "text", "data", "meta", "synthetic")
GOLD_ANNOTATOR = "gold"


def json_records(stream: BinaryIO) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, object)`` for every non-blank line."""
    for line, text in numbered_lines(stream):
        try:
            obj = json.loads(text.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            hint = " (expected one JSON object per line)" if text.lstrip()[:1] == "[" else ""
            raise RowError(line, f"bad JSON: {exc.msg} (column {exc.colno}){hint}") from None
        except RecursionError:
            raise RowError(line, "JSON nested too deeply") from None
        if not isinstance(obj, dict):
            raise RowError(line, f"expected a JSON object, got {type(obj).__name__}")
        yield line, obj


def _object(line: int, obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RowError(line, f"{key!r} must be a JSON object, not {type(value).__name__}")
    return value


def base_item(line: int, obj: dict[str, Any], ctx: ReadContext, *, used: tuple[str, ...] = (),
              text: Any = None) -> ItemRecord:
    """The item part of a record; keys outside ``ITEM_KEYS + used`` are added to its meta."""
    extra = {k: v for k, v in obj.items() if k not in ITEM_KEYS and k not in used}
    synthetic = obj.get("synthetic", False)
    if not isinstance(synthetic, bool):
        raise RowError(line, "'synthetic' must be true or false")
    return ItemRecord(
        line=line,
        external_id=check_id(line, obj.get("id"), ctx.fallback_id),
        text=check_text(line, obj.get("text") if text is None else text),
        data=_object(line, obj, "data"),
        meta={**_object(line, obj, "meta"), **extra},
        synthetic=synthetic,
    )


def parse_plain(line: int, obj: dict[str, Any], ctx: ReadContext) -> ItemRecord:
    """``{"id", "text", "meta", "data"}``; other keys go to meta."""
    return base_item(line, obj, ctx)


def parse_spans(line: int, obj: dict[str, Any], ctx: ReadContext) -> ItemRecord:
    """An item with gold ``spans``: one annotation by ``gold`` (a line without spans: none)."""
    item = base_item(line, obj, ctx, used=("spans",))
    spans = obj.get("spans")
    if spans is None:
        return item
    if not isinstance(spans, list):
        raise RowError(line, f"'spans' must be a list, not {type(spans).__name__}")
    prov = Provenance(annotator_id=GOLD_ANNOTATOR, annotator_kind="human", source="import",
                      meta={"gold": True})
    item.annotations.append(AnnotationDraft(line=line, value={"spans": spans}, provenance=prov))
    return item


PAIRWISE_KEYS = ("instruction", "input", "human_labels", "llm_judgments")


def parse_pairwise(line: int, obj: dict[str, Any], ctx: ReadContext) -> ItemRecord:
    """A comparison: text = instruction (+ input), the options in ``data``, and the answers.

    ``human_labels`` ({annotator: label}) become human answers; ``llm_judgments``
    ({judge: {"label", "reason", ...}}) become LLM answers with the judge as model and the
    reason as rationale. A null or empty label is skipped and noted.
    """
    options = option_fields(ctx.schema)
    item = base_item(line, obj, ctx, used=(*PAIRWISE_KEYS, *options), text=_prompt(line, obj))
    item.data = {**item.data, **_options(line, obj, options)}
    for key in ("instruction", "input"):
        if key in obj:
            item.data[key] = obj[key]
    skipped = ctx.skipped
    for annotator, label in _object(line, obj, "human_labels").items():
        draft = label_draft(ctx.schema, line, annotator, label, skipped=skipped)
        if draft is not None:
            item.annotations.append(draft)
    for judge, judgment in _object(line, obj, "llm_judgments").items():
        draft = _judgment(line, judge, judgment, ctx)
        if draft is not None:
            item.annotations.append(draft)
    return item


def _prompt(line: int, obj: dict[str, Any]) -> Any:
    if obj.get("text") is not None or obj.get("instruction") is None:
        return obj.get("text")
    instruction, extra = obj["instruction"], obj.get("input")
    if not isinstance(instruction, str) or (extra is not None and not isinstance(extra, str)):
        raise RowError(line, "'instruction' and 'input' must be strings")
    return f"{instruction}\n\n{extra}" if extra and extra.strip() else instruction


def _options(line: int, obj: dict[str, Any], options: list[str]) -> dict[str, Any]:
    if not options:
        return {}
    missing = [o for o in options if o not in obj]
    if missing:
        raise RowError(line, f"no {', '.join(map(repr, missing))} (the project's options are "
                             f"{', '.join(options)})")
    return {"options": {o: obj[o] for o in options}}


def _judgment(line: int, judge: str, judgment: Any, ctx: ReadContext) -> AnnotationDraft | None:
    if not isinstance(judgment, dict):
        judgment = {"label": judgment}
    extra = {k: v for k, v in judgment.items() if k not in ("label", "reason", "confidence")}
    confidence = judgment.get("confidence")
    if confidence is not None and not isinstance(confidence, int | float):
        raise RowError(line, f"{judge}: confidence must be a number")
    prov = Provenance(annotator_id=judge, annotator_kind="llm", model=judge,
                      rationale=judgment.get("reason"), confidence=confidence, meta=extra)
    return label_draft(ctx.schema, line, judge, judgment.get("label"), skipped=ctx.skipped,
                       provenance=prov)


def parse_export(line: int, obj: dict[str, Any], ctx: ReadContext) -> ItemRecord:
    """A line of our own JSONL export: the item and its annotations with their provenance."""
    item = base_item(line, obj, ctx, used=("annotations",))
    raw = obj.get("annotations") or []
    if not isinstance(raw, list):
        raise RowError(line, "'annotations' must be a list")
    seen: dict[str, int] = {}
    for n, entry in enumerate(raw):
        try:
            ann = ExportedAnnotation.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in ("annotations", n, *first["loc"]))
            raise RowError(line, f"{where}: {first['msg']}") from None
        item.annotations.append(_exported_draft(line, ann, seen))
    return item


def _exported_draft(line: int, ann: ExportedAnnotation, seen: dict[str, int]) -> AnnotationDraft:
    prov = Provenance(**ann.model_dump(exclude={"id", "task_id", "role", "phase", "value",
                                                 "created_at", "suggestion_id"}))
    suffix = "".join(f":{part}" for part, default in ((ann.role, "annotator"),
                                                      (ann.phase, "final")) if part != default)
    base = f"{ann.annotator_id}{suffix}"
    seen[base] = seen.get(base, 0) + 1
    if seen[base] > 1:
        suffix += f"#{seen[base]}"
    created = ann.created_at
    if created is not None and created.tzinfo is not None:  # stored as naive UTC
        created = created.astimezone(UTC).replace(tzinfo=None)
    return AnnotationDraft(line=line, value=ann.value, provenance=prov, role=ann.role,
                           phase=ann.phase, created_at=created, key_suffix=suffix)


Parser = Callable[[int, dict[str, Any], ReadContext], ItemRecord]


def reader(parse: Parser) -> Callable[[BinaryIO, ReadContext], Iterator[ItemRecord]]:
    """A file reader that turns every record of a JSONL file into an item with ``parse``."""

    def read(stream: BinaryIO, ctx: ReadContext) -> Iterator[ItemRecord]:
        for line, obj in json_records(stream):
            yield parse(line, obj, ctx)

    return read
