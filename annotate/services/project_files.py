"""Project setup from a browser: a schema from form fields, uploads imported all or nothing,
exports as bytes to download.

An upload is written under its own file name in a private temporary directory and handed
to :func:`annotate.io.importing.import_file` in one transaction: a bad row stops the import,
nothing is stored, and the error names the uploaded file and the line.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

from annotate.errors import InvalidInput
from annotate.kinds.optional import schema_from_setup
from annotate.kinds.schema import LabelSchema, parse_schema
from annotate.store.engine import Store

UPLOAD_SUFFIXES = ("csv", "tsv", "jsonl", "ndjson", "json")


def split_list(text: str) -> list[str]:
    """``"a, b,c"`` or one per line -> ``["a", "b", "c"]``."""
    return [part.strip() for part in re.split(r"[,\n]", text or "") if part.strip()]


def schema_from_form(kind: str, labels: str = "", scale: str = "1,2,3,4,5",
                     allow_tie: bool = True) -> LabelSchema:
    """A label schema from the setup form: labels (or features / options) as a list, built
    by the kind (the scale and the tie matter only to kinds whose form asks them)."""
    data = schema_from_setup(kind, split_list(labels), split_list(scale), allow_tie)
    return parse_schema(data, source="")


def _safe_name(filename: str) -> str:
    name = Path(filename).name or "upload"
    name = re.sub(r"[^\w.\-]+", "_", name)
    return name if "." in name else f"{name}.csv"


def import_upload(store: Store, project: str, filename: str, data: bytes, *,
                  fmt: str = "auto") -> object:
    """Import uploaded bytes into ``project`` all or nothing; return the ImportResult.

    Errors are :class:`InvalidInput` ``NAME:LINE: what is wrong`` with the uploaded name.
    """
    from annotate.io.importing import import_file

    name = _safe_name(filename)
    with tempfile.TemporaryDirectory(prefix="annotate-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return import_file(store, project, path, fmt=fmt)
        except InvalidInput as exc:
            raise InvalidInput(str(exc).replace(str(path), filename)) from None


def export_bytes(store: Store, project: str, fmt: str) -> bytes:
    """The project exported in ``fmt`` (jsonl, csv, parquet) as bytes."""
    from annotate.io.exporting import export_project

    buffer = io.BytesIO()
    with store.session() as session:
        export_project(session, project, fmt, buffer)
    return buffer.getvalue()
