"""The long-form exports, ``csv`` and ``parquet``: one row per answer with its item's columns
beside it; an item without answers gets one row with empty answer columns.

JSON-valued columns (``item_data``, ``item_meta``, ``value``, ``params``,
``annotation_meta``) are JSON text; ``label`` is the answer's label as agreement compares it
(the task kind's one projection: a label, ``a|b`` labels, a choice, ``start-end:label``
spans, ...; empty when the kind has none, e.g. a rating, or for a moderator's "none of
them"); ``candidate_choice``, ``chosen_candidate`` and ``edit_distance`` read a person's
choice among the Helper's candidates (the answer's ``meta.choice`` trace,
:mod:`annotate.services.choice_trace`: ``chose``, ``edited`` or ``own``; empty when no
candidate was shown). Parquet has the same rows and columns as the CSV, typed, and writes
from raw batches (:mod:`.raw_writers`) when :func:`annotate.io.exporting.export_project`
offers them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from annotate.io.export_formats.raw_batches import RawBatch
from annotate.kinds.registry import kind_of_value, label_of

ROW_GROUP = 5000  # Parquet rows per row group

ITEM_COLUMNS = ("item_id", "text", "item_data", "item_meta", "synthetic")
ANNOTATION_COLUMNS = (
    "annotation_id", "task_id", "annotator_id", "annotator_kind", "role", "phase", "label",
    "value", "rationale", "confidence", "confidence_estimator", "confidence_raw",
    "guideline_version", "prompt_hash", "model", "params",
    "cost_usd", "latency_s", "human_seconds", "suggestion_visible", "suggestion_id",
    "candidate_choice", "chosen_candidate", "edit_distance", "source", "annotation_meta",
    "created_at",
)
FLAT_COLUMNS = ITEM_COLUMNS + ANNOTATION_COLUMNS
_RENAMED = {"id": "annotation_id", "meta": "annotation_meta"}
_JSON_COLUMNS = ("value", "params", "annotation_meta")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def flat_label(value: dict[str, Any], kind: str | None = None) -> str | None:
    """The value's label as agreement compares it (the kind's projection; the kind is found
    from the value's shape when not given); None when it has none."""
    kind = kind or kind_of_value(value)
    return label_of(kind, value) if kind else None


def flat_rows(item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The long-form rows of one exported item: one per annotation, or one empty row."""
    base = {"item_id": item["id"], "text": item["text"], "item_data": _json(item["data"]),
            "item_meta": _json(item["meta"]), "synthetic": item["synthetic"]}
    if not item["annotations"]:
        yield {**base, **dict.fromkeys(ANNOTATION_COLUMNS)}
        return
    for ann in item["annotations"]:
        row = {**base, **{_RENAMED.get(k, k): v for k, v in ann.items()}}
        row["label"] = flat_label(ann["value"])
        row.update(choice_cells(ann["meta"]))
        for key in _JSON_COLUMNS:
            row[key] = _json(row[key])
        yield row


def choice_cells(meta: dict[str, Any]) -> dict[str, Any]:
    """The flat cells of an answer's choice trace (``meta.choice``; empty without one)."""
    trace = meta.get("choice")
    if not isinstance(trace, dict):
        trace = {}
    return {"candidate_choice": trace.get("action"), "chosen_candidate": trace.get("chosen"),
            "edit_distance": trace.get("edit_distance")}


class CsvExporter:
    binary = False

    def write(self, items: Iterable[dict[str, Any]], out: IO[Any]) -> None:
        writer = csv.DictWriter(out, fieldnames=FLAT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for item in items:
            writer.writerows({**row, "created_at": iso_text(row["created_at"])}
                             for row in flat_rows(item))


class ParquetExporter:
    binary = True

    def write(self, items: Iterable[dict[str, Any]], out: IO[Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = parquet_schema()
        with pq.ParquetWriter(out, schema) as writer:
            for chunk in _chunks((row for item in items for row in flat_rows(item)), ROW_GROUP):
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))

    def write_raw(self, batches: Iterable[RawBatch], out: IO[Any]) -> None:
        """The same file as ``write``, from raw batches (:mod:`.raw_writers`)."""
        from annotate.io.export_formats.raw_writers import write_parquet

        write_parquet(batches, out, parquet_schema(), ROW_GROUP)


def parquet_schema() -> Any:
    import pyarrow as pa

    types = {"synthetic": pa.bool_(), "suggestion_visible": pa.bool_(),
             "annotation_id": pa.int64(), "task_id": pa.int64(), "suggestion_id": pa.int64(),
             "chosen_candidate": pa.int64(), "edit_distance": pa.int64(),
             "confidence": pa.float64(), "confidence_raw": pa.float64(),
             "cost_usd": pa.float64(), "latency_s": pa.float64(),
             "human_seconds": pa.float64(), "created_at": pa.timestamp("us")}
    return pa.schema([(name, types.get(name, pa.string())) for name in FLAT_COLUMNS])


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def iso_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None:
        return None
    raise TypeError(f"cannot export {type(value).__name__}")
