"""The registered names option help lists (task kinds, roles, import and export formats), read
without importing their registries: those import pydantic, SQLAlchemy and the queue (0.1-0.5 s
of CPU), which `annotate CMD --help` should not pay (``benchmarks/cli_start.py``).

Each name is a built-in listed here, in its registry's order, then a plugin's entry point name
(names only: nothing is loaded). ``tests/test_cli_start.py`` checks each list against its
registry (:func:`annotate.kinds.registry.kind_names`, :func:`roles.registry.role_names`,
:func:`annotate.io.importing.formats.reader_names`,
:func:`annotate.io.exporting.exporter_names`), so a new built-in cannot be left out here.
"""

from __future__ import annotations

BUILTIN_KINDS = ("classification", "multilabel", "spans", "rating", "choice", "text")
BUILTIN_ROLES = ("helper", "annotator", "moderator")
BUILTIN_READERS = ("csv", "labelled-csv", "jsonl", "spans-jsonl", "pairwise-jsonl",
                   "export-jsonl", "labelstudio", "prodigy", "doccano")
BUILTIN_EXPORTERS = ("jsonl", "csv", "parquet", "labelstudio", "prodigy", "doccano", "hf",
                     "spacy")


def _with_plugins(builtin: tuple[str, ...], group: str) -> tuple[str, ...]:
    from importlib.metadata import entry_points

    plugins = dict.fromkeys(ep.name for ep in entry_points(group=group) if ep.name not in builtin)
    return (*builtin, *plugins)


def kind_names() -> tuple[str, ...]:
    return _with_plugins(BUILTIN_KINDS, "annotate.kinds")


def role_names() -> tuple[str, ...]:
    return _with_plugins(BUILTIN_ROLES, "annotate.roles")


def reader_names() -> tuple[str, ...]:
    return _with_plugins(BUILTIN_READERS, "annotate.importers")


def exporter_names() -> tuple[str, ...]:
    return _with_plugins(BUILTIN_EXPORTERS, "annotate.exporters")
