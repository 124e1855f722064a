"""Importing items, and the answers they already have, from CSV and JSONL files.

    from annotate.io.importing import import_file
    result = import_file(store, "my-project", "data.csv")   # all or nothing

Formats (see :mod:`annotate.io.importing.formats`) are detected from the extension and the
first record; a bad row raises :class:`~annotate.errors.InvalidInput` ``FILE:LINE: ...``.
"""

from annotate.io.importing.formats import FORMATS, detect_format
from annotate.io.importing.importer import ImportResult, import_file

__all__ = ["FORMATS", "ImportResult", "detect_format", "import_file"]
