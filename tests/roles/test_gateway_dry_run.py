"""The dry-run model answers schema-valid random values instantly, tagged as dry-run."""

from __future__ import annotations

import random
from typing import Any, Literal

import pytest
from jsonschema.validators import validator_for
from pydantic import BaseModel, Field

from annotate.llm.dry_run import UnsupportedSchema, random_value
from annotate.llm.gateway import Gateway
from annotate.llm.types import Completion, LLMRequest


class Span(BaseModel):
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    label: Literal["PER", "ORG", "LOC"]


class Annotated(BaseModel):
    reason: str = Field(max_length=80)
    label: Literal["pos", "neg", "neutral"]
    confidence: float = Field(ge=0.0, le=1.0)
    spans: list[Span] = Field(max_length=4)
    note: str | None = None
    rating: int = Field(gt=0, lt=6)


SCHEMAS: list[dict[str, Any]] = [
    Annotated.model_json_schema(),
    {"type": "object", "properties": {"labels": {"type": "array", "minItems": 1, "maxItems": 3,
                                                  "uniqueItems": True,
                                                  "items": {"enum": ["a", "b", "c", "d"]}}},
     "required": ["labels"]},
    {"type": "object", "properties": {"text": {"type": "string", "minLength": 5,
                                               "maxLength": 12}},
     "required": ["text"]},
    {"type": "object", "properties": {"x": {"type": "number", "exclusiveMinimum": 0,
                                            "exclusiveMaximum": 0.001},
                                      "n": {"type": ["integer", "null"], "maximum": -3}},
     "required": ["x", "n"]},
    {"anyOf": [{"const": "tie"}, {"type": "object", "properties": {"choice": {"enum": [1, 2]}},
                                  "required": ["choice"]}]},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_random_values_validate_against_the_schema(schema: dict[str, Any]) -> None:
    validator = validator_for(schema)(schema)
    for seed in range(200):
        validator.validate(random_value(schema, random.Random(seed)))


def test_an_impossible_schema_says_why() -> None:
    with pytest.raises(UnsupportedSchema, match="no integer"):
        random_value({"type": "integer", "minimum": 3, "maximum": 2}, random.Random(0))


def test_dry_run_through_the_gateway_is_valid_tagged_and_replayable(gateway: Gateway) -> None:
    schema = Annotated.model_json_schema()
    request = LLMRequest.chat("s", "u", json_schema=schema, model="dry-run", role="annotator")
    result = gateway.complete(request)

    assert isinstance(result, Completion)
    assert result.dry_run and result.provenance["dry_run"] is True
    assert result.cost_usd == 0 and result.latency_s < 0.5
    Annotated.model_validate(result.data)
    other = gateway.complete(request.model_copy(update={"use_cache": False}))
    assert isinstance(other, Completion) and other.data == result.data  # seeded by the hash
