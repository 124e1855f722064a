"""What a format-aware exporter gets besides the items, and what every such format needs:
the shape of the project's answers, each item's final answer, an answer's provenance.

Each exporter here follows :class:`annotate.io.exporting.Exporter` with its optional members:
``for_schema(schema)`` binds it to the project, ``with_options(options)`` takes the
command's options (``seed``, ``validation``, ``lang``), ``cannot_carry`` lists after
``write`` what the format could not hold, ``writes_directory`` makes ``out`` a new
directory instead of a stream, and ``finals`` (set by :func:`with_finals`) holds the values
the project's Dawid-Skene aggregation gives its items, for a format that writes final answers.

Formats other than our own JSONL carry answers of a few shapes only, told by the field of
the kind's value model (not by its name, so a plugin kind with the same value shape
exports too): ``label`` (one name), ``labels`` (a set of names), ``spans`` (character
spans), ``ratings`` and ``choice``.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Self, TypeVar

from annotate.errors import InvalidInput
from annotate.kinds.registry import get_kind
from annotate.kinds.schema import LabelSchema, comparable

T = TypeVar("T")
LABEL, LABELS, SPANS, RATINGS, CHOICE = "label", "labels", "spans", "ratings", "choice"
DECISION_RANK = {"moderator": 1, "adjudicator": 2}  # a later, higher decision wins
PROVENANCE_DEFAULTS: dict[str, Any] = {
    "annotator_kind": "human", "role": "annotator", "phase": "final", "rationale": None,
    "confidence": None, "confidence_estimator": None, "confidence_raw": None,
    "guideline_version": None, "prompt_hash": None, "model": None, "params": {},
    "cost_usd": 0.0, "latency_s": None, "human_seconds": None, "suggestion_visible": False,
    "source": "import", "meta": {}, "created_at": None,
}
"""The provenance fields an exported answer carries beside its value (defaults left out)."""


def value_shape(schema: LabelSchema) -> str | None:
    """The one field of the project's answers (``label``, ``labels``, ``spans``, ...), or None
    when a value has several fields (the kind carries more than these formats can)."""
    fields = tuple(get_kind(schema.kind).value_model.model_fields)
    return fields[0] if len(fields) == 1 else None


def require_shape(schema: LabelSchema, fmt: str, shapes: tuple[str, ...]) -> str:
    """The answers' shape when ``fmt`` carries it, else one clear error."""
    shape = value_shape(schema)
    if shape not in shapes:
        raise InvalidInput(f"{fmt} export cannot carry {schema.kind} answers; use jsonl, csv "
                           f"or parquet (every kind), or a project whose answers are "
                           f"{' / '.join(shapes)}")
    return shape


def is_decision(answer: dict[str, Any]) -> bool:
    """A moderator's "none of them" (no value to carry)."""
    return bool(answer["value"].get("decision") == "none")


def final_answer(schema: LabelSchema, answers: list[dict[str, Any]],
                 aggregated: dict[str, Any] | None = None) -> tuple[dict[str, Any] | None, str]:
    """The item's final value and where it comes from, as the agreement report's
    ``final_labels`` decides it: the last adjudicator decision, else the last moderator
    decision, else ``aggregated`` (the value the project's Dawid-Skene aggregation gives the
    item, when its policy says so: the exporter's ``finals``), else the majority of the final
    annotator answers; ``(None, "unresolved")`` for a tie, ``(None, "none")`` when nobody
    answered."""
    decisions = [a for a in answers if a["role"] in DECISION_RANK and a["phase"] == "final"
                 and not is_decision(a)]
    if decisions:
        best = max(enumerate(decisions), key=lambda p: (DECISION_RANK[p[1]["role"]], p[0]))[1]
        return best["value"], str(best["role"])
    if aggregated is not None:
        return aggregated, "dawid_skene"
    votes = [a["value"] for a in answers if a["role"] == "annotator" and a["phase"] == "final"
             and not is_decision(a)]
    if not votes:
        return None, "none"
    forms = [comparable(schema.kind, v) for v in votes]
    ranked = Counter(forms).most_common(2)
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None, "unresolved"
    return votes[forms.index(ranked[0][0])], "majority"


def with_finals(exporter: T, finals: Mapping[str, dict[str, Any]]) -> T:
    """The exporter carrying ``finals`` (the value the project's aggregation gives each item
    nobody decided, by item id) when it writes final answers (has ``finals``), else itself."""
    if not hasattr(exporter, "finals"):
        return exporter
    carrying = copy.copy(exporter)
    carrying.finals = finals
    return carrying


def provenance(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer's provenance beyond its annotator and value, defaults left out (times as
    ISO text): what Prodigy's ``_provenance`` and doccano's ``annotations`` entries keep."""
    out: dict[str, Any] = {}
    for name, default in PROVENANCE_DEFAULTS.items():
        value = answer.get(name, default)
        if value != default:
            out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


class SchemaExporter:
    """What the line-per-answer formats share: bound to the project's schema by
    ``for_schema``, which refuses a schema whose answers have no shape the format holds."""

    binary = False
    format_name = ""
    shapes: tuple[str, ...] = ()
    finals: Mapping[str, dict[str, Any]] = MappingProxyType({})

    def __init__(self, schema: LabelSchema | None = None) -> None:
        self.schema = schema
        self.cannot_carry: list[str] = []

    def for_schema(self, schema: LabelSchema) -> Self:
        require_shape(schema, self.format_name, self.shapes)
        return type(self)(schema)

    def final(self, item: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        """The exported item's final value and its source (:func:`final_answer`)."""
        assert self.schema is not None, "for_schema first"
        return final_answer(self.schema, item["annotations"], self.finals.get(item["id"]))

    def bound(self) -> tuple[LabelSchema, str]:
        """The schema ``for_schema`` bound, and the shape of its answers."""
        assert self.schema is not None, "for_schema first"
        return self.schema, require_shape(self.schema, self.format_name, self.shapes)
