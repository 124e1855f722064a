"""Label schemas, and the validation of every annotation value against one.

A project has one :class:`LabelSchema`. Every answer, from a person or an LLM role, is a
JSON value whose shape depends on the task kind (each kind is one module of
:mod:`annotate.kinds`, found through :mod:`annotate.kinds.registry`); the built-in ones:

- ``classification``: ``{"label": "pos"}``
- ``multilabel``: ``{"labels": ["a", "c"]}``
- ``spans``: ``{"spans": [{"start": 0, "end": 4, "label": "PER", "text": "Анна"}]}``
- ``rating``: ``{"ratings": {"fluency": 4, "relevance": 2}}``
- ``choice``: ``{"choice": "response1"}`` (or ``"tie"`` when the schema allows ties)
- ``text``: ``{"text": "...", "candidate": 2, "edited": true}``

:func:`validate_value` checks a raw value against the schema and the item text and returns
the normalised JSON, or raises :class:`~annotate.errors.InvalidInput` saying what is wrong.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from annotate.errors import InvalidInput
from annotate.kinds.base import TIE
from annotate.kinds.registry import get_kind, kind_names

__all__ = ["TIE", "LabelSchema", "RatingFeature", "check_name", "comparable", "parse_schema",
           "validate_value"]
MAX_NAME_LENGTH = 100
MAX_NAMES = 1000
MAX_SCALE_POINT = 10**9  # rating points are stored and compared as ordinary integers


def check_name(value: str, what: str = "a label") -> str:
    """A label, option, feature or scale point: 1-100 characters, not only whitespace, no
    control characters (they break exports, terminals and Label Studio configs)."""
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} is longer than {MAX_NAME_LENGTH} characters: {value[:20]!r}...")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        raise ValueError(f"{what} must not contain control characters: {value!r}")
    return value


def _check_names(values: list[str], what: str) -> list[str]:
    for value in values:
        check_name(value, what)
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"{what}s must be unique; repeated: {', '.join(map(repr, duplicates))}")
    return values


class RatingFeature(BaseModel):
    """One named feature rated on an ordinal scale (the scale's order is the list's order)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    scale: list[int | str] = Field(min_length=2, max_length=100)
    description: str = Field("", max_length=2000)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return check_name(value, "a feature name")

    @field_validator("scale", mode="before")
    @classmethod
    def _no_bools(cls, value: Any) -> Any:
        if isinstance(value, list) and any(isinstance(p, bool | float) for p in value):
            raise ValueError("scale points are integers or names, not true/false or decimals")
        return value

    @field_validator("scale")
    @classmethod
    def _check_scale(cls, value: list[int | str]) -> list[int | str]:
        for point in value:
            if isinstance(point, int) and abs(point) > MAX_SCALE_POINT:
                raise ValueError(f"scale point {point} is out of range (at most "
                                 f"{MAX_SCALE_POINT:,} either side of 0)")
            if isinstance(point, str):
                check_name(point, "a scale point")
        as_text = [str(p) for p in value]
        if len(set(as_text)) != len(as_text):
            raise ValueError(f"scale points must be unique: {value}")
        return value


class LabelSchema(BaseModel):
    """What a valid answer looks like for a project."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    labels: list[str] = Field(default_factory=list, max_length=MAX_NAMES)
    allow_nested: bool = False
    features: list[RatingFeature] = Field(default_factory=list, max_length=MAX_NAMES)
    options: list[str] = Field(default_factory=list, max_length=MAX_NAMES)
    allow_tie: bool = True
    max_text_length: int = Field(5000, ge=1, le=1_000_000)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        try:
            get_kind(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("labels")
    @classmethod
    def _check_labels(cls, value: list[str]) -> list[str]:
        return _check_names(value, "label")

    @field_validator("options")
    @classmethod
    def _check_options(cls, value: list[str]) -> list[str]:
        return _check_names(value, "option")

    @field_validator("max_text_length", mode="before")
    @classmethod
    def _no_bool_length(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number, not true/false")
        return value

    @model_validator(mode="after")
    def _check_kind_fields(self) -> LabelSchema:
        get_kind(self.kind).check_schema(self)
        _check_names([f.name for f in self.features], "feature name")
        return self

    @classmethod
    def default(cls, kind: str, labels: list[str] | None = None) -> LabelSchema:
        """A sensible schema for a kind when the user gives only labels (or nothing)."""
        return parse_schema(get_kind(kind).default_schema(labels or []), source="")

    def choices(self) -> list[str]:
        """Every value a choice answer may take, ties included when allowed."""
        return [*self.options, TIE] if self.allow_tie else list(self.options)


def parse_schema(data: Any, kind: str | None = None, source: str = "schema") -> LabelSchema:
    """A schema from parsed JSON; ``kind`` (from ``--kind``) fills a missing ``kind`` and must
    agree with a given one. Any problem is one :class:`InvalidInput` line naming the field."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: a schema is a JSON object such as "
                           f'{{"kind": "classification", "labels": ["a", "b"]}}, '
                           f"not {type(data).__name__}")
    if kind is not None:
        given = data.get("kind", kind)
        if given != kind:
            raise InvalidInput(f"{source}: the schema's kind is {given!r} but --kind is {kind!r}; "
                               "make them agree")
        data = {**data, "kind": kind}
    try:
        return LabelSchema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        line = " ".join((f"{where}: {message}" if where else message).split())
        raise InvalidInput(f"{source}: {line}" if source else line) from None


def validate_value(schema: LabelSchema, value: Any, text: str = "") -> dict[str, Any]:
    """Validate ``value`` for ``schema`` (and the item ``text`` for spans); return it normalised."""
    kind = get_kind(schema.kind)
    try:
        parsed = kind.value_model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        raise InvalidInput(f"invalid {schema.kind} value: {where}: {first['msg']}") from None
    return kind.check_value(schema, parsed, text)


def comparable(kind: str, value: dict[str, Any]) -> Any:
    """A hashable form of a value, so two answers can be compared for agreement."""
    return get_kind(kind).comparable(value)


def __getattr__(name: str) -> Any:
    if name == "TASK_KINDS":  # the registered kinds, read when asked (plugins included)
        return kind_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
