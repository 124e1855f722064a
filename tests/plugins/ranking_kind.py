"""A task kind that is nowhere in the platform's code: ``ranking``, registered under the
``annotate.kinds`` entry point group. An answer orders every option of the schema, best
first: ``{"ranking": ["b", "a", "c"]}``. Two answers agree when they give the same order.

It brings no answer widget (the workspace then takes the answer as JSON), a Label Studio
layout of its own (a ``<Ranker>`` over the options) and one optional member, reading a CSV
label cell; every other optional member of :mod:`annotate.kinds.optional` keeps its default."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from annotate.errors import InvalidInput
from annotate.kinds.base import (
    LSControls,
    LSResult,
    Strict,
    json_cell,
    ls_item,
    ls_sub,
    ls_text,
)
from annotate.kinds.schema import LabelSchema

RANKER = "ranking"
OPTIONS = "options"


class RankingValue(Strict):
    ranking: list[str]


class RankingStudio:
    """The options as a ``<List>`` and a ``<Ranker>`` that orders them."""

    def build_config(self, view: ET.Element, schema: LabelSchema) -> None:
        ls_text(view)
        ls_sub(view, "List", name=OPTIONS, value="$" + OPTIONS, title="Options")
        ls_sub(view, "Ranker", name=RANKER, toName=OPTIONS)

    def controls(self, schema: LabelSchema) -> dict[str, str]:
        return {RANKER: "ranker"}

    def task_data(self, schema: LabelSchema, data: dict[str, Any],
                  candidates: Sequence[str]) -> dict[str, Any]:
        return {OPTIONS: [{"id": o, "title": o} for o in schema.options]}

    def to_result(self, schema: LabelSchema, value: dict[str, Any], text: str) -> LSResult:
        return [ls_item(RANKER, "ranker", {"ranker": {"rank": value["ranking"]}},
                        to_name=OPTIONS)]

    def from_result(self, schema: LabelSchema, controls: LSControls, text: str,
                    candidates: Sequence[str], started_from: int | None) -> dict[str, Any]:
        ranks = [item.get("value", {}).get("ranker", {}) for item in controls.get(RANKER, [])]
        return {"ranking": [str(o) for rank in ranks for o in rank.get("rank", [])]}


class Ranking:
    name = "ranking"
    value_model = RankingValue
    instruction = "Order all the options from best to worst for the item."
    guideline_task = "Order all the options from best to worst."
    max_tokens = 300
    agreement = "labels"
    candidates = None
    labelstudio = RankingStudio()
    widget = None

    def check_schema(self, schema: LabelSchema) -> None:
        if len(schema.options) < 2:
            raise ValueError("a ranking schema needs at least two options")

    def default_schema(self, labels: list[str]) -> dict[str, Any]:
        if len(labels) < 2:
            raise InvalidInput("a ranking project needs options: --labels a,b,c")
        return {"kind": self.name, "options": labels, "allow_tie": False}

    def check_value(self, schema: LabelSchema, value: Any, text: str) -> dict[str, Any]:
        if sorted(value.ranking) != sorted(schema.options):
            raise InvalidInput(f"a ranking orders each of {', '.join(schema.options)} once, "
                               f"not {', '.join(value.ranking) or 'nothing'}")
        return {"ranking": list(value.ranking)}

    def output_schema(self, schema: LabelSchema) -> dict[str, Any]:
        n = len(schema.options)
        return {"ranking": {"type": "array", "uniqueItems": True, "minItems": n, "maxItems": n,
                            "items": {"type": "string", "enum": schema.options}}}

    def parse_output(self, schema: LabelSchema, data: dict[str, Any], text: str) -> Any:
        return {"ranking": data.get("ranking")}

    def example_value(self, label: str) -> dict[str, Any] | None:
        return None

    def value_from_label(self, schema: LabelSchema, cell: Any) -> Any:
        """A CSV cell: the order as :meth:`label` writes it (``b>a>c``) or a JSON list."""
        if isinstance(cell, str) and not cell.lstrip().startswith("["):
            return {"ranking": [part.strip() for part in cell.split(">") if part.strip()]}
        return {"ranking": json_cell(cell)}

    def label(self, value: dict[str, Any], feature: str | None = None) -> str | None:
        return ">".join(value["ranking"]) if value.get("ranking") else None

    def comparable(self, value: dict[str, Any]) -> Any:
        return tuple(value["ranking"])

    def show(self, value: dict[str, Any]) -> str:
        return " > ".join(value.get("ranking") or [])


KIND = Ranking()
