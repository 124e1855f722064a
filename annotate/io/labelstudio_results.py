"""Our annotation values <-> Label Studio result lists, for Label Studio JSON files.

What a value looks like as results is the task kind's business (its ``labelstudio`` part,
:class:`annotate.kinds.base.LabelStudioForm`: pure XML and result dicts, offsets in UTF-16
code units); this module checks the control names and types and validates, so a file read
here and a task pulled from a live server (:mod:`annotate.integrations.labelstudio`) convert
the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from annotate.errors import InvalidInput
from annotate.kinds.base import LabelStudioForm, LSControls, LSResult
from annotate.kinds.registry import get_kind
from annotate.kinds.schema import LabelSchema, validate_value

TEXT = "text"  # the item text's data field, ``<Text name="text" value="$text">``


def form_of(schema: LabelSchema) -> LabelStudioForm:
    """The Label Studio mapping of the schema's kind (InvalidInput when it has none)."""
    form = get_kind(schema.kind).labelstudio
    if form is None:
        raise InvalidInput(f"{schema.kind} projects have no Label Studio layout")
    return form


def to_result(schema: LabelSchema, value: Any, text: str) -> LSResult:
    """Label Studio result items for a value (validated first)."""
    clean = validate_value(schema, value, text)
    return form_of(schema).to_result(schema, clean, text)


def by_control(schema: LabelSchema, result: Any) -> LSControls:
    """Result items grouped by control, each control one the kind's config has, holding the
    result type it makes; InvalidInput otherwise."""
    if not isinstance(result, list) or not all(isinstance(i, dict) for i in result):
        raise InvalidInput("'result' must be a list of objects")
    known = form_of(schema).controls(schema)
    grouped: LSControls = {}
    for item in result:
        grouped.setdefault(str(item.get("from_name", "")), []).append(item)
    unknown = sorted(set(grouped) - set(known))
    if unknown:
        raise InvalidInput(f"result for unknown control(s) {', '.join(unknown)} "
                           f"(the config has {', '.join(sorted(known))})")
    for name, items in grouped.items():
        for item in items:
            if item.get("type") != known[name]:
                raise InvalidInput(f"control {name!r} holds a {item.get('type')!r} result, "
                                   f"expected {known[name]!r}")
    return grouped


def raw_value(schema: LabelSchema, result: Any, text: str, candidates: Sequence[str] = (),
              started_from: int | None = None) -> dict[str, Any]:
    """The raw value (not yet validated against the schema's labels) of a result list;
    InvalidInput when the result does not fit the kind's controls. For text projects
    ``candidates`` are the Helper's candidate texts and ``started_from`` the index of the
    candidate whose prediction the person started from, if any."""
    return form_of(schema).from_result(schema, by_control(schema, result), text, candidates,
                                       started_from)


def from_result(schema: LabelSchema, result: Any, text: str, *, candidates: Sequence[str] = (),
                started_from: int | None = None) -> dict[str, Any]:
    """Our validated value for a Label Studio result list, or InvalidInput."""
    value = raw_value(schema, result, text, candidates, started_from)
    return validate_value(schema, value, text)
