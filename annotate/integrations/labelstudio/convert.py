"""Our annotation values <-> Label Studio results, for the configs of :mod:`.config`.

Both directions validate: :func:`to_result` sends only a value that ``validate_value``
accepts (Label Studio stores unknown labels and control names without a word), and
:func:`from_result` returns a validated value or raises :class:`InvalidInput`. What a value
looks like as results is the task kind's business (its ``labelstudio`` part); the two
functions live in :mod:`annotate.io.labelstudio_results`, shared with Label Studio JSON
files, and are re-exported here.

Label Studio measures ``<Text>`` offsets in UTF-16 code units (JavaScript strings); the
platform stores Python code-point offsets (see :mod:`annotate.kinds.spans`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.config import TEXT, form_of
from annotate.io.labelstudio_results import from_result, to_result
from annotate.kinds.base import LSResult
from annotate.kinds.schema import LabelSchema
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
