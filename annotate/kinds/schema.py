"""Label schemas per task kind and the pydantic models that validate every annotation value.

A project has one :class:`LabelSchema`. Every answer, from a person or an LLM role, is a
JSON value whose shape depends on the task kind:

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

import itertools
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from annotate.errors import InvalidInput

TaskKind = Literal["classification", "multilabel", "spans", "rating", "choice", "text"]
TASK_KINDS: tuple[str, ...] = ("classification", "multilabel", "spans", "rating", "choice", "text")
TIE = "tie"
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

    kind: TaskKind
    labels: list[str] = Field(default_factory=list, max_length=MAX_NAMES)
    allow_nested: bool = False
    features: list[RatingFeature] = Field(default_factory=list, max_length=MAX_NAMES)
    options: list[str] = Field(default_factory=list, max_length=MAX_NAMES)
    allow_tie: bool = True
    max_text_length: int = Field(5000, ge=1, le=1_000_000)

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
        if self.kind in ("classification", "multilabel", "spans") and not self.labels:
            raise ValueError(f"a {self.kind} schema needs labels")
        if self.kind == "rating" and not self.features:
            raise ValueError("a rating schema needs at least one feature")
        _check_names([f.name for f in self.features], "feature name")
        if self.kind == "choice" and len(self.options) < 2:
            raise ValueError("a choice schema needs at least two options")
        if self.kind == "choice" and self.allow_tie and TIE in self.options:
            raise ValueError(f"option {TIE!r} is reserved for ties (or set allow_tie: false)")
        return self

    @classmethod
    def default(cls, kind: str, labels: list[str] | None = None) -> LabelSchema:
        """A sensible schema for a kind when the user gives only labels (or nothing)."""
        if kind not in TASK_KINDS:
            raise InvalidInput(f"unknown task kind {kind!r}; choose one of {', '.join(TASK_KINDS)}")
        labels = labels or []
        if kind not in ("rating", "choice", "text") and not labels:
            raise InvalidInput(f"a {kind} project needs labels: --labels a,b,c or --schema FILE")
        data: dict[str, Any] = {"kind": kind, "labels": labels}
        if kind == "rating":
            data = {"kind": kind, "features": [{"name": n, "scale": [1, 2, 3, 4, 5]}
                                               for n in labels or ["quality"]]}
        elif kind == "choice":
            data = {"kind": kind, "options": labels or ["response1", "response2"]}
        elif kind == "text":
            data = {"kind": kind}
        return parse_schema(data, source="")

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClassificationValue(_Strict):
    label: str


class MultilabelValue(_Strict):
    labels: list[str]


class Span(_Strict):
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    label: str
    text: str | None = None


class SpansValue(_Strict):
    spans: list[Span]


class RatingValue(_Strict):
    ratings: dict[str, int | str]


class ChoiceValue(_Strict):
    choice: str


class TextValue(_Strict):
    text: str = Field(min_length=1)
    candidate: int | None = None
    edited: bool = False


VALUE_MODELS: dict[str, type[_Strict]] = {
    "classification": ClassificationValue,
    "multilabel": MultilabelValue,
    "spans": SpansValue,
    "rating": RatingValue,
    "choice": ChoiceValue,
    "text": TextValue,
}


def validate_value(schema: LabelSchema, value: Any, text: str = "") -> dict[str, Any]:
    """Validate ``value`` for ``schema`` (and the item ``text`` for spans); return it normalised."""
    model = VALUE_MODELS[schema.kind]
    try:
        parsed = model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        raise InvalidInput(f"invalid {schema.kind} value: {where}: {first['msg']}") from None
    checker = _CHECKERS[schema.kind]
    return checker(schema, parsed, text)


def _check_classification(schema: LabelSchema, v: Any, _text: str) -> dict[str, Any]:
    _require_label(schema, v.label)
    return {"label": v.label}


def _check_multilabel(schema: LabelSchema, v: Any, _text: str) -> dict[str, Any]:
    for label in v.labels:
        _require_label(schema, label)
    ordered = [lab for lab in schema.labels if lab in set(v.labels)]
    return {"labels": ordered}


def _check_spans(schema: LabelSchema, v: Any, text: str) -> dict[str, Any]:
    spans = sorted(v.spans, key=lambda s: (s.start, s.end, s.label))
    out = []
    for span in spans:
        _require_label(schema, span.label)
        if span.end <= span.start or span.end > len(text):
            raise InvalidInput(
                f"span {span.start}-{span.end} ({span.label}) is outside the text "
                f"(length {len(text)})"
            )
        quoted = text[span.start : span.end]
        if span.text is not None and span.text != quoted:
            raise InvalidInput(
                f"span {span.start}-{span.end} quotes {span.text!r} "
                f"but the text there is {quoted!r}"
            )
        out.append({"start": span.start, "end": span.end, "label": span.label, "text": quoted})
    if not schema.allow_nested:
        for a, b in itertools.pairwise(out):
            if b["start"] < a["end"]:
                raise InvalidInput(
                    f"spans {a['start']}-{a['end']} and {b['start']}-{b['end']} overlap "
                    "and this schema does not allow nesting"
                )
    return {"spans": out}


def _check_rating(schema: LabelSchema, v: Any, _text: str) -> dict[str, Any]:
    features = {f.name: f for f in schema.features}
    unknown = set(v.ratings) - set(features)
    if unknown:
        raise InvalidInput(f"unknown rating feature(s): {', '.join(sorted(unknown))}")
    missing = set(features) - set(v.ratings)
    if missing:
        raise InvalidInput(f"missing rating for feature(s): {', '.join(sorted(missing))}")
    out: dict[str, int | str] = {}
    for name, feature in features.items():
        raw = v.ratings[name]
        match = [s for s in feature.scale if s == raw or str(s) == str(raw)]
        if not match:
            raise InvalidInput(
                f"rating {raw!r} for {name!r} is not on its scale {feature.scale}"
            )
        out[name] = match[0]
    return {"ratings": out}


def _check_choice(schema: LabelSchema, v: Any, _text: str) -> dict[str, Any]:
    if v.choice not in schema.choices():
        raise InvalidInput(f"choice {v.choice!r} is not one of {', '.join(schema.choices())}")
    return {"choice": v.choice}


def _check_text(schema: LabelSchema, v: Any, _text: str) -> dict[str, Any]:
    if len(v.text) > schema.max_text_length:
        raise InvalidInput(f"text is longer than {schema.max_text_length} characters")
    return v.model_dump(exclude_none=True)  # type: ignore[no-any-return]


def _require_label(schema: LabelSchema, label: str) -> None:
    if label not in schema.labels:
        raise InvalidInput(f"label {label!r} is not in the schema ({', '.join(schema.labels)})")


_CHECKERS = {
    "classification": _check_classification,
    "multilabel": _check_multilabel,
    "spans": _check_spans,
    "rating": _check_rating,
    "choice": _check_choice,
    "text": _check_text,
}


def comparable(kind: str, value: dict[str, Any]) -> Any:
    """A hashable form of a value, so two answers can be compared for agreement."""
    if kind == "classification":
        return value["label"]
    if kind == "multilabel":
        return tuple(sorted(value["labels"]))
    if kind == "spans":
        return tuple((s["start"], s["end"], s["label"]) for s in value["spans"])
    if kind == "rating":
        return tuple(sorted((k, str(v)) for k, v in value["ratings"].items()))
    if kind == "choice":
        return value["choice"]
    return " ".join(str(value.get("text", "")).split()).lower()
