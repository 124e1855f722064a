"""An export format that is nowhere in the platform's code: ``markdown``, registered under the
``annotate.exporters`` entry point group. A Markdown table: one row per answer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any


class MarkdownExporter:
    binary = False

    def write(self, items: Iterable[dict[str, Any]], out: IO[Any]) -> None:
        out.write("| item | text | role | label |\n|---|---|---|---|\n")
        for item in items:
            for answer in item["annotations"] or [{"role": "", "value": {}}]:
                label = answer["value"].get("label", "")
                out.write(f"| {item['id']} | {item['text']} | {answer['role']} | {label} |\n")
