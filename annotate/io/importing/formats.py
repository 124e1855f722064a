"""The import formats, and telling them apart from the extension and the first record.

- ``csv``: a ``text`` column, optional ``id``/``item_id``, other columns kept as meta.
- ``labelled-csv``: long form ``item_id,text,annotator,label`` (+ ``annotator_kind`` and
  context columns): items and their existing answers.
- ``jsonl``: ``{"id", "text", "meta"}`` per line.
- ``spans-jsonl``: ``{"id", "text", "spans": [...]}``: gold spans.
- ``pairwise-jsonl``: ``{"id", "instruction", "input", "response1", "response2",
  "human_labels", "llm_judgments"}``: comparisons and their judges.
- ``export-jsonl``: our own JSONL export (lines with an ``annotations`` list).
- ``labelstudio``: Label Studio's JSON export, one array of tasks (:mod:`.labelstudio_format`).
- ``prodigy``: Prodigy JSONL, one line per answer (:mod:`.prodigy_format`).
- ``doccano``: doccano JSONL, ``text`` and a ``label`` list (:mod:`.doccano_format`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import BinaryIO

from annotate.errors import InvalidInput, SetupError
from annotate.io.importing import csv_formats, doccano_format, jsonl_formats, prodigy_format
from annotate.io.importing.context import ReadContext
from annotate.io.importing.labelstudio_format import looks_like as is_labelstudio_file
from annotate.io.importing.labelstudio_format import read_labelstudio
from annotate.io.importing.lines import first_line
from annotate.io.importing.records import ItemRecord, RowError
from annotate.kinds.optional import option_fields
from annotate.kinds.schema import LabelSchema

Reader = Callable[[BinaryIO, ReadContext], Iterator[ItemRecord]]

READERS: dict[str, Reader] = {
    "csv": csv_formats.read_plain_csv,
    "labelled-csv": csv_formats.read_labelled_csv,
    "jsonl": jsonl_formats.reader(jsonl_formats.parse_plain),
    "spans-jsonl": jsonl_formats.reader(jsonl_formats.parse_spans),
    "pairwise-jsonl": jsonl_formats.reader(jsonl_formats.parse_pairwise),
    "export-jsonl": jsonl_formats.reader(jsonl_formats.parse_export),
    "labelstudio": read_labelstudio,
    "prodigy": prodigy_format.read_prodigy,
    "doccano": doccano_format.read_doccano,
}
FORMATS = tuple(READERS)
ENTRY_POINT_GROUP = "annotate.importers"


def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in READERS}


def reader_names() -> tuple[str, ...]:
    """Every format ``--format`` accepts besides ``auto``: the built-in ones, then those other
    packages register under ``annotate.importers`` (names only: no plugin is imported)."""
    return (*READERS, *_entry_points())


def load_reader(name: str) -> Reader:
    """The reader registered as ``name``: a built-in one or a plugin's ``read(stream, ctx)``
    function (an unknown name, or a plugin that cannot be loaded, is one clear error)."""
    if name in READERS:
        return READERS[name]
    ep = _entry_points().get(name)
    if ep is None:
        raise InvalidInput(f"unknown import format {name!r}; choose auto or "
                           f"{', '.join(reader_names())}")
    try:
        reader: Reader = ep.load()
    except Exception as exc:  # a broken plugin: one line naming it, not a traceback
        raise SetupError(f"import format {name!r} ({ep.value}) cannot be loaded: {exc}") from exc
    return reader


CSV_SUFFIXES = (".csv", ".tsv")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


def detect_format(path: Path, schema: LabelSchema) -> str:
    """The format of ``path``: CSV or JSONL by extension (else by its first character),
    then the variant from the CSV header or the first JSON record."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _csv_variant(path)
    if is_labelstudio_file(path):  # one JSON array of tasks
        return "labelstudio"
    if suffix in JSONL_SUFFIXES:
        return _jsonl_variant(path, schema)
    head = first_line(path)
    if head is not None and head[1].lstrip().startswith("{"):
        return _jsonl_variant(path, schema)
    return _csv_variant(path)


def _csv_variant(path: Path) -> str:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open("rb") as stream:
        header, _ = csv_formats.read_header(stream, delimiter)
    return "labelled-csv" if header.labelled and header.id is not None else "csv"


def _jsonl_variant(path: Path, schema: LabelSchema) -> str:
    with path.open("rb") as stream:
        first = next(jsonl_formats.json_records(stream), None)
    if first is None:
        raise RowError(1, "the file is empty")
    _, obj = first
    if prodigy_format.looks_like(obj):
        return "prodigy"
    if doccano_format.looks_like(obj):
        return "doccano"
    if isinstance(obj.get("annotations"), list):
        return "export-jsonl"
    if "spans" in obj:
        return "spans-jsonl"
    options = option_fields(schema)
    pairwise = any(k in obj for k in jsonl_formats.PAIRWISE_KEYS)
    if pairwise or (options and all(o in obj for o in options)):
        return "pairwise-jsonl"
    return "jsonl"

