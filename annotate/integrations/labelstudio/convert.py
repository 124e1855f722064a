"""Our annotation values <-> Label Studio results, for the configs of :mod:`.config`.

Both directions validate: :func:`to_result` sends only a value that :func:`validate_value`
accepts (Label Studio stores unknown labels and control names without a word), and
:func:`from_result` returns a validated value or raises :class:`InvalidInput`. What a value
looks like as results is the task kind's business (its ``labelstudio`` part); this module
checks the controls and validates.

Label Studio measures ``<Text>`` offsets in UTF-16 code units (JavaScript strings); the
platform stores Python code-point offsets (see :mod:`annotate.kinds.spans`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.config import TEXT, form_of
from annotate.kinds.base import LSControls, LSResult
from annotate.kinds.schema import LabelSchema, validate_value
from annotate.kinds.spans import from_utf16, to_utf16

__all__ = ["LabelStudioCheck", "Result", "from_result", "from_utf16", "task_data", "to_result",
           "to_utf16"]

Result = LSResult


def task_data(schema: LabelSchema, item_id: int, external_id: str, text: str,
              data: dict[str, Any], candidates: Sequence[str] = ()) -> dict[str, Any]:
    """The Label Studio task data for an item: every ``$field`` the config reads, plus ids."""
    out: dict[str, Any] = {TEXT: text, "annotate_item_id": item_id,
                           "annotate_external_id": external_id}
    out.update(form_of(schema).task_data(schema, data, candidates))
    return out


def to_result(schema: LabelSchema, value: Any, text: str) -> Result:
    """Label Studio result items for a value (validated first)."""
    clean = validate_value(schema, value, text)
    return form_of(schema).to_result(schema, clean, text)


class LabelStudioCheck:
    """Label Studio's own check of a prediction against a config (the SDK's LabelInterface).

    The server runs this check on every prediction it stores and drops (bulk import) or
    refuses (ML backend) one that fails, so results are checked here before they are sent.
    """

    def __init__(self, config: str) -> None:
        from label_studio_sdk.label_interface.interface import LabelInterface

        self._interface = LabelInterface(config)

    def errors(self, result: Result) -> list[str]:
        found = self._interface.validate_prediction(  # type: ignore[no-untyped-call]
            {"result": result}, return_errors=True)
        return [str(e) for e in found or []]

    def check(self, result: Result) -> Result:
        errors = self.errors(result)
        if errors:
            raise InvalidInput(f"Label Studio would refuse the result: {errors[0]}")
        return result


def from_result(schema: LabelSchema, result: Result, text: str, *,
                candidates: Sequence[str] = (), started_from: int | None = None) -> dict[str, Any]:
    """Our value for a Label Studio result (validated), or InvalidInput saying what is wrong.

    For text projects ``candidates`` are the Helper's candidate texts and ``started_from``
    the index of the candidate whose prediction the person started from, if any.
    """
    form = form_of(schema)
    by_control: LSControls = {}
    for item in result:
        name = str(item.get("from_name", ""))
        by_control.setdefault(name, []).append(item)
    known = form.controls(schema)
    unknown = sorted(set(by_control) - set(known))
    if unknown:
        raise InvalidInput(f"result for unknown control(s) {', '.join(unknown)} "
                           f"(the config has {', '.join(sorted(known))})")
    for name, items in by_control.items():
        for item in items:
            if item.get("type") != known[name]:
                raise InvalidInput(f"control {name!r} holds a {item.get('type')!r} result, "
                                   f"expected {known[name]!r}")
    value = form.from_result(schema, by_control, text, candidates, started_from)
    return validate_value(schema, value, text)
