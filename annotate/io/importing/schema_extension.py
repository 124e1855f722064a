"""``--extend-schema``: labels an imported answer uses that the project's schema lacks, added.

A label is taken as new only when adding it makes the answer valid: the answer's labels are
the strings under its ``label``/``labels`` keys (how every kind whose schema is a list of
labels names them: a class, a set of classes, a span's label), and the answer is validated
again against the schema with them added. Anything else wrong with the answer is still an
error. Labels are added in the order they are first met.

The project has no schema history of its own; its guideline versions are its history
(every annotation records the version it was made under). So the widened schema is saved
with a new guideline version whose "Labels" section lists the added labels, noting the file,
in the import's transaction: a failed import adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from annotate.errors import InvalidInput
from annotate.kinds.schema import LabelSchema, parse_schema, validate_value
from annotate.projects.catalog import current_guideline, save_guideline
from annotate.store.models import Project

LABEL_KEYS = ("label", "labels")
MAX_DEPTH = 8


def labels_named(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string under a ``label`` or ``labels`` key of ``value`` (nested included)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if key in LABEL_KEYS:
                found = item if isinstance(item, list) else [item]
                yield from (str(x) for x in found if isinstance(x, str))
            else:
                yield from labels_named(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from labels_named(item, depth + 1)


def widened(schema: LabelSchema, value: Any, text: str) -> LabelSchema | None:
    """``schema`` with the labels ``value`` names that it lacks, when that makes ``value``
    valid; None when there are none, a name cannot be a label, or the value is still wrong."""
    new = [name for name in dict.fromkeys(labels_named(value)) if name not in schema.labels]
    if not new:
        return None
    try:
        wider = parse_schema({**schema.model_dump(mode="json"),
                              "labels": [*schema.labels, *new]}, source="")
        validate_value(wider, value, text)
    except InvalidInput:
        return None
    return wider


def save_widened(session: Session, project: Project, schema: LabelSchema, added: list[str],
                 source: str) -> str:
    """Store ``schema`` as the project's schema, with a guideline version listing ``added``;
    returns that version."""
    project.schema_json = schema.model_dump(mode="json")
    content = current_guideline(session, project).content
    note = f"labels added by importing {source}: {', '.join(added)}"
    version = save_guideline(session, project, with_labels(content, added, source), note=note)
    return version.version


def with_labels(content: str, added: list[str], source: str) -> str:
    """The guideline with ``added`` listed at the end of its "## Labels" section (a new
    section at the end when it has none)."""
    bullets = [f"- **{label}**: (define; added by importing {source})" for label in added]
    lines = content.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "## Labels")
    except StopIteration:
        return content.rstrip("\n") + "\n\n## Labels\n\n" + "\n".join(bullets) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return "\n".join([*lines[:end], *bullets, *lines[end:]]) + "\n"
