"""Export a project's items and every annotation with its full provenance.

- ``jsonl``: one item per line, ``{"id", "text", "data", "meta", "synthetic",
  "annotations": [...]}``; :func:`annotate.io.importing.import_file` reads it back.
- ``csv``: long form, one row per annotation with the item's columns beside it; an item
  without annotations gets one row with empty annotation fields. JSON-valued fields
  (``item_data``, ``item_meta``, ``value``, ``params``, ``annotation_meta``) are JSON text;
  ``label`` is the answer's label as agreement compares it (the task kind's one projection:
  a label, ``a|b`` labels, a choice, ``start-end:label`` spans, ...; empty when the kind has
  none, e.g. a rating, or for a moderator's "none of them"); ``candidate_choice``,
  ``chosen_candidate`` and ``edit_distance`` read a person's choice among the Helper's
  candidates (the answer's ``meta.choice`` trace, :mod:`annotate.services.choice_trace`:
  ``chose``, ``edited`` or ``own``; empty when no candidate was shown). JSONL and every
  format that keeps an answer's ``meta`` carry the whole trace: the candidates shown with
  their scores, and the choice.
- ``parquet``: the same rows and columns as the CSV, typed.

An exporter is a small object with ``write(items, out)``; :data:`EXPORTERS` maps format
names to the built-in ones and the ``annotate.exporters`` entry point group adds others.
Items are read in id order, a batch at a time, so memory stays flat. JSONL and Parquet
write from raw columns instead of item dicts (``write_raw``, :mod:`.export_formats.raw_batches`:
JSON spliced as its stored text: the same bytes in a fraction of the time).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON
from sqlalchemy.orm import Session

from annotate.errors import InvalidInput, SetupError
from annotate.io.export_formats.base import with_finals
from annotate.io.export_formats.doccano import DoccanoExporter
from annotate.io.export_formats.folder import new_directory
from annotate.io.export_formats.hf_dataset import HfExporter
from annotate.io.export_formats.prodigy import ProdigyExporter
from annotate.io.export_formats.raw_batches import ITEM_NAMES, RawBatch, iter_raw_batches
from annotate.io.export_formats.spacy_docbin import SpacyExporter
from annotate.io.exporting_labelstudio import LabelStudioExporter
from annotate.kinds.registry import kind_of_value, label_of
from annotate.outfile import safe_output
from annotate.projects.catalog import get_project, project_schema
from annotate.store.models import Annotation, Project

ROW_GROUP = 5000  # Parquet rows per row group


class ExportedAnnotation(BaseModel):
    """One annotation as exported (and as the importer reads it back)."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    task_id: int | None = None
    annotator_id: str = Field(min_length=1, max_length=200)
    annotator_kind: Literal["human", "llm"]
    role: str = Field("annotator", min_length=1, max_length=32)
    phase: str = Field("final", min_length=1, max_length=16)
    value: dict[str, Any]
    rationale: str | None = None
    confidence: float | None = None
    confidence_estimator: str | None = Field(None, max_length=32)
    confidence_raw: float | None = None
    guideline_version: str | None = Field(None, max_length=64)
    prompt_hash: str | None = Field(None, max_length=64)
    model: str | None = Field(None, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    cost_usd: float = 0.0
    latency_s: float | None = None
    human_seconds: float | None = None
    suggestion_visible: bool = False
    suggestion_id: int | None = None
    source: str = Field("import", max_length=32)
    meta: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


ANNOTATION_FIELDS = tuple(ExportedAnnotation.model_fields)


@dataclass(frozen=True)
class ExportResult:
    format: str
    items: int
    annotations: int
    cannot_carry: tuple[str, ...] = ()  # what the format could not hold, for one closing line


def iter_export_items(session: Session, project: Project) -> Iterator[dict[str, Any]]:
    """Every item of the project, in id order, with its annotations (in id order).

    Read through the export's two streamed queries (:func:`iter_raw_batches`), JSON decoded
    here: a query per batch (``id > last ... LIMIT``) made SQLite walk the project's index
    from its start each time, quadratic in the project's size."""
    from annotate.io.export_formats.raw_batches import iter_raw_batches

    for batch in iter_raw_batches(session, project.id, ANNOTATION_FIELDS):
        columns = [batch.columns[name] if name not in _JSON_FIELDS
                   else [None if v is None else json.loads(v) for v in batch.columns[name]]
                   for name in ANNOTATION_FIELDS]
        by_item: dict[int, list[dict[str, Any]]] = {row_id: [] for row_id in batch.items["id"]}
        for item_id, *values in zip(batch.item_ids, *columns, strict=True):
            by_item[item_id].append(_annotation_dict((item_id, *values)))
        for row_id, external_id, text, data, meta, synthetic in zip(
                *(batch.items[name] for name in ITEM_NAMES), strict=True):
            yield {"id": external_id, "text": text, "data": _loads(data) or {},
                   "meta": _loads(meta) or {}, "synthetic": bool(synthetic),
                   "annotations": by_item[row_id]}


_JSON_FIELDS = frozenset(name for name in ANNOTATION_FIELDS
                         if isinstance(getattr(Annotation, name).type, JSON))


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _annotation_dict(row: Any) -> dict[str, Any]:
    out = {name: row[i + 1] for i, name in enumerate(ANNOTATION_FIELDS)}
    for key in ("params", "meta"):
        out[key] = out[key] or {}
    return out


# ---- flat rows (CSV and Parquet) ------------------------------------------------------------

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


# ---- exporters -------------------------------------------------------------------------------


class Exporter(Protocol):
    """Writes exported items to an open stream (text, or bytes when ``binary``).

    Optional members: ``for_schema(schema) -> Exporter``, called once per export, returns the
    exporter to use for a project of that schema (formats whose layout depends on the kind or
    labels); after ``write``, ``cannot_carry`` (a list of short phrases) says what the format
    could not hold, shown in one line at the end of the export; ``write_raw(batches, out)``
    writes the same output from :class:`~.export_formats.raw_batches.RawBatch` columns, and
    ``export_project`` then uses it instead of ``write``.
    """

    binary: bool

    def write(self, items: Iterable[dict[str, Any]], out: IO[Any]) -> None: ...


class JsonlExporter:
    binary = False

    def write(self, items: Iterable[dict[str, Any]], out: IO[Any]) -> None:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False, default=_iso) + "\n")

    def write_raw(self, batches: Iterable[RawBatch], out: IO[Any]) -> None:
        """The same lines as ``write``, from raw batches (:mod:`.export_formats.raw_writers`)."""
        from annotate.io.export_formats.raw_writers import write_jsonl

        write_jsonl(batches, out)


class CsvExporter:
    binary = False

    def write(self, items: Iterable[dict[str, Any]], out: IO[Any]) -> None:
        writer = csv.DictWriter(out, fieldnames=FLAT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for item in items:
            writer.writerows({**row, "created_at": _iso(row["created_at"])}
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
        """The same file as ``write``, from raw batches (:mod:`.export_formats.raw_writers`)."""
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


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None:
        return None
    raise TypeError(f"cannot export {type(value).__name__}")


EXPORTERS: dict[str, Exporter] = {
    "jsonl": JsonlExporter(), "csv": CsvExporter(), "parquet": ParquetExporter(),
    "labelstudio": LabelStudioExporter(),
    "prodigy": ProdigyExporter(), "doccano": DoccanoExporter(), "hf": HfExporter(),
    "spacy": SpacyExporter(),
}
ENTRY_POINT_GROUP = "annotate.exporters"


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)
            if ep.name not in EXPORTERS}


def exporter_names() -> tuple[str, ...]:
    """Every export format: the built-in ones, then those other packages register under
    ``annotate.exporters`` (names only: no plugin is imported)."""
    return (*EXPORTERS, *_entry_points())


def load_exporter(name: str) -> Exporter:
    """The exporter registered as ``name`` (a plugin's entry point names a zero-argument
    factory, e.g. a class); an unknown name, or a plugin that cannot be loaded, is one
    clear error."""
    if name in EXPORTERS:
        return EXPORTERS[name]
    ep = _entry_points().get(name)
    if ep is None:
        raise InvalidInput(f"unknown export format {name!r}; choose one of "
                           f"{', '.join(exporter_names())}")
    try:
        exporter: Exporter = ep.load()()
    except Exception as exc:  # a broken plugin: one line naming it, not a traceback
        raise SetupError(f"export format {name!r} ({ep.value}) cannot be loaded: {exc}") from exc
    return exporter


def available_exporters() -> dict[str, Exporter]:
    """The built-in exporters plus those other packages register under the entry point
    group ``annotate.exporters`` (each names a zero-argument factory, e.g. a class)."""
    return {name: load_exporter(name) for name in exporter_names()}


# ---- the service -----------------------------------------------------------------------------


def export_project(session: Session, project: Project | str, fmt: str,
                   out: str | os.PathLike[str] | IO[Any], *, force: bool = False,
                   options: dict[str, Any] | None = None,
                   finals: Mapping[str, dict[str, Any]] | None = None) -> ExportResult:
    """Write ``project`` in format ``fmt`` to a path (written whole or not at all, never over
    a non-regular file unless ``force``: :mod:`annotate.outfile`) or a stream. ``options``
    (e.g. ``seed``) go to an exporter that takes them (``with_options``); a directory format
    (``writes_directory``) needs a path and fills a new directory moved into place at the end.
    ``finals``: the final values of the project's aggregation when its policy says
    ``dawid_skene`` (:func:`annotate.agreement.project_finals.aggregated_values`); None: each
    item's majority."""
    exporter = load_exporter(fmt)
    if isinstance(project, str):
        project = get_project(session, project)
    bind = getattr(exporter, "for_schema", None)
    if bind is not None:
        exporter = bind(project_schema(project))
    if options:
        exporter = _configured(exporter, fmt, options)
    if finals is not None:
        exporter = with_finals(exporter, finals)
    counts = {"items": 0, "annotations": 0}

    def counted() -> Iterator[dict[str, Any]]:
        for item in iter_export_items(session, project):
            counts["items"] += 1
            counts["annotations"] += len(item["annotations"])
            yield item

    raw = getattr(exporter, "write_raw", None)
    if raw is not None:  # the fast path: JSON spliced as stored text, columns not dicts
        return _export_raw(session, project, exporter, raw, fmt, out, force)
    if getattr(exporter, "writes_directory", False):
        with new_directory(out, fmt, getattr(exporter, "directory_marker", None)) as folder:
            exporter.write(counted(), folder)  # type: ignore[arg-type]
    else:
        with _opened(out, exporter.binary, fmt, force) as stream:
            exporter.write(counted(), stream)
    return ExportResult(format=fmt, items=counts["items"], annotations=counts["annotations"],
                        cannot_carry=tuple(getattr(exporter, "cannot_carry", ())))


def _export_raw(session: Session, project: Project, exporter: Exporter, raw: Any, fmt: str,
                out: str | os.PathLike[str] | IO[Any], force: bool) -> ExportResult:
    counts = {"items": 0, "annotations": 0}

    def counted() -> Iterator[RawBatch]:
        for batch in iter_raw_batches(session, project.id, ANNOTATION_FIELDS):
            counts["items"] += batch.size
            counts["annotations"] += batch.annotations
            yield batch

    with _opened(out, exporter.binary, fmt, force) as stream:
        raw(counted(), stream)
    return ExportResult(format=fmt, items=counts["items"], annotations=counts["annotations"],
                        cannot_carry=tuple(getattr(exporter, "cannot_carry", ())))


def _configured(exporter: Exporter, fmt: str, options: dict[str, Any]) -> Exporter:
    configure = getattr(exporter, "with_options", None)
    if configure is None:
        raise InvalidInput(f"{fmt} export takes no options ({', '.join(sorted(options))})")
    configured: Exporter = configure(options)
    return configured


@contextmanager
def _opened(out: str | os.PathLike[str] | IO[Any], binary: bool, fmt: str,
            force: bool = False) -> Iterator[IO[Any]]:
    if not isinstance(out, str | os.PathLike):
        with _as_stream(out, binary, fmt) as stream:
            yield stream
        return
    with safe_output(out, binary=binary, force=force) as stream:
        yield stream


@contextmanager
def _as_stream(out: IO[Any], binary: bool, fmt: str) -> Iterator[IO[Any]]:
    text = isinstance(out, io.TextIOBase)
    if binary and text:
        raise InvalidInput(f"{fmt} export needs a binary stream or a file path")
    if binary or text:
        yield out
        return
    wrapper = io.TextIOWrapper(out, encoding="utf-8", newline="")  # text into a byte stream
    try:
        yield wrapper
    finally:
        wrapper.flush()
        wrapper.detach()
