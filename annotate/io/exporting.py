"""Export a project's items and every annotation with its full provenance.

- ``jsonl``: one item per line, ``{"id", "text", "data", "meta", "synthetic",
  "annotations": [...]}``; :func:`annotate.io.importing.import_file` reads it back.
- ``csv`` and ``parquet``: long form, one row per annotation with the item's columns beside
  it, the label and the Helper-choice cells (:mod:`.export_formats.long_form`). JSONL and
  every format that keeps an answer's ``meta`` carry the whole choice trace: the candidates
  shown with their scores, and the choice.

An exporter is a small object with ``write(items, out)``; :data:`EXPORTERS` maps format
names to the built-in ones and the ``annotate.exporters`` entry point group adds others.
Items are read in id order, a batch at a time, so memory stays flat. JSONL and Parquet
write from raw columns instead of item dicts (``write_raw``, :mod:`.export_formats.raw_batches`:
JSON spliced as its stored text: the same bytes in a fraction of the time).
"""

from __future__ import annotations

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
from annotate.io.export_formats.long_form import CsvExporter, ParquetExporter, iso_text
from annotate.io.export_formats.prodigy import ProdigyExporter
from annotate.io.export_formats.raw_batches import ITEM_NAMES, RawBatch, iter_raw_batches
from annotate.io.export_formats.spacy_docbin import SpacyExporter
from annotate.io.exporting_labelstudio import LabelStudioExporter
from annotate.outfile import safe_output
from annotate.projects.catalog import get_project, project_schema
from annotate.store.models import Annotation, Project


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
            out.write(json.dumps(item, ensure_ascii=False, default=iso_text) + "\n")

    def write_raw(self, batches: Iterable[RawBatch], out: IO[Any]) -> None:
        """The same lines as ``write``, from raw batches (:mod:`.export_formats.raw_writers`)."""
        from annotate.io.export_formats.raw_writers import write_jsonl

        write_jsonl(batches, out)


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
